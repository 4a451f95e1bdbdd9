//! The soak (`--only soak`, never part of the default bench): many sign-ins and logouts against
//! a release server on SQLite, with each table's row count and the database file's size sampled
//! as it runs, to show that the server's own pruning keeps both bounded.
//!
//! A sign-in normally costs one argon2id hash (about 60 a second on 2 cores), so 100,000 of them
//! would take half an hour of hashing that says nothing about the tables. The soak's logins are
//! created, and the server run, with `--insecure-test-hash-cost` (argon2id at 64 KiB and one
//! pass): the database work of each sign-in and logout is the real one. The server prunes every
//! `--soak-prune-secs` instead of every 5 minutes, so that a run of a few minutes passes through
//! many prunings.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use super::login::bench_logins;
use super::{Options, start_server};
use crate::client::Conn;
use crate::server::temp_dir;

/// A reply must come within this long.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Concurrent clients, each its own login signing in and out on one connection.
const CLIENTS: usize = 16;
/// Tables shown in the report (the others hold only the set-up's rows).
const SHOWN: [&str; 5] = [
    "sessions",
    "link_tokens",
    "request_limits",
    "logins",
    "password_history",
];

/// One sample: when, after how many sign-ins, the row counts and the file sizes.
struct Sample {
    secs: f64,
    cycles: u64,
    rows: Vec<(&'static str, i64)>,
    db_kib: u64,
    wal_kib: u64,
}

/// Runs the soak and returns its markdown.
pub fn run(o: &Options) -> Result<String> {
    let tmp = temp_dir("soak")?;
    let global = ["--insecure-test-hash-cost".to_string()];
    let prune = o.soak_prune_secs.to_string();
    let server = start_server(
        o,
        tmp.path(),
        "server.log",
        &global,
        &["--prune-interval-secs", &prune],
        None,
    )?;
    let data = tmp.path().join("data");
    let bodies = bench_logins(&o.server_bin, &data, &global, CLIENTS)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("soak runtime")?;
    let samples = runtime.block_on(soak(
        server.addr,
        &data,
        bodies,
        o.soak_signins,
        Duration::from_secs(o.soak_sample_secs),
        Duration::from_secs(o.soak_prune_secs),
    ))?;
    let panics = server.panics();
    if !panics.is_empty() {
        bail!("the server panicked: {}", panics.join("\n"));
    }
    Ok(markdown(o, &samples))
}

/// Signs in and out `total` times over `CLIENTS` clients, sampling every `every`; then waits two
/// prune intervals and samples once more (what the tables hold once the load stops).
async fn soak(
    addr: std::net::SocketAddr,
    data: &Path,
    bodies: Vec<serde_json::Value>,
    total: u64,
    every: Duration,
    prune: Duration,
) -> Result<Vec<Sample>> {
    let pool = kmc_server::store::open(data, &kmc_server::store::DbConfig::default()).await?;
    let start = Instant::now();
    let cycles = Arc::new(AtomicU64::new(0));
    let sample = |cycles: u64| {
        let pool = &pool;
        async move {
            Ok::<_, anyhow::Error>(Sample {
                secs: start.elapsed().as_secs_f64(),
                cycles,
                rows: kmc_server::store::row_counts(pool).await?,
                db_kib: kib(&data.join(kmc_server::store::DB_FILE)),
                wal_kib: kib(&data.join(format!("{}-wal", kmc_server::store::DB_FILE))),
            })
        }
    };
    let mut samples = vec![sample(0).await?];
    let clients: Vec<_> = bodies
        .into_iter()
        .map(|body| tokio::spawn(client(addr, body, total, cycles.clone())))
        .collect();
    let mut load = futures::future::join_all(clients);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let results = loop {
        tokio::select! {
            results = &mut load => break results,
            _ = ticks.tick() => {
                let s = sample(cycles.load(Ordering::Relaxed)).await?;
                println!("{}", line(&s));
                samples.push(s);
            }
        }
    };
    for r in results {
        r.context("soak client")??;
    }
    samples.push(sample(cycles.load(Ordering::Relaxed)).await?);
    tokio::time::sleep(2 * prune).await;
    samples.push(sample(cycles.load(Ordering::Relaxed)).await?);
    Ok(samples)
}

/// One client: sign in, end the session, again, until `total` cycles are done between all.
async fn client(
    addr: std::net::SocketAddr,
    body: serde_json::Value,
    total: u64,
    cycles: Arc<AtomicU64>,
) -> Result<()> {
    let mut conn = Conn::new(addr, None);
    while cycles.fetch_add(1, Ordering::Relaxed) < total {
        let reply = conn
            .call("user", "loginByLoginId", &body, TIMEOUT)
            .await
            .map_err(|e| anyhow::anyhow!("sign-in: {e}"))?;
        let ks: serde_json::Value = serde_json::from_slice(&reply.body)?;
        let Some(ks) = ks.as_str() else {
            bail!("sign-in refused: {}", reply.text(200));
        };
        let reply = conn
            .call("session", "end", &json!({ "ks": ks }), TIMEOUT)
            .await
            .map_err(|e| anyhow::anyhow!("logout: {e}"))?;
        if reply.body != b"null" {
            bail!("logout refused: {}", reply.text(200));
        }
    }
    // The last `fetch_add` of each client overshot by one.
    cycles.fetch_sub(1, Ordering::Relaxed);
    Ok(())
}

fn kib(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len() / 1024).unwrap_or(0)
}

fn rows_of(s: &Sample, table: &str) -> i64 {
    s.rows
        .iter()
        .find(|(t, _)| *t == table)
        .map_or(0, |(_, n)| *n)
}

fn line(s: &Sample) -> String {
    format!(
        "{:>6.0} s  {:>7} sign-ins  sessions {:>6}  file {} KiB  WAL {} KiB",
        s.secs,
        s.cycles,
        rows_of(s, "sessions"),
        s.db_kib,
        s.wal_kib
    )
}

fn markdown(o: &Options, samples: &[Sample]) -> String {
    let end = samples.iter().rev().nth(1).unwrap_or(&samples[0]);
    let rate = end.cycles as f64 / end.secs.max(0.001);
    let mut md = format!(
        "## Soak: {} sign-ins and logouts (SQLite)\n\n\
         kmc-server (release) on loopback, {CLIENTS} clients, each its own login signing in \
         (`user.loginByLoginId`) and out (`session.end`) back to back on one keep-alive \
         connection; {rate:.0} cycles/s. Passwords hashed with `--insecure-test-hash-cost` \
         (argon2id 64 KiB, t = 1; the soak measures the tables, not the hashing); pruning every \
         {} s (`--prune-interval-secs`). Rows and file sizes sampled every {} s, once the load \
         ended, and again two prune intervals later.\n\n\
         | time | sign-ins |",
        o.soak_signins, o.soak_prune_secs, o.soak_sample_secs,
    );
    for t in SHOWN {
        let _ = write!(md, " {t} |");
    }
    md.push_str(" database file | WAL |\n|---:|---:|");
    for _ in SHOWN {
        md.push_str("---:|");
    }
    md.push_str("---:|---:|\n");
    for s in samples {
        let _ = write!(md, "| {:.0} s | {} |", s.secs, s.cycles);
        for t in SHOWN {
            let _ = write!(md, " {} |", rows_of(s, t));
        }
        let _ = writeln!(md, " {} KiB | {} KiB |", s.db_kib, s.wal_kib);
    }
    md
}
