//! Sign-in throughput by store: one `kmc-server` over SQLite, one over PostgreSQL
//! and two over one PostgreSQL database (the load split between them as a load balancer would),
//! each level measured in rounds between argon2id ceiling measurements; and the database round trips of one
//! sign-in on PostgreSQL, counted by a relay between the server and the database.
//!
//! The PostgreSQL databases are on a throwaway cluster `cargo xtask bench` starts with
//! PostgreSQL's durable defaults (fsync on, synchronous commit), as SQLite runs with
//! `synchronous = FULL`; they are named with `--postgres-database`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};

use super::loadgen::Clients;
use super::login::{Ceilings, LOGIN, LoadResult, bench_logins, is_success, paired, probe};
use super::{Options, start_server};
use crate::client::Conn;
use crate::server::{Server, loadavg, temp_dir};

/// Concurrent clients per level (each its own login, signing in again and again).
const CLIENTS: usize = 32;
/// Sign-ins counted for the round trips (after as many to warm the statement caches).
const COUNTED: u64 = 50;

struct Level {
    store: &'static str,
    replicas: usize,
    rate: f64,
    result: LoadResult,
    ceiling: Ceilings,
    load_before: String,
}

/// Runs the section and returns its markdown.
pub fn run(o: &Options) -> Result<String> {
    let duration = Duration::from_secs(o.seconds);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let [one, two] = o.postgres.as_slice() else {
        bail!(
            "the stores section needs two empty PostgreSQL databases (--postgres-database, twice)"
        );
    };
    let mut levels = Vec::new();
    let mut round_trips = None;
    for (store, replicas) in [("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 2)] {
        let tmp = temp_dir(&format!("stores-{}-{replicas}", store.to_lowercase()))?;
        let mut global = Vec::new();
        if store == "PostgreSQL" {
            let url = if replicas == 1 { one } else { two };
            global = vec!["--database-url".to_owned(), url.clone()];
        }
        let bodies = bench_logins(&o.server_bin, &tmp.path().join("data"), &global, CLIENTS)?;
        let servers: Vec<Server> = (0..replicas)
            .map(|i| start_server(o, tmp.path(), &format!("server{i}.log"), &global, &[], None))
            .collect::<Result<_>>()?;
        let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
        probe(addrs[0], &bodies[0])?;
        println!("{store} × {replicas}: warming up for 3 s …");
        let _ = Clients::new(&addrs, &bodies, CLIENTS)?.round(Duration::from_secs(3));
        println!(
            "{store} × {replicas}: {CLIENTS} clients for {} s …",
            duration.as_secs()
        );
        let load_before = loadavg();
        let mut load = Clients::new(&addrs, &bodies, CLIENTS)?;
        let p = paired(cores, duration, None, |d| load.round(d))?;
        let result = p.result;
        let rate = result.ok as f64 / result.elapsed.as_secs_f64();
        println!(
            "{store} × {replicas}: {rate:.1} sign-ins/s, ceiling {:.1}, p50 {:.0} ms, p99 {:.0} ms, {} errors",
            p.ceiling.mean(),
            result.latencies.median(),
            result.latencies.percentile(99.0),
            result.errors
        );
        levels.push(Level {
            store,
            replicas,
            rate,
            result,
            ceiling: p.ceiling,
            load_before,
        });
        drop(servers);
        if store == "PostgreSQL" && replicas == 1 {
            round_trips = Some(count_round_trips(o, tmp.path(), &global, &bodies)?);
        }
    }
    Ok(report(cores, duration, &levels, round_trips))
}

/// Round trips to PostgreSQL per sign-in: a server whose database URL points at a counting
/// relay signs in `COUNTED` times one after another (after as many unmeasured ones, so
/// prepared statements are cached), and every burst the server sends is one round trip.
fn count_round_trips(
    o: &Options,
    dir: &Path,
    global: &[String],
    bodies: &[serde_json::Value],
) -> Result<f64> {
    let url = global.get(1).context("no database URL")?;
    let (relay, bursts) = relay_to(url)?;
    let relayed = url.replacen(&upstream_of(url)?, &relay.to_string(), 1);
    let args = vec!["--database-url".to_owned(), relayed];
    let server = start_server(o, dir, "server-relay.log", &args, &[], None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut conn = Conn::new(server.addr, None);
    let mut sign_in = |i: u64| -> Result<()> {
        let body = &bodies[i as usize % bodies.len()];
        let (service, action) = LOGIN;
        let r = runtime
            .block_on(conn.call(service, action, body, Duration::from_secs(30)))
            .map_err(|e| anyhow!("{e}"))?;
        if !is_success(r.status, &r.body) {
            bail!("sign-in refused: {}", r.text(2000));
        }
        Ok(())
    };
    for i in 0..COUNTED {
        sign_in(i)?;
    }
    let before = bursts.load(Ordering::SeqCst);
    for i in 0..COUNTED {
        sign_in(i)?;
    }
    let after = bursts.load(Ordering::SeqCst);
    Ok((after - before) as f64 / COUNTED as f64)
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn upstream_of(url: &str) -> Result<String> {
    let rest = url.split_once("://").map(|(_, r)| r).context("not a URL")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    Ok(authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority)
        .to_owned())
}

/// A loopback relay to the database of `url`; the relay's address and the number of bursts
/// (reads) it has seen from its clients.
fn relay_to(url: &str) -> Result<(SocketAddr, Arc<AtomicU64>)> {
    let upstream = upstream_of(url)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let bursts = Arc::new(AtomicU64::new(0));
    let counter = bursts.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(db) = TcpStream::connect(&upstream) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = db.set_nodelay(true);
            let (Ok(client_r), Ok(db_w)) = (client.try_clone(), db.try_clone()) else {
                continue;
            };
            let counter = counter.clone();
            std::thread::spawn(move || pipe(client_r, db_w, Some(counter)));
            std::thread::spawn(move || pipe(db, client, None));
        }
    });
    Ok((addr, bursts))
}

/// Copies one direction until either side closes, counting reads when asked to.
fn pipe(mut from: TcpStream, mut to: TcpStream, count: Option<Arc<AtomicU64>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(c) = &count {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

fn report(cores: usize, duration: Duration, levels: &[Level], round_trips: Option<f64>) -> String {
    let mut md = format!(
        "## Sign-in throughput by store (one replica over SQLite, one and two over PostgreSQL)\n\n\
         {CLIENTS} concurrent clients, each its own login in a password-only account signing in \
         again and again on a keep-alive connection, {} s per level; with two replicas half of \
         the clients use each (one PostgreSQL database, PostgreSQL 15 with fsync on). Every \
         level runs in rounds between measurements of the argon2id ceiling of this {cores}-core \
         machine (as in the login section).\n\n\
         | store | replicas | sign-ins/s | argon2id ceiling: mean (min–max) | % of mean | p50 | p99 | errors | load avg |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        duration.as_secs()
    );
    for l in levels {
        md.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} ({:.1}–{:.1}) | {:.0} % | {:.0} ms | {:.0} ms | {} | {} |\n",
            l.store,
            l.replicas,
            l.rate,
            l.ceiling.mean(),
            l.ceiling.min(),
            l.ceiling.max(),
            l.rate * 100.0 / l.ceiling.mean(),
            l.result.latencies.median(),
            l.result.latencies.percentile(99.0),
            l.result.errors,
            l.load_before,
        ));
        if let Some(e) = &l.result.first_error {
            md.push_str(&format!(
                "\nFirst error ({} × {}): {e}\n\n",
                l.store, l.replicas
            ));
        }
    }
    md.push_str(&format!(
        "\nDatabase work of one password sign-in (the same statements on both stores): 2 \
         statements. First the guess is reserved by email in an `UPDATE … RETURNING` that also \
         returns the login and its accounts, committed on its own before the hash so that \
         parallel guesses see it; then one round trip accepts the guess, remembers the account \
         and creates the session, committed together (a batch in a transaction on SQLite, one \
         `WITH … INSERT` statement on PostgreSQL). SQLite: no network round trip, 2 commits and no \
         fsync (a password-only sign-in's commits are made durable by the next synced one, such \
         as a failure; a sign-in with a code syncs). PostgreSQL: 2 commits, each flushed, and {} round \
         trips per sign-in measured by a relay between server and database over {COUNTED} \
         sign-ins (statements already prepared on their connections): the 2 statements, and a \
         ping that sqlx sends as each of the 2 connections a sign-in takes goes back to its \
         pool.\n",
        round_trips
            .map(|r| format!("{r:.1}"))
            .unwrap_or_else(|| "(not measured)".into())
    ));
    md
}
