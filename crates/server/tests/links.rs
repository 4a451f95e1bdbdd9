//! Links (hash keys): QR links, password reset, set-password for new users;
//! expiry, single use, one slot per login, the password policy.

mod common;

use common::*;
use kaltura_api::{OtpAuthUri, codes};
use kmc_server::admin;
use serde_json::json;

const QR: &str = "/actions/auth-info/";
const RESET: &str = "/actions/restore-password/";

async fn reset_link(t: &TestApp, email: &str) -> String {
    t.reset_link(email).await
}

#[tokio::test]
async fn a_2fa_user_gets_a_qr_link_that_yields_the_otpauth_uri_once() {
    let t = app_with(|o| o.config.issuer = "Acme Video".into()).await;
    t.login_in(&[("Media", true)]).await;
    let token = t.link_tokens("ada@example.com", QR).pop().unwrap();
    assert_eq!(token.len(), 43);
    assert!(t.outbox()[0].contains(&format!("http://kmc.test{QR}{token}")));
    let uri = t
        .call("user", "generateQrCode", json!({"hashKey": token}))
        .await;
    let key = OtpAuthUri::parse(uri.as_str().unwrap()).unwrap();
    assert_eq!(key.issuer.as_deref(), Some("Acme Video"));
    assert_eq!(key.account, "ada@example.com");
    assert_eq!(key.secret_bytes().unwrap().len(), 20);
    assert!(
        uri.as_str()
            .unwrap()
            .starts_with("otpauth://totp/Acme%20Video:ada%40example.com?secret=")
    );
    assert_eq!(
        key.secret_bytes().unwrap(),
        t.secret("ada@example.com").await
    );
    let again = t
        .call("user", "generateQrCode", json!({"hashKey": token}))
        .await;
    assert_error(&again, codes::INVALID_HASH);
}

#[tokio::test]
async fn a_qr_link_expires_after_72_hours() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let token = t.link_tokens("ada@example.com", QR).pop().unwrap();
    t.clock.advance(72 * 3600);
    let v = t
        .call("user", "generateQrCode", json!({"hashKey": token}))
        .await;
    assert_error(&v, codes::INVALID_HASH);
}

#[tokio::test]
async fn a_link_aged_in_the_database_is_expired() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let token = reset_link(&t, "ada@example.com").await;
    sqlx::query("UPDATE link_tokens SET expires_at = expires_at - 86400")
        .execute(&t.state.pool)
        .await
        .unwrap();
    let v = t
        .call("user", "validateHashKey", json!({"hashKey": token}))
        .await;
    assert_error(&v, codes::NEW_PASSWORD_HASH_KEY_EXPIRED);
}

#[tokio::test]
async fn unknown_links_are_refused_by_every_action() {
    let t = app().await;
    let fake = "A".repeat(43);
    assert_error(
        &t.call("user", "generateQrCode", json!({"hashKey": fake}))
            .await,
        codes::INVALID_HASH,
    );
    assert_error(
        &t.call("user", "validateHashKey", json!({"hashKey": fake}))
            .await,
        codes::NEW_PASSWORD_HASH_KEY_INVALID,
    );
    assert_error(
        &t.set_initial_password("user", &fake, "a brand new passphrase")
            .await,
        codes::NEW_PASSWORD_HASH_KEY_INVALID,
    );
}

#[tokio::test]
async fn the_database_holds_only_hashes_of_links() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let token = t.link_tokens("ada@example.com", QR).pop().unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM link_tokens")
        .fetch_one(&t.state.pool)
        .await
        .unwrap();
    assert_eq!(stored, kmc_server::auth::token_hash(&token));
    // The files are SQLite's alone; on PostgreSQL the column above is what
    // the store wrote.
    if t.db_url.is_some() {
        return;
    }
    let db = std::fs::read(t.dir.path().join("kmc.sqlite3")).unwrap();
    let wal = std::fs::read(t.dir.path().join("kmc.sqlite3-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()));
    }
}

#[tokio::test]
async fn reset_then_set_password_validates_without_consuming_names_the_email_and_works_once() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let token = reset_link(&t, "ada@example.com").await;
    for _ in 0..2 {
        let v = t
            .call("user", "validateHashKey", json!({"hashKey": token}))
            .await;
        assert_eq!(
            v,
            json!({"objectType": "KalturaAuthentication", "email": "ada@example.com"})
        );
    }
    let v = t
        .set_initial_password("user", &token, "a brand new passphrase")
        .await;
    assert_eq!(
        v,
        json!({"objectType": "KalturaAuthentication", "email": "ada@example.com"})
    );
    t.assert_signs_in("a brand new passphrase", None).await;
    t.assert_login_error(PASSWORD, None, codes::USER_WRONG_PASSWORD)
        .await;
    let again = t
        .set_initial_password("adminUser", &token, "another new passphrase")
        .await;
    assert_error(&again, codes::NEW_PASSWORD_HASH_KEY_INVALID);
}

#[tokio::test]
async fn a_reset_link_expires_after_24_hours() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let token = reset_link(&t, "ada@example.com").await;
    t.clock.advance(24 * 3600 - 1);
    assert!(
        t.call("user", "validateHashKey", json!({"hashKey": token}))
            .await["objectType"]
            == "KalturaAuthentication"
    );
    t.clock.advance(1);
    let v = t
        .set_initial_password("user", &token, "a brand new passphrase")
        .await;
    assert_error(&v, codes::NEW_PASSWORD_HASH_KEY_EXPIRED);
}

#[tokio::test]
async fn a_new_link_voids_the_previous_one_of_its_kind_and_a_reset_leaves_the_qr_link_alone() {
    let t = app().await;
    let p = t.login_in(&[("Media", true)]).await[0];
    let qr = t.link_tokens("ada@example.com", QR).pop().unwrap();
    let reset = reset_link(&t, "ada@example.com").await;
    // A reset link is not a QR link.
    assert_error(
        &t.call("user", "generateQrCode", json!({"hashKey": reset}))
            .await,
        codes::INVALID_HASH,
    );
    let reset2 = reset_link(&t, "ada@example.com").await;
    assert_error(
        &t.call("user", "validateHashKey", json!({"hashKey": reset}))
            .await,
        codes::NEW_PASSWORD_HASH_KEY_INVALID,
    );
    assert_eq!(
        t.call("user", "validateHashKey", json!({"hashKey": reset2}))
            .await["objectType"],
        "KalturaAuthentication"
    );
    // Anyone can have reset links mailed: they never void the pending QR
    // link, which still works once.
    let uri = t
        .call("user", "generateQrCode", json!({"hashKey": qr}))
        .await;
    assert!(uri.as_str().unwrap().starts_with("otpauth://"), "{uri}");
    admin::set_two_factor(&t.state, p, true).await.unwrap();
    let qr2 = t.link_tokens("ada@example.com", QR).pop().unwrap();
    assert_eq!(qr2, qr, "an enrolled login gets no new QR link");
}

#[tokio::test]
async fn reset_on_a_2fa_login_issues_a_new_secret_and_the_old_codes_stop_working() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let old_secret = t.secret("ada@example.com").await;
    let token = reset_link(&t, "ada@example.com").await;
    let v = t
        .set_initial_password("user", &token, "a brand new passphrase")
        .await;
    let uri = v["qrCode"].as_str().unwrap();
    let new_secret = OtpAuthUri::parse(uri).unwrap().secret_bytes().unwrap();
    assert_ne!(new_secret, old_secret);
    let now = common::START / 30;
    let old_code = kmc_server::auth::totp::code_at_step(&old_secret, now).unwrap();
    let new_code = kmc_server::auth::totp::code_at_step(&new_secret, now).unwrap();
    assert_ne!(old_code, new_code);
    t.assert_login_error(
        "a brand new passphrase",
        Some(&old_code),
        codes::INVALID_OTP,
    )
    .await;
    t.assert_signs_in("a brand new passphrase", Some(&new_code))
        .await;
}

#[tokio::test]
async fn reset_password_answers_null_for_unknown_emails_and_sends_nothing() {
    let t = app().await;
    let v = t
        .call(
            "user",
            "resetPassword",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert!(v.is_null());
    // Once the lookup and the mail that follow the reply have finished.
    t.mail_sent().await;
    assert!(t.outbox().is_empty());
}

#[tokio::test]
async fn reset_password_is_limited_to_ten_per_email_per_ten_minutes() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    for _ in 0..12 {
        let v = t
            .call("user", "resetPassword", json!({"email": "ada@example.com"}))
            .await;
        assert!(v.is_null());
    }
    t.mail_sent().await;
    assert_eq!(t.outbox().len(), 10);
    t.clock.advance(600);
    t.call("user", "resetPassword", json!({"email": "ada@example.com"}))
        .await;
    t.wait_outbox(11).await;
}

#[tokio::test]
async fn the_password_policy_refuses_short_email_common_and_recent_passwords() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let token = reset_link(&t, "ada@example.com").await;
    let set = |pw: &'static str| {
        let t = &t;
        let token = token.clone();
        async move { t.set_initial_password("user", &token, pw).await }
    };
    let v = set("short").await;
    assert_error(&v, codes::PASSWORD_STRUCTURE_INVALID);
    assert!(
        v["args"]["RULES"]
            .as_str()
            .unwrap()
            .contains("8 characters")
    );
    assert_error(
        &set("ada@example.com").await,
        codes::PASSWORD_STRUCTURE_INVALID,
    );
    assert_error(&set("qwertyuiop").await, codes::COMMON_PASSWORD);
    assert_error(&set(PASSWORD).await, codes::PASSWORD_ALREADY_USED);
    // Refusals do not spend the link.
    let ok = set("a brand new passphrase").await;
    assert_eq!(ok["objectType"], "KalturaAuthentication");
}

#[tokio::test]
async fn none_of_the_last_three_passwords_may_be_reused_but_the_fourth_may() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    let change = |old: &'static str, new: &'static str| {
        let t = &t;
        async move {
            t.call(
                "adminUser",
                "updatePassword",
                json!({"email": "ada@example.com", "password": old, "newEmail": "", "newPassword": new}),
            )
            .await
        }
    };
    assert_eq!(
        change(PASSWORD, "second passphrase here").await["email"],
        "ada@example.com"
    );
    assert_eq!(
        change("second passphrase here", "third passphrase here").await["objectType"],
        "KalturaAdminUser"
    );
    assert_error(
        &change("third passphrase here", PASSWORD).await,
        codes::PASSWORD_ALREADY_USED,
    );
    change("third passphrase here", "fourth passphrase here").await;
    assert_eq!(
        change("fourth passphrase here", PASSWORD).await["objectType"],
        "KalturaAdminUser"
    );
}

#[tokio::test]
async fn a_new_user_without_a_password_gets_a_set_password_link_and_then_the_qr_code() {
    let t = app().await;
    let p = t.partner("Media", true).await;
    admin::add_user(&t.state, p, "bob@example.com", false, None, None, None)
        .await
        .unwrap();
    let token = t.link_tokens("bob@example.com", RESET).pop().unwrap();
    assert_error(
        &t.login("bob@example.com", "anything at all", Some(""))
            .await,
        codes::USER_WRONG_PASSWORD,
    );
    let v = t
        .set_initial_password("user", &token, "bobs first passphrase")
        .await;
    let uri = v["qrCode"].as_str().unwrap();
    let secret = OtpAuthUri::parse(uri).unwrap().secret_bytes().unwrap();
    let code = kmc_server::auth::totp::code_at_step(&secret, common::START / 30).unwrap();
    assert!(
        t.login("bob@example.com", "bobs first passphrase", Some(&code))
            .await
            .is_string()
    );
}

#[tokio::test]
async fn turning_2fa_on_emails_every_user_with_a_password_and_no_authenticator_a_qr_link() {
    let t = app().await;
    let p = t.login_in(&[("Sandbox", false)]).await[0];
    admin::add_user(
        &t.state,
        p,
        "viewer@example.com",
        false,
        None,
        None,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let done = admin::set_two_factor(&t.state, p, true).await.unwrap();
    assert_eq!((done.qr_links, done.notices), (2, 0));
    let token = t.link_tokens("ada@example.com", QR).pop().unwrap();
    // Not only account admins sign in: every user needs the code.
    assert_eq!(t.link_tokens("viewer@example.com", QR).len(), 1);
    let uri = t
        .call("user", "generateQrCode", json!({"hashKey": token}))
        .await;
    assert!(uri.as_str().unwrap().starts_with("otpauth://totp/Kaltura:"));
    t.assert_login_error(PASSWORD, Some(""), codes::MISSING_OTP)
        .await;
    admin::set_two_factor(&t.state, p, false).await.unwrap();
    t.assert_signs_in(PASSWORD, Some("")).await;
}

#[tokio::test]
async fn update_password_needs_the_code_on_a_2fa_login_and_never_echoes_the_password() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let body = |otp: Option<String>| {
        let mut b = json!({"email": "ada@example.com", "password": PASSWORD, "newEmail": "",
                           "newPassword": "a brand new passphrase"});
        if let Some(o) = otp {
            b["otp"] = json!(o);
        }
        b
    };
    assert_error(
        &t.call("adminUser", "updatePassword", body(None)).await,
        codes::MISSING_OTP,
    );
    assert_error(
        &t.call("adminUser", "updatePassword", body(Some("000000".into())))
            .await,
        codes::INVALID_OTP,
    );
    let code = t.code("ada@example.com", 0).await;
    let v = t
        .call("adminUser", "updatePassword", body(Some(code)))
        .await;
    assert_eq!(
        v,
        json!({"objectType": "KalturaAdminUser", "email": "ada@example.com"})
    );
    assert!(!v.to_string().contains("brand new"));
    let wrong = t
        .call(
            "adminUser",
            "updatePassword",
            json!({"email": "ada@example.com", "password": "not it at all", "newPassword": "x y z w v u"}),
        )
        .await;
    assert_error(&wrong, codes::WRONG_OLD_PASSWORD);
}

#[tokio::test]
async fn update_password_clears_an_expired_password() {
    let t = app().await;
    t.login_in(&[("Sandbox", false)]).await;
    admin::expire_password(&t.state, "ada@example.com")
        .await
        .unwrap();
    t.assert_login_error(PASSWORD, None, codes::PASSWORD_EXPIRED)
        .await;
    let v = t
        .call(
            "adminUser",
            "updatePassword",
            json!({"email": "ada@example.com", "password": PASSWORD, "newEmail": "", "newPassword": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(v["objectType"], "KalturaAdminUser");
    t.assert_signs_in("a brand new passphrase", None).await;
}

#[tokio::test]
async fn the_database_alone_does_not_reveal_the_totp_secret() {
    let t = app().await;
    t.login_in(&[("Media", true)]).await;
    let secret = t.secret("ada@example.com").await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM logins")
        .fetch_one(&t.state.pool)
        .await
        .unwrap();
    assert!(!stored.windows(secret.len()).any(|w| w == secret));
    let b32 = kaltura_api::otpauth::base32_encode(&secret);
    // The files are SQLite's alone; on PostgreSQL the column above is what
    // the store wrote.
    if t.db_url.is_some() {
        return;
    }
    let db = std::fs::read(t.dir.path().join("kmc.sqlite3")).unwrap();
    let wal = std::fs::read(t.dir.path().join("kmc.sqlite3-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret));
        assert!(!bytes.windows(b32.len()).any(|w| w == b32.as_bytes()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_parallel_uses_of_one_link_exactly_one_wins() {
    let t = std::sync::Arc::new(app().await);
    t.login_in(&[("Media", true)]).await;
    let token = t.link_tokens("ada@example.com", QR).pop().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let t = t.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            t.call("user", "generateQrCode", json!({"hashKey": token}))
                .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        let v = task.await.unwrap();
        if v.is_string() {
            wins += 1;
        } else {
            assert_error(&v, codes::INVALID_HASH);
        }
    }
    assert_eq!(wins, 1);
}
