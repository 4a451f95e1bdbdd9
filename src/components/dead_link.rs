//! A used, expired or unknown emailed link: what happened, and the reset
//! form that brings a new one. Shown by both link pages.

use kaltura_api::codes;
use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::focus::Heading;
use crate::components::reset_request::ResetRequestForm;
use crate::i18n::t;

/// The error codes that mean "this link cannot be used (any more)": ours send
/// `INVALID_HASH`; Kaltura versions also use the set-password link codes.
pub fn is_dead_link(error: &ApiError) -> bool {
    [
        codes::INVALID_HASH,
        codes::NEW_PASSWORD_HASH_KEY_INVALID,
        codes::NEW_PASSWORD_HASH_KEY_EXPIRED,
        codes::LOGIN_DATA_NOT_FOUND,
    ]
    .into_iter()
    .any(|code| error.is(code))
}

/// The message for a dead link, under the page's level-one heading, and the
/// reset form that brings a new link.
#[component]
pub fn DeadLink(
    /// The key of the heading (each page words it its own way).
    #[prop(optional)]
    heading: Option<&'static str>,
    /// The key of what a new link brings, after "To get a new one, …".
    #[prop(optional)]
    explanation: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="link-invalid" data-testid="link-invalid" role="alert">
            <Heading>{t(heading.unwrap_or("enroll.dead-title"))}</Heading>
            <p>{t("enroll.dead-why")}</p>
            <p>{t(explanation.unwrap_or("enroll.dead-next"))}</p>
        </div>
        <ResetRequestForm
            email_id="reset-email"
            submit_test_id="reset-submit"
            result_test_id="reset-result"
        />
    }
}
