//! The sign-in load: many keep-alive clients driven from one thread.
//!
//! The load generator runs on the machine it measures, so every millisecond of CPU it spends is
//! one the server's hashing threads do not get. One OS thread per client cost 0.10 ms of CPU
//! per sign-in at 16 clients and 0.15 ms at 200, and woke a thread for every reply, preempting
//! a hash each time. Here every client is a task on one tokio current-thread runtime: one
//! thread, woken once for all the replies that are ready. Each client keeps its connection from
//! round to round, as a browser keeps its connection alive, so no round pays for connecting.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::login::{LOGIN, LoadResult, is_success};
use crate::client::Conn;

/// A reply must come within this long, or the client counts an error and reconnects.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The clients of one load level, with their connections.
pub(super) struct Clients {
    runtime: tokio::runtime::Runtime,
    clients: Vec<Client>,
}

impl Clients {
    /// `n` clients spread evenly over the servers at `addrs`, each keeping to one (as a load
    /// balancer keeping connections alive does); client `i` signs in with `bodies[i]` (its own
    /// login, while there are as many bodies as clients).
    pub(super) fn new(
        addrs: &[SocketAddr],
        bodies: &[serde_json::Value],
        n: usize,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("load generator runtime")?;
        let clients = (0..n)
            .map(|i| Client {
                conn: Conn::new(addrs[i % addrs.len()], None),
                body: bodies[i % bodies.len()].clone(),
            })
            .collect();
        Ok(Self { runtime, clients })
    }

    /// Every client signs in back to back for `dur`; the round ends with the last reply.
    pub(super) fn round(&mut self, dur: Duration) -> LoadResult {
        let clients = std::mem::take(&mut self.clients);
        let start = Instant::now();
        let deadline = start + dur;
        let done = self.runtime.block_on(async move {
            let tasks: Vec<_> = clients
                .into_iter()
                .map(|c| tokio::spawn(c.run(deadline)))
                .collect();
            futures::future::join_all(tasks).await
        });
        let mut r = LoadResult::default();
        for d in done {
            match d {
                Ok((client, part)) => {
                    self.clients.push(client);
                    r.merge(part);
                }
                Err(e) => {
                    r.errors += 1;
                    r.first_error
                        .get_or_insert_with(|| format!("client task: {e}"));
                }
            }
        }
        r.elapsed = start.elapsed();
        r
    }
}

/// One simulated person signing in again and again on one connection.
struct Client {
    conn: Conn,
    body: serde_json::Value,
}

impl Client {
    async fn run(mut self, deadline: Instant) -> (Self, LoadResult) {
        let mut r = LoadResult::default();
        let (service, action) = LOGIN;
        while Instant::now() < deadline {
            let t = Instant::now();
            match self.conn.call(service, action, &self.body, TIMEOUT).await {
                Ok(reply) if is_success(reply.status, &reply.body) => {
                    r.ok += 1;
                    r.latencies.record(t.elapsed());
                }
                Ok(reply) => {
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| {
                        format!("HTTP {} {}", reply.status, reply.text(200))
                    });
                }
                Err(e) => {
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| e.to_string());
                    // Don't spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        (self, r)
    }
}
