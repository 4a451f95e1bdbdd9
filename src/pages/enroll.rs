//! The enrollment page behind the emailed link `/actions/auth-info/:hash_key`
//! (Kaltura's own path, so links in Kaltura's emails work here too).
//!
//! Opening the link spends nothing: mail scanners and link previews open
//! links, and a page that spent the link on load would show the real user a
//! "used link" message. Only the "Show QR code" button calls
//! `user.generateQrCode`; then the hash key leaves the address bar and the
//! [`EnrollmentView`] shows the key. A used, expired or unknown link says so
//! and offers the password-reset email, which brings a new QR code.

use leptos::prelude::*;

use crate::api::{ApiError, use_api};
use crate::components::alert::Alert;
use crate::components::dead_link::{DeadLink, is_dead_link};
use crate::components::enrollment::{EnrollmentKey, EnrollmentView};
use crate::components::focus::{Heading, focus_soon};
use std::sync::Arc;

use crate::i18n::{Text, slotted, t, text, tr, use_title};
use crate::routes::{self, use_link_key, use_navigator};
use kaltura_api::codes;

/// Google Authenticator on Google Play.
pub const GOOGLE_PLAY_URL: &str =
    "https://play.google.com/store/apps/details?id=com.google.android.apps.authenticator2";
/// Google Authenticator on Apple's App Store.
pub const APP_STORE_URL: &str = "https://apps.apple.com/app/google-authenticator/id388497605";

/// What pressing "Show QR code" led to.
#[derive(Clone)]
pub enum QrOutcome {
    /// The key to enroll.
    Key(EnrollmentKey),
    /// The link was used, expired or never existed.
    InvalidLink,
    /// The server could not be reached or answered garbage: try again.
    Unreachable,
    /// The server refused for another reason, in words for the user.
    Failed(Text),
}

/// Sorts the reply of `user.generateQrCode` into what the page shows.
pub fn qr_outcome(reply: Result<String, ApiError>) -> QrOutcome {
    match reply {
        Ok(text) => EnrollmentKey::from_reply(&text).map_or_else(
            || QrOutcome::Failed(Text::key("enroll.not-a-qr")),
            QrOutcome::Key,
        ),
        Err(e) if is_dead_link(&e) => QrOutcome::InvalidLink,
        Err(e) if e.is_unreachable() => QrOutcome::Unreachable,
        Err(e) if e.is(codes::ERROR_IN_QR_GENERATION) => {
            QrOutcome::Failed(Text::key("enroll.qr-failed"))
        }
        Err(ApiError::Api(e)) => QrOutcome::Failed(if e.message.is_empty() {
            Text::with("common.server-refused", "code", e.code)
        } else {
            Text::Raw(e.message)
        }),
        Err(_) => QrOutcome::Unreachable,
    }
}

/// The enrollment page: the flow for the link's key, or the dead-link
/// message when the path holds none.
#[component]
pub fn EnrollPage() -> impl IntoView {
    use_title("page.enroll");
    match use_link_key() {
        Some(hash_key) => view! { <EnrollFlow hash_key=hash_key /> }.into_any(),
        None => view! {
            <section class="card enroll-page">
                <DeadLink />
            </section>
        }
        .into_any(),
    }
}

/// The enrollment flow for one link: intro and "Show QR code", then the key,
/// or the dead-link message with the reset form.
#[component]
fn EnrollFlow(
    /// The link's hash key. Held in memory only; sent once, to `generateQrCode`.
    hash_key: String,
) -> impl IntoView {
    let api = use_api();
    let navigate = use_navigator();
    let hash_key = StoredValue::new(hash_key);
    let show = Action::new_local(move |()| {
        let api = api.clone();
        let key = hash_key.get_value();
        async move {
            let qr = qr_outcome(api.generate_qr_code(&key).await);
            // Once the server has answered, the key is spent (or was never
            // good): take it out of the address bar. After a network failure
            // it stays, so a reload can still try again.
            if !matches!(qr, QrOutcome::Unreachable) {
                navigate.forget_link_key(routes::AUTH_INFO);
            }
            qr
        }
    });
    let outcome = show.value();
    let pending = show.pending();
    let alert = Signal::derive(move || match outcome.get() {
        Some(QrOutcome::Unreachable) => Some(Text::key("enroll.unreachable")),
        Some(QrOutcome::Failed(message)) => Some(message),
        _ => None,
    });
    Effect::new(move |_| {
        if alert.with(Option::is_some) {
            focus_soon("enroll-alert");
        }
    });
    // Which view shows; it changes only when the page does, so an error
    // redraws its alert, not the page (whose heading would take the focus).
    let key_shown = Memo::new(move |_| match outcome.get() {
        Some(QrOutcome::Key(_)) => Some(true),
        Some(QrOutcome::InvalidLink) => Some(false),
        _ => None,
    });

    let intro = move || {
        view! {
            <p>{t("enroll.intro")}</p>
            <p>
                // The store links sit where each language's sentence puts them.
                {slotted(
                    "enroll.intro-apps",
                    Arc::new(|slot| {
                        let (href, name) = if slot == "play" {
                            (GOOGLE_PLAY_URL, "Google Play")
                        } else {
                            (APP_STORE_URL, "App Store")
                        };
                        view! {
                            <a href=href rel="noreferrer" target="_blank">
                                {name}
                            </a>
                        }
                            .into_any()
                    }),
                )}
            </p>
            <p class="hint">{t("enroll.once-hint")}</p>
            <Alert message=alert test_id="enroll-alert" />
            <div class="actions">
                <button
                    type="button"
                    class="primary"
                    data-testid="show-qr"
                    disabled=move || pending.get()
                    on:click=move |_| {
                        if !pending.get_untracked() {
                            show.dispatch(());
                        }
                    }
                >
                    {text(move || tr(if pending.get() { "enroll.getting" } else { "enroll.show-qr" }))}
                </button>
            </div>
        }
    };

    view! {
        <section class="card enroll-page">
            {move || match (key_shown.get(), outcome.get_untracked()) {
                (Some(true), Some(QrOutcome::Key(key))) => {
                    view! {
                        <Heading>{t("enroll.title")}</Heading>
                        <EnrollmentView enrollment=key />
                    }
                        .into_any()
                }
                (Some(false), _) => view! { <DeadLink /> }.into_any(),
                _ => view! { <Heading>{t("enroll.title")}</Heading> {intro()} }.into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaltura_api::KalturaApiError;

    fn refused(code: &str) -> Result<String, ApiError> {
        Err(ApiError::Api(KalturaApiError::new(code, "refused")))
    }

    #[test]
    fn an_otpauth_reply_becomes_a_key() {
        let outcome = qr_outcome(Ok(
            "otpauth://totp/K:a%40b.example?secret=JBSWY3DPEHPK3PXP".to_owned()
        ));
        assert!(matches!(outcome, QrOutcome::Key(EnrollmentKey::Uri(_))));
    }

    #[test]
    fn invalid_hash_and_kalturas_link_codes_mean_a_dead_link() {
        for code in [
            codes::INVALID_HASH,
            codes::NEW_PASSWORD_HASH_KEY_INVALID,
            codes::NEW_PASSWORD_HASH_KEY_EXPIRED,
        ] {
            assert!(
                matches!(qr_outcome(refused(code)), QrOutcome::InvalidLink),
                "{code}"
            );
        }
    }

    #[test]
    fn network_trouble_offers_a_retry_and_other_refusals_explain() {
        assert!(matches!(
            qr_outcome(Err(ApiError::Timeout)),
            QrOutcome::Unreachable
        ));
        assert!(matches!(
            qr_outcome(Err(ApiError::Garbled)),
            QrOutcome::Unreachable
        ));
        assert!(matches!(
            qr_outcome(refused(codes::ERROR_IN_QR_GENERATION)),
            QrOutcome::Failed(_)
        ));
        assert!(matches!(
            qr_outcome(Ok("nonsense".into())),
            QrOutcome::Failed(_)
        ));
    }
}
