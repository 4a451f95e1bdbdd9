//! The operator's side without a browser: accounts made with the CLI, the QR
//! link read from the outbox, and the API called directly the way the app
//! calls it. These pin down the facts the browser tests build on.

use e2e::{Authenticator, spawn_app};
use kaltura_api::codes;

#[tokio::test]
async fn a_login_enrolled_from_the_emailed_link_signs_in_only_with_a_fresh_code() {
    let app = spawn_app();
    let account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let auth = account.authenticator();

    let missing = app
        .login(&account.email, &account.password, "", None)
        .await
        .expect_err("a 2FA login needs a code");
    assert_eq!(missing.code, codes::MISSING_OTP);

    let step = Authenticator::current_step();
    let code = auth.code_for_step(step);
    auth.mark_used(step);
    let ks = app
        .login(&account.email, &account.password, &code, None)
        .await
        .expect("a current code signs in");
    let user = app.get_user(&ks).await.expect("the KS works");
    assert_eq!(user["email"], account.email.as_str());

    let replay = app
        .login(&account.email, &account.password, &code, None)
        .await
        .expect_err("a used time step is refused");
    assert_eq!(replay.code, codes::INVALID_OTP);
}

#[tokio::test]
async fn a_session_aged_in_the_database_is_refused_as_expired() {
    let app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let ks = app
        .login(&account.email, &account.password, "", None)
        .await
        .expect("a password-only login signs in without a code");
    app.get_user(&ks).await.expect("the KS works");

    assert!(app.expire_sessions().await >= 1);
    let refused = app.get_user(&ks).await.expect_err("expired");
    assert_eq!(refused.code, codes::INVALID_KS);
    assert_eq!(refused.arg("KSID"), Some(codes::KSID_EXPIRED));
}

#[tokio::test]
async fn a_qr_link_aged_in_the_database_no_longer_yields_a_key() {
    let app = spawn_app();
    let partner = app.add_partner("Media Works", true);
    app.add_user(
        partner,
        "grace@example.com",
        "Grace",
        "Hopper",
        Some(&e2e::app::new_password()),
    );
    let link = app
        .wait_for_link("grace@example.com", e2e::LinkKind::AuthInfo, 0)
        .await;
    assert!(app.expire_link_tokens().await >= 1);
    let refused = app
        .generate_qr_code(&link.hash_key)
        .await
        .expect_err("an expired link is refused");
    assert_eq!(refused.code, codes::INVALID_HASH);
}
