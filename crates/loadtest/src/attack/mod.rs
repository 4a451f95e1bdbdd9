//! `attack`: kmc-server's security promises, measured by attacking a release build on
//! loopback. Each attack starts its own server over a fresh data folder, so none disturbs
//! another, and each is bounded in requests and in time.
//!
//! 1. [`hostile`]: a million malformed, oversized and mutated requests across every action.
//! 2. [`guessing`]: 1,000 concurrent wrong passwords, then 1,000 concurrent wrong codes, at one
//!    login.
//! 3. [`spray`]: one client, one wrong password at each of 1,000 logins.
//! 4. [`slow`]: 1,000 connections sending their headers a byte a second beside a normal sign-in.
//! 5. [`flood`]: 5,000 concurrent sign-ins while `user.get` is polled.
//! 6. [`crash`]: `kill -9` during writes, 20 times; every answered write must survive.
//!
//! The table goes to stdout and to `<report dir>/attack-report.md`.

mod codes;
mod crash;
mod flood;
mod guessing;
mod hostile;
mod slow;
mod spray;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;

use crate::server::Flags;

/// The attacks, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Name {
    Hostile,
    Guessing,
    Spray,
    Slow,
    Flood,
    Crash,
}

/// The scale of each attack.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Run only this attack (repeatable); all by default.
    #[arg(long, value_enum)]
    pub only: Vec<Name>,
    /// Hostile requests to send.
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Keep-alive connections the hostile requests share.
    #[arg(long, default_value_t = 128)]
    pub connections: usize,
    /// Hostile requests allowed to reach an argon2id hash.
    #[arg(long, default_value_t = 1_000)]
    pub hash_budget: u64,
    /// Concurrent guesses per wave.
    #[arg(long, default_value_t = 1_000)]
    pub guesses: usize,
    /// Logins the spray tries.
    #[arg(long, default_value_t = 1_000)]
    pub logins: usize,
    /// Slow connections.
    #[arg(long, default_value_t = 1_000)]
    pub slow: usize,
    /// How long the slow connections last.
    #[arg(long, default_value_t = 40)]
    pub slow_seconds: u64,
    /// Concurrent sign-ins in the flood.
    #[arg(long, default_value_t = 5_000)]
    pub flood: usize,
    /// How long a flooded sign-in may wait for its answer.
    #[arg(long, default_value_t = 60)]
    pub flood_seconds: u64,
    /// Kills during writes.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// The server binary to attack.
    #[arg(long, env = "KMC_SERVER_BIN")]
    pub server_bin: PathBuf,
    /// Where `attack-report.md` is written.
    #[arg(long)]
    pub report_dir: PathBuf,
}

impl Options {
    fn wants(&self, name: Name) -> bool {
        self.only.is_empty() || self.only.contains(&name)
    }
}

/// One line of the report table.
pub struct Row {
    /// The promise under attack.
    pub promise: String,
    /// How it is attacked.
    pub how: String,
    /// What was measured.
    pub figure: String,
    /// What the promise requires.
    pub target: String,
    /// Whether the figure meets the target.
    pub pass: bool,
}

/// What every attack gets.
pub struct Env {
    /// The release server binary.
    pub bin: PathBuf,
    /// The flags that binary accepts.
    pub flags: Flags,
    /// The scale options.
    pub opts: Options,
}

/// What an attack returns: its rows and a paragraph for the details.
type Findings = Result<(Vec<Row>, String)>;
type Attack = for<'a> fn(&'a Env) -> futures::future::BoxFuture<'a, Findings>;

/// Runs the selected attacks, prints the table and writes the report.
pub fn run(opts: Options) -> Result<()> {
    let bin = opts.server_bin.clone();
    if !bin.is_file() {
        bail!("no server binary at {}", bin.display());
    }
    // Thousands of sockets on our side, and as many on the server's (it inherits the limit).
    let sockets = (opts.flood.max(opts.slow) as u64) * 2 + 1024;
    let nofile = raise_open_files(sockets);
    if nofile < sockets {
        println!(
            "warning: only {nofile} open files allowed (want {sockets}); raise it with \
             `ulimit -n {sockets}` (or `prlimit`) if connects fail with EMFILE"
        );
    }
    let env = Env {
        flags: Flags::detect(&bin),
        bin,
        opts,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;

    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut failed = Vec::new();
    let attacks: [(Name, Attack); 6] = [
        (Name::Hostile, |e| Box::pin(hostile::run(e))),
        (Name::Guessing, |e| Box::pin(guessing::run(e))),
        (Name::Spray, |e| Box::pin(spray::run(e))),
        (Name::Slow, |e| Box::pin(slow::run(e))),
        (Name::Flood, |e| Box::pin(flood::run(e))),
        (Name::Crash, |e| Box::pin(crash::run(e))),
    ];
    for (name, attack) in attacks {
        if !env.opts.wants(name) {
            continue;
        }
        let name = name_of(name);
        println!("\n== attack: {name} ==");
        let start = Instant::now();
        match runtime.block_on(attack(&env)) {
            Ok((r, note)) => {
                for row in &r {
                    println!(
                        "{}: {} (target: {}) {}",
                        row.promise,
                        row.figure,
                        row.target,
                        verdict(row.pass)
                    );
                    if !row.pass {
                        failed.push(name.clone());
                    }
                }
                rows.extend(r);
                notes.push(format!(
                    "### {name} ({:.0} s)\n\n{note}\n",
                    start.elapsed().as_secs_f64()
                ));
            }
            Err(e) => {
                println!("{name}: the attack could not run: {e:#}");
                rows.push(could_not_run(&name, &e));
                failed.push(name);
            }
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));

    let report = report(&machine_line(&env), &rows, &notes);
    println!("\n{}", table(&rows));
    let path = crate::write_report(&env.opts.report_dir, "attack-report.md", &report)?;
    println!("report written to {}", path.display());
    failed.dedup();
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("attacks that broke a promise: {}", failed.join(", "))
    }
}

/// The attack's name as `--only` takes it.
fn name_of(name: Name) -> String {
    name.to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// The row of an attack that could not run.
fn could_not_run(name: &str, e: &anyhow::Error) -> Row {
    Row {
        promise: name.to_string(),
        how: "the attack could not run".into(),
        figure: format!("{e:#}").replace('\n', " ").replace('|', "/"),
        target: "-".into(),
        pass: false,
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass { "pass" } else { "FAIL" }
}

/// The markdown table of all rows.
fn table(rows: &[Row]) -> String {
    let mut md = String::from(
        "| promise | how it is attacked | figure | target | result |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.promise,
            r.how,
            r.figure,
            r.target,
            verdict(r.pass)
        ));
    }
    md
}

/// The whole report: title, machine line, table, then each attack's details.
fn report(machine: &str, rows: &[Row], notes: &[String]) -> String {
    let mut report = String::from("# kmc-server under attack\n\n");
    report.push_str(machine);
    report.push_str(&table(rows));
    report.push_str("\n## Details\n\n");
    for n in notes {
        report.push_str(n);
        report.push('\n');
    }
    report
}

/// Where and against what the figures were taken.
fn machine_line(env: &Env) -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let defences = [
        "--max-client-failures",
        "--client-window-minutes",
        "--header-read-timeout-secs",
        "--request-timeout-secs",
        "--max-connections",
        "--max-hash-queue",
    ];
    let listed: Vec<String> = defences
        .iter()
        .map(|f| format!("`{f}` {}", env.flags.presence(f)))
        .collect();
    format!(
        "Machine: {cores} cores, load average {} at the start. Server: `{}`, its \
         defaults unless a row says otherwise. Defence flags in this build: {}.\n\n",
        crate::server::loadavg(),
        env.bin.display(),
        listed.join(", ")
    )
}

/// Samples a process's RSS every `every` until `stop` is set; returns (baseline, peak) in KiB.
pub fn rss_sampler(
    pid: Option<u32>,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(u64, u64)> {
    tokio::spawn(async move {
        let Some(pid) = pid else {
            return (0, 0);
        };
        let first = crate::server::rss_kib(pid).unwrap_or(0);
        let mut peak = first;
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(every).await;
            if let Some(r) = crate::server::rss_kib(pid) {
                peak = peak.max(r);
            }
        }
        (first, peak)
    })
}

/// KiB as MiB text.
pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// Asks `want` open files for this process (and so for the servers it starts). Uses
/// util-linux's `prlimit` on our own pid, since the workspace forbids the `unsafe` a direct
/// `setrlimit` needs. Returns the soft limit in force afterwards.
fn raise_open_files(want: u64) -> u64 {
    let Some((soft, hard)) = open_files_limit() else {
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
    open_files_limit().map_or(soft, |(s, _)| s)
}

/// The soft and hard open-file limits of this process.
fn open_files_limit() -> Option<(u64, u64)> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        let base = ["--server-bin", "/bin/kmc", "--report-dir", "/tmp"];
        let all: Vec<&str> = base.iter().chain(args).copied().collect();
        crate::parse_options(&all)
    }

    #[test]
    fn options_parse_with_defaults_and_unknown_attacks_are_refused() {
        let o = parse(&["--only", "spray", "--logins", "50"]).unwrap();
        assert_eq!(o.only, [Name::Spray]);
        assert_eq!((o.logins, o.requests, o.rounds), (50, 1_000_000, 20));
        assert!(o.wants(Name::Spray) && !o.wants(Name::Crash));
        assert!(parse(&[]).unwrap().wants(Name::Crash));
        assert!(parse(&["--only", "nope"]).is_err());
        assert!(parse(&["--requests", "x"]).is_err());
    }

    #[test]
    fn the_report_has_the_title_machine_line_table_and_details() {
        let rows = [Row {
            promise: "P".into(),
            how: "H".into(),
            figure: "F".into(),
            target: "T".into(),
            pass: false,
        }];
        let r = report("Machine: m.\n\n", &rows, &["### spray (1 s)\n\nN\n".into()]);
        assert_eq!(
            r,
            "# kmc-server under attack\n\nMachine: m.\n\n\
             | promise | how it is attacked | figure | target | result |\n|---|---|---|---|---|\n\
             | P | H | F | T | FAIL |\n\n## Details\n\n### spray (1 s)\n\nN\n\n"
        );
    }

    #[test]
    fn an_attack_that_cannot_run_is_a_failed_row_that_keeps_the_table_intact() {
        let row = could_not_run("crash", &anyhow::anyhow!("a|b\nc"));
        assert!(!row.pass);
        assert_eq!(row.figure, "a/b c");
    }

    #[test]
    fn attack_names_are_the_ones_only_takes() {
        assert_eq!(name_of(Name::Guessing), "guessing");
    }
}
