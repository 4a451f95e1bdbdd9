//! The browser flow against two `kmc-server` replicas on one database
//! behind a proxy that sends each request to the next replica:
//! the app's calls alternate between them, and sign-in with a code, account
//! switching, reload and logout behave as against one server.

use e2e::flows::{
    log_out, open_login, submit_credentials, switch_into_two_factor_account, wait_signed_in_to,
};
use e2e::{Account, Authenticator, Browser, LinkKind, spawn_replicated_app};
use kaltura_api::codes;

#[tokio::test]
async fn sign_in_with_a_code_switching_and_logout_work_with_calls_alternating_between_two_replicas()
{
    let app = spawn_replicated_app();
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
    // The link was spent on one replica: the other refuses it.
    let again = app
        .generate_qr_code(&link.hash_key)
        .await
        .expect_err("a spent QR link");
    assert_eq!(again.code, codes::INVALID_HASH);
    let ada = Account {
        authenticator: Some(Authenticator::from_uri(&uri)),
        ..sandbox
    };
    let browser = Browser::start().await;

    open_login(&browser, &app).await;
    submit_credentials(&browser, &ada.email, &ada.password).await;
    wait_signed_in_to(&browser, &ada, ada.partner_id, "Demo Sandbox").await;

    // Into the 2FA account: a new sign-in with the code.
    let code = switch_into_two_factor_account(&browser, &ada, media_id, "Demo Media").await;
    // The code was used on one replica: replayed through the proxy, refused.
    let replay = app
        .login(&ada.email, &ada.password, &code, Some(media_id))
        .await
        .expect_err("a replayed code");
    assert_eq!(replay.code, codes::INVALID_OTP);

    // Back to the password-only account directly, and a reload keeps it.
    browser
        .click_testid(&format!("switch-account-{}", ada.partner_id))
        .await;
    wait_signed_in_to(&browser, &ada, ada.partner_id, "Demo Sandbox").await;
    browser.reload().await;
    wait_signed_in_to(&browser, &ada, ada.partner_id, "Demo Sandbox").await;

    // Logout on one replica ends the KS on both.
    let ks = browser
        .session_storage("kmc.ks")
        .await
        .expect("a KS while signed in");
    log_out(&browser).await;
    for _ in 0..2 {
        let refused = app.get_user(&ks).await.expect_err("an ended KS is refused");
        assert_eq!(refused.code, codes::INVALID_KS);
    }
    browser.close().await;

    let counts = app.requests_per_replica();
    assert_eq!(counts.len(), 2);
    assert!(
        counts.iter().all(|&n| n >= 10),
        "both replicas answered the app's calls: {counts:?}"
    );
}
