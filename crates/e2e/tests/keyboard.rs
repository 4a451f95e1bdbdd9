//! The app with a keyboard alone, against the real server: signing in
//! through the code step, switching accounts, enrolling from the emailed
//! link, and resetting a password, with only Tab, Shift+Tab, typing, Space
//! and Enter. Each step checks where the focus landed: the code field when
//! the card expands, the first field (or the heading) of each new page, and
//! the alert after an error.

use e2e::app::new_password;
use e2e::flows::{scan_qr_code, wait_signed_in, wait_signed_in_to};
use e2e::keyboard::Keyboard;
use e2e::{Account, Authenticator, Browser, LinkKind, spawn_app};
use fantoccini::key::Key;

#[tokio::test]
async fn keyboard_alone_signs_in_through_the_code_step_and_switches_accounts() {
    let app = spawn_app();
    // Grace's first account asks for the code; her second is password-only.
    let grace = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let sandbox = app.add_partner("Demo Sandbox", false);
    app.add_user(
        sandbox,
        &grace.email,
        "Grace",
        "Hopper",
        Some(&grace.password),
    );
    let browser = Browser::start().await;
    let keys = Keyboard::of(&browser);

    browser.goto(&app.url("/login")).await;
    keys.wait_focus("login-email").await;
    keys.type_text(&grace.email).await;
    keys.press(Key::Tab).await;
    keys.wait_focus("login-password").await;
    keys.type_text(&grace.password).await;
    keys.press(Key::Enter).await;
    keys.wait_focus("login-otp").await;
    assert!(browser.has_class("login-card", "expanded").await);

    // A wrong code: the alert takes the focus, and Tab leads back to the code.
    keys.type_text(&grace.authenticator().wrong_code()).await;
    browser.wait_any_text("login-alert").await;
    keys.wait_focus("login-alert").await;
    keys.tab_to("login-otp", false).await;
    keys.type_text(&grace.authenticator().fresh_code().await)
        .await;
    wait_signed_in(&browser, &grace).await;
    keys.wait_focus("page-heading").await;

    // Switching: Tab to the other account's button, Space presses it, and the
    // focus goes to the news (the pressed button is gone).
    keys.tab_to(&format!("switch-account-{sandbox}"), false)
        .await;
    keys.press(' ').await;
    wait_signed_in_to(&browser, &grace, sandbox, "Demo Sandbox").await;
    keys.wait_focus("account-status").await;
    browser.close().await;
}

#[tokio::test]
async fn keyboard_alone_enrolls_from_the_emailed_link_through_the_qr_page_to_continue() {
    let app = spawn_app();
    let partner_id = app.add_partner("Media Works", true);
    let email = "grace@example.com";
    let password = new_password();
    app.add_user(partner_id, email, "Grace", "Hopper", Some(&password));
    let link = app.wait_for_link(email, LinkKind::AuthInfo, 0).await;
    let browser = Browser::start().await;
    let keys = Keyboard::of(&browser);

    browser.goto(&link.url).await;
    keys.wait_focus("page-heading").await;
    keys.tab_to("show-qr", false).await;
    keys.press(Key::Enter).await;
    let authenticator = Authenticator::from_uri(&scan_qr_code(&browser).await);
    keys.wait_focus("page-heading").await;

    // "Check your code", then Continue.
    keys.tab_to("check-code", false).await;
    keys.type_text(&authenticator.current_code()).await;
    keys.press(Key::Enter).await;
    browser.wait_text("check-code-result", "set up").await;
    keys.tab_to("enroll-continue", false).await;
    keys.press(Key::Enter).await;

    // The sign-in card, email filled and the code step open: the password first.
    browser.wait_path("/login").await;
    keys.wait_focus("login-password").await;
    assert_eq!(browser.value("login-email").await, email);
    keys.type_text(&password).await;
    keys.tab_to("login-otp", false).await;
    keys.type_text(&authenticator.fresh_code().await).await;
    let grace = Account {
        partner_id,
        partner_name: "Media Works".into(),
        email: email.into(),
        password,
        full_name: "Grace Hopper".into(),
        authenticator: Some(authenticator),
    };
    wait_signed_in(&browser, &grace).await;
    browser.close().await;
}

#[tokio::test]
async fn keyboard_alone_resets_a_password_and_signs_in_with_it() {
    let app = spawn_app();
    let mut ada = app.password_only_account("Demo Sandbox", "ada@example.com");
    let browser = Browser::start().await;
    let keys = Keyboard::of(&browser);

    // "Forgot password?" on the card, started with the email typed there.
    browser.goto(&app.url("/login")).await;
    keys.wait_focus("login-email").await;
    keys.type_text(&ada.email).await;
    keys.tab_to("forgot-password", false).await;
    keys.press(Key::Enter).await;
    keys.tab_to("forgot-email", false).await;
    assert_eq!(browser.value("forgot-email").await, ada.email);
    keys.press(Key::Enter).await;
    browser.wait_any_text("forgot-result").await;
    let link = app
        .wait_for_link(&ada.email, LinkKind::RestorePassword, 0)
        .await;

    // The set-password page starts at its first field.
    browser.goto(&link.url).await;
    keys.wait_focus("new-password").await;
    let password = new_password();
    keys.type_text(&password).await;
    keys.tab_to("confirm-password", false).await;
    // A slip: the confirmation does not match, and the alert says so.
    keys.type_text(&format!("{password}x")).await;
    keys.press(Key::Enter).await;
    keys.wait_focus("set-password-alert").await;
    // Shift+Tab back: Tab into a field selects what it holds, so typing
    // replaces the slip.
    keys.tab_to("confirm-password", true).await;
    keys.type_text(&password).await;
    keys.press(Key::Enter).await;

    // Set: the result's heading, then Continue to the card, email filled.
    browser.wait_testid("password-set").await;
    keys.wait_focus("page-heading").await;
    keys.tab_to("password-set-continue", false).await;
    keys.press(Key::Enter).await;
    browser.wait_path("/login").await;
    keys.wait_focus("login-password").await;
    keys.type_text(&password).await;
    keys.press(Key::Enter).await;
    ada.password = password;
    wait_signed_in(&browser, &ada).await;
    browser.close().await;
}
