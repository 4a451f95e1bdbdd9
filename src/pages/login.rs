//! The sign-in card (`/login`; `/` opens it in place).
//!
//! One card, two steps: email and password first (`otp` sent as `""`, as KMC
//! does); when the server answers `MISSING_OTP` the same card expands in place
//! to ask for the authenticator code. `PASSWORD_EXPIRED` turns the card into
//! the expired-password step (new password, confirm, and the code when the
//! login needs one), which then signs in again with the new password.
//!
//! Parts: [`LoginPage`] holds the card's state ([`Card`]) and its two
//! requests; [`forms`] draws the credentials form, the expired-password form
//! and "Forgot password?"; [`steps`] decides what each answer does to the
//! card (plain functions with native tests); [`offer`] is what `/login` shows
//! when this tab already has a session.

mod card;
mod forms;
mod offer;
pub mod steps;

use leptos::prelude::*;

use crate::api::{Session, use_api};
use crate::components::alert::Alert;
use crate::components::focus::focus_soon;
use crate::config::use_config;
use crate::i18n::{t, text, tr, use_title};
use crate::password_change::PasswordChange;
use crate::routes::use_navigator;
use crate::session::{self, AfterSignIn, LoginPrefill, after_sign_in, use_login_prefill};
use kaltura_api::codes;

use card::{Card, LoginAttempt, UpdateAttempt};
pub use offer::SignedInOffer;
use steps::{LoginStep, after_login, after_password_change};

/// The sign-in card: email and password, then, when the login needs it, the
/// authenticator code in the same card; the expired-password step; "Forgot
/// password?"; "Remember my email".
#[component]
pub fn LoginPage() -> impl IntoView {
    let api = use_api();
    let kmc_url = use_config().kmc_url;
    let navigate = use_navigator();
    // What another page asked for is taken once, so a later visit starts clean.
    let prefill_signal = use_login_prefill();
    let prefill = prefill_signal.get_untracked();
    prefill_signal.set(LoginPrefill::default());
    let return_to = prefill.return_to.clone();
    let card = Card::new(prefill);

    let signed_in = move |session: Session| {
        session::store_session(&session);
        let typed = card.email.get_untracked();
        session::remember_email(card.remember.get_untracked().then_some(typed.trim()));
        match after_sign_in(return_to.as_deref(), kmc_url.as_deref()) {
            // In place of the card: back must not return to a used sign-in form.
            AfterSignIn::Navigate(path) => navigate.replace(&path),
            AfterSignIn::KmcHandoff(kmc) => session::handoff_to_kmc(&kmc, &session.ks),
        }
    };

    // The card's one request: a sign-in, or a password change from the
    // expired-password step followed by a sign-in with the new password.
    let send = Action::new_local(move |attempt: &Result<LoginAttempt, UpdateAttempt>| {
        let (api, attempt, signed_in) = (api.clone(), attempt.clone(), signed_in.clone());
        async move {
            let attempt = match attempt {
                Ok(login) => login,
                Err(change) => {
                    let (email, old, new) = (&change.email, &change.old, &change.new);
                    let result = api
                        .update_password(email, old, new, change.otp.as_deref())
                        .await;
                    let code_needed = card.step.get_untracked()
                        == (LoginStep::ExpiredPassword { code_needed: true });
                    let outcome = PasswordChange::from_result(&result);
                    card.apply(after_password_change(code_needed, &outcome));
                    if outcome != PasswordChange::Changed {
                        return;
                    }
                    // The new password is the one to sign in with; the code just
                    // used cannot be used twice, so the code step opens if needed.
                    card.password.set(change.new.clone());
                    for field in [
                        card.new_password,
                        card.confirm_password,
                        card.expired_code,
                        card.code,
                    ] {
                        field.set(String::new());
                    }
                    LoginAttempt {
                        email: change.email,
                        password: change.new,
                        otp: String::new(),
                        partner_id: card.partner_id.get_untracked(),
                    }
                }
            };
            let result = api
                .login(
                    &attempt.email,
                    &attempt.password,
                    &attempt.otp,
                    attempt.partner_id,
                )
                .await;
            let accepted = card
                .accepted_password
                .with_value(|p| p.as_deref() == Some(attempt.password.as_str()));
            let step = card.step.get_untracked();
            match result {
                Ok(session) => {
                    card.accepted_password.set_value(None);
                    card.apply(after_login(step, accepted, &Ok(())));
                    signed_in(session);
                }
                Err(err) => {
                    if err.is(codes::MISSING_OTP) {
                        card.accepted_password.set_value(Some(attempt.password));
                    }
                    card.apply(after_login(step, accepted, &Err(err)));
                }
            }
        }
    });

    let pending = Signal::from(send.pending());
    // One submit path for the button, Enter, the code's auto-submit and retry.
    let submit = Callback::new(move |()| {
        if pending.get_untracked() {
            return;
        }
        if let Some(attempt) = card.attempt() {
            send.dispatch(attempt);
        }
    });

    // First focus: the first empty field, so keyboard users can type at once; unless the
    // person is already typing in the static card, whose focus the hand-over keeps.
    if !crate::handover::focus_was_kept() {
        let empty = card.email.get_untracked().is_empty();
        focus_soon(if empty {
            "login-email"
        } else {
            "login-password"
        });
    }
    use_title("page.login");
    let expired =
        Signal::derive(move || matches!(card.step.get(), LoginStep::ExpiredPassword { .. }));
    let code_step = Signal::derive(move || card.step.get() == LoginStep::Code);

    view! {
        <section class="card" data-testid="login-card" class:expanded=move || code_step.get()>
            <h1>
                {text(move || tr(if expired.get() { "login.expired-title" } else { "login.title" }))}
            </h1>
            <Alert message=card.alert test_id=card::ALERT />
            <Show when=move || card.retry.get()>
                <button type="button" class="secondary" data-testid="retry" on:click=move |_| submit.run(())>
                    {t("common.try-again")}
                </button>
            </Show>
            <Alert message=card.status test_id="login-status" polite=true />
            <Show
                when=move || !expired.get()
                fallback=move || view! { <forms::ExpiredPasswordForm card=card pending=pending submit=submit /> }
            >
                <forms::CredentialsForm card=card pending=pending submit=submit />
                <forms::ForgotPassword email=card.email />
            </Show>
        </section>
    }
}
