//! The accessibility gate: every page and state of the app, checked with axe-core and the
//! WCAG 2.2 checks axe does not make, in every language, against the real server.
//!
//! Each language walks the same path through the app (the sign-in card, the reset request,
//! the code step, a wrong code, "Lost your authenticator?", the account page, the set-new-password page and its new key,
//! the expired-password step, the enrollment intro, QR, manual key and a checked code, a dead
//! link) and checks each state where it stands. Every language is checked light at 1000 px;
//! English and Hebrew (left to right and right to left) also light at 320 px and dark at both
//! widths. The test fails on any violation of any impact, naming the page state, language,
//! look, rule and element.

use std::time::Instant;

use e2e::axe::{self, Look};
use e2e::flows::{enter_code, submit_credentials, wait_code_step};
use e2e::{Account, Authenticator, Browser, LinkKind, TestApp, spawn_app};

/// Every language of the app, as `kmc.lang` names it.
const LANGUAGES: [&str; 7] = ["en", "de", "es", "fr", "ja", "pt-BR", "he"];

/// The looks a language is checked in: all four for one left-to-right and the right-to-left
/// language, light at 1000 px for the rest (to keep the gate's time reasonable).
fn looks_for(lang: &str) -> &'static [Look] {
    if matches!(lang, "en" | "he") {
        &Look::ALL
    } else {
        &Look::ALL[..1]
    }
}

/// The findings of one run, and what it covered.
struct Gate {
    browser: Browser,
    axe: String,
    lang: &'static str,
    findings: Vec<String>,
    /// Page states checked, over all languages.
    states: usize,
    /// axe runs, over all states and looks.
    checks: usize,
}

impl Gate {
    /// Checks the page as it stands, in every look of the current language, then puts the
    /// first look back for the next step of the walk.
    async fn check(&mut self, state: &str) {
        self.states += 1;
        for (i, look) in looks_for(self.lang).iter().enumerate() {
            axe::set_look(&self.browser, *look).await;
            let mut found = axe::axe_violations(&self.browser, &self.axe).await;
            found.extend(axe::focus_and_reflow_problems(&self.browser).await);
            if i == 0 {
                found.extend(axe::paste_refusals(&self.browser).await);
            }
            let lang = self.lang;
            let look = look.name();
            self.findings.extend(
                found
                    .into_iter()
                    .map(|f| format!("{state} | {lang} | {look} | {f}")),
            );
            self.checks += 1;
        }
        axe::set_look(&self.browser, Look::WIDE_LIGHT).await;
    }

    /// Chooses the language as a returning visitor would have (`kmc.lang`), then opens `path`.
    async fn open(&self, app: &TestApp, path: &str) {
        self.browser.goto(&app.url(path)).await;
        let lang = self.lang;
        self.browser
            .js(&format!("localStorage.setItem('kmc.lang', '{lang}')"))
            .await;
        self.browser.reload().await;
        self.browser
            .wait_until(&format!("the page to be in {lang}"), || async {
                (self
                    .browser
                    .js("return document.documentElement.lang")
                    .await
                    == lang)
                    .then_some(())
            })
            .await;
        // The static sign-in card of index.html gives way to the app's: fields found before
        // that would go stale under the test's hands.
        self.browser
            .wait_until("the app to take over from the static card", || async {
                self.browser.find_id("boot").await.is_none().then_some(())
            })
            .await;
    }
}

/// The logins one language's walk needs, each on its own account so walks do not meet.
struct Logins {
    /// A 2FA login with an authenticator: the code step, the account page, the reset.
    two_factor: Account,
    /// A password-only login whose password has expired.
    expired: Account,
    /// A login of a 2FA account that has not enrolled yet: its emailed QR link.
    enrolling_link: String,
}

async fn prepare(app: &TestApp, lang: &str) -> Logins {
    let tag = lang.to_ascii_lowercase();
    let two_factor = app
        .two_factor_account(
            &format!("Media {lang}"),
            &format!("grace-{tag}@example.com"),
        )
        .await;
    let expired = app.password_only_account(
        &format!("Sandbox {lang}"),
        &format!("ada-{tag}@example.com"),
    );
    app.expire_password(&expired.email);
    let enrolling = format!("alan-{tag}@example.com");
    let partner = app.add_partner(&format!("Studio {lang}"), true);
    app.add_user(
        partner,
        &enrolling,
        "Alan",
        "Turing",
        Some(&e2e::app::new_password()),
    );
    let link = app.wait_for_link(&enrolling, LinkKind::AuthInfo, 0).await;
    Logins {
        two_factor,
        expired,
        enrolling_link: link.url,
    }
}

/// One language's walk through every page and state.
async fn walk(gate: &mut Gate, app: &TestApp, logins: &Logins) {
    let account = &logins.two_factor;

    // The sign-in card, then the reset request it opens, before and after sending.
    gate.open(app, "/login").await;
    gate.browser.wait_testid("login-card").await;
    gate.check("sign-in card").await;
    gate.browser.fill("login-email", &account.email).await;
    gate.browser.click_testid("forgot-password").await;
    gate.browser.wait_id("forgot-email").await;
    gate.check("reset request").await;
    let seen = app.emails_to(&account.email).len();
    gate.browser.fill("forgot-email", &account.email).await;
    gate.browser.click_testid("forgot-submit").await;
    gate.browser.wait_any_text("forgot-result").await;
    gate.check("reset request sent").await;
    let reset = app
        .wait_for_link(&account.email, LinkKind::RestorePassword, seen)
        .await;

    // The code step, a wrong code, and the account page.
    gate.open(app, "/login").await;
    submit_credentials(&gate.browser, &account.email, &account.password).await;
    wait_code_step(&gate.browser).await;
    gate.check("code step").await;
    enter_code(&gate.browser, &account.authenticator().wrong_code()).await;
    gate.browser.wait_any_text("login-alert").await;
    gate.check("wrong code").await;
    // "Lost your authenticator?" opens the reset request; then back to the code step.
    gate.browser.click_testid("lost-authenticator-link").await;
    gate.browser.wait_testid("reset-request-page").await;
    gate.check("lost authenticator: reset request").await;
    gate.open(app, "/login").await;
    submit_credentials(&gate.browser, &account.email, &account.password).await;
    wait_code_step(&gate.browser).await;
    let code = account.authenticator().fresh_code().await;
    enter_code(&gate.browser, &code).await;
    gate.browser.wait_path("/account").await;
    gate.browser.wait_testid("current-account").await;
    gate.check("account page").await;
    gate.browser.click_testid("logout").await;
    gate.browser.wait_path("/login").await;

    // The set-new-password page from the emailed link, and the new key a reset re-issues.
    gate.browser.goto(&reset.url).await;
    gate.browser.wait_testid("password-rules").await;
    gate.check("set-new-password page").await;
    let password = e2e::app::new_password();
    gate.browser.fill("new-password", &password).await;
    gate.browser.fill("confirm-password", &password).await;
    gate.browser.click_testid("set-password-submit").await;
    gate.browser.wait_testid("qr-code").await;
    gate.check("set-new-password: the new key").await;

    // The expired-password step of the sign-in card.
    gate.open(app, "/login").await;
    submit_credentials(
        &gate.browser,
        &logins.expired.email,
        &logins.expired.password,
    )
    .await;
    gate.browser.wait_id("expired-new-password").await;
    gate.check("expired-password step").await;

    // The enrollment page: its intro, the QR code, the manual key, a checked code.
    gate.browser.goto(&logins.enrolling_link).await;
    gate.browser.wait_testid("show-qr").await;
    gate.check("enrollment intro").await;
    gate.browser.click_testid("show-qr").await;
    gate.browser.wait_testid("qr-code").await;
    gate.check("enrollment QR").await;
    gate.browser.click_testid("cant-scan").await;
    gate.browser.wait_testid("secret-key").await;
    gate.check("enrollment manual key").await;
    let uri = gate
        .browser
        .wait_testid("otpauth-link")
        .await
        .attr("href")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let authenticator = Authenticator::from_uri(&uri);
    gate.browser
        .fill("check-code", &authenticator.current_code())
        .await;
    gate.browser.click_testid("check-code-submit").await;
    gate.browser.wait_any_text("check-code-result").await;
    gate.check("enrollment: a checked code").await;

    // A dead link.
    gate.browser
        .goto(&app.url("/actions/restore-password/not-a-real-link"))
        .await;
    gate.browser.wait_testid("link-invalid").await;
    gate.check("dead link").await;
}

#[tokio::test]
async fn every_page_and_state_passes_axe_and_the_wcag_2_2_checks_in_every_language_and_look() {
    let started = Instant::now();
    let app = spawn_app();
    let mut prepared = Vec::new();
    for lang in LANGUAGES {
        prepared.push((lang, prepare(&app, lang).await));
    }
    let mut gate = Gate {
        browser: Browser::start().await,
        axe: axe::axe_source(),
        lang: "en",
        findings: Vec::new(),
        states: 0,
        checks: 0,
    };
    for (lang, logins) in &prepared {
        gate.lang = lang;
        walk(&mut gate, &app, logins).await;
    }
    let Gate {
        browser,
        findings,
        states,
        checks,
        ..
    } = gate;
    browser.close().await;
    eprintln!(
        "accessibility gate: {states} page states in {} languages, {checks} checks in all \
         (every language light at 1000 px; en and he also light at 320 px and dark at both) \
         in {:.0?}",
        LANGUAGES.len(),
        started.elapsed()
    );
    assert!(
        findings.is_empty(),
        "{} accessibility finding(s):\n{}",
        findings.len(),
        findings.join("\n")
    );
}
