//! Moving the keyboard focus where attention must go after a state change:
//! a field just drawn, the alert that explains an error, or a new page's
//! heading. Targets are named by their element `id`.

use leptos::prelude::*;

use crate::platform;

/// The `id` (and `data-testid`) of every page's level-one [`Heading`].
pub const HEADING: &str = "page-heading";

/// Moves the keyboard focus to the element with this `id` once the DOM has
/// caught up with the state (a macrotask runs after Leptos' effects, which
/// use microtasks).
pub fn focus_soon(id: &'static str) {
    set_timeout(move || platform::focus(id), std::time::Duration::ZERO);
}

/// A page's level-one heading that takes the focus when it is drawn: after
/// a route change or a new step of a page without a field to type into, the
/// keyboard and the screen reader start at the top of what is new, and Tab
/// goes on to its first control. Never in the Tab order itself.
#[component]
pub fn Heading(children: Children) -> impl IntoView {
    focus_soon(HEADING);
    view! {
        <h1 id=HEADING tabindex="-1" data-testid=HEADING>
            {children()}
        </h1>
    }
}
