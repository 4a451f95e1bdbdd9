//! What `/login` shows when this tab already has a session: whose it is,
//! and the way on, instead of a sign-in card that can no longer be used.

use kaltura_api::{KalturaApiError, codes};
use leptos::prelude::*;

use super::LoginPage;
use crate::api::{ApiError, use_api};
use crate::components::signed_in_as::SignedInAs;
use crate::config::use_config;
use crate::i18n::{t, use_title};
use crate::routes::use_navigator;
use crate::session::{self, AfterSignIn, after_sign_in, use_login_prefill};

/// `/login` when this tab already has a session: whose it is, "Continue"
/// (where a fresh sign-in would go: back, to KMC, or to the account page)
/// and "Use another account". A session the server no longer knows is
/// forgotten and the sign-in card shows instead.
#[component]
pub fn SignedInOffer() -> impl IntoView {
    let api = use_api();
    let config = use_config();
    let navigate = use_navigator();
    let return_to = use_login_prefill().get_untracked().return_to;
    use_title("page.login");
    // The route shows this offer only with a session.
    let client = StoredValue::new(session::signed_in_client(&api));
    let card = RwSignal::new(false);
    let user = LocalResource::new(move || {
        let client = client.get_value();
        async move {
            match client {
                Some(client) => client.get_user().await,
                None => Err(ApiError::Api(KalturaApiError::new(codes::INVALID_KS, ""))),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = user.get()
            && e.is(codes::INVALID_KS)
        {
            session::clear_session();
            card.set(true);
        }
    });
    let kmc_url = config.kmc_url.clone();
    let go_on = move |_| match after_sign_in(return_to.as_deref(), kmc_url.as_deref()) {
        AfterSignIn::Navigate(path) => navigate.replace(&path),
        AfterSignIn::KmcHandoff(kmc) => {
            if let Some(client) = client.get_value() {
                session::handoff_to_kmc(&kmc, client.ks());
            }
        }
    };
    let go_on = StoredValue::new_local(go_on);
    let use_another = move |_| {
        session::clear_session();
        // Ended on the server too; if it cannot be reached the KS expires on its own.
        if let Some(old) = client.get_value() {
            leptos::task::spawn_local(async move {
                let _ = old.end_session().await;
            });
        }
        card.set(true);
    };
    move || {
        if card.get() {
            return view! { <LoginPage /> }.into_any();
        }
        match user.get() {
            None => view! {
                <section class="card" data-testid="signed-in-offer">
                    <h1>{t("login.title")}</h1>
                    <p class="muted">{t("account.loading")}</p>
                </section>
            }
            .into_any(),
            Some(Ok(user)) => {
                let (name, email) = (
                    user.display_name(),
                    user.email.clone().unwrap_or_else(|| user.id.clone()),
                );
                view! {
                    <section class="card" data-testid="signed-in-offer">
                        <h1>{t("login.title")}</h1>
                        <SignedInAs name=name email=email />
                        <div class="actions">
                            <button
                                type="button"
                                class="primary"
                                data-testid="continue-signed-in"
                                on:click=move |ev| go_on.with_value(|f| f(ev))
                            >
                                {t("login.continue")}
                            </button>
                            <button
                                type="button"
                                class="link"
                                data-testid="use-another-account"
                                on:click=use_another
                            >
                                {t("login.use-another")}
                            </button>
                        </div>
                    </section>
                }
                .into_any()
            }
            // Not reached: the card, whose sign-in will say so.
            Some(Err(_)) => view! { <LoginPage /> }.into_any(),
        }
    }
}
