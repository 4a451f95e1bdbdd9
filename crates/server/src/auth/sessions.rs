//! Sessions (KS): an opaque 256-bit random token, stored only as its SHA-256
//! with the login, account, privileges and expiry (the requested expiry, at
//! most 24 hours). `session.end` revokes it; an expired or revoked KS is
//! answered `INVALID_KS` with `args.KSID` `EXPIRED` or `LOGOUT`.

use kaltura_api::codes;
use sqlx::SqlitePool;

use super::{random_token, token_hash};
use crate::error::ApiError;

/// Longest session, in seconds (24 h); also the default.
pub const MAX_EXPIRY: i64 = 24 * 3600;

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub login_id: i64,
    pub partner_id: i64,
    pub expires_at: i64,
}

/// The lifetime to grant for a requested `expiry` (seconds): missing, zero
/// or negative means the default; anything longer is capped.
pub fn lifetime(requested: Option<i64>) -> i64 {
    match requested {
        Some(s) if s > 0 => s.min(MAX_EXPIRY),
        _ => MAX_EXPIRY,
    }
}

/// Creates a session and returns its KS.
pub async fn create(
    pool: &SqlitePool,
    login_id: i64,
    partner_id: i64,
    privileges: &str,
    expires_at: i64,
    now: i64,
) -> sqlx::Result<String> {
    let ks = random_token();
    sqlx::query(
        "INSERT INTO sessions (ks_hash, login_id, partner_id, privileges, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(token_hash(&ks))
    .bind(login_id)
    .bind(partner_id)
    .bind(privileges)
    .bind(expires_at)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(ks)
}

/// The session a KS names, or the `INVALID_KS` error to answer.
pub async fn check(pool: &SqlitePool, ks: Option<&str>, now: i64) -> Result<Session, ApiError> {
    let Some(ks) = ks else {
        return Err(ApiError::new(
            codes::MISSING_KS,
            "Missing KS: this action needs a session",
        ));
    };
    let row: Option<(i64, i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, login_id, partner_id, expires_at, revoked_at FROM sessions WHERE ks_hash = ?1",
    )
    .bind(token_hash(ks.trim()))
    .fetch_optional(pool)
    .await?;
    match row {
        None => Err(ApiError::invalid_ks("INVALID")),
        Some((_, _, _, _, Some(_))) => Err(ApiError::invalid_ks(codes::KSID_LOGOUT)),
        Some((_, _, _, expires_at, None)) if expires_at <= now => {
            Err(ApiError::invalid_ks(codes::KSID_EXPIRED))
        }
        Some((id, login_id, partner_id, expires_at, None)) => Ok(Session {
            id,
            login_id,
            partner_id,
            expires_at,
        }),
    }
}

/// Revokes a session (`session.end`).
pub async fn revoke(pool: &SqlitePool, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_defaults_to_a_day_and_never_exceeds_it() {
        assert_eq!(lifetime(None), MAX_EXPIRY);
        assert_eq!(lifetime(Some(0)), MAX_EXPIRY);
        assert_eq!(lifetime(Some(-5)), MAX_EXPIRY);
        assert_eq!(lifetime(Some(60)), 60);
        assert_eq!(lifetime(Some(10 * MAX_EXPIRY)), MAX_EXPIRY);
    }
}
