//! The languages the app speaks, as data: [`language_table!`] names each one
//! once, and everything else (the picker's options, the file fetched, `<html
//! lang dir>`, matching the browser's languages, the tests' checks) reads it.
//!
//! Serves: [`language_table!`], [`Lang`], [`Dir`], [`best_match`],
//! [`best_match_in`].

/// The table of languages: one line each, in the order the picker lists
/// them: the name of its constant on [`Lang`], its BCP 47 tag (which also
/// names its file, `locales/<tag>.json`), its name in itself, and the
/// direction it is written in.
///
/// Adding a language is a line here and its file. The table is a macro so
/// that code needing each language at compile time (the browser tests build
/// every file in with `include_str!`) reads the same lines: it hands them to
/// the macro named by `$then`.
#[macro_export]
macro_rules! language_table {
    ($then:ident) => {
        $then! {
            // constant  tag      name in itself          direction
            En           "en"     "English"               Ltr;
            De           "de"     "Deutsch"               Ltr;
            Es           "es"     "Español"               Ltr;
            Fr           "fr"     "Français"              Ltr;
            Ja           "ja"     "日本語"                 Ltr;
            PtBr         "pt-BR"  "Português (Brasil)"    Ltr;
            He           "he"     "עברית"                  Rtl;
        }
    };
}

/// Makes the table's lines the constants of [`Lang`] and [`Lang::ALL`].
macro_rules! constants {
    ($($id:ident $tag:literal $name:literal $dir:ident;)*) => {
        #[expect(
            non_upper_case_globals,
            reason = "the languages read as the variants of an enum (`Lang::PtBr`)"
        )]
        impl Lang {
            $(
                #[doc = concat!($name, " (`", $tag, "`).")]
                pub const $id: Lang = Lang::new($tag, $name, Dir::$dir);
            )*
            /// Every language of the table, in its order (the picker's).
            pub const ALL: [Lang; [$($tag),*].len()] = [$(Lang::$id),*];
        }
    };
}

language_table!(constants);

/// The direction a language is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Left to right.
    Ltr,
    /// Right to left (Hebrew): the whole page is mirrored.
    Rtl,
}

impl Dir {
    /// The value of an HTML `dir` attribute.
    pub fn attribute(self) -> &'static str {
        match self {
            Dir::Ltr => "ltr",
            Dir::Rtl => "rtl",
        }
    }
}

/// A language the app speaks: a line of [`language_table!`]. The app's are
/// [`Lang::ALL`]; a test may make another with [`Lang::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lang {
    tag: &'static str,
    name: &'static str,
    dir: Dir,
}

impl Lang {
    /// A language from its tag, its name in itself and its direction.
    pub const fn new(tag: &'static str, name: &'static str, dir: Dir) -> Self {
        Lang { tag, name, dir }
    }

    /// The BCP 47 tag: `<html lang>`, the file name in `locales/`.
    pub fn tag(self) -> &'static str {
        self.tag
    }

    /// The language's name in itself, as the picker shows it.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The direction it is written in.
    pub fn dir(self) -> Dir {
        self.dir
    }

    /// Written right to left.
    pub fn rtl(self) -> bool {
        self.dir == Dir::Rtl
    }

    /// Its file, beside `index.html`.
    pub fn file(self) -> String {
        format!("locales/{}.json", self.tag)
    }

    /// The app's language with exactly this tag (any case).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::from_tag_in(&Lang::ALL, tag)
    }

    /// The language of `table` with exactly this tag (any case).
    pub fn from_tag_in(table: &[Lang], tag: &str) -> Option<Lang> {
        let tag = tag.trim();
        table
            .iter()
            .copied()
            .find(|l| l.tag.eq_ignore_ascii_case(tag))
    }
}

/// The best of the app's languages for a browser's preference list
/// (`navigator.languages`, most wanted first); see [`best_match_in`].
pub fn best_match<S: AsRef<str>>(wanted: &[S]) -> Option<Lang> {
    best_match_in(&Lang::ALL, wanted)
}

/// The best language of `table` for a browser's preference list: for each
/// wanted tag in turn, an exact match, else one of the same primary language
/// (`de-AT` → `de`, `pt-PT` → `pt-BR`, `iw` → `he`); `None` when none of
/// them is in the table.
pub fn best_match_in<S: AsRef<str>>(table: &[Lang], wanted: &[S]) -> Option<Lang> {
    wanted.iter().find_map(|tag| {
        let tag = tag.as_ref().trim();
        Lang::from_tag_in(table, tag).or_else(|| {
            let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
            // `iw` is Hebrew's code before 1989; some systems still send it.
            let primary = if primary == "iw" {
                "he".to_owned()
            } else {
                primary
            };
            table
                .iter()
                .copied()
                .find(|l| l.tag.split('-').next() == Some(primary.as_str()))
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

    #[test]
    fn the_table_gives_each_language_its_tag_name_direction_and_file() {
        assert_eq!(Lang::ALL.len(), 7);
        assert_eq!(Lang::ALL[0], Lang::En, "English first, the fallback");
        assert_eq!(Lang::PtBr.tag(), "pt-BR");
        assert_eq!(Lang::PtBr.name(), "Português (Brasil)");
        assert_eq!(Lang::PtBr.file(), "locales/pt-BR.json");
        assert_eq!(Lang::He.dir().attribute(), "rtl");
        let rtl: Vec<&str> = Lang::ALL
            .iter()
            .filter(|l| l.rtl())
            .map(|l| l.tag())
            .collect();
        assert_eq!(rtl, ["he"]);
        assert_eq!(Lang::from_tag("PT-br"), Some(Lang::PtBr));
    }
}
