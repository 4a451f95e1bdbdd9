//! The interface in several languages: one flat JSON file per language in
//! `locales/`, English built in, every other language fetched when chosen.
//!
//! - Messages are looked up by key ([`tr`], [`tr_with`], [`tr_count`]) in the
//!   current language, falling back to English; a key no file has shows as
//!   itself, which the browser tests look for. Placeholders are `{name}`, and
//!   every message is a whole sentence per language: no sentence is assembled
//!   from fragments in English order.
//! - Counts pick a plural form through the browser's own `Intl.PluralRules`
//!   (`key#one`, `key#other`, … as the language needs), so no plural data is
//!   linked into the wasm.
//! - [`Text`] is a message not yet rendered (a key and its values): the pure
//!   decision functions return it, and views render it reactively, so an
//!   alert already on screen follows a change of language.
//! - The choice: stored in `localStorage` (`kmc.lang`; not a secret), else the
//!   best match of `navigator.languages`, else `config.json`'s `language`,
//!   else English ([`initial_language`]). `<html lang dir>` follow it.
//!
//! Why no localisation crate: the browser already is one. `JSON.parse` reads
//! a language file and `Intl.PluralRules` picks plural forms, so what the wasm
//! adds is a key lookup and placeholder filling. `leptos_i18n` generates code
//! per key and compiles every locale's strings in, unless its CSR dynamic
//! loading (a build step and generated files) is set up; `fluent-bundle`
//! links a parser and the CLDR plural rules of every language. Measured on a
//! minimal Leptos CSR app built like this one (README, "What the bundle
//! holds"): `rust-i18n` +17 KB brotli, `leptos_i18n` +41 KB (+71 KB with its
//! dynamic loading), `fluent-bundle` +51 KB, against a 5 KB allowance. The files stay in a format those crates' users know (flat
//! JSON, `{name}` placeholders), so moving to one later is a conversion.
//!
//! Serves: [`Lang`], [`best_match`], [`tr`], [`tr_with`], [`tr_count`],
//! [`Text`], [`t`], [`text`], [`slotted`], [`current`], [`install`], [`set_language`], [`choose`],
//! [`initial_language`], [`use_title`], [`split_slots`].

use std::cell::RefCell;
#[cfg(not(target_arch = "wasm32"))]
use std::collections::BTreeMap;
use std::rc::Rc;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsCast;

use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyView;

/// The English messages, built into the app: the first load needs no fetch.
pub const EN_JSON: &str = include_str!("../locales/en.json");

/// `localStorage` key of the chosen language (a preference, not a secret).
pub const LANG_KEY: &str = "kmc.lang";

/// The languages the app speaks. Adding one: its file in `locales/`, a line
/// here, in [`Lang::ALL`] and in the picker's options (see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// English, the source language and the fallback.
    En,
    /// German.
    De,
    /// Spanish.
    Es,
    /// French.
    Fr,
    /// Japanese.
    Ja,
    /// Brazilian Portuguese.
    PtBr,
    /// Hebrew (right to left).
    He,
}

impl Lang {
    /// Every language, in the order the picker lists them.
    pub const ALL: [Lang; 7] = [
        Lang::En,
        Lang::De,
        Lang::Es,
        Lang::Fr,
        Lang::Ja,
        Lang::PtBr,
        Lang::He,
    ];

    /// The BCP 47 tag: `<html lang>`, the file name in `locales/`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::Ja => "ja",
            Lang::PtBr => "pt-BR",
            Lang::He => "he",
        }
    }

    /// The language's name in itself, as the picker shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Es => "Español",
            Lang::Fr => "Français",
            Lang::Ja => "日本語",
            Lang::PtBr => "Português (Brasil)",
            Lang::He => "עברית",
        }
    }

    /// Written right to left.
    pub fn rtl(self) -> bool {
        self == Lang::He
    }

    /// The language with exactly this tag (any case).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(tag.trim()))
    }
}

/// The best of our languages for a browser's preference list
/// (`navigator.languages`, most wanted first): for each wanted tag in turn,
/// an exact match, else one of the same primary language (`de-AT` → `de`,
/// `pt-PT` → `pt-BR`, `iw` → `he`); `None` when none of them is spoken here.
pub fn best_match<S: AsRef<str>>(wanted: &[S]) -> Option<Lang> {
    wanted.iter().find_map(|tag| {
        let tag = tag.as_ref().trim();
        Lang::from_tag(tag).or_else(|| {
            let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
            // `iw` is Hebrew's code before 1989; some systems still send it.
            let primary = if primary == "iw" {
                "he".to_owned()
            } else {
                primary
            };
            Lang::ALL
                .into_iter()
                .find(|l| l.tag().split('-').next() == Some(primary.as_str()))
        })
    })
}

/// One language's messages. A few hundred keys are searched in a blink, and
/// neither a map type's nor a sort's code is linked in for this.
type Catalog = Vec<(String, String)>;

thread_local! {
    /// The current language; a signal, so every message on screen follows it.
    /// Reference-counted rather than owned by a view, so unmounting a view
    /// never disposes of it.
    static CURRENT: ArcRwSignal<Lang> = ArcRwSignal::new(Lang::En);
    /// The catalogues loaded so far (English from the start).
    static CATALOGS: RefCell<Vec<(Lang, Rc<Catalog>)>> = RefCell::new(vec![(
        Lang::En,
        Rc::new(parse(EN_JSON).unwrap_or_default()),
    )]);
}

/// Reads a language file: a flat JSON object of strings. In the browser
/// `JSON.parse` reads it, so no JSON reader and no serde map code is linked
/// into the wasm; natively (the unit tests) serde_json does.
fn parse(text: &str) -> Result<Catalog, String> {
    #[cfg(target_arch = "wasm32")]
    let pairs: Catalog = {
        let value = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
        let object: js_sys::Object = value
            .dyn_into()
            .map_err(|_| "not a JSON object".to_owned())?;
        js_sys::Object::entries(&object)
            .iter()
            .filter_map(|entry| {
                let entry: js_sys::Array = entry.dyn_into().ok()?;
                Some((entry.get(0).as_string()?, entry.get(1).as_string()?))
            })
            .collect()
    };
    #[cfg(not(target_arch = "wasm32"))]
    let pairs: Catalog = serde_json::from_str::<BTreeMap<String, String>>(text)
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    Ok(pairs)
}

fn get(catalog: &Catalog, key: &str) -> Option<String> {
    catalog
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

fn catalog(lang: Lang) -> Option<Rc<Catalog>> {
    CATALOGS.with(|c| {
        c.borrow()
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, cat)| cat.clone())
    })
}

/// The current language (tracked: a view reading it re-renders on a change).
pub fn current() -> Lang {
    CURRENT.with(|c| c.get())
}

/// Installs a language's messages from the text of its file.
pub fn install(lang: Lang, json: &str) -> Result<(), String> {
    let parsed = Rc::new(parse(json)?);
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

/// Switches to a loaded language (English when `lang` is not loaded) and sets
/// `<html lang dir>`.
pub fn set_language(lang: Lang) {
    let lang = if is_loaded(lang) { lang } else { Lang::En };
    CURRENT.with(|c| c.set(lang));
    #[cfg(target_arch = "wasm32")]
    if let Some(html) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = html.set_attribute("lang", lang.tag());
        let _ = html.set_attribute("dir", if lang.rtl() { "rtl" } else { "ltr" });
    }
}

/// The raw message for `key` in the current language, else English.
fn lookup(key: &str) -> Option<String> {
    let lang = current();
    catalog(lang)
        .and_then(|c| get(&c, key))
        .or_else(|| catalog(Lang::En).and_then(|c| get(&c, key)))
}

/// Replaces each `{name}` with its value.
fn fill(template: &str, args: &[(&str, &str)]) -> String {
    split_slots(template)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text,
            Piece::Slot(name) => args
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| format!("{{{name}}}"), |(_, v)| (*v).to_owned()),
        })
        .collect()
}

/// The message for `key` as a signal that follows the language: one type for
/// every call site, so the wasm holds one copy of the code that renders it.
#[inline(never)]
pub fn t(key: &'static str) -> Signal<String> {
    Signal::derive(move || tr(key))
}

/// Any text that follows the language, as the one signal type every view
/// renders (see [`t`]).
pub fn text(f: impl Fn() -> String + Send + Sync + 'static) -> Signal<String> {
    // Boxed here, so each call site only hands over its closure.
    Signal::derive(f)
}

/// The message for `key` in the current language; the key itself when no
/// file has it (the browser tests catch that).
pub fn tr(key: &str) -> String {
    tr_with(key, &[])
}

/// The message for `key` with its placeholders filled in.
pub fn tr_with(key: &str, args: &[(&str, &str)]) -> String {
    lookup(key).map_or_else(|| key.to_owned(), |t| fill(&t, args))
}

/// The plural category of `n` in the current language (`one`, `few`,
/// `other`, …), from the browser's `Intl.PluralRules`.
fn plural_category(n: u64) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let locales = js_sys::Array::of1(&current().tag().into());
        js_sys::Intl::PluralRules::new(&locales, &js_sys::Object::new())
            .select(n as f64)
            .as_string()
            .unwrap_or_else(|| "other".to_owned())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // Natively only English is rendered (the unit tests).
        if n == 1 { "one" } else { "other" }.to_owned()
    }
}

/// A sentence with a count: `key#{category}` for the current language's
/// plural category of `count`, else `key#other`; `{count}` and `args` filled.
pub fn tr_count(key: &str, count: u64, args: &[(&str, &str)]) -> String {
    let n = count.to_string();
    let mut all: Vec<(&str, &str)> = vec![("count", &n)];
    all.extend_from_slice(args);
    let category = plural_category(count);
    lookup(&format!("{key}#{category}"))
        .or_else(|| lookup(&format!("{key}#other")))
        .map_or_else(|| key.to_owned(), |t| fill(&t, &all))
}

/// A message not yet rendered: pure functions return it, views render it,
/// so it follows a change of language while on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// A key, with its placeholders' values.
    Key(&'static str, Vec<(&'static str, String)>),
    /// A sentence with a count (see [`tr_count`]).
    Count(&'static str, u64, Vec<(&'static str, String)>),
    /// Words from elsewhere (an unknown error's message from the server),
    /// shown as they are.
    Raw(String),
}

impl Text {
    /// The message `key`, without placeholders.
    pub fn key(key: &'static str) -> Self {
        Text::Key(key, Vec::new())
    }

    /// The message `key` with one placeholder.
    pub fn with(key: &'static str, name: &'static str, value: impl Into<String>) -> Self {
        Text::Key(key, vec![(name, value.into())])
    }

    /// The text as a signal that follows the language (see [`t`]).
    pub fn signal(self) -> Signal<String> {
        Signal::derive(move || self.render())
    }

    /// The text in the current language (tracked).
    pub fn render(&self) -> String {
        fn pairs<'a>(args: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
            args.iter().map(|(n, v)| (*n, v.as_str())).collect()
        }
        match self {
            Text::Key(key, args) => tr_with(key, &pairs(args)),
            Text::Count(key, n, args) => tr_count(key, *n, &pairs(args)),
            Text::Raw(text) => text.clone(),
        }
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

/// A piece of a message that has slots for elements (a link, an email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Plain text.
    Text(String),
    /// `{name}`: the view puts its element here.
    Slot(String),
}

/// Splits a message at its `{name}` slots, so a view can place elements
/// (a link, a bold email) where each language's sentence puts them.
pub fn split_slots(message: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        pieces.push(Piece::Slot(rest[open + 1..open + close].to_owned()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    pieces
}

/// What a view puts in a message's `{slot}` (a link, an email in bold).
pub type SlotView = std::sync::Arc<dyn Fn(&str) -> AnyView + Send + Sync>;

/// A message with elements in its slots, following the language: the
/// elements sit wherever each language's sentence puts them. One concrete
/// view type for every call site, so the wasm holds its code once.
pub fn slotted(key: &'static str, slot: SlotView) -> impl IntoView {
    move || {
        split_slots(&tr(key))
            .into_iter()
            .map(|piece| match piece {
                Piece::Slot(name) => slot(&name),
                Piece::Text(text) => text.into_any(),
            })
            .collect_view()
    }
}

/// Keeps `document.title` on this message, in the current language.
pub fn use_title(key: &'static str) {
    Effect::new(move |_| {
        let title = tr(key);
        #[cfg(target_arch = "wasm32")]
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&title);
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = title;
    });
}

#[cfg(target_arch = "wasm32")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The language the user chose before (`localStorage`), else the best match
/// of the browser's languages; `None` when neither names one of ours.
pub fn preferred_language() -> Option<Lang> {
    #[cfg(target_arch = "wasm32")]
    {
        let stored = local_storage()
            .and_then(|s| s.get_item(LANG_KEY).ok().flatten())
            .and_then(|tag| Lang::from_tag(&tag));
        stored.or_else(|| {
            let navigator = web_sys::window()?.navigator();
            let wanted: Vec<String> = navigator
                .languages()
                .iter()
                .filter_map(|v| v.as_string())
                .chain(navigator.language())
                .collect();
            best_match(&wanted)
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
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
    #[cfg(target_arch = "wasm32")]
    {
        let url = crate::config::beside_index(&format!("locales/{}.json", lang.tag()));
        let text = crate::fetch::get_text(&url).await;
        match text.map(|t| install(lang, &t)) {
            Some(Ok(())) => return true,
            Some(Err(e)) => web_sys::console::warn_1(&format!("{url}: {e}").into()),
            None => web_sys::console::warn_1(&format!("{url} could not be loaded").into()),
        }
    }
    false
}

/// The user's choice from the picker: loads the language, switches to it and
/// remembers it in `localStorage`.
pub async fn choose(lang: Lang) {
    if load(lang).await {
        set_language(lang);
        #[cfg(target_arch = "wasm32")]
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(LANG_KEY, lang.tag());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn the_best_match_takes_the_first_wanted_language_we_speak() {
        assert_eq!(best_match(&["de-AT", "en"]), Some(Lang::De));
        assert_eq!(best_match(&["ko", "fr-CA", "de"]), Some(Lang::Fr));
        assert_eq!(best_match(&["pt-PT"]), Some(Lang::PtBr));
        assert_eq!(best_match(&["pt-br"]), Some(Lang::PtBr));
        assert_eq!(best_match(&["iw-IL"]), Some(Lang::He));
        assert_eq!(best_match(&["ja-JP"]), Some(Lang::Ja));
        assert_eq!(best_match(&["en-US", "he"]), Some(Lang::En));
        assert_eq!(best_match(&["ko", "zh-CN"]), None);
        assert_eq!(best_match::<&str>(&[]), None);
    }

    #[test]
    fn a_missing_key_shows_as_itself_and_placeholders_are_filled() {
        assert_eq!(tr("no.such-key"), "no.such-key");
        assert_eq!(
            tr_with("account.switched", &[("account", "Demo (ID 1)")]),
            "Switched to Demo (ID 1)."
        );
        assert_eq!(
            tr_count("enroll.clock-ahead-minutes", 2, &[]),
            "That code is right for this key, but your phone's clock is about 2 minutes ahead. \
             Turn on automatic date and time in the phone's settings, then try a new code."
        );
    }

    #[test]
    fn slots_split_a_message_where_elements_go() {
        assert_eq!(
            split_slots("Free on {play} and the {store}."),
            vec![
                Piece::Text("Free on ".into()),
                Piece::Slot("play".into()),
                Piece::Text(" and the ".into()),
                Piece::Slot("store".into()),
                Piece::Text(".".into()),
            ]
        );
        assert_eq!(split_slots("{email}"), vec![Piece::Slot("email".into())]);
    }

    // ---- The language files against English: keys and placeholders. ----

    fn locale_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")
    }

    fn read(lang: Lang) -> BTreeMap<String, String> {
        let path = locale_dir().join(format!("{}.json", lang.tag()));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn placeholders(message: &str) -> BTreeSet<String> {
        split_slots(message)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Slot(name) => Some(name),
                Piece::Text(_) => None,
            })
            .collect()
    }

    const PLURAL_CATEGORIES: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

    /// Compares one language's messages with English: every problem found.
    fn problems(en: &BTreeMap<String, String>, other: &BTreeMap<String, String>) -> Vec<String> {
        let mut found = Vec::new();
        let plural_base = |key: &str| -> Option<String> {
            let (base, category) = key.split_once('#')?;
            PLURAL_CATEGORIES
                .contains(&category)
                .then(|| base.to_owned())
        };
        for (key, english) in en {
            match plural_base(key) {
                // A plural form: each language has the forms it needs, and
                // at least `other`.
                Some(base) => {
                    if key.ends_with("#other") && !other.contains_key(&format!("{base}#other")) {
                        found.push(format!("missing key {base}#other"));
                    }
                }
                None => match other.get(key) {
                    None => found.push(format!("missing key {key}")),
                    Some(text) if placeholders(text) != placeholders(english) => {
                        found.push(format!(
                            "{key}: placeholders {:?} differ from English {:?}",
                            placeholders(text),
                            placeholders(english)
                        ))
                    }
                    Some(_) => {}
                },
            }
        }
        for (key, text) in other {
            match plural_base(key) {
                Some(base) => match en.get(&format!("{base}#other")) {
                    None => found.push(format!("extra key {key}")),
                    Some(english) => {
                        // `{count}` may be left out ("a minute"); the rest must be there.
                        let mut wanted = placeholders(english);
                        let mut have = placeholders(text);
                        wanted.remove("count");
                        have.remove("count");
                        if have != wanted {
                            found.push(format!(
                                "{key}: placeholders {have:?} differ from English {wanted:?}"
                            ));
                        }
                    }
                },
                None if !en.contains_key(key) => found.push(format!("extra key {key}")),
                None => {}
            }
        }
        found
    }

    #[test]
    fn every_language_file_has_exactly_the_english_keys_and_placeholders() {
        let en = read(Lang::En);
        assert!(en.len() > 50, "en.json is the full set of messages");
        let mut all = Vec::new();
        for lang in Lang::ALL {
            for problem in problems(&en, &read(lang)) {
                all.push(format!("{}: {problem}", lang.tag()));
            }
        }
        assert!(
            all.is_empty(),
            "language files differ from English:\n{}",
            all.join("\n")
        );
    }

    #[test]
    fn the_check_fails_on_a_missing_or_extra_key_or_a_changed_placeholder() {
        let en: BTreeMap<String, String> = [
            ("a", "Hello {name}."),
            ("b", "Bye."),
            ("c#one", "one minute"),
            ("c#other", "{count} minutes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let good: BTreeMap<String, String> = [
            ("a", "Hallo {name}."),
            ("b", "Tschüss."),
            ("c#other", "{count} Minuten"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(problems(&en, &good), Vec::<String>::new());
        let mut missing = good.clone();
        missing.remove("b");
        assert_eq!(problems(&en, &missing), vec!["missing key b"]);
        let mut extra = good.clone();
        extra.insert("z".into(), "?".into());
        assert_eq!(problems(&en, &extra), vec!["extra key z"]);
        let mut renamed = good.clone();
        renamed.insert("a".into(), "Hallo {nom}.".into());
        assert_eq!(problems(&en, &renamed).len(), 1);
        let mut no_other = good.clone();
        no_other.remove("c#other");
        no_other.insert("c#few".into(), "{count} Minuten".into());
        assert_eq!(problems(&en, &no_other), vec!["missing key c#other"]);
    }

    #[test]
    fn every_key_the_code_uses_is_in_english() {
        let en = read(Lang::En);
        let namespaces = [
            "common.",
            "login.",
            "account.",
            "enroll.",
            "restore.",
            "rules.",
            "reset.",
            "secret.",
            "qr.",
            "password.",
            "page.",
            "lang.",
            "notfound.",
        ];
        let mut missing = Vec::new();
        let mut used = 0;
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let code = std::fs::read_to_string(&path).unwrap();
                for literal in code.split('"').skip(1).step_by(2) {
                    let is_key = namespaces.iter().any(|n| literal.starts_with(n))
                        && !literal.ends_with('.')
                        && literal.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c)
                        });
                    if is_key {
                        used += 1;
                        let plural = format!("{literal}#other");
                        if !en.contains_key(literal) && !en.contains_key(&plural) {
                            missing.push(format!("{}: {literal}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(used > 50, "keys are found in the code ({used})");
        assert!(
            missing.is_empty(),
            "keys not in en.json:\n{}",
            missing.join("\n")
        );
    }
}
