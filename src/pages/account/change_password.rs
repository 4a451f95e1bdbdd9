//! "Change password" on the account page: the current password, the new one
//! twice, and the authenticator code when the login needs one. The session
//! that asks stays signed in (kmc-server ends the login's other sessions).

use leptos::prelude::*;

use crate::api::SignedInClient;
use crate::components::alert::Alert;
use crate::components::code_input::{ExpandingCodeInput, complete_code};
use crate::components::focus::focus_soon;
use crate::components::password_field::PasswordField;
use crate::i18n::{Text, t, text, tr};
use crate::password_change::{PasswordChange, check_new_password};

/// The `id` of the form's message region.
const RESULT: &str = "change-password-result";

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
            // The server asking for the code is a prompt, not an error: the
            // field it needs takes the focus. Anything else is read first.
            if change == PasswordChange::CodeNeeded {
                focus_soon("change-otp");
            } else {
                focus_soon(RESULT);
            }
        }
    });
    let pending = change.pending();

    let refuse = move |why: &'static str| {
        result.set(Some(Text::key(why)));
        focus_soon(RESULT);
    };
    let submit = Callback::new(move |()| {
        let Some(email) = email.get_untracked() else {
            return;
        };
        if pending.get_untracked() {
            return;
        }
        let (old, new) = (current.get_untracked(), new_password.get_untracked());
        if old.is_empty() {
            refuse("account.enter-current");
            return;
        }
        if let Err(why) = check_new_password(&old, &new, &confirm.get_untracked()) {
            refuse(why);
            return;
        }
        let otp = match code_needed.get_untracked() {
            false => None,
            true => match complete_code(&code.get_untracked()) {
                Some(code) => Some(code),
                None => {
                    refuse("common.enter-code-digits");
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
            <Alert message=result test_id=RESULT />
        </form>
    }
}
