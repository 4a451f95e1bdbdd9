//! The sign-in load: many keep-alive clients driven from one thread.
//!
//! The load generator runs on the machine it measures, so every millisecond of CPU it spends is
//! one the server's hashing threads do not get. One OS thread per client (as the first version
//! had) cost 0.10 ms of CPU per sign-in at 16 clients and 0.15 ms at 200, and woke a thread for
//! every reply, preempting a hash each time. Here every client is a task on one tokio
//! current-thread runtime: one thread, woken once for all the replies that are ready. Each client
//! keeps its connection from round to round, as a browser keeps its connection alive, so no
//! round pays for connecting.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::login::{LOGIN_PATH, LoadResult, is_success};

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
    pub(super) fn new(addrs: &[SocketAddr], bodies: &[Vec<u8>], n: usize) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("load generator runtime: {e}"))?;
        let clients = (0..n)
            .map(|i| {
                let addr = addrs[i % addrs.len()];
                Client {
                    addr,
                    request: request(addr, &bodies[i % bodies.len()]),
                    stream: None,
                    buf: Vec::with_capacity(4096),
                }
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
            let mut done = Vec::with_capacity(tasks.len());
            for t in tasks {
                done.push(t.await);
            }
            done
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
        // Latencies stay unsorted: `paired` sorts them once over all its rounds.
        r.elapsed = start.elapsed();
        r
    }
}

/// One simulated person signing in again and again on one connection.
struct Client {
    addr: SocketAddr,
    request: Vec<u8>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Client {
    async fn run(mut self, deadline: Instant) -> (Self, LoadResult) {
        let mut r = LoadResult::default();
        while Instant::now() < deadline {
            let t = Instant::now();
            match tokio::time::timeout(TIMEOUT, self.exchange()).await {
                Ok(Ok(status)) if is_success(status, self.body()) => {
                    r.ok += 1;
                    r.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(Ok(status)) => {
                    r.errors += 1;
                    let text = String::from_utf8_lossy(self.body());
                    r.first_error.get_or_insert_with(|| {
                        format!(
                            "HTTP {status} {}",
                            text.chars().take(200).collect::<String>()
                        )
                    });
                }
                failed => {
                    self.stream = None;
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| match failed {
                        Ok(Err(e)) => e,
                        _ => format!("no reply within {} s", TIMEOUT.as_secs()),
                    });
                    // Don't spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        (self, r)
    }

    /// Sends the sign-in and reads the whole reply into `buf`; its status. A reply without a
    /// `Content-Length` (the server sends one with every API reply) is an error.
    async fn exchange(&mut self) -> Result<u16, String> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            s.set_nodelay(true).map_err(|e| e.to_string())?;
            self.stream = Some(s);
        }
        let stream = self.stream.as_mut().ok_or("no connection")?;
        stream
            .write_all(&self.request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        self.buf.clear();
        let (status, head, length) = loop {
            if let Some(parsed) = head(&self.buf)? {
                break parsed;
            }
            read_more(stream, &mut self.buf, "before a reply").await?;
        };
        while self.buf.len() < head + length {
            read_more(stream, &mut self.buf, "inside a reply").await?;
        }
        self.buf.drain(..head);
        self.buf.truncate(length);
        Ok(status)
    }

    /// The last reply's body.
    fn body(&self) -> &[u8] {
        &self.buf
    }
}

/// Reads what has arrived on `stream` into `buf`; `where_` says where a closed connection left
/// the reply.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, where_: &str) -> Result<(), String> {
    match stream.read_buf(buf).await {
        Ok(0) => Err(format!("connection closed {where_}")),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("read: {e}")),
    }
}

/// The sign-in request to `addr`, whole.
fn request(addr: SocketAddr, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {LOGIN_PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Once `buf` holds a whole response head: its status, the head's length and the body's
/// `Content-Length`.
fn head(buf: &[u8]) -> Result<Option<(u16, usize, usize)>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| "a reply head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {text:?}"))?;
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| format!("a reply without Content-Length: {text:?}"))?;
    Ok(Some((status, end + 4, length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_head_gives_its_status_length_and_where_the_body_starts() {
        let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n\"djJ8\"";
        assert_eq!(head(reply).unwrap(), Some((200, 70, 7)));
        assert_eq!(head(&reply[..40]).unwrap(), None, "not whole yet");
        assert!(
            head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .unwrap_err()
                .contains("Content-Length")
        );
    }
}
