//! Signed-in sessions, against the real server: one login in a
//! password-only and a 2FA account, switching between them, reload, logout
//! revoking the KS on the server, and a session that expired server-side.

use e2e::flows::{
    log_out, open_login, sign_in, submit_credentials, switch_into_two_factor_account,
    wait_signed_in, wait_signed_in_to,
};
use e2e::{Account, Authenticator, Browser, LinkKind, spawn_app};
use kaltura_api::codes;

#[tokio::test]
async fn switching_into_the_two_factor_account_asks_for_the_code_and_switching_back_is_direct() {
    let app = spawn_app();
    // One login, "Ada Lovelace", in a password-only account (first, so the
    // plain sign-in lands there) and in a 2FA account.
    let sandbox = app.password_only_account("Demo Sandbox", "ada@example.com");
    let media_id = app.add_partner("Demo Media", true);
    app.add_user(
        media_id,
        &sandbox.email,
        "Ada",
        "Lovelace",
        Some(&sandbox.password),
    );
    let link = app
        .wait_for_link(&sandbox.email, LinkKind::AuthInfo, 0)
        .await;
    let uri = app
        .generate_qr_code(&link.hash_key)
        .await
        .expect("a fresh QR link");
    let ada = Account {
        authenticator: Some(Authenticator::from_uri(&uri)),
        ..sandbox
    };
    let browser = Browser::start().await;

    open_login(&browser, &app).await;
    submit_credentials(&browser, &ada.email, &ada.password).await;
    wait_signed_in_to(&browser, &ada, ada.partner_id, "Demo Sandbox").await;

    // Password-only → 2FA: the server wants a new login with the code.
    switch_into_two_factor_account(&browser, &ada, media_id, "Demo Media").await;

    // 2FA → password-only switches directly.
    browser
        .click_testid(&format!("switch-account-{}", ada.partner_id))
        .await;
    wait_signed_in_to(&browser, &ada, ada.partner_id, "Demo Sandbox").await;
    assert!(!browser.shows_testid("relogin-required").await);
    assert_eq!(browser.path().await, "/account");

    // A reload keeps the session.
    browser.reload().await;
    wait_signed_in_to(&browser, &ada, ada.partner_id, "Demo Sandbox").await;
    browser.close().await;
}

#[tokio::test]
async fn logout_ends_the_session_so_the_server_refuses_the_old_ks() {
    let app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;

    sign_in(&browser, &app, &account).await;
    let ks = browser
        .session_storage("kmc.ks")
        .await
        .expect("a KS while signed in");
    app.get_user(&ks)
        .await
        .expect("the KS works while signed in");

    log_out(&browser).await;
    assert_eq!(browser.session_storage("kmc.ks").await, None);
    let refused = app.get_user(&ks).await.expect_err("an ended KS is refused");
    assert_eq!(refused.code, codes::INVALID_KS);
    assert_eq!(refused.arg("KSID"), Some(codes::KSID_LOGOUT));
    browser.close().await;
}

#[tokio::test]
async fn session_expired_on_the_server_sends_the_user_to_sign_in_with_a_message() {
    let app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;

    sign_in(&browser, &app, &account).await;
    assert!(
        app.expire_sessions().await >= 1,
        "the session is in the database"
    );
    browser.reload().await;
    browser.wait_path("/login").await;
    browser
        .wait_text(
            "login-alert",
            "Your session has ended, please sign in again",
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn account_page_while_signed_out_goes_to_sign_in_and_returns_after_it() {
    let app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;

    browser.goto(&app.url("/account")).await;
    browser.wait_path("/login").await;
    browser.wait_testid("login-card").await;
    submit_credentials(&browser, &account.email, &account.password).await;
    wait_signed_in(&browser, &account).await;
    browser.close().await;
}
