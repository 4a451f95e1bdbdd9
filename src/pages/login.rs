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

mod forms;
mod offer;
pub mod steps;

use leptos::html::Input;
use leptos::prelude::*;

use crate::api::{Session, use_api};
use crate::components::alert::Alert;
use crate::components::code_input::complete_code;
use crate::components::focus::focus_soon;
use crate::config::use_config;
use crate::i18n::{Text, t, text, tr, use_title};
use crate::password_change::{PasswordChange, check_new_password};
use crate::routes::use_navigator;
use crate::session::{self, AfterSignIn, LoginPrefill, after_sign_in, use_login_prefill};
use kaltura_api::codes;

pub use offer::SignedInOffer;
use steps::{Focus, LoginStep, Transition, after_login, after_password_change};

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

/// The sign-in card's state, shared by its parts. `Copy`, like the signals
/// it holds.
#[derive(Clone, Copy)]
struct Card {
    email: RwSignal<String>,
    password: RwSignal<String>,
    code: RwSignal<String>,
    remember: RwSignal<bool>,
    partner_id: RwSignal<Option<i64>>,
    step: RwSignal<LoginStep>,
    alert: RwSignal<Option<Text>>,
    status: RwSignal<Option<Text>>,
    retry: RwSignal<bool>,
    new_password: RwSignal<String>,
    confirm_password: RwSignal<String>,
    expired_code: RwSignal<String>,
    /// The password the server last answered `MISSING_OTP` to, i.e.
    /// accepted; memory only, dropped with the page.
    accepted_password: StoredValue<Option<String>>,
    email_ref: NodeRef<Input>,
    password_ref: NodeRef<Input>,
    code_ref: NodeRef<Input>,
    new_password_ref: NodeRef<Input>,
    expired_code_ref: NodeRef<Input>,
}

impl Card {
    /// A card started with what another page asked for, else the remembered email.
    fn new(prefill: LoginPrefill) -> Self {
        let remembered = session::remembered_email();
        let open_code_step = prefill.open_code_step;
        Self {
            email: RwSignal::new(prefill.email.or(remembered.clone()).unwrap_or_default()),
            password: RwSignal::new(String::new()),
            code: RwSignal::new(String::new()),
            remember: RwSignal::new(remembered.is_some()),
            partner_id: RwSignal::new(prefill.partner_id),
            step: RwSignal::new(if open_code_step {
                LoginStep::Code
            } else {
                LoginStep::Credentials
            }),
            alert: RwSignal::new(prefill.notice),
            status: RwSignal::new(open_code_step.then(|| Text::key("login.sign-in-with-code"))),
            retry: RwSignal::new(false),
            new_password: RwSignal::new(String::new()),
            confirm_password: RwSignal::new(String::new()),
            expired_code: RwSignal::new(String::new()),
            accepted_password: StoredValue::new(None),
            email_ref: NodeRef::new(),
            password_ref: NodeRef::new(),
            code_ref: NodeRef::new(),
            new_password_ref: NodeRef::new(),
            expired_code_ref: NodeRef::new(),
        }
    }

    /// Shows what an answer of the server led to.
    fn apply(&self, t: Transition) {
        self.step.set(t.step);
        self.alert.set(t.alert);
        self.status.set(t.status);
        self.retry.set(t.retry);
        if t.clear_code {
            self.code.set(String::new());
            self.expired_code.set(String::new());
        }
        if t.clear_new_password {
            self.new_password.set(String::new());
            self.confirm_password.set(String::new());
        }
        match (t.focus, t.step) {
            (Focus::Code, LoginStep::Code) => focus_soon(self.code_ref),
            (Focus::Code, LoginStep::ExpiredPassword { .. }) => focus_soon(self.expired_code_ref),
            (Focus::NewPassword, _) => focus_soon(self.new_password_ref),
            _ => {}
        }
    }

    /// The complete code typed in `field`, or an alert and the focus there.
    fn complete_code(&self, field: RwSignal<String>, target: NodeRef<Input>) -> Option<String> {
        let code = complete_code(&field.get_untracked());
        if code.is_none() {
            self.alert.set(Some(Text::key("common.enter-code-digits")));
            focus_soon(target);
        }
        code
    }

    /// What the current step sends, once what was typed passes the checks
    /// that need no server; `None` after showing why not.
    fn attempt(&self) -> Option<Result<LoginAttempt, UpdateAttempt>> {
        self.alert.set(None);
        self.retry.set(false);
        let email = self.email.get_untracked().trim().to_owned();
        let password = self.password.get_untracked();
        match self.step.get_untracked() {
            step @ (LoginStep::Credentials | LoginStep::Code) => {
                if email.is_empty() || password.is_empty() {
                    self.alert.set(Some(Text::key("login.enter-credentials")));
                    return None;
                }
                let otp = match step {
                    LoginStep::Code => self.complete_code(self.code, self.code_ref)?,
                    _ => String::new(),
                };
                let partner_id = self.partner_id.get_untracked();
                Some(Ok(LoginAttempt {
                    email,
                    password,
                    otp,
                    partner_id,
                }))
            }
            LoginStep::ExpiredPassword { code_needed } => {
                let new = self.new_password.get_untracked();
                let confirm = self.confirm_password.get_untracked();
                if let Err(why) = check_new_password(&password, &new, &confirm) {
                    self.alert.set(Some(Text::key(why)));
                    return None;
                }
                let otp = match code_needed {
                    true => Some(self.complete_code(self.expired_code, self.expired_code_ref)?),
                    false => None,
                };
                Some(Err(UpdateAttempt {
                    email,
                    old: password,
                    new,
                    otp,
                }))
            }
        }
    }

    /// Back to an empty first step, for another login.
    fn use_another_account(&self) {
        self.step.set(LoginStep::Credentials);
        self.email.set(String::new());
        self.password.set(String::new());
        self.code.set(String::new());
        self.partner_id.set(None);
        self.accepted_password.set_value(None);
        self.alert.set(None);
        self.retry.set(false);
        self.status
            .set(Some(Text::key("login.another-account-status")));
        focus_soon(self.email_ref);
    }
}

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
            card.email_ref
        } else {
            card.password_ref
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
            <Alert message=card.alert test_id="login-alert" />
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
