//! The enrollment page from the emailed QR link, against the real
//! server: turning 2FA on emails a link; opening it spends nothing; "Show QR
//! code" draws a QR that a camera can read and that signs in; the link then
//! works no more, and an expired link says so and offers a reset. On a
//! touch phone the page leads with "Add to authenticator app", whose link
//! alone enrolls an authenticator that signs in; on a desktop the QR code
//! leads.

use e2e::browser::PHONE;
use e2e::flows::{enter_code, scan_qr_code, wait_code_step, wait_signed_in};
use e2e::rfc6238;
use e2e::{Account, Authenticator, Browser, LinkKind, TestApp, screenshots, spawn_app};
use kaltura_api::OtpAuthUri;

/// Where an element with this `data-testid` is drawn: its top, its bottom and
/// its height, in CSS pixels from the top of the viewport.
async fn rect(browser: &Browser, testid: &str) -> (f64, f64, f64) {
    let value = browser
        .js(&format!(
            "var r = document.querySelector('[data-testid=\"{testid}\"]').getBoundingClientRect(); \
             return [r.top, r.bottom, r.height];"
        ))
        .await;
    let n = |i: usize| value[i].as_f64().unwrap_or(f64::NAN);
    (n(0), n(1), n(2))
}

/// The `href` of the element with this `data-testid`.
async fn href(browser: &Browser, testid: &str) -> String {
    browser
        .wait_testid(testid)
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The `href` of the link around the QR code.
async fn qr_link_href(browser: &Browser) -> String {
    href(browser, "qr-link").await
}

/// On a spent or expired link the page may first offer "Show QR code" (opening
/// spends nothing, so it need not ask the server); pressing it then reveals
/// that the link is no longer valid. Either way the invalid-link page must show
/// with its reset form.
async fn expect_link_invalid(browser: &Browser) {
    browser
        .wait_until("the invalid-link page or the Show QR button", || async {
            (browser.shows_testid("link-invalid").await || browser.shows_testid("show-qr").await)
                .then_some(())
        })
        .await;
    if !browser.shows_testid("link-invalid").await {
        browser.click_testid("show-qr").await;
    }
    browser.wait_testid("link-invalid").await;
    browser.wait_id("reset-email").await;
    browser.wait_testid("reset-submit").await;
    assert!(
        !browser.shows_testid("qr-code").await,
        "no QR code for a dead link"
    );
}

#[tokio::test]
async fn emailed_qr_link_enrolls_an_authenticator_that_signs_in_and_then_is_spent() {
    let app = spawn_app();
    let mut account = app.password_only_account("Media Works", "ada@example.com");
    let seen = app.emails_to(&account.email).len();
    app.set_two_factor(account.partner_id, true);
    let link = app
        .wait_for_link(&account.email, LinkKind::AuthInfo, seen)
        .await;
    let browser = Browser::start().await;

    // Opening the link (twice: a mail scanner, then the user) spends nothing.
    browser.goto(&link.url).await;
    browser.wait_testid("show-qr").await;
    assert!(!browser.shows_testid("qr-code").await);
    browser.reload().await;
    browser.wait_testid("show-qr").await;
    assert!(!browser.shows_testid("link-invalid").await);

    browser.click_testid("show-qr").await;
    let uri = scan_qr_code(&browser).await;
    browser
        .wait_until("the hash key to leave the address bar", || async {
            (!browser.url().await.contains(&link.hash_key)).then_some(())
        })
        .await;

    // What the camera read is a proper key for this login, and the same one
    // the page offers as a link and as text.
    let parsed = OtpAuthUri::parse(&uri).expect("the QR code holds an otpauth URI");
    assert_eq!(parsed.account, account.email);
    assert_eq!(parsed.issuer.as_deref(), Some("Kaltura"));
    assert_eq!(
        parsed.secret.len(),
        32,
        "a 160-bit secret is 32 base32 characters"
    );
    let href = href(&browser, "otpauth-link").await;
    // On a desktop the QR code leads; the button follows, and the QR code is the same link.
    let (qr_top, ..) = rect(&browser, "qr-code").await;
    let (button_top, ..) = rect(&browser, "otpauth-link").await;
    assert!(qr_top < button_top, "the QR code leads on a desktop");
    assert_eq!(
        qr_link_href(&browser).await,
        href,
        "the QR code links to the same key"
    );
    // OtpAuthUri has no Debug (it holds the secret): compare without printing.
    assert!(
        OtpAuthUri::parse(&href).expect("the app link is an otpauth URI") == parsed,
        "the \"Add to authenticator app\" link carries the scanned key"
    );
    browser.click_testid("cant-scan").await;
    let shown = browser.wait_any_text("secret-key").await;
    assert!(
        shown.split_whitespace().all(|group| group.len() <= 4),
        "the secret is shown in groups of four"
    );
    assert_eq!(
        shown.split_whitespace().collect::<String>(),
        parsed.secret,
        "the manual key is the scanned secret"
    );

    // "Check your code" with the code the phone shows.
    let authenticator = Authenticator::from_uri(&uri);
    browser
        .fill("check-code", &authenticator.current_code())
        .await;
    browser.click_testid("check-code-submit").await;
    browser.wait_text("check-code-result", "set up").await;

    // Continue opens the sign-in card on the code step with the email filled in.
    browser.click_testid("enroll-continue").await;
    browser.wait_path("/login").await;
    browser
        .wait_until("the email to be filled in", || async {
            (browser.value("login-email").await == account.email).then_some(())
        })
        .await;
    wait_code_step(&browser).await;
    if browser.value("login-password").await.is_empty() {
        browser.fill("login-password", &account.password).await;
    }
    account.authenticator = Some(authenticator);
    let code = account.authenticator().fresh_code().await;
    enter_code(&browser, &code).await;
    wait_signed_in(&browser, &account).await;

    // The link is spent.
    browser.goto(&link.url).await;
    expect_link_invalid(&browser).await;
    browser.close().await;
}

#[tokio::test]
async fn expired_qr_link_shows_the_invalid_link_page_which_sends_a_reset_email() {
    let app = spawn_app();
    let partner_id = app.add_partner("Media Works", true);
    let account = Account {
        partner_id,
        partner_name: "Media Works".into(),
        email: "grace@example.com".into(),
        password: e2e::app::new_password(),
        full_name: "Grace Hopper".into(),
        authenticator: None,
    };
    app.add_user(
        partner_id,
        &account.email,
        "Grace",
        "Hopper",
        Some(&account.password),
    );
    let link = app
        .wait_for_link(&account.email, LinkKind::AuthInfo, 0)
        .await;
    assert!(
        app.expire_link_tokens().await >= 1,
        "the link token is in the database"
    );

    let browser = Browser::start().await;
    browser.goto(&link.url).await;
    expect_link_invalid(&browser).await;

    request_reset_from_invalid_link_page(&app, &browser, &account.email).await;
    browser.close().await;
}

/// Uses the reset form on the invalid-link page and checks a reset email with
/// a set-password link arrives.
async fn request_reset_from_invalid_link_page(app: &TestApp, browser: &Browser, email: &str) {
    let seen = app.emails_to(email).len();
    browser.fill("reset-email", email).await;
    browser.click_testid("reset-submit").await;
    browser.wait_any_text("reset-result").await;
    app.wait_for_link(email, LinkKind::RestorePassword, seen)
        .await;
}

#[tokio::test]
async fn on_a_touch_phone_the_add_to_app_button_leads_and_its_link_alone_enrolls_an_authenticator_that_signs_in()
 {
    let app = spawn_app();
    let account = app.password_only_account("Media Works", "ada@example.com");
    let seen = app.emails_to(&account.email).len();
    app.set_two_factor(account.partner_id, true);
    let link = app
        .wait_for_link(&account.email, LinkKind::AuthInfo, seen)
        .await;
    let browser = Browser::start().await;
    browser.emulate_phone().await;

    // Opening the link on the phone still spends nothing.
    browser.goto(&link.url).await;
    browser.wait_testid("show-qr").await;
    let coarse = browser
        .js("return matchMedia('(pointer: coarse)').matches && innerWidth")
        .await;
    assert_eq!(
        coarse.as_u64(),
        Some(u64::from(PHONE.0)),
        "a touch phone, 390 px wide"
    );
    assert_eq!(app.requests_to("user", "generateQrCode"), 0);
    browser.click_testid("show-qr").await;

    // "Add to authenticator app" leads: a large button on the first screen, above the QR code.
    let uri = href(&browser, "otpauth-link").await;
    browser.wait_testid("qr-code").await;
    let (top, bottom, height) = rect(&browser, "otpauth-link").await;
    let (qr_top, ..) = rect(&browser, "qr-code").await;
    assert!(height >= 44.0, "the button is {height} px high");
    assert!(
        top >= 0.0 && bottom <= f64::from(PHONE.1),
        "the button is on the first screen ({top}..{bottom})"
    );
    assert!(bottom <= qr_top, "the button comes before the QR code");
    assert_eq!(
        qr_link_href(&browser).await,
        uri,
        "a tap on the QR code opens the same key"
    );
    screenshots::save_if_wanted("phone-enrollment.png", &browser.screenshot().await);

    // What the link hands to the app is enough: codes made from it alone, by a
    // TOTP written from the RFC, sign in.
    let key = rfc6238::Key::from_uri(&uri).expect("the button links to a TOTP key");
    browser.click_testid("enroll-continue").await;
    browser.wait_path("/login").await;
    wait_code_step(&browser).await;
    browser.fill("login-password", &account.password).await;
    enter_code(&browser, &key.code_at(e2e::unix_now())).await;
    wait_signed_in(&browser, &account).await;
    browser.close().await;
}
