//! HTTP/1.1 to kmc-server on loopback, one connection at a time, through hyper's client
//! connection API: the tool opens each TCP connection itself, so it chooses the connection's
//! source address (any `127.x.y.z` is loopback on Linux, so one machine looks like many
//! clients) and when a connection is reused, and it tells a dropped connection from a timeout
//! or a reply. hyper writes the requests and reads the replies.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

/// Why a request got no reply.
#[derive(Debug)]
pub enum Failure {
    /// Connecting failed (refused, or no answer to the handshake in time), or the request
    /// could not be written at all.
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

/// Opens a TCP connection to `addr` from `from` (any port), within `timeout`.
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

/// Builds one request as the tool sends it: the `Host` header, a `Content-Type` when given,
/// and the body (hyper adds its length).
pub fn build(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<hyper::Request<Full<Bytes>>, hyper::http::Error> {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, addr.to_string());
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    req.body(Full::new(Bytes::copy_from_slice(body)))
}

/// One keep-alive connection from a fixed source address; reconnects when needed.
pub struct Conn {
    addr: SocketAddr,
    from: Option<IpAddr>,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// How many times a kept-alive connection turned out closed while a request was sent on it,
    /// and the request was sent again on a fresh one (HTTP clients do this; it is not a dropped
    /// request).
    pub stale_retries: u64,
}

impl Conn {
    /// A connection that opens lazily.
    pub fn new(addr: SocketAddr, from: Option<IpAddr>) -> Self {
        Self {
            addr,
            from,
            sender: None,
            stale_retries: 0,
        }
    }

    /// Speaks HTTP over an already open stream.
    pub async fn from_stream(addr: SocketAddr, stream: TcpStream) -> Result<Self, Failure> {
        Ok(Self {
            addr,
            from: None,
            sender: Some(handshake(stream).await?),
            stale_retries: 0,
        })
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
            &kaltura_api::action_path(service, action),
            Some("application/json"),
            body.as_bytes(),
            timeout,
        )
        .await
    }

    /// Sends one request and reads the whole reply within `timeout`. A kept-alive connection
    /// the server has closed, found before or while sending, is replaced once by a fresh one; a
    /// failure there is the server's.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Reply, Failure> {
        let addr = self.addr;
        let req = || {
            build(addr, method, path, content_type, body)
                .map_err(|e| Failure::Connect(format!("cannot build the request: {e}")))
        };
        req()?;
        let result = tokio::time::timeout(timeout, async {
            // A connection the server closed after its last reply (e.g. `Connection: close`)
            // is replaced before anything is sent on it.
            if self.sender.as_ref().is_some_and(SendRequest::is_closed) {
                self.sender = None;
            }
            let reused = self.sender.is_some();
            match self.exchange(req()?).await {
                Err(Attempt { stale: true, .. }) if reused => {
                    self.stale_retries += 1;
                    self.exchange(req()?).await.map_err(|a| a.failure)
                }
                other => other.map_err(|a| a.failure),
            }
        })
        .await
        .unwrap_or(Err(Failure::Timeout));
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, req: hyper::Request<Full<Bytes>>) -> Result<Reply, Attempt> {
        let sender = match self.sender.as_mut() {
            Some(s) => s,
            None => {
                let stream = connect(self.addr, self.from, Duration::from_secs(10))
                    .await
                    .map_err(Attempt::other)?;
                self.sender
                    .insert(handshake(stream).await.map_err(Attempt::other)?)
            }
        };
        // Until a response head arrives, a failure may be a kept-alive connection the server had
        // already closed (the write fails, or the read meets its end).
        let sent = async {
            sender.ready().await?;
            sender.send_request(req).await
        }
        .await;
        let response = sent.map_err(|e| {
            self.sender = None;
            Attempt {
                failure: Failure::Dropped(e.to_string()),
                stale: true,
            }
        })?;
        let status = response.status().as_u16();
        match response.into_body().collect().await {
            Ok(body) => Ok(Reply {
                status,
                body: body.to_bytes().to_vec(),
            }),
            Err(e) => {
                self.sender = None;
                Err(Attempt::other(Failure::Dropped(e.to_string())))
            }
        }
    }
}

/// One request on `stream`, for a server that may speak first: a connection it refuses (past
/// its connection limit) gets a fixed reply as soon as it is accepted, before any request,
/// which an HTTP client library treats as a broken connection. The request is written as
/// bytes and whatever reply arrives, before or after it, is read with `httparse`.
pub async fn exchange_raw(
    mut stream: TcpStream,
    addr: SocketAddr,
    service: &str,
    action: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<Reply, Failure> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        kaltura_api::action_path(service, action),
        body.len()
    );
    let exchange = async {
        // A refused connection may already be closed for writing; its reply is read anyway.
        let written = stream.write_all(request.as_bytes()).await;
        let mut buf = Vec::with_capacity(4096);
        loop {
            if let Some(reply) = parse_reply(&buf)? {
                return Ok(reply);
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) => {
                    let why = match &written {
                        Err(e) => format!("closed before a whole reply (write: {e})"),
                        Ok(()) => "closed before a whole reply".to_owned(),
                    };
                    return Err(Failure::Dropped(why));
                }
                Ok(_) => {}
                Err(e) => return Err(Failure::Dropped(e.to_string())),
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(Failure::Timeout))
}

/// A whole reply in `buf` (head parsed by `httparse`, body by its `Content-Length`), or `None`
/// while more is needed.
fn parse_reply(buf: &[u8]) -> Result<Option<Reply>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = head
        .parse(buf)
        .map_err(|e| Failure::Dropped(format!("a reply that is not HTTP: {e}")))?
    else {
        return Ok(None);
    };
    let status = head.code.unwrap_or(0);
    let length = head
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .ok_or_else(|| Failure::Dropped("a reply without Content-Length".into()))?;
    Ok((buf.len() >= head_len + length).then(|| Reply {
        status,
        body: buf[head_len..head_len + length].to_vec(),
    }))
}

/// A failed exchange, and whether it looks like a kept-alive connection the server had
/// already closed (it failed before a response head arrived).
struct Attempt {
    failure: Failure,
    stale: bool,
}

impl Attempt {
    fn other(failure: Failure) -> Self {
        Self {
            failure,
            stale: false,
        }
    }
}

/// Starts HTTP/1.1 over `stream`; the connection's task runs until the server or the tool
/// closes it.
async fn handshake(stream: TcpStream) -> Result<SendRequest<Full<Bytes>>, Failure> {
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
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

    #[test]
    fn a_raw_reply_is_whole_once_its_content_length_is_in() {
        let reply = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 6\r\n\r\n\"djJ8\"";
        let r = parse_reply(reply).ok().flatten().unwrap();
        assert_eq!((r.status, r.body.as_slice()), (503, b"\"djJ8\"".as_slice()));
        assert!(matches!(parse_reply(&reply[..40]), Ok(None)));
        assert!(matches!(parse_reply(&reply[..reply.len() - 1]), Ok(None)));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(matches!(parse_reply(chunked), Err(Failure::Dropped(_))));
    }

    #[tokio::test]
    async fn a_reply_is_read_and_a_closed_kept_alive_connection_is_replaced() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A server that answers one request per connection, then closes it without saying so.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for n in 0..2 {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0; 4096];
                let _ = s.read(&mut buf).await.unwrap();
                let body = format!("\"ks{n}\"");
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                s.write_all(head.as_bytes()).await.unwrap();
                s.write_all(body.as_bytes()).await.unwrap();
                s.shutdown().await.unwrap();
            }
        });
        let mut conn = Conn::new(addr, None);
        let json = serde_json::json!({});
        let t = Duration::from_secs(5);
        let first = conn.call("user", "get", &json, t).await.unwrap();
        assert_eq!((first.status, first.text(10)), (200, "\"ks0\"".to_owned()));
        let second = conn.call("user", "get", &json, t).await.unwrap();
        assert_eq!(second.text(10), "\"ks1\"");
        // Whether the close was seen before the second request or while sending it is a race;
        // either way the request was sent at most twice.
        assert!(conn.stale_retries <= 1);
    }
}
