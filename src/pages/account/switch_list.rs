//! The login's other accounts to switch to, and the notice when an account
//! needs a fresh sign-in with the authenticator code.

use kaltura_api::responses::KalturaPartner;
use leptos::prelude::*;

use super::{account_label, relogin_message};
use crate::i18n::{t, text, tr_with};

/// One "Switch" button per other account.
#[component]
pub(super) fn SwitchList(
    /// The accounts to offer (all but the current one).
    others: Vec<KalturaPartner>,
    /// A switch, a sign-in again or a logout is in flight.
    busy: Signal<bool>,
    /// Switches to the account.
    switch: Action<KalturaPartner, ()>,
) -> impl IntoView {
    if others.is_empty() {
        return ().into_any();
    }
    let items = others
        .into_iter()
        .map(|target| {
            let label = account_label(&target);
            let test_id = format!("switch-account-{}", target.id);
            let name = label.clone();
            let aria_label =
                text(move || tr_with("account.switch-to", &[("account", &name.render())]));
            view! {
                <li>
                    <span>{label.signal()}</span>
                    <button
                        type="button"
                        class="secondary"
                        data-testid=test_id
                        aria-label=aria_label
                        disabled=move || busy.get()
                        on:click=move |_| drop(switch.dispatch(target.clone()))
                    >
                        {t("account.switch")}
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <h2>{t("account.others")}</h2>
        <ul class="account-list">{items}</ul>
    }
    .into_any()
}

/// The account a switch was refused for, asking for a sign-in with the code,
/// and "Sign in again".
#[component]
pub(super) fn ReloginNotice(
    /// The account that needs a fresh sign-in, once a switch said so.
    target: RwSignal<Option<KalturaPartner>>,
    /// The login's email, filled in on the sign-in card.
    email: String,
    /// A switch, a sign-in again or a logout is in flight.
    busy: Signal<bool>,
    /// Ends this session and opens sign-in for `(email, account)`.
    leave: Action<Option<(String, i64)>, ()>,
) -> impl IntoView {
    move || {
        target.get().map(|target| {
            let again = Some((email.clone(), target.id));
            view! {
                <div class="notice" data-testid="relogin-required" role="status">
                    <p>{relogin_message(&target).signal()}</p>
                    <button
                        type="button"
                        data-testid="relogin"
                        disabled=move || busy.get()
                        on:click=move |_| drop(leave.dispatch(again.clone()))
                    >
                        {t("account.sign-in-again")}
                    </button>
                </div>
            }
        })
    }
}
