//! The README's screenshots in `docs/`, taken by the suite itself.
//!
//! They are written only when missing or when `KMC_UPDATE_SCREENSHOTS=1`, so a
//! CI run does not rewrite tracked files with pixel noise.

use std::path::PathBuf;

/// Writes `docs/{name}` from PNG bytes when it is missing or an update was
/// asked for; returns the path when it wrote the file.
pub fn save_if_wanted(name: &str, png: &[u8]) -> Option<PathBuf> {
    assert!(png.starts_with(b"\x89PNG"), "screenshots are PNG");
    let path = crate::workspace_root().join("docs").join(name);
    let update = std::env::var("KMC_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1");
    if update || !path.exists() {
        std::fs::create_dir_all(path.parent().expect("docs/ has a parent"))
            .expect("docs/ can be created");
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        Some(path)
    } else {
        None
    }
}
