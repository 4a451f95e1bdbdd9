//! The user's steps on the sign-in card, shared by the test files so each
//! test reads as the behaviour it checks.

use std::time::{Duration, Instant};

use crate::app::{Account, TestApp};
use crate::browser::Browser;

/// Opens `/login` and waits for the sign-in card.
pub async fn open_login(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/login")).await;
    browser.wait_testid("login-card").await;
}

/// Types the email and password and presses "Log in".
pub async fn submit_credentials(browser: &Browser, email: &str, password: &str) {
    browser.fill("login-email", email).await;
    browser.fill("login-password", password).await;
    browser.click_testid("login-submit").await;
}

/// Waits until the card has expanded in place to ask for the authenticator code.
pub async fn wait_code_step(browser: &Browser) {
    browser
        .wait_until("the login card to expand for the code", || async {
            browser
                .has_class("login-card", "expanded")
                .await
                .then_some(())
        })
        .await;
    browser.wait_enabled_id("login-otp").await;
}

/// From `/login` to the code step: the account's credentials submitted, the
/// card expanded for the authenticator code.
pub async fn open_code_step(browser: &Browser, app: &TestApp, account: &Account) {
    open_login(browser, app).await;
    submit_credentials(browser, &account.email, &account.password).await;
    wait_code_step(browser).await;
}

/// Types a code into the sign-in card's authenticator field, which submits
/// by itself at six digits (see [`type_code`]).
pub async fn enter_code(browser: &Browser, code: &str) {
    type_code(browser, "login-otp", "login-submit", "login-alert", code).await;
}

/// Types a code into a code field that submits by itself at six digits. If
/// nothing at all happens within two seconds (no request in flight, no
/// message, the field not cleared, no navigation) the test presses the submit
/// button, so a missing auto-submit shows up as a warning here (and as a
/// failure in the app's own browser tests), not as a confusing timeout later.
pub async fn type_code(browser: &Browser, field: &str, submit: &str, alert: &str, code: &str) {
    let path = browser.path().await;
    browser.fill(field, code).await;
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if reacted(browser, &path, field, submit, alert).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("warning: #{field} did not submit by itself; pressing the submit button");
    browser.click_testid(submit).await;
}

async fn reacted(browser: &Browser, path: &str, field: &str, submit: &str, alert: &str) -> bool {
    if browser.path().await != path {
        return true;
    }
    if let Some(el) = browser.find_testid(alert).await
        && !el.text().await.unwrap_or_default().trim().is_empty()
    {
        return true;
    }
    if browser.value(field).await.is_empty() {
        return true;
    }
    match browser.find_testid(submit).await {
        Some(button) => !button.is_enabled().await.unwrap_or(true),
        None => true,
    }
}

/// Waits for `/account` to show this login and this account.
pub async fn wait_signed_in(browser: &Browser, account: &Account) {
    wait_signed_in_to(browser, account, account.partner_id, &account.partner_name).await;
}

/// Waits for `/account` to show this login signed into the given partner.
pub async fn wait_signed_in_to(
    browser: &Browser,
    account: &Account,
    partner_id: i64,
    partner_name: &str,
) {
    browser.wait_path("/account").await;
    browser
        .wait_text(
            "signed-in-as",
            &format!("Signed in as {} ({})", account.full_name, account.email),
        )
        .await;
    browser
        .wait_text(
            "current-account",
            &format!("{partner_name} (ID {partner_id})"),
        )
        .await;
}

/// The whole sign-in from `/login`: credentials, then a fresh code when the
/// card asks for one; ends on `/account`.
pub async fn sign_in(browser: &Browser, app: &TestApp, account: &Account) {
    open_login(browser, app).await;
    submit_credentials(browser, &account.email, &account.password).await;
    if account.authenticator.is_some() {
        wait_code_step(browser).await;
        let code = account.authenticator().fresh_code().await;
        enter_code(browser, &code).await;
    }
    wait_signed_in(browser, account).await;
}

/// Presses "Log out" and waits for `/login`.
pub async fn log_out(browser: &Browser) {
    browser.click_testid("logout").await;
    browser.wait_path("/login").await;
    browser.wait_testid("login-card").await;
}

/// Reads the QR code on the page from a screenshot, as a phone camera would:
/// first a screenshot of `[data-testid=qr-code]`, then of the whole viewport.
/// Returns the decoded text (the otpauth URI).
pub async fn scan_qr_code(browser: &Browser) -> String {
    browser.wait_testid("qr-code").await;
    browser
        .wait_until("a readable QR code in a screenshot", || async {
            let element = browser.screenshot_testid("qr-code").await;
            if let Some(text) = crate::qr::decode_png(&element) {
                return Some(text);
            }
            crate::qr::decode_png(&browser.screenshot().await)
        })
        .await
}

/// From the account page, switches into the two-factor account `partner_id` (named `name`):
/// the app asks for a new sign-in with the email kept, which the password and a fresh code
/// complete. Returns the code used, for replay checks.
pub async fn switch_into_two_factor_account(
    browser: &Browser,
    account: &Account,
    partner_id: i64,
    name: &str,
) -> String {
    browser
        .click_testid(&format!("switch-account-{partner_id}"))
        .await;
    browser.wait_testid("relogin-required").await;
    browser.click_testid("relogin").await;
    browser.wait_path("/login").await;
    browser
        .wait_until("the email to be filled in", || async {
            (browser.value("login-email").await == account.email).then_some(())
        })
        .await;
    browser.fill("login-password", &account.password).await;
    browser.click_testid("login-submit").await;
    wait_code_step(browser).await;
    let code = account.authenticator().fresh_code().await;
    enter_code(browser, &code).await;
    wait_signed_in_to(browser, account, partner_id, name).await;
    code
}
