//! Sessions (KS): an opaque 256-bit random token, stored only as its SHA-256
//! with the login, account, privileges, expiry (the requested expiry, at
//! most 24 hours), whether it was proven with an authenticator code, and
//! the login's session epoch. `session.end` revokes one session; a password
//! change raises the login's epoch, which ends all of them at once (see
//! [`crate::store::set_password`]); turning 2FA on ends an account's
//! sessions that were not proven with a code. An expired KS is answered
//! `INVALID_KS` with `args.KSID` `EXPIRED`, an ended one with `LOGOUT`.

use sqlx::Any;
use sqlx::any::AnyArguments;

use crate::auth::lockout::{self, Proof, Reservation, Success};
use crate::store::{self, Backend, Conn, Pool};
use kaltura_api::codes;

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
    /// Created with a correct authenticator code (or switched from such a
    /// session).
    pub proven_with_code: bool,
    /// The login's session epoch the session belongs to.
    pub epoch: i64,
}

/// A session to create.
pub struct New<'a> {
    pub login_id: i64,
    pub partner_id: i64,
    pub privileges: &'a str,
    pub expires_at: i64,
    pub proven_with_code: bool,
    /// The login's session epoch as read before the credentials were
    /// checked: a password change meanwhile makes the session dead at birth.
    pub epoch: i64,
}

/// The lifetime to grant for a requested `expiry` (seconds): missing, zero
/// or negative means the default; anything longer is capped.
pub fn lifetime(requested: Option<i64>) -> i64 {
    match requested {
        Some(s) if s > 0 => s.min(MAX_EXPIRY),
        _ => MAX_EXPIRY,
    }
}

const INSERT: &str = "INSERT INTO sessions (ks_hash, login_id, partner_id, privileges,
                          expires_at, created_at, proven_with_code, epoch)";

/// Creates a session and returns its KS.
pub async fn create(conn: &mut Conn, new: New<'_>, now: i64) -> sqlx::Result<String> {
    let ks = random_token();
    bind_new(
        sqlx::query(&format!("{INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")),
        &ks,
        &new,
        now,
    )
    .execute(conn)
    .await?;
    Ok(ks)
}

fn bind_new<'q>(
    query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    ks: &str,
    new: &New<'q>,
    now: i64,
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(token_hash(ks))
        .bind(new.login_id)
        .bind(new.partner_id)
        .bind(new.privileges)
        .bind(new.expires_at)
        .bind(now)
        .bind(i64::from(new.proven_with_code))
        .bind(new.epoch)
}

/// Accepts a reserved check ([`lockout::succeed`], remembering the
/// session's account) and creates the session, committed together: both or
/// neither. `Err` carries why the check was refused; nothing is written
/// then, and the caller counts the refusal on another connection.
///
/// Run a password-only success on the unsynced connection
/// ([`store::Unsynced`]): on SQLite it then commits without its own fsync.
/// One that records a code's step runs on the synced pool
/// ([`crate::Inner::success_conn`] picks).
///
/// One round trip on either database: on SQLite a batch of `BEGIN
/// IMMEDIATE`, the `UPDATE`, an `INSERT` that runs only when the `UPDATE`
/// changed the login's row (`changes()`), and `COMMIT`; on PostgreSQL one
/// statement, the `INSERT` fed by the `UPDATE`'s `RETURNING` in a `WITH`.
/// Either way the session's id comes back only when the check was
/// accepted.
pub async fn create_on_success(
    conn: &mut store::Lease<'_>,
    r: &Reservation,
    proof: Proof,
    new: New<'_>,
    now: i64,
) -> sqlx::Result<Result<String, Success>> {
    let sql = success_sql(store::backend_of(conn), proof);
    let ks = random_token();
    let query = lockout::bind_accept(sqlx::query(&sql), r, proof, Some(new.partner_id), now);
    // Stopped half-way (an error, or the request dropped), the batch may
    // leave the connection in its transaction: it is closed, not given back.
    let mut batch = store::Batch::start(conn);
    let accepted = !bind_new(query, &ks, &new, now)
        .fetch_all(batch.conn())
        .await?
        .is_empty();
    let conn = batch.finished();
    if !accepted {
        return Ok(Err(lockout::refused(conn, r, proof, now).await?));
    }
    Ok(Ok(ks))
}

/// The statement (PostgreSQL) or batch (SQLite) of [`create_on_success`].
fn success_sql(backend: Backend, proof: Proof) -> String {
    let accept = lockout::accept_sql(proof);
    let values = "SELECT $5, $6, $7, $8, $9, $10, $11, $12";
    match backend {
        Backend::Sqlite => format!(
            "BEGIN IMMEDIATE; {accept}; {INSERT} {values} WHERE changes() = 1 RETURNING id; COMMIT"
        ),
        Backend::Postgres => format!(
            "WITH accepted AS ({accept} RETURNING id) {INSERT} {values} FROM accepted RETURNING id"
        ),
    }
}

/// One row as [`check`] reads it, with what it needs from the login and the
/// account.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    login_id: i64,
    partner_id: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    #[sqlx(try_from = "crate::store::Flag")]
    proven_with_code: bool,
    epoch: i64,
    login_epoch: i64,
    #[sqlx(try_from = "crate::store::Flag")]
    account_requires_code: bool,
    #[sqlx(try_from = "crate::store::Flag")]
    member: bool,
}

/// The session a KS names, or the `INVALID_KS` error to answer. A session
/// is dead when it was ended, when its login's password changed since it
/// was created (epoch), when its account now requires a code it was not
/// proven with, when its login is no longer a user of its account, or past
/// its expiry. All of this is read in one statement,
/// so a session created while one of those changes was being made is
/// judged by the change.
pub async fn check(pool: &Pool, ks: Option<&str>, now: i64) -> Result<Session, ApiError> {
    let Some(ks) = ks else {
        return Err(ApiError::new(
            codes::MISSING_KS,
            "Missing KS: this action needs a session",
        ));
    };
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id, s.login_id, s.partner_id, s.expires_at, s.revoked_at,
                s.proven_with_code, s.epoch, l.session_epoch AS login_epoch,
                COALESCE(p.two_factor, 0) AS account_requires_code,
                CAST(CASE WHEN u.login_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS member
         FROM sessions s JOIN logins l ON l.id = s.login_id
         LEFT JOIN partners p ON p.id = s.partner_id
         LEFT JOIN users u ON u.login_id = s.login_id AND u.partner_id = s.partner_id
         WHERE s.ks_hash = $1",
    )
    .bind(token_hash(ks.trim()))
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::invalid_ks("INVALID"));
    };
    let revoked = row.revoked_at.is_some()
        || !row.member
        || row.epoch != row.login_epoch
        || (row.account_requires_code && !row.proven_with_code);
    if revoked {
        return Err(ApiError::invalid_ks(codes::KSID_LOGOUT));
    }
    if row.expires_at <= now {
        return Err(ApiError::invalid_ks(codes::KSID_EXPIRED));
    }
    Ok(Session {
        id: row.id,
        login_id: row.login_id,
        partner_id: row.partner_id,
        expires_at: row.expires_at,
        proven_with_code: row.proven_with_code,
        epoch: row.epoch,
    })
}

/// Revokes a session (`session.end`).
pub async fn revoke(pool: &Pool, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Ends every session of a login (the help desk's `user end-sessions` and
/// `user reset-2fa`): its session epoch is raised,
/// so a session a sign-in is creating at this moment (stamped with the old
/// epoch it read) is dead at birth too, and the sessions still live are
/// marked ended. Run it in a transaction; how many were live.
pub async fn end_all_of_login(conn: &mut Conn, login_id: i64, now: i64) -> sqlx::Result<u64> {
    sqlx::query("UPDATE logins SET session_epoch = session_epoch + 1 WHERE id = $1")
        .bind(login_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE sessions SET revoked_at = $2
         WHERE login_id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(login_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|d| d.rows_affected())
}

/// Marks the live sessions of a login in one account ended (the help
/// desk's `user remove --partner`, in the transaction that removes the
/// membership); how many. [`check`] refuses a session whose login is no
/// longer a user of its account anyway, also one a sign-in was creating
/// at that moment; the mark keeps them dead if the login is added again.
pub async fn end_in_partner(
    conn: &mut Conn,
    login_id: i64,
    partner_id: i64,
    now: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $3
         WHERE login_id = $1 AND partner_id = $2 AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(login_id)
    .bind(partner_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|d| d.rows_affected())
}

/// Revokes the sessions of an account that were not proven with a code
/// (2FA was turned on for it). [`check`] refuses them anyway while the
/// account requires a code; the mark keeps them dead if 2FA is turned off
/// again.
pub async fn revoke_unproven_in_partner(
    pool: &Pool,
    partner_id: i64,
    now: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $2
         WHERE partner_id = $1 AND proven_with_code = 0 AND revoked_at IS NULL",
    )
    .bind(partner_id)
    .bind(now)
    .execute(pool)
    .await
    .map(|d| d.rows_affected())
}

/// Sessions that no longer matter at a cutoff `$1`: ended (by
/// `session.end`, or 2FA turned on for the account) at or before it.
const ENDED_BY: &str = "revoked_at <= $1";
/// Sessions that expired at or before the cutoff `$1`. A session ended by a
/// password change (its epoch) carries no time of its end: it goes once it
/// expires, at most [`MAX_EXPIRY`] after it was created.
const EXPIRED_BY: &str = "expires_at <= $1";

/// Deletes at most `batch` sessions ended, and at most `batch` expired, at
/// or before `cutoff` (see [`crate::prune`]); the number deleted. A KS
/// whose row is gone is answered `INVALID_KS` like any unknown one.
pub async fn prune(pool: &Pool, cutoff: i64, batch: i64) -> sqlx::Result<u64> {
    let ended = store::delete_batch(pool, "sessions", "id", ENDED_BY, cutoff, batch).await?;
    let expired = store::delete_batch(pool, "sessions", "id", EXPIRED_BY, cutoff, batch).await?;
    Ok(ended + expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::auth::lockout::{Limits, Reserved, reserve_for_email};
    use crate::store::{
        DbConfig, Lease, connection_is_clean, hold_logins_lock, make_read_only,
        next_connection_is_clean, open_unsynced, test_pool_of_one,
    };

    const NOW: i64 = 100;

    /// A login with one account and a check reserved for it.
    async fn reserved() -> (tempfile::TempDir, Pool, Reservation) {
        let (dir, pool) = test_pool_of_one().await;
        for sql in [
            "INSERT INTO logins (id, email, created_at) VALUES (1, 'a@b.c', 0)",
            "INSERT INTO partners (id, name, created_at) VALUES (5, 'P', 0)",
            "INSERT INTO users (login_id, partner_id, created_at) VALUES (1, 5, 0)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        let mut conn = pool.acquire().await.unwrap();
        let Reserved::Check(_, _, r) =
            reserve_for_email(&mut conn, "a@b.c", NOW, Limits::default())
                .await
                .unwrap()
        else {
            panic!("the login exists");
        };
        (dir, pool, r)
    }

    fn new() -> New<'static> {
        New {
            login_id: 1,
            partner_id: 5,
            privileges: "*",
            expires_at: NOW + 60,
            proven_with_code: true,
            epoch: 0,
        }
    }

    async fn sessions(pool: &Pool) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_replayed_step_creates_no_session_and_says_why() {
        let (_d, pool, r) = reserved().await;
        let proof = Proof::Code { step: 9 };
        let mut conn: Lease = pool.acquire().await.unwrap().into();
        let ks = create_on_success(&mut conn, &r, proof, new(), NOW)
            .await
            .unwrap();
        let again = create_on_success(&mut conn, &r, proof, new(), NOW)
            .await
            .unwrap();
        drop(conn);
        let ks = ks.expect("the first use of a step is accepted");
        assert!(check(&pool, Some(&ks), NOW).await.is_ok());
        assert_eq!(again, Err(Success::Replay));
        assert_eq!(sessions(&pool).await, 1);
        assert!(next_connection_is_clean(&pool).await);
    }

    #[tokio::test]
    async fn a_password_only_sign_in_creates_its_session_and_gives_back_a_connection_that_syncs() {
        let (_d, pool, r) = reserved().await;
        let mut conn: Lease = pool.acquire().await.unwrap().into();
        let ks = create_on_success(&mut conn, &r, Proof::Password, new(), NOW)
            .await
            .unwrap()
            .expect("a reserved check is accepted");
        drop(conn);
        assert!(check(&pool, Some(&ks), NOW).await.is_ok());
        assert_eq!(sessions(&pool).await, 1);
        assert!(next_connection_is_clean(&pool).await);
    }

    #[tokio::test]
    async fn a_sign_in_dropped_while_its_batch_waits_leaves_no_transaction_or_lock_behind() {
        for proof in [Proof::Password, Proof::Code { step: 9 }] {
            let (dir, pool, r) = reserved().await;
            // As the server leases them: the held unsynced connection for a
            // password alone, one of the synced pool for a code.
            let unsynced = open_unsynced(&DbConfig::default(), &pool).await.unwrap();
            let mut lock = hold_logins_lock(dir.path(), &pool).await;
            let mut conn = match proof {
                Proof::Password => unsynced.acquire().await.unwrap(),
                Proof::Code { .. } => pool.acquire().await.unwrap().into(),
            };
            // The client goes away while the batch waits for the lock.
            let waited = std::time::Duration::from_millis(300);
            let signing_in = create_on_success(&mut conn, &r, proof, new(), NOW);
            assert!(tokio::time::timeout(waited, signing_in).await.is_err());
            drop(conn);
            sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
            drop(lock);
            assert!(next_connection_is_clean(&pool).await, "{proof:?}");
            let mut next = unsynced.acquire().await.unwrap();
            assert!(connection_is_clean(&mut next).await, "{proof:?}");
            drop(next);
            let write = sqlx::query("UPDATE logins SET failed_attempts = 0").execute(&pool);
            let quick = std::time::Duration::from_secs(2);
            let written = tokio::time::timeout(quick, write).await;
            assert!(
                written.is_ok_and(|w| w.is_ok()),
                "nothing holds the write lock"
            );
        }
    }

    #[tokio::test]
    async fn a_sign_in_that_fails_half_way_writes_nothing_and_closes_its_connection() {
        let (_d, pool, r) = reserved().await;
        let mut conn: Lease = pool.acquire().await.unwrap().into();
        make_read_only(&mut conn).await;
        assert!(
            create_on_success(&mut conn, &r, Proof::Password, new(), NOW)
                .await
                .is_err()
        );
        drop(conn);
        assert!(next_connection_is_clean(&pool).await);
        assert_eq!(sessions(&pool).await, 0);
    }

    #[test]
    fn lifetime_defaults_to_a_day_and_never_exceeds_it() {
        assert_eq!(lifetime(None), MAX_EXPIRY);
        assert_eq!(lifetime(Some(0)), MAX_EXPIRY);
        assert_eq!(lifetime(Some(-5)), MAX_EXPIRY);
        assert_eq!(lifetime(Some(60)), 60);
        assert_eq!(lifetime(Some(10 * MAX_EXPIRY)), MAX_EXPIRY);
    }
}
