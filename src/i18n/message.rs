//! Messages by key in the current language: placeholders filled, plural
//! forms picked, and the signals views render so text on screen follows a
//! change of language.
//!
//! A key no file has shows as itself, which the browser tests look for.
//! Placeholders are `{name}`. Counts pick a form `key#one`, `key#other`, …
//! through the browser's plural rules.
//!
//! Serves: [`tr`], [`tr_with`], [`tr_count`], [`t`], [`text`], [`Text`],
//! [`use_title`].

use leptos::prelude::*;

use super::browser;
use super::catalog;
use super::choice::current;
use super::slots::{Piece, split_slots};

/// The raw message for `key` in the current language, else English.
fn lookup(key: &str) -> Option<String> {
    catalog::message(current(), key)
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

/// The message for `key` in the current language; the key itself when no
/// file has it (the browser tests catch that).
pub fn tr(key: &str) -> String {
    tr_with(key, &[])
}

/// The message for `key` with its placeholders filled in.
pub fn tr_with(key: &str, args: &[(&str, &str)]) -> String {
    lookup(key).map_or_else(|| key.to_owned(), |t| fill(&t, args))
}

/// A sentence with a count: `key#{category}` for the current language's
/// plural category of `count`, else `key#other`; `{count}` and `args` filled.
pub fn tr_count(key: &str, count: u64, args: &[(&str, &str)]) -> String {
    let n = count.to_string();
    let mut all: Vec<(&str, &str)> = vec![("count", &n)];
    all.extend_from_slice(args);
    let category = browser::plural_category(current().tag(), count);
    lookup(&format!("{key}#{category}"))
        .or_else(|| lookup(&format!("{key}#other")))
        .map_or_else(|| key.to_owned(), |t| fill(&t, &all))
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

/// Keeps `document.title` on this message, in the current language.
pub fn use_title(key: &'static str) {
    Effect::new(move |_| browser::set_title(&tr(key)));
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
