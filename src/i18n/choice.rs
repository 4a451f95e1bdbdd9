//! Which language the page is in: the current one (a signal every message
//! follows), where the first choice comes from, and the user's choice from
//! the picker (its file fetched, `<html lang dir>` set, remembered).
//!
//! The first choice: the one stored in `localStorage` (`kmc.lang`; not a
//! secret), else the best match of `navigator.languages`, else `config.json`'s
//! `language`, else English.
//!
//! Serves: [`LANG_KEY`], [`current`], [`set_language`], [`preferred_language`],
//! [`initial_language`], [`load`], [`choose`].

use leptos::prelude::*;

use super::browser;
use super::catalog::{install, is_loaded};
use super::languages::{Lang, best_match};

/// `localStorage` key of the chosen language (a preference, not a secret).
pub const LANG_KEY: &str = "kmc.lang";

thread_local! {
    /// The current language; a signal, so every message on screen follows it.
    /// Reference-counted rather than owned by a view, so unmounting a view
    /// never disposes of it.
    static CURRENT: ArcRwSignal<Lang> = ArcRwSignal::new(Lang::En);
}

/// The current language (tracked: a view reading it re-renders on a change).
pub fn current() -> Lang {
    CURRENT.with(|c| c.get())
}

/// Switches to a loaded language (English when `lang` is not loaded) and sets
/// `<html lang dir>`.
pub fn set_language(lang: Lang) {
    let lang = if is_loaded(lang) { lang } else { Lang::En };
    CURRENT.with(|c| c.set(lang));
    browser::set_document_language(lang.tag(), lang.rtl());
}

/// The language the user chose before (`localStorage`), else the best match
/// of the browser's languages; `None` when neither names one of ours.
pub fn preferred_language() -> Option<Lang> {
    browser::stored(LANG_KEY)
        .and_then(|tag| Lang::from_tag(&tag))
        .or_else(|| best_match(&browser::browser_languages()))
}

/// The language to start in: the stored choice, else the browser's best
/// match, else the deployment's default from `config.json`, else English.
pub fn initial_language(config_default: Option<Lang>) -> Lang {
    preferred_language().or(config_default).unwrap_or(Lang::En)
}

/// Fetches `locales/{tag}.json` (beside `index.html`) and installs it;
/// English is built in. A failure leaves the language unloaded (a console
/// warning), so the page stays in the language it has.
pub async fn load(lang: Lang) -> bool {
    if is_loaded(lang) {
        return true;
    }
    let (url, text) = browser::fetch_beside_index(&lang.file()).await;
    match text.map(|t| install(lang, &t)) {
        Some(Ok(())) => true,
        Some(Err(e)) => {
            browser::warn(&format!("{url}: {e}"));
            false
        }
        None => {
            browser::warn(&format!("{url} could not be loaded"));
            false
        }
    }
}

/// The user's choice from the picker: loads the language, switches to it and
/// remembers it in `localStorage`.
pub async fn choose(lang: Lang) {
    if load(lang).await {
        set_language(lang);
        browser::store(LANG_KEY, lang.tag());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::i18n::{browser::stand_in, tr};

    #[test]
    fn the_stored_choice_wins_over_the_browsers_languages_then_the_config() {
        assert_eq!(initial_language(None), Lang::En);
        assert_eq!(initial_language(Some(Lang::Fr)), Lang::Fr);
        stand_in::set_browser_languages(&["ko", "de-AT"]);
        assert_eq!(initial_language(Some(Lang::Fr)), Lang::De);
        browser::store(LANG_KEY, "ja");
        assert_eq!(initial_language(Some(Lang::Fr)), Lang::Ja);
    }

    #[test]
    fn choosing_fetches_the_file_switches_the_page_and_remembers_the_choice() {
        // Not served yet: the page stays in English and nothing is stored.
        futures::executor::block_on(choose(Lang::He));
        assert_eq!(current(), Lang::En);
        assert_eq!(browser::stored(LANG_KEY), None);

        stand_in::serve("locales/he.json", include_str!("../../locales/he.json"));
        futures::executor::block_on(choose(Lang::He));
        assert_eq!(current(), Lang::He);
        assert_eq!(tr("lang.label"), "שפה");
        assert_eq!(
            stand_in::document_language(),
            ("he".to_owned(), "rtl".to_owned())
        );
        assert_eq!(browser::stored(LANG_KEY).as_deref(), Some("he"));
        set_language(Lang::En);
        assert_eq!(
            stand_in::document_language(),
            ("en".to_owned(), "ltr".to_owned())
        );
    }
}
