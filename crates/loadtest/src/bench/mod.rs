//! `bench`: the figures for the notes, measured on this machine in one run.
//!
//! 1. Bundle sizes: measured by `cargo xtask bench` (beside the build they measure) before it
//!    hands over, and placed first in the report through `--preface`.
//! 2. [`pageload`]: navigation start → usable login form and → the app's take-over in headless
//!    Chromium, median of cold loads, beside a plain HTML form served by the same server.
//!    [`lighthouse`]: Lighthouse (mobile defaults) on `/login` and the enrollment page.
//! 3. [`login`]: `user.loginByLoginId` throughput and latency at 16 and 200 concurrent clients,
//!    next to the argon2id hash rate of this machine (the ceiling a correct server can reach).
//! 4. [`stores`]: sign-ins per second on one replica over SQLite, one over PostgreSQL and two
//!    over PostgreSQL, each next to the argon2id ceiling, and the database round trips of one
//!    sign-in.
//!
//! Apart, only when named (`--only soak`): [`soak`], many sign-ins and logouts with each
//! table's row count and the database file's size sampled over time.
//!
//! The report goes to stdout and to `<report dir>/bench-report.md`.

mod cpu;
mod lighthouse;
mod loadgen;
mod login;
mod pageload;
mod soak;
mod stores;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;

use crate::server::{Server, Spec, loadavg};

/// The report's sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Section {
    /// Bundle sizes (measured by xtask, given through `--preface`).
    Sizes,
    /// Time to a usable login form.
    Page,
    /// Lighthouse scores.
    Lighthouse,
    /// Sign-in throughput against the argon2id ceiling.
    Login,
    /// Sign-in throughput by store.
    Stores,
    /// Row counts and file size over many sign-ins and logouts (only when named).
    Soak,
}

/// What to measure, and with what.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Run only this section (repeatable); all by default.
    #[arg(long, value_enum)]
    pub only: Vec<Section>,
    /// Cold page loads of each page.
    #[arg(long, default_value_t = 30)]
    pub loads: usize,
    /// Seconds per concurrency level.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// The release server binary.
    #[arg(long, env = "KMC_SERVER_BIN")]
    pub server_bin: PathBuf,
    /// Where `bench-report.md` is written.
    #[arg(long)]
    pub report_dir: PathBuf,
    /// The built app (`dist/`).
    #[arg(long)]
    pub dist: PathBuf,
    /// Markdown measured before the hand-over, placed first in the report.
    #[arg(long)]
    pub preface: Option<PathBuf>,
    /// The Lighthouse command (the lighthouse section needs it).
    #[arg(long)]
    pub lighthouse: Option<PathBuf>,
    /// Chromium, for Lighthouse.
    #[arg(long, env = "CHROMIUM", default_value = "/usr/bin/chromium")]
    pub chromium: PathBuf,
    /// Empty PostgreSQL databases for the stores section: one for one replica, then one for two.
    #[arg(long = "postgres-database")]
    pub postgres: Vec<String>,
    /// Sign-ins (each followed by its logout) of the soak.
    #[arg(long, default_value_t = 100_000)]
    pub soak_signins: u64,
    /// Seconds between two samples of the soak's tables.
    #[arg(long, default_value_t = 15)]
    pub soak_sample_secs: u64,
    /// The server's `--prune-interval-secs` during the soak.
    #[arg(long, default_value_t = 5)]
    pub soak_prune_secs: u64,
}

impl Options {
    /// Whether to run `s`: every section but the soak by default, the named ones with `--only`.
    fn wants(&self, s: Section) -> bool {
        if self.only.is_empty() {
            s != Section::Soak
        } else {
            self.only.contains(&s)
        }
    }
}

/// Runs the selected sections, prints the report and writes it beside the build output.
pub fn run(o: Options) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let mut report = String::from("# KMC Login — bench report\n\n");
    report.push_str(&machine_line());
    if let Some(p) = &o.preface {
        let md =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        report.push_str(&md);
        report.push('\n');
    }
    let mut failed = Vec::new();
    let mut section = |name: &str, r: Result<String>| match r {
        Ok(md) => {
            println!("\n{md}");
            report.push_str(&md);
            report.push('\n');
        }
        Err(e) => {
            let md = format!("## {name}\n\nFAILED: {e:#}\n");
            println!("\n{md}");
            report.push_str(&md);
            failed.push(name.to_string());
        }
    };
    if o.wants(Section::Page) {
        section(
            "Time to a usable login form",
            runtime.block_on(pageload::run(&o)),
        );
    }
    if o.wants(Section::Lighthouse) {
        section("Lighthouse", lighthouse::run(&o));
    }
    if o.wants(Section::Login) {
        section("Login throughput", login::run(&o));
    }
    if o.wants(Section::Stores) {
        section("Login throughput by store", stores::run(&o));
    }
    if o.wants(Section::Soak) {
        section("Soak", soak::run(&o));
    }

    let path = crate::write_report(&o.report_dir, "bench-report.md", &report)?;
    println!("report written to {}", path.display());
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("sections failed: {}", failed.join(", "))
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

/// A server for the bench over `dir/data`, serving `dist` (the built app unless another folder
/// is named), logging to `dir/<log_name>`.
///
/// The throughput levels hold up to 200 sign-ins in flight on purpose, all from one address: they
/// all wait for a hashing thread instead of being answered "busy", and the per-client budget,
/// which counts checks in flight, is lifted (it is measured by the attack tool, not here).
fn start_server(
    o: &Options,
    dir: &Path,
    log_name: &str,
    global: &[String],
    serve: &[&str],
    dist: Option<&Path>,
) -> Result<Server> {
    let mut args: Vec<String> = serve.iter().map(|s| s.to_string()).collect();
    args.extend(["--max-hash-queue", "512", "--max-client-failures", "100000"].map(String::from));
    Server::start(Spec {
        bin: o.server_bin.clone(),
        data: dir.join("data"),
        log: dir.join(log_name),
        global: global.to_vec(),
        serve: args,
        dist: Some(dist.unwrap_or(&o.dist).to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        opts: Options,
    }

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        let base = [
            "bench",
            "--server-bin",
            "/s",
            "--report-dir",
            "/r",
            "--dist",
            "/d",
        ];
        Cli::try_parse_from(base.iter().chain(args)).map(|c| c.opts)
    }

    #[test]
    fn options_parse_with_the_old_defaults_and_sections_are_checked() {
        let o = parse(&["--only", "login", "--seconds", "6"]).unwrap();
        assert_eq!(
            (o.only.as_slice(), o.seconds, o.loads),
            ([Section::Login].as_slice(), 6, 30)
        );
        assert!(o.wants(Section::Login) && !o.wants(Section::Page));
        assert!(parse(&[]).unwrap().wants(Section::Stores));
        assert!(!parse(&[]).unwrap().wants(Section::Soak));
        assert!(parse(&["--only", "soak"]).unwrap().wants(Section::Soak));
        assert!(parse(&["--only", "nope"]).is_err());
        assert!(parse(&["--loads", "many"]).is_err());
    }
}
