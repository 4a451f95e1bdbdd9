//! What setting the password led to: set ([`PasswordSet`]), perhaps set
//! ([`MaybeSet`]), and the button on to the sign-in card.

use leptos::prelude::*;

use super::MAYBE_SET;
use crate::components::enrollment::{EnrollmentKey, EnrollmentView};
use crate::components::focus::Heading;
use crate::components::reset_request::ResetRequestForm;
use crate::i18n::t;
use crate::routes::{self, use_navigator};
use crate::session::use_login_prefill;

/// The button on to the sign-in card, with the login's email filled in.
#[component]
pub(super) fn ContinueToSignIn(
    /// The login's email, when known.
    email: Memo<Option<String>>,
    /// The key of the button's label.
    label: &'static str,
) -> impl IntoView {
    let prefill = use_login_prefill();
    let navigate = use_navigator();
    let on_click = move |_| {
        let email = email.get_untracked();
        prefill.update(|p| {
            if email.is_some() {
                p.email = email;
            }
            p.open_code_step = false;
        });
        navigate.go(routes::LOGIN);
    };
    view! {
        <div class="actions">
            <button type="button" class="primary" data-testid="password-set-continue" on:click=on_click>
                {t(label)}
            </button>
        </div>
    }
}

/// The password is set: for a 2FA login, the new key at once (the old
/// authenticator entry stopped working); otherwise on to sign-in.
#[component]
pub(super) fn PasswordSet(
    /// The new key, when the login uses two-factor authentication.
    key: Option<EnrollmentKey>,
    /// The login's email, when known.
    email: Memo<Option<String>>,
) -> impl IntoView {
    match key {
        Some(key) => view! {
            <Heading>{t("restore.set-title")}</Heading>
            <p class="warning" role="note" data-testid="old-authenticator-warning">
                {t("restore.old-authenticator")}
            </p>
            <EnrollmentView enrollment=key />
        }
        .into_any(),
        None => view! {
            <div data-testid="password-set">
                <Heading>{t("restore.set-title")}</Heading>
                <p>{t("restore.sign-in-new")}</p>
                <ContinueToSignIn email=email label="common.continue-to-sign-in" />
            </div>
        }
        .into_any(),
    }
}

/// The outcome is unknown: the password may have been changed and the link
/// spent; sign in with it, or ask for a new link.
#[component]
pub(super) fn MaybeSet(
    /// The login's email, when known.
    email: Memo<Option<String>>,
) -> impl IntoView {
    view! {
        <div data-testid="password-maybe-set" role="alert">
            <Heading>{t("restore.maybe-title")}</Heading>
            <p>{t(MAYBE_SET)}</p>
        </div>
        <ContinueToSignIn email=email label="restore.sign-in-with-new" />
        <ResetRequestForm email_id="reset-email" submit_test_id="reset-submit" result_test_id="reset-result" />
    }
}
