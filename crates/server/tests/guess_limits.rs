//! Guess limits and sessions under attack: parallel guessing gets no more
//! checks than the budget, code failures are forgiven by a correct code
//! only, and sessions end when the password or the factor changes.
//!
//! The parallel tests fire truly concurrent requests (tasks on a
//! multi-threaded runtime through the router) and count both the answers
//! and the counters in the database.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use kaltura_api::codes;
use kmc_server::admin;
use kmc_server::auth::passwords::HashCost;
use serde_json::{Value, json};

/// argon2 slow enough (a few ms) that a burst queues for the hashing slots,
/// which is where a check read before the work used to be overtaken.
const QUEUEING: HashCost = HashCost {
    memory_kib: 2048,
    iterations: 1,
    parallelism: 1,
};

/// A 2FA account and a password-only account, one login in both.
async fn two_accounts(t: &TestApp) -> (i64, i64) {
    let ids = t.login_in(&[("Media", true), ("Sandbox", false)]).await;
    (ids[0], ids[1])
}

/// Runs the requests at once and counts the answers by error code (`OK` for
/// a value).
async fn burst(t: &Arc<TestApp>, bodies: Vec<Value>) -> BTreeMap<String, usize> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let t = t.clone();
            tokio::spawn(async move { t.call("user", "loginByLoginId", body).await })
        })
        .collect();
    let mut counts = BTreeMap::new();
    for task in tasks {
        let v = task.await.unwrap();
        *counts
            .entry(code_of(&v).unwrap_or("OK").to_owned())
            .or_default() += 1;
    }
    counts
}

fn count(counts: &BTreeMap<String, usize>, code: &str) -> usize {
    counts.get(code).copied().unwrap_or(0)
}

/// (failed_attempts, code_failures, blocked) of the login.
async fn counters(t: &TestApp) -> (i64, i64, bool) {
    let (failed, codes, blocked): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT failed_attempts, code_failures, blocked_until FROM logins WHERE email = $1",
    )
    .bind(EMAIL)
    .fetch_one(&t.state.pool)
    .await
    .unwrap();
    (failed, codes, blocked.is_some())
}

/// A server for bursts: argon2 slow enough to queue, a queue deep enough to
/// hold the whole burst, and the real error codes when `reveal`.
async fn burst_app(reveal: bool) -> Arc<TestApp> {
    Arc::new(
        app_with(|o| {
            o.config.mask_login_errors = !reveal;
            o.hash_cost = QUEUEING;
            o.max_hash_queue = 1000;
        })
        .await,
    )
}

/// `n` sign-ins to `partner` with distinct wrong passwords and no code.
fn wrong_passwords(partner: i64, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"loginId": EMAIL, "password": format!("wrong guess {i}"), "partnerId": partner, "otp": ""}))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parallel_password_guesses_on_a_2fa_login_evaluate_only_the_limit() {
    let t = burst_app(true).await;
    let (media, _) = two_accounts(&t).await;
    // 99 wrong passwords, then the right one, all with an empty code.
    let mut bodies = wrong_passwords(media, 99);
    bodies.push(json!({"loginId": EMAIL, "password": PASSWORD, "partnerId": media, "otp": ""}));
    let counts = burst(&t, bodies).await;
    let evaluated = count(&counts, codes::USER_WRONG_PASSWORD)
        + count(&counts, codes::LOGIN_RETRIES_EXCEEDED)
        + count(&counts, codes::MISSING_OTP);
    assert!(evaluated <= 10, "more checks than the budget: {counts:?}");
    assert_eq!(
        evaluated + count(&counts, codes::LOGIN_BLOCKED),
        100,
        "{counts:?}"
    );
    assert!(count(&counts, codes::MISSING_OTP) <= 1, "{counts:?}");
    // Nine or ten wrong guesses were checked, and they spent the budget.
    let (failed, _, blocked) = counters(&t).await;
    assert_eq!(failed, 10);
    assert!(blocked || count(&counts, codes::MISSING_OTP) == 1);
    if blocked {
        assert_error(&t.login_to(media, PASSWORD, "").await, codes::LOGIN_BLOCKED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_masking_a_blocked_login_never_answers_missing_otp_even_in_a_burst() {
    let t = burst_app(false).await;
    let (media, _) = two_accounts(&t).await;
    let bodies = wrong_passwords(media, 60);
    let counts = burst(&t, bodies).await;
    assert_eq!(count(&counts, codes::USER_WRONG_PASSWORD), 60, "{counts:?}");
    // The right password, many times at once, while blocked: masked as a
    // wrong password, never the MISSING_OTP that would confirm it.
    let bodies =
        vec![json!({"loginId": EMAIL, "password": PASSWORD, "partnerId": media, "otp": ""}); 20];
    let counts = burst(&t, bodies).await;
    assert_eq!(count(&counts, codes::USER_WRONG_PASSWORD), 20, "{counts:?}");
    assert_eq!(counters(&t).await.0, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parallel_wrong_codes_evaluate_only_the_limit_and_the_right_code_waits() {
    let t = burst_app(true).await;
    let (media, _) = two_accounts(&t).await;
    let code: u32 = t.code(EMAIL, 0).await.parse().unwrap();
    let bodies: Vec<Value> = (0..100)
        .map(|i| {
            let wrong = format!("{:06}", (code + 1 + i * 7) % 1_000_000);
            json!({"loginId": EMAIL, "password": PASSWORD, "partnerId": media, "otp": wrong})
        })
        .collect();
    let counts = burst(&t, bodies).await;
    assert_eq!(
        count(&counts, codes::INVALID_OTP) + count(&counts, codes::LOGIN_RETRIES_EXCEEDED),
        10,
        "{counts:?}"
    );
    assert_eq!(count(&counts, codes::LOGIN_RETRIES_EXCEEDED), 1);
    assert_eq!(count(&counts, codes::LOGIN_BLOCKED), 90);
    assert_eq!(counters(&t).await, (10, 10, true));
    let right = t.code(EMAIL, 0).await;
    assert_error(
        &t.login_to(media, PASSWORD, &right).await,
        codes::LOGIN_BLOCKED,
    );
}

#[tokio::test]
async fn code_failures_are_not_forgiven_by_a_password_only_sign_in_to_another_account() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    let (media, sandbox) = two_accounts(&t).await;
    let code: u32 = t.code(EMAIL, 0).await.parse().unwrap();
    let mut answers = Vec::new();
    for round in 0..3u32 {
        for i in 0..8u32 {
            let wrong = format!("{:06}", (code + 11 + round * 100 + i * 7) % 1_000_000);
            let v = t.login_to(media, PASSWORD, &wrong).await;
            answers.push(code_of(&v).unwrap().to_owned());
        }
        // A password-only sign-in in between: it forgives no code failure.
        let _ = t.login_to(sandbox, PASSWORD, "").await;
    }
    assert_eq!(
        answers
            .iter()
            .filter(|c| *c == codes::LOGIN_RETRIES_EXCEEDED)
            .count(),
        1,
        "{answers:?}"
    );
    assert_eq!(answers[9], codes::LOGIN_RETRIES_EXCEEDED, "{answers:?}");
    let right = t.code(EMAIL, 0).await;
    assert_error(
        &t.login_to(media, PASSWORD, &right).await,
        codes::LOGIN_BLOCKED,
    );
    assert_error(
        &t.login_to(sandbox, PASSWORD, "").await,
        codes::LOGIN_BLOCKED,
    );
}

#[tokio::test]
async fn a_password_only_sign_in_forgives_password_failures_and_a_correct_code_forgives_all() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    let (media, sandbox) = two_accounts(&t).await;
    let code: u32 = t.code(EMAIL, 0).await.parse().unwrap();
    for i in 0..3u32 {
        let wrong = format!("{:06}", (code + 11 + i * 7) % 1_000_000);
        assert_error(
            &t.login_to(media, PASSWORD, &wrong).await,
            codes::INVALID_OTP,
        );
    }
    for _ in 0..4 {
        assert_error(
            &t.login_to(sandbox, "not the password", "").await,
            codes::USER_WRONG_PASSWORD,
        );
    }
    assert_eq!(counters(&t).await, (7, 3, false));
    assert!(t.login_to(sandbox, PASSWORD, "").await.is_string());
    assert_eq!(counters(&t).await, (3, 3, false));
    let right = t.code(EMAIL, 0).await;
    assert!(t.login_to(media, PASSWORD, &right).await.is_string());
    assert_eq!(counters(&t).await, (0, 0, false));
}

#[tokio::test]
async fn missing_otp_neither_counts_nor_forgives() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    let (media, _) = two_accounts(&t).await;
    let code: u32 = t.code(EMAIL, 0).await.parse().unwrap();
    let wrong = format!("{:06}", (code + 11) % 1_000_000);
    assert_error(
        &t.login_to(media, PASSWORD, &wrong).await,
        codes::INVALID_OTP,
    );
    for _ in 0..20 {
        assert_error(&t.login_to(media, PASSWORD, "").await, codes::MISSING_OTP);
    }
    assert_eq!(counters(&t).await, (1, 1, false));
}

#[tokio::test]
async fn a_reset_link_ends_every_session_of_the_login() {
    let t = app().await;
    let (media, sandbox) = two_accounts(&t).await;
    let ks_sandbox = t.login_to(sandbox, PASSWORD, "").await;
    let code = t.code(EMAIL, 0).await;
    let ks_media = t.login_to(media, PASSWORD, &code).await;
    assert_eq!(t.user_get(&ks_sandbox).await["id"], EMAIL);
    let link = t.reset_link(EMAIL).await;
    let v = t
        .set_initial_password("user", &link, "a brand new passphrase")
        .await;
    assert_eq!(v["objectType"], "KalturaAuthentication", "{v}");
    for ks in [&ks_sandbox, &ks_media] {
        let v = t.user_get(ks).await;
        assert_error(&v, codes::INVALID_KS);
        assert_eq!(v["args"]["KSID"], codes::KSID_LOGOUT);
    }
    // The new password signs in, into a session that works.
    let ks = t.login_to(sandbox, "a brand new passphrase", "").await;
    assert_eq!(t.user_get(&ks).await["id"], EMAIL);
}

#[tokio::test]
async fn a_password_reset_on_an_enrolled_login_mails_a_new_key_notice() {
    let t = app().await;
    let (_, _) = two_accounts(&t).await;
    let link = t.reset_link(EMAIL).await;
    let before = t.outbox().len();
    let v = t
        .set_initial_password("user", &link, "a brand new passphrase")
        .await;
    assert!(v["qrCode"].as_str().unwrap().starts_with("otpauth://"));
    t.wait_outbox(before + 1).await;
    let notice = t
        .outbox()
        .into_iter()
        .find(|m| m.contains("Subject: Your Kaltura password was changed"))
        .expect("no notice in the outbox");
    let notice = notice.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        notice.contains("new authenticator key was issued"),
        "{notice}"
    );
    assert!(notice.contains("If this was not you"), "{notice}");
    assert!(!notice.contains("otpauth"), "{notice}");
    assert!(!notice.contains("/actions/"), "{notice}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_session_signed_in_with_the_old_password_outlives_a_reset_even_in_a_race() {
    let t = burst_app(false).await;
    let (_, sandbox) = two_accounts(&t).await;
    let link = t.reset_link(EMAIL).await;
    // Sign-ins with the old password race the reset.
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.login_to(sandbox, PASSWORD, "").await })
        })
        .collect();
    let reset = {
        let t = t.clone();
        tokio::spawn(async move {
            t.set_initial_password("user", &link, "a brand new passphrase")
                .await
        })
    };
    let mut issued = Vec::new();
    for l in logins {
        let v = l.await.unwrap();
        if v.is_string() {
            issued.push(v);
        }
    }
    assert_eq!(reset.await.unwrap()["objectType"], "KalturaAuthentication");
    for ks in &issued {
        assert_error(&t.user_get(ks).await, codes::INVALID_KS);
    }
}

#[tokio::test]
async fn update_password_ends_the_other_sessions_and_keeps_the_one_that_asked() {
    let t = app().await;
    let (_, sandbox) = two_accounts(&t).await;
    let asking = t.login_to(sandbox, PASSWORD, "").await;
    let other = t.login_to(sandbox, PASSWORD, "").await;
    let code = t.code(EMAIL, 0).await;
    let v = t
        .call(
            "adminUser",
            "updatePassword",
            json!({"ks": asking, "email": EMAIL, "password": PASSWORD,
                   "newPassword": "a brand new passphrase", "otp": code}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaAdminUser", "{v}");
    assert_eq!(t.user_get(&asking).await["id"], EMAIL);
    assert_error(&t.user_get(&other).await, codes::INVALID_KS);

    // Without a KS (the expired-password step), every session ends.
    t.clock.advance(60);
    let code = t.code(EMAIL, 0).await;
    let v = t
        .call(
            "adminUser",
            "updatePassword",
            json!({"email": EMAIL, "password": "a brand new passphrase",
                   "newPassword": "another new passphrase", "otp": code}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaAdminUser", "{v}");
    assert_error(&t.user_get(&asking).await, codes::INVALID_KS);
}

#[tokio::test]
async fn update_password_does_not_keep_a_session_of_another_login() {
    let t = app().await;
    let (_, sandbox) = two_accounts(&t).await;
    t.user(sandbox, "eve@example.com").await;
    let eves = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "eve@example.com", "password": PASSWORD}),
        )
        .await;
    let adas = t.login_to(sandbox, PASSWORD, "").await;
    let code = t.code(EMAIL, 0).await;
    let v = t
        .call(
            "adminUser",
            "updatePassword",
            json!({"ks": eves, "email": EMAIL, "password": PASSWORD,
                   "newPassword": "a brand new passphrase", "otp": code}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaAdminUser", "{v}");
    assert_error(&t.user_get(&adas).await, codes::INVALID_KS);
    assert_eq!(t.user_get(&eves).await["id"], "eve@example.com");
}

#[tokio::test]
async fn turning_2fa_on_ends_the_accounts_sessions_that_were_not_proven_with_a_code() {
    let t = app().await;
    let (media, sandbox) = two_accounts(&t).await;
    let unproven = t.login_to(sandbox, PASSWORD, "").await;
    let code = t.code(EMAIL, 0).await;
    let proven_media = t.login_to(media, PASSWORD, &code).await;
    let switched = t.login_by_ks(&proven_media, sandbox).await;
    let proven_sandbox = switched["ks"].clone();
    let done = admin::set_two_factor(&t.state, sandbox, true)
        .await
        .unwrap();
    assert_eq!(done.sessions_ended, 1);
    let v = t.user_get(&unproven).await;
    assert_error(&v, codes::INVALID_KS);
    assert_eq!(t.user_get(&proven_sandbox).await["id"], EMAIL);
    assert_eq!(t.user_get(&proven_media).await["id"], EMAIL);
    // Turning it off again does not bring the ended session back.
    admin::set_two_factor(&t.state, sandbox, false)
        .await
        .unwrap();
    assert_error(&t.user_get(&unproven).await, codes::INVALID_KS);
}

#[tokio::test]
async fn a_session_made_without_a_code_is_refused_once_its_account_requires_one() {
    // 2FA turned on by another process between the sign-in's check and its
    // session: the session is judged by the account as it is now.
    let t = app().await;
    let (media, sandbox) = two_accounts(&t).await;
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    sqlx::query("UPDATE partners SET two_factor = 1 WHERE id = $1")
        .bind(sandbox)
        .execute(&t.state.pool)
        .await
        .unwrap();
    assert_error(&t.user_get(&ks).await, codes::INVALID_KS);
    let v = t.login_by_ks(&ks, media).await;
    assert_error(&v, codes::INVALID_KS);
}

#[tokio::test]
async fn a_session_proven_with_a_code_switches_into_2fa_through_a_password_only_account() {
    let t = app().await;
    let (media, sandbox) = two_accounts(&t).await;
    let other_2fa = t.partner("Studio", true).await;
    t.user(other_2fa, EMAIL).await;
    let code = t.code(EMAIL, 0).await;
    let ks = t.login_to(media, PASSWORD, &code).await;
    let in_sandbox = t.login_by_ks(&ks, sandbox).await;
    let v = t.login_by_ks(&in_sandbox["ks"], other_2fa).await;
    assert_eq!(v["partnerId"], other_2fa, "{v}");
    // A session made with the password alone never does.
    let unproven = t.login_to(sandbox, PASSWORD, "").await;
    let v = t.login_by_ks(&unproven, media).await;
    assert_error(&v, codes::NEW_LOGIN_REQUIRED);
}

#[tokio::test]
async fn turning_2fa_on_mails_enrolled_logins_a_notice_without_a_link_or_secret() {
    let t = app().await;
    let (_, sandbox) = two_accounts(&t).await;
    t.user(sandbox, "bob@example.com").await;
    let before = t.outbox().len();
    let done = admin::set_two_factor(&t.state, sandbox, true)
        .await
        .unwrap();
    assert_eq!((done.qr_links, done.notices), (1, 1));
    let mails = t.outbox()[before..].to_vec();
    let to_ada: Vec<_> = mails
        .iter()
        .filter(|m| m.contains(&format!("To: {EMAIL}")))
        .collect();
    assert_eq!(to_ada.len(), 1);
    assert!(to_ada[0].contains("nothing to scan"), "{}", to_ada[0]);
    assert!(!to_ada[0].contains("/actions/"), "{}", to_ada[0]);
    assert!(!to_ada[0].contains("otpauth"), "{}", to_ada[0]);
    assert_eq!(
        t.link_tokens("bob@example.com", "/actions/auth-info/")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_correct_code_sent_twenty_times_at_once_signs_in_exactly_once() {
    let t = burst_app(true).await;
    let (media, _) = two_accounts(&t).await;
    let code = t.code(EMAIL, 0).await;
    let body = json!({"loginId": EMAIL, "password": PASSWORD, "partnerId": media, "otp": code});
    let counts = burst(&t, vec![body; 20]).await;
    // The replays that were checked are wrong codes; the rest never got a
    // check. Either way, one session.
    assert_eq!(count(&counts, "OK"), 1, "{counts:?}");
    assert_eq!(
        count(&counts, "OK")
            + count(&counts, codes::INVALID_OTP)
            + count(&counts, codes::LOGIN_RETRIES_EXCEEDED)
            + count(&counts, codes::LOGIN_BLOCKED),
        20,
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_eight_parallel_uses_of_one_reset_link_exactly_one_sets_its_password() {
    let t = burst_app(false).await;
    let (_, sandbox) = two_accounts(&t).await;
    let link = t.reset_link(EMAIL).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (t, link) = (t.clone(), link.clone());
            tokio::spawn(async move {
                let password = format!("a brand new passphrase {i}");
                let v = t.set_initial_password("user", &link, &password).await;
                (password, v)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (password, v) = task.await.unwrap();
        if v["objectType"] == "KalturaAuthentication" {
            winners.push(password);
        } else {
            assert_error(&v, codes::NEW_PASSWORD_HASH_KEY_INVALID);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    // The winner's password is the one that was set, with its session valid.
    let ks = t.login_to(sandbox, &winners[0], "").await;
    assert_eq!(t.user_get(&ks).await["id"], EMAIL);
}

/// `PRAGMA synchronous` of a connection (1 NORMAL, 2 FULL).
async fn sync_level(conn: &mut kmc_server::store::Conn) -> i64 {
    sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn only_a_reservation_and_a_password_only_success_commit_without_their_own_fsync() {
    use kmc_server::auth::lockout::Proof;
    let t = app().await;
    if t.db_url.is_some() {
        // PostgreSQL flushes every commit: one pool serves both.
        return;
    }
    let s = &t.state;
    let mut synced = s.pool.acquire().await.unwrap();
    assert_eq!(
        sync_level(&mut synced).await,
        2,
        "synced: every other write"
    );
    drop(synced);
    let mut reserving = s.unsynced.acquire().await.unwrap();
    assert_eq!(sync_level(&mut reserving).await, 1, "reservations");
    drop(reserving);
    let mut password = s.success_conn(Proof::Password).await.unwrap();
    assert_eq!(sync_level(&mut password).await, 1);
    drop(password);
    let mut code = s.success_conn(Proof::Code { step: 1 }).await.unwrap();
    assert_eq!(sync_level(&mut code).await, 2);
}

/// Every connection the synced pool holds, taken at once, and the unsynced
/// connection are clean: a sign-in stopped half-way never gives back one
/// left inside its batch.
async fn every_pooled_connection_is_clean(t: &TestApp) {
    let pool = &t.state.pool;
    let n = pool.options().get_max_connections();
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(pool.acquire().await.unwrap());
    }
    for conn in &mut held {
        assert!(kmc_server::store::connection_is_clean(conn).await);
    }
    drop(held);
    let mut unsynced = t.state.unsynced.acquire().await.unwrap();
    assert!(kmc_server::store::connection_is_clean(&mut unsynced).await);
}

/// `n` more logins, each in the password-only account with [`PASSWORD`];
/// their emails.
async fn sandbox_logins(t: &TestApp, n: usize) -> Vec<String> {
    let (_, sandbox) = two_accounts(t).await;
    let emails: Vec<String> = (0..n).map(|i| format!("user{i}@example.com")).collect();
    for email in &emails {
        t.user(sandbox, email).await;
    }
    emails
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_logins_signing_in_at_once_each_get_a_working_session_on_clean_connections() {
    let t = burst_app(false).await;
    let emails = sandbox_logins(&t, 50).await;
    let tasks: Vec<_> = emails
        .iter()
        .map(|email| {
            let (t, email) = (t.clone(), email.clone());
            tokio::spawn(async move { t.login(&email, PASSWORD, None).await })
        })
        .collect();
    for (task, email) in tasks.into_iter().zip(&emails) {
        let ks = task.await.unwrap();
        assert!(ks.is_string(), "{email}: {ks}");
        assert_eq!(t.user_get(&ks).await["id"], email.as_str());
    }
    every_pooled_connection_is_clean(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_clients_hanging_up_mid_sign_in_keep_the_budget_and_leave_the_database_writable()
 {
    use tokio::io::AsyncWriteExt as _;
    let t = burst_app(false).await;
    let (_, sandbox) = two_accounts(&t).await;
    t.user(sandbox, "bob@example.com").await;
    let addr = t.listen(kmc_server::net::ConnLimits::default()).await;
    // Right and wrong passwords, each on its own connection, all sent at
    // once; each client hangs up 0–24 ms later, wherever its sign-in is:
    // waiting for the reservation, queued for a hash, or writing the result.
    let clients: Vec<_> = (0..200)
        .map(|i| {
            tokio::spawn(async move {
                let password = if i % 2 == 0 {
                    PASSWORD
                } else {
                    "a wrong guess"
                };
                let body = json!({"loginId": EMAIL, "password": password}).to_string();
                let request = format!(
                    "POST /api_v3/service/user/action/loginByLoginId?format=1 HTTP/1.1\r\n\
                     Host: kmc.test\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.write_all(request.as_bytes()).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(i % 25)).await;
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    // Another login signs in once the hangs-up have been dealt with.
    let ks = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let v = t.login("bob@example.com", PASSWORD, None).await;
            if v.is_string() {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a sign-in goes through after the hang-ups");
    assert_eq!(t.user_get(&ks).await["id"], "bob@example.com");
    // No hang-up bought a check beyond the budget.
    let (failed, _, _) = counters(&t).await;
    assert!(failed <= 10, "{failed} checks counted");
    every_pooled_connection_is_clean(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_that_meet_another_writer_wait_for_it_and_then_all_go_through() {
    let t = burst_app(false).await;
    let emails = sandbox_logins(&t, 20).await;
    // Another writer, as the CLI on the same database would be: it holds
    // SQLite's write lock (on PostgreSQL, every login's row) while the
    // sign-ins arrive.
    let mut writer = kmc_server::store::hold_logins_lock(t.dir.path(), &t.state.pool).await;
    // Each login's right password and a wrong one, all at once.
    let tasks: Vec<_> = (0..2 * emails.len())
        .map(|i| {
            let (t, email) = (t.clone(), emails[i % emails.len()].clone());
            let password = if i < emails.len() {
                PASSWORD
            } else {
                "a wrong guess"
            };
            tokio::spawn(async move { t.login(&email, password, None).await })
        })
        .collect();
    // Every sign-in is under way at once (each holds its admission from
    // before its reservation until its answer), and none has been answered:
    // each waits for the writer.
    let n = tasks.len();
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while t.state.hasher.admitted() < n {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("every sign-in starts while the writer holds the lock");
    assert!(
        tasks.iter().all(|task| !task.is_finished()),
        "every sign-in waits for the writer"
    );
    sqlx::query("ROLLBACK").execute(&mut *writer).await.unwrap();
    drop(writer);
    for (i, task) in tasks.into_iter().enumerate() {
        let v = task.await.unwrap();
        let email = &emails[i % emails.len()];
        if i < emails.len() {
            assert!(v.is_string(), "{email}: {v}");
            assert_eq!(t.user_get(&v).await["id"], email.as_str());
        } else {
            assert_error(&v, codes::USER_WRONG_PASSWORD);
        }
    }
    every_pooled_connection_is_clean(&t).await;
}
