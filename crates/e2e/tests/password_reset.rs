//! Forgotten and expired passwords, against the real server and its
//! outbox: a reset on a 2FA login re-enrolls the authenticator, links are
//! single-use and expire, the reset request never reveals whether an email
//! exists, and an expired password is replaced inside the sign-in card.

use std::time::{Duration, Instant};

use e2e::app::new_password;
use e2e::flows::{
    enter_code, open_code_step, open_login, scan_qr_code, type_code, wait_code_step, wait_signed_in,
};
use e2e::{Authenticator, Browser, LinkKind, TestApp, spawn_app};

/// "Forgot password?" on the login card for `email`; returns the answer shown.
async fn request_reset_on_login_card(app: &TestApp, browser: &Browser, email: &str) -> String {
    open_login(browser, app).await;
    browser.fill("login-email", email).await;
    browser.click_testid("forgot-password").await;
    browser.wait_id("forgot-email").await;
    browser.fill("forgot-email", email).await;
    browser.click_testid("forgot-submit").await;
    browser.wait_any_text("forgot-result").await
}

/// Chooses a new password on an open set-password page.
async fn choose_password(browser: &Browser, password: &str) {
    browser.fill("new-password", password).await;
    browser.fill("confirm-password", password).await;
    browser.click_testid("set-password-submit").await;
}

#[tokio::test]
async fn reset_on_a_two_factor_login_shows_a_new_qr_and_only_the_new_secret_signs_in() {
    let app = spawn_app();
    let mut account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let browser = Browser::start().await;

    let seen = app.emails_to(&account.email).len();
    request_reset_on_login_card(&app, &browser, &account.email).await;
    let link = app
        .wait_for_link(&account.email, LinkKind::RestorePassword, seen)
        .await;

    browser.goto(&link.url).await;
    browser.wait_testid("password-rules").await;
    let password = new_password();
    choose_password(&browser, &password).await;

    let uri = scan_qr_code(&browser).await;
    browser.wait_testid("old-authenticator-warning").await;
    browser
        .wait_until("the hash key to leave the address bar", || async {
            (!browser.url().await.contains(&link.hash_key)).then_some(())
        })
        .await;
    let new_authenticator = Authenticator::from_uri(&uri);
    let old_authenticator = account
        .authenticator
        .take()
        .expect("prepared with an authenticator");
    assert!(
        !new_authenticator.same_key_as(&old_authenticator),
        "a reset on a 2FA login hands out a new secret"
    );
    account.password = password;
    account.authenticator = Some(new_authenticator);

    browser.click_testid("enroll-continue").await;
    browser.wait_path("/login").await;
    wait_code_step(&browser).await;
    assert_eq!(browser.value("login-email").await, account.email);
    if browser.value("login-password").await.is_empty() {
        browser.fill("login-password", &account.password).await;
    }

    // The old authenticator entry no longer works...
    enter_code(&browser, &old_authenticator.current_code()).await;
    browser.wait_any_text("login-alert").await;
    assert_eq!(browser.path().await, "/login");
    browser
        .wait_until("the code field to be cleared", || async {
            browser.value("login-otp").await.is_empty().then_some(())
        })
        .await;

    // ...the new one does.
    let code = account.authenticator().fresh_code().await;
    enter_code(&browser, &code).await;
    wait_signed_in(&browser, &account).await;
    browser.close().await;
}

/// Waits for the invalid-link page with its reset form.
async fn expect_link_invalid(browser: &Browser) {
    browser.wait_testid("link-invalid").await;
    browser.wait_id("reset-email").await;
    browser.wait_testid("reset-submit").await;
    assert!(
        !browser.shows_testid("set-password-submit").await,
        "a dead link offers no password form"
    );
}

#[tokio::test]
async fn a_reset_link_leads_to_sign_in_with_the_email_filled_and_used_or_expired_links_offer_a_new_one()
 {
    let app = spawn_app();
    let mut account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;

    let seen = app.emails_to(&account.email).len();
    app.api(
        "user",
        "resetPassword",
        serde_json::json!({ "email": account.email }),
    )
    .await
    .expect("resetPassword answers null");
    let first = app
        .wait_for_link(&account.email, LinkKind::RestorePassword, seen)
        .await;

    // Use it: a password-only login gets "Your password is set", then signs in.
    browser.goto(&first.url).await;
    account.password = new_password();
    choose_password(&browser, &account.password).await;
    browser.wait_testid("password-set").await;
    browser.click_testid("password-set-continue").await;
    browser.wait_path("/login").await;
    browser.wait_testid("login-card").await;
    // This browser never saw the sign-in card: the email comes from the link.
    assert_eq!(browser.value("login-email").await, account.email);
    browser.fill("login-password", &account.password).await;
    browser.click_testid("login-submit").await;
    wait_signed_in(&browser, &account).await;

    // Used link → invalid page, whose form sends a fresh link.
    browser.goto(&first.url).await;
    expect_link_invalid(&browser).await;
    let seen = app.emails_to(&account.email).len();
    browser.fill("reset-email", &account.email).await;
    browser.click_testid("reset-submit").await;
    browser.wait_any_text("reset-result").await;
    let second = app
        .wait_for_link(&account.email, LinkKind::RestorePassword, seen)
        .await;
    assert_ne!(second.hash_key, first.hash_key);

    // Expired link → the same invalid page.
    assert!(app.expire_link_tokens().await >= 1);
    browser.goto(&second.url).await;
    expect_link_invalid(&browser).await;
    browser.close().await;
}

#[tokio::test]
async fn forgot_password_answers_an_unknown_email_like_a_known_one_and_sends_nothing() {
    let app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;

    let known_answer = request_reset_on_login_card(&app, &browser, &account.email).await;
    app.wait_for_link(&account.email, LinkKind::RestorePassword, 0)
        .await;
    let emails_before = app.all_emails().len();

    let stranger = "nobody@example.com";
    let unknown_answer = request_reset_on_login_card(&app, &browser, stranger).await;
    assert_eq!(
        unknown_answer, known_answer,
        "the answer must not reveal whether an account exists"
    );

    // The server logs the end of the work that follows a reset request for
    // an unknown email; once it has, nothing more can come of that request.
    const DONE: &str = "password reset asked for an email no login has: nothing sent";
    let deadline = Instant::now() + Duration::from_secs(30);
    while !app.server_log().contains(DONE) {
        assert!(
            Instant::now() < deadline,
            "the reset request never finished; server log:\n{}",
            app.server_log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.all_emails().len(), emails_before, "no email is written");
    assert!(app.emails_to(stranger).is_empty());
    browser.close().await;
}

#[tokio::test]
async fn expired_password_is_replaced_in_the_sign_in_card_with_the_authenticator_code() {
    let app = spawn_app();
    let mut account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    app.expire_password(&account.email);
    let browser = Browser::start().await;

    open_code_step(&browser, &app, &account).await;
    let code = account.authenticator().fresh_code().await;
    enter_code(&browser, &code).await;

    // "Your password has expired": new password, and the code when asked.
    browser.wait_id("expired-new-password").await;
    let new = new_password();
    browser.fill("expired-new-password", &new).await;
    browser.fill("expired-confirm-password", &new).await;
    // The step asks for the code at once when the login needed one;
    // otherwise MISSING_OTP from adminUser.updatePassword expands the field.
    if !visible_and_enabled(&browser, "expired-otp").await {
        browser.click_testid("expired-submit").await;
        browser.wait_enabled_id("expired-otp").await;
    }
    let code = account.authenticator().fresh_code().await;
    type_code(
        &browser,
        "expired-otp",
        "expired-submit",
        "login-alert",
        &code,
    )
    .await;
    account.password = new;

    // Then the sign-in with the new password, whose code step opens when needed.
    finish_sign_in_after_password_change(&browser, &account).await;
    wait_signed_in(&browser, &account).await;
    browser.close().await;
}

async fn visible_and_enabled(browser: &Browser, id: &str) -> bool {
    match browser.find_id(id).await {
        Some(el) => {
            el.is_displayed().await.unwrap_or(false) && el.is_enabled().await.unwrap_or(false)
        }
        None => false,
    }
}

/// After the expired-password step the app either signs in by itself (and
/// asks for a code) or returns to the card for a fresh sign-in: follow what
/// it shows, as a user would, until `/account`.
async fn finish_sign_in_after_password_change(browser: &Browser, account: &e2e::Account) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut typed_password = false;
    loop {
        assert!(
            Instant::now() < deadline,
            "never reached /account after changing the expired password; {}",
            browser.describe().await
        );
        if browser.path().await == "/account" {
            return;
        }
        let expired_step = visible_and_enabled(browser, "expired-new-password").await;
        if !expired_step
            && visible_and_enabled(browser, "login-otp").await
            && browser.value("login-otp").await.is_empty()
        {
            let code = account.authenticator().fresh_code().await;
            enter_code(browser, &code).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        if !expired_step
            && !typed_password
            && visible_and_enabled(browser, "login-password").await
            && !visible_and_enabled(browser, "login-otp").await
            && browser.value("login-password").await.is_empty()
        {
            // The app may finish signing in by itself at any moment (and
            // leave the card): type and submit only while the card is there.
            if let Some(field) = browser.find_id("login-password").await
                && field.send_keys(&account.password).await.is_ok()
                && let Some(submit) = browser.find_testid("login-submit").await
                && submit.click().await.is_ok()
            {
                typed_password = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
