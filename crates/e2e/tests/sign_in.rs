//! Sign-in against the real server and the built app: the built
//! `dist/` loads with its security headers, a password-only login, the card
//! expanding for the authenticator code, wrong and replayed codes, and a
//! server that disappears mid-flow.

use e2e::flows::{
    enter_code, log_out, open_code_step, open_login, sign_in, submit_credentials, wait_code_step,
    wait_signed_in,
};
use e2e::{Authenticator, Browser, screenshots, spawn_app};

#[tokio::test]
async fn built_app_renders_the_login_card_and_index_html_carries_security_headers() {
    let app = spawn_app();

    let response = app.get("/login").await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(
        !csp.is_empty(),
        "index.html needs a Content-Security-Policy"
    );
    assert!(
        !script_src(&csp).contains("'unsafe-inline'"),
        "scripts must not be allowed inline: {csp}"
    );
    assert!(
        !script_src(&csp).contains("'unsafe-eval'"),
        "scripts must not use unsafe-eval: {csp}"
    );
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "the app must refuse to be framed: {csp}"
    );
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("cache-control").contains("no-cache"),
        "index.html must be revalidated: {:?}",
        header("cache-control")
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains("<html") || body.contains("<!DOCTYPE") || body.contains("<!doctype"),
        "the SPA fallback serves index.html for /login"
    );

    // A blank page (a broken wasm build) shows no card: only a real browser sees that.
    let browser = Browser::start().await;
    open_login(&browser, &app).await;
    browser.wait_id("login-email").await;
    browser.wait_id("login-password").await;
    browser.wait_text("login-submit", "Log in").await;
    browser.close().await;
}

/// The `script-src` directive, or `default-src` when there is none.
fn script_src(csp: &str) -> String {
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    directives
        .iter()
        .find(|d| d.starts_with("script-src "))
        .or_else(|| directives.iter().find(|d| d.starts_with("default-src ")))
        .map(|d| (*d).to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn password_only_login_reaches_the_account_page_showing_user_and_account() {
    let app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;

    open_login(&browser, &app).await;
    let png = browser.screenshot().await;
    screenshots::save_if_wanted("login.png", &png);
    submit_credentials(&browser, &account.email, &account.password).await;
    wait_signed_in(&browser, &account).await;

    let ks = browser.session_storage("kmc.ks").await;
    assert!(ks.is_some(), "the KS lives in sessionStorage");
    let local = browser
        .js("return JSON.stringify(Object.assign({}, window.localStorage))")
        .await;
    assert!(
        !local.as_str().unwrap_or_default().contains(&ks.unwrap()),
        "the KS never goes to localStorage"
    );
    browser.close().await;
}

#[tokio::test]
async fn two_factor_login_expands_the_card_focuses_the_code_field_and_accepts_a_real_code() {
    let app = spawn_app();
    let account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let browser = Browser::start().await;

    open_login(&browser, &app).await;
    assert!(
        !browser.has_class("login-card", "expanded").await,
        "the card starts collapsed"
    );
    submit_credentials(&browser, &account.email, &account.password).await;
    wait_code_step(&browser).await;
    browser
        .wait_until("the code field to have focus", || async {
            (browser.focused_id().await == "login-otp").then_some(())
        })
        .await;
    assert_eq!(browser.path().await, "/login", "the card expands in place");
    assert_eq!(browser.value("login-email").await, account.email);
    assert!(
        !browser.value("login-password").await.is_empty(),
        "the password stays filled"
    );
    // Let the expand transition finish before the README screenshot.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    screenshots::save_if_wanted("login-code-step.png", &browser.screenshot().await);

    let code = account.authenticator().fresh_code().await;
    enter_code(&browser, &code).await;
    wait_signed_in(&browser, &account).await;
    browser.close().await;
}

#[tokio::test]
async fn wrong_authenticator_code_is_refused_with_a_message_and_the_field_cleared() {
    let app = spawn_app();
    let account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let browser = Browser::start().await;

    open_code_step(&browser, &app, &account).await;
    enter_code(&browser, &account.authenticator().wrong_code()).await;

    browser.wait_any_text("login-alert").await;
    assert_eq!(browser.path().await, "/login");
    browser
        .wait_until("the code field to be cleared", || async {
            browser.value("login-otp").await.is_empty().then_some(())
        })
        .await;
    assert_eq!(browser.focused_id().await, "login-alert");

    // The right code still works afterwards.
    let code = account.authenticator().fresh_code().await;
    enter_code(&browser, &code).await;
    wait_signed_in(&browser, &account).await;
    browser.close().await;
}

#[tokio::test]
async fn a_code_already_used_for_a_login_is_refused_when_replayed_after_logout() {
    let app = spawn_app();
    let account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let authenticator = account.authenticator();
    let browser = Browser::start().await;

    open_code_step(&browser, &app, &account).await;
    let step = Authenticator::current_step();
    let code = authenticator.code_for_step(step);
    authenticator.mark_used(step);
    enter_code(&browser, &code).await;
    wait_signed_in(&browser, &account).await;
    log_out(&browser).await;

    open_code_step(&browser, &app, &account).await;
    assert!(
        Authenticator::current_step() <= step + 1,
        "the replay must happen while the code would still be inside the ±1-step window"
    );
    enter_code(&browser, &code).await;
    browser.wait_any_text("login-alert").await;
    assert_eq!(
        browser.path().await,
        "/login",
        "a replayed code never signs in"
    );
    browser.close().await;
}

#[tokio::test]
async fn server_gone_mid_sign_in_says_it_cannot_reach_the_server_and_keeps_the_email() {
    let mut app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;

    open_login(&browser, &app).await;
    app.stop();
    submit_credentials(&browser, &account.email, &account.password).await;

    browser
        .wait_text("login-alert", "Can't reach the server")
        .await;
    browser.wait_testid("retry").await;
    assert_eq!(browser.value("login-email").await, account.email);
    assert_eq!(browser.path().await, "/login");
    browser.close().await;
}

#[tokio::test]
async fn two_factor_login_signs_in_again_after_logout_with_the_next_code() {
    // Two complete sign-ins in a row need two different time steps: this is
    // what every later test relies on, checked once here against the server.
    let app = spawn_app();
    let account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &account).await;
    log_out(&browser).await;
    sign_in(&browser, &app, &account).await;
    browser.close().await;
}

#[tokio::test]
async fn the_first_html_already_shows_the_card_and_a_loading_page_for_links_without_the_module() {
    let app = spawn_app();
    let html = app.get("/login").await.text().await.unwrap();
    for needle in [
        "static-login-card",
        "login-email",
        "current-password",
        "Remember my email",
        "needs JavaScript and WebAssembly",
    ] {
        assert!(html.contains(needle), "the served HTML lacks {needle:?}");
    }

    // The module never arrives: what the first paint shows must stand on its own.
    let browser = Browser::start().await;
    browser.block_the_module().await;
    browser.goto(&app.url("/login")).await;
    let text = browser.shell_text().await;
    for needle in ["Sign in", "Email", "Password", "Log in", "Forgot password?"] {
        assert!(
            text.contains(needle),
            "the static card lacks {needle:?}: {text:?}"
        );
    }
    assert!(!text.contains("Loading"), "{text:?}");
    browser.wait_enabled_id("login-email").await;
    let styled = browser
        .js("return getComputedStyle(document.querySelector('#boot .card')).maxWidth")
        .await;
    assert_eq!(
        styled, "416px",
        "the card is styled before the module loads"
    );

    browser
        .goto(&app.url("/actions/auth-info/not-a-real-token"))
        .await;
    let text = browser.shell_text().await;
    assert!(
        text.contains("Loading the page that sets up your authenticator app"),
        "{text:?}"
    );
    assert!(!text.contains("Sign in"), "{text:?}");
    browser
        .goto(&app.url("/actions/restore-password/not-a-real-token"))
        .await;
    assert!(
        browser
            .shell_text()
            .await
            .contains("Loading the page to choose a new password")
    );
    browser.close().await;
}

#[tokio::test]
async fn text_typed_into_the_static_card_before_the_app_takes_over_is_kept_with_the_focus() {
    let app = spawn_app();
    let account = app.password_only_account("Sandbox Studio", "ada@example.com");
    let browser = Browser::start().await;
    // 30 KB/s: the page is there in a fraction of a second, the module only seconds later.
    browser.emulate_network(0, Some(30_000)).await;
    browser.goto(&app.url("/login")).await;
    browser.fill("login-email", &account.email).await;
    browser.fill("login-password", &account.password).await;
    assert!(
        browser.find_testid("static-login-card").await.is_some(),
        "the app took over before the typing ended: the test proved nothing (slow the module more)"
    );
    assert_eq!(browser.focused_id().await, "login-password");

    browser.emulate_network(0, None).await;
    browser.wait_testid("login-card").await;
    assert!(
        browser.find_id("boot").await.is_none(),
        "the static shell is gone"
    );
    assert_eq!(browser.value("login-email").await, account.email);
    assert_eq!(browser.value("login-password").await, account.password);
    assert_eq!(
        browser.focused_id().await,
        "login-password",
        "the focus stays where it was"
    );
    // The values are in the app's state, not only in its inputs: they sign in.
    browser.click_testid("login-submit").await;
    wait_signed_in(&browser, &account).await;

    // config.json, the JS glue and the wasm were preloaded (from the script after the card)
    // and those fetches were used: one each.
    for suffix in ["/config.json", ".js", "_bg.wasm"] {
        let fetched = browser
            .js(&format!(
                "return performance.getEntriesByType('resource').filter(e => e.name.endsWith('{suffix}')).length"
            ))
            .await;
        assert_eq!(fetched, 1, "{suffix} is fetched once (the preload is used)");
    }
    browser.close().await;
}

/// A browser at desktop size, or one made a touch phone.
async fn browser_as(phone: bool) -> Browser {
    let browser = Browser::start().await;
    if phone {
        browser.emulate_phone().await;
    }
    browser
}

#[tokio::test]
async fn enter_enter_and_a_click_send_one_sign_in_and_a_press_after_the_reply_sends_another() {
    let app = spawn_app();
    let account = app.password_only_account("Media Works", "ada@example.com");
    for phone in [false, true] {
        let browser = browser_as(phone).await;
        open_login(&browser, &app).await;
        browser.fill("login-email", &account.email).await;
        browser.fill("login-password", "not the password").await;
        // Each request takes a second longer, so every press below lands while the first is in flight.
        browser.emulate_network(1000, None).await;
        let before = app.requests_to("user", "loginByLoginId");
        let password = browser.wait_id("login-password").await;
        password.send_keys("\u{E007}").await.expect("Enter");
        password.send_keys("\u{E007}").await.expect("Enter");
        let button = browser.wait_testid("login-submit").await;
        // A disabled button may refuse the click: that is the point.
        let _ = button.click().await;
        assert_eq!(
            button.attr("aria-busy").await.unwrap().as_deref(),
            Some("true"),
            "the button says it is working"
        );
        browser
            .wait_text("login-alert", "The email or password is incorrect.")
            .await;
        browser
            .wait_until("the button to be enabled again", || async {
                button.is_enabled().await.ok()?.then_some(())
            })
            .await;
        assert_eq!(
            app.requests_to("user", "loginByLoginId") - before,
            1,
            "phone {phone}: three presses in flight reached the server as one sign-in"
        );

        // After the reply, a new press is a new request.
        password.send_keys("\u{E007}").await.expect("Enter");
        browser
            .wait_until("the second sign-in to reach the server", || async {
                (app.requests_to("user", "loginByLoginId") - before == 2).then_some(())
            })
            .await;
        browser.close().await;
    }
}

#[tokio::test]
async fn lost_authenticator_on_the_code_step_opens_a_reset_request_with_the_email_that_mails_a_link()
 {
    let app = spawn_app();
    let account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    for phone in [false, true] {
        let browser = browser_as(phone).await;
        open_code_step(&browser, &app, &account).await;
        // A wrong code keeps the help in view.
        enter_code(&browser, &account.authenticator().wrong_code()).await;
        browser.wait_text("login-alert", "not accepted").await;
        let help = browser.wait_text("lost-authenticator", "new QR code").await;
        assert!(help.starts_with("Lost your authenticator?"), "{help}");

        browser.click_testid("lost-authenticator-link").await;
        browser.wait_path("/reset-password").await;
        let url = browser.url().await;
        assert!(
            !url.contains("grace") && !url.contains("example.com"),
            "no email in {url}"
        );
        browser
            .wait_until("the email to be filled in", || async {
                (browser.value("reset-email").await == account.email).then_some(())
            })
            .await;
        let seen = app.emails_to(&account.email).len();
        browser.click_testid("reset-submit").await;
        browser
            .wait_text("reset-result", "If an account exists")
            .await;
        app.wait_for_link(&account.email, e2e::LinkKind::RestorePassword, seen)
            .await;
        browser.close().await;
    }
}

#[tokio::test]
async fn caps_lock_is_said_beside_the_password_within_the_screen_at_desktop_size_and_on_a_phone() {
    let app = spawn_app();
    for phone in [false, true] {
        let browser = browser_as(phone).await;
        open_login(&browser, &app).await;
        browser.fill("login-password", "typed").await;
        // No driver can turn the keyboard's Caps Lock on; the key event carries its state, as
        // a real keyboard's does, and the page reads it with getModifierState.
        let press = |caps: bool| {
            format!(
                "document.getElementById('login-password').dispatchEvent(new KeyboardEvent('keyup', \
                 {{ key: 'a', bubbles: true, modifierCapsLock: {caps} }})); return true;"
            )
        };
        browser.js(&press(true)).await;
        browser
            .wait_text("login-password-caps-lock", "Caps Lock is on.")
            .await;
        let inside = browser
            .js(
                "const r = document.querySelector('[data-testid=login-password-caps-lock]') \
                 .getBoundingClientRect(); \
                 return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth;",
            )
            .await;
        assert_eq!(
            inside,
            serde_json::json!(true),
            "phone {phone}: the note is on screen"
        );
        browser.js(&press(false)).await;
        browser
            .wait_until("the note to go when Caps Lock is off", || async {
                browser
                    .js("return document.querySelector('[data-testid=login-password-caps-lock]').textContent")
                    .await
                    .as_str()
                    .is_some_and(str::is_empty)
                    .then_some(())
            })
            .await;
        browser.close().await;
    }
}
