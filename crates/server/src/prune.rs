//! The server's own pruning, so that no table grows with use: `serve`
//! runs a [`pass`] every `--prune-interval-secs` ([`spawn`]). A pass
//! deletes, in small batches (see [`crate::store::delete_batch`]):
//! - sessions ended or expired at least one interval ago
//!   ([`crate::auth::sessions::prune`]): until then their KS is still
//!   answered `EXPIRED` or `LOGOUT`, afterwards `INVALID`;
//! - links expired a week ago or more ([`crate::auth::links::prune`]; a
//!   spent link is deleted as it is used);
//! - `resetPassword` limit windows that have ended
//!   ([`crate::auth::rate_limit::prune_requests`]).
//!
//! What is not here, because it cannot grow: a login's guess budget, its
//! block and its last used TOTP step are columns of its own row, and the
//! per-client budget is an in-memory LRU of bounded size.
//!
//! Several replicas each run their own pruner on the shared database; a
//! row deleted twice is deleted once, and PostgreSQL's `SKIP LOCKED` keeps
//! their batches apart, so no replica needs to know of the others.

use std::time::Duration;

use crate::AppState;
use crate::auth::{links, rate_limit, sessions};

/// Rows deleted per statement: each write stays a few milliseconds long,
/// so a sign-in waits for at most one batch.
pub const BATCH: i64 = 500;

/// The default time between two passes, and how long an ended or expired
/// session stays before it is deleted.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// What one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Ended or expired sessions.
    pub sessions: u64,
    /// Expired links.
    pub links: u64,
    /// Ended `resetPassword` limit windows.
    pub request_limits: u64,
}

/// One pass at the state's current time: every kind, batch after batch,
/// until a batch comes back short. Sessions ended or expired `kept_secs`
/// or more ago are deleted.
pub async fn pass(state: &AppState, kept_secs: i64) -> sqlx::Result<Pruned> {
    let now = state.now();
    let pool = &state.pool;
    Ok(Pruned {
        sessions: repeat(|| sessions::prune(pool, now - kept_secs, BATCH)).await?,
        links: repeat(|| links::prune(pool, now, BATCH)).await?,
        request_limits: repeat(|| rate_limit::prune_requests(pool, now, rate_limit::WINDOW, BATCH))
            .await?,
    })
}

/// Runs `batch` until it deletes fewer than [`BATCH`] rows; the total. The
/// task yields between batches, so requests get the database in between.
async fn repeat<F, Fut>(mut batch: F) -> sqlx::Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<u64>>,
{
    let mut total = 0;
    loop {
        let n = batch().await?;
        total += n;
        // Below one batch, every statement of it came back short (sessions
        // run two, of up to a batch each).
        if n < BATCH.unsigned_abs() {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Runs a [`pass`] now and then every `interval` for as long as the runtime
/// runs; sessions are kept one `interval` after they end. A failed pass is
/// logged and tried again at the next tick.
pub fn spawn(state: AppState, interval: Duration) -> tokio::task::JoinHandle<()> {
    let kept_secs = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX / 2);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match pass(&state, kept_secs).await {
                Ok(p) if p != Pruned::default() => tracing::debug!(
                    sessions = p.sessions,
                    links = p.links,
                    request_limits = p.request_limits,
                    "pruned"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning failed; trying again later"),
            }
        }
    })
}
