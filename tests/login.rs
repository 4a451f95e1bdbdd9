//! The sign-in card in a real browser, against recorded Kaltura replies.
#![cfg(target_arch = "wasm32")]

mod support;

use kmc_login::api::TransportError;
use kmc_login::config::AppConfig;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LOGIN: &str = "user.loginByLoginId";
const KS: &str = "\"djJ8MTAxfHRlc3Qta3M\"";

/// Mounts the sign-in route with the fake server and lets the router render.
async fn mount(fake: &FakeKaltura) -> Mounted {
    clear_storage();
    let root = mount_app(fake, "/login", AppConfig::default());
    settle().await;
    root
}

/// Fills email and password and presses "Log in".
async fn log_in(root: &web_sys::HtmlElement) {
    type_into(root, "login-email", "ada@example.com");
    type_into(root, "login-password", "correct horse battery");
    settle().await;
    click(root, "login-submit");
    settle().await;
}

#[wasm_bindgen_test]
async fn missing_otp_expands_the_card_focuses_the_code_field_and_announces_it() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"));
    let root = mount(&fake).await;
    settle().await;
    let card = by_test_id(&root, "login-card");
    assert!(!card.class_list().contains("expanded"));
    assert!(input(&root, "login-otp").disabled());

    log_in(&root).await;

    assert!(card.class_list().contains("expanded"));
    assert!(!input(&root, "login-otp").disabled());
    assert_eq!(focused_id(), "login-otp");
    assert!(text(&root, "login-status").contains("authenticator app"));
    // Email and password stay filled; the first request sent an empty otp.
    assert_eq!(input(&root, "login-email").value(), "ada@example.com");
    assert_eq!(
        input(&root, "login-password").value(),
        "correct horse battery"
    );
    assert_eq!(fake.sent(LOGIN)[0]["otp"], "");
    assert_eq!(text(&root, "login-alert"), "");
}

#[wasm_bindgen_test]
async fn a_pasted_code_with_spaces_is_normalised_and_submitted_once() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"))
        .reply(LOGIN, &error("USER_WRONG_PASSWORD", "Wrong password"));
    let root = mount(&fake).await;
    log_in(&root).await;

    type_into(&root, "login-otp", "  123 456 ");
    settle().await;
    // The field now shows the normalised digits.
    assert_eq!(input(&root, "login-otp").value(), "123456");
    settle().await;
    type_into(&root, "login-otp", "123456");
    settle().await;

    let sent = fake.sent(LOGIN);
    assert_eq!(sent.len(), 2, "one request per complete code");
    assert_eq!(sent[1]["otp"], "123456");
    assert_eq!(sent[1]["loginId"], "ada@example.com");
}

#[wasm_bindgen_test]
async fn a_dashed_code_is_submitted_by_itself_and_the_ks_goes_to_session_storage_only() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"))
        .reply(LOGIN, KS);
    let root = mount(&fake).await;
    log_in(&root).await;
    type_into(&root, "login-otp", "123-45");
    settle().await;
    assert_eq!(fake.count(LOGIN), 1, "five digits do not submit");
    type_into(&root, "login-otp", "123-456");
    settle().await;
    assert_eq!(fake.sent(LOGIN)[1]["otp"], "123456");
    assert_eq!(
        session_storage().get_item("kmc.ks").unwrap().as_deref(),
        Some("djJ8MTAxfHRlc3Qta3M")
    );
    assert_eq!(
        local_storage().length().unwrap(),
        0,
        "nothing in localStorage"
    );
    assert_eq!(current_path(), "/account");
}

#[wasm_bindgen_test]
async fn an_invalid_code_clears_the_field_focuses_the_alert_and_mentions_the_clock() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"))
        .reply(
            LOGIN,
            &error("INVALID_OTP", "OTP provided failed to validate"),
        );
    let root = mount(&fake).await;
    log_in(&root).await;
    type_into(&root, "login-otp", "000000");
    settle().await;

    assert_eq!(input(&root, "login-otp").value(), "");
    assert_eq!(focused_test_id(), "login-alert");
    let alert = text(&root, "login-alert");
    assert!(alert.contains("not accepted"), "{alert}");
    assert!(alert.contains("clock"), "{alert}");
    assert!(
        by_test_id(&root, "login-card")
            .class_list()
            .contains("expanded")
    );
}

#[wasm_bindgen_test]
async fn each_refusal_shows_its_own_message() {
    let cases = [
        (
            error("USER_WRONG_PASSWORD", "Wrong password supplied"),
            "The email or password is incorrect.",
        ),
        (
            error("LOGIN_BLOCKED", "User is blocked"),
            "temporarily locked",
        ),
        (
            error("LOGIN_RETRIES_EXCEEDED", "Too many attempts"),
            "temporarily locked",
        ),
        (
            error("DIRECT_LOGIN_BLOCKED", "Direct login is blocked"),
            "single sign-on",
        ),
        (
            error_with_args("SOMETHING_NEW", "The server's own words", r#"{"X":"1"}"#),
            "The server's own words",
        ),
    ];
    for (body, expected) in cases {
        let fake = FakeKaltura::default();
        fake.reply(LOGIN, &body);
        let root = mount(&fake).await;
        log_in(&root).await;
        let alert = text(&root, "login-alert");
        assert!(alert.contains(expected), "{body} → {alert}");
        assert_eq!(
            by_test_id(&root, "login-alert")
                .get_attribute("role")
                .as_deref(),
            Some("alert")
        );
        assert!(
            !by_test_id(&root, "login-card")
                .class_list()
                .contains("expanded")
        );
        assert!(find_test_id(&root, "retry").is_none());
    }
}

#[wasm_bindgen_test]
async fn a_network_failure_offers_a_retry_and_keeps_what_was_typed() {
    for failure in [
        Reply::Fail(TransportError::Network),
        Reply::Fail(TransportError::Timeout),
        Reply::Body("<html><body>502 Bad Gateway</body></html>".into()),
    ] {
        let fake = FakeKaltura::default();
        fake.push(LOGIN, failure)
            .reply(LOGIN, &error("MISSING_OTP", "OTP is missing"));
        let root = mount(&fake).await;
        log_in(&root).await;
        assert!(text(&root, "login-alert").starts_with("Can't reach the server"));
        assert_eq!(input(&root, "login-email").value(), "ada@example.com");
        assert_eq!(
            input(&root, "login-password").value(),
            "correct horse battery"
        );

        click(&root, "retry");
        settle().await;
        assert_eq!(fake.count(LOGIN), 2);
        assert!(
            by_test_id(&root, "login-card")
                .class_list()
                .contains("expanded")
        );
        assert!(find_test_id(&root, "retry").is_none());
    }
}

#[wasm_bindgen_test]
async fn the_button_is_disabled_and_shows_progress_while_signing_in() {
    let fake = FakeKaltura::default();
    fake.push(
        LOGIN,
        Reply::Delayed(300, error("USER_WRONG_PASSWORD", "Wrong password")),
    );
    let root = mount(&fake).await;
    log_in(&root).await;
    assert!(is_disabled(&root, "login-submit"));
    assert_eq!(text(&root, "login-submit"), "Signing in…");
    // A second press while pending sends nothing.
    click(&root, "login-submit");
    settle().await;
    assert_eq!(fake.count(LOGIN), 1);

    until(|| !is_disabled(&root, "login-submit")).await;
    assert_eq!(text(&root, "login-submit"), "Log in");
    assert_eq!(
        text(&root, "login-alert"),
        "The email or password is incorrect."
    );
}

#[wasm_bindgen_test]
async fn use_another_account_returns_to_the_first_step() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"));
    let root = mount(&fake).await;
    log_in(&root).await;
    click(&root, "use-another-account");
    settle().await;
    assert!(
        !by_test_id(&root, "login-card")
            .class_list()
            .contains("expanded")
    );
    assert!(input(&root, "login-otp").disabled());
    assert_eq!(focused_id(), "login-email");
}

#[wasm_bindgen_test]
async fn remember_my_email_keeps_only_the_email_in_local_storage() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, KS);
    let root = mount(&fake).await;
    check(&root, "remember-email");
    log_in(&root).await;
    let local = local_storage();
    assert_eq!(local.length().unwrap(), 1);
    assert_eq!(
        local.get_item("kmc.email").unwrap().as_deref(),
        Some("ada@example.com")
    );

    // The next visit starts with the email filled in and the box ticked.
    let fake = FakeKaltura::default();
    let root = mount_app(&fake, "/login", AppConfig::default());
    settle().await;
    assert_eq!(input(&root, "login-email").value(), "ada@example.com");
    assert!(input(&root, "remember-email").checked());
    assert_eq!(focused_id(), "login-password");
    clear_storage();
}

#[wasm_bindgen_test]
async fn forgot_password_is_prefilled_and_always_gives_the_same_answer() {
    let fake = FakeKaltura::default();
    fake.reply("user.resetPassword", "null")
        .push("user.resetPassword", Reply::Fail(TransportError::Network));
    let root = mount(&fake).await;
    type_into(&root, "login-email", "ada@example.com");
    settle().await;
    click(&root, "forgot-password");
    settle().await;
    assert_eq!(input(&root, "forgot-email").value(), "ada@example.com");
    click(&root, "forgot-submit");
    settle().await;
    assert_eq!(
        text(&root, "forgot-result"),
        "If an account exists for that email, a link is on its way; it works once and expires in 24 hours."
    );
    assert_eq!(
        fake.sent("user.resetPassword")[0]["email"],
        "ada@example.com"
    );

    click(&root, "forgot-submit");
    settle().await;
    assert!(text(&root, "forgot-result").starts_with("Can't reach the server"));
}

#[wasm_bindgen_test]
async fn an_expired_password_is_replaced_with_the_code_then_signs_in_again() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("PASSWORD_EXPIRED", "Password expired"))
        .reply(LOGIN, &error("MISSING_OTP", "OTP is missing"))
        .reply(
            "adminUser.updatePassword",
            &error_with_args(
                "PASSWORD_STRUCTURE_INVALID",
                "Invalid password",
                r#"{"RULES":"at least 8 characters"}"#,
            ),
        )
        .reply(
            "adminUser.updatePassword",
            &error("MISSING_OTP", "OTP is missing"),
        )
        .reply(
            "adminUser.updatePassword",
            r#"{"objectType":"KalturaAdminUser","email":"ada@example.com"}"#,
        );
    let root = mount(&fake).await;
    log_in(&root).await;
    assert_eq!(focused_id(), "expired-new-password");

    // A refused password is explained (args as an object) and emptied.
    type_into(&root, "expired-new-password", "short");
    type_into(&root, "expired-confirm-password", "short");
    settle().await;
    click(&root, "expired-submit");
    settle().await;
    assert!(text(&root, "login-alert").contains("at least 8 characters"));
    assert_eq!(input(&root, "expired-new-password").value(), "");
    assert_eq!(focused_test_id(), "login-alert");

    // The server wants the code: the step expands for it.
    type_into(&root, "expired-new-password", "a much longer passphrase");
    type_into(
        &root,
        "expired-confirm-password",
        "a much longer passphrase",
    );
    settle().await;
    click(&root, "expired-submit");
    settle().await;
    assert!(!input(&root, "expired-otp").disabled());
    assert_eq!(focused_id(), "expired-otp");

    // Typing the code submits; then the app signs in with the new password.
    type_into(&root, "expired-otp", "123 456");
    settle().await;
    let updates = fake.sent("adminUser.updatePassword");
    assert_eq!(updates.len(), 3);
    assert_eq!(updates[2]["otp"], "123456");
    assert_eq!(updates[2]["password"], "correct horse battery");
    assert_eq!(updates[2]["newPassword"], "a much longer passphrase");
    let logins = fake.sent(LOGIN);
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[1]["password"], "a much longer passphrase");
    assert!(
        by_test_id(&root, "login-card")
            .class_list()
            .contains("expanded")
    );
    assert_eq!(focused_id(), "login-otp");
}

// leptos_router, through the pages it draws.

fn history_length() -> u32 {
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .length()
        .unwrap()
}

#[wasm_bindgen_test]
async fn the_bare_root_opens_the_sign_in_card_in_place_of_its_history_entry() {
    clear_storage();
    set_path("/");
    let entries = history_length();
    let page = mount_app(&FakeKaltura::answering(&[]), "/", AppConfig::default());
    settle().await;
    assert!(find(&page, "#login-email").is_some());
    assert_eq!(current_path(), "/login");
    assert_eq!(history_length(), entries);
}

#[wasm_bindgen_test]
async fn an_unknown_path_links_to_the_sign_in_card_which_opens_in_the_app_and_back_returns() {
    clear_storage();
    let page = mount_app(
        &FakeKaltura::answering(&[]),
        "/nowhere",
        AppConfig::default(),
    );
    settle().await;
    assert!(find(&page, "#login-email").is_none());
    let link: web_sys::HtmlElement = get(&page, "a[href=\"/login\"]").unchecked_into();
    // A real link (new tab, copy) that a plain click follows without reloading the page.
    link.click();
    until(|| find(&page, "#login-email").is_some()).await;
    assert_eq!(current_path(), "/login");
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .back()
        .unwrap();
    until(|| find(&page, "#login-email").is_none()).await;
    assert_eq!(current_path(), "/nowhere");
    assert!(find(&page, "a[href=\"/login\"]").is_some());
}

#[wasm_bindgen_test]
async fn a_link_path_with_more_than_one_key_segment_is_not_a_page() {
    clear_storage();
    let fake = FakeKaltura::answering(&[]);
    let page = mount_app(&fake, "/actions/auth-info/a/b", AppConfig::default());
    settle().await;
    assert!(find(&page, "a[href=\"/login\"]").is_some());
    assert!(fake.actions().is_empty());
}

// One request per press.

/// Presses Enter twice and then clicks "Log in", all while the first request
/// is in flight, and checks that one request went out and the button said it
/// was working; then, after the reply, one more press sends one more.
#[wasm_bindgen_test]
async fn enter_enter_and_a_click_send_one_sign_in_and_a_press_after_the_reply_sends_another() {
    let fake = FakeKaltura::default();
    for _ in 0..2 {
        fake.push(
            LOGIN,
            Reply::Delayed(300, error("USER_WRONG_PASSWORD", "Wrong password")),
        );
    }
    let root = mount(&fake).await;
    type_into(&root, "login-email", "ada@example.com");
    type_into(&root, "login-password", "correct horse battery");
    settle().await;
    let button = by_test_id(&root, "login-submit");
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("false"));
    press_enter(&root, "[data-testid=\"login-form\"]");
    press_enter(&root, "[data-testid=\"login-form\"]");
    settle().await;
    click(&root, "login-submit");
    settle().await;
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("true"));
    assert_eq!(text(&root, "login-submit"), "Signing in…");

    until(|| !is_disabled(&root, "login-submit")).await;
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("false"));
    press_enter(&root, "[data-testid=\"login-form\"]");
    settle().await;
    assert_eq!(fake.count(LOGIN), 2);
}

#[wasm_bindgen_test]
async fn a_typed_code_then_enter_and_a_click_check_the_code_once() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"))
        .push(
            LOGIN,
            Reply::Delayed(300, error("INVALID_OTP", "Invalid OTP")),
        );
    let root = mount(&fake).await;
    log_in(&root).await;
    // Six digits submit by themselves; Enter and a click follow at once.
    type_into(&root, "login-otp", "123456");
    press_enter(&root, "[data-testid=\"login-form\"]");
    click(&root, "login-submit");
    settle().await;
    assert_eq!(fake.count(LOGIN), 2);
    until(|| !is_disabled(&root, "login-submit")).await;
    assert_eq!(fake.count(LOGIN), 2);
    assert_eq!(fake.sent(LOGIN)[1]["otp"], "123456");
}

#[wasm_bindgen_test]
async fn an_expired_password_change_is_sent_once_per_press() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("PASSWORD_EXPIRED", "Password expired"))
        .push(
            "adminUser.updatePassword",
            Reply::Delayed(300, error("WRONG_OLD_PASSWORD", "Wrong old password")),
        );
    let root = mount(&fake).await;
    log_in(&root).await;
    type_into(&root, "expired-new-password", "a much longer passphrase");
    type_into(
        &root,
        "expired-confirm-password",
        "a much longer passphrase",
    );
    settle().await;
    press_enter(&root, "[data-testid=\"expired-form\"]");
    press_enter(&root, "[data-testid=\"expired-form\"]");
    click(&root, "expired-submit");
    settle().await;
    assert_eq!(
        by_test_id(&root, "expired-submit")
            .get_attribute("aria-busy")
            .as_deref(),
        Some("true")
    );
    until(|| !is_disabled(&root, "expired-submit")).await;
    assert_eq!(fake.count("adminUser.updatePassword"), 1);
}

// "Lost your authenticator?"

/// Opens the code step for ada@example.com.
async fn code_step(fake: &FakeKaltura) -> Mounted {
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"));
    let root = mount(fake).await;
    log_in(&root).await;
    root
}

#[wasm_bindgen_test]
async fn lost_authenticator_shows_only_on_the_code_step_and_says_a_reset_brings_a_new_qr_code() {
    let fake = FakeKaltura::default();
    fake.reply(LOGIN, &error("MISSING_OTP", "OTP is missing"));
    let root = mount(&fake).await;
    assert!(find_test_id(&root, "lost-authenticator").is_none());
    log_in(&root).await;
    let help = text(&root, "lost-authenticator");
    assert!(help.starts_with("Lost your authenticator?"), "{help}");
    assert!(help.contains("new QR code"), "{help}");
    let link = by_test_id(&root, "lost-authenticator-link");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("/reset-password")
    );
}

#[wasm_bindgen_test]
async fn after_a_wrong_code_the_lost_authenticator_help_is_still_there() {
    let fake = FakeKaltura::default();
    let root = code_step(&fake).await;
    fake.reply(LOGIN, &error("INVALID_OTP", "Invalid OTP"));
    type_into(&root, "login-otp", "000000");
    settle().await;
    until(|| text(&root, "login-alert").contains("not accepted")).await;
    assert!(text(&root, "lost-authenticator").contains("new QR code"));
    assert!(find_test_id(&root, "lost-authenticator-link").is_some());
}

#[wasm_bindgen_test]
async fn lost_authenticator_opens_the_reset_request_with_the_email_filled_but_not_in_the_url() {
    let fake = FakeKaltura::default();
    fake.reply("user.resetPassword", "null");
    let root = code_step(&fake).await;
    let before = history_length();
    click(&root, "lost-authenticator-link");
    settle().await;
    // Through the router: a new history entry, no reload, no email in the address.
    assert_eq!(current_path(), "/reset-password");
    assert_eq!(history_length(), before + 1);
    let href = web_sys::window().unwrap().location().href().unwrap();
    assert!(
        !href.contains("ada") && !href.contains("example.com"),
        "{href}"
    );
    assert!(find_test_id(&root, "reset-request-page").is_some());
    assert!(text(&root, "reset-request-page").contains("new QR code"));
    assert_eq!(input(&root, "reset-email").value(), "ada@example.com");

    click(&root, "reset-submit");
    settle().await;
    assert_eq!(
        fake.sent("user.resetPassword")[0]["email"],
        "ada@example.com"
    );
    assert!(text(&root, "reset-result").starts_with("If an account exists"));

    // Back to sign-in through the router, with the email still filled.
    let back: web_sys::HtmlElement = get(
        &root,
        "[data-testid=\"reset-request-page\"] a[href=\"/login\"]",
    )
    .unchecked_into();
    back.click();
    settle().await;
    assert_eq!(current_path(), "/login");
    assert_eq!(input(&root, "login-email").value(), "ada@example.com");
}

// Caps Lock.

#[wasm_bindgen_test]
async fn caps_lock_is_announced_politely_beside_the_password_while_it_is_on() {
    let fake = FakeKaltura::default();
    let root = mount(&fake).await;
    let note = by_test_id(&root, "login-password-caps-lock");
    assert_eq!(note.get_attribute("aria-live").as_deref(), Some("polite"));
    assert_eq!(text(&root, "login-password-caps-lock"), "");
    key_up(&root, "login-password", true);
    settle().await;
    assert_eq!(text(&root, "login-password-caps-lock"), "Caps Lock is on.");
    key_up(&root, "login-password", false);
    settle().await;
    assert_eq!(text(&root, "login-password-caps-lock"), "");
}
