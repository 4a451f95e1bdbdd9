//! A round-robin HTTP proxy in front of several `kmc-server` replicas, as a
//! load balancer would stand: every request (not every connection) goes to
//! the next replica, so one page's calls alternate between them.
//!
//! It runs on a thread of its own with its own runtime, so the blocking
//! parts of a test (the operator's CLI) never stall it; it stops when
//! dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// A running proxy.
pub struct RoundRobin {
    /// Where the browser connects (`127.0.0.1:PORT`).
    pub addr: SocketAddr,
    /// Requests forwarded so far, per replica.
    counts: Arc<Vec<AtomicUsize>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RoundRobin {
    /// Binds a loopback port now; forwarding starts once [`RoundRobin::start`]
    /// names the replicas (their public URL must be the proxy's, so the
    /// proxy's address is needed first).
    pub fn bind() -> std::net::TcpListener {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        listener
    }

    /// Forwards each request on `listener` to the next of `upstreams`
    /// (`host:port`), in turn.
    pub fn start(listener: std::net::TcpListener, upstreams: Vec<String>) -> Self {
        let addr = listener.local_addr().expect("a bound address");
        let counts: Arc<Vec<AtomicUsize>> =
            Arc::new(upstreams.iter().map(|_| AtomicUsize::new(0)).collect());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let counts_in = counts.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the proxy");
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let client: Client<HttpConnector, Incoming> =
                    Client::builder(TokioExecutor::new()).build_http();
                let next = Arc::new(AtomicUsize::new(0));
                let upstreams = Arc::new(upstreams);
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let (client, next, upstreams, counts) = (
                            client.clone(),
                            next.clone(),
                            upstreams.clone(),
                            counts_in.clone(),
                        );
                        tokio::spawn(async move {
                            let service = service_fn(move |req: Request<Incoming>| {
                                let i = next.fetch_add(1, Ordering::Relaxed) % upstreams.len();
                                counts[i].fetch_add(1, Ordering::Relaxed);
                                let upstream = upstreams[i].clone();
                                let client = client.clone();
                                async move { forward(&client, &upstream, req).await }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
        });
        Self {
            addr,
            counts,
            stop: Some(stop),
        }
    }

    /// How many requests each replica has been sent.
    pub fn counts(&self) -> Vec<usize> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

/// Sends `req` to `upstream` with the same path and headers (the `Host`
/// stays the proxy's, as behind a load balancer).
async fn forward(
    client: &Client<HttpConnector, Incoming>,
    upstream: &str,
    mut req: Request<Incoming>,
) -> Result<hyper::Response<Incoming>, std::io::Error> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    *req.uri_mut() = format!("http://{upstream}{path}")
        .parse::<Uri>()
        .map_err(std::io::Error::other)?;
    client.request(req).await.map_err(std::io::Error::other)
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
