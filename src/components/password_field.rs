//! A password input with a show/hide toggle, and a polite "Caps Lock is on"
//! beside it while Caps Lock is on (read from each key event's
//! `getModifierState`, the only place a page can see it).

use leptos::prelude::*;

use crate::i18n::{t, text, tr};

/// A labelled password input. The toggle switches between hidden and shown
/// text, so people can check what they typed on a phone keyboard; its
/// accessible name says what pressing it will do.
#[component]
pub fn PasswordField(
    /// The input's `id` (its label points at it).
    id: &'static str,
    /// The key of the visible label; `{label}.show` and `{label}.hide` name the toggle.
    label: &'static str,
    /// The field's text, two-way bound.
    value: RwSignal<String>,
    /// `current-password` or `new-password`, so password managers do the right thing.
    autocomplete: &'static str,
    /// `data-testid` of the toggle; defaults to `toggle-{id}`.
    #[prop(optional)]
    toggle_test_id: Option<&'static str>,
    /// Disables the input (while a request is in flight, say).
    #[prop(optional, into)]
    disabled: Signal<bool>,
    /// An element id describing the field (rules, an error).
    #[prop(optional)]
    describedby: Option<&'static str>,
    /// Marks the field `required`.
    #[prop(optional)]
    required: bool,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    let caps_lock = RwSignal::new(false);
    let toggle_test_id = toggle_test_id
        .map(str::to_owned)
        .unwrap_or_else(|| format!("toggle-{id}"));
    view! {
        <div class="field">
            <label for=id>{t(label)}</label>
            <div class="password-row">
                <input
                    id=id
                    name=id
                    type=move || if shown.get() { "text" } else { "password" }
                    autocomplete=autocomplete
                    autocapitalize="off"
                    spellcheck="false"
                    aria-describedby=describedby
                    required=required
                    disabled=move || disabled.get()
                    bind:value=value
                    // Every key's release says whether Caps Lock is on, its own included.
                    on:keyup=move |ev| caps_lock.set(ev.get_modifier_state("CapsLock"))
                />
                <button
                    type="button"
                    class="toggle"
                    data-testid=toggle_test_id
                    aria-controls=id
                    aria-label=move || {
                        // Each label has its own whole "Show …"/"Hide …" sentences per language.
                        tr(&format!("{label}.{}", if shown.get() { "hide" } else { "show" }))
                    }
                    on:click=move |_| shown.update(|s| *s = !*s)
                >
                    {text(move || tr(if shown.get() { "password.hide" } else { "password.show" }))}
                </button>
            </div>
            // Always in the DOM: a live region announces only changes to itself.
            <p class="caps-lock" aria-live="polite" data-testid=format!("{id}-caps-lock")>
                {text(move || if caps_lock.get() { tr("password.caps-lock") } else { String::new() })}
            </p>
        </div>
    }
}
