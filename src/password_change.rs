//! A password change with the current password (`adminUser.updatePassword`):
//! the checks before sending, and the one outcome type both forms that send
//! it act on (the sign-in card's expired-password step and the account
//! page's change-password form).
//!
//! The refusals of the new password itself, and their messages, are
//! [`crate::password_rules::refusal_message`], which the set-new-password
//! page uses too.

use kaltura_api::codes;

use crate::api::ApiError;
use crate::explain::{CODE_REJECTED, UNREACHABLE, login_error_message};
use crate::i18n::Text;
use crate::password_rules;

/// What the server's answer to a password change means for the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// The password is changed.
    Changed,
    /// The login needs the authenticator code (`MISSING_OTP`): the form
    /// shows the code field.
    CodeNeeded,
    /// The code was refused (`INVALID_OTP`): the code field is emptied.
    CodeRejected,
    /// The current password is wrong: that field is emptied.
    WrongCurrent,
    /// The server refused the new password itself (its rules, a common or a
    /// recently used password): the new-password fields are emptied.
    NewPasswordRefused(Text),
    /// The server was not reached or its reply was unreadable: everything
    /// typed is kept and the form can be sent again.
    Unreachable,
    /// Any other refusal, in words.
    Failed(Text),
}

impl PasswordChange {
    /// Reads the answer of `adminUser.updatePassword`.
    pub fn from_result(result: &Result<(), ApiError>) -> Self {
        let Err(err) = result else {
            return Self::Changed;
        };
        if err.is_unreachable() {
            return Self::Unreachable;
        }
        let ApiError::Api(e) = err else {
            return Self::Unreachable;
        };
        if let Some(message) = password_rules::refusal_message(&e.code, e.arg("RULES")) {
            return Self::NewPasswordRefused(message);
        }
        match e.code.as_str() {
            codes::MISSING_OTP => Self::CodeNeeded,
            codes::INVALID_OTP => Self::CodeRejected,
            codes::WRONG_OLD_PASSWORD | codes::USER_WRONG_PASSWORD => Self::WrongCurrent,
            _ => Self::Failed(login_error_message(err)),
        }
    }

    /// What the form says about it.
    pub fn message(&self, changed: &'static str) -> Text {
        match self {
            Self::Changed => Text::key(changed),
            Self::CodeNeeded => Text::key("password.code-to-confirm"),
            Self::CodeRejected => Text::key(CODE_REJECTED),
            Self::WrongCurrent => Text::key("password.wrong-current"),
            Self::NewPasswordRefused(message) | Self::Failed(message) => message.clone(),
            Self::Unreachable => Text::key(UNREACHABLE),
        }
    }

    /// True when the form must show the code field after this answer, given
    /// whether it showed it before.
    pub fn code_needed(&self, before: bool) -> bool {
        match self {
            Self::Changed => false,
            Self::CodeNeeded | Self::CodeRejected => true,
            _ => before,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::tr;
    use kaltura_api::KalturaApiError;

    fn refused(code: &str) -> Result<(), ApiError> {
        Err(ApiError::Api(KalturaApiError::new(
            code,
            format!("server says {code}"),
        )))
    }

    #[test]
    fn the_code_is_asked_for_when_missing_and_emptied_when_refused() {
        let missing = PasswordChange::from_result(&refused(codes::MISSING_OTP));
        assert_eq!(missing, PasswordChange::CodeNeeded);
        assert!(missing.code_needed(false));
        let wrong = PasswordChange::from_result(&refused(codes::INVALID_OTP));
        assert_eq!(wrong, PasswordChange::CodeRejected);
        assert!(wrong.message("x").to_string().contains("not accepted"));
    }

    #[test]
    fn each_refusal_of_the_new_password_is_explained_from_the_one_list() {
        let rules = Err(ApiError::Api(
            KalturaApiError::new(codes::PASSWORD_STRUCTURE_INVALID, "bad")
                .with_arg("RULES", "- 8-14 characters\\n- one digit"),
        ));
        match PasswordChange::from_result(&rules) {
            PasswordChange::NewPasswordRefused(message) => {
                assert!(
                    message
                        .to_string()
                        .ends_with("\n- 8-14 characters\n- one digit"),
                    "{message}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        for code in [codes::COMMON_PASSWORD, codes::PASSWORD_ALREADY_USED] {
            assert!(
                matches!(
                    PasswordChange::from_result(&refused(code)),
                    PasswordChange::NewPasswordRefused(_)
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn a_wrong_current_password_and_network_trouble_are_told_apart() {
        for code in [codes::WRONG_OLD_PASSWORD, codes::USER_WRONG_PASSWORD] {
            let outcome = PasswordChange::from_result(&refused(code));
            assert_eq!(outcome, PasswordChange::WrongCurrent);
            assert_eq!(
                outcome.message("x").to_string(),
                "The current password is incorrect."
            );
        }
        let outcome = PasswordChange::from_result(&Err(ApiError::Network));
        assert_eq!(outcome, PasswordChange::Unreachable);
        assert!(
            outcome
                .message("x")
                .to_string()
                .starts_with("Can't reach the server")
        );
        assert!(!outcome.code_needed(false) && outcome.code_needed(true));
    }

    #[test]
    fn a_changed_password_needs_no_code_any_more() {
        let outcome = PasswordChange::from_result(&Ok(()));
        assert_eq!(outcome, PasswordChange::Changed);
        assert!(!outcome.code_needed(true));
        assert_eq!(
            outcome.message("account.password-changed").to_string(),
            tr("account.password-changed")
        );
    }

    #[test]
    fn new_passwords_must_be_present_match_and_differ_from_the_current_one() {
        assert!(check_new_password("old", "", "").is_err());
        assert_eq!(
            check_new_password("old", "correct horse", "correct hors").map_err(tr),
            Err("The two new passwords do not match.".to_owned())
        );
        assert_eq!(
            check_new_password("old", "correct horse", "correct horse").map_err(tr),
            Ok(())
        );
        assert_eq!(
            check_new_password("correct horse", "correct horse", "correct horse").map_err(tr),
            Err("The new password must be different from the current one.".to_owned())
        );
    }
}
