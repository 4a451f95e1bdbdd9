//! The sign-in card (`/login`; `/` redirects here).
//!
//! One card, two steps: email and password first (`otp` sent as `""`, as KMC
//! does); when the server answers `MISSING_OTP` the same card expands in place
//! to ask for the authenticator code. `PASSWORD_EXPIRED` turns the card into
//! the expired-password step (new password, confirm, and the code when the
//! login needs one), which then signs in again with the new password.
//!
//! The decisions (which step comes next, which message to show, what to clear)
//! are plain functions with native tests: [`after_login`],
//! [`after_password_update`], [`login_error_message`],
//! [`password_update_error_message`].

use leptos::html::Input;
use leptos::prelude::*;

use crate::api::{ApiError, Session, use_api};
use crate::components::alert::Alert;
use crate::components::code_input::{CodeInput, ExpandingCodeInput, complete_code};
use crate::components::password_field::PasswordField;
use crate::components::reset_request::ResetRequestForm;
use crate::config::use_config;
use std::sync::Arc;

use crate::i18n::{Text, slotted, t, text, tr, use_title};
use crate::routes::use_navigator;
use crate::session::{self, AfterSignIn, LoginPrefill, after_sign_in, use_login_prefill};
use kaltura_api::codes;

/// Where the sign-in card is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStep {
    /// Email and password.
    Credentials,
    /// The card is expanded for the authenticator code.
    Code,
    /// The password has expired: choose a new one (with the code when
    /// `code_needed`).
    ExpiredPassword {
        /// The server asked for the authenticator code (`MISSING_OTP`).
        code_needed: bool,
    },
}

/// Which field should have the keyboard focus after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Leave focus where it is.
    Keep,
    /// The authenticator-code field of the current step.
    Code,
    /// The new-password field of the expired-password step.
    NewPassword,
}

/// What the card does with the outcome of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The step to show.
    pub step: LoginStep,
    /// An error for the `role=alert` region.
    pub alert: Option<Text>,
    /// A polite announcement (the code field appearing, say).
    pub status: Option<Text>,
    /// Offer the retry button: the server could not be reached.
    pub retry: bool,
    /// Empty the code field (a refused code).
    pub clear_code: bool,
    /// Empty the new-password fields (the server refused that password).
    pub clear_new_password: bool,
    /// Where the focus goes.
    pub focus: Focus,
}

impl Transition {
    fn stay(step: LoginStep) -> Self {
        Self {
            step,
            alert: None,
            status: None,
            retry: false,
            clear_code: false,
            clear_new_password: false,
            focus: Focus::Keep,
        }
    }
}

/// Announced when the card expands for the code.
pub const CODE_PROMPT: &str = "login.code-prompt";
/// Shown when the server cannot be reached, times out or answers garbage.
pub const UNREACHABLE: &str = "common.unreachable";
/// Shown when the server says the login is locked. How long it stays locked
/// is each server's (and on Kaltura each account's) setting, so no duration
/// is promised.
pub const LOCKED: &str = "login.locked";
/// Shown when a sign-in is refused as a wrong password on the code step,
/// although the same password was just accepted: Kaltura masks a lockout as
/// `USER_WRONG_PASSWORD`, and refused codes count towards it.
pub const BLOCKED_ON_CODE_STEP: &str = "login.blocked-on-code-step";
/// Shown after a refused authenticator code.
pub const CODE_REJECTED: &str = "login.code-rejected";

/// The message for a refused sign-in, in plain words. Unknown codes show the
/// server's own message.
pub fn login_error_message(err: &ApiError) -> Text {
    if err.is_unreachable() {
        return Text::key(UNREACHABLE);
    }
    let ApiError::Api(e) = err else {
        return Text::key(UNREACHABLE);
    };
    Text::key(match e.code.as_str() {
        codes::USER_WRONG_PASSWORD => "login.wrong-password",
        codes::LOGIN_BLOCKED | codes::LOGIN_RETRIES_EXCEEDED => LOCKED,
        codes::DIRECT_LOGIN_BLOCKED => "login.sso-only",
        codes::PASSWORD_EXPIRED => "login.password-expired",
        codes::INVALID_OTP => CODE_REJECTED,
        codes::MISSING_OTP => CODE_PROMPT,
        codes::USER_IS_BLOCKED => "login.user-blocked",
        codes::RESOURCE_IS_RESERVED => "login.too-many-attempts",
        // A code this page does not know: the server's own words (English
        // from a Kaltura server), else the code itself.
        _ if !e.message.trim().is_empty() => return Text::Raw(e.message.clone()),
        _ => return Text::with("common.server-refused", "code", e.code.clone()),
    })
}

/// The message for a refused password change (`adminUser.updatePassword`),
/// from the expired-password step or the account page.
pub fn password_update_error_message(err: &ApiError) -> Text {
    let ApiError::Api(e) = err else {
        return login_error_message(err);
    };
    Text::key(match e.code.as_str() {
        codes::PASSWORD_STRUCTURE_INVALID => {
            return match crate::password_rules::server_rules(e.arg("RULES")) {
                Some(rules) => Text::with("password.structure-rules", "rules", rules),
                None => Text::key("password.structure"),
            };
        }
        codes::COMMON_PASSWORD => "password.common",
        codes::PASSWORD_ALREADY_USED => "password.recently-used",
        codes::WRONG_OLD_PASSWORD | codes::USER_WRONG_PASSWORD => "password.wrong-current",
        codes::MISSING_OTP => "password.code-to-confirm",
        _ => return login_error_message(err),
    })
}

/// True for the refusals that concern the new password itself: those empty
/// the new-password fields, every other refusal keeps what was typed.
fn refuses_new_password(err: &ApiError) -> bool {
    [
        codes::PASSWORD_STRUCTURE_INVALID,
        codes::COMMON_PASSWORD,
        codes::PASSWORD_ALREADY_USED,
    ]
    .iter()
    .any(|code| err.is(code))
}

/// The next state of the card after `user.loginByLoginId` answered.
/// Success keeps the step (the page navigates away).
///
/// `password_accepted` says the password of this attempt is the one the
/// server already accepted (it answered `MISSING_OTP` to it): a
/// `USER_WRONG_PASSWORD` then cannot mean a wrong password, only a lockout
/// the server masks, and the card says so.
pub fn after_login(
    step: LoginStep,
    password_accepted: bool,
    result: &Result<(), ApiError>,
) -> Transition {
    let Err(err) = result else {
        return Transition::stay(step);
    };
    if err.is_unreachable() {
        return Transition {
            alert: Some(Text::key(UNREACHABLE)),
            retry: true,
            ..Transition::stay(step)
        };
    }
    match err.code() {
        Some(codes::MISSING_OTP) => Transition {
            status: Some(Text::key(CODE_PROMPT)),
            focus: Focus::Code,
            ..Transition::stay(LoginStep::Code)
        },
        Some(codes::INVALID_OTP) => Transition {
            alert: Some(Text::key(CODE_REJECTED)),
            clear_code: true,
            focus: Focus::Code,
            ..Transition::stay(LoginStep::Code)
        },
        Some(codes::PASSWORD_EXPIRED) => Transition {
            status: Some(Text::key("login.password-expired")),
            focus: Focus::NewPassword,
            ..Transition::stay(LoginStep::ExpiredPassword { code_needed: false })
        },
        Some(codes::USER_WRONG_PASSWORD) if step == LoginStep::Code && password_accepted => {
            Transition {
                alert: Some(Text::key(BLOCKED_ON_CODE_STEP)),
                ..Transition::stay(step)
            }
        }
        _ => Transition {
            alert: Some(login_error_message(err)),
            ..Transition::stay(step)
        },
    }
}

/// The next state of the expired-password step after
/// `adminUser.updatePassword` answered. Success returns to the credentials
/// step; the page then signs in with the new password.
pub fn after_password_update(code_needed: bool, result: &Result<(), ApiError>) -> Transition {
    let here = LoginStep::ExpiredPassword { code_needed };
    let Err(err) = result else {
        return Transition {
            status: Some(Text::key("login.password-changed")),
            ..Transition::stay(LoginStep::Credentials)
        };
    };
    if err.is_unreachable() {
        return Transition {
            alert: Some(Text::key(UNREACHABLE)),
            retry: true,
            ..Transition::stay(here)
        };
    }
    match err.code() {
        Some(codes::MISSING_OTP) => Transition {
            status: Some(password_update_error_message(err)),
            focus: Focus::Code,
            ..Transition::stay(LoginStep::ExpiredPassword { code_needed: true })
        },
        Some(codes::INVALID_OTP) => Transition {
            alert: Some(Text::key(CODE_REJECTED)),
            clear_code: true,
            focus: Focus::Code,
            ..Transition::stay(LoginStep::ExpiredPassword { code_needed: true })
        },
        _ => Transition {
            alert: Some(password_update_error_message(err)),
            clear_new_password: refuses_new_password(err),
            focus: if refuses_new_password(err) {
                Focus::NewPassword
            } else {
                Focus::Keep
            },
            ..Transition::stay(here)
        },
    }
}

/// Checks the new-password fields against the current password before
/// anything is sent. A new password equal to the current one is refused here,
/// as KMC refuses it: the server would refuse it anyway (or, worse, accept a
/// change that changes nothing).
pub fn check_new_password(current: &str, new: &str, confirm: &str) -> Result<(), &'static str> {
    if new.is_empty() {
        Err("password.choose-new")
    } else if new != confirm {
        Err("password.mismatch")
    } else if new == current {
        Err("password.same-as-current")
    } else {
        Ok(())
    }
}

/// One sign-in request.
#[derive(Clone)]
struct LoginAttempt {
    email: String,
    password: String,
    otp: String,
    partner_id: Option<i64>,
}

/// One password change from the expired-password step.
#[derive(Clone)]
struct UpdateAttempt {
    email: String,
    old: String,
    new: String,
    otp: Option<String>,
}

/// Moves the keyboard focus after the DOM has caught up with the state
/// (a macrotask runs after Leptos' effects, which use microtasks).
pub fn focus_soon(target: NodeRef<Input>) {
    set_timeout(
        move || {
            if let Some(input) = target.get_untracked() {
                let _ = input.focus();
            }
        },
        std::time::Duration::ZERO,
    );
}

/// The sign-in card: email and password, then, when the login needs it, the
/// authenticator code in the same card; the expired-password step; "Forgot
/// password?"; "Remember my email".
#[component]
pub fn LoginPage() -> impl IntoView {
    let api = use_api();
    let config = use_config();
    let navigate = use_navigator();
    let prefill_signal = use_login_prefill();

    // What another page asked for is taken once, so a later visit starts clean.
    let prefill = prefill_signal.get_untracked();
    prefill_signal.set(LoginPrefill::default());
    let remembered = session::remembered_email();

    let email = RwSignal::new(
        prefill
            .email
            .clone()
            .or_else(|| remembered.clone())
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let remember = RwSignal::new(remembered.is_some());
    let partner_id = RwSignal::new(prefill.partner_id);
    let return_to = StoredValue::new(prefill.return_to.clone());
    let step = RwSignal::new(if prefill.open_code_step {
        LoginStep::Code
    } else {
        LoginStep::Credentials
    });
    let alert = RwSignal::new(prefill.notice.clone());
    let status = RwSignal::new(
        prefill
            .open_code_step
            .then(|| Text::key("login.sign-in-with-code")),
    );
    let retry = RwSignal::new(false);
    let forgot_open = RwSignal::new(false);
    // The password the server last answered `MISSING_OTP` to, i.e. accepted;
    // memory only, dropped with the page.
    let accepted_password = StoredValue::new(None::<String>);

    let new_password = RwSignal::new(String::new());
    let confirm_password = RwSignal::new(String::new());
    let expired_code = RwSignal::new(String::new());

    let email_ref = NodeRef::<Input>::new();
    let password_ref = NodeRef::<Input>::new();
    let code_ref = NodeRef::<Input>::new();
    let new_password_ref = NodeRef::<Input>::new();
    let expired_code_ref = NodeRef::<Input>::new();

    let kmc_url = config.kmc_url.clone();
    let signed_in = move |session: Session| {
        session::store_ks(&session.ks);
        let typed = email.get_untracked();
        session::remember_email(remember.get_untracked().then_some(typed.trim()));
        match after_sign_in(return_to.get_value().as_deref(), kmc_url.as_deref()) {
            // In place of the card: back must not return to a used sign-in form.
            AfterSignIn::Navigate(path) => navigate.replace(&path),
            AfterSignIn::KmcHandoff(kmc) => session::handoff_to_kmc(&kmc, &session.ks),
        }
    };

    let apply = move |t: Transition| {
        step.set(t.step);
        alert.set(t.alert);
        status.set(t.status);
        retry.set(t.retry);
        if t.clear_code {
            code.set(String::new());
            expired_code.set(String::new());
        }
        if t.clear_new_password {
            new_password.set(String::new());
            confirm_password.set(String::new());
        }
        match (t.focus, t.step) {
            (Focus::Code, LoginStep::Code) => focus_soon(code_ref),
            (Focus::Code, LoginStep::ExpiredPassword { .. }) => focus_soon(expired_code_ref),
            (Focus::NewPassword, _) => focus_soon(new_password_ref),
            _ => {}
        }
    };

    let login_api = api.clone();
    let login = Action::new_local(move |attempt: &LoginAttempt| {
        let api = login_api.clone();
        let attempt = attempt.clone();
        let signed_in = signed_in.clone();
        async move {
            let result = api
                .login(
                    &attempt.email,
                    &attempt.password,
                    &attempt.otp,
                    attempt.partner_id,
                )
                .await;
            let accepted =
                accepted_password.with_value(|p| p.as_deref() == Some(attempt.password.as_str()));
            match result {
                Ok(session) => {
                    accepted_password.set_value(None);
                    apply(after_login(step.get_untracked(), accepted, &Ok(())));
                    signed_in(session);
                }
                Err(err) => {
                    if err.is(codes::MISSING_OTP) {
                        accepted_password.set_value(Some(attempt.password.clone()));
                    }
                    apply(after_login(step.get_untracked(), accepted, &Err(err)));
                }
            }
        }
    });

    let update = Action::new_local(move |attempt: &UpdateAttempt| {
        let api = api.clone();
        let attempt = attempt.clone();
        async move {
            let result = api
                .update_password(
                    &attempt.email,
                    &attempt.old,
                    &attempt.new,
                    attempt.otp.as_deref(),
                    None,
                )
                .await;
            let code_needed = matches!(
                step.get_untracked(),
                LoginStep::ExpiredPassword { code_needed: true }
            );
            apply(after_password_update(code_needed, &result));
            if result.is_ok() {
                // The new password is the one to sign in with; the code just
                // used cannot be used twice, so the code step opens if needed.
                password.set(attempt.new.clone());
                new_password.set(String::new());
                confirm_password.set(String::new());
                expired_code.set(String::new());
                code.set(String::new());
                login.dispatch(LoginAttempt {
                    email: attempt.email,
                    password: attempt.new,
                    otp: String::new(),
                    partner_id: partner_id.get_untracked(),
                });
            }
        }
    });

    let pending = Signal::derive(move || login.pending().get() || update.pending().get());
    let code_step = Signal::derive(move || step.get() == LoginStep::Code);
    let expired = Signal::derive(move || matches!(step.get(), LoginStep::ExpiredPassword { .. }));
    let expired_code_needed = Signal::derive(move || {
        matches!(step.get(), LoginStep::ExpiredPassword { code_needed: true })
    });

    // One submit path for the button, Enter, the code's auto-submit and retry.
    let submit = move || {
        if pending.get_untracked() {
            return;
        }
        alert.set(None);
        retry.set(false);
        let email_text = email.get_untracked().trim().to_owned();
        let password_text = password.get_untracked();
        match step.get_untracked() {
            LoginStep::Credentials | LoginStep::Code => {
                if email_text.is_empty() || password_text.is_empty() {
                    alert.set(Some(Text::key("login.enter-credentials")));
                    return;
                }
                let otp = if step.get_untracked() == LoginStep::Code {
                    match complete_code(&code.get_untracked()) {
                        Some(code) => code,
                        None => {
                            alert.set(Some(Text::key("common.enter-code-digits")));
                            focus_soon(code_ref);
                            return;
                        }
                    }
                } else {
                    String::new()
                };
                login.dispatch(LoginAttempt {
                    email: email_text,
                    password: password_text,
                    otp,
                    partner_id: partner_id.get_untracked(),
                });
            }
            LoginStep::ExpiredPassword { code_needed } => {
                let new = new_password.get_untracked();
                if let Err(why) =
                    check_new_password(&password_text, &new, &confirm_password.get_untracked())
                {
                    alert.set(Some(Text::key(why)));
                    return;
                }
                let otp = if code_needed {
                    match complete_code(&expired_code.get_untracked()) {
                        Some(code) => Some(code),
                        None => {
                            alert.set(Some(Text::key("common.enter-code-digits")));
                            focus_soon(expired_code_ref);
                            return;
                        }
                    }
                } else {
                    None
                };
                update.dispatch(UpdateAttempt {
                    email: email_text,
                    old: password_text,
                    new,
                    otp,
                });
            }
        }
    };

    let use_another_account = move |_| {
        step.set(LoginStep::Credentials);
        email.set(String::new());
        password.set(String::new());
        code.set(String::new());
        partner_id.set(None);
        accepted_password.set_value(None);
        alert.set(None);
        retry.set(false);
        status.set(Some(Text::key("login.another-account-status")));
        focus_soon(email_ref);
    };

    // First focus: the first empty field, so keyboard users can type at once; unless the
    // person is already typing in the static card, whose focus the hand-over keeps.
    if !crate::handover::focus_was_kept() {
        focus_soon(if email.get_untracked().is_empty() {
            email_ref
        } else {
            password_ref
        });
    }

    let button_label = text(move || {
        tr(if pending.get() {
            "login.signing-in"
        } else {
            "login.submit"
        })
    });
    use_title("page.login");

    view! {
        <section class="card" data-testid="login-card" class:expanded=move || code_step.get()>
            <h1>
                {text(move || tr(if expired.get() { "login.expired-title" } else { "login.title" }))}
            </h1>
            <Alert message=alert test_id="login-alert" />
            <Show when=move || retry.get()>
                <button
                    type="button"
                    class="secondary"
                    data-testid="retry"
                    on:click=move |_| submit()
                >
                    {t("common.try-again")}
                </button>
            </Show>
            <Alert message=status test_id="login-status" polite=true />
            <Show
                when=move || !expired.get()
                fallback=move || {
                    view! {
                        <form
                            data-testid="expired-form"
                            on:submit=move |ev| {
                                ev.prevent_default();
                                submit();
                            }
                        >
                            <p class="muted">
                                {slotted(
                                    "login.expired-intro",
                                    Arc::new(move |_| {
                                        view! { <strong>{email.get()}</strong> }.into_any()
                                    }),
                                )}
                            </p>
                            <PasswordField
                                id="expired-new-password"
                                label="password.new"
                                value=new_password
                                autocomplete="new-password"
                                node_ref=new_password_ref
                                required=true
                            />
                            <PasswordField
                                id="expired-confirm-password"
                                label="password.confirm-new"
                                value=confirm_password
                                autocomplete="new-password"
                                required=true
                            />
                            <ExpandingCodeInput
                                id="expired-otp"
                                shown=expired_code_needed
                                value=expired_code
                                node_ref=expired_code_ref
                                on_complete=move |_| submit()
                            />
                            <button
                                type="submit"
                                data-testid="expired-submit"
                                disabled=move || pending.get()
                            >
                                {move || {
                                    tr(if pending.get() { "common.saving" } else { "login.expired-submit" })
                                }}
                            </button>
                        </form>
                    }
                }
            >
                <form
                    data-testid="login-form"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        submit();
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
                            node_ref=email_ref
                            bind:value=email
                        />
                    </div>
                    <PasswordField
                        id="login-password"
                        label="password.label"
                        value=password
                        autocomplete="current-password"
                        toggle_test_id="toggle-password"
                        node_ref=password_ref
                        required=true
                    />
                    <div
                        class="code-step"
                        aria-hidden=move || if code_step.get() { "false" } else { "true" }
                    >
                        <CodeInput
                            id="login-otp"
                            label="common.code-label"
                            value=code
                            node_ref=code_ref
                            describedby="login-otp-hint"
                            disabled=Signal::derive(move || !code_step.get())
                            on_complete=move |_| submit()
                        />
                        <p id="login-otp-hint" class="muted">{t("login.code-hint")}</p>
                    </div>
                    <label class="checkbox">
                        <input id="remember-email" type="checkbox" bind:checked=remember />
                        {t("login.remember")}
                    </label>
                    <button type="submit" data-testid="login-submit" disabled=move || pending.get()>
                        {button_label}
                    </button>
                    <Show when=move || code_step.get()>
                        <button
                            type="button"
                            class="link"
                            data-testid="use-another-account"
                            on:click=use_another_account
                        >
                            {t("login.use-another")}
                        </button>
                    </Show>
                </form>
                <div class="forgot">
                    <button
                        type="button"
                        class="link"
                        data-testid="forgot-password"
                        aria-expanded=move || if forgot_open.get() { "true" } else { "false" }
                        on:click=move |_| forgot_open.update(|open| *open = !*open)
                    >
                        {t("login.forgot")}
                    </button>
                    <Show when=move || forgot_open.get()>
                        <p class="muted">{t("login.forgot-intro")}</p>
                        <ResetRequestForm
                            email_id="forgot-email"
                            submit_test_id="forgot-submit"
                            result_test_id="forgot-result"
                            initial_email=email.get_untracked().trim().to_owned()
                        />
                    </Show>
                </div>
            </Show>
        </section>
    }
}

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
    let ks = StoredValue::new(session::load_ks().unwrap_or_default());
    let card = RwSignal::new(false);
    let user = {
        let api = api.clone();
        LocalResource::new(move || {
            let api = api.clone();
            async move { api.get_user(&ks.get_value()).await }
        })
    };
    Effect::new(move |_| {
        if let Some(Err(e)) = user.get()
            && e.is(codes::INVALID_KS)
        {
            session::clear_ks();
            card.set(true);
        }
    });
    let kmc_url = config.kmc_url.clone();
    let go_on = move |_| match after_sign_in(return_to.as_deref(), kmc_url.as_deref()) {
        AfterSignIn::Navigate(path) => navigate.replace(&path),
        AfterSignIn::KmcHandoff(kmc) => session::handoff_to_kmc(&kmc, &ks.get_value()),
    };
    let go_on = StoredValue::new_local(go_on);
    let use_another = move |_| {
        let api = api.clone();
        let old = ks.get_value();
        session::clear_ks();
        // Ended on the server too; if it cannot be reached the KS expires on its own.
        leptos::task::spawn_local(async move {
            let _ = api.end_session(&old).await;
        });
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
                        <p data-testid="signed-in-as">
                            {slotted(
                                "account.signed-in-as",
                                Arc::new(move |slot| {
                                    let value = if slot == "email" { email.clone() } else { name.clone() };
                                    view! { <bdi>{value}</bdi> }.into_any()
                                }),
                            )}
                        </p>
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
                                on:click=use_another.clone()
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

#[cfg(test)]
mod tests {
    use super::*;
    use kaltura_api::KalturaApiError;

    /// A message as an English page shows it.
    fn shown(text: &Option<Text>) -> Option<String> {
        text.as_ref().map(Text::to_string)
    }

    fn api(code: &str) -> ApiError {
        ApiError::Api(KalturaApiError::new(code, format!("server says {code}")))
    }

    #[test]
    fn a_wrong_password_never_says_which_field_was_wrong() {
        assert_eq!(
            login_error_message(&api(codes::USER_WRONG_PASSWORD)).to_string(),
            "The email or password is incorrect."
        );
    }

    #[test]
    fn a_locked_account_says_it_is_temporary_and_what_to_do_without_promising_how_long() {
        for code in [codes::LOGIN_BLOCKED, codes::LOGIN_RETRIES_EXCEEDED] {
            let m = login_error_message(&api(code)).to_string();
            assert!(m.contains("temporarily locked"), "{m}");
            assert!(m.contains("Try again later"), "{m}");
            assert!(!m.contains("minutes"), "no duration is promised: {m}");
        }
    }

    #[test]
    fn direct_login_blocked_points_to_single_sign_on() {
        assert!(
            login_error_message(&api(codes::DIRECT_LOGIN_BLOCKED))
                .to_string()
                .contains("single sign-on")
        );
    }

    #[test]
    fn an_unknown_code_shows_the_servers_message() {
        assert_eq!(
            login_error_message(&api("SOMETHING_NEW")).to_string(),
            "server says SOMETHING_NEW"
        );
        let bare = ApiError::Api(KalturaApiError::new("SOMETHING_NEW", ""));
        assert!(
            login_error_message(&bare)
                .to_string()
                .contains("SOMETHING_NEW")
        );
    }

    #[test]
    fn network_timeout_and_garbled_replies_all_say_the_server_cannot_be_reached() {
        for e in [ApiError::Network, ApiError::Timeout, ApiError::Garbled] {
            assert!(
                login_error_message(&e)
                    .to_string()
                    .starts_with("Can't reach the server")
            );
            let t = after_login(LoginStep::Code, true, &Err(e));
            assert!(t.retry);
            assert_eq!(t.step, LoginStep::Code);
            assert!(!t.clear_code);
        }
    }

    #[test]
    fn missing_otp_expands_the_card_and_focuses_the_code_field() {
        let t = after_login(LoginStep::Credentials, false, &Err(api(codes::MISSING_OTP)));
        assert_eq!(t.step, LoginStep::Code);
        assert_eq!(t.focus, Focus::Code);
        assert_eq!(t.status, Some(Text::key(CODE_PROMPT)));
        assert_eq!(t.alert, None);
    }

    #[test]
    fn invalid_otp_clears_the_code_keeps_focus_and_mentions_the_clock() {
        let t = after_login(LoginStep::Code, true, &Err(api(codes::INVALID_OTP)));
        assert_eq!(t.step, LoginStep::Code);
        assert!(t.clear_code);
        assert_eq!(t.focus, Focus::Code);
        let alert = t.alert.unwrap().to_string();
        assert!(alert.contains("not accepted") && alert.contains("clock"));
    }

    #[test]
    fn a_changed_password_refused_on_the_code_step_stays_there_with_the_message() {
        let t = after_login(
            LoginStep::Code,
            false,
            &Err(api(codes::USER_WRONG_PASSWORD)),
        );
        assert_eq!(t.step, LoginStep::Code);
        assert_eq!(
            shown(&t.alert).as_deref(),
            Some("The email or password is incorrect.")
        );
        assert!(!t.retry);
    }

    #[test]
    fn a_masked_lockout_on_the_code_step_says_the_sign_in_was_blocked() {
        let t = after_login(LoginStep::Code, true, &Err(api(codes::USER_WRONG_PASSWORD)));
        assert_eq!(t.step, LoginStep::Code);
        assert_eq!(
            shown(&t.alert).as_deref(),
            Some(tr(BLOCKED_ON_CODE_STEP).as_str())
        );
        assert!(!t.alert.unwrap().to_string().contains("incorrect"));
        // On the first step the same code still means a wrong password.
        let t = after_login(
            LoginStep::Credentials,
            true,
            &Err(api(codes::USER_WRONG_PASSWORD)),
        );
        assert_eq!(
            shown(&t.alert).as_deref(),
            Some("The email or password is incorrect.")
        );
    }

    #[test]
    fn password_expired_opens_the_expired_password_step() {
        let t = after_login(LoginStep::Code, true, &Err(api(codes::PASSWORD_EXPIRED)));
        assert_eq!(t.step, LoginStep::ExpiredPassword { code_needed: false });
        assert_eq!(t.focus, Focus::NewPassword);
    }

    #[test]
    fn success_keeps_the_step_without_messages() {
        let t = after_login(LoginStep::Code, true, &Ok(()));
        assert_eq!(t, Transition::stay(LoginStep::Code));
    }

    #[test]
    fn the_expired_step_asks_for_the_code_when_the_server_misses_it() {
        let t = after_password_update(false, &Err(api(codes::MISSING_OTP)));
        assert_eq!(t.step, LoginStep::ExpiredPassword { code_needed: true });
        assert_eq!(t.focus, Focus::Code);
        let t = after_password_update(true, &Err(api(codes::INVALID_OTP)));
        assert!(t.clear_code);
        assert!(!t.clear_new_password);
    }

    #[test]
    fn a_refused_new_password_is_explained_and_emptied() {
        let rules = ApiError::Api(
            KalturaApiError::new(codes::PASSWORD_STRUCTURE_INVALID, "bad")
                .with_arg("RULES", "at least 8 characters"),
        );
        let t = after_password_update(false, &Err(rules));
        assert!(t.clear_new_password);
        assert!(
            t.alert
                .unwrap()
                .to_string()
                .contains("at least 8 characters")
        );
        // Kaltura's updatePassword sends its rules with a literal `\n`.
        let kaltura = ApiError::Api(
            KalturaApiError::new(codes::PASSWORD_STRUCTURE_INVALID, "bad")
                .with_arg("RULES", "- 8-14 characters\\n- one digit"),
        );
        assert_eq!(
            password_update_error_message(&kaltura).to_string(),
            "The new password does not follow the rules:\n- 8-14 characters\n- one digit"
        );
        for code in [codes::COMMON_PASSWORD, codes::PASSWORD_ALREADY_USED] {
            let t = after_password_update(true, &Err(api(code)));
            assert!(t.clear_new_password, "{code}");
            assert_eq!(t.step, LoginStep::ExpiredPassword { code_needed: true });
        }
        let t = after_password_update(false, &Err(api(codes::WRONG_OLD_PASSWORD)));
        assert!(!t.clear_new_password);
        assert_eq!(
            shown(&t.alert).as_deref(),
            Some("The current password is incorrect.")
        );
    }

    #[test]
    fn a_changed_password_returns_to_sign_in() {
        let t = after_password_update(true, &Ok(()));
        assert_eq!(t.step, LoginStep::Credentials);
        assert!(t.alert.is_none());
    }

    #[test]
    fn new_passwords_must_be_present_and_match() {
        assert!(check_new_password("old", "", "").is_err());
        assert_eq!(
            check_new_password("old", "correct horse", "correct hors").map_err(tr),
            Err("The two new passwords do not match.".to_owned())
        );
        assert_eq!(
            check_new_password("old", "correct horse", "correct horse").map_err(tr),
            Ok(())
        );
    }

    #[test]
    fn a_new_password_equal_to_the_current_one_is_refused_before_sending() {
        assert_eq!(
            check_new_password("correct horse", "correct horse", "correct horse").map_err(tr),
            Err("The new password must be different from the current one.".to_owned())
        );
    }
}
