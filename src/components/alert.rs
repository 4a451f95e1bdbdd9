//! A message region that screen readers announce.
//!
//! The region is always in the DOM, even when empty, because assistive
//! technology only announces changes to live regions that already exist.

use leptos::prelude::*;

use crate::i18n::{Text, text};

/// An error (`role="alert"`, announced at once) or, with `polite`, a status
/// message (`role="status"`, `aria-live="polite"`). Renders nothing visible
/// while `message` is `None`.
#[component]
pub fn Alert(
    /// The text to show; `None` leaves the region empty.
    #[prop(into)]
    message: Signal<Option<Text>>,
    /// The `data-testid` of the region.
    test_id: &'static str,
    /// A polite status region instead of an assertive error.
    #[prop(optional)]
    polite: bool,
    /// An `id` for `aria-describedby` references.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    let (role, live, class) = if polite {
        ("status", "polite", "status")
    } else {
        ("alert", "assertive", "alert")
    };
    view! {
        <div
            id=id
            class=class
            role=role
            aria-live=live
            aria-atomic="true"
            data-testid=test_id
        >
            {text(move || message.get().map(|m| m.render()).unwrap_or_default())}
        </div>
    }
}
