//! A password input with a show/hide toggle.

use leptos::html::Input;
use leptos::prelude::*;

/// A labelled password input. The toggle switches between hidden and shown
/// text, so people can check what they typed on a phone keyboard; its
/// accessible name says what pressing it will do.
#[component]
pub fn PasswordField(
    /// The input's `id` (its label points at it).
    id: &'static str,
    /// The visible label.
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
    /// A handle on the input, for moving focus to it.
    #[prop(optional)]
    node_ref: NodeRef<Input>,
    /// Marks the field `required`.
    #[prop(optional)]
    required: bool,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    let toggle_test_id = toggle_test_id
        .map(str::to_owned)
        .unwrap_or_else(|| format!("toggle-{id}"));
    view! {
        <div class="field">
            <label for=id>{label}</label>
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
                    node_ref=node_ref
                    bind:value=value
                />
                <button
                    type="button"
                    class="toggle"
                    data-testid=toggle_test_id
                    aria-controls=id
                    aria-label=move || {
                        // Labels are plain English: ASCII lowering spares the wasm Unicode's case tables.
                        let what = label.to_ascii_lowercase();
                        if shown.get() { format!("Hide {what}") } else { format!("Show {what}") }
                    }
                    on:click=move |_| shown.update(|s| *s = !*s)
                >
                    {move || if shown.get() { "Hide" } else { "Show" }}
                </button>
            </div>
        </div>
    }
}
