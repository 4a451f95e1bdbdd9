//! A message region that screen readers announce.
//!
//! The region is always in the DOM, even when empty, because assistive
//! technology only announces changes to live regions that already exist.

use leptos::prelude::*;

use crate::i18n::{Text, text};

/// An error (`role="alert"`, announced at once) or, with `polite`, a status
/// message (`role="status"`, `aria-live="polite"`). Renders nothing visible
/// while `message` is `None`.
///
/// The region takes focus from script (`tabindex="-1"`, never in the Tab
/// order): after an error the page moves the focus here, so a keyboard user
/// reads the message first and Tab continues to the fields below it.
#[component]
pub fn Alert(
    /// The text to show; `None` leaves the region empty.
    #[prop(into)]
    message: Signal<Option<Text>>,
    /// The `id` and `data-testid` of the region (pages focus it by id).
    test_id: &'static str,
    /// A polite status region instead of an assertive error.
    #[prop(optional)]
    polite: bool,
) -> impl IntoView {
    let (role, live, class) = if polite {
        ("status", "polite", "status")
    } else {
        ("alert", "assertive", "alert")
    };
    view! {
        <div
            id=test_id
            class=class
            role=role
            aria-live=live
            aria-atomic="true"
            tabindex="-1"
            data-testid=test_id
        >
            {text(move || message.get().map(|m| m.render()).unwrap_or_default())}
        </div>
    }
}
