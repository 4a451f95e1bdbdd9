//! Moving the keyboard focus where attention must go after a state change:
//! a field just drawn, the alert that explains an error, or a new page's
//! heading.

use leptos::html::ElementType;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Moves the keyboard focus to `target` once the DOM has caught up with the
/// state (a macrotask runs after Leptos' effects, which use microtasks).
pub fn focus_soon<E>(target: NodeRef<E>)
where
    E: ElementType,
    E::Output: JsCast + Clone + 'static,
{
    set_timeout(
        move || {
            if let Some(element) = target.get_untracked() {
                let _ = element.unchecked_ref::<web_sys::HtmlElement>().focus();
            }
        },
        std::time::Duration::ZERO,
    );
}

/// A page's level-one heading that takes the focus when it is drawn: after
/// a route change or a new step of a page without a field to type into, the
/// keyboard and the screen reader start at the top of what is new, and Tab
/// goes on to its first control. Never in the Tab order itself.
#[component]
pub fn Heading(children: Children) -> impl IntoView {
    let heading = NodeRef::<leptos::html::H1>::new();
    focus_soon(heading);
    view! {
        <h1 tabindex="-1" data-testid="page-heading" node_ref=heading>
            {children()}
        </h1>
    }
}
