//! "Change password" on the account page: the current password, the new one
//! twice, and the authenticator code when the login needs one. The session
//! that asks stays signed in (kmc-server ends the login's other sessions).

use leptos::html::Input;
use leptos::prelude::*;

use crate::api::SignedInClient;
use crate::components::alert::Alert;
use crate::components::code_input::{ExpandingCodeInput, complete_code};
use crate::components::focus::focus_soon;
use crate::components::password_field::PasswordField;
use crate::i18n::{Text, t, text, tr};
use crate::password_change::{PasswordChange, check_new_password};

/// One password change: email, current password, new password, code.
type Change = (String, String, String, Option<String>);

/// The change-password form, acting on [`PasswordChange`].
#[component]
pub(super) fn ChangePasswordForm(
    /// The login's email, once the page has loaded it.
    email: Signal<Option<String>>,
    /// The client of the session that asks.
    client: RwSignal<Option<SignedInClient>>,
) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let code_needed = RwSignal::new(false);
    let result = RwSignal::new(None::<Text>);
    let code_ref = NodeRef::<Input>::new();
    let new_password_ref = NodeRef::<Input>::new();

    let change = Action::new_local(move |(email, old, new, otp): &Change| {
        let (email, old, new, otp) = (email.clone(), old.clone(), new.clone(), otp.clone());
        async move {
            let Some(client) = client.get_untracked() else {
                return;
            };
            let answer = client
                .update_password(&email, &old, &new, otp.as_deref())
                .await;
            let change = PasswordChange::from_result(&answer);
            let done = change == PasswordChange::Changed;
            result.set(Some(change.message("account.password-changed")));
            code_needed.set(change.code_needed(code_needed.get_untracked()));
            let refused_new = matches!(change, PasswordChange::NewPasswordRefused(_));
            if done || change == PasswordChange::CodeRejected {
                code.set(String::new());
            }
            if done || refused_new {
                new_password.set(String::new());
                confirm.set(String::new());
            }
            if done || change == PasswordChange::WrongCurrent {
                current.set(String::new());
            }
            if code_needed.get_untracked() {
                focus_soon(code_ref);
            } else if refused_new {
                focus_soon(new_password_ref);
            }
        }
    });
    let pending = change.pending();

    let submit = Callback::new(move |()| {
        let Some(email) = email.get_untracked() else {
            return;
        };
        if pending.get_untracked() {
            return;
        }
        let (old, new) = (current.get_untracked(), new_password.get_untracked());
        if old.is_empty() {
            result.set(Some(Text::key("account.enter-current")));
            return;
        }
        if let Err(why) = check_new_password(&old, &new, &confirm.get_untracked()) {
            result.set(Some(Text::key(why)));
            return;
        }
        let otp = match code_needed.get_untracked() {
            false => None,
            true => match complete_code(&code.get_untracked()) {
                Some(code) => Some(code),
                None => {
                    result.set(Some(Text::key("common.enter-code-digits")));
                    focus_soon(code_ref);
                    return;
                }
            },
        };
        change.dispatch((email, old, new, otp));
    });

    view! {
        <h2>{t("account.change-title")}</h2>
        <form
            data-testid="change-password-form"
            on:submit=move |ev| {
                ev.prevent_default();
                submit.run(());
            }
        >
            <PasswordField
                id="change-current-password"
                label="password.current"
                value=current
                autocomplete="current-password"
            />
            <PasswordField
                id="change-new-password"
                label="password.new"
                value=new_password
                autocomplete="new-password"
                node_ref=new_password_ref
            />
            <PasswordField
                id="change-confirm-password"
                label="password.confirm-new"
                value=confirm
                autocomplete="new-password"
            />
            <ExpandingCodeInput
                id="change-otp"
                shown=code_needed
                value=code
                node_ref=code_ref
                on_complete=move |_| submit.run(())
            />
            <button
                type="submit"
                data-testid="change-password-submit"
                disabled=move || pending.get()
                aria-busy=move || if pending.get() { "true" } else { "false" }
            >
                {text(move || tr(if pending.get() { "account.changing" } else { "account.change-submit" }))}
            </button>
            <Alert message=result test_id="change-password-result" />
        </form>
    }
}
