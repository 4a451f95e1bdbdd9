//! Logins, accounts (partners) and users: their rows, and the plain reads
//! and writes of them. The writes that enforce a guarantee (the guess
//! budget, sessions, links) are beside their invariant in `crate::auth`.

use sqlx::any::AnyTypeInfo;
use sqlx::error::BoxDynError;
use sqlx::{Any, FromRow};

use super::{Backend, Conn, Pool, backend, backend_of};

/// A 0/1 column read as a `bool`: use `#[sqlx(try_from = "Flag")]` on a
/// `bool` field. (The `Any` driver decodes `bool` only from a boolean
/// column, which SQLite does not have.)
pub struct Flag(i64);

impl sqlx::Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as sqlx::Decode<'r, Any>>::decode(value).map(Flag)
    }
}

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0 != 0
    }
}

/// True when the database holds any sealed TOTP secret (then a missing key
/// file is an error, not a fresh key).
pub async fn has_totp_secrets(pool: &Pool) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM logins WHERE totp_secret IS NOT NULL LIMIT 1) AS x",
    )
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// A login row (one email).
#[derive(Debug, Clone, FromRow)]
pub struct Login {
    pub id: i64,
    pub email: String,
    pub password_hash: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub password_expired: bool,
    pub totp_secret: Option<Vec<u8>>,
    pub blocked_until: Option<i64>,
    pub last_partner_id: Option<i64>,
    /// Sessions stamped with another epoch are dead (see [`set_password`]).
    pub session_epoch: i64,
}

/// A partner (account) row.
#[derive(Debug, Clone, FromRow)]
pub struct Partner {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "Flag")]
    pub two_factor: bool,
}

/// A user: one login's membership in one account.
#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub login_id: i64,
    pub partner_id: i64,
    #[sqlx(try_from = "Flag")]
    pub is_admin: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The columns of a [`Login`], in a `SELECT` or a `RETURNING`.
pub const LOGIN_COLUMNS: &str = "id, email, password_hash, password_expired, totp_secret, \
     blocked_until, last_partner_id, session_epoch";

/// The login with this email (case-insensitive, ASCII letters at least;
/// see [`email_match`]).
pub async fn login_by_email(pool: &Pool, email: &str) -> sqlx::Result<Option<Login>> {
    login_by_email_on(&mut *pool.acquire().await?, email).await
}

/// [`login_by_email`] on a connection already held (a refused
/// reservation's): every connection given back to sqlx's pool costs one
/// more round trip (its release check).
pub async fn login_by_email_on(conn: &mut Conn, email: &str) -> sqlx::Result<Option<Login>> {
    let sql = format!(
        "SELECT {LOGIN_COLUMNS} FROM logins WHERE {}",
        email_match(backend_of(conn))
    );
    sqlx::query_as(&sql)
        .bind(email.trim())
        .fetch_optional(conn)
        .await
}

/// The condition that finds a login by the email bound as `$1`, using the
/// unique index of each database.
pub fn email_match(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "email = $1",
        Backend::Postgres => "lower(email) = lower($1)",
    }
}

/// An expression (usable in a `RETURNING`) for the accounts of the login
/// whose id is `login_id`, oldest membership first, as a JSON array of
/// `[id, name, two_factor]`: read with [`parse_partners_json`].
pub fn partners_json(backend: Backend, login_id: &str) -> String {
    let (agg, text) = match backend {
        Backend::Sqlite => (
            "json_group_array(json_array(p.id, p.name, p.two_factor)",
            "",
        ),
        Backend::Postgres => (
            "json_agg(json_build_array(p.id, p.name, p.two_factor)",
            "::text",
        ),
    };
    format!(
        "(SELECT {agg} ORDER BY u.created_at, p.id){text}
          FROM users u JOIN partners p ON p.id = u.partner_id WHERE u.login_id = {login_id})"
    )
}

/// The accounts [`partners_json`] wrote (`None`: PostgreSQL's aggregate of
/// no rows).
pub fn parse_partners_json(json: Option<&str>) -> Result<Vec<Partner>, serde_json::Error> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let rows: Vec<(i64, String, i64)> = serde_json::from_str(json)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, two_factor)| Partner {
            id,
            name,
            two_factor: two_factor != 0,
        })
        .collect())
}

/// Marks the password of the login with this email as expired; false when
/// there is none.
pub async fn expire_password(pool: &Pool, email: &str) -> sqlx::Result<bool> {
    sqlx::query(&format!(
        "UPDATE logins SET password_expired = 1 WHERE {}",
        email_match(backend(pool))
    ))
    .bind(email.trim())
    .execute(pool)
    .await
    .map(|d| d.rows_affected() > 0)
}

/// The login with this id.
pub async fn login_by_id(pool: &Pool, id: i64) -> sqlx::Result<Option<Login>> {
    sqlx::query_as(&format!("SELECT {LOGIN_COLUMNS} FROM logins WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A partner by id.
pub async fn partner(pool: &Pool, id: i64) -> sqlx::Result<Option<Partner>> {
    sqlx::query_as("SELECT id, name, two_factor FROM partners WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The accounts a login belongs to, oldest membership first.
pub async fn partners_of(pool: &Pool, login_id: i64) -> sqlx::Result<Vec<Partner>> {
    sqlx::query_as(
        "SELECT p.id, p.name, p.two_factor FROM users u JOIN partners p ON p.id = u.partner_id
         WHERE u.login_id = $1 ORDER BY u.created_at, p.id",
    )
    .bind(login_id)
    .fetch_all(pool)
    .await
}

/// The user of a login in one account.
pub async fn user(pool: &Pool, login_id: i64, partner_id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as(
        "SELECT login_id, partner_id, is_admin, first_name, last_name FROM users
         WHERE login_id = $1 AND partner_id = $2",
    )
    .bind(login_id)
    .bind(partner_id)
    .fetch_optional(pool)
    .await
}

/// True when any account of the login requires two-factor sign-in.
pub async fn login_has_2fa_account(pool: &Pool, login_id: i64) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u JOIN partners p ON p.id = u.partner_id
         WHERE u.login_id = $1 AND p.two_factor = 1",
    )
    .bind(login_id)
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// The last `n` password hashes of a login, newest first.
pub async fn password_history(pool: &Pool, login_id: i64, n: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT hash FROM password_history WHERE login_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(login_id)
    .bind(n)
    .fetch_all(pool)
    .await
}

/// Sets a new password: hash, history, not expired; also lifts a block,
/// since whoever did this proved control of the login.
///
/// Every session of the login ends with it, in the same transaction: the
/// login's session epoch is raised, and a session is live only while its
/// epoch equals its login's. `keep` names the one session that survives
/// (the one that asked for the change), re-stamped with the new epoch.
pub async fn set_password(
    pool: &Pool,
    login_id: i64,
    hash: &str,
    now: i64,
    keep: Option<i64>,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    write_password(&mut tx, login_id, hash, now, keep).await?;
    tx.commit().await
}

/// [`set_password`] inside a caller's transaction (a link spent and the
/// password it sets commit together, or neither does).
pub async fn write_password(
    tx: &mut Conn,
    login_id: i64,
    hash: &str,
    now: i64,
    keep: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE logins SET password_hash = $2, password_set_at = $3, password_expired = 0,
         failed_attempts = 0, code_failures = 0, blocked_until = NULL,
         session_epoch = session_epoch + 1 WHERE id = $1",
    )
    .bind(login_id)
    .bind(hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if let Some(session) = keep {
        sqlx::query(
            "UPDATE sessions SET epoch = (SELECT session_epoch FROM logins WHERE id = $1)
             WHERE id = $2 AND login_id = $1",
        )
        .bind(login_id)
        .bind(session)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("INSERT INTO password_history (login_id, hash, created_at) VALUES ($1, $2, $3)")
        .bind(login_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // Only the last few are ever compared; keep no more old hashes than that.
    sqlx::query(
        "DELETE FROM password_history WHERE login_id = $1 AND id NOT IN
         (SELECT id FROM password_history WHERE login_id = $1 ORDER BY id DESC LIMIT 3)",
    )
    .bind(login_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Stores a (sealed) TOTP secret and forgets the last used step, since the
/// old codes belong to the old secret; only while `key_check` is still the
/// database's key check value (see `crate::auth::keys`): false, and nothing
/// written, when a rotation has replaced the key the secret was sealed with
/// (or the login is gone). On PostgreSQL it waits for a rotation in
/// progress (it reads the key check `FOR SHARE`): in a transaction, run it
/// before anything locks the login's row, so it never holds a row the
/// rotation waits for.
pub async fn write_totp_secret(
    tx: &mut Conn,
    login_id: i64,
    sealed: &[u8],
    key_check: &str,
) -> sqlx::Result<bool> {
    let guard = crate::auth::keys::current_key_is(backend_of(tx), 3);
    sqlx::query(&format!(
        "UPDATE logins SET totp_secret = $2, last_otp_step = NULL WHERE id = $1 AND {guard}"
    ))
    .bind(login_id)
    .bind(sealed)
    .bind(key_check)
    .execute(&mut *tx)
    .await
    .map(|d| d.rows_affected() > 0)
}

/// Remembers the account a login used last (the default for the next login).
pub async fn set_last_partner(pool: &Pool, login_id: i64, partner_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE logins SET last_partner_id = $2 WHERE id = $1")
        .bind(login_id)
        .bind(partner_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Adds an account and returns its id (ids start at 100).
pub async fn add_partner(pool: &Pool, name: &str, two_factor: bool, now: i64) -> sqlx::Result<i64> {
    // Two commands adding accounts at once on PostgreSQL both read the same
    // MAX(id) (SQLite runs them one after the other): the loser's insert
    // hits the primary key and tries again with the next id.
    let mut attempts = 0;
    loop {
        let added = sqlx::query_scalar(
            "INSERT INTO partners (id, name, two_factor, created_at)
             VALUES ((SELECT COALESCE(MAX(id), 99) + 1 FROM partners), $1, $2, $3)
             RETURNING id",
        )
        .bind(name)
        .bind(i64::from(two_factor))
        .bind(now)
        .fetch_one(pool)
        .await;
        match added {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && attempts < 20 => {
                attempts += 1;
            }
            other => return other,
        }
    }
}

/// True when the database holds any account.
pub async fn has_partners(pool: &Pool) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM partners LIMIT 1) AS x")
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

/// Turns an account's two-factor requirement on or off.
pub async fn set_two_factor(pool: &Pool, partner_id: i64, on: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE partners SET two_factor = $2 WHERE id = $1")
        .bind(partner_id)
        .bind(i64::from(on))
        .execute(pool)
        .await
        .map(|_| ())
}

/// Adds a login with no password and returns its id.
pub async fn add_login(pool: &Pool, email: &str, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO logins (email, created_at) VALUES ($1, $2) RETURNING id")
        .bind(email)
        .bind(now)
        .fetch_one(pool)
        .await
}

/// A user to add: a login's membership in an account.
pub struct NewUser<'a> {
    pub login_id: i64,
    pub partner_id: i64,
    pub is_admin: bool,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
}

/// Adds a user; false (nothing written) when the login is already a user
/// of that account.
pub async fn add_user(pool: &Pool, user: &NewUser<'_>, now: i64) -> sqlx::Result<bool> {
    sqlx::query(
        "INSERT INTO users (login_id, partner_id, is_admin, first_name, last_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(user.login_id)
    .bind(user.partner_id)
    .bind(i64::from(user.is_admin))
    .bind(user.first_name)
    .bind(user.last_name)
    .bind(now)
    .execute(pool)
    .await
    .map(|d| d.rows_affected() > 0)
}

/// The logins with a password among an account's users, by id.
pub async fn logins_with_password_in(pool: &Pool, partner_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT u.login_id FROM users u JOIN logins l ON l.id = u.login_id
         WHERE u.partner_id = $1 AND l.password_hash IS NOT NULL ORDER BY u.login_id",
    )
    .bind(partner_id)
    .fetch_all(pool)
    .await
}

/// A login as the operator's list shows it (no secret, no hash).
#[derive(Debug, Clone, FromRow)]
pub struct LoginRow {
    pub id: i64,
    pub email: String,
    /// A secret is set and a code of it has been accepted (the step of the
    /// last one is kept until the secret is replaced).
    #[sqlx(try_from = "Flag")]
    pub enrolled: bool,
    pub last_signin_at: Option<i64>,
    pub blocked_until: Option<i64>,
}

/// One login's membership in one account, as the operator's list shows it.
#[derive(Debug, Clone, FromRow)]
pub struct Membership {
    pub login_id: i64,
    pub partner_id: i64,
    pub partner_name: String,
    #[sqlx(try_from = "Flag")]
    pub two_factor: bool,
    #[sqlx(try_from = "Flag")]
    pub is_admin: bool,
}

/// Every login (or those in account `partner`), by email, and all their
/// memberships, oldest first.
pub async fn list_logins(
    pool: &Pool,
    partner: Option<i64>,
) -> sqlx::Result<(Vec<LoginRow>, Vec<Membership>)> {
    let only = "($1 IS NULL OR EXISTS (SELECT 1 FROM users f
                 WHERE f.login_id = l.id AND f.partner_id = $1))";
    let logins = sqlx::query_as(&format!(
        "SELECT l.id, l.email,
                CAST(CASE WHEN l.totp_secret IS NOT NULL AND l.last_otp_step IS NOT NULL
                     THEN 1 ELSE 0 END AS BIGINT) AS enrolled,
                l.last_signin_at, l.blocked_until
         FROM logins l WHERE {only} ORDER BY lower(l.email), l.id"
    ))
    .bind(partner)
    .fetch_all(pool)
    .await?;
    let memberships = sqlx::query_as(&format!(
        "SELECT u.login_id, p.id AS partner_id, p.name AS partner_name, p.two_factor,
                u.is_admin
         FROM users u JOIN partners p ON p.id = u.partner_id
         JOIN logins l ON l.id = u.login_id
         WHERE {only} ORDER BY u.login_id, u.created_at, p.id"
    ))
    .bind(partner)
    .fetch_all(pool)
    .await?;
    Ok((logins, memberships))
}

/// Deletes the login with this email and everything of it (its
/// memberships, sessions, links and password history go with it, by the
/// schema's cascades); its id, or `None` when there is none.
pub async fn remove_login(pool: &Pool, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(&format!(
        "DELETE FROM logins WHERE {} RETURNING id",
        email_match(backend(pool))
    ))
    .bind(email.trim())
    .fetch_optional(pool)
    .await
}

/// Deletes a login's membership in one account, inside the caller's
/// transaction; how many memberships the login has left, or `None` when it
/// was not a user of that account.
pub async fn remove_user(
    tx: &mut Conn,
    login_id: i64,
    partner_id: i64,
) -> sqlx::Result<Option<i64>> {
    let deleted = sqlx::query("DELETE FROM users WHERE login_id = $1 AND partner_id = $2")
        .bind(login_id)
        .bind(partner_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE login_id = $1")
        .bind(login_id)
        .fetch_one(&mut *tx)
        .await
        .map(Some)
}
