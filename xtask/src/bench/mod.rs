//! `cargo xtask bench`: the figures for the notes, measured on this machine in one run.
//!
//! 1. sizes: the first load of `/login`, file by file, raw, gzip and brotli, against the
//!    budget ([`crate::size_budget`], which `cargo xtask test` enforces).
//! 2. [`pageload`]: navigation start → usable login form and → the app's take-over in headless
//!    Chromium, median of cold loads, beside a plain HTML form served by the same server.
//!    [`lighthouse`]: Lighthouse 12 (mobile defaults) on `/login` and the enrollment page.
//! 3. [`login`]: `user.loginByLoginId` throughput and latency at 16 and 200 concurrent clients,
//!    next to the argon2id hash rate of this machine (the ceiling a correct server can reach).
//!
//! 4. [`stores`]: sign-ins per second on one replica over SQLite, one over PostgreSQL and two
//!    over PostgreSQL, each next to the argon2id ceiling, and the database round trips of one
//!    sign-in.
//!
//! Options: `--only sizes|page|lighthouse|login|stores` (repeatable), `--loads N` (default 30),
//! `--seconds S` per concurrency level (default 30), `--no-build` (measure the `dist/` and
//! release server already built). `KMC_SERVER_BIN` names another server binary.
//! The report goes to stdout and to `<target>/bench-report.md`.

mod cpu;
mod http;
mod lighthouse;
mod loadgen;
mod login;
mod pageload;
mod stores;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::setup::{self, Browser};
use crate::steps;

/// Parsed command-line options.
struct Options {
    only: Vec<String>,
    loads: usize,
    seconds: u64,
    no_build: bool,
}

fn parse(rest: &[String]) -> Result<Options, String> {
    let mut o = Options {
        only: Vec::new(),
        loads: 30,
        seconds: 30,
        no_build: false,
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--only" => o.only.push(value()?),
            "--loads" => o.loads = value()?.parse().map_err(|_| "--loads takes a number")?,
            "--seconds" => o.seconds = value()?.parse().map_err(|_| "--seconds takes a number")?,
            "--no-build" => o.no_build = true,
            other => return Err(format!("unknown bench option `{other}`")),
        }
    }
    Ok(o)
}

/// Runs the selected sections, prints the report and writes it beside the build output.
pub fn run(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    let o = parse(rest)?;
    let wants = |s: &str| o.only.is_empty() || o.only.iter().any(|x| x == s);
    let tools = if o.no_build {
        setup::Tools::find_browser()
    } else {
        let tools = setup::setup(ctx, Browser::Needed)?;
        steps::build_release(ctx)?;
        tools
    };
    let server = std::env::var_os("KMC_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.target_dir().join("release/kmc-server"));

    let mut report = String::from("# KMC Login — bench report\n\n");
    report.push_str(&machine_line());
    let mut failed = Vec::new();
    let mut section = |name: &str, r: Result<String, String>| match r {
        Ok(md) => {
            println!("\n{md}");
            report.push_str(&md);
            report.push('\n');
        }
        Err(e) => {
            let md = format!("## {name}\n\nFAILED: {e}\n");
            println!("\n{md}");
            report.push_str(&md);
            failed.push(name.to_string());
        }
    };
    if wants("sizes") {
        section("Bundle size", crate::size_budget::markdown(&ctx.dist()));
    }
    if wants("page") {
        let chromium = tools
            .chromium
            .clone()
            .unwrap_or_else(|| "/usr/bin/chromium".into());
        let driver = tools
            .chromedriver
            .clone()
            .unwrap_or_else(|| "/usr/bin/chromedriver".into());
        section(
            "Time to a usable login form",
            pageload::run(ctx, &server, &chromium, &driver, o.loads),
        );
    }
    if wants("lighthouse") {
        let chromium = tools
            .chromium
            .clone()
            .unwrap_or_else(|| "/usr/bin/chromium".into());
        section("Lighthouse", lighthouse::run(ctx, &server, &chromium));
    }
    if wants("login") {
        section(
            "Login throughput",
            login::run(ctx, &server, Duration::from_secs(o.seconds)),
        );
    }
    if wants("stores") {
        section(
            "Login throughput by store",
            stores::run(ctx, &server, Duration::from_secs(o.seconds)),
        );
    }

    let path = ctx.target_dir().join("bench-report.md");
    std::fs::create_dir_all(ctx.target_dir()).map_err(|e| e.to_string())?;
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("report written to {}", path.display());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("sections failed: {}", failed.join(", ")))
    }
}

/// Where the figures were taken: they only compare with figures from the same kind of machine.
fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!(
        "Machine: {cores} cores, {cpu}. Load average at start: {}.\n\n",
        loadavg()
    )
}

/// The 1-minute load average: other work on the machine skews every timing.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

pub use crate::scratch::TempDir;

/// A child process killed when the bench is done with it (or fails half-way).
pub struct Proc(Child);

impl Proc {
    /// The process id (for reading its threads' CPU time under `/proc`).
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kmc-server serve` on a free loopback port over `data_dir`, serving `dist/`, and waits
/// for its `kmc-server listening on http://…` line. Its logs go to `data_dir/server.log` so they
/// neither flood the report nor block on a full pipe.
pub fn start_server(
    ctx: &Ctx,
    server: &Path,
    data_dir: &Path,
) -> Result<(Proc, SocketAddr), String> {
    start_server_with(ctx, server, data_dir, &Launch::default()).map(|(p, a, _)| (p, a))
}

/// How [`start_server_with`] starts a server beyond [`start_server`]'s defaults.
pub struct Launch<'a> {
    /// The folder to serve instead of `dist/`.
    pub dist: Option<&'a Path>,
    /// Global arguments before `serve` (e.g. `--database-url`).
    pub global: &'a [String],
    /// Arguments after `serve` (e.g. `--demo`).
    pub serve: &'a [&'a str],
    /// The log file's name in the data dir, so several servers can share one.
    pub log_name: &'a str,
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            dist: None,
            global: &[],
            serve: &[],
            log_name: "server.log",
        }
    }
}

/// [`start_server`] as `launch` says; also returns the lines the server printed before its
/// listening line (e.g. the demo link).
pub fn start_server_with(
    ctx: &Ctx,
    server: &Path,
    data_dir: &Path,
    launch: &Launch,
) -> Result<(Proc, SocketAddr, Vec<String>), String> {
    let log_path = data_dir.join(launch.log_name);
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(server)
        .arg("--data-dir")
        .arg(data_dir.join("data"))
        .args(launch.global)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(launch.serve)
        .arg("--dist")
        .arg(launch.dist.map_or_else(|| ctx.dist(), Path::to_path_buf))
        // The throughput levels hold up to 200 sign-ins in flight on purpose, all from one
        // address: let them all wait for a hashing thread instead of being answered "busy", and
        // lift the per-client budget, which counts checks in flight (it is measured by
        // `cargo xtask attack`, not here).
        .args(["--max-hash-queue", "512", "--max-client-failures", "100000"])
        .current_dir(&ctx.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let proc = Proc(child);
    let (tx, rx) = mpsc::channel();
    // Keep draining stdout after the ready line so the server never blocks writing to it.
    std::thread::spawn(move || {
        let mut sent = false;
        let mut before = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sent {
                continue;
            }
            if let Some(url) = line.strip_prefix("kmc-server listening on http://") {
                let _ = tx.send((url.trim().to_string(), std::mem::take(&mut before)));
                sent = true;
            } else {
                before.push(line);
            }
        }
    });
    let (addr, before) = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        format!(
            "kmc-server did not print its listening line within 60 s; log tail:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    })?;
    let addr = addr
        .trim_end_matches('/')
        .parse()
        .map_err(|_| format!("cannot parse the server address {addr:?}"))?;
    Ok((proc, addr, before))
}

/// Starts a process whose output is not needed.
pub fn spawn_quiet(cmd: &mut Command) -> Result<Proc, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Proc)
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))
}

/// The p-th percentile (0..=100) of sorted values, nearest-rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_pick_existing_samples() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 5.0);
        assert_eq!(percentile(&v, 99.0), 10.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
