//! A small async HTTP/1.1 client over tokio's `TcpStream`, for loopback attacks on kmc-server.
//!
//! Hand-written rather than a client crate because the attacks need what clients hide: the
//! source address of each connection (any `127.x.y.z` is loopback on Linux, so one machine can
//! look like many clients), exact control over keep-alive, and telling a dropped connection
//! (closed before any reply byte) from a timeout or a reply.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

/// Why a request got no reply.
#[derive(Debug)]
pub enum Failure {
    /// Connecting failed (refused, or no answer to the handshake in time).
    Connect(String),
    /// The server closed or reset the connection before a complete reply.
    Dropped(String),
    /// No complete reply within the timeout.
    Timeout,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect failed: {e}"),
            Self::Dropped(e) => write!(f, "connection dropped: {e}"),
            Self::Timeout => write!(f, "timed out"),
        }
    }
}

/// A reply: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What a reply body is, read the way a Kaltura client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A `KalturaAPIException` with its code.
    Error(String),
    /// A value an action returns: a JSON string, `null`, or an object with a `Kaltura…` type.
    Value(serde_json::Value),
    /// Anything else: not JSON, or JSON no action returns.
    Garbled,
}

impl Reply {
    /// Reads the body as a Kaltura reply.
    pub fn outcome(&self) -> Outcome {
        classify(&self.body)
    }

    /// The exception code, if the body is one.
    pub fn code(&self) -> Option<String> {
        match self.outcome() {
            Outcome::Error(c) => Some(c),
            _ => None,
        }
    }

    /// The body as text, cut to `n` characters (for the report).
    pub fn text(&self, n: usize) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(n)
            .collect()
    }
}

/// Reads a body as a Kaltura reply (see [`Outcome`]).
pub fn classify(body: &[u8]) -> Outcome {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Outcome::Garbled;
    };
    match &v {
        serde_json::Value::Object(m) => {
            let ty = m.get("objectType").and_then(|t| t.as_str()).unwrap_or("");
            if ty == "KalturaAPIException" {
                match m.get("code").and_then(|c| c.as_str()) {
                    Some(code) if !code.is_empty() && m.get("message").is_some() => {
                        Outcome::Error(code.to_string())
                    }
                    _ => Outcome::Garbled,
                }
            } else if ty.starts_with("Kaltura") {
                Outcome::Value(v)
            } else {
                Outcome::Garbled
            }
        }
        serde_json::Value::String(_) | serde_json::Value::Null => Outcome::Value(v),
        _ => Outcome::Garbled,
    }
}

/// The path of an action, as the app calls it.
pub fn action_path(service: &str, action: &str) -> String {
    format!("/api_v3/service/{service}/action/{action}?format=1")
}

/// A loopback source address for simulated client number `i`: `127.1.x.y`, so thousands of
/// clients can each have their own address (per-address limits then see separate clients).
pub fn client_ip(i: usize) -> IpAddr {
    let i = i % (250 * 250);
    IpAddr::V4(Ipv4Addr::new(
        127,
        1,
        (1 + i / 250) as u8,
        (1 + i % 250) as u8,
    ))
}

/// Opens a connection to `addr` from `from` (any port), within `timeout`.
pub async fn connect(
    addr: SocketAddr,
    from: Option<IpAddr>,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    let fut = async {
        let socket = TcpSocket::new_v4().map_err(|e| Failure::Connect(e.to_string()))?;
        if let Some(ip) = from {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| Failure::Connect(format!("bind {ip}: {e}")))?;
        }
        let s = socket
            .connect(addr)
            .await
            .map_err(|e| Failure::Connect(e.to_string()))?;
        let _ = s.set_nodelay(true);
        Ok(s)
    };
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or(Err(Failure::Timeout))
}

/// One keep-alive connection from a fixed source address; reconnects when needed.
pub struct Conn {
    addr: SocketAddr,
    from: Option<IpAddr>,
    stream: Option<BufReader<TcpStream>>,
    /// How many times a kept-alive connection turned out closed and the request was re-sent on a
    /// fresh one (HTTP clients do this; it is not a dropped request).
    pub stale_retries: u64,
}

impl Conn {
    /// A connection that opens lazily.
    pub fn new(addr: SocketAddr, from: Option<IpAddr>) -> Self {
        Self {
            addr,
            from,
            stream: None,
            stale_retries: 0,
        }
    }

    /// Wraps an already open stream.
    pub fn from_stream(addr: SocketAddr, stream: TcpStream) -> Self {
        Self {
            addr,
            from: None,
            stream: Some(BufReader::new(stream)),
            stale_retries: 0,
        }
    }

    /// POSTs a JSON body to an action.
    pub async fn call(
        &mut self,
        service: &str,
        action: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Reply, Failure> {
        let body = body.to_string();
        self.request(
            "POST",
            &action_path(service, action),
            Some("application/json"),
            body.as_bytes(),
            timeout,
        )
        .await
    }

    /// Sends one request and reads the whole reply within `timeout`. A kept-alive connection
    /// that fails before any reply byte is retried once on a fresh connection; a failure there
    /// is the server's.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Reply, Failure> {
        let reused = self.stream.is_some();
        let first =
            tokio::time::timeout(timeout, self.try_request(method, path, content_type, body))
                .await
                .unwrap_or(Err((Failure::Timeout, false)));
        match first {
            Ok(r) => Ok(r),
            Err((Failure::Dropped(_), false)) if reused => {
                self.stale_retries += 1;
                self.stream = None;
                tokio::time::timeout(timeout, self.try_request(method, path, content_type, body))
                    .await
                    .unwrap_or(Err((Failure::Timeout, false)))
                    .map_err(|(e, _)| e)
            }
            Err((e, _)) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    /// The bool in the error: whether any reply byte had arrived.
    async fn try_request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, (Failure, bool)> {
        if self.stream.is_none() {
            let s = connect(self.addr, self.from, Duration::from_secs(10))
                .await
                .map_err(|e| (e, false))?;
            self.stream = Some(BufReader::new(s));
        }
        let result = self.exchange(method, path, content_type, body).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, (Failure, bool)> {
        let addr = self.addr;
        let reader = self
            .stream
            .as_mut()
            .ok_or((Failure::Dropped("no connection".into()), false))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str("Content-Type: ");
            head.push_str(ct);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        let dropped = |e: std::io::Error, got: bool| (Failure::Dropped(e.to_string()), got);
        // A server may answer (e.g. 413) and close before reading a large body: then the write
        // fails but a reply may be waiting, so read anyway.
        let write_err = reader.get_mut().write_all(&out).await.err();

        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) => {
                let why = write_err.map_or("closed before replying".to_string(), |e| {
                    format!("closed before replying (write: {e})")
                });
                return Err((Failure::Dropped(why), false));
            }
            Ok(_) => {}
            Err(e) => return Err(dropped(e, false)),
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| (Failure::Dropped(format!("bad status line {line:?}")), true))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = write_err.is_some();
        loop {
            line.clear();
            if reader
                .read_line(&mut line)
                .await
                .map_err(|e| dropped(e, true))?
                == 0
            {
                return Err((Failure::Dropped("closed inside the headers".into()), true));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let Some((name, value)) = l.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                reader
                    .read_line(&mut line)
                    .await
                    .map_err(|e| dropped(e, true))?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| (Failure::Dropped("bad chunk size".into()), true))?;
                if size == 0 {
                    loop {
                        line.clear();
                        let n = reader
                            .read_line(&mut line)
                            .await
                            .map_err(|e| dropped(e, true))?;
                        if n == 0 || line.trim().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                reader
                    .read_exact(&mut body[start..])
                    .await
                    .map_err(|e| dropped(e, true))?;
                line.clear();
                reader
                    .read_line(&mut line)
                    .await
                    .map_err(|e| dropped(e, true))?;
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            reader
                .read_exact(&mut body)
                .await
                .map_err(|e| dropped(e, true))?;
        } else {
            reader
                .read_to_end(&mut body)
                .await
                .map_err(|e| dropped(e, true))?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok(Reply { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_values_and_garbage_are_told_apart() {
        assert_eq!(
            classify(br#"{"code":"X","message":"m","objectType":"KalturaAPIException","args":[]}"#),
            Outcome::Error("X".into())
        );
        assert!(matches!(classify(b"\"djJ8\""), Outcome::Value(_)));
        assert!(matches!(classify(b"null"), Outcome::Value(_)));
        assert!(matches!(
            classify(br#"{"objectType":"KalturaUser"}"#),
            Outcome::Value(_)
        ));
        assert_eq!(classify(b"<html>"), Outcome::Garbled);
        assert_eq!(classify(b"{}"), Outcome::Garbled);
        assert_eq!(classify(b"42"), Outcome::Garbled);
        assert_eq!(
            classify(br#"{"objectType":"KalturaAPIException"}"#),
            Outcome::Garbled
        );
    }

    #[test]
    fn client_addresses_are_distinct_loopback_addresses() {
        assert_eq!(client_ip(0).to_string(), "127.1.1.1");
        assert_eq!(client_ip(250).to_string(), "127.1.2.1");
        assert_ne!(client_ip(1), client_ip(2));
        assert!(client_ip(12_345).is_loopback());
    }
}
