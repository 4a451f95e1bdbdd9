//! The browser, behind one facade: `sessionStorage` and `localStorage`, the
//! page's origin, the clock, `document.title` and leaving the page with a
//! posted form.
//!
//! In the browser these are the real ones. Natively (the unit tests) each has
//! an in-memory stand-in, so the code that uses them is tested without a
//! browser and carries no `cfg(target_arch)` of its own.

/// Which of the browser's two storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Store {
    /// `sessionStorage`: this tab, until it closes.
    Session,
    /// `localStorage`: this browser, until cleared.
    Local,
}

/// The value under `key`; `None` when absent, empty or the storage is
/// unavailable (a private window may refuse it).
pub fn get(store: Store, key: &str) -> Option<String> {
    imp::get(store, key).filter(|value| !value.is_empty())
}

/// Stores `value` under `key` (best effort: a full or refused storage is
/// not an error the user can act on).
pub fn set(store: Store, key: &str, value: &str) {
    imp::set(store, key, value);
}

/// Removes `key`.
pub fn remove(store: Store, key: &str) {
    imp::remove(store, key);
}

/// The page's origin (`https://login.example`), `""` when unknown.
pub fn origin() -> String {
    imp::origin()
}

/// The absolute URL of `file` beside `index.html`: resolved against the
/// document's base URI, so deep links like `/actions/auth-info/…` find it.
pub fn beside_index(file: &str) -> String {
    imp::beside_index(file)
}

/// A warning in the console.
pub fn warn(message: &str) {
    imp::warn(message);
}

/// Seconds since the Unix epoch, by the device's clock.
pub fn unix_now() -> u64 {
    imp::unix_now()
}

/// Sets `document.title`.
pub fn set_title(title: &str) {
    imp::set_title(title);
}

/// Sets `<html lang dir>`: the page's language tag and whether it reads
/// right to left.
pub fn set_document_language(tag: &str, rtl: bool) {
    imp::set_document_language(tag, if rtl { "rtl" } else { "ltr" });
}

/// The browser's preferred languages, most wanted first (`navigator.languages`).
pub fn browser_languages() -> Vec<String> {
    imp::browser_languages()
}

/// Moves the keyboard focus to the element with this `id`, if it is there.
pub fn focus(id: &str) {
    imp::focus(id);
}

/// Leaves the page by POSTing one hidden field `name` = `value` to `action`,
/// with a form built and submitted at once (marked `data-testid`). The form is
/// sent with `requestSubmit`, so a `submit` event fires first (the browser
/// tests read the form there and keep the page); browsers without it fall
/// back to `submit`.
pub fn post_form(action: &str, name: &str, value: &str, test_id: &str) {
    imp::post_form(action, name, value, test_id);
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Store;

    fn storage(store: Store) -> Option<web_sys::Storage> {
        let window = web_sys::window()?;
        match store {
            Store::Session => window.session_storage(),
            Store::Local => window.local_storage(),
        }
        .ok()
        .flatten()
    }

    pub fn get(store: Store, key: &str) -> Option<String> {
        storage(store)?.get_item(key).ok().flatten()
    }

    pub fn set(store: Store, key: &str, value: &str) {
        if let Some(storage) = storage(store) {
            let _ = storage.set_item(key, value);
        }
    }

    pub fn remove(store: Store, key: &str) {
        if let Some(storage) = storage(store) {
            let _ = storage.remove_item(key);
        }
    }

    pub fn origin() -> String {
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    }

    pub fn beside_index(file: &str) -> String {
        let Some(window) = web_sys::window() else {
            return format!("/{file}");
        };
        let origin = window.location().origin().unwrap_or_default();
        let base = window
            .document()
            .and_then(|d| d.base_uri().ok().flatten())
            .unwrap_or_else(|| format!("{origin}/"));
        web_sys::Url::new_with_base(file, &base)
            .map(|u| u.href())
            .unwrap_or_else(|_| format!("/{file}"))
    }

    pub fn warn(message: &str) {
        web_sys::console::warn_1(&message.into());
    }

    pub fn unix_now() -> u64 {
        (js_sys::Date::now() / 1000.0) as u64
    }

    pub fn set_title(title: &str) {
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(title);
        }
    }

    pub fn set_document_language(tag: &str, dir: &str) {
        if let Some(html) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = html.set_attribute("lang", tag);
            let _ = html.set_attribute("dir", dir);
        }
    }

    pub fn focus(id: &str) {
        use wasm_bindgen::JsCast;
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
        {
            let _ = element.unchecked_ref::<web_sys::HtmlElement>().focus();
        }
    }

    pub fn browser_languages() -> Vec<String> {
        web_sys::window()
            .map(|w| w.navigator().languages())
            .map(|list| list.iter().filter_map(|l| l.as_string()).collect())
            .unwrap_or_default()
    }

    pub fn post_form(action: &str, name: &str, value: &str, test_id: &str) {
        use wasm_bindgen::JsCast;
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let (Ok(form), Ok(field)) = (
            document.create_element("form"),
            document.create_element("input"),
        ) else {
            return;
        };
        let (Ok(form), Ok(field)) = (
            form.dyn_into::<web_sys::HtmlFormElement>(),
            field.dyn_into::<web_sys::HtmlInputElement>(),
        ) else {
            return;
        };
        form.set_method("post");
        form.set_action(action);
        form.set_hidden(true);
        form.set_attribute("data-testid", test_id).ok();
        field.set_type("hidden");
        field.set_name(name);
        field.set_value(value);
        let _ = form.append_child(&field);
        if let Some(body) = document.body() {
            let _ = body.append_child(&form);
            if form.request_submit().is_err() {
                form.submit().ok();
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Store;
    use super::stand_in::with;

    pub fn get(store: Store, key: &str) -> Option<String> {
        with(|b| b.storage.get(&(store, key.to_owned())).cloned())
    }

    pub fn set(store: Store, key: &str, value: &str) {
        with(|b| b.storage.insert((store, key.to_owned()), value.to_owned()));
    }

    pub fn remove(store: Store, key: &str) {
        with(|b| b.storage.remove(&(store, key.to_owned())));
    }

    pub fn origin() -> String {
        String::new()
    }

    pub fn beside_index(file: &str) -> String {
        format!("/{file}")
    }

    pub fn warn(message: &str) {
        eprintln!("{message}");
    }

    pub fn unix_now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    pub fn set_title(title: &str) {
        with(|b| b.title = title.to_owned());
    }

    pub fn set_document_language(tag: &str, dir: &str) {
        with(|b| b.html = (tag.to_owned(), dir.to_owned()));
    }

    /// Natively there is no focus to move.
    pub fn focus(_id: &str) {}

    /// Natively the browser names no language unless a test sets some.
    pub fn browser_languages() -> Vec<String> {
        with(|b| b.languages.clone())
    }

    /// Natively nothing leaves: the unit tests check what would be posted
    /// through the pure functions that build it.
    pub fn post_form(_action: &str, _name: &str, _value: &str, _test_id: &str) {}
}

/// The native stand-in browser, one per thread: what a test sets and reads back.
#[cfg(not(target_arch = "wasm32"))]
pub mod stand_in {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};

    use super::Store;

    /// The state of the stand-in browser.
    pub(super) struct Browser {
        pub(super) storage: HashMap<(Store, String), String>,
        pub(super) languages: Vec<String>,
        pub(super) html: (String, String),
        pub(super) title: String,
        served: BTreeMap<String, String>,
    }

    thread_local! {
        static BROWSER: RefCell<Browser> = RefCell::new(Browser {
            storage: HashMap::new(),
            languages: Vec::new(),
            html: (String::new(), String::new()),
            title: String::new(),
            served: BTreeMap::new(),
        });
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

    /// The file `file` beside `index.html`, when a test served one.
    pub fn served(file: &str) -> Option<String> {
        with(|b| b.served.get(file).cloned())
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

// The stand-ins, natively; the browser's own are exercised by the browser tests.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn the_two_storages_are_apart_and_empty_values_read_as_absent() {
        set(Store::Session, "platform.test", "in the tab");
        assert_eq!(
            get(Store::Session, "platform.test").as_deref(),
            Some("in the tab")
        );
        assert_eq!(get(Store::Local, "platform.test"), None);
        set(Store::Local, "platform.test", "");
        assert_eq!(get(Store::Local, "platform.test"), None);
        remove(Store::Session, "platform.test");
        assert_eq!(get(Store::Session, "platform.test"), None);
    }

    #[test]
    fn the_title_is_set() {
        set_title("Sign in · Kaltura");
        assert_eq!(stand_in::title(), "Sign in · Kaltura");
    }
}
