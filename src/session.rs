//! The signed-in state and what travels between pages.
//!
//! - The KS lives in `sessionStorage` under `kmc.ks` and nowhere else: it
//!   survives a reload of the tab but not the tab itself, and it never goes
//!   into `localStorage`, a URL or a log.
//! - "Remember my email" keeps only the email, in `localStorage` under
//!   `kmc.email`.
//! - [`LoginPrefill`] carries what one page wants the sign-in card to start
//!   with (email, target account, open code step, a notice, where to go back
//!   to) in memory, through context: never in URLs or storage.

use leptos::prelude::*;

/// `sessionStorage` key of the KS.
pub const KS_KEY: &str = "kmc.ks";
/// `localStorage` key of the remembered email.
pub const EMAIL_KEY: &str = "kmc.email";

/// The key of the notice shown on the sign-in card after the server refused the KS.
pub const SESSION_ENDED: &str = "account.session-ended-notice";

#[cfg(target_arch = "wasm32")]
fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

#[cfg(target_arch = "wasm32")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The stored KS, if signed in in this tab.
pub fn load_ks() -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        session_storage()?
            .get_item(KS_KEY)
            .ok()
            .flatten()
            .filter(|ks| !ks.is_empty())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Stores the KS of a new session, replacing any previous one.
pub fn store_ks(ks: &str) {
    #[cfg(target_arch = "wasm32")]
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(KS_KEY, ks);
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = ks;
}

/// Forgets the KS (logout, or the server said it is no longer valid).
pub fn clear_ks() {
    #[cfg(target_arch = "wasm32")]
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(KS_KEY);
    }
}

/// The email the user asked the app to remember.
pub fn remembered_email() -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        local_storage()?
            .get_item(EMAIL_KEY)
            .ok()
            .flatten()
            .filter(|e| !e.is_empty())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Remembers the email (`Some`) or forgets it (`None`). Only the email is
/// ever written to `localStorage`.
pub fn remember_email(email: Option<&str>) {
    #[cfg(target_arch = "wasm32")]
    if let Some(storage) = local_storage() {
        let _ = match email {
            Some(email) => storage.set_item(EMAIL_KEY, email),
            None => storage.remove_item(EMAIL_KEY),
        };
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = email;
}

/// What the sign-in card should start with when another page sends the user
/// there. Consumed (taken) by the sign-in page when it opens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginPrefill {
    /// The email to fill in.
    pub email: Option<String>,
    /// The account the next sign-in should target (`partnerId`).
    pub partner_id: Option<i64>,
    /// Open the card on the authenticator-code step (after enrollment).
    pub open_code_step: bool,
    /// A message to show in the card's alert (e.g. [`SESSION_ENDED`]).
    pub notice: Option<crate::i18n::Text>,
    /// The path to return to after signing in (e.g. `/account`).
    pub return_to: Option<String>,
}

/// The prefill signal shared through context.
#[derive(Clone, Copy)]
pub struct LoginPrefillSignal(pub RwSignal<LoginPrefill>);

/// Puts an empty prefill in context; done once by `App`.
pub fn provide_login_prefill() -> RwSignal<LoginPrefill> {
    let signal = RwSignal::new(LoginPrefill::default());
    provide_context(LoginPrefillSignal(signal));
    signal
}

/// The prefill signal from context, or a fresh one when none was provided
/// (a page mounted alone in a test). Call it while the component is being
/// built (context is not reachable from inside event handlers), then update
/// the signal from the handler, e.g. before navigating to `/login`:
/// `prefill.update(|p| { p.email = Some(email); p.open_code_step = true; })`.
pub fn use_login_prefill() -> RwSignal<LoginPrefill> {
    use_context::<LoginPrefillSignal>()
        .map(|s| s.0)
        .unwrap_or_else(|| RwSignal::new(LoginPrefill::default()))
}

/// Where a fresh (or kept) session goes, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterSignIn {
    /// A page of this app, opened in place of the sign-in card.
    Navigate(String),
    /// Hand the session over to KMC with a POST form.
    KmcHandoff(String),
}

/// Decides where a session goes: back to the page that sent the user to
/// sign in (only a path [`crate::routes::is_safe_return_path`] allows, so no
/// open redirect), else to KMC when configured, else to the account page.
pub fn after_sign_in(return_to: Option<&str>, kmc_url: Option<&str>) -> AfterSignIn {
    match (
        return_to.filter(|p| crate::routes::is_safe_return_path(p)),
        kmc_url,
    ) {
        (Some(path), _) => AfterSignIn::Navigate(path.to_owned()),
        (None, Some(kmc)) => AfterSignIn::KmcHandoff(kmc.to_owned()),
        (None, None) => AfterSignIn::Navigate(crate::routes::ACCOUNT.to_owned()),
    }
}

/// Hands the session over to KMC the way KMC reads it, without putting the
/// KS in a URL: a POST form with a `ks` field to
/// `{kmc_base}/actions/persist-login-by-ks` ([`crate::config::kmc_handoff_url`]),
/// built and submitted at once. KMC signs in with a posted KS only on that
/// route (and `actions/login-by-ks`, which does not keep the session); at its
/// root it would show its own login page. The page then leaves the app.
///
/// The form is sent with `requestSubmit`, so a `submit` event fires first
/// (the browser tests read the form there and keep the page); browsers
/// without it fall back to `submit`.
pub fn handoff_to_kmc(kmc_base: &str, ks: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let (Ok(form), Ok(field)) = (
            document.create_element("form"),
            document.create_element("input"),
        ) else {
            return;
        };
        let (Ok(form), Ok(field)) = (
            form.dyn_into::<web_sys::HtmlFormElement>(),
            field.dyn_into::<web_sys::HtmlInputElement>(),
        ) else {
            return;
        };
        form.set_method("post");
        form.set_action(&crate::config::kmc_handoff_url(kmc_base));
        form.set_hidden(true);
        form.set_attribute("data-testid", "kmc-handoff").ok();
        field.set_type("hidden");
        field.set_name("ks");
        field.set_value(ks);
        let _ = form.append_child(&field);
        if let Some(body) = document.body() {
            let _ = body.append_child(&form);
            if form.request_submit().is_err() {
                form.submit().ok();
            }
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (kmc_base, ks);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sign_in_goes_back_first_then_to_kmc_then_to_the_account_page() {
        assert_eq!(
            after_sign_in(Some("/account"), Some("https://kmc.example")),
            AfterSignIn::Navigate("/account".into())
        );
        assert_eq!(
            after_sign_in(None, Some("https://kmc.example")),
            AfterSignIn::KmcHandoff("https://kmc.example".into())
        );
        assert_eq!(
            after_sign_in(Some("https://evil.example"), None),
            AfterSignIn::Navigate("/account".into())
        );
        assert_eq!(
            after_sign_in(Some("//evil.example"), None),
            AfterSignIn::Navigate("/account".into())
        );
    }
}
