//! The windows of the password-reset request limits
//! ([`crate::auth::rate_limit`]).

use super::{Conn, Pool};

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

/// Forgets the limit windows that ended `window` seconds before `now` (they
/// would restart at the next request anyway): keeps the table to the keys
/// seen in the last window.
pub async fn prune_requests(pool: &Pool, now: i64, window: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM request_limits WHERE window_start <= $1")
        .bind(now - window)
        .execute(pool)
        .await
        .map(|d| d.rows_affected())
}
