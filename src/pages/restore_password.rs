//! The set-new-password page behind the emailed link
//! `/actions/restore-password/:hash_key` (Kaltura's path).
//!
//! On open it asks `user.validateHashKey`, which does not spend the link, so
//! a dead link is reported before the user invents a password. The rules are
//! listed up front and ticked off while typing ([`crate::password_rules`]);
//! what only the server knows (common passwords, recently used ones, its own
//! structure rules) comes back as a refusal explained next to the field.
//! `user.setInitialPassword` spends the link; for a 2FA login it returns a
//! new key, shown at once in the [`EnrollmentView`] with a warning that the
//! old authenticator entry stopped working.
//!
//! When the server states its own rules (`args.RULES` of a refusal), they
//! replace ours in the list, line breaks kept. When the outcome of
//! `setInitialPassword` is unknown (a timeout, a garbled reply, or Kaltura's
//! `INTERNAL_SERVERL_ERROR`, which it answers when fetching the QR image fails
//! after it already saved the password and spent the link), the page says the
//! password may have been changed rather than that it was not.

mod done;
mod form;
mod outcome;

use leptos::prelude::*;

use crate::api::use_api;
use crate::components::dead_link::{DeadLink, is_dead_link};
use crate::components::focus::Heading;
use crate::i18n::{t, use_title};
use crate::routes::{self, use_link_key, use_navigator};
use crate::session::use_login_prefill;

use done::{MaybeSet, PasswordSet};
use form::SetPasswordForm;

pub use outcome::*;

/// The set-new-password page: the flow for the link's key, or the dead-link
/// message when the path holds none.
#[component]
pub fn RestorePasswordPage() -> impl IntoView {
    use_title("page.restore");
    match use_link_key() {
        Some(hash_key) => view! { <RestoreFlow hash_key=hash_key /> }.into_any(),
        None => view! {
            <section class="card restore-page">
                <DeadLink heading="restore.dead-title" explanation="restore.dead-next" />
            </section>
        }
        .into_any(),
    }
}

/// The set-new-password flow for one link: the link check, the form, then
/// what setting the password led to.
#[component]
fn RestoreFlow(
    /// The link's hash key. Held in memory only.
    hash_key: String,
) -> impl IntoView {
    let api = use_api();
    let navigate = use_navigator();
    let typed_email = use_login_prefill().get_untracked().email;
    let hash_key = StoredValue::new(hash_key);

    let validation = {
        let api = api.clone();
        LocalResource::new(move || {
            let api = api.clone();
            let key = hash_key.get_value();
            async move { api.validate_hash_key(&key).await }
        })
    };
    // The login's email: named by the link check (this project's server), else
    // what was typed on the sign-in card in this tab, else unknown.
    let email = Memo::new(move |_| {
        validation
            .get()
            .and_then(|reply| reply.ok().flatten())
            .or_else(|| typed_email.clone())
    });

    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    // The server's own rules, once a refusal stated them.
    let server_rules = RwSignal::new(None::<String>);
    let submit = Action::new_local(move |new_password: &String| {
        let (api, key, new_password) = (api.clone(), hash_key.get_value(), new_password.clone());
        async move {
            let result = set_outcome(api.set_initial_password(&key, &new_password).await);
            match &result {
                // The link is spent (or dead): it leaves the address bar.
                SetOutcome::Set(_) | SetOutcome::InvalidLink => {
                    navigate.forget_link_key(routes::RESTORE_PASSWORD)
                }
                // That password was refused: clear it, so the next attempt
                // starts from empty fields rather than editing a refused one.
                // Nothing else ever clears what the user typed.
                SetOutcome::Refused(_, rules) => {
                    password.set(String::new());
                    confirm.set(String::new());
                    if rules.is_some() {
                        server_rules.set(rules.clone());
                    }
                }
                // The link may still work (the request may never have been
                // processed), so it stays where a reload can use it.
                SetOutcome::MaybeSet | SetOutcome::Failed(_) => {}
            }
            result
        }
    });
    let outcome = submit.value();

    view! {
        <section class="card restore-page">
            {move || match (outcome.get(), validation.get()) {
                (Some(SetOutcome::Set(key)), _) => view! { <PasswordSet key=key email=email /> }.into_any(),
                (Some(SetOutcome::MaybeSet), _) => view! { <MaybeSet email=email /> }.into_any(),
                (Some(SetOutcome::InvalidLink), _) => view! { <DeadLink heading="restore.dead-title" explanation="restore.dead-next" /> }.into_any(),
                (_, None) => view! { <p class="status" role="status">{t("restore.checking")}</p> }.into_any(),
                (_, Some(Ok(_))) => view! { <SetPasswordForm password=password confirm=confirm email=email server_rules=server_rules submit=submit /> }.into_any(),
                (_, Some(Err(e))) if is_dead_link(&e) => view! { <DeadLink heading="restore.dead-title" explanation="restore.dead-next" /> }.into_any(),
                (_, Some(Err(_))) => {
                    view! {
                        <Heading>{t("restore.title")}</Heading>
                        <p class="alert" role="alert" data-testid="set-password-alert">
                            {t("restore.check-unreachable")}
                        </p>
                        <button type="button" class="primary" data-testid="retry" on:click=move |_| validation.refetch()>
                            {t("common.try-again")}
                        </button>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiError;
    use crate::components::enrollment::EnrollmentKey;
    use crate::i18n::tr;
    use kaltura_api::{KalturaApiError, codes};

    fn refused(error: KalturaApiError) -> Result<Option<String>, ApiError> {
        Err(ApiError::Api(error))
    }

    #[test]
    fn each_password_refusal_is_explained_for_the_field() {
        let structure = KalturaApiError::new(codes::PASSWORD_STRUCTURE_INVALID, "bad")
            .with_arg("RULES", "at least 8 characters, not your email");
        match set_outcome(refused(structure)) {
            SetOutcome::Refused(message, rules) => {
                assert!(message.to_string().contains("not your email"));
                assert_eq!(
                    rules.as_deref(),
                    Some("at least 8 characters, not your email")
                );
            }
            _ => panic!("expected a refusal"),
        }
        for code in [codes::COMMON_PASSWORD, codes::PASSWORD_ALREADY_USED] {
            assert!(matches!(
                set_outcome(refused(KalturaApiError::new(code, "no"))),
                SetOutcome::Refused(_, None)
            ));
        }
    }

    #[test]
    fn a_success_with_a_qr_code_carries_the_new_key_and_without_one_does_not() {
        let with = set_outcome(Ok(Some(
            "otpauth://totp/K:a%40b.example?secret=JBSWY3DPEHPK3PXP".to_owned(),
        )));
        assert!(matches!(with, SetOutcome::Set(Some(EnrollmentKey::Uri(_)))));
        assert!(matches!(set_outcome(Ok(None)), SetOutcome::Set(None)));
    }

    #[test]
    fn a_dead_link_and_network_trouble_are_told_apart() {
        assert!(matches!(
            set_outcome(refused(KalturaApiError::new(codes::INVALID_HASH, "x"))),
            SetOutcome::InvalidLink
        ));
        assert!(matches!(
            set_outcome(Err(ApiError::Network)),
            SetOutcome::Failed(_)
        ));
    }

    #[test]
    fn a_timeout_a_garbled_reply_or_an_internal_error_may_have_set_the_password() {
        for error in [
            ApiError::Timeout,
            ApiError::Garbled,
            ApiError::Api(KalturaApiError::new(
                codes::INTERNAL_SERVERL_ERROR,
                "Internal server error occurred",
            )),
        ] {
            assert!(
                matches!(set_outcome(Err(error.clone())), SetOutcome::MaybeSet),
                "{error:?}"
            );
        }
        assert!(tr(MAYBE_SET).contains("may have been changed"));
        assert!(tr(MAYBE_SET).contains("new link"));
    }
}
