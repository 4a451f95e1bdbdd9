//! Server login throughput against the argon2id ceiling of this machine.
//!
//! A password login costs one argon2id verification, and a correct server can do no more logins
//! per second than the machine can hash. So the bench measures that ceiling with the server's
//! parameters on every core, and runs concurrent clients posting `user.loginByLoginId`,
//! alternating the two in short rounds ([`paired`]) so that both see the same machine, and
//! reports throughput, latency and errors, and the share of the ceiling reached. Everything
//! runs on loopback, bounded in time.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use argon2::{Algorithm, Argon2, Params, Version};
use argon2_memory::Memory;
use serde_json::json;

use super::loadgen::Clients;
use super::{Options, cpu, start_server};
use crate::client::Conn;
use crate::server::{cli, loadavg, temp_dir};
use crate::stats::Latencies;

/// argon2id memory cost in KiB, iterations and lanes: the server's `HashCost::OWASP`
/// (crates/server/src/auth/passwords.rs), which is also argon2 0.5's `Params::DEFAULT`.
const ARGON2_M_KIB: u32 = 19_456;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;
/// Concurrency levels for the login load.
const LEVELS: [usize; 2] = [16, 200];

/// Runs the login section and returns its markdown.
pub fn run(o: &Options) -> Result<String> {
    let duration = Duration::from_secs(o.seconds);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let tmp = temp_dir("login")?;
    let server = start_server(o, tmp.path(), "server.log", &[], &[], None)?;
    let addr = server.addr;
    let bodies = bench_logins(
        &o.server_bin,
        &tmp.path().join("data"),
        &[],
        LEVELS.iter().copied().max().unwrap_or(1),
    )?;
    probe(addr, &bodies[0])?;
    let clients_of = |n: usize| Clients::new(&[addr], &bodies, n);

    // Untimed warm-up: the server's first logins start its blocking threads and their
    // allocator arenas and fill SQLite's cache; that start-up belongs to no level.
    println!("warming up for 3 s …");
    let _ = clients_of(LEVELS[0])?.round(Duration::from_secs(3));
    let mut rows = Vec::new();
    let mut breakdowns = Vec::new();
    let mut single_ms = Vec::new();
    for clients in LEVELS {
        println!(
            "{clients} concurrent clients for {} s, in rounds between ceiling measurements …",
            duration.as_secs()
        );
        let load_before = loadavg();
        let mut load = clients_of(clients)?;
        let p = paired(cores, duration, server.pid(), |d| load.round(d))?;
        let r = p.result;
        let rate = r.ok as f64 / r.elapsed.as_secs_f64();
        println!(
            "{clients} clients: {rate:.1} logins/s, ceiling {:.1} hashes/s, p50 {:.0} ms, p99 {:.0} ms, {} errors{}",
            p.ceiling.mean(),
            r.latencies.median(),
            r.latencies.percentile(99.0),
            r.errors,
            r.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        breakdowns.push((
            clients,
            cpu::per_signin(&cpu::Snapshot::default(), &p.cpu, r.ok),
        ));
        single_ms.push(p.ceiling.cpu_ms_per_hash);
        rows.push((clients, rate, r, load_before, p.ceiling));
    }
    let single_ms = single_ms.iter().sum::<f64>() / single_ms.len().max(1) as f64;
    let mut md = format!(
        "## Login throughput (`user.loginByLoginId`, password-only account)\n\n\
         kmc-server (release) on loopback, each client one keep-alive connection, {} s per level \
         in {} rounds; before each round and after the last, {} s of this machine's argon2id \
         ceiling: {cores} threads (m = {ARGON2_M_KIB} KiB, t = {ARGON2_T}, p = {ARGON2_P}), each \
         reusing its working memory as the server does. A password login costs one such hash, so \
         no correct server exceeds that rate. Each level is compared with the mean of the \
         ceilings taken between its rounds, and, to be conservative, with the highest of them.\n\n\
         | clients | logins/s | ceiling: mean (min–max) | % of mean | % of highest | p50 | p99 | max | errors | load avg |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        duration.as_secs(),
        rounds(duration),
        CEILING_ROUND.as_secs(),
    );
    for (clients, rate, r, load_before, c) in rows {
        md.push_str(&format!(
            "| {clients} | {rate:.1} | {:.1} ({:.1}–{:.1}) | {:.0} % | {:.0} % | {:.0} ms | {:.0} ms | {:.0} ms | {} | {load_before} |\n",
            c.mean(),
            c.min(),
            c.max(),
            rate * 100.0 / c.mean(),
            rate * 100.0 / c.max(),
            r.latencies.median(),
            r.latencies.percentile(99.0),
            r.latencies.max(),
            r.errors
        ));
        if let Some(e) = r.first_error {
            md.push_str(&format!("\nFirst error at {clients} clients: {e}\n\n"));
        }
    }
    md.push_str(&cpu_table(&breakdowns, single_ms, cores));
    md.push_str(
        "\nLatencies are of successful logins; an error is any transport failure or non-success \
         reply. `load avg` is the machine's 1-minute load average as the level started: figures \
         taken on a busy machine do not compare with figures taken on an idle one.\n",
    );
    Ok(md)
}

/// The per-sign-in CPU breakdown of each level, beside the cost of one hash.
fn cpu_table(levels: &[(usize, Vec<cpu::Row>)], single_ms: f64, cores: usize) -> String {
    let Some((_, first)) = levels.first() else {
        return String::new();
    };
    let mut md = format!(
        "\nCPU per sign-in (ms, user + system, from `/proc`; {cores} cores; one argon2id hash \
         costs {single_ms:.1} ms of CPU with every core hashing):\n\n| where |"
    );
    for (clients, _) in levels {
        md.push_str(&format!(" {clients} clients |"));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(levels.len()));
    md.push('\n');
    for (i, (name, _, _)) in first.iter().enumerate() {
        md.push_str(&format!("| {name} |"));
        for (_, rows) in levels {
            let (_, u, s) = &rows[i];
            md.push_str(&if *s > 0.0 {
                format!(" {:.2} ({u:.2} + {s:.2}) |", u + s)
            } else {
                format!(" {u:.2} |")
            });
        }
        md.push('\n');
    }
    md
}

/// The sign-in action the load posts.
pub(super) const LOGIN: (&str, &str) = ("user", "loginByLoginId");

/// A login succeeded when the reply is HTTP 200 and not a Kaltura exception object.
pub(super) fn is_success(status: u16, body: &[u8]) -> bool {
    status == 200 && !String::from_utf8_lossy(body).contains("KalturaAPIException")
}

/// `n` logins in a fresh password-only account, made with the CLI (`global` goes before each
/// command, e.g. `--database-url`); their sign-in bodies. One login per client: kmc-server
/// reserves each check from its login's guess budget before hashing, so one login signing in
/// from 200 clients at once is refused past the budget (as it should be); real load is many
/// people, each signing in once.
pub(super) fn bench_logins(
    server: &Path,
    data: &Path,
    global: &[String],
    n: usize,
) -> Result<Vec<serde_json::Value>> {
    let run = |args: &[&str], stdin: Option<&str>| {
        let args: Vec<&str> = global
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect();
        cli(server, data, &args, stdin)
    };
    let printed = run(&["partner", "add", "--name", "Bench Sandbox"], None)?;
    let partner: i64 = printed
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("`partner add` printed {printed:?}, not an id"))?;
    let password = "Bench sign-in passphrase";
    println!("creating {n} bench logins …");
    (0..n)
        .map(|i| {
            let email = format!("bench{i}@example.com");
            run(
                &[
                    "user",
                    "add",
                    "--partner",
                    &partner.to_string(),
                    "--email",
                    &email,
                    "--password-stdin",
                ],
                Some(password),
            )?;
            Ok(json!({"loginId": email, "password": password, "partnerId": partner, "otp": ""}))
        })
        .collect()
}

/// One sign-in before any measurement: the bench logins work on this server.
pub(super) fn probe(addr: SocketAddr, body: &serde_json::Value) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (service, action) = LOGIN;
    let r = runtime
        .block_on(Conn::new(addr, None).call(service, action, body, Duration::from_secs(30)))
        .map_err(|e| anyhow!("first sign-in failed: {e}"))?;
    if !is_success(r.status, &r.body) {
        bail!("first sign-in refused: HTTP {} {}", r.status, r.text(2000));
    }
    Ok(())
}

/// One ceiling measurement lasts this long; see [`paired`].
const CEILING_ROUND: Duration = Duration::from_secs(2);
/// A load round lasts about this long; see [`rounds`].
const LOAD_ROUND: Duration = Duration::from_secs(5);

/// How many load rounds a level of `duration` is cut into.
pub(super) fn rounds(duration: Duration) -> u32 {
    (duration.as_secs_f64() / LOAD_ROUND.as_secs_f64())
        .round()
        .max(1.0) as u32
}

/// The ceilings measured around the rounds of one level.
#[derive(Clone, Debug, Default)]
pub(super) struct Ceilings {
    /// Hashes per second, in order.
    pub(super) rates: Vec<f64>,
    /// CPU time of one hash (ms), over all of them.
    pub(super) cpu_ms_per_hash: f64,
}

impl Ceilings {
    pub(super) fn mean(&self) -> f64 {
        self.rates.iter().sum::<f64>() / self.rates.len().max(1) as f64
    }
    pub(super) fn min(&self) -> f64 {
        self.rates.iter().copied().fold(f64::INFINITY, f64::min)
    }
    pub(super) fn max(&self) -> f64 {
        self.rates.iter().copied().fold(0.0, f64::max)
    }
}

/// A level measured in rounds: the load's results added up, the ceilings around them, and
/// the server's CPU time during the load rounds only.
pub(super) struct Paired {
    pub(super) result: LoadResult,
    pub(super) ceiling: Ceilings,
    pub(super) cpu: cpu::Snapshot,
}

/// Runs `load` for `duration` in [`rounds`], with a [`CEILING_ROUND`] of argon2id on every
/// core before each round and after the last. The VM's hash rate drifts by 10–20 % from one
/// half-minute to the next; a ceiling taken only before and after a long level compared the
/// server with a machine it never ran on. Each load round ends with its last replies, so no
/// ceiling runs beside the server's work. With `server`, its CPU time (and the machine's) is
/// read around each load round, not around the ceilings, which run in this process.
pub(super) fn paired(
    cores: usize,
    duration: Duration,
    server: Option<u32>,
    mut load: impl FnMut(Duration) -> LoadResult,
) -> Result<Paired> {
    let n = rounds(duration);
    let each = duration / n;
    let mut out = Paired {
        result: LoadResult::default(),
        ceiling: Ceilings::default(),
        cpu: cpu::Snapshot::default(),
    };
    let mut hash_ms = Vec::new();
    for round in 0..=n {
        let (rate, ms) = argon2_ceiling(cores, CEILING_ROUND)?;
        out.ceiling.rates.push(rate);
        hash_ms.push(ms);
        if round == n {
            break;
        }
        let before = server.map(cpu::snapshot);
        let r = load(each);
        if let (Some(pid), Some(before)) = (server, before) {
            out.cpu.add_interval(&before, &cpu::snapshot(pid));
        }
        println!(
            "  round {}/{n}: {:.1}/s after a ceiling of {rate:.1}/s",
            round + 1,
            r.ok as f64 / r.elapsed.as_secs_f64()
        );
        out.result.merge(r);
    }
    out.ceiling.cpu_ms_per_hash = hash_ms.iter().sum::<f64>() / hash_ms.len() as f64;
    Ok(out)
}

/// The argon2id hash rate with every core busy, and the CPU time (ms) of one hash. Each thread
/// hashes in one working memory reused from hash to hash, held as kmc-server holds it
/// ([`argon2_memory::Memory`], in huge pages where the kernel offers them): allocating the
/// 19 MiB per hash (argon2's `hash_password_into`) adds page faults and zeroing whose cost
/// swings with the allocator's state, 74–104 hashes/s against 116–128 reused on one run here.
pub(super) fn argon2_ceiling(threads: usize, dur: Duration) -> Result<(f64, f64)> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(32)).map_err(|e| anyhow!(e))?;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let params = params.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut memory = Memory::new();
                let memory = memory.blocks(params.block_count());
                let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                let salt = [i as u8; 16];
                let mut out = [0u8; 32];
                // One untimed hash: the memory's pages are touched before the clock starts.
                a.hash_password_into_with_memory(b"warm", &salt, &mut out, &mut *memory)
                    .map_err(|e| anyhow!(e))?;
                barrier.wait();
                let start = Instant::now();
                let cpu_start = cpu::this_thread();
                let mut n = 0u64;
                while start.elapsed() < dur {
                    a.hash_password_into_with_memory(
                        b"correct horse battery staple",
                        &salt,
                        &mut out,
                        &mut *memory,
                    )
                    .map_err(|e| anyhow!(e))?;
                    n += 1;
                }
                Ok::<_, anyhow::Error>((n, start.elapsed(), cpu::this_thread() - cpu_start))
            })
        })
        .collect();
    let mut total = 0.0;
    let (mut hashes, mut cpu_s) = (0u64, 0.0);
    for h in handles {
        let (n, took, cpu) = h.join().map_err(|_| anyhow!("hash thread panicked"))??;
        total += n as f64 / took.as_secs_f64();
        hashes += n;
        cpu_s += cpu;
    }
    // CPU time, not wall time, per hash: on a busy machine the two differ.
    Ok((total, cpu_s * 1000.0 / hashes.max(1) as f64))
}

#[derive(Default)]
pub(super) struct LoadResult {
    pub(super) ok: u64,
    pub(super) errors: u64,
    pub(super) latencies: Latencies,
    pub(super) elapsed: Duration,
    pub(super) first_error: Option<String>,
}

impl LoadResult {
    /// Adds another round's results to these (elapsed times add up, as for rounds run one
    /// after another).
    pub(super) fn merge(&mut self, other: LoadResult) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.latencies.merge(&other.latencies);
        self.elapsed += other.elapsed;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ks_string_is_a_success_and_an_exception_object_is_not() {
        assert!(is_success(200, br#""djJ8MTAwfG...""#));
        assert!(!is_success(
            200,
            br#"{"code":"USER_WRONG_PASSWORD","objectType":"KalturaAPIException"}"#
        ));
        assert!(!is_success(500, b"\"x\""));
    }

    #[test]
    fn the_ceiling_parameters_are_argon2s_owasp_defaults() {
        let d = Params::DEFAULT;
        assert_eq!(
            (d.m_cost(), d.t_cost(), d.p_cost()),
            (ARGON2_M_KIB, ARGON2_T, ARGON2_P)
        );
    }
}
