//! kmc-server as the tools run it: a release binary over a temporary data folder, started
//! through the shared harness, set up through its operator CLI, watched (memory, the log's
//! panics) and killed.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// How long a server may take to print that it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A temporary folder `kmc-<label>-…`, removed on drop.
pub fn temp_dir(label: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("kmc-{label}-"))
        .tempdir()
        .context("cannot create a temporary folder")
}

/// How a server is started.
#[derive(Clone)]
pub struct Spec {
    /// The server binary.
    pub bin: PathBuf,
    /// Its `--data-dir`.
    pub data: PathBuf,
    /// Where its stderr (the log) is appended.
    pub log: PathBuf,
    /// Arguments before `serve` (e.g. `--database-url`).
    pub global: Vec<String>,
    /// Arguments after `serve --listen 127.0.0.1:0 --dist DIST`.
    pub serve: Vec<String>,
    /// The app folder it serves; `None` serves nothing (the attacks are on the API).
    pub dist: Option<PathBuf>,
}

impl Spec {
    /// A server over `dir/data` logging to `dir/server.log`, serving no app, with `serve` args.
    pub fn api_only(bin: &Path, dir: &Path, serve: &[String]) -> Self {
        Self {
            bin: bin.to_path_buf(),
            data: dir.join("data"),
            log: dir.join("server.log"),
            global: Vec::new(),
            serve: serve.to_vec(),
            dist: None,
        }
    }
}

/// A running `kmc-server serve`; killed (SIGKILL) when dropped.
pub struct Server {
    spec: Spec,
    process: Option<harness::Server>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it printed before it was ready (e.g. the `--demo` link).
    pub printed: Vec<String>,
}

impl Server {
    /// Starts it and waits until it answers.
    pub fn start(spec: Spec) -> Result<Self> {
        let mut s = Self {
            spec,
            process: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            printed: Vec::new(),
        };
        s.restart()?;
        Ok(s)
    }

    /// Starts the server again over the same data folder (on a new port), after a kill.
    pub fn restart(&mut self) -> Result<()> {
        self.kill9();
        let spec = &self.spec;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        let mut cmd = Command::new(&spec.bin);
        cmd.arg("--data-dir")
            .arg(&spec.data)
            .args(&spec.global)
            .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
            .arg(
                spec.dist
                    .clone()
                    .unwrap_or_else(|| spec.data.join("no-dist")),
            )
            .args(&spec.serve)
            .env("RUST_LOG", "warn")
            .stderr(log);
        match harness::start(cmd, None, START_TIMEOUT) {
            Ok(p) => {
                self.addr = p.addr;
                self.printed = p.printed.clone();
                self.process = Some(p);
                Ok(())
            }
            Err(e) => bail!("{e}; log tail:\n{}", self.log_tail(20)),
        }
    }

    /// SIGKILL, as a crash would: nothing is flushed or closed.
    pub fn kill9(&mut self) {
        // Dropping a harness server kills and reaps it.
        self.process = None;
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(harness::Server::id)
    }

    /// True while the process runs (a panic that aborts, or a crash, ends it).
    pub fn alive(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(harness::Server::is_running)
    }

    /// The data folder.
    pub fn data(&self) -> &Path {
        &self.spec.data
    }

    /// Resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid()?)
    }

    /// Lines of the log that report a panic.
    pub fn panics(&self) -> Vec<String> {
        std::fs::read_to_string(&self.spec.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("panicked"))
            .map(str::to_string)
            .collect()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(&self.spec.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(n).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Runs a CLI command over this server's data folder (see [`cli`]).
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let mut all: Vec<&str> = self.spec.global.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        cli(&self.spec.bin, &self.spec.data, &all, stdin)
    }

    /// Adds an account and returns its id.
    pub fn add_partner(&self, name: &str, two_factor: bool) -> Result<i64> {
        let mut args = vec!["partner", "add", "--name", name];
        if two_factor {
            args.push("--two-factor");
        }
        let out = self.cli(&args, None)?;
        out.lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .with_context(|| format!("`partner add` printed {out:?}, not an id"))
    }

    /// Adds an admin user with a password (or, with `None`, a set-password link by email).
    pub fn add_user(&self, partner: i64, email: &str, password: Option<&str>) -> Result<()> {
        let p = partner.to_string();
        let mut args = vec!["user", "add", "--partner", &p, "--email", email, "--admin"];
        if password.is_some() {
            args.push("--password-stdin");
        }
        self.cli(&args, password).map(|_| ())
    }

    /// The newest link of `kind` (`auth-info` or `restore-password`) mailed to `email` that is
    /// not in `seen`, if any.
    pub fn mailed_link(&self, email: &str, kind: &str, seen: &[String]) -> Option<String> {
        let dir = self.spec.data.join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let t = e.metadata().ok()?.modified().ok()?;
                Some((t, e.path()))
            })
            .collect();
        files.sort();
        let marker = format!("/actions/{kind}/");
        for (_, path) in files.into_iter().rev() {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let to_them = text
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("to:") && l.contains(email));
            if !to_them {
                continue;
            }
            let key = text.lines().find_map(|l| {
                let at = l.find(&marker)?;
                Some(l[at + marker.len()..].trim().to_string())
            });
            if let Some(key) = key
                && !seen.contains(&key)
            {
                return Some(key);
            }
        }
        None
    }
}

/// Runs a kmc-server CLI command over `data`, optionally feeding `stdin` (a password, which
/// therefore never appears in arguments or messages), and returns its stdout.
pub fn cli(bin: &Path, data: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run kmc-server {}", args.join(" ")))?;
    // Dropping stdin (taken here) closes it, so the CLI sees the end of the password.
    if let (Some(mut input), Some(s)) = (child.stdin.take(), stdin) {
        input.write_all(s.as_bytes())?;
        input.write_all(b"\n")?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        // The password went in through stdin and is not in args, so this message holds no secret.
        bail!(
            "kmc-server {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The flags this server build's `serve --help` lists, so an attack can tell a missing defence
/// from a failing one.
#[derive(Clone, Default)]
pub struct Flags(BTreeSet<String>);

impl Flags {
    /// Reads `kmc-server serve --help`.
    pub fn detect(bin: &Path) -> Self {
        let out = Command::new(bin).args(["serve", "--help"]).output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        Self(
            text.split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(str::to_string)
                .collect(),
        )
    }

    /// True when the server accepts `flag` (e.g. `--max-hash-queue`).
    pub fn has(&self, flag: &str) -> bool {
        self.0.contains(flag)
    }

    /// `present` or `absent`, for the report.
    pub fn presence(&self, flag: &str) -> &'static str {
        if self.has(flag) { "present" } else { "absent" }
    }
}

/// `VmRSS` of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The 1-minute load average: other work on the machine skews every timing.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// A random password that passes the policy.
pub fn random_password() -> String {
    use rand::Rng;
    let n: u128 = rand::thread_rng().r#gen();
    format!("Atk-{n:032x}")
}
