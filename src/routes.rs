//! Every route of the app, in one place: the paths, the route tree
//! ([`AppRoutes`], leptos_router's `FlatRoutes`) and the decisions taken
//! before a page is drawn (the guards).
//!
//! - `/` opens [`LOGIN`] in place of its own history entry;
//! - [`LOGIN`] with a session in this tab offers to go on with it
//!   ([`crate::pages::login::SignedInOffer`]) instead of an unusable card;
//! - [`ACCOUNT`] without a session opens [`LOGIN`] in its place, and sign-in
//!   comes back here;
//! - [`RESET_REQUEST`] asks for a reset link, started with the email the
//!   sign-in card passed in memory ([`crate::session::LoginPrefill`]), never
//!   in the URL;
//! - the two link paths are Kaltura's own, so links in emails sent by a real
//!   Kaltura server open the matching pages here. The link's key is the
//!   route's `hash_key` param; once the server has answered, the page takes
//!   it out of the address bar with [`Navigator::forget_link_key`] (the key is
//!   optional in the route, so the page stays as it is meanwhile).

use leptos::Params;
use leptos::prelude::*;
use leptos_router::components::{FlatRoutes, Route};
use leptos_router::hooks::{use_navigate, use_params};
use leptos_router::params::Params;
use leptos_router::{NavigateOptions, path};

use crate::pages::account::AccountPage;
use crate::pages::enroll::EnrollPage;
use crate::pages::login::{LoginPage, SignedInOffer};
use crate::pages::reset_request::ResetRequestPage;
use crate::pages::restore_password::RestorePasswordPage;
use crate::session;

/// The sign-in card.
pub const LOGIN: &str = "/login";
/// The signed-in account page.
pub const ACCOUNT: &str = "/account";
/// The reset request ("Lost your authenticator?" on the code step).
pub const RESET_REQUEST: &str = "/reset-password";
/// The enrollment (QR) link, without its key: `/actions/auth-info/{hashKey}`.
pub const AUTH_INFO: &str = "/actions/auth-info";
/// The set-new-password link, without its key: `/actions/restore-password/{hashKey}`.
pub const RESTORE_PASSWORD: &str = "/actions/restore-password";

/// The app's routes; needs a leptos_router `Router` above it.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <FlatRoutes fallback=crate::NotFound>
            <Route path=path!("/") view=|| use_navigator().replace(LOGIN) />
            <Route path=path!("/login") view=LoginRoute />
            <Route path=path!("/account") view=AccountRoute />
            <Route path=path!("/reset-password") view=ResetRequestPage />
            <Route path=path!("/actions/auth-info/:hash_key?") view=EnrollPage />
            <Route path=path!("/actions/restore-password/:hash_key?") view=RestorePasswordPage />
        </FlatRoutes>
    }
}

/// `/login`: the sign-in card, or, with a session in this tab, the offer to
/// go on with it.
#[component]
fn LoginRoute() -> impl IntoView {
    match session::stored_session() {
        Some(_) => view! { <SignedInOffer /> }.into_any(),
        None => view! { <LoginPage /> }.into_any(),
    }
}

/// `/account`: the account page when signed in; otherwise sign-in opens in
/// its place (so the back button does not return to a guard) and comes back.
#[component]
fn AccountRoute() -> impl IntoView {
    if session::stored_session().is_some() {
        return view! { <AccountPage /> }.into_any();
    }
    session::use_login_prefill().update(|p| p.return_to = Some(ACCOUNT.to_owned()));
    use_navigator().replace(LOGIN);
    ().into_any()
}

/// A move that replaces the current history entry.
fn in_place() -> NavigateOptions {
    NavigateOptions {
        replace: true,
        ..NavigateOptions::default()
    }
}

/// True for the paths the sign-in page may send the user back to after
/// signing in: only the app's own signed-in pages, never an outside URL.
pub fn is_safe_return_path(path: &str) -> bool {
    path == ACCOUNT
}

/// The params of the link routes.
#[derive(Params, Clone, Debug, PartialEq)]
struct LinkParams {
    hash_key: Option<String>,
}

/// The link key of the current route, read once when the page opens (the
/// page keeps it in memory after the address bar has forgotten it); `None`
/// when the path has none.
pub fn use_link_key() -> Option<String> {
    use_params::<LinkParams>()
        .get_untracked()
        .ok()
        .and_then(|p| p.hash_key)
        .filter(|key| !key.is_empty())
}

/// leptos_router's `use_navigate`, made `Copy` so event handlers and
/// requests capture it freely.
#[derive(Clone, Copy)]
pub struct Navigator(StoredValue<Box<Navigate>, LocalStorage>);

/// What `use_navigate` returns.
type Navigate = dyn Fn(&str, NavigateOptions);

impl Navigator {
    /// Opens `path` as a new history entry (what a followed link does).
    pub fn go(&self, path: &str) {
        self.navigate(path, NavigateOptions::default());
    }

    /// Opens `path` in place of the current history entry, so the back
    /// button skips the page being left.
    pub fn replace(&self, path: &str) {
        self.navigate(path, in_place());
    }

    /// Takes the spent key out of the address bar and the history: the link's
    /// path stays, without its key, and the page is left as it is.
    pub fn forget_link_key(&self, link_path: &str) {
        self.navigate(
            link_path,
            NavigateOptions {
                scroll: false,
                ..in_place()
            },
        );
    }

    fn navigate(&self, path: &str, options: NavigateOptions) {
        // A page left meanwhile (a late reply) has no navigator any more.
        let _ = self.0.try_with_value(|navigate| navigate(path, options));
    }
}

/// The [`Navigator`] of the `Router` above.
pub fn use_navigator() -> Navigator {
    let navigate = use_navigate();
    Navigator(StoredValue::new_local(Box::new(navigate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_account_page_is_a_return_target() {
        assert!(is_safe_return_path("/account"));
        assert!(!is_safe_return_path("//evil.example"));
        assert!(!is_safe_return_path("https://evil.example/account"));
        assert!(!is_safe_return_path("/login"));
    }
}
