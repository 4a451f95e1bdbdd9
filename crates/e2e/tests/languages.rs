//! The app in the browser's language, against the real server and
//! the built `dist/`: Chromium set to German, then to Japanese, signs in
//! through the code step with the pages in that language, the language file
//! fetched from `dist/locales/`; Hebrew is right to left (and is the README's
//! screenshot).

use e2e::flows::{enter_code, open_login, submit_credentials, wait_code_step};
use e2e::{Browser, screenshots, spawn_app};

/// `document.documentElement`'s `lang` and `dir`, and `navigator.languages[0]`.
async fn page_language(browser: &Browser) -> (String, String, String) {
    let value = browser
        .js("return [document.documentElement.lang, document.documentElement.dir, navigator.languages[0] || '']")
        .await;
    let part = |i: usize| value[i].as_str().unwrap_or_default().to_owned();
    (part(0), part(1), part(2))
}

/// What one language says on the way: the card's heading, the code field's
/// label, and the account page's "Signed in as {name} ({email})".
struct Words {
    title: &'static str,
    code_label: &'static str,
    signed_in_as: fn(&str, &str) -> String,
}

/// Signs in through the code step with Chromium's language set to `lang`,
/// checking each step shows that language's words.
async fn sign_in_in(lang: &str, words: Words) {
    let app = spawn_app();
    let account = app
        .two_factor_account("Media Works", "grace@example.com")
        .await;
    let browser = Browser::start_with_language(lang).await;

    open_login(&browser, &app).await;
    let (html_lang, dir, navigator) = page_language(&browser).await;
    assert!(
        navigator.starts_with(lang),
        "Chromium reports its language as {navigator:?}, not {lang}"
    );
    assert_eq!((html_lang.as_str(), dir.as_str()), (lang, "ltr"));
    browser.wait_text("login-card", words.title).await;

    submit_credentials(&browser, &account.email, &account.password).await;
    wait_code_step(&browser).await;
    let label = browser
        .js("return document.querySelector('label[for=login-otp]').textContent")
        .await;
    assert_eq!(label.as_str(), Some(words.code_label));
    let status = browser.wait_any_text("login-status").await;
    assert!(
        !status.contains("authenticator app"),
        "the announcement is not English: {status}"
    );

    let code = account.authenticator().fresh_code().await;
    enter_code(&browser, &code).await;
    browser.wait_path("/account").await;
    browser
        .wait_text(
            "signed-in-as",
            &(words.signed_in_as)(&account.full_name, &account.email),
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_german_browser_signs_in_through_the_code_step_in_german() {
    sign_in_in(
        "de",
        Words {
            title: "Anmelden",
            code_label: "Bestätigungscode",
            signed_in_as: |name, email| format!("Angemeldet als {name} ({email})"),
        },
    )
    .await;
}

#[tokio::test]
async fn a_japanese_browser_signs_in_through_the_code_step_in_japanese() {
    sign_in_in(
        "ja",
        Words {
            title: "ログイン",
            code_label: "確認コード",
            signed_in_as: |name, email| format!("{name}（{email}）としてログインしています"),
        },
    )
    .await;
}

#[tokio::test]
async fn a_hebrew_browser_gets_the_page_right_to_left() {
    let app = spawn_app();
    let browser = Browser::start_with_language("he").await;
    open_login(&browser, &app).await;
    browser.wait_text("login-card", "התחברות").await;
    let (html_lang, dir, _) = page_language(&browser).await;
    assert_eq!((html_lang.as_str(), dir.as_str()), ("he", "rtl"));
    // The email field stays left to right inside the mirrored card.
    let direction = browser
        .js("return getComputedStyle(document.getElementById('login-email')).direction")
        .await;
    assert_eq!(direction.as_str(), Some("ltr"));
    screenshots::save_if_wanted("login-he.png", &browser.screenshot().await);
    browser.close().await;
}

/// `url`'s static shell text, in a browser whose module is blocked.
async fn static_shell_text(browser: &Browser, url: &str) -> String {
    browser.goto(url).await;
    browser.shell_text().await
}

/// A browser in `lang` that never receives the module: only the first HTML speaks.
async fn browser_without_the_module(lang: &str) -> Browser {
    let browser = Browser::start_with_language(lang).await;
    browser.block_the_module().await;
    browser
}

#[tokio::test]
async fn the_static_card_speaks_the_browsers_language_before_the_module_arrives() {
    let app = spawn_app();
    let browser = browser_without_the_module("de").await;
    let text = static_shell_text(&browser, &app.url("/login")).await;
    for needle in ["Anmelden", "E-Mail-Adresse", "Passwort vergessen?"] {
        assert!(
            text.contains(needle),
            "the static card lacks {needle:?}: {text:?}"
        );
    }
    for english in ["Sign in", "Email", "Log in", "Forgot password?"] {
        assert!(
            !text.contains(english),
            "English {english:?} left: {text:?}"
        );
    }
    let (html_lang, dir, _) = page_language(&browser).await;
    assert_eq!((html_lang.as_str(), dir.as_str()), ("de", "ltr"));
    let label = browser
        .js("return document.querySelector('#boot button.toggle').getAttribute('aria-label')")
        .await;
    assert_eq!(label.as_str(), Some("Passwort anzeigen"));
    let text = static_shell_text(&browser, &app.url("/actions/auth-info/not-a-real-token")).await;
    assert!(
        text.contains("Die Seite zum Einrichten Ihrer Authenticator-App wird geladen"),
        "{text:?}"
    );
    browser.close().await;

    let browser = browser_without_the_module("he").await;
    let text = static_shell_text(&browser, &app.url("/login")).await;
    assert!(text.contains("התחברות"), "{text:?}");
    let (html_lang, dir, _) = page_language(&browser).await;
    assert_eq!((html_lang.as_str(), dir.as_str()), ("he", "rtl"));
    browser.close().await;
}

#[tokio::test]
async fn a_stored_choice_of_english_keeps_the_static_card_english_in_a_german_browser() {
    let app = spawn_app();
    let browser = browser_without_the_module("de").await;
    browser.goto(&app.url("/login")).await;
    browser
        .js("localStorage.setItem('kmc.lang', 'en'); return null")
        .await;
    let text = static_shell_text(&browser, &app.url("/login")).await;
    assert!(
        text.contains("Sign in") && !text.contains("Anmelden"),
        "{text:?}"
    );
    let (html_lang, _, _) = page_language(&browser).await;
    assert_eq!(html_lang, "en");
    browser.close().await;
}
