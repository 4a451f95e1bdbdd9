//! The messages of each language loaded so far: English built in, the others
//! installed from their files when fetched.
//!
//! Serves: [`EN_JSON`], [`install`], [`is_loaded`], [`message`].

use std::cell::RefCell;
use std::rc::Rc;

use super::browser;
use super::languages::Lang;

/// The English messages, built into the app: the first load needs no fetch.
pub const EN_JSON: &str = include_str!("../../locales/en.json");

/// One language's messages. A few hundred keys are searched in a blink, and
/// neither a map type's nor a sort's code is linked in for this.
type Catalog = Vec<(String, String)>;

thread_local! {
    /// The catalogues loaded so far (English from the start).
    static CATALOGS: RefCell<Vec<(Lang, Rc<Catalog>)>> = RefCell::new(vec![(
        Lang::En,
        Rc::new(browser::parse_messages(EN_JSON).unwrap_or_default()),
    )]);
}

fn catalog(lang: Lang) -> Option<Rc<Catalog>> {
    CATALOGS.with(|c| {
        c.borrow()
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, cat)| cat.clone())
    })
}

/// Installs a language's messages from the text of its file.
pub fn install(lang: Lang, json: &str) -> Result<(), String> {
    let parsed = Rc::new(browser::parse_messages(json)?);
    CATALOGS.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(l, _)| *l != lang);
        c.push((lang, parsed));
    });
    Ok(())
}

/// Whether this language's messages are loaded.
pub fn is_loaded(lang: Lang) -> bool {
    catalog(lang).is_some()
}

/// The message `key` in `lang`, else in English; `None` when neither has it.
pub fn message(lang: Lang, key: &str) -> Option<String> {
    let get = |lang| {
        catalog(lang)?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    get(lang).or_else(|| get(Lang::En))
}
