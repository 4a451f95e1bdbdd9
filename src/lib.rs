//! KMC Login: the sign-in front end of Kaltura's management console, with
//! authenticator-app two-factor authentication.
//!
//! A Leptos 0.8 client-side app. Serves:
//! - [`App`] — the context every page relies on, and [`Pages`], the page for the path;
//! - [`api`] — the one typed Kaltura API client;
//! - [`config`] — `config.json`;
//! - [`fetch`] — the one fetch path (gloo-net) and its one timeout;
//! - [`i18n`] — the languages: messages by key, the choice, `<html lang dir>`;
//! - [`handover`] — the static card of `index.html` giving way to the app;
//! - [`session`] — the KS in `sessionStorage` and the sign-in prefill;
//! - [`routes`] — the route paths, read by [`routes::Route::parse`];
//! - [`router`] — the address bar as a signal, moves between pages, [`router::Link`];
//! - [`pages`] and [`components`] — the views;
//! - [`request`] — a form's background request and its pending flag;
//! - [`totp`], [`password_rules`] — pure logic for enrollment and new passwords;
//! - [`wire`] — JSON through serde and the browser's `JSON.parse`.

pub mod api;
pub mod components;
pub mod config;
pub mod fetch;
pub mod handover;
pub mod i18n;
pub mod pages;
pub mod password_rules;
pub mod request;
pub mod router;
pub mod routes;
pub mod session;
pub mod totp;
pub mod wire;

use leptos::prelude::*;

use crate::api::{ApiClient, provide_api};
use crate::components::language_picker::LanguagePicker;
use crate::config::AppConfig;
use crate::i18n::{t, use_title};
use crate::pages::account::AccountPage;
use crate::pages::enroll::Enroll;
use crate::pages::login::LoginPage;
use crate::pages::restore_password::RestorePassword;
use crate::router::{Link, provide_router, use_navigator};
use crate::routes::Route;

/// The whole app: provides the API client, the configuration and the sign-in
/// prefill, then routes; the language picker sits under every page.
#[component]
pub fn App(
    /// The configuration read from `config.json` (or the defaults).
    config: AppConfig,
) -> impl IntoView {
    provide_api(
        ApiClient::with_fetch(config.service_url.clone())
            .with_ks_shape(config.privileges.clone(), config.expiry),
    );
    provide_context(config);
    session::provide_login_prefill();
    provide_router();
    view! {
        <main class="page">
            <Pages />
        </main>
        <footer class="page-footer">
            <LanguagePicker />
        </footer>
    }
}

/// The page for the current path (see [`routes::Route::parse`]); needs
/// [`router::provide_router`] above it. A page is drawn afresh only when the
/// route changes.
#[component]
pub fn Pages() -> impl IntoView {
    let navigator = use_navigator();
    let route = Memo::new(move |_| Route::parse(&navigator.path()));
    move || {
        let route = route.get();
        // The page's own reads must not subscribe this switch.
        untrack(move || match route {
            Route::Root | Route::Login => view! { <LoginPage /> }.into_any(),
            Route::Account => view! { <AccountPage /> }.into_any(),
            Route::Enroll(hash_key) => view! { <Enroll hash_key=hash_key /> }.into_any(),
            Route::RestorePassword(hash_key) => {
                view! { <RestorePassword hash_key=hash_key /> }.into_any()
            }
            Route::NotFound => view! { <NotFound /> }.into_any(),
        })
    }
}

/// Shown for any path the app does not know.
#[component]
fn NotFound() -> impl IntoView {
    use_title("page.not-found");
    view! {
        <section class="card">
            <h1>{t("notfound.title")}</h1>
            <p>
                <Link href=routes::LOGIN>{t("notfound.link")}</Link>
            </p>
        </section>
    }
}
