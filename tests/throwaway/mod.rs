//! A throwaway eighth language, for the tests that prove adding a language is
//! one line of the table and its file: the line is [`throwaway`], the file
//! [`file`], and the table with it [`table`].
//!
//! Its messages are English's, letter for letter in Hebrew script (`a` → `א`,
//! `b` → `ב`, …, either case alike), placeholders kept: a file with every key,
//! no English sentence, written right to left, in which every control's name
//! still contains its visible words.

use std::collections::BTreeMap;

use kmc_login::i18n::{Dir, EN_JSON, Lang, Piece, split_slots};

/// The tag: `qaa` is set aside for local use, so no real language has it.
pub const TAG: &str = "qaa";

/// `text` with each Latin letter written as a Hebrew one.
fn transliterate(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_ascii_lowercase() {
            l @ 'a'..='z' => char::from_u32(0x05D0 + (l as u32 - 'a' as u32)).unwrap(),
            _ => c,
        })
        .collect()
}

/// The table's new line: its tag, its name in itself, right to left.
pub fn throwaway() -> Lang {
    Lang::new(TAG, transliterate("Throwaway").leak(), Dir::Rtl)
}

/// The app's table with the throwaway language last.
pub fn table() -> &'static [Lang] {
    let mut table = Lang::ALL.to_vec();
    table.push(throwaway());
    table.leak()
}

/// The throwaway language's messages, by key.
pub fn messages() -> BTreeMap<String, String> {
    let en: BTreeMap<String, String> = serde_json::from_str(EN_JSON).unwrap();
    en.into_iter()
        .map(|(key, english)| {
            let message = split_slots(&english)
                .into_iter()
                .map(|piece| match piece {
                    Piece::Text(text) => transliterate(&text),
                    Piece::Slot(name) => format!("{{{name}}}"),
                })
                .collect();
            (key, message)
        })
        .collect()
}

/// The throwaway language's file, as it would sit in `locales/`.
pub fn file() -> String {
    serde_json::to_string_pretty(&messages()).unwrap()
}
