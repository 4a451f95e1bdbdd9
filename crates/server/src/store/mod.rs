//! The database: SQLite through sqlx, schema in `crates/server/migrations`.
//!
//! WAL mode and a busy timeout let the CLI commands write while `serve` runs
//! on the same file; `synchronous = FULL` makes every answered write survive
//! a crash or a power cut. Every security-relevant update (lockout counter, TOTP
//! step, link consumption) is a single SQL statement, which SQLite runs
//! atomically, so concurrent requests cannot slip past a check.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};

/// The database file name inside the data dir.
pub const DB_FILE: &str = "kmc.sqlite3";

/// The lock file beside the database that serialises opening it.
pub const LOCK_FILE: &str = "kmc.sqlite3.open-lock";

/// Opens (creating if needed) the database in `data_dir` and applies the
/// migrations.
///
/// Two processes may open one data dir at once (`serve` and a CLI command,
/// or two `serve`s): creating the file, switching it to WAL and migrating
/// happen under an exclusive lock on [`LOCK_FILE`], so the second waits and
/// then finds the migrations applied, instead of both creating the tables.
pub async fn open(data_dir: &Path) -> anyhow::Result<SqlitePool> {
    create_private_dir(data_dir)?;
    let lock_path = data_dir.join(LOCK_FILE);
    let lock = tokio::task::spawn_blocking(move || -> anyhow::Result<std::fs::File> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
        Ok(file)
    })
    .await??;
    // The database is for the server's user alone (its WAL and shared-memory
    // files take the same mode from it).
    let db = data_dir.join(DB_FILE);
    if !db.exists() {
        create_private_file(&db)?;
    }
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(data_dir.join(DB_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: every commit syncs the WAL before the reply. A killed
        // process (kill -9) loses nothing even with NORMAL, since the WAL
        // sits in the OS's cache; but a power cut could drop the last
        // commits under NORMAL, and among them a spent link or a used code
        // step would come back to life. One fsync per commit is small beside
        // the argon2 hash of a sign-in.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("opening {}", data_dir.join(DB_FILE).display()))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("applying database migrations")?;
    drop(lock);
    Ok(pool)
}

/// Creates a folder (and its parents) readable by its owner only (0700 on
/// Unix); an existing folder is left as it is.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Creates an empty file readable by its owner only (0600 on Unix).
fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(|_| ())
        .with_context(|| format!("creating {}", path.display()))
}

/// A login row (one email).
#[derive(Debug, Clone, FromRow)]
pub struct Login {
    pub id: i64,
    pub email: String,
    pub password_hash: Option<String>,
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
    pub two_factor: bool,
}

/// A user: one login's membership in one account.
#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub login_id: i64,
    pub partner_id: i64,
    pub is_admin: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

const LOGIN_COLUMNS: &str = "id, email, password_hash, password_expired, totp_secret, \
     blocked_until, last_partner_id, session_epoch";

/// The login with this email (case-insensitive).
pub async fn login_by_email(pool: &SqlitePool, email: &str) -> sqlx::Result<Option<Login>> {
    sqlx::query_as(&format!(
        "SELECT {LOGIN_COLUMNS} FROM logins WHERE email = ?1"
    ))
    .bind(email.trim())
    .fetch_optional(pool)
    .await
}

/// The login with this id.
pub async fn login_by_id(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<Login>> {
    sqlx::query_as(&format!("SELECT {LOGIN_COLUMNS} FROM logins WHERE id = ?1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// A partner by id.
pub async fn partner(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<Partner>> {
    sqlx::query_as("SELECT id, name, two_factor FROM partners WHERE id = ?1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The accounts a login belongs to, oldest membership first.
pub async fn partners_of(pool: &SqlitePool, login_id: i64) -> sqlx::Result<Vec<Partner>> {
    sqlx::query_as(
        "SELECT p.id, p.name, p.two_factor FROM users u JOIN partners p ON p.id = u.partner_id
         WHERE u.login_id = ?1 ORDER BY u.created_at, p.id",
    )
    .bind(login_id)
    .fetch_all(pool)
    .await
}

/// The user of a login in one account.
pub async fn user(pool: &SqlitePool, login_id: i64, partner_id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as(
        "SELECT login_id, partner_id, is_admin, first_name, last_name FROM users
         WHERE login_id = ?1 AND partner_id = ?2",
    )
    .bind(login_id)
    .bind(partner_id)
    .fetch_optional(pool)
    .await
}

/// True when any account of the login requires two-factor sign-in.
pub async fn login_has_2fa_account(pool: &SqlitePool, login_id: i64) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u JOIN partners p ON p.id = u.partner_id
         WHERE u.login_id = ?1 AND p.two_factor = 1",
    )
    .bind(login_id)
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// The last `n` password hashes of a login, newest first.
pub async fn password_history(
    pool: &SqlitePool,
    login_id: i64,
    n: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT hash FROM password_history WHERE login_id = ?1 ORDER BY id DESC LIMIT ?2",
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
    pool: &SqlitePool,
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
    tx: &mut sqlx::SqliteConnection,
    login_id: i64,
    hash: &str,
    now: i64,
    keep: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE logins SET password_hash = ?2, password_set_at = ?3, password_expired = 0,
         failed_attempts = 0, code_failures = 0, blocked_until = NULL,
         session_epoch = session_epoch + 1 WHERE id = ?1",
    )
    .bind(login_id)
    .bind(hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if let Some(session) = keep {
        sqlx::query(
            "UPDATE sessions SET epoch = (SELECT session_epoch FROM logins WHERE id = ?1)
             WHERE id = ?2 AND login_id = ?1",
        )
        .bind(login_id)
        .bind(session)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("INSERT INTO password_history (login_id, hash, created_at) VALUES (?1, ?2, ?3)")
        .bind(login_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // Only the last few are ever compared; keep no more old hashes than that.
    sqlx::query(
        "DELETE FROM password_history WHERE login_id = ?1 AND id NOT IN
         (SELECT id FROM password_history WHERE login_id = ?1 ORDER BY id DESC LIMIT 3)",
    )
    .bind(login_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Stores a (sealed) TOTP secret and forgets the last used step, since the
/// old codes belong to the old secret.
pub async fn set_totp_secret(pool: &SqlitePool, login_id: i64, sealed: &[u8]) -> sqlx::Result<()> {
    write_totp_secret(&mut *pool.acquire().await?, login_id, sealed).await
}

/// [`set_totp_secret`] inside a caller's transaction.
pub async fn write_totp_secret(
    tx: &mut sqlx::SqliteConnection,
    login_id: i64,
    sealed: &[u8],
) -> sqlx::Result<()> {
    sqlx::query("UPDATE logins SET totp_secret = ?2, last_otp_step = NULL WHERE id = ?1")
        .bind(login_id)
        .bind(sealed)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// Remembers the account a login used last (the default for the next login).
pub async fn set_last_partner(
    pool: &SqlitePool,
    login_id: i64,
    partner_id: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE logins SET last_partner_id = ?2 WHERE id = ?1")
        .bind(login_id)
        .bind(partner_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// A setting shared between `serve` and the CLI.
pub async fn setting(pool: &SqlitePool, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = ?1")
        .bind(key)
        .fetch_optional(pool)
        .await
}

/// Stores a setting.
pub async fn set_setting(pool: &SqlitePool, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(pool)
    .await
    .map(|_| ())
}
