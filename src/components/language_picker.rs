//! The language picker under every page: a native `<select>` (keyboard and
//! screen readers work as everywhere), each language named in itself.
//!
//! Choosing loads that language's file when needed, switches every message
//! on the page at once (nothing typed is lost) and remembers the choice in
//! `localStorage`.

use leptos::prelude::*;

use crate::i18n::{self, Lang, t};

/// A labelled `<select>` with one option per line of the language table,
/// each in its own language (`lang`), the current language selected.
#[component]
pub fn LanguagePicker(
    /// The languages offered: the app's table ([`Lang::ALL`]) unless given.
    #[prop(optional)]
    languages: Option<&'static [Lang]>,
) -> impl IntoView {
    let languages = languages.unwrap_or(&Lang::ALL);
    let on_change = move |ev: leptos::ev::Event| {
        if let Some(lang) = Lang::from_tag_in(languages, &event_target_value(&ev)) {
            leptos::task::spawn_local(i18n::choose(lang));
        }
    };
    let options = languages
        .iter()
        .map(|&lang| {
            view! {
                <option value=lang.tag() lang=lang.tag()>
                    {lang.name()}
                </option>
            }
        })
        .collect_view();
    view! {
        <div class="language-picker">
            <label for="language">{t("lang.label")}</label>
            <select
                id="language"
                data-testid="language"
                prop:value=move || i18n::current().tag()
                on:change=on_change
            >
                {options}
            </select>
        </div>
    }
}
