//! Link tokens ("hash keys" in Kaltura's API): 256-bit random, URL-safe,
//! stored only as their SHA-256. One slot per login and kind, so issuing a
//! new link voids the previous one of the same kind: a set-password link
//! (which anyone can have mailed to the owner) never voids a pending QR link. QR links live 72 hours, reset (set-password)
//! links 24 hours. `generateQrCode` and `setInitialPassword` consume a link;
//! `validateHashKey` only looks.

use crate::store::Pool;

use super::{random_token, token_hash};

/// QR link lifetime in seconds (72 h).
pub const QR_TTL: i64 = 72 * 3600;
/// Reset / set-password link lifetime in seconds (24 h).
pub const RESET_TTL: i64 = 24 * 3600;
/// How long an expired link is kept before it is deleted (7 days): until
/// then its page says the link expired rather than that it is unknown. A
/// spent link is deleted as it is used. There is one row per login and
/// kind at most, so the table is bounded by the logins either way.
pub const EXPIRED_KEPT: i64 = 7 * 24 * 3600;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/actions/auth-info/{hashKey}`: shows the authenticator QR code.
    Qr,
    /// `/actions/restore-password/{hashKey}`: sets a password.
    Reset,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Reset => "reset",
        }
    }

    fn ttl(self) -> i64 {
        match self {
            Self::Qr => QR_TTL,
            Self::Reset => RESET_TTL,
        }
    }

    /// The app path the link opens.
    pub fn path(self) -> &'static str {
        match self {
            Self::Qr => "/actions/auth-info/",
            Self::Reset => "/actions/restore-password/",
        }
    }
}

/// Why a link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Unknown, already used, replaced, or for the other purpose.
    Invalid,
    /// Past its lifetime.
    Expired,
}

/// Issues a new link for a login, replacing any previous one of its kind; returns the
/// token (the only time it exists in the clear).
pub async fn issue(pool: &Pool, login_id: i64, kind: Kind, now: i64) -> sqlx::Result<String> {
    let token = random_token();
    sqlx::query(
        "INSERT INTO link_tokens (login_id, token_hash, kind, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT(login_id, kind) DO UPDATE SET token_hash = excluded.token_hash,
             expires_at = excluded.expires_at, created_at = excluded.created_at",
    )
    .bind(login_id)
    .bind(token_hash(&token))
    .bind(kind.as_str())
    .bind(now + kind.ttl())
    .bind(now)
    .execute(pool)
    .await?;
    crate::audit::link_issued(login_id, kind);
    Ok(token)
}

/// The login a link belongs to, without consuming it.
pub async fn peek(
    pool: &Pool,
    token: &str,
    kind: Kind,
    now: i64,
) -> sqlx::Result<Result<i64, LinkError>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT login_id, expires_at FROM link_tokens WHERE token_hash = $1 AND kind = $2",
    )
    .bind(token_hash(token.trim()))
    .bind(kind.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Err(LinkError::Invalid),
        Some((_, expires_at)) if expires_at <= now => Err(LinkError::Expired),
        Some((login_id, _)) => Ok(login_id),
    })
}

/// Consumes a link inside a caller's transaction: the login it belonged to,
/// or `None` when it is unknown, spent or expired (the transaction decides
/// whether the use sticks).
pub async fn consume_in(
    tx: &mut crate::store::Conn,
    token: &str,
    kind: Kind,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "DELETE FROM link_tokens WHERE token_hash = $1 AND kind = $2 AND expires_at > $3
         RETURNING login_id",
    )
    .bind(token_hash(token.trim()))
    .bind(kind.as_str())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
}

/// Consumes a link: one `DELETE … RETURNING`, so of two parallel uses only
/// one gets the login.
pub async fn consume(
    pool: &Pool,
    token: &str,
    kind: Kind,
    now: i64,
) -> sqlx::Result<Result<i64, LinkError>> {
    let login = consume_in(&mut *pool.acquire().await?, token, kind, now).await?;
    match login {
        Some(id) => Ok(Ok(id)),
        // Tell expired from unknown for the error code.
        None => peek(pool, token, kind, now)
            .await
            .map(|r| r.and(Err(LinkError::Invalid))),
    }
}

/// Deletes at most `batch` links that expired [`EXPIRED_KEPT`] or more
/// before `now` (see [`crate::prune`]); the number deleted.
pub async fn prune(pool: &Pool, now: i64, batch: i64) -> sqlx::Result<u64> {
    crate::store::delete_batch(
        pool,
        "link_tokens",
        "token_hash",
        "expires_at <= $1",
        now - EXPIRED_KEPT,
        batch,
    )
    .await
}
