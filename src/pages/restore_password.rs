//! The set-new-password page behind the emailed link `/actions/restore-password/:hashKey`.

use leptos::prelude::*;

/// The page where a user chooses a new password from an emailed link.
#[component]
pub fn RestorePasswordPage() -> impl IntoView {
    view! { <h1>"Choose your password"</h1> }
}
