//! Slow clients (slowloris): 1,000 connections, each from its own loopback address, send a
//! request's headers one byte a second and never finish them, while a normal client signs in
//! every two seconds on a fresh connection. The normal sign-in must stay within twice its
//! unloaded time, and the server's memory must stay bounded.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Env, Findings, Row, mib, rss_sampler};
use crate::client::{Conn, Outcome, client_ip, connect};
use crate::server::{Server, Spec, random_password, temp_dir};
use crate::stats::Latencies;

/// Allowed RSS growth over the baseline.
const RSS_GROWTH_MIB: u64 = 64;
/// Under attack, the normal client's first sign-in starts this long after the slow clients do
/// (they open over the first two seconds), and then one starts every [`EVERY`].
const FIRST: Duration = Duration::from_secs(3);
const EVERY: Duration = Duration::from_secs(2);

enum SlowEnd {
    /// The connection could not be opened.
    Refused,
    /// The server closed it after this long.
    Closed(Duration),
    /// Still open when the attack ended.
    Open,
}

async fn slow_client(
    addr: std::net::SocketAddr,
    i: usize,
    start_in: Duration,
    until: Instant,
) -> SlowEnd {
    tokio::time::sleep(start_in).await;
    let Ok(mut s) = connect(addr, Some(client_ip(i)), Duration::from_secs(10)).await else {
        return SlowEnd::Refused;
    };
    let opened = Instant::now();
    let head = format!(
        "POST /api_v3/service/user/action/get?format=1 HTTP/1.1\r\nHost: {addr}\r\nX-Slow: {}",
        "a".repeat(4096)
    );
    let mut buf = [0u8; 512];
    for b in head.bytes().cycle() {
        if Instant::now() >= until {
            return SlowEnd::Open;
        }
        if s.write_all(&[b]).await.is_err() {
            return SlowEnd::Closed(opened.elapsed());
        }
        // Wait a second, noticing a close (EOF, an error reply, a reset) meanwhile.
        let tick = tokio::time::sleep(Duration::from_secs(1));
        tokio::select! {
            () = tick => {}
            r = s.read(&mut buf) => {
                let _ = r;
                return SlowEnd::Closed(opened.elapsed());
            }
        }
    }
    SlowEnd::Open
}

/// One sign-in on a fresh connection: how long it took, or why it failed.
async fn timed_sign_in(
    addr: std::net::SocketAddr,
    body: &serde_json::Value,
) -> Result<Duration, String> {
    let mut c = Conn::new(addr, Some([127, 0, 0, 2].into()));
    let t = Instant::now();
    let r = c
        .call("user", "loginByLoginId", body, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    let took = t.elapsed();
    match r.outcome() {
        Outcome::Value(serde_json::Value::String(_)) => Ok(took),
        _ => Err(format!("refused: {}", r.text(120))),
    }
}

/// Runs the attack.
pub async fn run(env: &Env) -> Findings {
    let n = env.opts.slow;
    let secs = env.opts.slow_seconds.max(10);
    let tmp = temp_dir("slow")?;
    let server = Server::start(Spec::api_only(&env.bin, tmp.path(), &[]))?;
    let addr = server.addr;
    let partner = server.add_partner("Slow Sandbox", false)?;
    let password = random_password();
    server.add_user(partner, "normal@example.com", Some(&password))?;
    let body = json!({"loginId": "normal@example.com", "password": password, "partnerId": partner});

    // Unloaded: a warm-up, then as many timed sign-ins on fresh connections as the attack
    // below will time (one every [`EVERY`] from [`FIRST`] to one [`EVERY`] before its end), so the two
    // maxima compared are maxima of equally many samples. With five here, a max of five was
    // compared with a max of eighteen, and once hashes took 15 ms one run in three failed by
    // under a millisecond on this VM's scheduling noise alone.
    timed_sign_in(addr, &body)
        .await
        .map_err(|e| anyhow::anyhow!("warm-up sign-in: {e}"))?;
    let mut unloaded = Latencies::default();
    let timed = secs.saturating_sub(FIRST.as_secs()) / EVERY.as_secs();
    for _ in 0..timed.max(5) {
        let took = timed_sign_in(addr, &body)
            .await
            .map_err(|e| anyhow::anyhow!("unloaded sign-in: {e}"))?;
        unloaded.record(took);
    }
    let unloaded_max = unloaded.max();

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(server.pid(), Duration::from_millis(250), stop.clone());
    println!("  {n} slow connections for {secs} s …");
    let until = Instant::now() + Duration::from_secs(secs);
    let slow: Vec<_> = (0..n)
        .map(|i| {
            // Open them over the first two seconds.
            let start_in = Duration::from_millis((i as u64 * 2000) / n.max(1) as u64);
            tokio::spawn(slow_client(addr, i, start_in, until))
        })
        .collect();
    tokio::time::sleep(FIRST).await;
    let mut loaded = Latencies::default();
    let mut failures = Vec::new();
    while Instant::now() + EVERY < until {
        let t = Instant::now();
        match timed_sign_in(addr, &body).await {
            Ok(took) => loaded.record(took),
            Err(e) => failures.push(e),
        }
        tokio::time::sleep(EVERY.saturating_sub(t.elapsed())).await;
    }
    let (mut refused, mut open, mut closed) = (0, 0, Latencies::default());
    for t in slow {
        match t.await.unwrap_or(SlowEnd::Refused) {
            SlowEnd::Refused => refused += 1,
            SlowEnd::Open => open += 1,
            SlowEnd::Closed(d) => closed.record(d),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (base, peak) = sampler.await.unwrap_or((0, 0));
    let panics = server.panics();
    drop(server);
    let loaded_max = loaded.max();

    let sign_in_ok = failures.is_empty() && !loaded.is_empty() && loaded_max <= 2.0 * unloaded_max;
    let rss_ok = peak.saturating_sub(base) <= RSS_GROWTH_MIB * 1024;
    let how = format!(
        "{n} connections (one source address each) send headers 1 byte/s for {secs} s; a normal \
         client signs in every 2 s on a fresh connection"
    );
    let rows = vec![
        Row {
            promise: "Slow clients do not slow down sign-in".into(),
            how: how.clone(),
            figure: format!(
                "{} sign-ins under attack: median {:.0} ms, max {loaded_max:.0} ms, {} failed; \
                 unloaded: median {:.0} ms, max {unloaded_max:.0} ms",
                loaded.len() as usize + failures.len(),
                loaded.median(),
                failures.len(),
                unloaded.median()
            ),
            target: "every sign-in answered within 2× the unloaded max".into(),
            pass: sign_in_ok && panics.is_empty(),
        },
        Row {
            promise: "Slow clients cannot exhaust memory".into(),
            how,
            figure: format!(
                "RSS {} → peak {}; slow connections: {} closed by the server (median after \
                 {:.0} s), {open} still open at the end, {refused} refused",
                mib(base),
                mib(peak),
                closed.len(),
                closed.median() / 1000.0
            ),
            target: format!("RSS growth ≤ {RSS_GROWTH_MIB} MiB"),
            pass: rss_ok,
        },
    ];
    let mut note = format!(
        "Each slow connection starts a `POST` and sends one more header byte every second, never \
         ending the headers. `--header-read-timeout-secs` is {} and `--max-connections` is {} in \
         this build.",
        env.flags.presence("--header-read-timeout-secs"),
        env.flags.presence("--max-connections"),
    );
    if !closed.is_empty() {
        note.push_str(&format!(
            " The server closed slow connections after {:.0}–{:.0} s.",
            closed.min() / 1000.0,
            closed.max() / 1000.0
        ));
    }
    if let Some(f) = failures.first() {
        note.push_str(&format!(" First failed sign-in: {f}."));
    }
    note.push_str(&format!(" Panics in the log: {}.\n", panics.len()));
    Ok((rows, note))
}
