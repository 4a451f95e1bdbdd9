//! The sign-in card's steps and what each answer of the server does to the
//! card: plain functions with native tests.

use kaltura_api::codes;

use crate::api::ApiError;
use crate::explain::{
    BLOCKED_ON_CODE_STEP, CODE_PROMPT, CODE_REJECTED, UNREACHABLE, login_error_message,
};
use crate::i18n::Text;
use crate::password_change::PasswordChange;

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
    /// The alert that explains an error: read first, then Tab to the fields.
    Alert,
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
    pub(super) fn stay(step: LoginStep) -> Self {
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
            focus: Focus::Alert,
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
            focus: Focus::Alert,
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
                focus: Focus::Alert,
                ..Transition::stay(step)
            }
        }
        _ => Transition {
            alert: Some(login_error_message(err)),
            focus: Focus::Alert,
            ..Transition::stay(step)
        },
    }
}

/// The next state of the expired-password step after a password change
/// answered. Success returns to the credentials step; the page then signs in
/// with the new password.
pub fn after_password_change(code_needed: bool, change: &PasswordChange) -> Transition {
    let here = LoginStep::ExpiredPassword {
        code_needed: change.code_needed(code_needed),
    };
    let message = change.message("login.password-changed");
    match change {
        PasswordChange::Changed => Transition {
            status: Some(message),
            ..Transition::stay(LoginStep::Credentials)
        },
        PasswordChange::Unreachable => Transition {
            alert: Some(message),
            retry: true,
            focus: Focus::Alert,
            ..Transition::stay(here)
        },
        PasswordChange::CodeNeeded => Transition {
            status: Some(message),
            focus: Focus::Code,
            ..Transition::stay(here)
        },
        PasswordChange::CodeRejected => Transition {
            alert: Some(message),
            clear_code: true,
            focus: Focus::Alert,
            ..Transition::stay(here)
        },
        PasswordChange::NewPasswordRefused(_) => Transition {
            alert: Some(message),
            clear_new_password: true,
            focus: Focus::Alert,
            ..Transition::stay(here)
        },
        PasswordChange::WrongCurrent | PasswordChange::Failed(_) => Transition {
            alert: Some(message),
            focus: Focus::Alert,
            ..Transition::stay(here)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::tr;
    use kaltura_api::KalturaApiError;

    /// A message as an English page shows it.
    fn shown(text: &Option<Text>) -> Option<String> {
        text.as_ref().map(Text::to_string)
    }

    fn api(code: &str) -> ApiError {
        ApiError::Api(KalturaApiError::new(code, format!("server says {code}")))
    }

    fn changed(result: Result<(), ApiError>) -> PasswordChange {
        PasswordChange::from_result(&result)
    }

    #[test]
    fn network_trouble_offers_a_retry_and_keeps_the_step_and_the_code() {
        for e in [ApiError::Network, ApiError::Timeout, ApiError::Garbled] {
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
    fn invalid_otp_clears_the_code_focuses_the_alert_and_mentions_the_clock() {
        let t = after_login(LoginStep::Code, true, &Err(api(codes::INVALID_OTP)));
        assert_eq!(t.step, LoginStep::Code);
        assert!(t.clear_code);
        assert_eq!(t.focus, Focus::Alert);
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
        let t = after_password_change(false, &changed(Err(api(codes::MISSING_OTP))));
        assert_eq!(t.step, LoginStep::ExpiredPassword { code_needed: true });
        assert_eq!(t.focus, Focus::Code);
        let t = after_password_change(true, &changed(Err(api(codes::INVALID_OTP))));
        assert!(t.clear_code);
        assert!(!t.clear_new_password);
    }

    #[test]
    fn a_refused_new_password_is_explained_and_emptied() {
        let rules = ApiError::Api(
            KalturaApiError::new(codes::PASSWORD_STRUCTURE_INVALID, "bad")
                .with_arg("RULES", "at least 8 characters"),
        );
        let t = after_password_change(false, &changed(Err(rules)));
        assert!(t.clear_new_password);
        assert_eq!(t.focus, Focus::Alert);
        assert!(
            t.alert
                .unwrap()
                .to_string()
                .contains("at least 8 characters")
        );
        for code in [codes::COMMON_PASSWORD, codes::PASSWORD_ALREADY_USED] {
            let t = after_password_change(true, &changed(Err(api(code))));
            assert!(t.clear_new_password, "{code}");
            assert_eq!(t.step, LoginStep::ExpiredPassword { code_needed: true });
        }
        let t = after_password_change(false, &changed(Err(api(codes::WRONG_OLD_PASSWORD))));
        assert!(!t.clear_new_password);
        assert_eq!(
            shown(&t.alert).as_deref(),
            Some("The current password is incorrect.")
        );
    }

    #[test]
    fn every_error_moves_the_focus_to_its_alert_and_every_prompt_to_its_field() {
        let errors = [
            ApiError::Network,
            ApiError::Timeout,
            ApiError::Garbled,
            api(codes::MISSING_OTP),
            api(codes::INVALID_OTP),
            api(codes::PASSWORD_EXPIRED),
            api(codes::USER_WRONG_PASSWORD),
            api(codes::LOGIN_BLOCKED),
            api(codes::WRONG_OLD_PASSWORD),
            api(codes::PASSWORD_STRUCTURE_INVALID),
            api("SOMETHING_NEW"),
        ];
        let mut transitions = Vec::new();
        for e in errors {
            for step in [LoginStep::Credentials, LoginStep::Code] {
                for accepted in [false, true] {
                    transitions.push(after_login(step, accepted, &Err(e.clone())));
                }
            }
            for code_needed in [false, true] {
                transitions.push(after_password_change(code_needed, &changed(Err(e.clone()))));
            }
        }
        for t in transitions {
            match (&t.alert, t.focus) {
                (Some(_), focus) => assert_eq!(focus, Focus::Alert, "{t:?}"),
                (None, focus) => assert_ne!(focus, Focus::Alert, "{t:?}"),
            }
        }
    }

    #[test]
    fn a_changed_password_returns_to_sign_in() {
        let t = after_password_change(true, &changed(Ok(())));
        assert_eq!(t.step, LoginStep::Credentials);
        assert!(t.alert.is_none());
        assert_eq!(shown(&t.status), Some(tr("login.password-changed")));
    }
}
