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

use leptos::prelude::*;

use crate::api::{ApiError, use_api};
use crate::components::alert::Alert;
use crate::components::dead_link::{DeadLink, is_dead_link};
use crate::components::enrollment::{EnrollmentKey, EnrollmentView};
use crate::components::password_field::PasswordField;
use crate::components::reset_request::ResetRequestForm;
use crate::i18n::{Text, t, text, tr, use_title};
use crate::password_rules::{
    self, RULE_CONFIRMED, RULE_NOT_EMAIL, RULES_SERVER_NOTE, rule_long_enough,
};
use crate::routes::{self, use_link_key, use_navigator};
use crate::session::use_login_prefill;
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
                        <h1>{t("restore.title")}</h1>
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

/// The new password, twice, with the rules ticked off while typing; sent
/// only once every rule holds.
#[component]
fn SetPasswordForm(
    /// The new password.
    password: RwSignal<String>,
    /// Its confirmation.
    confirm: RwSignal<String>,
    /// The login's email, when known (the "not your email" rule).
    email: Memo<Option<String>>,
    /// The server's own rules, once a refusal stated them.
    server_rules: RwSignal<Option<String>>,
    /// Sets the password.
    submit: Action<String, SetOutcome>,
) -> impl IntoView {
    let rules = Memo::new(move |_| {
        email.with(|email| password_rules::check(&password.get(), &confirm.get(), email.as_deref()))
    });
    let attempted = RwSignal::new(false);
    let pending = submit.pending();
    let outcome = submit.value();
    let password_error = Signal::derive(move || match outcome.get() {
        Some(SetOutcome::Refused(message, _)) if !pending.get() => Some(message),
        _ => None,
    });
    let alert = Signal::derive(move || match outcome.get() {
        Some(SetOutcome::Failed(message)) if !pending.get() => Some(message),
        _ if attempted.get() && !rules.get().all_met() => Some(Text::key("restore.not-yet")),
        _ => None,
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        attempted.set(true);
        if rules.get_untracked().all_met() {
            submit.dispatch(password.get_untracked());
        }
    };
    let pending = Signal::from(pending);
    view! {
        <h1>{t("restore.title")}</h1>
        <form class="set-password" on:submit=on_submit novalidate=true>
            <PasswordField
                id="new-password"
                label="password.new"
                value=password
                autocomplete="new-password"
                toggle_test_id="toggle-new-password"
                describedby="password-rules"
                disabled=pending
            />
            <RuleList rules=rules server_rules=server_rules />
            <PasswordField
                id="confirm-password"
                label="restore.confirm"
                value=confirm
                autocomplete="new-password"
                toggle_test_id="toggle-confirm-password"
                describedby="password-error"
                disabled=pending
            />
            <p id="password-error" class="field-error" role="alert" data-testid="password-error">
                {text(move || password_error.get().map(|m| m.render()).unwrap_or_default())}
            </p>
            <Alert message=alert test_id="set-password-alert" />
            <div class="actions">
                <button
                    type="submit"
                    class="primary"
                    data-testid="set-password-submit"
                    disabled=move || pending.get()
                >
                    {text(move || tr(if pending.get() { "common.saving" } else { "restore.submit" }))}
                </button>
            </div>
        </form>
    }
}

/// The button on to the sign-in card, with the login's email filled in.
#[component]
fn ContinueToSignIn(
    /// The login's email, when known.
    email: Memo<Option<String>>,
    /// The key of the button's label.
    label: &'static str,
) -> impl IntoView {
    let prefill = use_login_prefill();
    let navigate = use_navigator();
    let on_click = move |_| {
        let email = email.get_untracked();
        prefill.update(|p| {
            if email.is_some() {
                p.email = email;
            }
            p.open_code_step = false;
        });
        navigate.go(routes::LOGIN);
    };
    view! {
        <div class="actions">
            <button type="button" class="primary" data-testid="password-set-continue" on:click=on_click>
                {t(label)}
            </button>
        </div>
    }
}

/// The password is set: for a 2FA login, the new key at once (the old
/// authenticator entry stopped working); otherwise on to sign-in.
#[component]
fn PasswordSet(
    /// The new key, when the login uses two-factor authentication.
    key: Option<EnrollmentKey>,
    /// The login's email, when known.
    email: Memo<Option<String>>,
) -> impl IntoView {
    match key {
        Some(key) => view! {
            <h1>{t("restore.set-title")}</h1>
            <p class="warning" role="note" data-testid="old-authenticator-warning">
                {t("restore.old-authenticator")}
            </p>
            <EnrollmentView enrollment=key />
        }
        .into_any(),
        None => view! {
            <div data-testid="password-set">
                <h1>{t("restore.set-title")}</h1>
                <p>{t("restore.sign-in-new")}</p>
                <ContinueToSignIn email=email label="common.continue-to-sign-in" />
            </div>
        }
        .into_any(),
    }
}

/// The outcome is unknown: the password may have been changed and the link
/// spent; sign in with it, or ask for a new link.
#[component]
fn MaybeSet(
    /// The login's email, when known.
    email: Memo<Option<String>>,
) -> impl IntoView {
    view! {
        <div data-testid="password-maybe-set" role="alert">
            <h1>{t("restore.maybe-title")}</h1>
            <p>{t(MAYBE_SET)}</p>
        </div>
        <ContinueToSignIn email=email label="restore.sign-in-with-new" />
        <ResetRequestForm email_id="reset-email" submit_test_id="reset-submit" result_test_id="reset-result" />
    }
}

/// The rules, each marked met / not yet met as the user types.
#[component]
fn RuleList(
    /// The live check of the typed passwords; its "not the email" rule is
    /// unknown (left to the server) when the page does not know the email.
    rules: Memo<password_rules::RuleCheck>,
    /// The server's own rules, once it stated them: shown instead of our
    /// length and email rules, which may differ from the server's.
    server_rules: RwSignal<Option<String>>,
) -> impl IntoView {
    let item = move |test_id: &'static str, text: Text, met: Signal<Option<bool>>| {
        view! {
            <li
                data-testid=test_id
                data-met=move || match met.get() {
                    Some(true) => "true",
                    Some(false) => "false",
                    None => "unknown",
                }
                class=move || match met.get() {
                    Some(true) => "rule met",
                    Some(false) => "rule unmet",
                    None => "rule",
                }
            >
                <span class="rule-mark" aria-hidden="true">
                    {move || match met.get() {
                        Some(true) => "✓",
                        Some(false) => "✗",
                        None => "•",
                    }}
                </span>
                " "
                {text.signal()}
                <span class="visually-hidden">
                    {move || match met.get() {
                        Some(true) => format!(" {}", tr("rules.met")),
                        Some(false) => format!(" {}", tr("rules.not-yet")),
                        None => String::new(),
                    }}
                </span>
            </li>
        }
    };
    let long_enough = Signal::derive(move || Some(rules.get().long_enough));
    let not_email = Signal::derive(move || rules.get().not_email);
    let confirmed = Signal::derive(move || Some(rules.get().confirmed));
    let ours = move || server_rules.with(Option::is_none);
    view! {
        <div class="password-rules">
            <Show when=move || !ours()>
                <p class="hint">{t("rules.server-title")}</p>
                <p class="server-rules" data-testid="server-rules">
                    {move || server_rules.get()}
                </p>
            </Show>
            <ul id="password-rules" data-testid="password-rules">
                <Show when=ours>
                    {item("rule-length", rule_long_enough(), long_enough)}
                    {item("rule-not-email", Text::key(RULE_NOT_EMAIL), not_email)}
                </Show>
                {item("rule-match", Text::key(RULE_CONFIRMED), confirmed)}
            </ul>
            <Show when=ours>
                <p class="hint">{t(RULES_SERVER_NOTE)}</p>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
