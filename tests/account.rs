//! The account page in a real browser, against recorded Kaltura replies:
//! who is signed in, switching accounts (including NEW_LOGIN_REQUIRED),
//! logout, an ended session, and the round trip through sign-in.
#![cfg(target_arch = "wasm32")]

mod support;

use kmc_login::api::TransportError;
use kmc_login::config::AppConfig;
use leptos::prelude::GetUntracked;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const USER: &str = r#"{"objectType":"KalturaUser","id":"ada@example.com","partnerId":100,"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","fullName":"Ada Lovelace","isAdmin":true}"#;
const SANDBOX: &str =
    r#"{"objectType":"KalturaPartner","id":100,"name":"Demo Sandbox","status":1}"#;
const MEDIA: &str = r#"{"objectType":"KalturaPartner","id":101,"name":"Demo Media"}"#;
const LIST: &str = r#"{"objectType":"KalturaPartnerListResponse","objects":[{"objectType":"KalturaPartner","id":100,"name":"Demo Sandbox"},{"objectType":"KalturaPartner","id":101,"name":"Demo Media"}],"totalCount":2}"#;

/// Queues the three replies of one account-page load.
fn account_load(fake: &FakeKaltura, partner: &str) {
    fake.reply("user.get", USER)
        .reply("partner.getInfo", partner)
        .reply("partner.listPartnersForUser", LIST);
}

fn signed_in(ks: &str) {
    clear_storage();
    session_storage().set_item("kmc.ks", ks).unwrap();
}

#[wasm_bindgen_test]
async fn the_page_shows_the_user_the_current_account_and_the_others() {
    let fake = FakeKaltura::default();
    account_load(&fake, SANDBOX);
    signed_in("ks-sandbox");
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "signed-in-as").is_some()).await;

    assert_eq!(
        text(&root, "signed-in-as"),
        "Signed in as Ada Lovelace (ada@example.com)"
    );
    assert_eq!(text(&root, "current-account"), "Demo Sandbox (ID 100)");
    assert!(find_test_id(&root, "switch-account-101").is_some());
    assert!(find_test_id(&root, "switch-account-100").is_none());
    assert!(
        find_test_id(&root, "open-kmc").is_none(),
        "no kmcUrl configured"
    );
    assert_eq!(fake.sent("user.get")[0]["ks"], "ks-sandbox");
}

#[wasm_bindgen_test]
async fn switching_replaces_the_ks_and_ends_the_old_session() {
    let fake = FakeKaltura::default();
    account_load(&fake, SANDBOX);
    fake.reply(
        "user.loginByKs",
        r#"{"objectType":"KalturaSessionResponse","ks":"ks-media","userId":"ada@example.com","partnerId":101}"#,
    )
    .reply("session.end", "null");
    account_load(&fake, MEDIA);
    signed_in("ks-sandbox");
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "switch-account-101").is_some()).await;

    click(&root, "switch-account-101");
    until(|| text(&root, "current-account").starts_with("Demo Media")).await;

    assert_eq!(fake.sent("user.loginByKs")[0]["requestedPartnerId"], 101);
    assert_eq!(fake.sent("user.loginByKs")[0]["ks"], "ks-sandbox");
    assert_eq!(fake.sent("session.end")[0]["ks"], "ks-sandbox");
    assert_eq!(
        session_storage().get_item("kmc.ks").unwrap().as_deref(),
        Some("ks-media")
    );
    assert_eq!(fake.sent("user.get")[1]["ks"], "ks-media");
    assert!(find_test_id(&root, "switch-account-100").is_some());
    // The pressed button is gone: the focus is on what happened.
    assert_eq!(focused_test_id(), "account-status");
}

#[wasm_bindgen_test]
async fn a_switch_that_needs_the_code_offers_to_sign_in_again_into_that_account() {
    let fake = FakeKaltura::default();
    account_load(&fake, SANDBOX);
    fake.reply(
        "user.loginByKs",
        &error("NEW_LOGIN_REQUIRED", "New login is required"),
    )
    .reply("session.end", "null")
    .reply(
        "user.loginByLoginId",
        &error("MISSING_OTP", "OTP is missing"),
    );
    signed_in("ks-sandbox");
    let root = mount_app(&fake, "/account", AppConfig::default());
    let prefill = root.prefill;
    until(|| find_test_id(&root, "switch-account-101").is_some()).await;

    click(&root, "switch-account-101");
    until(|| find_test_id(&root, "relogin-required").is_some()).await;
    assert!(
        text(&root, "relogin-required")
            .contains("Demo Media (ID 101) needs you to sign in with your authenticator code")
    );

    click(&root, "relogin");
    until(|| current_path() == "/login").await;
    settle().await;
    assert_eq!(fake.sent("session.end")[0]["ks"], "ks-sandbox");
    assert_eq!(session_storage().get_item("kmc.ks").unwrap(), None);
    // The sign-in card took the prefill: the email is filled in…
    assert_eq!(input(&root, "login-email").value(), "ada@example.com");
    assert_eq!(prefill.get_untracked(), Default::default());
    // …and the next login targets the 2FA account.
    type_into(&root, "login-password", "correct horse battery");
    settle().await;
    click(&root, "login-submit");
    settle().await;
    assert_eq!(fake.sent("user.loginByLoginId")[0]["partnerId"], 101);
    assert!(
        by_test_id(&root, "login-card")
            .class_list()
            .contains("expanded")
    );
}

#[wasm_bindgen_test]
async fn an_ended_session_sends_the_user_to_sign_in_with_the_message() {
    let fake = FakeKaltura::default();
    let invalid = error_with_args("INVALID_KS", "Invalid KS", r#"{"KSID":"EXPIRED"}"#);
    fake.reply("user.get", &invalid)
        .reply("partner.getInfo", &invalid)
        .reply("partner.listPartnersForUser", &invalid);
    signed_in("ks-expired");
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| current_path() == "/login").await;
    settle().await;

    assert_eq!(
        text(&root, "login-alert"),
        "Your session has ended, please sign in again"
    );
    assert_eq!(session_storage().get_item("kmc.ks").unwrap(), None);
}

#[wasm_bindgen_test]
async fn an_ended_session_during_a_switch_also_goes_to_sign_in() {
    let fake = FakeKaltura::default();
    account_load(&fake, SANDBOX);
    fake.reply(
        "user.loginByKs",
        &error_with_args("INVALID_KS", "Invalid KS", r#"{"KSID":"LOGOUT"}"#),
    );
    signed_in("ks-sandbox");
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "switch-account-101").is_some()).await;
    click(&root, "switch-account-101");
    until(|| current_path() == "/login").await;
    settle().await;
    assert_eq!(
        text(&root, "login-alert"),
        "Your session has ended, please sign in again"
    );
}

#[wasm_bindgen_test]
async fn signed_out_visitors_sign_in_first_and_come_back() {
    let fake = FakeKaltura::default();
    fake.reply("user.loginByLoginId", "\"ks-new\"");
    account_load(&fake, SANDBOX);
    clear_storage();
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| current_path() == "/login").await;
    settle().await;
    assert_eq!(fake.count("user.get"), 0);

    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "correct horse battery");
    settle().await;
    click(&root, "login-submit");
    until(|| current_path() == "/account").await;
    until(|| find_test_id(&root, "signed-in-as").is_some()).await;
    assert_eq!(fake.sent("user.get")[0]["ks"], "ks-new");
}

#[wasm_bindgen_test]
async fn logout_clears_the_session_even_when_the_server_is_unreachable() {
    let fake = FakeKaltura::default();
    account_load(&fake, SANDBOX);
    fake.push("session.end", Reply::Fail(TransportError::Network));
    signed_in("ks-sandbox");
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "logout").is_some()).await;
    click(&root, "logout");
    until(|| current_path() == "/login").await;
    assert_eq!(fake.sent("session.end")[0]["ks"], "ks-sandbox");
    assert_eq!(session_storage().get_item("kmc.ks").unwrap(), None);
}

#[wasm_bindgen_test]
async fn changing_the_password_asks_for_the_code_when_needed_and_keeps_the_session() {
    let fake = FakeKaltura::default();
    account_load(&fake, MEDIA);
    fake.reply(
        "adminUser.updatePassword",
        &error("MISSING_OTP", "OTP is missing"),
    )
    .reply(
        "adminUser.updatePassword",
        r#"{"objectType":"KalturaAdminUser","email":"ada@example.com"}"#,
    );
    signed_in("ks-media");
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "signed-in-as").is_some()).await;

    type_into(&root, "change-current-password", "correct horse battery");
    type_into(&root, "change-new-password", "a much longer passphrase");
    type_into(&root, "change-confirm-password", "a much longer passphrase");
    settle().await;
    click(&root, "change-password-submit");
    settle().await;
    assert!(!input(&root, "change-otp").disabled());
    assert_eq!(focused_id(), "change-otp");

    type_into(&root, "change-otp", "654 321");
    settle().await;
    let sent = fake.sent("adminUser.updatePassword");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["otp"], "654321");
    assert_eq!(sent[1]["email"], "ada@example.com");
    // The page's own session travels with the change, so the server keeps
    // it signed in while it ends every other session of the login.
    assert_eq!(sent[1]["ks"], "ks-media");
    assert!(text(&root, "change-password-result").contains("Your password is changed"));
    assert_eq!(input(&root, "change-new-password").value(), "");
    assert_eq!(
        session_storage().get_item("kmc.ks").unwrap().as_deref(),
        Some("ks-media")
    );
}

#[wasm_bindgen_test]
async fn open_kmc_appears_only_with_a_kmc_url() {
    let fake = FakeKaltura::default();
    account_load(&fake, SANDBOX);
    signed_in("ks-sandbox");
    let config = AppConfig {
        service_url: "http://kaltura.test".into(),
        kmc_url: Some("http://kmc.test/index.php".into()),
        ..AppConfig::default()
    };
    let root = mount_app(&fake, "/account", config);
    until(|| find_test_id(&root, "signed-in-as").is_some()).await;
    assert_eq!(text(&root, "open-kmc"), "Open KMC");
}

#[wasm_bindgen_test]
async fn a_password_change_is_sent_once_per_press_and_again_after_the_reply() {
    let fake = FakeKaltura::default();
    account_load(&fake, MEDIA);
    for _ in 0..2 {
        fake.push(
            "adminUser.updatePassword",
            Reply::Delayed(300, error("WRONG_OLD_PASSWORD", "Wrong old password")),
        );
    }
    signed_in("ks-media");
    let root = mount_app(&fake, "/account", AppConfig::default());
    until(|| find_test_id(&root, "signed-in-as").is_some()).await;
    type_into(&root, "change-current-password", "correct horse battery");
    type_into(&root, "change-new-password", "a much longer passphrase");
    type_into(&root, "change-confirm-password", "a much longer passphrase");
    settle().await;
    let form = "[data-testid=\"change-password-form\"]";
    press_enter(&root, form);
    press_enter(&root, form);
    click(&root, "change-password-submit");
    settle().await;
    assert_eq!(fake.count("adminUser.updatePassword"), 1);
    let button = by_test_id(&root, "change-password-submit");
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("true"));
    until(|| !is_disabled(&root, "change-password-submit")).await;
    assert_eq!(fake.count("adminUser.updatePassword"), 1);
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("false"));
    // The refusal emptied the current password; type it again and press once more.
    type_into(&root, "change-current-password", "correct horse battery");
    settle().await;
    press_enter(&root, form);
    settle().await;
    assert_eq!(fake.count("adminUser.updatePassword"), 2);
    clear_storage();
}
