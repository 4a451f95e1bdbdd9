//! The languages the app speaks, and the best of them for a browser.
//!
//! Serves: [`Lang`], [`best_match`].

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
