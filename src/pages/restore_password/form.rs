//! The set-new-password form: the new password twice, with the rules ticked
//! off while typing ([`RuleList`]); it is sent only once every rule holds.

use leptos::prelude::*;

use super::SetOutcome;
use crate::components::alert::Alert;
use crate::components::focus::focus_soon;
use crate::components::password_field::PasswordField;
use crate::i18n::{Text, t, text, tr};
use crate::password_rules::{
    self, RULE_CONFIRMED, RULE_NOT_EMAIL, RULES_SERVER_NOTE, rule_long_enough,
};

/// The new password, twice, with the rules ticked off while typing; sent
/// only once every rule holds.
#[component]
pub(super) fn SetPasswordForm(
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
    // A new page: the first field takes the focus; after a refusal, the
    // message that explains it (below).
    focus_soon("new-password");
    let pending = submit.pending();
    let outcome = submit.value();
    Effect::new(move |_| match outcome.get() {
        Some(SetOutcome::Failed(_)) => focus_soon("set-password-alert"),
        Some(SetOutcome::Refused(..)) => focus_soon("password-error"),
        _ => {}
    });
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
        } else {
            focus_soon("set-password-alert");
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
            <p id="password-error" class="field-error" role="alert" tabindex="-1" data-testid="password-error">
                {text(move || password_error.get().map(|m| m.render()).unwrap_or_default())}
            </p>
            <Alert message=alert test_id="set-password-alert" />
            <div class="actions">
                <button
                    type="submit"
                    class="primary"
                    data-testid="set-password-submit"
                    disabled=move || pending.get()
                    aria-busy=move || if pending.get() { "true" } else { "false" }
                >
                    {text(move || tr(if pending.get() { "common.saving" } else { "restore.submit" }))}
                </button>
            </div>
        </form>
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
