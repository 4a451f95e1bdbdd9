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

use crate::api::{ApiClient, Session, SignedInClient};
use crate::platform::{self, Store};

/// `sessionStorage` key of the KS.
pub const KS_KEY: &str = "kmc.ks";
/// `localStorage` key of the remembered email.
pub const EMAIL_KEY: &str = "kmc.email";

/// The key of the notice shown on the sign-in card after the server refused the KS.
pub const SESSION_ENDED: &str = "account.session-ended-notice";

/// The stored session, if signed in in this tab.
pub fn stored_session() -> Option<Session> {
    platform::get(Store::Session, KS_KEY).map(|ks| Session { ks })
}

/// The signed-in client of the stored session, if signed in in this tab.
pub fn signed_in_client(api: &ApiClient) -> Option<SignedInClient> {
    stored_session().map(|session| api.signed_in(session))
}

/// Keeps the session of a sign-in (or a switch), replacing any previous one.
pub fn store_session(session: &Session) {
    platform::set(Store::Session, KS_KEY, &session.ks);
}

/// Forgets the session (logout, or the server said it is no longer valid).
pub fn clear_session() {
    platform::remove(Store::Session, KS_KEY);
}

/// The email the user asked the app to remember.
pub fn remembered_email() -> Option<String> {
    platform::get(Store::Local, EMAIL_KEY)
}

/// Remembers the email (`Some`) or forgets it (`None`). Only the email is
/// ever written to `localStorage`.
pub fn remember_email(email: Option<&str>) {
    match email {
        Some(email) => platform::set(Store::Local, EMAIL_KEY, email),
        None => platform::remove(Store::Local, EMAIL_KEY),
    }
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
    platform::post_form(
        &crate::config::kmc_handoff_url(kmc_base),
        "ks",
        ks,
        "kmc-handoff",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_kept_in_session_storage_only_and_the_email_in_local_storage() {
        store_session(&Session {
            ks: "djJ8ks".into(),
        });
        remember_email(Some("ada@example.com"));
        assert_eq!(
            platform::get(Store::Session, KS_KEY).as_deref(),
            Some("djJ8ks")
        );
        assert_eq!(platform::get(Store::Local, KS_KEY), None);
        assert_eq!(
            platform::get(Store::Local, EMAIL_KEY).as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(
            stored_session(),
            Some(Session {
                ks: "djJ8ks".into()
            })
        );
        clear_session();
        remember_email(None);
        assert_eq!(stored_session(), None);
        assert_eq!(remembered_email(), None);
    }

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
