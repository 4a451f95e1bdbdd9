//! The sign-in card's state ([`Card`]), shared by the page and its forms, and
//! the two requests it sends ([`LoginAttempt`], [`UpdateAttempt`]).

use leptos::prelude::*;

use super::steps::{Focus, LoginStep, Transition};
use crate::components::code_input::complete_code;
use crate::components::focus::focus_soon;
use crate::i18n::Text;
use crate::password_change::check_new_password;
use crate::session::{self, LoginPrefill};

/// The `id` of the card's error region.
pub(super) const ALERT: &str = "login-alert";

/// One sign-in request.
#[derive(Clone)]
pub(super) struct LoginAttempt {
    pub(super) email: String,
    pub(super) password: String,
    pub(super) otp: String,
    pub(super) partner_id: Option<i64>,
}

/// One password change from the expired-password step.
#[derive(Clone)]
pub(super) struct UpdateAttempt {
    pub(super) email: String,
    pub(super) old: String,
    pub(super) new: String,
    pub(super) otp: Option<String>,
}

/// The sign-in card's state, shared by its parts. `Copy`, like the signals
/// it holds.
#[derive(Clone, Copy)]
pub(super) struct Card {
    pub(super) email: RwSignal<String>,
    pub(super) password: RwSignal<String>,
    pub(super) code: RwSignal<String>,
    pub(super) remember: RwSignal<bool>,
    pub(super) partner_id: RwSignal<Option<i64>>,
    pub(super) step: RwSignal<LoginStep>,
    pub(super) alert: RwSignal<Option<Text>>,
    pub(super) status: RwSignal<Option<Text>>,
    pub(super) retry: RwSignal<bool>,
    pub(super) new_password: RwSignal<String>,
    pub(super) confirm_password: RwSignal<String>,
    pub(super) expired_code: RwSignal<String>,
    /// The password the server last answered `MISSING_OTP` to, i.e.
    /// accepted; memory only, dropped with the page.
    pub(super) accepted_password: StoredValue<Option<String>>,
}

impl Card {
    /// A card started with what another page asked for, else the remembered email.
    pub(super) fn new(prefill: LoginPrefill) -> Self {
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
        }
    }

    /// Shows what an answer of the server led to.
    pub(super) fn apply(&self, t: Transition) {
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
            (Focus::Code, LoginStep::Code) => focus_soon("login-otp"),
            (Focus::Code, LoginStep::ExpiredPassword { .. }) => focus_soon("expired-otp"),
            (Focus::NewPassword, _) => focus_soon("expired-new-password"),
            (Focus::Alert, _) => focus_soon(ALERT),
            _ => {}
        }
    }

    /// Shows an error found before sending, with the focus on it.
    fn refuse(&self, why: &'static str) {
        self.alert.set(Some(Text::key(why)));
        focus_soon(ALERT);
    }

    /// The complete code typed in `field`, or an alert saying it is not.
    fn complete_code(&self, field: RwSignal<String>) -> Option<String> {
        let code = complete_code(&field.get_untracked());
        if code.is_none() {
            self.refuse("common.enter-code-digits");
        }
        code
    }

    /// What the current step sends, once what was typed passes the checks
    /// that need no server; `None` after showing why not.
    pub(super) fn attempt(&self) -> Option<Result<LoginAttempt, UpdateAttempt>> {
        self.alert.set(None);
        self.retry.set(false);
        let email = self.email.get_untracked().trim().to_owned();
        let password = self.password.get_untracked();
        match self.step.get_untracked() {
            step @ (LoginStep::Credentials | LoginStep::Code) => {
                if email.is_empty() || password.is_empty() {
                    self.refuse("login.enter-credentials");
                    return None;
                }
                let otp = match step {
                    LoginStep::Code => self.complete_code(self.code)?,
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
                    self.refuse(why);
                    return None;
                }
                let otp = match code_needed {
                    true => Some(self.complete_code(self.expired_code)?),
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
    pub(super) fn use_another_account(&self) {
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
        focus_soon("login-email");
    }
}
