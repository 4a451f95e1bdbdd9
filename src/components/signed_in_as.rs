//! "Signed in as {name} ({email})", on the account page and on the sign-in
//! offer of a tab that already has a session.

use std::sync::Arc;

use leptos::prelude::*;

use crate::i18n::slotted;

/// The sentence naming the signed-in user; the name and the email keep their
/// own direction in a right-to-left sentence (`<bdi>`).
#[component]
pub fn SignedInAs(
    /// The user's display name.
    name: String,
    /// The login's email.
    email: String,
) -> impl IntoView {
    view! {
        <p data-testid="signed-in-as">
            {slotted(
                "account.signed-in-as",
                Arc::new(move |slot| {
                    let value = if slot == "email" { email.clone() } else { name.clone() };
                    view! { <bdi>{value}</bdi> }.into_any()
                }),
            )}
        </p>
    }
}
