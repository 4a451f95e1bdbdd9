//! The sign-in card's forms: the credentials with the code step and its
//! "Lost your authenticator?", the expired-password step, and "Forgot
//! password?". A submit button is disabled and `aria-busy` while its request
//! is in flight, and the page ignores submits meanwhile: one request per press.

use std::sync::Arc;

use leptos::prelude::*;

use super::Card;
use super::steps::LoginStep;
use crate::components::code_input::{CodeInput, ExpandingCodeInput};
use crate::components::password_field::PasswordField;
use crate::components::reset_request::ResetRequestForm;
use crate::i18n::{slotted, t, text, tr};
use crate::routes;
use crate::session::use_login_prefill;

/// Email, password, the code step that expands in place, "Remember my
/// email", and "Use another account" on the code step.
#[component]
pub(super) fn CredentialsForm(
    /// The card's state.
    card: Card,
    /// A request is in flight.
    pending: Signal<bool>,
    /// Sends the form (Enter, the button, a complete code).
    submit: Callback<()>,
) -> impl IntoView {
    let code_step = Signal::derive(move || card.step.get() == LoginStep::Code);
    let label = text(move || {
        tr(if pending.get() {
            "login.signing-in"
        } else {
            "login.submit"
        })
    });
    view! {
        <form
            data-testid="login-form"
            on:submit=move |ev| {
                ev.prevent_default();
                submit.run(());
            }
        >
            <div class="field">
                <label for="login-email">{t("common.email")}</label>
                <input
                    id="login-email"
                    name="email"
                    type="email"
                    autocomplete="username"
                    autocapitalize="off"
                    spellcheck="false"
                    required=true
                    bind:value=card.email
                />
            </div>
            <PasswordField
                id="login-password"
                label="password.label"
                value=card.password
                autocomplete="current-password"
                toggle_test_id="toggle-password"
                required=true
            />
            <div class="code-step" aria-hidden=move || if code_step.get() { "false" } else { "true" }>
                <CodeInput
                    id="login-otp"
                    label="common.code-label"
                    value=card.code
                    describedby="login-otp-hint"
                    disabled=Signal::derive(move || !code_step.get())
                    on_complete=move |_| submit.run(())
                />
                <p id="login-otp-hint" class="muted">{t("login.code-hint")}</p>
                // Only on the code step: a link hidden from screen readers must not take focus.
                {move || code_step.get().then(|| view! { <LostAuthenticator email=card.email /> })}
            </div>
            <label class="checkbox">
                <input id="remember-email" type="checkbox" bind:checked=card.remember />
                {t("login.remember")}
            </label>
            <button
                type="submit"
                data-testid="login-submit"
                disabled=move || pending.get()
                aria-busy=move || if pending.get() { "true" } else { "false" }
            >
                {label}
            </button>
            <Show when=move || code_step.get()>
                <button
                    type="button"
                    class="link"
                    data-testid="use-another-account"
                    on:click=move |_| card.use_another_account()
                >
                    {t("login.use-another")}
                </button>
            </Show>
        </form>
    }
}

/// The expired-password step: a new password, twice, and the code when the
/// login needs one; then the card signs in with it.
#[component]
pub(super) fn ExpiredPasswordForm(
    /// The card's state.
    card: Card,
    /// A request is in flight.
    pending: Signal<bool>,
    /// Sends the form.
    submit: Callback<()>,
) -> impl IntoView {
    let code_needed = Signal::derive(move || {
        card.step.get() == (LoginStep::ExpiredPassword { code_needed: true })
    });
    let email = card.email;
    view! {
        <form
            data-testid="expired-form"
            on:submit=move |ev| {
                ev.prevent_default();
                submit.run(());
            }
        >
            <p class="muted">
                {slotted(
                    "login.expired-intro",
                    Arc::new(move |_| view! { <strong>{email.get()}</strong> }.into_any()),
                )}
            </p>
            <PasswordField
                id="expired-new-password"
                label="password.new"
                value=card.new_password
                autocomplete="new-password"
                required=true
            />
            <PasswordField
                id="expired-confirm-password"
                label="password.confirm-new"
                value=card.confirm_password
                autocomplete="new-password"
                required=true
            />
            <ExpandingCodeInput
                id="expired-otp"
                shown=code_needed
                value=card.expired_code
                on_complete=move |_| submit.run(())
            />
            <button
                type="submit"
                data-testid="expired-submit"
                disabled=move || pending.get()
                aria-busy=move || if pending.get() { "true" } else { "false" }
            >
                {move || tr(if pending.get() { "common.saving" } else { "login.expired-submit" })}
            </button>
        </form>
    }
}

/// "Lost your authenticator?" below the code field: a password reset mails a
/// new QR code. The link opens the reset request through the router, with the
/// card's email passed in memory, not in the URL.
#[component]
fn LostAuthenticator(
    /// The card's email field.
    email: RwSignal<String>,
) -> impl IntoView {
    let prefill = use_login_prefill();
    // A listener on the link itself (leptos does not delegate events here),
    // so it runs before the router's window-wide click handler opens the page.
    let pass_email = move |_| {
        let typed = email.get_untracked().trim().to_owned();
        prefill.update(|p| p.email = Some(typed).filter(|e| !e.is_empty()));
    };
    view! {
        <p class="muted" data-testid="lost-authenticator">
            <a href=routes::RESET_REQUEST data-testid="lost-authenticator-link" on:click=pass_email>
                {t("login.lost-authenticator")}
            </a>
            " "
            {t("enroll.dead-next")}
        </p>
    }
}

/// "Forgot password?": opens the reset request, started with the email typed
/// on the card.
#[component]
pub(super) fn ForgotPassword(
    /// The card's email field.
    email: RwSignal<String>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <div class="forgot">
            <button
                type="button"
                class="link"
                data-testid="forgot-password"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| open.update(|open| *open = !*open)
            >
                {t("login.forgot")}
            </button>
            <Show when=move || open.get()>
                <p class="muted">{t("login.forgot-intro")}</p>
                <ResetRequestForm
                    email_id="forgot-email"
                    submit_test_id="forgot-submit"
                    result_test_id="forgot-result"
                    initial_email=email.get_untracked().trim().to_owned()
                />
            </Show>
        </div>
    }
}
