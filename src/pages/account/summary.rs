//! Who is signed in and into which account, "Open KMC", and the message when
//! the page could not load.

use leptos::prelude::*;

use super::{AccountData, account_label};
use crate::api::{ApiError, SignedInClient};
use crate::components::signed_in_as::SignedInAs;
use crate::config::use_config;
use crate::explain::{UNREACHABLE, login_error_message};
use crate::i18n::{Text, t};
use crate::session;
use kaltura_api::codes;

/// The signed-in user, the current account (and why details are missing
/// for a user who is not an account admin), and "Open KMC" when configured.
#[component]
pub(super) fn AccountSummary(
    /// What the page loaded.
    data: AccountData,
    /// The session's client; its KS is handed to KMC by "Open KMC".
    client: RwSignal<Option<SignedInClient>>,
) -> impl IntoView {
    let kmc_url = use_config().kmc_url;
    let label = account_label(&data.partner);
    view! {
        <div class="who">
            <SignedInAs name=data.user.display_name() email=data.email() />
            <p data-testid="current-account">
                <strong>{label.signal()}</strong>
            </p>
            {data
                .limited
                .then(|| {
                    view! {
                        <p class="muted" data-testid="account-details-limited">
                            {t("account.limited")}
                        </p>
                    }
                })}
        </div>
        {kmc_url
            .map(|kmc| {
                view! {
                    <button
                        type="button"
                        data-testid="open-kmc"
                        on:click=move |_| {
                            if let Some(client) = client.get_untracked() {
                                session::handoff_to_kmc(&kmc, client.ks());
                            }
                        }
                    >
                        {t("account.open-kmc")}
                    </button>
                }
            })}
    }
}

/// Why the page could not load, with "Try again"; an ended session only
/// says so, as the page is leaving for sign-in.
#[component]
pub(super) fn LoadError(
    /// What the load ended with.
    error: ApiError,
    /// Loads again.
    retry: Callback<()>,
) -> impl IntoView {
    if error.is(codes::INVALID_KS) {
        return view! { <p class="muted">{t("account.session-ended")}</p> }.into_any();
    }
    let message = if error.is_unreachable() {
        Text::key(UNREACHABLE)
    } else {
        login_error_message(&error)
    };
    view! {
        <div class="alert" role="alert" data-testid="account-load-error">
            {message.signal()}
        </div>
        <button type="button" class="secondary" data-testid="retry" on:click=move |_| retry.run(())>
            {t("common.try-again")}
        </button>
    }
    .into_any()
}
