//! Bundle size: each file of `dist/` raw, gzip (level 9) and brotli (quality 11, window 24), the
//! strongest settings, which `cargo xtask precompress` serves, and the total against the budget.

use std::path::{Path, PathBuf};

/// The brotli budget for everything a first visit downloads (issue 3's size target).
pub const BROTLI_BUDGET: usize = 200_000;

/// Measures every file under `dist` and returns the markdown section.
pub fn run(dist: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    walk(dist, &mut files).map_err(|e| {
        format!(
            "cannot read {}: {e} (run trunk build first)",
            dist.display()
        )
    })?;
    files.sort();
    if files.is_empty() {
        return Err(format!("{} is empty", dist.display()));
    }
    let mut md = String::from(
        "## Bundle size (dist/)\n\n| file | raw | gzip -9 | brotli 11 |\n|---|---:|---:|---:|\n",
    );
    // `locales/` holds the languages other than English (built in): each is
    // fetched only when chosen, so the first load's total leaves them out.
    let (languages, files): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|f| f.strip_prefix(dist).is_ok_and(|p| p.starts_with("locales")));
    let (mut raw_t, mut gz_t, mut br_t) = (0, 0, 0);
    for f in &files {
        let data = std::fs::read(f).map_err(|e| e.to_string())?;
        let (raw, gz, br) = (data.len(), gzip_len(&data)?, brotli_len(&data)?);
        raw_t += raw;
        gz_t += gz;
        br_t += br;
        let name = f.strip_prefix(dist).unwrap_or(f).display();
        md.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            kb(raw),
            kb(gz),
            kb(br)
        ));
    }
    md.push_str(&format!(
        "| **total** | **{}** | **{}** | **{}** |\n\n",
        kb(raw_t),
        kb(gz_t),
        kb(br_t)
    ));
    let verdict = if br_t <= BROTLI_BUDGET {
        "within"
    } else {
        "OVER"
    };
    md.push_str(&format!(
        "Brotli total {} of the {} budget: {verdict} ({:.0} %). KB = 1000 bytes.\n",
        kb(br_t),
        kb(BROTLI_BUDGET),
        br_t as f64 * 100.0 / BROTLI_BUDGET as f64
    ));
    if !languages.is_empty() {
        md.push_str("\n### Language files (fetched only when chosen)\n\n| file | raw | brotli 11 |\n|---|---:|---:|\n");
        for f in &languages {
            let data = std::fs::read(f).map_err(|e| e.to_string())?;
            let name = f.strip_prefix(dist).unwrap_or(f).display();
            md.push_str(&format!(
                "| {name} | {} | {} |\n",
                kb(data.len()),
                kb(brotli_len(&data)?)
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

fn gzip_len(data: &[u8]) -> Result<usize, String> {
    crate::precompress::gzip_best(data).map(|v| v.len())
}

fn brotli_len(data: &[u8]) -> Result<usize, String> {
    crate::precompress::brotli_best(data).map(|v| v.len())
}

/// `123.4 KB`.
fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn repetitive_data_compresses_and_brotli_round_trips() {
        let data = "login-email ".repeat(1000).into_bytes();
        let gz = gzip_len(&data).unwrap();
        let br = brotli_len(&data).unwrap();
        assert!(
            gz < data.len() / 10 && br < data.len() / 10,
            "gz {gz} br {br}"
        );
        let mut out = Vec::new();
        let mut compressed = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut compressed, 4096, 11, 22);
            w.write_all(&data).unwrap();
        }
        brotli::BrotliDecompress(&mut &compressed[..], &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn every_file_under_dist_is_listed_with_a_total_and_the_budget_verdict() {
        let dir = std::env::temp_dir().join(format!("xtask-sizes-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html>".repeat(100)).unwrap();
        std::fs::write(dir.join("assets/app.wasm"), vec![7u8; 5000]).unwrap();
        let md = run(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(md.contains("| index.html | 0.6 KB |"), "{md}");
        assert!(md.contains("| assets/app.wasm | 5.0 KB |"), "{md}");
        assert!(md.contains("| **total** | **5.6 KB** |"), "{md}");
        assert!(md.contains("of the 200.0 KB budget: within"), "{md}");
    }

    #[test]
    fn kilobytes_are_thousands_of_bytes_with_one_decimal() {
        assert_eq!(kb(200_000), "200.0 KB");
        assert_eq!(kb(1234), "1.2 KB");
    }
}
