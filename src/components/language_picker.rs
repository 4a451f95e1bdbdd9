//! The language picker under every page: a native `<select>` (keyboard and
//! screen readers work as everywhere), each language named in itself.
//!
//! Choosing loads that language's file when needed, switches every message
//! on the page at once (nothing typed is lost) and remembers the choice in
//! `localStorage`.

use leptos::prelude::*;

use crate::i18n::{self, Lang, t};

/// A labelled `<select>` of the app's languages.
#[component]
pub fn LanguagePicker() -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        let Some(lang) = Lang::from_tag(&event_target_value(&ev)) else {
            return;
        };
        leptos::task::spawn_local(i18n::choose(lang));
    };
    view! {
        <div class="language-picker">
            <label for="language">{t("lang.label")}</label>
            <select
                id="language"
                data-testid="language"
                on:change=on_change
            >
                {Lang::ALL
                    .into_iter()
                    .map(|lang| {
                        view! {
                            <option
                                value=lang.tag()
                                lang=lang.tag()
                                prop:selected=move || i18n::current() == lang
                            >
                                {lang.name()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}
