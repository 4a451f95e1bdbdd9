//! The per-login failed-attempt counter.
//!
//! A failure is counted with one `UPDATE … RETURNING` that increments the
//! counter and, on reaching the limit, sets the block, so parallel requests
//! each get a distinct count: exactly one sees the limit
//! (`LOGIN_RETRIES_EXCEEDED`) and the ones after it see `LOGIN_BLOCKED`,
//! whatever their code was. A success is accepted only by an `UPDATE` whose
//! `WHERE` says "not blocked", so a correct guess racing past the limit is
//! refused too: no more guesses get an answer than the limit allows.
//! `MISSING_OTP` never reaches this module; a success resets the counter.

use sqlx::SqlitePool;

/// The limits in force.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Consecutive failures that trigger a block.
    pub max_attempts: i64,
    /// How long a block lasts, in seconds.
    pub block_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            block_seconds: 15 * 60,
        }
    }
}

/// What a counted failure means for the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Below the limit: answer with the failure's own code.
    Counted,
    /// This failure reached the limit: `LOGIN_RETRIES_EXCEEDED`.
    LimitReached,
    /// The login was already blocked: `LOGIN_BLOCKED`.
    Blocked,
}

/// What an attempted success means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// Accepted; the counter is reset.
    Accepted,
    /// The login is blocked: the right answer does not count now.
    Blocked,
    /// (TOTP only) the time step was already used: a replay.
    Replay,
}

/// True while a block is in force.
pub fn is_blocked(blocked_until: Option<i64>, now: i64) -> bool {
    blocked_until.is_some_and(|t| t > now)
}

/// Counts one failed attempt atomically.
pub async fn record_failure(
    pool: &SqlitePool,
    login_id: i64,
    now: i64,
    limits: Limits,
) -> sqlx::Result<Failure> {
    // All right-hand sides read the row as it was before the update; an
    // expired block starts a fresh count.
    let count: Option<i64> = sqlx::query_scalar(
        "UPDATE logins SET
            failed_attempts = CASE WHEN blocked_until IS NOT NULL AND blocked_until <= ?2
                                   THEN 1 ELSE failed_attempts + 1 END,
            blocked_until = CASE
                WHEN blocked_until IS NOT NULL AND blocked_until > ?2 THEN blocked_until
                WHEN (CASE WHEN blocked_until IS NOT NULL AND blocked_until <= ?2
                           THEN 1 ELSE failed_attempts + 1 END) >= ?3 THEN ?2 + ?4
                ELSE NULL END
         WHERE id = ?1
         RETURNING failed_attempts",
    )
    .bind(login_id)
    .bind(now)
    .bind(limits.max_attempts)
    .bind(limits.block_seconds)
    .fetch_optional(pool)
    .await?;
    let count = count.unwrap_or(0);
    Ok(match count.cmp(&limits.max_attempts) {
        std::cmp::Ordering::Less => Failure::Counted,
        std::cmp::Ordering::Equal => Failure::LimitReached,
        std::cmp::Ordering::Greater => Failure::Blocked,
    })
}

/// Accepts a success (password-only login, password change) unless blocked;
/// resets the counter.
pub async fn record_success(pool: &SqlitePool, login_id: i64, now: i64) -> sqlx::Result<Success> {
    let done = sqlx::query(
        "UPDATE logins SET failed_attempts = 0, blocked_until = NULL
         WHERE id = ?1 AND (blocked_until IS NULL OR blocked_until <= ?2)",
    )
    .bind(login_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(if done.rows_affected() == 1 {
        Success::Accepted
    } else {
        Success::Blocked
    })
}

/// Accepts a correct TOTP code for time step `step`: in one statement it
/// checks that the login is not blocked and that no step at or after this
/// one was used before, records the step and resets the counter.
pub async fn record_otp_success(
    pool: &SqlitePool,
    login_id: i64,
    step: i64,
    now: i64,
) -> sqlx::Result<Success> {
    let done = sqlx::query(
        "UPDATE logins SET failed_attempts = 0, blocked_until = NULL, last_otp_step = ?2
         WHERE id = ?1 AND (blocked_until IS NULL OR blocked_until <= ?3)
           AND (last_otp_step IS NULL OR last_otp_step < ?2)",
    )
    .bind(login_id)
    .bind(step)
    .bind(now)
    .execute(pool)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(Success::Accepted);
    }
    let blocked_until: Option<i64> =
        sqlx::query_scalar("SELECT blocked_until FROM logins WHERE id = ?1")
            .bind(login_id)
            .fetch_optional(pool)
            .await?
            .flatten();
    Ok(if is_blocked(blocked_until, now) {
        Success::Blocked
    } else {
        Success::Replay
    })
}
