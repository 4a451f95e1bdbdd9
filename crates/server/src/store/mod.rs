//! The database: SQLite in the data dir (the default) or a shared
//! PostgreSQL (`--database-url postgres://…`), both through sqlx's `Any`
//! driver, so every query in the server is written once, with `$1`-style
//! placeholders (which SQLite reads too). Schemas live in
//! `crates/server/migrations/sqlite` and `crates/server/migrations/postgres`.
//!
//! What differs between the two: how the database is opened and migrated
//! ([`open`]); finding a login by email ([`email_match`]: SQLite's `COLLATE
//! NOCASE` column against PostgreSQL's `lower(email)` index); the JSON
//! aggregate that returns a login's accounts with its reservation
//! ([`partners_json`]); on SQLite, two commits of a sign-in are made on a
//! connection of their own without an fsync of their own ([`Unsynced`]);
//! and how a
//! sign-in's acceptance and session are sent as one round trip (a batch on
//! SQLite, a `WITH` on PostgreSQL:
//! [`crate::auth::sessions::create_on_success`]). Flags are
//! `INTEGER`/`BIGINT` 0 or 1 in both (the `Any` driver has no boolean for
//! SQLite), read through [`Flag`] and written as `i64`.
//!
//! SQLite: WAL mode and a busy timeout let the CLI commands write while
//! `serve` runs on the same file; `synchronous = FULL` makes every answered
//! write survive a crash or a power cut. (Two commits of a sign-in skip
//! their own fsync, on the connection [`open_unsynced`] opens: its reservation and
//! a password-only success, whose loss in a power cut is on the safe side.
//! The next synced commit makes them durable: one fsync of the WAL covers
//! every earlier commit.)
//!
//! # Atomicity of each guarantee
//!
//! Every guarantee is one statement or one transaction, and none needs more
//! than PostgreSQL's default `READ COMMITTED` (SQLite runs every write
//! serialised, so each statement below is atomic there as it stands):
//! - **guess budget** ([`crate::auth::lockout`]): each step is one `UPDATE`
//!   of the login's row whose `WHERE` holds the check (`failed_attempts <
//!   max`, not blocked). PostgreSQL takes the row lock and, when another
//!   transaction changed the row meanwhile, re-evaluates the `WHERE` on the
//!   new version before updating, so two replicas can never both take the
//!   last place;
//! - **code replay**: the correct-code `UPDATE` carries `last_otp_step < step`
//!   in its `WHERE`, re-checked the same way: of two uses of one code on
//!   two replicas exactly one updates the row;
//! - **a sign-in's acceptance and its session**: one transaction holds the
//!   accepting `UPDATE` (block and replay checks in its `WHERE`, the account
//!   remembered in the same statement) and the session's `INSERT`, so they
//!   commit together (one fsync on SQLite), and the `INSERT` runs only if
//!   the `UPDATE` changed the row; a refused acceptance writes nothing and
//!   is counted afterwards on another connection;
//! - **single-use links**: `DELETE … RETURNING`: the second delete waits for
//!   the first and then finds no row; `setInitialPassword` spends the link
//!   and writes the password in one transaction, so both or neither happen;
//! - **sessions**: a KS is checked by one `SELECT` joining its login's epoch
//!   and its account; `session.end` and a password change are single
//!   committed writes, seen by every replica's next check;
//! - **reset limits** ([`take_request`]): one upsert per key whose `WHERE`
//!   refuses a full window, inside a transaction that takes the email's key
//!   and then the client's, so a refusal of the second undoes the first;
//!   the row lock the upsert takes serialises parallel requests for one key
//!   (always in the same order, so they cannot deadlock).

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyTypeInfo};
use sqlx::error::BoxDynError;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Executor as _, FromRow};

/// The connection pool every query runs on (SQLite or PostgreSQL).
pub type Pool = sqlx::AnyPool;
/// One connection (or a transaction's, through `&mut *tx`).
pub type Conn = sqlx::AnyConnection;

/// The database file name inside the data dir.
pub const DB_FILE: &str = "kmc.sqlite3";

/// The lock file beside the database that serialises opening it.
pub const LOCK_FILE: &str = "kmc.sqlite3.open-lock";

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data dir.
    Sqlite,
    /// A shared PostgreSQL server.
    Postgres,
}

/// The backend of a pool.
pub fn backend(pool: &Pool) -> Backend {
    backend_of_url(pool.connect_options().database_url.as_str())
}

/// The backend of a connection, by the name sqlx's `Any` driver gives it.
fn backend_of_name(name: &str) -> Backend {
    if name.eq_ignore_ascii_case("postgresql") || name.eq_ignore_ascii_case("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

fn backend_of_url(url: &str) -> Backend {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// Where the database is and how the pool on it behaves.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `postgres://…` for a shared PostgreSQL; `None` for SQLite in the data
    /// dir.
    pub url: Option<String>,
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// Longest a query waits for a free connection (or for a new one to
    /// connect) before it fails.
    pub acquire_timeout: Duration,
    /// An idle connection is closed after this long.
    pub idle_timeout: Duration,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10 * 60),
        }
    }
}

/// Opens the database (creating it if needed for SQLite) and applies the
/// migrations.
///
/// Two processes may open one database at once (`serve` and a CLI command,
/// or two replicas starting together). On SQLite, creating the file,
/// switching it to WAL and migrating happen under an exclusive lock on
/// [`LOCK_FILE`]; on PostgreSQL sqlx's migrator holds an advisory lock
/// (`pg_advisory_lock`) while it checks and applies migrations. Either way
/// the second opener waits and then finds the migrations applied.
pub async fn open(data_dir: &Path, db: &DbConfig) -> anyhow::Result<Pool> {
    sqlx::any::install_default_drivers();
    create_private_dir(data_dir)?;
    match db.url.as_deref() {
        Some(url) => open_postgres(url, db).await,
        None => open_sqlite(data_dir, db).await,
    }
}

async fn open_postgres(url: &str, db: &DbConfig) -> anyhow::Result<Pool> {
    anyhow::ensure!(
        backend_of_url(url) == Backend::Postgres,
        "--database-url takes a postgres:// URL (without it, SQLite in the data dir is used)"
    );
    let options: AnyConnectOptions = url.parse().context("reading --database-url")?;
    let pool = pool_options(db)
        .connect_with(options)
        .await
        .context("connecting to the PostgreSQL database")?;
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .context("applying database migrations")?;
    Ok(pool)
}

fn pool_options(db: &DbConfig) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(db.max_connections.max(1))
        .acquire_timeout(db.acquire_timeout)
        .idle_timeout(Some(db.idle_timeout))
        // No ping before every query: on PostgreSQL it is a network round trip, and it would
        // double a sign-in's round trips. A connection the server dropped (a restart) fails
        // one query, which answers an error, and is then replaced.
        .test_before_acquire(false)
}

async fn open_sqlite(data_dir: &Path, db: &DbConfig) -> anyhow::Result<Pool> {
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
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        create_private_file(&path)?;
    }
    // WAL: readers never wait for the writer. FULL: every commit syncs the
    // WAL before the reply. A killed process (kill -9) loses nothing even
    // with NORMAL, since the WAL sits in the OS's cache; but a power cut
    // could drop the last commits under NORMAL, and among them a spent link
    // or a used code step would come back to life. One fsync per commit is
    // small beside the argon2 hash of a sign-in.
    let options: AnyConnectOptions = sqlite_url(&path)
        .parse()
        .with_context(|| format!("opening {}", path.display()))?;
    let pool = sqlite_pool(options, db, "FULL")
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .context("applying database migrations")?;
    drop(lock);
    Ok(pool)
}

/// A pool on the SQLite database of `options` whose connections run in WAL
/// mode at this `synchronous` level.
async fn sqlite_pool(
    options: AnyConnectOptions,
    db: &DbConfig,
    synchronous: &'static str,
) -> sqlx::Result<Pool> {
    pool_options(db)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    format!(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
                    )
                    .as_str(),
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
}

/// The connection of a sign-in's two commits whose loss in a power cut is
/// on the safe side: its reservation and a password-only success (see
/// "Files in the data dir" in `crates/server/README.md`). Opened by
/// [`open_unsynced`]; [`Unsynced::acquire`] lends it.
///
/// On SQLite it is one connection at `synchronous = NORMAL`: a commit is in
/// the WAL when it returns, so a killed process loses nothing, but it is
/// not fsynced until the next commit on the synced pool syncs the WAL, and
/// with it every commit before. On PostgreSQL, which flushes every commit,
/// it is the synced pool itself.
pub struct Unsynced {
    pool: Pool,
    /// SQLite: the pool's one connection, held between uses rather than
    /// given back, since sqlx pings every connection given back to a pool
    /// (one more hand-off to its SQLite worker thread and back, twice per
    /// sign-in). `None` before the first use and after a batch stopped
    /// half-way discarded it. PostgreSQL: no connection is held.
    held: Option<tokio::sync::Mutex<Option<PoolConnection<Any>>>>,
}

impl Unsynced {
    /// The connection, once the sign-in before has done with it (or, on
    /// PostgreSQL, a connection of the pool). Waits at most the pool's
    /// acquire timeout, as a pool would.
    pub async fn acquire(&self) -> sqlx::Result<Lease<'_>> {
        let Some(held) = &self.held else {
            return Ok(Lease::Pooled(self.pool.acquire().await?));
        };
        let wait = self.pool.options().get_acquire_timeout();
        let mut slot = tokio::time::timeout(wait, held.lock())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if slot.is_none() {
            *slot = Some(self.pool.acquire().await?);
        }
        Ok(Lease::Held {
            slot,
            discard: false,
        })
    }
}

/// A connection lent for a while: taken from a pool (and given back when
/// the lease drops), or the held connection of [`Unsynced`] (kept).
pub enum Lease<'a> {
    /// A connection of a pool.
    Pooled(PoolConnection<Any>),
    /// The unsynced connection, held by this lease until it drops; in its
    /// slot while lent, taken out (and closed) as the lease drops when
    /// `discard`.
    Held {
        slot: tokio::sync::MutexGuard<'a, Option<PoolConnection<Any>>>,
        discard: bool,
    },
}

impl Lease<'_> {
    /// The connection is closed when the lease drops rather than used again
    /// (SQLite rolls back what it had not committed); the next lease of it
    /// opens another. As with sqlx's own close-on-drop, it stays usable
    /// until then.
    fn discard(&mut self) {
        match self {
            Lease::Pooled(conn) => conn.close_on_drop(),
            Lease::Held { discard, .. } => *discard = true,
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Lease::Held {
            slot,
            discard: true,
        } = self
            && let Some(mut conn) = slot.take()
        {
            conn.close_on_drop();
        }
    }
}

impl From<PoolConnection<Any>> for Lease<'_> {
    fn from(conn: PoolConnection<Any>) -> Self {
        Lease::Pooled(conn)
    }
}

impl std::ops::Deref for Lease<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Lease::Pooled(conn) => conn,
            Lease::Held { slot, .. } => slot.as_ref().expect(HELD),
        }
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Lease::Pooled(conn) => conn,
            Lease::Held { slot, .. } => slot.as_mut().expect(HELD),
        }
    }
}

/// [`Unsynced::acquire`] fills the slot, and only a lease's drop empties it.
const HELD: &str = "the held connection is in its slot while it is lent";

/// Opens [`Unsynced`] on the database `synced` (opened by [`open`]).
///
/// On SQLite, a pool of its own rather than `PRAGMA synchronous` switched
/// around each such commit on a shared connection: each of those two
/// statements came back from sqlx's SQLite worker as one more reply, and
/// under the login bench they cost 0.15 ms of CPU per sign-in (async worker
/// 0.47 → 0.39 ms, SQLite workers 0.38 → 0.31). No connection changes level
/// after it opens.
pub async fn open_unsynced(db: &DbConfig, synced: &Pool) -> anyhow::Result<Unsynced> {
    let (pool, held) = match backend(synced) {
        Backend::Postgres => (synced.clone(), None),
        Backend::Sqlite => {
            // One connection: everything it runs writes, and SQLite runs
            // one writer at a time, so more connections would only wait for
            // each other's write lock (in SQLite's busy handler, which
            // sleeps) and read again the pages the others changed. Under the
            // login bench one instead of eight took the SQLite workers from
            // 0.33 to 0.26 ms per sign-in.
            let one = DbConfig {
                max_connections: 1,
                ..db.clone()
            };
            // The same file: the synced pool's own connect options.
            let options = (*synced.connect_options()).clone();
            let pool = sqlite_pool(options, &one, "NORMAL")
                .await
                .context("opening the database's unsynced connection")?;
            (pool, Some(tokio::sync::Mutex::new(None)))
        }
    };
    Ok(Unsynced { pool, held })
}

/// The `sqlite://` URL of a file, with the characters a URL would read as
/// syntax escaped (sqlx percent-decodes the path).
fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            c => url.push(c),
        }
    }
    url.push_str("?mode=rwc");
    url
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

/// The backend of a connection.
pub fn backend_of(conn: &Conn) -> Backend {
    backend_of_name(conn.backend_name())
}

/// A connection running a batch that must not be left half-done. sqlx's
/// SQLite worker stops a batch at its first error, and also as soon as its
/// caller stops waiting (a request dropped because its client went away or
/// timed out): the connection may then be inside the batch's transaction,
/// holding the database's write lock. Unless [`Batch::finished`] says the
/// batch ran to its end, the connection is closed (SQLite rolls back what
/// was not committed), never used again.
pub struct Batch<'c, 'a>(Option<&'c mut Lease<'a>>);

impl<'c, 'a> Batch<'c, 'a> {
    pub fn start(conn: &'c mut Lease<'a>) -> Self {
        Self(Some(conn))
    }

    /// The connection, to run the batch on.
    pub fn conn(&mut self) -> &mut Conn {
        self.0
            .as_deref_mut()
            .expect("a batch has its connection until it is finished")
    }

    /// The batch ran to its end: the connection may be used and given back.
    pub fn finished(mut self) -> &'c mut Lease<'a> {
        self.0.take().expect("a batch is finished once")
    }
}

impl Drop for Batch<'_, '_> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.discard();
        }
    }
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
/// old codes belong to the old secret.
pub async fn set_totp_secret(pool: &Pool, login_id: i64, sealed: &[u8]) -> sqlx::Result<()> {
    write_totp_secret(&mut *pool.acquire().await?, login_id, sealed).await
}

/// [`set_totp_secret`] inside a caller's transaction.
pub async fn write_totp_secret(tx: &mut Conn, login_id: i64, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query("UPDATE logins SET totp_secret = $2, last_otp_step = NULL WHERE id = $1")
        .bind(login_id)
        .bind(sealed)
        .execute(&mut *tx)
        .await
        .map(|_| ())
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

/// A setting shared between `serve` and the CLI.
pub async fn setting(pool: &Pool, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
}

/// Stores a setting.
pub async fn set_setting(pool: &Pool, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Creates a fresh, empty PostgreSQL database on the server `base_url`
/// names (connecting to the database in it) and returns the new database's
/// URL. For test harnesses: every test gets a database of its own on one
/// throwaway cluster.
pub async fn create_scratch_database(base_url: &str) -> anyhow::Result<String> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let name = format!(
        "kmc_{}",
        crate::auth::random_token()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .chars()
            .take(20)
            .collect::<String>()
    );
    let mut conn = Conn::connect(base_url)
        .await
        .context("connecting to the PostgreSQL server")?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .context("creating a scratch database")?;
    conn.close().await.ok();
    let (head, query) = match base_url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base_url, None),
    };
    // postgres://user@host:port[/db]: the path after the authority names the
    // database.
    let authority_end = head
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| head[start..].find('/').map(|j| start + j))
        .unwrap_or(head.len());
    let mut url = format!("{}/{name}", &head[..authority_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

/// The database a test runs on: a fresh PostgreSQL database when
/// `KMC_TEST_DATABASE_URL` names a server (the PostgreSQL pass of `cargo
/// xtask test`), else `None` (SQLite in the test's data dir).
pub async fn test_database_url() -> Option<String> {
    let base = std::env::var("KMC_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    Some(
        create_scratch_database(&base)
            .await
            .expect("KMC_TEST_DATABASE_URL names a PostgreSQL server that takes CREATE DATABASE"),
    )
}

/// A migrated database in a fresh temporary data dir, for the unit tests:
/// SQLite there, or a fresh PostgreSQL database under the PostgreSQL pass.
#[cfg(test)]
pub(crate) async fn test_pool() -> (tempfile::TempDir, Pool) {
    test_pool_with(DbConfig::default().max_connections).await
}

/// A pool of at most one connection, so a test sees whether the connection
/// a failed statement used is given back.
#[cfg(test)]
pub(crate) async fn test_pool_of_one() -> (tempfile::TempDir, Pool) {
    test_pool_with(1).await
}

#[cfg(test)]
async fn test_pool_with(max_connections: u32) -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().unwrap();
    let config = DbConfig {
        url: test_database_url().await,
        max_connections,
        ..Default::default()
    };
    let pool = open(dir.path(), &config).await.unwrap();
    (dir, pool)
}

/// For tests: a connection of a second pool on the database `pool` uses
/// (the same SQLite file in `dir`, or the same PostgreSQL database), holding
/// the lock a sign-in's writes to `logins` need until it is rolled back, as
/// another writer (the CLI, another replica) would, so a test can stop
/// statements while they wait.
pub async fn hold_logins_lock(dir: &Path, pool: &Pool) -> sqlx::pool::PoolConnection<Any> {
    let url = match backend(pool) {
        Backend::Sqlite => None,
        Backend::Postgres => Some(pool.connect_options().database_url.to_string()),
    };
    let other = open(
        dir,
        &DbConfig {
            url,
            max_connections: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut conn = other.acquire().await.unwrap();
    let lock: &[&str] = match backend(pool) {
        Backend::Sqlite => &["BEGIN IMMEDIATE"],
        Backend::Postgres => &["BEGIN", "SELECT id FROM logins FOR UPDATE"],
    };
    for sql in lock {
        sqlx::query(sql).execute(&mut *conn).await.unwrap();
    }
    conn
}

/// Makes every later write on this connection fail, for as long as it lives.
#[cfg(test)]
pub(crate) async fn make_read_only(conn: &mut Conn) {
    let sql = match backend_of(conn) {
        Backend::Sqlite => "PRAGMA query_only = 1",
        Backend::Postgres => "SET default_transaction_read_only = on",
    };
    sqlx::query(sql).execute(conn).await.unwrap();
}

/// True when the pool's next connection is clean ([`connection_is_clean`]).
#[cfg(test)]
pub(crate) async fn next_connection_is_clean(pool: &Pool) -> bool {
    connection_is_clean(&mut pool.acquire().await.unwrap()).await
}

/// For tests: true when this connection writes and, on SQLite, is outside
/// any transaction: not one that a batch stopped half-way left behind.
/// (PostgreSQL runs each of these writes as one statement, which never
/// leaves a transaction open.)
pub async fn connection_is_clean(conn: &mut Conn) -> bool {
    match backend_of(conn) {
        Backend::Sqlite => {
            let query_only: i64 = sqlx::query_scalar("PRAGMA query_only")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            // BEGIN fails inside a transaction.
            let outside = sqlx::query("BEGIN").execute(&mut *conn).await.is_ok();
            if outside {
                sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
            }
            query_only == 0 && outside
        }
        Backend::Postgres => {
            let read_only: String = sqlx::query_scalar("SHOW default_transaction_read_only")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            read_only == "off"
        }
    }
}

/// Stores a setting unless one is there already (the first writer wins,
/// whatever runs at the same time).
pub async fn add_setting_if_absent(pool: &Pool, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(pool)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unsynced connection of a fresh database, and that database's
    /// pool; `None` on PostgreSQL, whose unsynced commits use the pool.
    async fn sqlite_unsynced(wait: Duration) -> Option<(tempfile::TempDir, Pool, Unsynced)> {
        let (dir, pool) = test_pool().await;
        if backend(&pool) == Backend::Postgres {
            return None;
        }
        let db = DbConfig {
            acquire_timeout: wait,
            ..DbConfig::default()
        };
        let unsynced = open_unsynced(&db, &pool).await.unwrap();
        Some((dir, pool, unsynced))
    }

    #[tokio::test]
    async fn the_unsynced_connection_is_kept_between_leases_not_given_back_to_a_pool() {
        let Some((_d, _pool, unsynced)) = sqlite_unsynced(Duration::from_secs(10)).await else {
            return;
        };
        let mut first = unsynced.acquire().await.unwrap();
        // A temporary table lives as long as its connection.
        for sql in [
            "CREATE TEMP TABLE mark (x INTEGER)",
            "INSERT INTO mark VALUES (1)",
        ] {
            sqlx::query(sql).execute(&mut *first).await.unwrap();
        }
        drop(first);
        let mut again = unsynced.acquire().await.unwrap();
        let marked: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM temp.mark")
            .fetch_one(&mut *again)
            .await;
        assert_eq!(marked.ok(), Some(1), "the same connection");
    }

    #[tokio::test]
    async fn the_unsynced_connection_is_lent_to_one_at_a_time_and_a_waiter_gives_up_in_time() {
        let wait = Duration::from_millis(200);
        let Some((_d, _pool, unsynced)) = sqlite_unsynced(wait).await else {
            return;
        };
        let first = unsynced.acquire().await.unwrap();
        let started = std::time::Instant::now();
        let second = unsynced.acquire().await;
        assert!(matches!(second, Err(sqlx::Error::PoolTimedOut)));
        assert!(started.elapsed() >= wait);
        drop(first);
        assert!(unsynced.acquire().await.is_ok());
    }
}
