//! The hand-over from the static shell of `index.html` to the app.
//!
//! `index.html` carries a static copy of the sign-in card (same markup, classes and ids as
//! [`crate::pages::login::LoginPage`] renders) inside `<main id="boot">`, so the card is
//! painted and can be typed in before the module has loaded. When the app mounts, what the
//! person typed there and where the focus was must survive, and nothing may move:
//!
//! 1. [`capture`], just before mounting, reads the card's inputs whose value the person (or a
//!    password manager) changed, and which of them has the focus.
//! 2. The app mounts; the login page asks [`focus_was_kept`] and skips its own first focus when
//!    the person was already in a field.
//! 3. [`finish`], right after mounting (same task, so no frame is painted in between), removes
//!    the shell, writes the values into the app's inputs of the same ids (firing `input` /
//!    `change`, so the app's signals take them) and puts the focus back (caret at the end).
//!
//! Only the browser build does anything; natively these are no-ops so the pages compile.

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::cell::RefCell;

    use wasm_bindgen::JsCast;
    use web_sys::{Document, Event, EventInit, HtmlElement, HtmlInputElement};

    /// The id of the static shell's `<main>` in `index.html`.
    const SHELL_ID: &str = "boot";

    /// What one static input held when the app was about to mount.
    enum Value {
        Text(String),
        Checked(bool),
    }

    /// The static card's inputs, by id (the app's inputs have the same ids).
    const FIELDS: [&str; 3] = ["login-email", "login-password", "remember-email"];

    /// The static shell's state, kept between [`capture`] and [`finish`].
    #[derive(Default)]
    struct Captured {
        values: Vec<(&'static str, Value)>,
        focus: Option<&'static str>,
    }

    thread_local! {
        static CAPTURED: RefCell<Option<Captured>> = const { RefCell::new(None) };
    }

    fn document() -> Option<Document> {
        web_sys::window()?.document()
    }

    pub fn capture() {
        let Some(doc) = document() else { return };
        let Some(shell) = doc.get_element_by_id(SHELL_ID) else {
            return;
        };
        let mut captured = Captured::default();
        for id in FIELDS {
            let Some(input) = doc
                .get_element_by_id(id)
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
            else {
                continue;
            };
            // Only what the person (or a password manager) changed: the app's own
            // defaults, such as a remembered email, must not be overwritten by blanks.
            let value = if input.type_() == "checkbox" {
                (input.checked() != input.default_checked())
                    .then(|| Value::Checked(input.checked()))
            } else {
                let v = input.value();
                (!v.is_empty()).then_some(Value::Text(v))
            };
            if let Some(value) = value {
                captured.values.push((id, value));
            }
        }
        if let Some(active) = doc.active_element()
            && shell.contains(Some(&active))
        {
            captured.focus = FIELDS.into_iter().find(|id| active.id() == *id);
        }
        CAPTURED.with(|c| *c.borrow_mut() = Some(captured));
    }

    pub fn focus_was_kept() -> bool {
        CAPTURED.with(|c| c.borrow().as_ref().is_some_and(|c| c.focus.is_some()))
    }

    pub fn finish() {
        let Some(doc) = document() else { return };
        if let Some(shell) = doc.get_element_by_id(SHELL_ID) {
            shell.remove();
        }
        let Some(captured) = CAPTURED.with(|c| c.borrow_mut().take()) else {
            return;
        };
        let init = EventInit::new();
        init.set_bubbles(true);
        for (id, value) in captured.values {
            let Some(input) = doc
                .get_element_by_id(id)
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
            else {
                continue;
            };
            let event = match value {
                Value::Text(v) => {
                    input.set_value(&v);
                    "input"
                }
                Value::Checked(on) => {
                    input.set_checked(on);
                    "change"
                }
            };
            if let Ok(e) = Event::new_with_event_init_dict(event, &init) {
                let _ = input.dispatch_event(&e);
            }
        }
        // A focused text input gets its caret at the end: where a person typing was.
        if let Some(el) = captured
            .focus
            .and_then(|id| doc.get_element_by_id(id))
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
}

/// Reads what was typed into the static shell and where the focus is. Call just before
/// mounting the app.
pub fn capture() {
    #[cfg(target_arch = "wasm32")]
    browser::capture();
}

/// True when the person was in a field of the static shell: the page must not move the focus
/// on its first render ([`finish`] puts it back where it was).
pub fn focus_was_kept() -> bool {
    #[cfg(target_arch = "wasm32")]
    return browser::focus_was_kept();
    #[cfg(not(target_arch = "wasm32"))]
    false
}

/// Removes the static shell and carries the captured values and focus into the app's inputs
/// of the same ids. Call right after mounting, in the same task.
pub fn finish() {
    #[cfg(target_arch = "wasm32")]
    browser::finish();
}
