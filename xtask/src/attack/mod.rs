//! `cargo xtask attack`: kmc-server's security promises, measured by attacking a release build
//! on loopback. Each attack starts its own server over a fresh data folder, so none disturbs
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
//! Options: `--only NAME` (repeatable: hostile, guessing, spray, slow, flood, crash),
//! `--requests N`, `--connections N`, `--hash-budget N` (hostile), `--guesses N`,
//! `--logins N` (spray), `--slow N`, `--slow-seconds S`, `--flood N`, `--flood-seconds S`,
//! `--rounds N` (crash), `--no-build`. `KMC_SERVER_BIN` names another server binary.
//! The table goes to stdout and to `<target>/attack-report.md`.

mod crash;
mod flood;
mod guessing;
mod hostile;
mod http;
mod server;
mod slow;
mod spray;

use std::path::PathBuf;
use std::time::Instant;

use crate::ctx::{self, Ctx};
use server::Flags;

/// Parsed command-line options: the scale of each attack.
#[derive(Clone)]
pub struct Options {
    pub only: Vec<String>,
    pub requests: u64,
    pub connections: usize,
    pub hash_budget: u64,
    pub guesses: usize,
    pub logins: usize,
    pub slow: usize,
    pub slow_seconds: u64,
    pub flood: usize,
    pub flood_seconds: u64,
    pub rounds: usize,
    pub no_build: bool,
}

fn parse(rest: &[String]) -> Result<Options, String> {
    let mut o = Options {
        only: Vec::new(),
        requests: 1_000_000,
        connections: 128,
        hash_budget: 1_000,
        guesses: 1_000,
        logins: 1_000,
        slow: 1_000,
        slow_seconds: 40,
        flood: 5_000,
        flood_seconds: 60,
        rounds: 20,
        no_build: false,
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        macro_rules! num {
            ($field:ident) => {
                o.$field = value()?
                    .parse()
                    .map_err(|_| format!("{a} takes a number"))?
            };
        }
        match a.as_str() {
            "--only" => o.only.push(value()?),
            "--requests" => num!(requests),
            "--connections" => num!(connections),
            "--hash-budget" => num!(hash_budget),
            "--guesses" => num!(guesses),
            "--logins" => num!(logins),
            "--slow" => num!(slow),
            "--slow-seconds" => num!(slow_seconds),
            "--flood" => num!(flood),
            "--flood-seconds" => num!(flood_seconds),
            "--rounds" => num!(rounds),
            "--no-build" => o.no_build = true,
            other => return Err(format!("unknown attack option `{other}`")),
        }
    }
    const NAMES: [&str; 6] = ["hostile", "guessing", "spray", "slow", "flood", "crash"];
    if let Some(bad) = o.only.iter().find(|n| !NAMES.contains(&n.as_str())) {
        return Err(format!(
            "unknown attack `{bad}`: choose from {}",
            NAMES.join(", ")
        ));
    }
    Ok(o)
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

/// Runs the selected attacks, prints the table and writes the report.
pub fn run(ctx: &Ctx, rest: &[String]) -> Result<(), String> {
    let opts = parse(rest)?;
    let wants = |s: &str| opts.only.is_empty() || opts.only.iter().any(|x| x == s);
    if !opts.no_build {
        ctx::run_status(ctx.cargo().args(["build", "--release", "-p", "kmc-server"]))?;
    }
    let bin = std::env::var_os("KMC_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.target_dir().join("release/kmc-server"));
    if !bin.is_file() {
        return Err(format!("no server binary at {}", bin.display()));
    }
    // Thousands of sockets on our side, and as many on the server's (it inherits the limit).
    let sockets = (opts.flood.max(opts.slow) as u64) * 2 + 1024;
    let nofile = server::raise_open_files(sockets);
    if nofile < sockets {
        println!(
            "warning: only {nofile} open files allowed (want {sockets}); raise it with \
             `ulimit -n {sockets}` (or `prlimit`) if connects fail with EMFILE"
        );
    }
    let flags = Flags::detect(&bin);
    let env = Env {
        bin,
        flags,
        opts: opts.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;

    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut failed = Vec::new();
    type Attack = fn(
        &Env,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(Vec<Row>, String), String>> + '_>,
    >;
    let attacks: [(&str, Attack); 6] = [
        ("hostile", |e| Box::pin(hostile::run(e))),
        ("guessing", |e| Box::pin(guessing::run(e))),
        ("spray", |e| Box::pin(spray::run(e))),
        ("slow", |e| Box::pin(slow::run(e))),
        ("flood", |e| Box::pin(flood::run(e))),
        ("crash", |e| Box::pin(crash::run(e))),
    ];
    for (name, attack) in attacks {
        if !wants(name) {
            continue;
        }
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
                        failed.push(name.to_string());
                    }
                }
                rows.extend(r);
                notes.push(format!(
                    "### {name} ({:.0} s)\n\n{note}\n",
                    start.elapsed().as_secs_f64()
                ));
            }
            Err(e) => {
                println!("{name}: the attack could not run: {e}");
                rows.push(Row {
                    promise: name.to_string(),
                    how: "the attack could not run".into(),
                    figure: e.replace('\n', " ").replace('|', "/"),
                    target: "-".into(),
                    pass: false,
                });
                failed.push(name.to_string());
            }
        }
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));

    let mut report = String::from("# kmc-server under attack\n\n");
    report.push_str(&machine_line(&env));
    report.push_str(&table(&rows));
    report.push_str("\n## Details\n\n");
    for n in notes {
        report.push_str(&n);
        report.push('\n');
    }
    println!("\n{}", table(&rows));
    let path = ctx.target_dir().join("attack-report.md");
    std::fs::create_dir_all(ctx.target_dir()).map_err(|e| e.to_string())?;
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("report written to {}", path.display());
    failed.dedup();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "attacks that broke a promise: {}",
            failed.join(", ")
        ))
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

/// Where and against what the figures were taken.
fn machine_line(env: &Env) -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
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
        .map(|f| {
            format!(
                "`{f}` {}",
                if env.flags.has(f) {
                    "present"
                } else {
                    "absent"
                }
            )
        })
        .collect();
    format!(
        "Machine: {cores} cores, load average {load} at the start. Server: `{}`, its \
         defaults unless a row says otherwise. Defence flags in this build: {}.\n\n",
        env.bin.display(),
        listed.join(", ")
    )
}

/// The p-th percentile (0..=100) of sorted values, nearest-rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Samples a process's RSS every `every` until `stop` is set; returns (baseline, peak) in KiB.
pub fn rss_sampler(
    pid: Option<u32>,
    every: std::time::Duration,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<(u64, u64, Vec<u64>)> {
    tokio::spawn(async move {
        let Some(pid) = pid else {
            return (0, 0, Vec::new());
        };
        let first = server::rss_kib(pid).unwrap_or(0);
        let mut peak = first;
        let mut samples = vec![first];
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep(every).await;
            if let Some(r) = server::rss_kib(pid) {
                peak = peak.max(r);
                samples.push(r);
            }
        }
        (first, peak, samples)
    })
}

/// KiB as MiB text.
pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_unknown_attacks_are_refused() {
        let o = parse(&[
            "--only".into(),
            "spray".into(),
            "--logins".into(),
            "50".into(),
        ])
        .unwrap();
        assert_eq!(o.only, ["spray"]);
        assert_eq!(o.logins, 50);
        assert!(parse(&["--only".into(), "nope".into()]).is_err());
        assert!(parse(&["--requests".into(), "x".into()]).is_err());
    }
}
