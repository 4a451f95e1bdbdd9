//! `user.loginByLoginId`: the order of checks, masking, 2FA codes, replay and
//! the lockout counter (including 50 parallel wrong codes).

mod common;

use common::*;
use kaltura_api::codes;
use serde_json::json;

#[tokio::test]
async fn a_password_only_login_gets_a_ks_without_a_code() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let ks = t.login("ada@example.com", PASSWORD, None).await;
    assert!(ks.as_str().unwrap().len() >= 22, "{ks}");
}

#[tokio::test]
async fn wrong_password_and_unknown_login_get_the_same_error() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    t.assert_login_error("not the password", None, codes::USER_WRONG_PASSWORD)
        .await;
    assert_error(
        &t.login("nobody@example.com", PASSWORD, None).await,
        codes::USER_WRONG_PASSWORD,
    );
}

#[tokio::test]
async fn a_2fa_login_without_a_code_gets_missing_otp_then_signs_in_with_one() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    t.assert_login_error(PASSWORD, Some(""), codes::MISSING_OTP)
        .await;
    t.assert_login_error(PASSWORD, None, codes::MISSING_OTP)
        .await;
    let code = t.code("ada@example.com", 0).await;
    let spaced = format!(" {} {} ", &code[..3], &code[3..]);
    let ks = t.login("ada@example.com", PASSWORD, Some(&spaced)).await;
    assert!(ks.is_string(), "{ks}");
}

#[tokio::test]
async fn missing_otp_is_checked_only_after_the_password() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    t.assert_login_error("wrong password!", Some(""), codes::USER_WRONG_PASSWORD)
        .await;
}

#[tokio::test]
async fn codes_one_step_either_side_are_accepted_and_two_steps_are_not() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let old = t.code("ada@example.com", -2).await;
    t.assert_login_error(PASSWORD, Some(&old), codes::INVALID_OTP)
        .await;
    let prev = t.code("ada@example.com", -1).await;
    t.assert_signs_in(PASSWORD, Some(&prev)).await;
    let next = t.code("ada@example.com", 1).await;
    t.assert_signs_in(PASSWORD, Some(&next)).await;
}

#[tokio::test]
async fn a_code_is_never_accepted_twice_and_an_earlier_step_is_refused_after_a_later_one() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let code = t.code("ada@example.com", 0).await;
    t.assert_signs_in(PASSWORD, Some(&code)).await;
    t.assert_login_error(PASSWORD, Some(&code), codes::INVALID_OTP)
        .await;
    let prev = t.code("ada@example.com", -1).await;
    t.assert_login_error(PASSWORD, Some(&prev), codes::INVALID_OTP)
        .await;
    t.clock.advance(30);
    let fresh = t.code("ada@example.com", 0).await;
    t.assert_signs_in(PASSWORD, Some(&fresh)).await;
}

#[tokio::test]
async fn garbage_codes_are_invalid_otp_not_errors_of_shape() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    for bad in ["12345", "abcdef", "1234567", "１２３４５６", "12 34 5x"] {
        t.assert_login_error(PASSWORD, Some(bad), codes::INVALID_OTP)
            .await;
    }
}

#[tokio::test]
async fn masking_hides_block_and_partner_errors_by_default() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let v = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "partnerId": 999}),
        )
        .await;
    assert_error(&v, codes::USER_WRONG_PASSWORD);
    for _ in 0..10 {
        t.login("ada@example.com", "wrong password!", None).await;
    }
    t.assert_login_error(PASSWORD, None, codes::USER_WRONG_PASSWORD)
        .await;
}

#[tokio::test]
async fn revealed_errors_show_invalid_partner_retries_exceeded_and_blocked() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    t.login_in(&[("Sandbox", false)]).await;
    let v = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "partnerId": 999}),
        )
        .await;
    assert_error(&v, codes::INVALID_PARTNER_ID);
    for _ in 0..9 {
        t.assert_login_error("wrong password!", None, codes::USER_WRONG_PASSWORD)
            .await;
    }
    t.assert_login_error("wrong password!", None, codes::LOGIN_RETRIES_EXCEEDED)
        .await;
    t.assert_login_error(PASSWORD, None, codes::LOGIN_BLOCKED)
        .await;
}

#[tokio::test]
async fn a_block_lasts_fifteen_minutes_then_the_right_password_works() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    t.login_in(&[("Sandbox", false)]).await;
    for _ in 0..10 {
        t.login("ada@example.com", "wrong password!", None).await;
    }
    t.clock.advance(15 * 60 - 1);
    t.assert_login_error(PASSWORD, None, codes::LOGIN_BLOCKED)
        .await;
    t.clock.advance(1);
    assert!(t.login("ada@example.com", PASSWORD, None).await.is_string());
}

#[tokio::test]
async fn success_resets_the_counter() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    t.login_in(&[("Sandbox", false)]).await;
    for _ in 0..9 {
        t.login("ada@example.com", "wrong password!", None).await;
    }
    assert!(t.login("ada@example.com", PASSWORD, None).await.is_string());
    for _ in 0..9 {
        t.assert_login_error("wrong password!", None, codes::USER_WRONG_PASSWORD)
            .await;
    }
}

#[tokio::test]
async fn missing_otp_does_not_count_but_wrong_codes_do() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    t.login_in(&[("Media", true)]).await;
    for _ in 0..25 {
        t.assert_login_error(PASSWORD, Some(""), codes::MISSING_OTP)
            .await;
    }
    for _ in 0..9 {
        t.assert_login_error(PASSWORD, Some("000000"), codes::INVALID_OTP)
            .await;
    }
    t.assert_login_error(PASSWORD, Some("000000"), codes::LOGIN_RETRIES_EXCEEDED)
        .await;
    // Even the right code is refused while blocked.
    let code = t.code("ada@example.com", 0).await;
    t.assert_login_error(PASSWORD, Some(&code), codes::LOGIN_BLOCKED)
        .await;
}

#[tokio::test]
async fn the_limits_are_configurable() {
    let t = app_with(|o| {
        o.config.mask_login_errors = false;
        o.config.limits.max_attempts = 3;
        o.config.limits.block_seconds = 60;
    })
    .await;
    t.login_in(&[("Sandbox", false)]).await;
    t.login("ada@example.com", "wrong password!", None).await;
    t.login("ada@example.com", "wrong password!", None).await;
    t.assert_login_error("wrong password!", None, codes::LOGIN_RETRIES_EXCEEDED)
        .await;
    t.clock.advance(60);
    assert!(t.login("ada@example.com", PASSWORD, None).await.is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_wrong_codes_get_no_more_answers_than_the_limit() {
    let t = app_with(|o| o.config.mask_login_errors = false).await;
    t.login_in(&[("Media", true)]).await;
    let code = t.code("ada@example.com", 0).await;
    // Wrong codes that are surely not the right one (nor its neighbours).
    let wrong: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "{:06}",
                (code.parse::<u32>().unwrap() + 1 + i * 7) % 1_000_000
            )
        })
        .collect();
    let t = std::sync::Arc::new(t);
    let mut tasks = Vec::new();
    for w in wrong {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            t.login("ada@example.com", PASSWORD, Some(&w)).await
        }));
    }
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for task in tasks {
        let v = task.await.unwrap();
        *counts
            .entry(code_of(&v).unwrap_or("OK").to_owned())
            .or_default() += 1;
    }
    let invalid = counts.get(codes::INVALID_OTP).copied().unwrap_or(0);
    let exceeded = counts
        .get(codes::LOGIN_RETRIES_EXCEEDED)
        .copied()
        .unwrap_or(0);
    let blocked = counts.get(codes::LOGIN_BLOCKED).copied().unwrap_or(0);
    assert_eq!(invalid + exceeded, 10, "{counts:?}");
    assert_eq!(exceeded, 1, "{counts:?}");
    assert_eq!(blocked, 40, "{counts:?}");
    let counted: i64 = sqlx::query_scalar("SELECT failed_attempts FROM logins")
        .fetch_one(&t.state.pool)
        .await
        .unwrap();
    assert!(counted >= 10, "{counted}");
    // The right code gets no answer either until the block ends.
    t.assert_login_error(PASSWORD, Some(&code), codes::LOGIN_BLOCKED)
        .await;
}

#[tokio::test]
async fn expired_passwords_are_reported_only_after_a_correct_login() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    kmc_server::admin::expire_password(&t.state, "ada@example.com")
        .await
        .unwrap();
    t.assert_login_error("wrong password!", None, codes::USER_WRONG_PASSWORD)
        .await;
    t.assert_login_error(PASSWORD, Some(""), codes::MISSING_OTP)
        .await;
    let code = t.code("ada@example.com", 0).await;
    t.assert_login_error(PASSWORD, Some(&code), codes::PASSWORD_EXPIRED)
        .await;
}

#[tokio::test]
async fn without_a_partner_id_login_goes_to_the_last_used_account_else_the_first() {
    let t = app().await;
    let a = t.partner("First", false).await;
    let b = t.partner("Second", false).await;
    t.user(a, "ada@example.com").await;
    t.user(b, "ada@example.com").await;
    let info = |ks: serde_json::Value| {
        let t = &t;
        async move { t.call("partner", "getInfo", json!({"ks": ks})).await["id"].clone() }
    };
    let ks = t.login("ada@example.com", PASSWORD, None).await;
    assert_eq!(info(ks).await, json!(a));
    let ks = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "partnerId": b}),
        )
        .await;
    assert_eq!(info(ks).await, json!(b));
    let ks = t.login("ada@example.com", PASSWORD, None).await;
    assert_eq!(info(ks).await, json!(b));
}

#[tokio::test]
async fn the_target_account_decides_whether_a_code_is_needed() {
    let t = app().await;
    let sandbox = t.partner("Sandbox", false).await;
    let media = t.partner("Media", true).await;
    t.user(sandbox, "ada@example.com").await;
    t.user(media, "ada@example.com").await;
    let v = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "partnerId": sandbox, "otp": ""}),
        )
        .await;
    assert!(v.is_string(), "{v}");
    let v = t
        .call(
            "user",
            "loginByLoginId",
            json!({"loginId": "ada@example.com", "password": PASSWORD, "partnerId": media, "otp": ""}),
        )
        .await;
    assert_error(&v, codes::MISSING_OTP);
}
