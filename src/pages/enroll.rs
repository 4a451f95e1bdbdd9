//! The enrollment page behind the emailed link `/actions/auth-info/:hashKey`.

use leptos::prelude::*;

/// The page that turns an emailed QR link into an authenticator entry.
#[component]
pub fn EnrollPage() -> impl IntoView {
    view! { <h1>"Set up your authenticator app"</h1> }
}
