//! The sign-in card (`/login`). Being written; see issue 3.

use leptos::prelude::*;

/// The sign-in card.
#[component]
pub fn LoginPage() -> impl IntoView {
    view! { <section class="card" data-testid="login-card"><h1>"Sign in"</h1></section> }
}
