//! What `user.setInitialPassword` led to, decided from its reply as plain
//! functions with native tests (in the page's module).

use crate::api::ApiError;
use crate::components::dead_link::is_dead_link;
use crate::components::enrollment::EnrollmentKey;
use crate::i18n::Text;
use crate::password_rules;
use kaltura_api::codes;

/// What `user.setInitialPassword` led to.
#[derive(Clone)]
pub enum SetOutcome {
    /// The password is set; a 2FA login also got a new key.
    Set(Option<EnrollmentKey>),
    /// The server refused this password: the explanation for the field, and
    /// the server's own rules when it stated them.
    Refused(Text, Option<String>),
    /// The outcome is unknown: the password may have been changed and the
    /// link spent, so a retry could only be refused.
    MaybeSet,
    /// The link died meanwhile (used in another tab, expired).
    InvalidLink,
    /// Not reached, or another refusal: a message; the fields are kept.
    Failed(Text),
}

/// Sorts the reply of `user.setInitialPassword`.
pub fn set_outcome(reply: Result<Option<String>, ApiError>) -> SetOutcome {
    match reply {
        Ok(qr) => SetOutcome::Set(qr.as_deref().and_then(EnrollmentKey::from_reply)),
        Err(ApiError::Api(e))
            if password_rules::refusal_message(&e.code, e.arg("RULES")).is_some() =>
        {
            SetOutcome::Refused(
                password_rules::refusal_message(&e.code, e.arg("RULES"))
                    .unwrap_or(Text::Raw(String::new())),
                password_rules::server_rules(e.arg("RULES")),
            )
        }
        Err(e) if is_dead_link(&e) => SetOutcome::InvalidLink,
        Err(e) if outcome_unknown(&e) => SetOutcome::MaybeSet,
        Err(e) if e.is_unreachable() => SetOutcome::Failed(Text::key("common.unreachable-short")),
        Err(ApiError::Api(e)) => SetOutcome::Failed(if e.message.is_empty() {
            Text::with("common.server-refused", "code", e.code)
        } else {
            Text::Raw(e.message)
        }),
        Err(_) => SetOutcome::Failed(Text::key("common.something-wrong")),
    }
}

/// True when the server may have set the password although the app got no
/// success: the request timed out (it may have been processed), the reply
/// was unreadable, or the server failed internally. Kaltura answers
/// `INTERNAL_SERVERL_ERROR` (its spelling) when the outside QR service fails,
/// after it saved the password and spent the link.
pub fn outcome_unknown(error: &ApiError) -> bool {
    matches!(error, ApiError::Timeout | ApiError::Garbled)
        || error.is(codes::INTERNAL_SERVERL_ERROR)
        // Kaltura's older API layer spells it right; treat it the same.
        || error.is("INTERNAL_SERVER_ERROR")
}

/// The key of the message when the outcome of setting the password is unknown.
pub const MAYBE_SET: &str = "restore.maybe-set";
