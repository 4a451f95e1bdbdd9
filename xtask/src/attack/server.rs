//! The server under attack: starting a release `kmc-server` on a free loopback port over a
//! temporary data folder, setting up accounts through its CLI, enrolling an authenticator,
//! computing TOTP codes, watching its memory and its log for panics, and killing it.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;

use super::http::Conn;

pub use crate::scratch::{TempDir, cli};

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
}

/// A running `kmc-server serve`; killed (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stderr (the log), appended to across restarts.
    pub log: PathBuf,
    /// The data folder.
    pub data: PathBuf,
    bin: PathBuf,
    args: Vec<String>,
}

impl Server {
    /// Starts `bin serve` over `dir/data` with `args` after `serve`, and waits for its
    /// `kmc-server listening on http://…` line.
    pub fn start(bin: &Path, dir: &Path, args: &[String]) -> Result<Self, String> {
        let mut s = Self {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: dir.join("server.log"),
            data: dir.join("data"),
            bin: bin.to_path_buf(),
            args: args.to_vec(),
        };
        s.restart()?;
        Ok(s)
    }

    /// Starts the server again over the same data folder (on a new port), after a kill.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill9();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("cannot open {}: {e}", self.log.display()))?;
        let mut child = Command::new(&self.bin)
            .arg("--data-dir")
            .arg(&self.data)
            .args(["serve", "--listen", "127.0.0.1:0", "--dist"])
            // No app: the attacks are on the API.
            .arg(self.data.join("no-dist"))
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        self.child = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(url) = line.strip_prefix("kmc-server listening on http://") {
                    let _ = tx.send(url.trim().to_string());
                    sent = true;
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| {
            format!(
                "kmc-server did not print its listening line within 60 s; log tail:\n{}",
                self.log_tail(20)
            )
        })?;
        self.addr = url
            .trim_end_matches('/')
            .parse()
            .map_err(|_| format!("cannot parse the server address {url:?}"))?;
        Ok(())
    }

    /// SIGKILL, as a crash would: nothing is flushed or closed.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process runs (a panic that aborts, or a crash, ends it).
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid()?)
    }

    /// Lines of the log that report a panic.
    pub fn panics(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("panicked"))
            .map(str::to_string)
            .collect()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(n).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Runs a CLI command over this server's data folder (see [`cli`]).
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        cli(&self.bin, &self.data, args, stdin)
    }

    /// Adds an account and returns its id.
    pub fn add_partner(&self, name: &str, two_factor: bool) -> Result<i64, String> {
        let mut args = vec!["partner", "add", "--name", name];
        if two_factor {
            args.push("--two-factor");
        }
        let out = self.cli(&args, None)?;
        out.lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("`partner add` printed {out:?}, not an id"))
    }

    /// Adds an admin user with a password (or, with `None`, a set-password link by email).
    pub fn add_user(
        &self,
        partner: i64,
        email: &str,
        password: Option<&str>,
    ) -> Result<(), String> {
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
        let dir = self.data.join("outbox");
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

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
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

/// A random password that passes the policy.
pub fn random_password() -> String {
    use rand::Rng;
    let n: u128 = rand::thread_rng().r#gen();
    format!("Atk-{n:032x}")
}

/// Enrolls `email`'s authenticator through the QR link it was mailed and returns the secret.
pub async fn enroll(server: &Server, email: &str) -> Result<Vec<u8>, String> {
    let key = server
        .mailed_link(email, "auth-info", &[])
        .ok_or_else(|| format!("no QR link was mailed to {email}"))?;
    let mut conn = Conn::new(server.addr, None);
    let reply = conn
        .call(
            "user",
            "generateQrCode",
            &json!({ "hashKey": key }),
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| format!("generateQrCode: {e}"))?;
    let uri: String = serde_json::from_slice(&reply.body)
        .map_err(|_| format!("generateQrCode answered {}", reply.text(300)))?;
    kaltura_api::OtpAuthUri::parse(&uri)
        .map_err(|e| format!("cannot read {uri:?}: {e:?}"))?
        .secret_bytes()
        .map_err(|e| format!("bad secret in {uri:?}: {e:?}"))
}

/// The 30-second TOTP step of a unix time.
pub fn step_at(unix: u64) -> u64 {
    unix / 30
}

/// The current TOTP step.
pub fn current_step() -> u64 {
    step_at(unix_now())
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The 6-digit RFC 6238 code (HMAC-SHA1) of `secret` at `step`.
pub fn totp(secret: &[u8], step: u64) -> String {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return "000000".into();
    };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[off]) & 0x7f) << 24
        | u32::from(h[off + 1]) << 16
        | u32::from(h[off + 2]) << 8
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// Asks `fd` open files for this process (and so for the servers it starts). Uses util-linux's
/// `prlimit` on our own pid, since the workspace forbids the `unsafe` a direct `setrlimit` needs.
/// Returns the soft limit in force afterwards.
pub fn raise_open_files(want: u64) -> u64 {
    let read = || -> Option<(u64, u64)> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        let mut it = line.split_whitespace().skip(3);
        let parse = |s: Option<&str>| -> Option<u64> {
            match s? {
                "unlimited" => Some(u64::MAX),
                n => n.parse().ok(),
            }
        };
        Some((parse(it.next())?, parse(it.next())?))
    };
    let Some((soft, hard)) = read() else {
        return 0;
    };
    if soft >= want {
        return soft;
    }
    let target = want.min(hard);
    let _ = Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={target}:{hard}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    read().map_or(soft, |(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_test_vectors() {
        // RFC 6238 appendix B, SHA-1, last 6 digits.
        let secret = b"12345678901234567890";
        assert_eq!(totp(secret, step_at(59)), "287082");
        assert_eq!(totp(secret, step_at(1_111_111_109)), "081804");
        assert_eq!(totp(secret, step_at(2_000_000_000)), "279037");
    }
}
