//! The signed-in account page (`/account`). Being written; see issue 6.

use leptos::prelude::*;

/// The account page.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! { <section class="card"><h1>"Your account"</h1></section> }
}
