//! The first load's size budget: every file a browser fetches on `/login`
//! before the app takes over, brotli (quality 11, window 24, as `cargo xtask
//! precompress` serves it), at most [`FIRST_LOAD_BUDGET`].
//!
//! The first load is every file of `dist/` (`index.html` with its inlined
//! CSS, the JS glue, the wasm, `config.json`) but the language files: English
//! is built in, so an English browser fetches none. A browser in another
//! language also fetches its own file before mounting; the language files are
//! listed apart, and the summary names the largest, so that first load is
//! the total plus that file.
//!
//! `cargo xtask test` fails when the budget is broken ([`check`]); `cargo
//! xtask size` and `cargo xtask bench` print the same measurement as a table
//! ([`markdown`]).

use std::path::{Path, PathBuf};

/// The brotli budget of the first load of `/login`, in bytes (KB = 1000 bytes).
pub const FIRST_LOAD_BUDGET: usize = 235_000;

/// One file of `dist/`, measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSize {
    /// Its path under `dist/`, with `/` separators.
    pub name: String,
    /// Bytes as stored.
    pub raw: usize,
    /// Bytes after gzip -9.
    pub gzip: usize,
    /// Bytes after brotli 11.
    pub brotli: usize,
}

impl FileSize {
    /// What the file is to the first load: `wasm`, `js`, `css`, `html`,
    /// `config`, `locale` or `other`.
    pub fn part(&self) -> &'static str {
        let ext = self.name.rsplit('.').next().unwrap_or_default();
        if self.name.starts_with("locales/") {
            "locale"
        } else {
            match ext {
                "wasm" => "wasm",
                "js" | "mjs" => "js",
                "css" => "css",
                "html" => "html",
                "json" => "config",
                _ => "other",
            }
        }
    }
}

/// The measurement of a `dist/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    /// The files of the first load.
    pub first_load: Vec<FileSize>,
    /// The language files (`locales/`), by name.
    pub languages: Vec<FileSize>,
}

impl Sizes {
    /// The first load's brotli bytes.
    pub fn total_brotli(&self) -> usize {
        self.first_load.iter().map(|f| f.brotli).sum()
    }

    /// The first load's brotli bytes per part, in a fixed order.
    pub fn parts(&self) -> Vec<(&'static str, usize)> {
        ["wasm", "js", "css", "html", "config", "locale", "other"]
            .into_iter()
            .map(|part| {
                let bytes = self
                    .first_load
                    .iter()
                    .filter(|f| f.part() == part)
                    .map(|f| f.brotli)
                    .sum();
                (part, bytes)
            })
            .collect()
    }

    /// One line: the total, the budget and each part.
    pub fn summary(&self, budget: usize) -> String {
        let parts = self
            .parts()
            .into_iter()
            .filter(|(_, bytes)| *bytes > 0)
            .map(|(part, bytes)| format!("{part} {}", kb(bytes)))
            .collect::<Vec<_>>()
            .join(", ");
        let largest = self.languages.iter().map(|f| f.brotli).max().unwrap_or(0);
        format!(
            "first load of /login {} brotli of the {} budget ({parts}; a browser in another \
             language also fetches its language file, at most {})",
            kb(self.total_brotli()),
            kb(budget),
            kb(largest)
        )
    }
}

/// Measures every file under `dist`.
pub fn measure(dist: &Path) -> Result<Sizes, String> {
    let mut paths = Vec::new();
    walk(dist, &mut paths).map_err(|e| {
        format!(
            "cannot read {}: {e} (run trunk build first)",
            dist.display()
        )
    })?;
    paths.sort();
    if paths.is_empty() {
        return Err(format!("{} is empty", dist.display()));
    }
    let mut files = Vec::new();
    for path in &paths {
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path
            .strip_prefix(dist)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push(FileSize {
            name,
            raw: data.len(),
            gzip: crate::precompress::gzip_best(&data)?.len(),
            brotli: crate::precompress::brotli_best(&data)?.len(),
        });
    }
    let (languages, first_load) = files.into_iter().partition(|f| f.part() == "locale");
    Ok(Sizes {
        first_load,
        languages,
    })
}

/// Measures `dist` and fails, with the figure, when the first load is over `budget`.
pub fn check(dist: &Path, budget: usize) -> Result<String, String> {
    let sizes = measure(dist)?;
    let summary = sizes.summary(budget);
    if sizes.total_brotli() > budget {
        Err(format!("OVER BUDGET: {summary}"))
    } else {
        Ok(summary)
    }
}

/// `cargo xtask size`: prints the table, and fails when over the budget.
pub fn report(dist: std::path::PathBuf) -> Result<(), String> {
    print!("{}", markdown(&dist)?);
    check(&dist, FIRST_LOAD_BUDGET).map(|_| ())
}

/// The measurement as a markdown table (`cargo xtask size` and the bench).
pub fn markdown(dist: &Path) -> Result<String, String> {
    let sizes = measure(dist)?;
    let mut md = String::from(
        "## First load of /login (dist/)\n\n| file | part | raw | gzip -9 | brotli 11 |\n|---|---|---:|---:|---:|\n",
    );
    for f in &sizes.first_load {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.name,
            f.part(),
            kb(f.raw),
            kb(f.gzip),
            kb(f.brotli)
        ));
    }
    let total = |get: fn(&FileSize) -> usize| kb(sizes.first_load.iter().map(get).sum());
    md.push_str(&format!(
        "| **total** | | **{}** | **{}** | **{}** |\n\n",
        total(|f| f.raw),
        total(|f| f.gzip),
        total(|f| f.brotli)
    ));
    let brotli = sizes.total_brotli();
    md.push_str(&format!(
        "{}: {} ({:.0} %). KB = 1000 bytes.\n",
        sizes.summary(FIRST_LOAD_BUDGET),
        if brotli <= FIRST_LOAD_BUDGET {
            "within"
        } else {
            "OVER"
        },
        brotli as f64 * 100.0 / FIRST_LOAD_BUDGET as f64
    ));
    if !sizes.languages.is_empty() {
        md.push_str("\n### Language files (a browser in that language fetches its own)\n\n| file | raw | brotli 11 |\n|---|---:|---:|\n");
        for f in &sizes.languages {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                f.name,
                kb(f.raw),
                kb(f.brotli)
            ));
        }
    }
    Ok(md)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        // trunk keeps its `.trunk-lock` in dist/; no page ever loads it. `.br` / `.gz` are
        // other encodings of a file already counted (`cargo xtask precompress`).
        if p.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.starts_with('.') || n.ends_with(".br") || n.ends_with(".gz")
        }) {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// `123.4 KB`.
fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch `dist/` that removes itself.
    struct Dist(PathBuf);

    impl Dist {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("xtask-size-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("locales")).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, data: &[u8]) {
            std::fs::write(self.0.join(name), data).unwrap();
        }
    }

    impl Drop for Dist {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Bytes brotli cannot shrink (a fixed pseudo-random sequence).
    fn incompressible(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn a_first_load_over_the_budget_fails_with_its_figure() {
        let dist = Dist::new("over");
        dist.write("index.html", b"<html></html>");
        dist.write("app_bg.wasm", &incompressible(3_000));
        let err = check(&dist.0, 2_000).unwrap_err();
        assert!(err.starts_with("OVER BUDGET"), "{err}");
        assert!(err.contains("of the 2.0 KB budget"), "{err}");
        assert!(err.contains("wasm 3.0 KB"), "{err}");
    }

    #[test]
    fn a_first_load_within_the_budget_passes_with_its_figure() {
        let dist = Dist::new("within");
        dist.write("index.html", b"<html></html>");
        dist.write("app_bg.wasm", &incompressible(3_000));
        let ok = check(&dist.0, 4_000).unwrap();
        assert!(ok.contains("of the 4.0 KB budget"), "{ok}");
    }

    #[test]
    fn language_files_are_listed_apart_and_the_largest_is_named() {
        let dist = Dist::new("languages");
        dist.write("index.html", b"<html></html>");
        dist.write("config.json", b"{}");
        dist.write("app.js", b"export default 1;");
        dist.write("locales/de.json", &incompressible(900));
        dist.write("locales/fr.json", &incompressible(500));
        dist.write("app.js.br", &incompressible(5_000));
        let sizes = measure(&dist.0).unwrap();
        let names: Vec<_> = sizes.first_load.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["app.js", "config.json", "index.html"]);
        assert_eq!(sizes.languages.len(), 2);
        assert!(sizes.parts().contains(&("locale", 0)));
        let largest = kb(sizes.languages[0].brotli);
        assert!(sizes.summary(1).ends_with(&format!("at most {largest})")));
        assert!(markdown(&dist.0).unwrap().contains("| locales/fr.json |"));
    }

    #[test]
    fn kilobytes_are_thousands_of_bytes_with_one_decimal() {
        assert_eq!(kb(235_000), "235.0 KB");
        assert_eq!(kb(1234), "1.2 KB");
    }
}
