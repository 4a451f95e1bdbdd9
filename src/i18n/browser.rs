//! Every browser call the languages make, and nothing else. Two are the
//! languages' own: reading a language file (`JSON.parse`) and plural
//! categories (`Intl.PluralRules`). The rest go through the app's one browser
//! facade, [`crate::platform`]: the stored choice (`localStorage`),
//! `navigator.languages`, `<html lang dir>`, `document.title`, and fetching a
//! file beside `index.html` through the one fetch path ([`crate::fetch`]).
//!
//! Natively (the unit and integration tests) the facade's stand-in keeps its
//! state in the test's own thread ([`stand_in`]): a test sets the browser's
//! languages or serves a language file, and reads back what the app stored,
//! the title and `<html lang dir>`, with no browser.
//!
//! Serves: [`parse_messages`], [`plural_category`], [`stored`], [`store`],
//! [`browser_languages`], [`set_document_language`], [`set_title`],
//! [`fetch_beside_index`], [`warn`].

#[cfg(not(target_arch = "wasm32"))]
pub use crate::platform::stand_in;
use crate::platform::{self, Store};

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

/// The value `localStorage` holds under `key`.
pub fn stored(key: &str) -> Option<String> {
    platform::get(Store::Local, key)
}

/// Keeps `value` in `localStorage` under `key` (a preference, never a secret).
pub fn store(key: &str, value: &str) {
    platform::set(Store::Local, key, value);
}

/// The browser's languages, most wanted first (`navigator.languages`).
pub fn browser_languages() -> Vec<String> {
    platform::browser_languages()
}

/// Sets `<html lang dir>`: the page's language and whether it reads right to left.
pub fn set_document_language(tag: &str, rtl: bool) {
    platform::set_document_language(tag, rtl);
}

/// Sets `document.title`.
pub fn set_title(title: &str) {
    platform::set_title(title);
}

/// The absolute URL of `file` beside `index.html`, and its text (`None` on
/// a failure), through the app's one way of fetching a file.
pub async fn fetch_beside_index(file: &str) -> (String, Option<String>) {
    let url = platform::beside_index(file);
    #[cfg(target_arch = "wasm32")]
    let text = crate::fetch::get_text(&url).await;
    #[cfg(not(target_arch = "wasm32"))]
    let text = stand_in::served(file);
    (url, text)
}

/// A warning in the console.
pub fn warn(message: &str) {
    platform::warn(message);
}
