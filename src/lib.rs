//! KMC Login: the sign-in front end of Kaltura's management console, with
//! authenticator-app two-factor authentication.
//!
//! A Leptos 0.8 client-side app. Serves:
//! - [`App`] — the context every page relies on, and the router;
//! - [`api`] — the one typed Kaltura API client;
//! - [`config`] — `config.json`;
//! - [`fetch`] — the one fetch path (gloo-net) and its one timeout;
//! - [`i18n`] — the languages: messages by key, the choice, `<html lang dir>`;
//! - [`handover`] — the static card of `index.html` giving way to the app;
//! - [`platform`] — the browser (storage, origin, clock, title, a posted form) behind one
//!   facade, with in-memory stand-ins natively;
//! - [`session`] — the KS in `sessionStorage`, the signed-in client and the sign-in prefill;
//! - [`routes`] — the route paths, the route tree and its guards (leptos_router);
//! - [`pages`] and [`components`] — the views;
//! - [`explain`] — the refused or failed calls in plain words;
//! - [`password_change`] — a password change: its checks and its one outcome type;
//! - [`totp`], [`password_rules`] — pure logic for enrollment and new passwords (and the
//!   server's refusals of a new password);
//! - [`wire`] — JSON through serde and the browser's `JSON.parse`.

pub mod api;
pub mod components;
pub mod config;
pub mod explain;
pub mod fetch;
pub mod handover;
pub mod i18n;
pub mod pages;
pub mod password_change;
pub mod password_rules;
pub mod platform;
pub mod routes;
pub mod session;
pub mod totp;
pub mod wire;

use leptos::prelude::*;
use leptos_router::components::Router;

use crate::api::{ApiClient, provide_api};
use crate::components::language_picker::LanguagePicker;
use crate::config::AppConfig;
use crate::i18n::{t, use_title};
use crate::routes::AppRoutes;

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
    view! {
        <Router>
            <main class="page">
                <AppRoutes />
            </main>
            <footer class="page-footer">
                <LanguagePicker />
            </footer>
        </Router>
    }
}

/// Shown for any path the app does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    use_title("page.not-found");
    view! {
        <section class="card">
            <h1>{t("notfound.title")}</h1>
            <p class="link-line">
                <a href=routes::LOGIN>{t("notfound.link")}</a>
            </p>
        </section>
    }
}
