//! The language picker under every page: a native `<select>` (keyboard and
//! screen readers work as everywhere), each language named in itself.
//!
//! Choosing loads that language's file when needed, switches every message
//! on the page at once (nothing typed is lost) and remembers the choice in
//! `localStorage`.

use leptos::prelude::*;

use crate::i18n::{self, Lang, t};

/// A labelled `<select>` of the app's languages. The options are written out
/// (one line per language, as [`Lang::ALL`]): a static list costs the wasm
/// far less than one built from the list.
#[component]
pub fn LanguagePicker() -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        if let Some(lang) = Lang::from_tag(&event_target_value(&ev)) {
            leptos::task::spawn_local(i18n::choose(lang));
        }
    };
    view! {
        <div class="language-picker">
            <label for="language">{t("lang.label")}</label>
            <select
                id="language"
                data-testid="language"
                prop:value=move || i18n::current().tag()
                on:change=on_change
            >
                <option value="en" lang="en">"English"</option>
                <option value="de" lang="de">"Deutsch"</option>
                <option value="es" lang="es">"Español"</option>
                <option value="fr" lang="fr">"Français"</option>
                <option value="ja" lang="ja">"日本語"</option>
                <option value="pt-BR" lang="pt-BR">"Português (Brasil)"</option>
                <option value="he" lang="he">"עברית"</option>
            </select>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use crate::i18n::Lang;

    #[test]
    fn the_picker_offers_every_language_by_its_own_name() {
        let source = include_str!("language_picker.rs");
        for lang in Lang::ALL {
            let option = format!(
                "<option value=\"{0}\" lang=\"{0}\">\"{1}\"</option>",
                lang.tag(),
                lang.name()
            );
            assert!(source.contains(&option), "the picker lacks {option}");
        }
    }
}
