//! Browser tests of the enrollment page (`/actions/auth-info/:hashKey`) and its
//! enrollment view, in headless Chromium.
//!
//! The page runs inside a real router, mounted into a fresh element; the only
//! fake is the API transport, which answers with recorded Kaltura-shaped reply
//! bodies and records which actions were called. Nodes are found by
//! `data-testid` or id, never by walking the DOM.
#![cfg(target_arch = "wasm32")]

mod support;

use kmc_login::api::TransportError;
use kmc_login::config::AppConfig;
use kmc_login::totp::{self, CodeCheck};
use support::{
    FakeKaltura, Mounted, by_test_id, click, current_path, find, focused_test_id, get, mount_app,
    settle, text, type_into,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlInputElement;

wasm_bindgen_test_configure!(run_in_browser);

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const EMAIL: &str = "ada@example.com";
const HASH_KEY: &str = "Zm9vYmFyLWxpbmstdG9rZW4tZm9yLXRlc3Rz";

fn otpauth_reply() -> String {
    format!(
        "\"otpauth://totp/Kaltura:ada%40example.com?secret={SECRET}&issuer=Kaltura&algorithm=SHA1&digits=6&period=30\""
    )
}

/// A 1x1 PNG, base64, as a real Kaltura's `generateQrCode` would send bytes.
const PNG_REPLY: &str = "\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\"";

const INVALID_HASH_REPLY: &str = r#"{"code":"INVALID_HASH","message":"Invalid hash","objectType":"KalturaAPIException","args":[]}"#;

fn mount_at(path: &str, fake: &FakeKaltura) -> Mounted {
    mount_app(fake, path, AppConfig::default())
}

fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

fn key_bytes() -> Vec<u8> {
    kaltura_api::otpauth::base32_decode(SECRET).unwrap()
}

async fn enrolled_page(fake: &FakeKaltura) -> Mounted {
    let page = mount_at(&format!("/actions/auth-info/{HASH_KEY}"), fake);
    settle().await;
    click(&page, "show-qr");
    settle().await;
    page
}

#[wasm_bindgen_test]
async fn opening_the_link_calls_nothing_until_show_qr_code_is_pressed() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = mount_at(&format!("/actions/auth-info/{HASH_KEY}"), &fake);
    settle().await;
    assert!(fake.actions().is_empty(), "called {:?}", fake.actions());
    assert_eq!(
        focused_test_id(),
        "page-heading",
        "a new page starts at its heading"
    );
    assert!(find(&page, "[data-testid=\"qr-code\"]").is_none());
    assert_eq!(text(&page, "show-qr"), "Show QR code");
    click(&page, "show-qr");
    settle().await;
    assert_eq!(fake.actions(), ["user.generateQrCode"]);
}

#[wasm_bindgen_test]
async fn the_intro_links_google_authenticator_without_a_referrer() {
    let fake = FakeKaltura::answering(&[]);
    let page = mount_at(&format!("/actions/auth-info/{HASH_KEY}"), &fake);
    settle().await;
    for store in ["play.google.com", "apps.apple.com"] {
        let link = get(&page, &format!("a[href*=\"{store}\"]"));
        assert_eq!(link.get_attribute("rel").as_deref(), Some("noreferrer"));
    }
}

#[wasm_bindgen_test]
async fn the_qr_svg_renders_with_a_label_naming_the_account_and_the_key_leaves_the_address_bar() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    let svg = get(&page, "[data-testid=\"qr-code\"] svg");
    assert_eq!(svg.get_attribute("role").as_deref(), Some("img"));
    let label = svg.get_attribute("aria-label").unwrap();
    assert!(label.contains(EMAIL), "{label}");
    let width: f64 = svg.get_attribute("width").unwrap().parse().unwrap();
    assert!(width >= 200.0);
    assert!(svg.query_selector("path").unwrap().is_some());
    // The key is spent: it is no longer in the address bar.
    assert_eq!(current_path(), "/actions/auth-info");
    assert!(
        !web_sys::window()
            .unwrap()
            .location()
            .href()
            .unwrap()
            .contains(HASH_KEY)
    );
}

#[wasm_bindgen_test]
async fn cant_scan_reveals_the_grouped_key_account_and_parameters_and_the_app_link() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    let manual = get(&page, "#manual-key");
    assert!(manual.has_attribute("hidden"));
    click(&page, "cant-scan");
    settle().await;
    assert!(!get(&page, "#manual-key").has_attribute("hidden"));
    assert_eq!(
        text(&page, "secret-key"),
        "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
    );
    assert!(text(&page, "secret-account").contains(EMAIL));
    assert!(
        get(&page, "#manual-key")
            .text_content()
            .unwrap()
            .contains("time-based, 6 digits, every 30 seconds, SHA-1")
    );
    let href = by_test_id(&page, "otpauth-link")
        .get_attribute("href")
        .unwrap();
    assert!(href.starts_with("otpauth://totp/"), "{href}");
    assert!(href.contains(SECRET));
}

#[wasm_bindgen_test]
async fn the_qr_code_is_also_a_link_to_the_key_the_add_to_app_button_carries() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    let button = by_test_id(&page, "otpauth-link");
    let qr_link = by_test_id(&page, "qr-link");
    let uri = button.get_attribute("href").unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(SECRET),
        "{uri}"
    );
    assert_eq!(qr_link.get_attribute("href"), Some(uri));
    // The picture is inside the link, so a tap on it opens the app.
    assert!(find(&qr_link, "[data-testid=\"qr-code\"] svg").is_some());
    assert!(button.class_list().contains("button"));
    assert_eq!(text(&page, "otpauth-link"), "Add to authenticator app");
    // Both links go to the app without asking the server again.
    assert_eq!(fake.actions(), ["user.generateQrCode"]);
}

#[wasm_bindgen_test]
async fn copy_puts_the_key_without_spaces_on_the_clipboard_and_says_so() {
    js_sys::eval(
        "Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { \
           writeText: (t) => { window.__copied = t; return Promise.resolve(); } } });",
    )
    .unwrap();
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    click(&page, "cant-scan");
    click(&page, "copy-secret");
    settle().await;
    let copied = js_sys::eval("window.__copied").unwrap().as_string();
    assert_eq!(copied.as_deref(), Some(SECRET));
    assert!(
        text(&page, "copy-result").starts_with("Copied"),
        "{}",
        text(&page, "copy-result")
    );
}

#[wasm_bindgen_test]
async fn copy_reports_when_the_browser_refuses() {
    js_sys::eval(
        "Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { \
           writeText: (t) => Promise.reject(new Error('denied')) } });",
    )
    .unwrap();
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    click(&page, "cant-scan");
    click(&page, "copy-secret");
    settle().await;
    assert!(
        text(&page, "copy-result").contains("did not allow copying"),
        "{}",
        text(&page, "copy-result")
    );
}

#[wasm_bindgen_test]
async fn check_code_says_set_up_for_a_current_code_without_calling_the_server() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    let code = totp::code_at(&key_bytes(), now(), 30, 6);
    type_into(
        &page,
        "check-code",
        &format!("{} {}", &code[..3], &code[3..]),
    );
    click(&page, "check-code-submit");
    settle().await;
    assert_eq!(
        text(&page, "check-code-result"),
        "Your authenticator app is set up."
    );
    assert_eq!(
        fake.actions(),
        ["user.generateQrCode"],
        "the check is local"
    );
}

#[wasm_bindgen_test]
async fn check_code_explains_a_code_from_another_key() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    // A code of another key that is not, by chance, valid for this one.
    let other = (0u64..)
        .map(|i| totp::code_at(format!("other key {i}").as_bytes(), now(), 30, 6))
        .find(|code| totp::check_code(&key_bytes(), code, now(), 30, 6) == CodeCheck::WrongKey)
        .unwrap();
    type_into(&page, "check-code", &other);
    click(&page, "check-code-submit");
    settle().await;
    let result = text(&page, "check-code-result");
    assert!(result.contains("doesn't match"), "{result}");
    assert!(result.contains("clock"), "{result}");
}

#[wasm_bindgen_test]
async fn check_code_recognises_a_phone_clock_that_is_off() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    let five_minutes_behind = totp::code_at(&key_bytes(), now() - 300, 30, 6);
    type_into(&page, "check-code", &five_minutes_behind);
    click(&page, "check-code-submit");
    settle().await;
    let result = text(&page, "check-code-result");
    assert!(
        result.contains("clock is about 5 minutes behind"),
        "{result}"
    );
}

#[wasm_bindgen_test]
async fn a_png_reply_shows_the_image_and_hides_what_needs_the_secret() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(PNG_REPLY))]);
    let page = enrolled_page(&fake).await;
    let img = get(&page, "[data-testid=\"qr-code\"] img");
    assert!(
        img.get_attribute("src")
            .unwrap()
            .starts_with("data:image/png;base64,iVBORw0KGgo")
    );
    assert!(!img.get_attribute("alt").unwrap().is_empty());
    for hidden in ["cant-scan", "otpauth-link", "check-code-submit"] {
        assert!(
            find(&page, &format!("[data-testid=\"{hidden}\"]")).is_none(),
            "{hidden} should not be shown"
        );
    }
    assert!(find(&page, "#check-code").is_none());
    assert!(find(&page, "[data-testid=\"enroll-continue\"]").is_some());
}

#[wasm_bindgen_test]
async fn a_used_link_says_so_and_offers_the_reset_email() {
    let fake = FakeKaltura::answering(&[
        ("user.generateQrCode", Ok(INVALID_HASH_REPLY)),
        ("user.resetPassword", Ok("null")),
    ]);
    let page = enrolled_page(&fake).await;
    let message = text(&page, "link-invalid");
    assert!(message.contains("already been used"), "{message}");
    assert!(message.contains("password reset"), "{message}");
    assert!(find(&page, "[data-testid=\"qr-code\"]").is_none());
    type_into(&page, "reset-email", EMAIL);
    click(&page, "reset-submit");
    settle().await;
    assert_eq!(
        fake.actions(),
        ["user.generateQrCode", "user.resetPassword"]
    );
    assert!(text(&page, "reset-result").contains("link is on its way"));
}

#[wasm_bindgen_test]
async fn a_network_failure_keeps_the_link_and_lets_the_user_try_again() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Err(TransportError::Network))]);
    let page = enrolled_page(&fake).await;
    assert!(text(&page, "enroll-alert").contains("Can't reach the server"));
    assert_eq!(focused_test_id(), "enroll-alert");
    assert_eq!(current_path(), format!("/actions/auth-info/{HASH_KEY}"));
    fake.reply("user.generateQrCode", &otpauth_reply());
    click(&page, "show-qr");
    settle().await;
    assert!(find(&page, "[data-testid=\"qr-code\"] svg").is_some());
    assert_eq!(
        focused_test_id(),
        "page-heading",
        "the key's view starts at its heading"
    );
}

#[wasm_bindgen_test]
async fn continue_opens_sign_in_with_the_email_filled_and_the_code_step_open() {
    let fake = FakeKaltura::answering(&[("user.generateQrCode", Ok(&otpauth_reply()))]);
    let page = enrolled_page(&fake).await;
    click(&page, "enroll-continue");
    settle().await;
    assert_eq!(current_path(), "/login");
    let email: HtmlInputElement = get(&page, "#login-email").dyn_into().unwrap();
    assert_eq!(email.value(), EMAIL);
    let card = by_test_id(&page, "login-card");
    assert!(card.class_list().contains("expanded"));
}
