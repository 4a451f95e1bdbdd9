//! Limits for `user.resetPassword`: 10 requests per email and 100 per
//! client (address, IPv6 /64) per 10-minute window. Over the limit the
//! request is dropped silently (the action still answers `null`), so the
//! limit tells an attacker nothing about whether an email exists.
//!
//! The counts live in the database (`request_limits`), so they hold across
//! every replica of a PostgreSQL deployment (see
//! [`take_request`] for why parallel requests cannot slip
//! past). A key's window opens at its first request and lasts [`WINDOW`]
//! seconds (a fixed window: at most twice the limit can pass around a
//! window's end, which still bounds the mail an attacker can cause).
//!
//! Keys are SHA-256 digests, so an email typed at the reset form is never
//! stored; only an email that is a valid address of at most 254 characters
//! keys a limit at all (the caller refuses the rest first). Growth is
//! bounded: every [`PRUNE_EVERY`]th request deletes the windows that have
//! ended, so the table holds about the keys of the last window.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};

use crate::store::{Conn, Pool};

/// Window length in seconds.
pub const WINDOW: i64 = 10 * 60;
/// Requests allowed per email per window.
pub const PER_EMAIL: i64 = 10;
/// Requests allowed per client address per window.
pub const PER_IP: i64 = 100;
/// Requests between two prunings of ended windows.
pub const PRUNE_EVERY: u64 = 256;

/// Counts reset requests in the database and prunes ended windows.
#[derive(Default)]
pub struct ResetLimiter {
    requests: AtomicU64,
}

fn key(kind: &str, value: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    h.finalize().to_vec()
}

impl ResetLimiter {
    /// Records one request for `email` from the client `client` (its limit
    /// key) at `now`; false when either limit is already reached (then
    /// nothing is recorded). The email's count and the client's are taken
    /// in one transaction: a refusal by the second undoes the first.
    pub async fn allow(
        &self,
        pool: &Pool,
        email: &str,
        client: Option<&str>,
        now: i64,
    ) -> sqlx::Result<bool> {
        if self.requests.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            // Each request adds at most two keys: a batch of this size keeps up.
            prune_requests(pool, now, WINDOW, 4 * PRUNE_EVERY as i64).await?;
        }
        let email_key = key("reset-email", &email.trim().to_ascii_lowercase());
        let mut tx = pool.begin().await?;
        if !take_request(&mut tx, &email_key, now, WINDOW, PER_EMAIL).await? {
            return Ok(false);
        }
        if let Some(client) = client
            && !take_request(&mut tx, &key("reset-client", client), now, WINDOW, PER_IP).await?
        {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// One request counted against a limit of `limit` per `window` seconds for
/// `key`, inside the caller's transaction: false (nothing counted) when the
/// key's window is full. The window opens at a key's first request and
/// lasts `window` seconds; one upsert whose `WHERE` refuses a full window,
/// so parallel requests on any number of replicas never count past the
/// limit (the row lock orders them).
pub async fn take_request(
    tx: &mut Conn,
    key: &[u8],
    now: i64,
    window: i64,
    limit: i64,
) -> sqlx::Result<bool> {
    let count: Option<i64> = sqlx::query_scalar(
        "INSERT INTO request_limits (key, window_start, count) VALUES ($1, $2, 1)
         ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN request_limits.window_start <= $2 - $3 THEN 1
                          ELSE request_limits.count + 1 END,
             window_start = CASE WHEN request_limits.window_start <= $2 - $3 THEN $2
                                 ELSE request_limits.window_start END
         WHERE request_limits.window_start <= $2 - $3 OR request_limits.count < $4
         RETURNING count",
    )
    .bind(key)
    .bind(now)
    .bind(window)
    .bind(limit)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(count.is_some())
}

/// Forgets at most `batch` limit windows that ended (opened `window` or
/// more seconds before `now`; they would restart at the next request
/// anyway): keeps the table to the keys seen in the last window. The number
/// deleted.
pub async fn prune_requests(pool: &Pool, now: i64, window: i64, batch: i64) -> sqlx::Result<u64> {
    crate::store::delete_batch(
        pool,
        "request_limits",
        "key",
        "window_start <= $1",
        now - window,
        batch,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool() -> (tempfile::TempDir, Pool) {
        crate::store::test_pool().await
    }

    async fn rows(pool: &Pool) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM request_limits")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn ten_per_email_then_dropped_until_the_window_passes() {
        let (_d, pool) = pool().await;
        let l = ResetLimiter::default();
        for _ in 0..PER_EMAIL {
            assert!(
                l.allow(&pool, "a@b.c", Some("1.2.3.4"), 1000)
                    .await
                    .unwrap()
            );
        }
        assert!(
            !l.allow(&pool, "A@b.c", Some("1.2.3.5"), 1001)
                .await
                .unwrap()
        );
        assert!(
            l.allow(&pool, "a@b.c", Some("1.2.3.4"), 1000 + WINDOW)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_hundred_per_address_across_emails_and_a_refusal_counts_nothing() {
        let (_d, pool) = pool().await;
        let l = ResetLimiter::default();
        for i in 0..PER_IP {
            assert!(
                l.allow(&pool, &format!("u{i}@b.c"), Some("9.9.9.9"), 0)
                    .await
                    .unwrap()
            );
        }
        // Refused by the address: the email's count is given back.
        for _ in 0..PER_EMAIL {
            assert!(!l.allow(&pool, "new@b.c", Some("9.9.9.9"), 1).await.unwrap());
        }
        assert!(l.allow(&pool, "new@b.c", Some("8.8.8.8"), 1).await.unwrap());
    }

    #[tokio::test]
    async fn ended_windows_are_pruned_so_the_table_keeps_only_recent_keys() {
        let (_d, pool) = pool().await;
        let l = ResetLimiter::default();
        for i in 0..PRUNE_EVERY as i64 {
            l.allow(
                &pool,
                &format!("u{i}@b.c"),
                Some(&format!("10.0.0.{}", i % 200)),
                i,
            )
            .await
            .unwrap();
        }
        let before = rows(&pool).await;
        assert!(before > PRUNE_EVERY as i64);
        // The next batch, a window later: its pruning drops every older key.
        for i in 0..PRUNE_EVERY as i64 {
            l.allow(&pool, &format!("v{i}@b.c"), None, 10 * WINDOW + i)
                .await
                .unwrap();
        }
        let after = rows(&pool).await;
        assert!(after <= PRUNE_EVERY as i64, "{after} rows left");
    }
}
