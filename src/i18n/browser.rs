//! Every browser call the languages make, and nothing else: reading a
//! language file (`JSON.parse`), plural categories (`Intl.PluralRules`), the
//! stored choice (`localStorage`), `navigator.languages`, `<html lang dir>`,
//! `document.title`, and fetching a file beside `index.html`.
//!
//! Natively (the unit and integration tests) each call has a stand-in that
//! keeps its state in the test's own thread (see [`stand_in`]): a test sets
//! the browser's languages or serves a language file, and reads back what the
//! app stored, the title and `<html lang dir>`, with no browser.
//!
//! Serves: [`parse_messages`], [`plural_category`], [`stored`], [`store`],
//! [`browser_languages`], [`set_document_language`], [`set_title`],
//! [`fetch_beside_index`], [`warn`].

/// Reads a language file, a flat JSON object of strings, into its pairs. In
/// the browser `JSON.parse` reads it, so no JSON reader and no serde map code
/// is linked into the wasm; natively serde_json does.
#[cfg(target_arch = "wasm32")]
pub fn parse_messages(text: &str) -> Result<Vec<(String, String)>, String> {
    use wasm_bindgen::JsCast;

    let value = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
    let object: js_sys::Object = value
        .dyn_into()
        .map_err(|_| "not a JSON object".to_owned())?;
    Ok(js_sys::Object::entries(&object)
        .iter()
        .filter_map(|entry| {
            let entry: js_sys::Array = entry.dyn_into().ok()?;
            Some((entry.get(0).as_string()?, entry.get(1).as_string()?))
        })
        .collect())
}

/// Reads a language file (natively: serde_json).
#[cfg(not(target_arch = "wasm32"))]
pub fn parse_messages(text: &str) -> Result<Vec<(String, String)>, String> {
    Ok(
        serde_json::from_str::<std::collections::BTreeMap<String, String>>(text)
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect(),
    )
}

/// The plural category of `n` in the language `tag` (`one`, `few`, `other`,
/// …), from the browser's `Intl.PluralRules`: no plural data in the wasm.
#[cfg(target_arch = "wasm32")]
pub fn plural_category(tag: &str, n: u64) -> String {
    let locales = js_sys::Array::of1(&tag.into());
    js_sys::Intl::PluralRules::new(&locales, &js_sys::Object::new())
        .select(n as f64)
        .as_string()
        .unwrap_or_else(|| "other".to_owned())
}

/// The plural category of `n` (natively: English's rule for every language).
#[cfg(not(target_arch = "wasm32"))]
pub fn plural_category(_tag: &str, n: u64) -> String {
    if n == 1 { "one" } else { "other" }.to_owned()
}

#[cfg(target_arch = "wasm32")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The value `localStorage` holds under `key`.
#[cfg(target_arch = "wasm32")]
pub fn stored(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// The value the stand-in storage holds under `key`.
#[cfg(not(target_arch = "wasm32"))]
pub fn stored(key: &str) -> Option<String> {
    stand_in::with(|s| s.storage.get(key).cloned())
}

/// Keeps `value` in `localStorage` under `key` (a preference, never a secret).
#[cfg(target_arch = "wasm32")]
pub fn store(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Keeps `value` in the stand-in storage.
#[cfg(not(target_arch = "wasm32"))]
pub fn store(key: &str, value: &str) {
    stand_in::with(|s| s.storage.insert(key.to_owned(), value.to_owned()));
}

/// The browser's languages, most wanted first (`navigator.languages`, then
/// `navigator.language`).
#[cfg(target_arch = "wasm32")]
pub fn browser_languages() -> Vec<String> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let navigator = window.navigator();
    navigator
        .languages()
        .iter()
        .filter_map(|v| v.as_string())
        .chain(navigator.language())
        .collect()
}

/// The stand-in browser's languages (none unless a test sets them).
#[cfg(not(target_arch = "wasm32"))]
pub fn browser_languages() -> Vec<String> {
    stand_in::with(|s| s.languages.clone())
}

/// Sets `<html lang dir>`: the page's language and direction.
#[cfg(target_arch = "wasm32")]
pub fn set_document_language(tag: &str, dir: &str) {
    if let Some(html) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = html.set_attribute("lang", tag);
        let _ = html.set_attribute("dir", dir);
    }
}

/// Sets the stand-in `<html lang dir>`.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_document_language(tag: &str, dir: &str) {
    stand_in::with(|s| s.html = (tag.to_owned(), dir.to_owned()));
}

/// Sets `document.title`.
#[cfg(target_arch = "wasm32")]
pub fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

/// Sets the stand-in title.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_title(title: &str) {
    stand_in::with(|s| s.title = title.to_owned());
}

/// The absolute URL of `file` beside `index.html`, and its text (`None` on
/// a failure), through the app's one way of fetching a file.
#[cfg(target_arch = "wasm32")]
pub async fn fetch_beside_index(file: &str) -> (String, Option<String>) {
    let url = crate::config::beside_index(file);
    let text = crate::config::fetch_text(&url).await;
    (url, text)
}

/// The stand-in's file `file`, when a test served one.
#[cfg(not(target_arch = "wasm32"))]
pub async fn fetch_beside_index(file: &str) -> (String, Option<String>) {
    let text = stand_in::with(|s| s.served.get(file).cloned());
    (file.to_owned(), text)
}

/// A warning in the console.
#[cfg(target_arch = "wasm32")]
pub fn warn(message: &str) {
    web_sys::console::warn_1(&message.into());
}

/// A warning (natively: on standard error, which the test harness captures).
#[cfg(not(target_arch = "wasm32"))]
pub fn warn(message: &str) {
    eprintln!("{message}");
}

/// The native stand-in browser, one per thread: what a test sets and reads.
#[cfg(not(target_arch = "wasm32"))]
pub mod stand_in {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// The state of the stand-in browser.
    #[derive(Default)]
    pub(super) struct Browser {
        pub(super) storage: BTreeMap<String, String>,
        pub(super) languages: Vec<String>,
        pub(super) html: (String, String),
        pub(super) title: String,
        pub(super) served: BTreeMap<String, String>,
    }

    thread_local! {
        static BROWSER: RefCell<Browser> = RefCell::default();
    }

    pub(super) fn with<T>(f: impl FnOnce(&mut Browser) -> T) -> T {
        BROWSER.with(|b| f(&mut b.borrow_mut()))
    }

    /// Sets `navigator.languages`.
    pub fn set_browser_languages(tags: &[&str]) {
        with(|b| b.languages = tags.iter().map(|t| (*t).to_owned()).collect());
    }

    /// Serves `text` as the file `file` beside `index.html`.
    pub fn serve(file: &str, text: &str) {
        with(|b| b.served.insert(file.to_owned(), text.to_owned()));
    }

    /// `<html lang dir>` as last set (empty before).
    pub fn document_language() -> (String, String) {
        with(|b| b.html.clone())
    }

    /// `document.title` as last set.
    pub fn title() -> String {
        with(|b| b.title.clone())
    }
}
