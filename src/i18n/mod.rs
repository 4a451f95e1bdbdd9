//! The interface in several languages: one flat JSON file per language in
//! `locales/`, English built in, every other language fetched when chosen.
//! `docs/languages.md` says how to add a language and what checks them.
//!
//! - `languages`: the table of languages, and the best of them for a browser;
//! - `catalog`: the messages loaded so far;
//! - `message`: messages by key, placeholders, plural forms, and the
//!   signals views render ([`t`], [`Text`]);
//! - `slots`: sentences with elements (a link, a bold email) in them;
//! - `choice`: the current language, the first choice, the picker's;
//! - [`browser`]: every browser call the above make, with native stand-ins.
//!
//! No localisation crate: the browser already is one. `JSON.parse` reads a
//! language file and `Intl.PluralRules` picks plural forms, so what the wasm
//! adds is a key lookup and placeholder filling, a few KB where the crates
//! cost tens (`docs/languages.md` has the figures). The files stay in a
//! format those crates read (flat JSON, `{name}` placeholders), so moving to
//! one later is a conversion.

pub mod browser;
mod catalog;
mod choice;
mod languages;
mod message;
mod slots;

pub use catalog::{EN_JSON, install, is_loaded};
pub use choice::{
    LANG_KEY, choose, current, initial_language, load, preferred_language, set_language,
};
pub use languages::{Dir, Lang, best_match, best_match_in};
pub use message::{Text, t, text, tr, tr_count, tr_with, use_title};
pub use slots::{Piece, SlotView, slotted, split_slots};
