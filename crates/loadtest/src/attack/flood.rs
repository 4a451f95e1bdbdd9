//! Flood: 5,000 sign-ins at once, each on its own connection from its own loopback address,
//! while another client polls `user.get` with a valid KS every 100 ms. A server that hashes
//! passwords can only check a few dozen per second; the rest must not pile up in an unbounded
//! queue but be answered at once with the overload error (`RESOURCE_IS_RESERVED`), memory must
//! stay bounded, and the cheap calls must keep being answered.
//!
//! The sign-ins name 5,000 different unknown emails with wrong passwords: each costs a full
//! (dummy) hash, as a real flood's would, and no per-login or per-address limit refuses them, so
//! only the hash queue's own bound is measured.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Barrier;

use super::{Env, Findings, Row, mib, rss_sampler};
use crate::client::{Conn, Failure, Outcome, client_ip, connect, exchange_raw};
use crate::server::{Server, Spec, random_password, temp_dir};
use crate::stats::Latencies;

/// Allowed RSS growth over the baseline.
const RSS_GROWTH_MIB: u64 = 128;
/// The slowest an overload answer may be (p99) to count as "fast".
const FAST_MS: f64 = 1000.0;
/// The slowest `user.get` may be during the flood.
const POLL_MAX_MS: f64 = 1000.0;

/// Runs the attack.
pub async fn run(env: &Env) -> Findings {
    let n = env.opts.flood;
    let timeout = Duration::from_secs(env.opts.flood_seconds.max(5));
    let tmp = temp_dir("flood")?;
    let server = Server::start(Spec::api_only(
        &env.bin,
        tmp.path(),
        &["--reveal-login-errors".into()],
    ))?;
    let addr = server.addr;
    let partner = server.add_partner("Flood Sandbox", false)?;
    let password = random_password();
    server.add_user(partner, "flood@example.com", Some(&password))?;
    let body = json!({"loginId": "flood@example.com", "password": password, "partnerId": partner});
    let mut poll = Conn::new(addr, Some([127, 0, 0, 3].into()));
    let r = poll
        .call("user", "loginByLoginId", &body, Duration::from_secs(30))
        .await
        .map_err(|e| anyhow::anyhow!("first sign-in: {e}"))?;
    let ks: String = serde_json::from_slice(&r.body)
        .map_err(|_| anyhow::anyhow!("first sign-in answered {}", r.text(200)))?;

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(server.pid(), Duration::from_millis(100), stop.clone());
    let poller = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut lat, mut failures) = (Latencies::default(), Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match poll
                    .call("user", "get", &json!({"ks": ks}), Duration::from_secs(30))
                    .await
                {
                    Ok(r) if matches!(r.outcome(), Outcome::Value(_)) => lat.record(t.elapsed()),
                    Ok(r) => failures.push(r.text(100)),
                    Err(e) => failures.push(e.to_string()),
                }
                tokio::time::sleep(Duration::from_millis(100).saturating_sub(t.elapsed())).await;
            }
            (lat, failures)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!("  opening {n} connections …");
    let barrier = Arc::new(Barrier::new(n + 1));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let body = json!({"loginId": format!("flood{i}@example.net"),
                              "password": format!("Wrong-{i}-guess"), "partnerId": partner});
            tokio::spawn(async move {
                let stream = connect(addr, Some(client_ip(i)), Duration::from_secs(15)).await;
                barrier.wait().await;
                let t = Instant::now();
                let stream = match stream {
                    Ok(s) => s,
                    Err(e) => return (format!("no connection ({e})"), t.elapsed()),
                };
                // Past its connection limit the server answers before the request arrives.
                let reply =
                    exchange_raw(stream, addr, "user", "loginByLoginId", &body, timeout).await;
                let what = match reply {
                    Ok(r) => match r.outcome() {
                        Outcome::Error(code) => code,
                        Outcome::Value(Value::String(_)) => "a session".into(),
                        _ => format!("unexpected reply {}", r.text(60)),
                    },
                    Err(Failure::Timeout) => "no reply in time".into(),
                    Err(e) => format!("no reply ({e})"),
                };
                (what, t.elapsed())
            })
        })
        .collect();
    barrier.wait().await;
    let start = Instant::now();
    println!(
        "  {n} sign-ins sent; waiting up to {} s …",
        timeout.as_secs()
    );
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    let (mut lat_ok, mut lat_overload) = (Latencies::default(), Latencies::default());
    for t in tasks {
        let (what, took) = t
            .await
            .unwrap_or_else(|e| (format!("task failed: {e}"), Duration::ZERO));
        match what.as_str() {
            "USER_WRONG_PASSWORD" => lat_ok.record(took),
            "RESOURCE_IS_RESERVED" => lat_overload.record(took),
            _ => {}
        }
        *codes.entry(what).or_default() += 1;
    }
    let took = start.elapsed().as_secs_f64();
    // Keep polling a moment after the flood so the tail is seen too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (poll_lat, poll_failures) = poller.await.unwrap_or_default();
    let (base, peak) = sampler.await.unwrap_or((0, 0));
    let panics = server.panics();
    drop(server);

    let answered = (lat_ok.len() + lat_overload.len()) as usize;
    let overload_p99 = lat_overload.percentile(99.0);
    let poll_max = poll_lat.max();
    let codes_text = codes
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let how = format!(
        "{n} concurrent sign-ins, unknown emails and wrong passwords (a connection and source \
         address each); `user.get` polled every 100 ms on a kept-alive connection"
    );
    let rows = vec![
        Row {
            promise: "A flood of sign-ins is refused fast, not queued without bound".into(),
            how: how.clone(),
            figure: format!(
                "{codes_text} (in {took:.0} s); overload answers p50 {:.0} ms / p99 \
                 {overload_p99:.0} ms; evaluated answers p50 {:.0} ms / max {:.0} ms",
                lat_overload.median(),
                lat_ok.median(),
                lat_ok.max()
            ),
            target: format!(
                "all {n} answered, each evaluated (USER_WRONG_PASSWORD) or refused \
                 (RESOURCE_IS_RESERVED); overload answers p99 ≤ {FAST_MS:.0} ms"
            ),
            pass: answered == n
                && !lat_overload.is_empty()
                && overload_p99 <= FAST_MS
                && panics.is_empty(),
        },
        Row {
            promise: "Memory stays bounded under a flood".into(),
            how: how.clone(),
            figure: format!("RSS {} → peak {}", mib(base), mib(peak)),
            target: format!("RSS growth ≤ {RSS_GROWTH_MIB} MiB"),
            pass: peak.saturating_sub(base) <= RSS_GROWTH_MIB * 1024,
        },
        Row {
            promise: "The server keeps answering during a flood".into(),
            how,
            figure: format!(
                "{} `user.get` answered, {} failed; max {poll_max:.0} ms, p99 {:.0} ms",
                poll_lat.len(),
                poll_failures.len(),
                poll_lat.percentile(99.0)
            ),
            target: format!("every poll answered, max ≤ {POLL_MAX_MS:.0} ms"),
            pass: poll_failures.is_empty() && !poll_lat.is_empty() && poll_max <= POLL_MAX_MS,
        },
    ];
    let mut note = format!(
        "Every connection was opened first, then all {n} sign-ins were sent together; a \
         request unanswered after {} s counts as `no reply in time`. `--max-hash-queue` is {} \
         in this build.",
        timeout.as_secs(),
        env.flags.presence("--max-hash-queue")
    );
    if env.flags.has("--max-connections") {
        note.push_str(
            " Connections past the server's `--max-connections` are closed without an answer: \
             they count here as dropped.",
        );
    }
    if let Some(f) = poll_failures.first() {
        note.push_str(&format!(" First failed poll: {f}."));
    }
    note.push_str(&format!(" Panics in the log: {}.\n", panics.len()));
    Ok((rows, note))
}
