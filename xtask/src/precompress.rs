//! `cargo xtask precompress [DIR]`: writes `NAME.br` (brotli quality 11, window 24) and
//! `NAME.gz` (gzip level 9) beside every content-hashed file of the built app, so kmc-server
//! (or any static host that serves precompressed files) answers them at the strongest
//! compression without spending CPU per request.
//!
//! First it puts the static card's translations into `index.html` ([`crate::static_card`]) and
//! moves its preloads after the card ([`crate::late_preloads`]).
//!
//! Trunk runs it as a `post_build` hook (`Trunk.toml`) on its staging folder
//! (`TRUNK_STAGING_DIR`); debug builds (`trunk serve`) skip it, since their wasm is large and
//! rebuilt at every edit. Only hashed names are compressed: their content never changes under
//! the same name, so a `.br` can never be stale. `index.html` (compressed by kmc-server at
//! start-up) and `config.json` (edited by operators) are left alone.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Extensions worth compressing (text and wasm; images such as PNG are compressed already).
const COMPRESSIBLE: [&str; 5] = ["js", "wasm", "css", "svg", "json"];

/// Runs the command: `DIR`, else `$TRUNK_STAGING_DIR`, else `dist`.
pub fn run(root: &Path, rest: &[String]) -> Result<(), String> {
    if let Ok(profile) = std::env::var("TRUNK_PROFILE")
        && profile != "release"
    {
        println!("precompress: skipped for a {profile} build");
        return Ok(());
    }
    let dir = rest
        .first()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("TRUNK_STAGING_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("dist"));
    let index = dir.join("index.html");
    if index.is_file() {
        let mut html =
            std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
        let locales = dir.join("locales");
        if locales.is_dir() {
            html = crate::static_card::translate(&html, &locales)?;
        }
        html = crate::late_preloads::apply(&html)?;
        write(&index, html.as_bytes())?;
    }
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut done = 0;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !path.is_file() || !wants(name) {
            continue;
        }
        let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let br = brotli_best(&data)?;
        let gz = gzip_best(&data)?;
        write(&dir.join(format!("{name}.br")), &br)?;
        write(&dir.join(format!("{name}.gz")), &gz)?;
        println!(
            "precompress: {name}: {} B -> br {} B, gz {} B",
            data.len(),
            br.len(),
            gz.len()
        );
        done += 1;
    }
    println!("precompress: {done} files in {}", dir.display());
    Ok(())
}

/// True for a content-hashed file (trunk's `name-<hex>[_bg].ext`, 12+ digits: trunk drops the
/// hash's leading zeros) of a compressible type.
pub fn wants(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    COMPRESSIBLE.contains(&ext)
        && stem.rsplit_once('-').is_some_and(|(_, hash)| {
            hash.len() >= 12 && hash.chars().all(|c| c.is_ascii_hexdigit())
        })
}

/// Brotli at its strongest: quality 11, the largest standard window (2^24).
pub fn brotli_best(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 24);
        w.write_all(data).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// gzip at its strongest level (9).
pub fn gzip_best(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).map_err(|e| e.to_string())?;
    e.finish().map_err(|e| e.to_string())
}

fn write(path: &Path, data: &[u8]) -> Result<(), String> {
    std::fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashed_text_and_wasm_files_are_precompressed() {
        assert!(wants("kmc-login-4f1b2c3d4e5f6a7b.js"));
        assert!(wants("kmc-login-4f1b2c3d4e5f6a7b_bg.wasm"));
        assert!(wants("kmc-login-2b77f5e2a3292c8.js"));
        assert!(wants("style-0123456789abcdef.css"));
        assert!(!wants("index.html"));
        assert!(!wants("config.json"));
        assert!(!wants("kmc-login-4f1b2c3d4e5f6a7b.js.br"));
        assert!(!wants("logo-0123456789abcdef.png"));
    }

    #[test]
    fn precompressed_files_decompress_to_the_original() {
        let data = b"kmc login ".repeat(500);
        let br = brotli_best(&data).unwrap();
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, data);
        let gz = gzip_best(&data).unwrap();
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back).unwrap();
        assert_eq!(back, data);
        assert!(br.len() < data.len() / 10 && gz.len() < data.len() / 10);
    }
}
