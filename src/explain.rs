//! What the pages say about a refused or failed call: the messages of the
//! Kaltura error codes the sign-in card, the account page and the signed-in
//! offer explain in plain words.

use kaltura_api::codes;

use crate::api::ApiError;
use crate::i18n::Text;

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

#[cfg(test)]
mod tests {
    use super::*;
    use kaltura_api::KalturaApiError;

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
        }
    }
}
