//! The reset request (`/reset-password`), opened by "Lost your
//! authenticator?" on the sign-in card's code step: a password reset is the
//! way to a new QR code, so the page says so and sends the link.
//!
//! The email typed on the card arrives in memory through
//! [`LoginPrefill`](crate::session::LoginPrefill), never in the URL (an email
//! in an address we create would end up in histories and logs). It stays
//! there, so "Go to sign-in" returns to a card with the same email.

use leptos::prelude::*;

use crate::components::focus::Heading;
use crate::components::reset_request::ResetRequestForm;
use crate::i18n::{t, use_title};
use crate::routes;
use crate::session::use_login_prefill;

/// What a reset brings (a new QR code), the reset form started with the
/// card's email, and the way back to the card. The focus starts at the
/// heading, so the explanation is read before the form.
#[component]
pub fn ResetRequestPage() -> impl IntoView {
    use_title("page.reset-request");
    let email = use_login_prefill().get_untracked().email;
    view! {
        <section class="card" data-testid="reset-request-page">
            <Heading>{t("login.lost-authenticator")}</Heading>
            <p>{t("enroll.dead-next")}</p>
            <ResetRequestForm
                email_id="reset-email"
                submit_test_id="reset-submit"
                result_test_id="reset-result"
                initial_email=email.unwrap_or_default()
            />
            <p class="link-line">
                <a href=routes::LOGIN>{t("notfound.link")}</a>
            </p>
        </section>
    }
}
