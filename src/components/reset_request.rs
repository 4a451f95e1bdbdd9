//! "Send me a reset link": used by the sign-in card's "Forgot password?" and by
//! the pages behind an invalid or expired emailed link.
//!
//! The answer never says whether the email has an account (the server always
//! answers `null`); only a network failure or a rate limit is reported as such.

use leptos::prelude::*;

use crate::api::{ApiError, use_api};
use crate::components::alert::Alert;
use crate::i18n::{Text, t, text, tr};

/// The key of the neutral answer to every accepted reset request.
pub const RESET_SENT: &str = "reset.sent";

/// The message for the outcome of `user.resetPassword`.
pub fn reset_result_message(result: &Result<(), ApiError>) -> Text {
    Text::key(match result {
        Ok(()) => RESET_SENT,
        Err(e) if e.is_unreachable() => "reset.unreachable",
        Err(e) if e.is(kaltura_api::codes::RESOURCE_IS_RESERVED) => "reset.too-many",
        // Any other refusal gets the neutral answer too: the page must not
        // reveal anything about the email.
        Err(_) => RESET_SENT,
    })
}

/// An email field and a button that asks the server to email a
/// set-new-password link, then shows the neutral answer.
#[component]
pub fn ResetRequestForm(
    /// The email input's `id` (`forgot-email` on the sign-in card,
    /// `reset-email` on the link pages).
    email_id: &'static str,
    /// `data-testid` of the submit button.
    submit_test_id: &'static str,
    /// `data-testid` of the answer region.
    result_test_id: &'static str,
    /// The email to start with (e.g. what was typed on the sign-in card).
    #[prop(optional, into)]
    initial_email: String,
) -> impl IntoView {
    let api = use_api();
    let email = RwSignal::new(initial_email);
    let request = Action::new_local(move |email: &String| {
        let api = api.clone();
        let email = email.trim().to_owned();
        async move { api.reset_password(&email).await }
    });
    let pending = request.pending();
    let message = Signal::derive(move || {
        request
            .value()
            .with(|r| r.as_ref().map(reset_result_message))
    });
    view! {
        <form
            class="reset-request"
            on:submit=move |ev| {
                ev.prevent_default();
                if !pending.get_untracked() && !email.get_untracked().trim().is_empty() {
                    request.dispatch(email.get_untracked());
                }
            }
        >
            <div class="field">
                <label for=email_id>{t("common.email")}</label>
                <input
                    id=email_id
                    name=email_id
                    type="email"
                    autocomplete="username"
                    required=true
                    bind:value=email
                />
            </div>
            <button
                type="submit"
                class="secondary"
                data-testid=submit_test_id
                disabled=move || pending.get()
            >
                {text(move || tr(if pending.get() { "reset.sending" } else { "reset.submit" }))}
            </button>
            <Alert message=message test_id=result_test_id polite=true />
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaltura_api::KalturaApiError;

    #[test]
    fn every_server_answer_gets_the_same_neutral_message() {
        assert_eq!(reset_result_message(&Ok(())), Text::key(RESET_SENT));
        let refused = ApiError::Api(KalturaApiError::new("USER_NOT_FOUND", "not found"));
        assert_eq!(reset_result_message(&Err(refused)), Text::key(RESET_SENT));
    }

    #[test]
    fn a_network_failure_is_reported_as_such() {
        for e in [ApiError::Network, ApiError::Timeout, ApiError::Garbled] {
            assert!(
                reset_result_message(&Err(e))
                    .to_string()
                    .starts_with("Can't reach the server")
            );
        }
    }

    #[test]
    fn a_rate_limit_says_to_wait() {
        let e = ApiError::Api(KalturaApiError::new("RESOURCE_IS_RESERVED", "busy"));
        assert!(
            reset_result_message(&Err(e))
                .to_string()
                .contains("Wait a few minutes")
        );
    }
}
