//! Where things are (workspace root, target dir, tool dirs) and how child processes are started:
//! every child runs from the workspace root with `~/.cargo/bin` and the pinned wasm-opt first on
//! `PATH`, whatever the caller's `PATH` holds, so a Debian `wasm-opt` can never be picked up.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The environment every subcommand works in.
pub struct Ctx {
    /// The workspace root (the folder holding the root `Cargo.toml`).
    pub root: PathBuf,
    /// The user's home, where tools are installed (never inside the repository).
    pub home: PathBuf,
    /// `PATH` for children: wasm-opt's folder, `~/.cargo/bin`, then the caller's `PATH`.
    path: OsString,
    target_dir: OnceCell<PathBuf>,
}

impl Ctx {
    /// Finds the workspace root from where xtask was compiled and builds the children's `PATH`.
    pub fn new() -> Result<Self, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask is not inside a workspace")?
            .to_path_buf();
        // CI strips some variables; root's home is known even without HOME.
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .or_else(|| is_root().then(|| PathBuf::from("/root")))
            .ok_or("HOME is not set to an absolute path; tools are installed under it")?;
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".cargo"));
        let mut dirs = vec![binaryen_bin(&home), cargo_home.join("bin")];
        if let Some(p) = std::env::var_os("PATH") {
            for d in std::env::split_paths(&p) {
                if !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
        let path = std::env::join_paths(dirs).map_err(|e| format!("cannot build PATH: {e}"))?;
        Ok(Self {
            root,
            home,
            path,
            target_dir: OnceCell::new(),
        })
    }

    /// A command for `program`, run from the workspace root with the tool `PATH`.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.current_dir(&self.root).env("PATH", &self.path);
        c
    }

    /// A `cargo` command (through rustup's proxy, so `rust-toolchain.toml` applies).
    pub fn cargo(&self) -> Command {
        self.cmd("cargo")
    }

    /// Folder of the npm-installed binaryen tools (wasm-opt 132).
    pub fn binaryen_bin(&self) -> PathBuf {
        binaryen_bin(&self.home)
    }

    /// The folder cargo builds into: `CARGO_TARGET_DIR` or `build.target-dir` when the user set
    /// one, else `<root>/target` (asked from cargo so every way of setting it is honoured).
    pub fn target_dir(&self) -> &Path {
        self.target_dir.get_or_init(|| {
            let out = self
                .cargo()
                .args([
                    "metadata",
                    "--format-version",
                    "1",
                    "--no-deps",
                    "--offline",
                ])
                .stderr(Stdio::null())
                .output();
            out.ok()
                .filter(|o| o.status.success())
                .and_then(|o| {
                    json_string_field(&String::from_utf8_lossy(&o.stdout), "target_directory")
                })
                .map(PathBuf::from)
                .unwrap_or_else(|| self.root.join("target"))
        })
    }

    /// Absolute path of the `dist/` folder trunk writes.
    pub fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }
}

fn binaryen_bin(home: &Path) -> PathBuf {
    home.join(".local/share/kmc-tools/binaryen/node_modules/.bin")
}

/// Reads a top-level string field from cargo's JSON without a JSON crate (the value is a path:
/// only `\\` and `\"` escapes matter).
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\":\"");
    let start = json.find(&key)? + key.len();
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// Shows a command the way a person would type it.
pub fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.contains(' ') || a.is_empty() {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Runs a command with inherited stdio and turns a non-zero exit into an error.
pub fn run_status(cmd: &mut Command) -> Result<(), String> {
    println!("$ {}", display(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", display(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", display(cmd)))
    }
}

/// Runs a command quietly and returns its stdout when it succeeds (used for version checks).
pub fn capture(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `1.2 s`, `3 min 04 s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

/// Whether this process runs as root (apt-get needs it); read from `/proc` to stay std-only.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_directory_is_read_from_cargo_metadata_json_with_escapes() {
        let json = r#"{"packages":[],"target_directory":"/tmp/a \"b\"\\c","version":1}"#;
        assert_eq!(
            json_string_field(json, "target_directory").as_deref(),
            Some(r#"/tmp/a "b"\c"#)
        );
        assert_eq!(json_string_field(json, "workspace_root"), None);
    }

    #[test]
    fn durations_under_a_minute_show_tenths_and_longer_ones_minutes() {
        assert_eq!(fmt_duration(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(fmt_duration(Duration::from_secs(184)), "3 min 04 s");
    }

    #[test]
    fn displayed_commands_quote_arguments_with_spaces() {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "a b"]);
        assert_eq!(display(&c), "apt-get install -y 'a b'");
    }
}
