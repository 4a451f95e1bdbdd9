//! Browser tests of the set-new-password page
//! (`/actions/restore-password/:hashKey`), in headless Chromium.
//!
//! The page runs inside a real router, mounted into a fresh element; the only
//! fake is the API transport, which answers with recorded Kaltura-shaped reply
//! bodies and records which actions were called. Nodes are found by
//! `data-testid` or id, never by walking the DOM.
#![cfg(target_arch = "wasm32")]

mod support;

use kmc_login::api::TransportError;
use kmc_login::config::AppConfig;
use support::{
    FakeKaltura, Mounted, by_test_id, click, current_path, find, focused_id, focused_test_id, get,
    mount_app, settle, text, type_into,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlInputElement;

wasm_bindgen_test_configure!(run_in_browser);

const HASH_KEY: &str = "cmVzZXQtbGluay10b2tlbi1mb3ItdGVzdHM";
const VALID: &str = r#"{"objectType":"KalturaAuthentication"}"#;
/// This project's server also names the login the link belongs to.
const VALID_WITH_EMAIL: &str =
    r#"{"objectType":"KalturaAuthentication","email":"ada@example.com"}"#;
const QR_REPLY: &str = r#"{"objectType":"KalturaAuthentication","qrCode":"otpauth://totp/Kaltura:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Kaltura&algorithm=SHA1&digits=6&period=30"}"#;
const INVALID_HASH_REPLY: &str = r#"{"code":"INVALID_HASH","message":"Invalid hash","objectType":"KalturaAPIException","args":[]}"#;

fn refusal(code: &str, args: &str) -> String {
    format!(
        r#"{{"code":"{code}","message":"refused","objectType":"KalturaAPIException","args":{args}}}"#
    )
}

fn mount_at(path: &str, fake: &FakeKaltura) -> Mounted {
    mount_app(fake, path, AppConfig::default())
}

fn input_value(page: &Mounted, selector: &str) -> String {
    get(page, selector)
        .dyn_into::<HtmlInputElement>()
        .unwrap()
        .value()
}

fn rule(page: &Mounted, test_id: &str) -> String {
    by_test_id(page, test_id)
        .get_attribute("data-met")
        .unwrap_or_default()
}

async fn open_page(fake: &FakeKaltura) -> Mounted {
    let page = mount_at(&format!("/actions/restore-password/{HASH_KEY}"), fake);
    settle().await;
    page
}

async fn choose(page: &Mounted, password: &str, confirm: &str) {
    type_into(page, "new-password", password);
    type_into(page, "confirm-password", confirm);
    settle().await;
}

#[wasm_bindgen_test]
async fn opening_the_link_only_validates_it() {
    let fake = FakeKaltura::answering(&[("user.validateHashKey", Ok(VALID))]);
    let page = open_page(&fake).await;
    assert_eq!(fake.actions(), ["user.validateHashKey"]);
    for id in ["#new-password", "#confirm-password"] {
        assert_eq!(
            get(&page, id).get_attribute("autocomplete").as_deref(),
            Some("new-password")
        );
    }
    assert!(find(&page, "[data-testid=\"password-rules\"]").is_some());
    assert_eq!(
        focused_id(),
        "new-password",
        "a new page starts at its first field"
    );
}

#[wasm_bindgen_test]
async fn an_invalid_link_says_so_and_offers_a_new_one() {
    let fake = FakeKaltura::answering(&[
        ("user.validateHashKey", Ok(INVALID_HASH_REPLY)),
        ("user.resetPassword", Ok("null")),
    ]);
    let page = open_page(&fake).await;
    assert!(text(&page, "link-invalid").contains("This link is invalid or has expired"));
    assert!(find(&page, "#new-password").is_none());
    type_into(&page, "reset-email", "ada@example.com");
    click(&page, "reset-submit");
    settle().await;
    assert_eq!(
        fake.actions(),
        ["user.validateHashKey", "user.resetPassword"]
    );
    assert!(text(&page, "reset-result").contains("link is on its way"));
}

#[wasm_bindgen_test]
async fn the_rules_are_checked_as_the_user_types() {
    let fake = FakeKaltura::answering(&[("user.validateHashKey", Ok(VALID))]);
    let page = open_page(&fake).await;
    assert_eq!(rule(&page, "rule-length"), "false");
    assert_eq!(rule(&page, "rule-match"), "false");
    choose(&page, "short", "").await;
    assert_eq!(rule(&page, "rule-length"), "false");
    choose(&page, "long enough phrase", "long enough").await;
    assert_eq!(rule(&page, "rule-length"), "true");
    assert_eq!(rule(&page, "rule-match"), "false");
    choose(&page, "long enough phrase", "long enough phrase").await;
    assert_eq!(rule(&page, "rule-match"), "true");
    // Kaltura does not name the login: the server checks that rule.
    assert_eq!(rule(&page, "rule-not-email"), "unknown");
}

#[wasm_bindgen_test]
async fn when_the_link_names_the_email_the_not_your_email_rule_is_checked_as_you_type() {
    let fake = FakeKaltura::answering(&[("user.validateHashKey", Ok(VALID_WITH_EMAIL))]);
    let page = open_page(&fake).await;
    choose(&page, "ADA@example.com", "").await;
    assert_eq!(rule(&page, "rule-not-email"), "false");
    choose(&page, "a fine passphrase", "").await;
    assert_eq!(rule(&page, "rule-not-email"), "true");
}

#[wasm_bindgen_test]
async fn a_password_breaking_the_rules_is_not_sent() {
    let fake = FakeKaltura::answering(&[("user.validateHashKey", Ok(VALID))]);
    let page = open_page(&fake).await;
    choose(&page, "short", "short").await;
    click(&page, "set-password-submit");
    settle().await;
    assert_eq!(fake.actions(), ["user.validateHashKey"]);
    assert!(text(&page, "set-password-alert").contains("rules"));
    assert_eq!(focused_test_id(), "set-password-alert");
    assert_eq!(
        input_value(&page, "#new-password"),
        "short",
        "nothing typed is lost"
    );
}

async fn refused_with(reply: &str) -> (Mounted, FakeKaltura) {
    let fake = FakeKaltura::answering(&[
        ("user.validateHashKey", Ok(VALID)),
        ("user.setInitialPassword", Ok(reply)),
    ]);
    let page = open_page(&fake).await;
    choose(&page, "password123", "password123").await;
    click(&page, "set-password-submit");
    settle().await;
    (page, fake)
}

#[wasm_bindgen_test]
async fn a_structure_refusal_shows_the_servers_rules_next_to_the_field_and_clears_it() {
    let reply = refusal(
        "PASSWORD_STRUCTURE_INVALID",
        r#"{"RULES":"at least 10 characters and one digit"}"#,
    );
    let (page, fake) = refused_with(&reply).await;
    assert_eq!(
        fake.actions(),
        ["user.validateHashKey", "user.setInitialPassword"]
    );
    let error = text(&page, "password-error");
    assert!(
        error.contains("at least 10 characters and one digit"),
        "{error}"
    );
    assert_eq!(input_value(&page, "#new-password"), "");
    assert_eq!(input_value(&page, "#confirm-password"), "");
    assert_eq!(focused_test_id(), "password-error");
}

#[wasm_bindgen_test]
async fn a_common_password_refusal_is_explained() {
    let (page, _) = refused_with(&refusal("COMMON_PASSWORD", "[]")).await;
    assert!(text(&page, "password-error").contains("too common"));
    assert_eq!(input_value(&page, "#new-password"), "");
}

#[wasm_bindgen_test]
async fn a_reused_password_refusal_is_explained() {
    let (page, _) = refused_with(&refusal("PASSWORD_ALREADY_USED", "[]")).await;
    assert!(text(&page, "password-error").contains("used this password"));
    assert_eq!(input_value(&page, "#confirm-password"), "");
}

#[wasm_bindgen_test]
async fn a_network_failure_keeps_the_typed_passwords() {
    // A timeout is different: the server may have set the password (see
    // tests/kaltura.rs), so only a request that failed outright is retried.
    let fake = FakeKaltura::answering(&[
        ("user.validateHashKey", Ok(VALID)),
        ("user.setInitialPassword", Err(TransportError::Network)),
    ]);
    let page = open_page(&fake).await;
    choose(&page, "a fine passphrase", "a fine passphrase").await;
    click(&page, "set-password-submit");
    settle().await;
    assert!(text(&page, "set-password-alert").contains("Can't reach the server"));
    assert_eq!(focused_test_id(), "set-password-alert");
    assert_eq!(input_value(&page, "#new-password"), "a fine passphrase");
    assert_eq!(text(&page, "password-error"), "");
}

#[wasm_bindgen_test]
async fn without_a_qr_code_the_password_is_set_and_sign_in_follows_with_the_email_filled_in() {
    let fake = FakeKaltura::answering(&[
        ("user.validateHashKey", Ok(VALID_WITH_EMAIL)),
        ("user.setInitialPassword", Ok(VALID_WITH_EMAIL)),
    ]);
    let page = open_page(&fake).await;
    choose(&page, "a fine passphrase", "a fine passphrase").await;
    click(&page, "set-password-submit");
    settle().await;
    assert!(text(&page, "password-set").contains("Your password is set"));
    assert_eq!(
        current_path(),
        "/actions/restore-password",
        "the key left the address bar"
    );
    click(&page, "password-set-continue");
    settle().await;
    assert_eq!(current_path(), "/login");
    assert_eq!(input_value(&page, "#login-email"), "ada@example.com");
}

#[wasm_bindgen_test]
async fn with_a_qr_code_the_new_key_is_shown_with_a_warning_about_the_old_entry() {
    let fake = FakeKaltura::answering(&[
        ("user.validateHashKey", Ok(VALID)),
        ("user.setInitialPassword", Ok(QR_REPLY)),
    ]);
    let page = open_page(&fake).await;
    choose(&page, "a fine passphrase", "a fine passphrase").await;
    click(&page, "set-password-submit");
    settle().await;
    let svg = get(&page, "[data-testid=\"qr-code\"] svg");
    assert!(
        svg.get_attribute("aria-label")
            .unwrap()
            .contains("ada@example.com")
    );
    assert!(text(&page, "old-authenticator-warning").contains("no longer works"));
    assert!(find(&page, "[data-testid=\"otpauth-link\"]").is_some());
    assert_eq!(current_path(), "/actions/restore-password");
    click(&page, "enroll-continue");
    settle().await;
    assert_eq!(current_path(), "/login");
    let email: HtmlInputElement = get(&page, "#login-email").dyn_into().unwrap();
    assert_eq!(email.value(), "ada@example.com");
    assert!(
        by_test_id(&page, "login-card")
            .class_list()
            .contains("expanded")
    );
}

#[wasm_bindgen_test]
async fn a_new_password_is_sent_once_per_press() {
    let fake = FakeKaltura::default();
    fake.reply("user.validateHashKey", VALID_WITH_EMAIL).push(
        "user.setInitialPassword",
        support::Reply::Delayed(300, VALID_WITH_EMAIL.to_owned()),
    );
    let page = open_page(&fake).await;
    choose(&page, "correct horse battery", "correct horse battery").await;
    support::press_enter(&page, "form.set-password");
    support::press_enter(&page, "form.set-password");
    click(&page, "set-password-submit");
    settle().await;
    assert_eq!(
        by_test_id(&page, "set-password-submit")
            .get_attribute("aria-busy")
            .as_deref(),
        Some("true")
    );
    support::until(|| find(&page, "[data-testid=\"password-set\"]").is_some()).await;
    assert_eq!(fake.count("user.setInitialPassword"), 1);
}
