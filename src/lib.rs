//! KMC Login: the sign-in front end of Kaltura's management console, with
//! authenticator-app two-factor authentication.
//!
//! A Leptos 0.8 client-side app. Serves:
//! - [`App`] — the router and the context every page relies on;
//! - [`api`] — the one typed Kaltura API client;
//! - [`config`] — `config.json`;
//! - [`i18n`] — the languages: messages by key, the choice, `<html lang dir>`;
//! - [`handover`] — the static card of `index.html` giving way to the app;
//! - [`session`] — the KS in `sessionStorage` and the sign-in prefill;
//! - [`routes`] — the route paths;
//! - [`pages`] and [`components`] — the views;
//! - [`request`] — a form's background request and its pending flag;
//! - [`totp`], [`password_rules`] — pure logic for enrollment and new passwords;
//! - [`wire`] — JSON through serde and the browser's `JSON.parse`.

pub mod api;
pub mod components;
pub mod config;
pub mod handover;
pub mod i18n;
pub mod pages;
pub mod password_rules;
pub mod request;
pub mod routes;
pub mod session;
pub mod totp;
pub mod wire;

use leptos::prelude::*;
use leptos_router::components::{FlatRoutes, Redirect, Route, Router};
use leptos_router::path;

use crate::api::{ApiClient, provide_api};
use crate::components::language_picker::LanguagePicker;
use crate::config::AppConfig;
use crate::i18n::{t, use_title};
use crate::pages::account::AccountPage;
use crate::pages::enroll::EnrollPage;
use crate::pages::login::LoginPage;
use crate::pages::restore_password::RestorePasswordPage;

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
                <FlatRoutes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") view=|| view! { <Redirect path=routes::LOGIN /> } />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/account") view=AccountPage />
                    <Route path=path!("/actions/auth-info/:hashKey") view=EnrollPage />
                    <Route path=path!("/actions/restore-password/:hashKey") view=RestorePasswordPage />
                </FlatRoutes>
            </main>
            <footer class="page-footer">
                <LanguagePicker />
            </footer>
        </Router>
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
                <leptos_router::components::A href=routes::LOGIN>
                    {t("notfound.link")}
                </leptos_router::components::A>
            </p>
        </section>
    }
}
