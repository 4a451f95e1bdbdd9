//! Moving the keyboard focus to a field a state change has just drawn.

use leptos::html::Input;
use leptos::prelude::*;

/// Moves the keyboard focus to `target` once the DOM has caught up with the
/// state (a macrotask runs after Leptos' effects, which use microtasks).
pub fn focus_soon(target: NodeRef<Input>) {
    set_timeout(
        move || {
            if let Some(input) = target.get_untracked() {
                let _ = input.focus();
            }
        },
        std::time::Duration::ZERO,
    );
}
