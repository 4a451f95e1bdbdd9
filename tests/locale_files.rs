//! The language files in `locales/`, read from the source tree and checked
//! against English and against the rules every language keeps:
//!
//! - exactly the English keys, with the same `{placeholders}` (plural forms:
//!   each language has the ones it needs, and at least `#other`);
//! - no English sentence left in another language's file;
//! - every control's accessible name contains its visible text (WCAG 2.5.3
//!   Label in Name, so a speech-input user can say what they see);
//! - the direction the table gives each language is the one its text is
//!   written in;
//! - every key the code names is in English.
//!
//! Each check is a function returning the problems it finds, run here over
//! the shipped files, over files broken on purpose, and over the table with
//! a throwaway eighth language, which also goes through the loader, the
//! choice and `<html lang dir>` (the browser's stand-ins).
#![cfg(not(target_arch = "wasm32"))]

mod throwaway;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kmc_login::i18n::{self, Lang, Piece, best_match_in, browser, split_slots};

/// One language's messages, by key.
type Messages = BTreeMap<String, String>;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn parse(name: &str, text: &str) -> Messages {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The shipped file of `lang`.
fn read(lang: Lang) -> Messages {
    let path = root().join(lang.file());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&path.display().to_string(), &text)
}

fn messages(pairs: &[(&str, &str)]) -> Messages {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
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

/// `key`'s base when it is a plural form (`base#category`).
fn plural_base(key: &str) -> Option<&str> {
    let (base, category) = key.split_once('#')?;
    PLURAL_CATEGORIES.contains(&category).then_some(base)
}

/// Keys and placeholders of one language against English.
fn key_problems(en: &Messages, other: &Messages) -> Vec<String> {
    let mut found = Vec::new();
    for (key, english) in en {
        match plural_base(key) {
            Some(base) => {
                if key.ends_with("#other") && !other.contains_key(&format!("{base}#other")) {
                    found.push(format!("missing key {base}#other"));
                }
            }
            None => match other.get(key) {
                None => found.push(format!("missing key {key}")),
                Some(text) if placeholders(text) != placeholders(english) => found.push(format!(
                    "{key}: placeholders {:?} differ from English {:?}",
                    placeholders(text),
                    placeholders(english)
                )),
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

/// English sentences copied into another language: any stretch of an English
/// message between its placeholders that is long enough to be a sentence (at
/// least 8 bytes with a space) and appears in the other file. Short names
/// ("Type", "ID") may coincide between languages and are not counted.
fn english_left(en: &Messages, other: &Messages) -> Vec<String> {
    let mut found = Vec::new();
    for (key, english) in en {
        for fragment in english.split(['{', '}']).step_by(2) {
            let fragment = fragment.trim();
            if fragment.len() < 8 || !fragment.contains(' ') {
                continue;
            }
            for (other_key, text) in other {
                if text.contains(fragment) {
                    found.push(format!("{other_key}: English of {key} left: {fragment:?}"));
                }
            }
        }
    }
    found
}

/// The visible words of a control and of its accessible name compare as a
/// speech-input user says them: case and runs of spaces do not count.
fn spoken(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The accessible names that must contain a visible text, by the keys'
/// naming: a password field labelled by the key `<field>` names its toggle
/// `<field>.show` / `<field>.hide` (`password.label.show`,
/// `password.current.hide`, …), and the toggle shows `password.show` /
/// `password.hide`. Pairs of (name key, visible key), read off English.
fn named_controls(en: &Messages) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for action in ["show", "hide"] {
        let visible = format!("password.{action}");
        for key in en.keys() {
            let Some(field) = key.strip_suffix(&format!(".{action}")) else {
                continue;
            };
            if en.contains_key(field) && *key != visible {
                pairs.push((key.clone(), visible.clone()));
            }
        }
    }
    pairs
}

/// Label in Name: every control's accessible name contains its visible text.
fn label_in_name_problems(en: &Messages, other: &Messages) -> Vec<String> {
    let mut found = Vec::new();
    for (name_key, visible_key) in named_controls(en) {
        let (Some(name), Some(visible)) = (other.get(&name_key), other.get(&visible_key)) else {
            continue; // a missing key is the key check's to report
        };
        if !spoken(name).contains(&spoken(visible)) {
            found.push(format!(
                "{name_key} {name:?} does not contain the visible {visible_key} {visible:?}"
            ));
        }
    }
    found
}

/// Whether a character belongs to a script written right to left (Hebrew,
/// Arabic, Syriac, Thaana, N'Ko and their presentation forms).
fn is_rtl_letter(c: char) -> bool {
    matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

/// The direction the text of a file is written in: right to left when most of
/// its letters are of a right-to-left script. Brand names and placeholders in
/// Latin letters are a small minority in any file.
fn written_rtl(messages: &Messages) -> bool {
    let (mut rtl, mut ltr) = (0usize, 0usize);
    for message in messages.values() {
        for piece in split_slots(message) {
            if let Piece::Text(text) = piece {
                for c in text.chars().filter(|c| c.is_alphabetic()) {
                    if is_rtl_letter(c) {
                        rtl += 1;
                    } else {
                        ltr += 1;
                    }
                }
            }
        }
    }
    rtl > ltr
}

/// Every check over one language's file (English is the reference).
fn problems(lang_is_english: bool, rtl: bool, en: &Messages, other: &Messages) -> Vec<String> {
    let mut found = key_problems(en, other);
    if !lang_is_english {
        found.extend(english_left(en, other));
    }
    found.extend(label_in_name_problems(en, other));
    if written_rtl(other) != rtl {
        found.push(format!(
            "the table says {}, the file is written {}",
            if rtl {
                "right to left"
            } else {
                "left to right"
            },
            if written_rtl(other) {
                "right to left"
            } else {
                "left to right"
            }
        ));
    }
    found
}

/// Every check over every language of `table`, with `file` giving each one's
/// messages: the problems found, each after its language's tag.
fn check_table(table: &[Lang], file: impl Fn(Lang) -> Messages) -> Vec<String> {
    let en = file(Lang::En);
    let mut all = Vec::new();
    for &lang in table {
        for problem in problems(lang == Lang::En, lang.rtl(), &en, &file(lang)) {
            all.push(format!("{}: {problem}", lang.tag()));
        }
    }
    all
}

#[test]
fn every_language_file_keeps_every_rule() {
    assert!(
        read(Lang::En).len() > 50,
        "en.json is the full set of messages"
    );
    let all = check_table(&Lang::ALL, read);
    assert!(
        all.is_empty(),
        "language files break a rule:\n{}",
        all.join("\n")
    );
}

/// The shipped file of an app language, else the throwaway's.
fn with_throwaway(lang: Lang) -> Messages {
    if lang == throwaway::throwaway() {
        throwaway::messages()
    } else {
        read(lang)
    }
}

#[test]
fn an_eighth_language_in_the_table_is_checked_like_the_others() {
    let table = throwaway::table();
    assert_eq!(table.len(), Lang::ALL.len() + 1);
    let all = check_table(table, with_throwaway);
    assert!(all.is_empty(), "{}", all.join("\n"));
    // Its line is read: the same file said to be left to right is caught...
    let ltr = Lang::new(throwaway::TAG, "ltr", i18n::Dir::Ltr);
    let mut wrong = Lang::ALL.to_vec();
    wrong.push(ltr);
    let found = check_table(&wrong, |l| {
        with_throwaway(if l == ltr { throwaway::throwaway() } else { l })
    });
    assert_eq!(
        found,
        ["qaa: the table says left to right, the file is written right to left"]
    );
    // ...and so is its file: a key left out.
    let found = check_table(table, |l| {
        let mut messages = with_throwaway(l);
        if l == throwaway::throwaway() {
            messages.remove("lang.label");
        }
        messages
    });
    assert_eq!(found, ["qaa: missing key lang.label"]);
}

#[test]
fn an_eighth_language_is_matched_fetched_chosen_and_set_right_to_left() {
    let table = throwaway::table();
    let eighth = throwaway::throwaway();
    assert_eq!(best_match_in(table, &["ko", "qaa-IL"]), Some(eighth));
    assert_eq!(Lang::from_tag_in(table, "QAA"), Some(eighth));
    assert_eq!(eighth.file(), "locales/qaa.json");

    // The loader fetches the file its tag names, beside index.html.
    browser::stand_in::serve(&eighth.file(), &throwaway::file());
    futures::executor::block_on(i18n::choose(eighth));
    assert_eq!(i18n::current(), eighth);
    assert_eq!(i18n::tr("lang.label"), throwaway::messages()["lang.label"]);
    assert_eq!(
        browser::stand_in::document_language(),
        ("qaa".to_owned(), "rtl".to_owned())
    );
    assert_eq!(browser::stored(i18n::LANG_KEY).as_deref(), Some("qaa"));
    i18n::set_language(Lang::En);
}

#[test]
fn every_language_in_the_table_has_its_file_and_every_file_a_language() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("locales"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut named: Vec<String> = Lang::ALL
        .iter()
        .map(|lang| lang.file().trim_start_matches("locales/").to_owned())
        .collect();
    named.sort();
    assert_eq!(files, named);
}

#[test]
fn the_key_check_fails_on_a_missing_or_extra_key_or_a_changed_placeholder() {
    let en = messages(&[
        ("a", "Hello {name}."),
        ("b", "Bye."),
        ("c#one", "one minute"),
        ("c#other", "{count} minutes"),
    ]);
    let good = messages(&[
        ("a", "Hallo {name}."),
        ("b", "Tschüss."),
        ("c#other", "{count} Minuten"),
    ]);
    assert_eq!(key_problems(&en, &good), Vec::<String>::new());
    let mut missing = good.clone();
    missing.remove("b");
    assert_eq!(key_problems(&en, &missing), vec!["missing key b"]);
    let mut extra = good.clone();
    extra.insert("z".into(), "?".into());
    assert_eq!(key_problems(&en, &extra), vec!["extra key z"]);
    let mut renamed = good.clone();
    renamed.insert("a".into(), "Hallo {nom}.".into());
    assert_eq!(key_problems(&en, &renamed).len(), 1);
    let mut no_other = good.clone();
    no_other.remove("c#other");
    no_other.insert("c#few".into(), "{count} Minuten".into());
    assert_eq!(key_problems(&en, &no_other), vec!["missing key c#other"]);
}

#[test]
fn a_copied_english_sentence_is_found_but_a_shared_short_name_is_not() {
    let en = messages(&[("a", "Sign in to {name} now"), ("b", "Type")]);
    let copied = messages(&[("a", "Anmelden: Sign in to {name}"), ("b", "Type")]);
    assert_eq!(
        english_left(&en, &copied),
        vec![r#"a: English of a left: "Sign in to""#]
    );
    let own = messages(&[("a", "Bei {name} anmelden"), ("b", "Type")]);
    assert!(english_left(&en, &own).is_empty());
}

#[test]
fn a_toggle_name_without_its_visible_text_breaks_label_in_name() {
    // The shape of the real keys: a field label, its toggle's names, the visible words.
    let en = messages(&[
        ("password.label", "Password"),
        ("password.label.show", "Show password"),
        ("password.label.hide", "Hide password"),
        ("password.show", "Show"),
        ("password.hide", "Hide"),
    ]);
    assert_eq!(
        named_controls(&en),
        [
            ("password.label.show".to_owned(), "password.show".to_owned()),
            ("password.label.hide".to_owned(), "password.hide".to_owned()),
        ]
    );
    assert!(label_in_name_problems(&en, &en).is_empty());
    // German capitalises the button but not the name: the same words when spoken.
    let de = messages(&[
        ("password.label.show", "Passwort anzeigen"),
        ("password.label.hide", "Passwort ausblenden"),
        ("password.show", "Anzeigen"),
        ("password.hide", "Ausblenden"),
    ]);
    assert!(label_in_name_problems(&en, &de).is_empty());
    // "הצגת" (showing of) is not "הצגה" (showing): a speech user saying the
    // button's word does not reach it.
    let he = messages(&[
        ("password.label.show", "הצגת הסיסמה"),
        ("password.label.hide", "הסתרה של הסיסמה"),
        ("password.show", "הצגה"),
        ("password.hide", "הסתרה"),
    ]);
    assert_eq!(
        label_in_name_problems(&en, &he),
        vec![
            r#"password.label.show "הצגת הסיסמה" does not contain the visible password.show "הצגה""#
        ]
    );
}

#[test]
fn the_direction_check_reads_the_script_a_file_is_written_in() {
    let hebrew = messages(&[("a", "הסיסמה של {name} ב-Kaltura")]);
    let german = messages(&[("a", "Das Passwort von {name} bei Kaltura")]);
    assert!(written_rtl(&hebrew));
    assert!(!written_rtl(&german));
    let en = messages(&[("a", "The password of {name} at Kaltura")]);
    assert!(
        problems(false, false, &en, &hebrew)
            .iter()
            .any(|p| p.contains("the table says left to right"))
    );
    assert!(problems(false, true, &en, &hebrew).is_empty());
}

/// The `"…"` literals of the source files under `dir` that look like message
/// keys (a known namespace, lowercase, digits, `-` and `.`).
fn keys_in_code(dir: PathBuf) -> Vec<(PathBuf, String)> {
    const NAMESPACES: [&str; 13] = [
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
    let mut found = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let code = std::fs::read_to_string(&path).unwrap();
            for literal in code.split('"').skip(1).step_by(2) {
                let is_key = NAMESPACES.iter().any(|n| literal.starts_with(n))
                    && !literal.ends_with('.')
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c));
                if is_key {
                    found.push((path.clone(), literal.to_owned()));
                }
            }
        }
    }
    found
}

#[test]
fn every_key_the_code_uses_is_in_english() {
    let en = read(Lang::En);
    let used = keys_in_code(root().join("src"));
    assert!(
        used.len() > 50,
        "keys are found in the code ({})",
        used.len()
    );
    let missing: Vec<String> = used
        .iter()
        .filter(|(_, key)| !en.contains_key(key) && !en.contains_key(&format!("{key}#other")))
        .map(|(path, key)| format!("{}: {key}", path.display()))
        .collect();
    assert!(
        missing.is_empty(),
        "keys not in en.json:\n{}",
        missing.join("\n")
    );
}
