//! The HTTP listener and the client address.
//!
//! - [`serve`]: accepts connections with a cap on how many are open at once
//!   (past it a new connection is answered `503` with a Kaltura error
//!   object, without its request being read), a header-read timeout
//!   that also ends idle keep-alive connections (so slow or silent clients
//!   cannot hold sockets), and graceful shutdown on Ctrl-C / SIGTERM.
//! - [`ClientAddr`]: who is asking, for the per-client limits. The peer
//!   address, or, only when the peer is a trusted proxy, the right-most
//!   address in `X-Forwarded-For` that is not itself a trusted proxy. IPv6
//!   clients are keyed by their /64, which is what one subscriber gets.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use ipnet::IpNet;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Longest wait for a request's headers, and for the next request on an
    /// idle keep-alive connection.
    pub header_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// Serves `router` on `listener` until the process is interrupted (requests
/// in flight are finished first), passing the peer address to handlers as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let overflow = Arc::new(Semaphore::new(limits.max_connections / 4 + 1));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off, never spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    refused,
                    max = limits.max_connections,
                    "connection cap reached: answering new connections busy"
                );
            }
            // Past the cap a connection still gets an answer, so a client
            // can tell "busy" from a network failure: a fixed reply, sent
            // without reading the request, from a second, smaller pool.
            // Past that too, it is closed at once.
            if let Ok(permit) = overflow.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    answer_busy(stream).await;
                    drop(permit);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(
                    router
                        .oneshot(req.map(Body::new))
                        .await
                        .unwrap_or_else(|e| match e {}),
                )
            }
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, garbage): nothing
            // to answer, and not worth more than a debug line.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("connections still open 30 s after shutdown began: closing them");
        }
    }
    Ok(())
}

/// The reply to a connection past the cap: a Kaltura error object
/// (`RESOURCE_IS_RESERVED`) with status 503 and `Connection: close`.
pub const BUSY_REPLY: &str = "HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/json\r\n\
Cache-Control: no-store\r\n\
Retry-After: 1\r\n\
Connection: close\r\n\
Content-Length: 152\r\n\r\n\
{\"objectType\":\"KalturaAPIException\",\"code\":\"RESOURCE_IS_RESERVED\",\
\"message\":\"The server has too many connections open: try again in a moment\",\"args\":[]}";

/// Sends [`BUSY_REPLY`], then reads (and drops) what the client sent for a
/// moment before closing, so the close does not reset the connection before
/// the client has read the reply.
async fn answer_busy(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let write = async {
        stream.write_all(BUSY_REPLY.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}

/// Proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From CIDRs (`10.0.0.0/8`, `::1/128`) or bare addresses.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        items
            .iter()
            .map(|s| {
                let s = s.as_ref().trim();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("--trusted-proxy {s:?} is not an address or CIDR range"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, unless the peer is trusted, then the
    /// right-most `X-Forwarded-For` hop that is not trusted (hops to its
    /// left were written by the client and prove nothing). A malformed hop
    /// stops the walk at the last good address.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = canonical(ip);
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The key the per-client limits count under: the IPv4 address, or the
/// IPv6 /64 (one subscriber's prefix: counting single IPv6 addresses would
/// let one client rotate through 2^64 of them).
pub fn client_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
    }
}

/// The client of a request as the API sees it.
pub fn request_client(
    proxies: &TrustedProxies,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    peer.map(|p| proxies.client_ip(p.ip(), headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("203.0.113.9"), &xff("1.2.3.4")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let p = TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.7"]).unwrap();
        // The client forged the left-most entry; the proxy appended the truth.
        assert_eq!(
            p.client_ip(ip("10.1.1.1"), &xff("6.6.6.6, 198.51.100.4")),
            ip("198.51.100.4")
        );
        // Two trusted proxies in a row are skipped.
        assert_eq!(
            p.client_ip(ip("10.1.1.1"), &xff("198.51.100.4, 192.0.2.7")),
            ip("198.51.100.4")
        );
        // Several headers count as one list.
        let mut h = xff("6.6.6.6");
        h.append("x-forwarded-for", HeaderValue::from_static("198.51.100.5"));
        assert_eq!(p.client_ip(ip("10.1.1.1"), &h), ip("198.51.100.5"));
        // A proxy that sent no header: the proxy itself.
        assert_eq!(
            p.client_ip(ip("10.1.1.1"), &HeaderMap::new()),
            ip("10.1.1.1")
        );
        // Garbage stops the walk at the last good address.
        assert_eq!(
            p.client_ip(ip("10.1.1.1"), &xff("198.51.100.4, not-an-ip")),
            ip("10.1.1.1")
        );
        // An untrusted peer is never looked past.
        assert_eq!(
            p.client_ip(ip("198.51.100.9"), &xff("1.2.3.4")),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn the_busy_reply_is_a_kaltura_error_with_its_exact_length() {
        let (head, body) = BUSY_REPLY.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["objectType"], "KalturaAPIException");
        assert_eq!(v["code"], "RESOURCE_IS_RESERVED");
    }

    #[test]
    fn trusted_proxy_ranges_are_parsed_or_refused_clearly() {
        assert!(TrustedProxies::parse(&["::1", "fd00::/8", "127.0.0.1/32"]).is_ok());
        let e = TrustedProxies::parse(&["10.0.0.0/33"]).unwrap_err();
        assert!(e.contains("10.0.0.0/33"), "{e}");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1")),
            client_key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            client_key(ip("2001:db8:1:2::1")),
            client_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(client_key(ip("192.0.2.1")), "192.0.2.1");
    }
}
