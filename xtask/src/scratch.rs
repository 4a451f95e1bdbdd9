//! Pieces the bench and the attack both need to run `kmc-server` for real: a temporary data
//! folder and the operator CLI.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temporary folder removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/kmc-<pid>-<label>`.
    pub fn new(label: &str) -> Result<Self, String> {
        let p = std::env::temp_dir().join(format!("kmc-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        Ok(Self(p))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a kmc-server CLI command over `data`, optionally feeding `stdin` (a password, which
/// therefore never appears in arguments or messages), and returns its stdout.
pub fn cli(bin: &Path, data: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run kmc-server {}: {e}", args.join(" ")))?;
    // Dropping stdin (taken here) closes it, so the CLI sees the end of the password.
    if let (Some(mut input), Some(s)) = (child.stdin.take(), stdin) {
        input.write_all(s.as_bytes()).map_err(|e| e.to_string())?;
        input.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        // The password went in through stdin and is not in args, so this message holds no secret.
        return Err(format!(
            "kmc-server {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
