//! The app's one way to the network: gloo-net requests, each raced against
//! one timeout.
//!
//! Serves [`crate::api`] (the API's POSTs, through [`post_json`]), and
//! [`get_text`] for the files beside `index.html` (`config.json`, the
//! language files of [`crate::i18n`]).

use futures::FutureExt;

/// How long a request may take before the app gives up and says the server
/// cannot be reached.
pub const REQUEST_TIMEOUT_MS: u32 = 10_000;

/// Why a request produced no reply body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// The request could not be sent, the connection failed, or (for
    /// [`get_text`]) the server answered with an error status.
    Network,
    /// No reply within the timeout.
    Timeout,
}

/// Races `work` against a timer of `timeout_ms`. On timeout, `abort` (the
/// request's controller) is aborted, so the browser does not keep the
/// connection open, and the answer is [`TransportError::Timeout`].
pub async fn with_timeout<T>(
    timeout_ms: u32,
    abort: Option<web_sys::AbortController>,
    work: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    let work = work.fuse();
    let timer = gloo_timers::future::TimeoutFuture::new(timeout_ms).fuse();
    futures::pin_mut!(work, timer);
    futures::select! {
        result = work => result,
        () = timer => {
            if let Some(abort) = abort {
                abort.abort();
            }
            Err(TransportError::Timeout)
        }
    }
}

/// POSTs `body` with `Content-Type: application/json` exactly (Kaltura decodes
/// JSON only for that exact value) and returns the reply's text, whatever the
/// HTTP status (Kaltura answers errors with 200, and ours may use 413).
pub async fn post_json(url: &str, body: String, timeout_ms: u32) -> Result<String, TransportError> {
    let abort = web_sys::AbortController::new().ok();
    let request = gloo_net::http::Request::post(url)
        .header("Content-Type", "application/json")
        .abort_signal(abort.as_ref().map(|a| a.signal()).as_ref())
        .body(body)
        .map_err(|_| TransportError::Network)?;
    with_timeout(timeout_ms, abort, async move {
        let response = request.send().await.map_err(|_| TransportError::Network)?;
        response.text().await.map_err(|_| TransportError::Network)
    })
    .await
}

/// The text at `url`, revalidated with the server (so a deployment's edits
/// to `config.json` or a language file are seen at once); `None` on a
/// failure, a non-2xx answer or after [`REQUEST_TIMEOUT_MS`].
pub async fn get_text(url: &str) -> Option<String> {
    let abort = web_sys::AbortController::new().ok();
    let request = gloo_net::http::Request::get(url)
        .cache(web_sys::RequestCache::NoCache)
        .abort_signal(abort.as_ref().map(|a| a.signal()).as_ref());
    with_timeout(REQUEST_TIMEOUT_MS, abort, async move {
        let response = request.send().await.map_err(|_| TransportError::Network)?;
        if !response.ok() {
            return Err(TransportError::Network);
        }
        response.text().await.map_err(|_| TransportError::Network)
    })
    .await
    .ok()
}
