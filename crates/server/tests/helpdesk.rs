//! The help desk's commands, on a real router: what `user list` shows, and
//! that unblocking, resetting 2FA, ending sessions and removing a login
//! change what the API then answers.

mod common;

use common::*;
use kaltura_api::{OtpAuthUri, codes};
use kmc_server::admin::helpdesk::{self, Removed};
use serde_json::{Value, json};

/// A code of `secret` at the manual clock's current step plus `delta`.
fn code_of_secret(t: &TestApp, secret: &[u8], delta: i64) -> String {
    use kmc_server::clock::Clock as _;
    let step = t.clock.now() / kmc_server::auth::totp::STEP + delta;
    kmc_server::auth::totp::code_at_step(secret, step).unwrap()
}

/// Uses the login's newest QR link and returns the secret it shows.
async fn enrol_through_link(t: &TestApp, email: &str) -> Vec<u8> {
    let link = t
        .link_tokens(email, "/actions/auth-info/")
        .pop()
        .expect("a QR link in the outbox");
    let uri = t
        .call("user", "generateQrCode", json!({ "hashKey": link }))
        .await;
    OtpAuthUri::parse(uri.as_str().expect("an otpauth URI"))
        .unwrap()
        .secret_bytes()
        .unwrap()
}

/// An app that answers the real login error codes.
async fn revealing() -> TestApp {
    app_with(|o| o.config.mask_login_errors = false).await
}

fn listed<'a>(list: &'a [helpdesk::ListedLogin], email: &str) -> &'a helpdesk::ListedLogin {
    list.iter().find(|l| l.email == email).unwrap()
}

#[tokio::test]
async fn user_list_shows_accounts_roles_enrollment_2fa_last_sign_in_and_blocks() {
    let t = app().await;
    let ids = t.login_in(&[("Media", true), ("Sandbox", false)]).await;
    let (media, sandbox) = (ids[0], ids[1]);
    kmc_server::admin::add_user(
        &t.state,
        sandbox,
        "bob@example.com",
        false,
        None,
        None,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    kmc_server::admin::add_user(
        &t.state,
        media,
        "cy@example.com",
        false,
        None,
        None,
        Some(PASSWORD),
    )
    .await
    .unwrap();

    // Nobody has signed in or enrolled yet.
    let list = helpdesk::list(&t.state, None).await.unwrap();
    assert_eq!(
        list.iter().map(|l| l.email.as_str()).collect::<Vec<_>>(),
        ["ada@example.com", "bob@example.com", "cy@example.com"]
    );
    let ada = listed(&list, EMAIL);
    assert_eq!(ada.partners.len(), 2);
    assert_eq!(
        (
            ada.partners[0].id,
            ada.partners[0].role,
            ada.partners[0].two_factor
        ),
        (media, "admin", true)
    );
    assert_eq!(
        (ada.partners[1].id, ada.partners[1].two_factor),
        (sandbox, false)
    );
    assert!(ada.two_factor_required && !ada.enrolled);
    assert_eq!(ada.last_sign_in, None);
    let bob = listed(&list, "bob@example.com");
    assert_eq!(bob.partners[0].role, "user");
    assert!(!bob.two_factor_required);

    // Ada signs in with a code: enrolled, and her last sign-in is now.
    let code = t.code(EMAIL, 0).await;
    let ks = t.login_to(media, PASSWORD, &code).await;
    assert!(ks.is_string(), "{ks}");
    // Cy is blocked by wrong passwords.
    for _ in 0..10 {
        t.login("cy@example.com", "wrong password here", None).await;
    }
    let list = helpdesk::list(&t.state, None).await.unwrap();
    let ada = listed(&list, EMAIL);
    assert!(ada.enrolled);
    assert_eq!(
        ada.last_sign_in.as_deref(),
        Some(helpdesk::rfc3339(START).as_str())
    );
    assert_eq!(ada.blocked_until, None);
    let cy = listed(&list, "cy@example.com");
    assert_eq!(
        cy.blocked_until.as_deref(),
        Some(helpdesk::rfc3339(START + 15 * 60).as_str())
    );
    assert!(!cy.enrolled && cy.last_sign_in.is_none());

    // --partner keeps the logins of that account, each with all its accounts.
    let only = helpdesk::list(&t.state, Some(sandbox)).await.unwrap();
    assert_eq!(
        only.iter().map(|l| l.email.as_str()).collect::<Vec<_>>(),
        ["ada@example.com", "bob@example.com"]
    );
    assert_eq!(listed(&only, EMAIL).partners.len(), 2);
    let err = helpdesk::list(&t.state, Some(999)).await.unwrap_err();
    assert!(err.to_string().contains("no account with id 999"), "{err}");

    // The JSON form has exactly the documented fields.
    let v: Value = serde_json::to_value(&list).unwrap();
    let mut keys: Vec<&str> = v[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "blocked_until",
            "email",
            "enrolled",
            "last_sign_in",
            "partners",
            "two_factor_required"
        ]
    );
    // The table has a header and one line per login.
    let table = helpdesk::table(&list);
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(
        table.lines().nth(3).unwrap().contains("cy@example.com"),
        "{table}"
    );
}

#[tokio::test]
async fn unblock_lets_a_blocked_login_sign_in_at_once_with_a_fresh_budget() {
    let t = revealing().await;
    let ids = t.login_in(&[("Sandbox", false)]).await;
    for _ in 0..10 {
        t.login(EMAIL, "wrong password here", None).await;
    }
    t.assert_login_error(PASSWORD, None, codes::LOGIN_BLOCKED)
        .await;
    helpdesk::unblock(&t.state, EMAIL).await.unwrap();
    assert!(t.login_to(ids[0], PASSWORD, "").await.is_string());
    // Both counters are clear: a full budget of wrong passwords is counted
    // again before the next block.
    for _ in 0..9 {
        t.assert_login_error("wrong password here", None, codes::USER_WRONG_PASSWORD)
            .await;
    }
    let err = helpdesk::unblock(&t.state, "nobody@example.com")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no login nobody@example.com"),
        "{err}"
    );
}

#[tokio::test]
async fn reset_2fa_voids_the_old_codes_ends_the_sessions_and_mails_a_link_to_a_new_secret() {
    let t = app().await;
    let ids = t.login_in(&[("Media", true), ("Sandbox", false)]).await;
    let old = enrol_through_link(&t, EMAIL).await;
    let ks = t
        .login_to(ids[0], PASSWORD, &code_of_secret(&t, &old, 0))
        .await;
    let ks2 = t.login_to(ids[1], PASSWORD, "").await;
    assert!(ks.is_string() && ks2.is_string());

    let done = helpdesk::reset_two_factor(&t.state, EMAIL).await.unwrap();
    assert_eq!(done.sessions_ended, 2);
    for ks in [&ks, &ks2] {
        assert_error(&t.user_get(ks).await, codes::INVALID_KS);
    }
    assert!(!listed(&helpdesk::list(&t.state, None).await.unwrap(), EMAIL).enrolled);
    t.clock.advance(30);
    let refused = t
        .login_to(ids[0], PASSWORD, &code_of_secret(&t, &old, 0))
        .await;
    assert_error(&refused, codes::INVALID_OTP);

    // The mailed link shows a new secret, whose codes sign in.
    assert!(done.qr_link.contains("/actions/auth-info/"));
    let new = enrol_through_link(&t, EMAIL).await;
    assert_ne!(new, old);
    let ks = t
        .login_to(ids[0], PASSWORD, &code_of_secret(&t, &new, 0))
        .await;
    assert!(ks.is_string(), "{ks}");
    assert!(listed(&helpdesk::list(&t.state, None).await.unwrap(), EMAIL).enrolled);
    assert!(
        helpdesk::reset_two_factor(&t.state, "nobody@example.com")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn end_sessions_ends_every_session_of_that_login_and_no_other() {
    let t = app().await;
    let ids = t.login_in(&[("Sandbox", false)]).await;
    t.user(ids[0], "bob@example.com").await;
    let mine = [
        t.login_to(ids[0], PASSWORD, "").await,
        t.login_to(ids[0], PASSWORD, "").await,
    ];
    let bobs = t.login("bob@example.com", PASSWORD, None).await;
    assert_eq!(helpdesk::end_sessions(&t.state, EMAIL).await.unwrap(), 2);
    for ks in &mine {
        assert_error(&t.user_get(ks).await, codes::INVALID_KS);
    }
    assert!(code_of(&t.user_get(&bobs).await).is_none());
    // A new sign-in works at once.
    let ks = t.login_to(ids[0], PASSWORD, "").await;
    assert!(code_of(&t.user_get(&ks).await).is_none());
    assert!(
        helpdesk::end_sessions(&t.state, "nobody@example.com")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn remove_with_a_partner_ends_that_membership_and_its_sessions_there_and_says_when_it_was_the_last()
 {
    let t = revealing().await;
    let ids = t.login_in(&[("Media", false), ("Sandbox", false)]).await;
    let ks = t.login_to(ids[0], PASSWORD, "").await;
    let other = t.login_to(ids[1], PASSWORD, "").await;
    let removed = helpdesk::remove(&t.state, EMAIL, Some(ids[0]))
        .await
        .unwrap();
    assert_eq!(removed, Removed::Membership { last: false });
    assert_error(&t.user_get(&ks).await, codes::INVALID_KS);
    // Its session in the other account goes on.
    assert!(code_of(&t.user_get(&other).await).is_none());
    assert_error(
        &t.login_to(ids[0], PASSWORD, "").await,
        codes::INVALID_PARTNER_ID,
    );
    assert!(t.login_to(ids[1], PASSWORD, "").await.is_string());
    // Not a member any more, and an unknown account: both errors.
    let err = helpdesk::remove(&t.state, EMAIL, Some(ids[0]))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("is not a user of account"),
        "{err}"
    );
    let err = helpdesk::remove(&t.state, EMAIL, Some(999))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no account with id 999"), "{err}");
    let removed = helpdesk::remove(&t.state, EMAIL, Some(ids[1]))
        .await
        .unwrap();
    assert_eq!(removed, Removed::Membership { last: true });
    assert_eq!(
        listed(&helpdesk::list(&t.state, None).await.unwrap(), EMAIL).partners,
        []
    );
}

#[tokio::test]
async fn remove_without_a_partner_deletes_the_login_its_sessions_and_its_links() {
    let t = app().await;
    let ids = t.login_in(&[("Media", true)]).await;
    let link = t.link_tokens(EMAIL, "/actions/auth-info/").pop().unwrap();
    t.user(ids[0], "bob@example.com").await;
    let bob = t
        .login(
            "bob@example.com",
            PASSWORD,
            Some(&t.code("bob@example.com", 0).await),
        )
        .await;
    assert!(bob.is_string(), "{bob}");
    assert_eq!(
        helpdesk::remove(&t.state, "BOB@example.com", None)
            .await
            .unwrap(),
        Removed::Login
    );
    assert_error(&t.user_get(&bob).await, codes::INVALID_KS);
    assert_error(
        &t.login("bob@example.com", PASSWORD, None).await,
        codes::USER_WRONG_PASSWORD,
    );
    // Ada's link still works; bob is gone from the list.
    let uri = t
        .call("user", "generateQrCode", json!({ "hashKey": link }))
        .await;
    assert!(uri.is_string(), "{uri}");
    let list = helpdesk::list(&t.state, None).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(
        helpdesk::remove(&t.state, "bob@example.com", None)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_session_in_an_account_survives_removal_from_it_even_one_signing_in_meanwhile() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let t = Arc::new(revealing().await);
    let ids = t.login_in(&[("Media", false), ("Sandbox", false)]).await;
    let media = ids[0];
    let signed_in = Arc::new(AtomicUsize::new(0));
    // Each task signs into Media until it is refused (the removal won).
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (t, signed_in) = (t.clone(), signed_in.clone());
            tokio::spawn(async move {
                let mut sessions = Vec::new();
                loop {
                    let v = t.login_to(media, PASSWORD, "").await;
                    if !v.is_string() {
                        assert_error(&v, codes::INVALID_PARTNER_ID);
                        return sessions;
                    }
                    sessions.push(v);
                    signed_in.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    while signed_in.load(Ordering::SeqCst) < 8 {
        tokio::task::yield_now().await;
    }
    let removed = helpdesk::remove(&t.state, EMAIL, Some(media))
        .await
        .unwrap();
    assert_eq!(removed, Removed::Membership { last: false });
    let mut sessions = Vec::new();
    for task in tasks {
        sessions.extend(task.await.unwrap());
    }
    assert!(sessions.len() >= 8);
    for ks in &sessions {
        assert_error(&t.user_get(ks).await, codes::INVALID_KS);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn end_sessions_among_parallel_sign_ins_ends_every_session_answered_before_it_and_errs_none()
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let t = Arc::new(app().await);
    let sandbox = t.login_in(&[("Sandbox", false)]).await[0];
    let (calling, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let signed_in = Arc::new(AtomicUsize::new(0));
    // Each task signs in until told to stop, noting of each session whether its answer came
    // before the operator's command was issued.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (t, calling, stop, signed_in) =
                (t.clone(), calling.clone(), stop.clone(), signed_in.clone());
            tokio::spawn(async move {
                let mut sessions = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let v = t.login_to(sandbox, PASSWORD, "").await;
                    assert!(v.is_string(), "a sign-in beside end-sessions failed: {v}");
                    sessions.push((v, !calling.load(Ordering::SeqCst)));
                    signed_in.fetch_add(1, Ordering::SeqCst);
                }
                sessions
            })
        })
        .collect();
    while signed_in.load(Ordering::SeqCst) < 16 {
        tokio::task::yield_now().await;
    }
    calling.store(true, Ordering::SeqCst);
    let ended = helpdesk::end_sessions(&t.state, EMAIL).await.unwrap();
    // Sign-ins go on after it a while, then stop.
    let after = signed_in.load(Ordering::SeqCst) + 8;
    while signed_in.load(Ordering::SeqCst) < after {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut before = Vec::new();
    for task in tasks {
        before.extend(task.await.unwrap().into_iter().filter(|s| s.1).map(|s| s.0));
    }
    assert!(before.len() >= 16);
    assert!(
        ended >= before.len() as u64,
        "{ended} ended of {}",
        before.len()
    );
    for ks in &before {
        assert_error(&t.user_get(ks).await, codes::INVALID_KS);
    }
    // And a sign-in after it all works.
    let ks = t.login_to(sandbox, PASSWORD, "").await;
    assert!(code_of(&t.user_get(&ks).await).is_none());
}
