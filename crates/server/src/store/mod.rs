//! The database: SQLite in the data dir (the default) or a shared
//! PostgreSQL (`--database-url postgres://…`), both through sqlx's `Any`
//! driver, so every query in the server is written once, with `$1`-style
//! placeholders (which SQLite reads too). Schemas live in
//! `crates/server/migrations/sqlite` and `crates/server/migrations/postgres`.
//!
//! Its parts: opening, pragmas and migrations (`open`); the held unsynced
//! connection and its leases (`held`); [`logins`] (logins, accounts and
//! users) and [`settings`]; row counts (`stats`); the copy `backup` writes
//! (`copy`); and, for tests only, `testing`. The rule for
//! where SQL lives (here: opening and plain reads and writes; the
//! statements that enforce a guarantee: beside it in `crate::auth`) is in
//! `docs/architecture.md`.
//!
//! What differs between the two: how the database is opened and migrated
//! ([`open()`]); finding a login by email ([`email_match`]: SQLite's `COLLATE
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
//! - **reset limits** ([`crate::auth::rate_limit::take_request`]): one upsert per key whose `WHERE`
//!   refuses a full window, inside a transaction that takes the email's key
//!   and then the client's, so a refusal of the second undoes the first;
//!   the row lock the upsert takes serialises parallel requests for one key
//!   (always in the same order, so they cannot deadlock);
//! - **one notice per block**: the failure that spends the budget sets the
//!   block in an `UPDATE … WHERE blocked_until IS NULL`, re-checked the same
//!   way, so of racing failures exactly one changes the row and sends it;
//! - **pruning** ([`delete_batch`]): deleting a dead row twice deletes it
//!   once, and PostgreSQL's `SKIP LOCKED` keeps the batches of pruners on
//!   several replicas apart.

mod copy;
mod held;
pub mod logins;
mod open;
pub mod settings;
mod stats;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use copy::vacuum_into;
pub use held::{Batch, Lease, Unsynced, open_unsynced};
pub use logins::*;
pub use open::{DB_FILE, DbConfig, LOCK_FILE, create_private_dir, open, ping};
pub use settings::{add_setting_if_absent, set_setting, setting};
pub use stats::{TABLES, row_counts};
#[cfg(any(test, feature = "test-support"))]
pub use testing::*;

/// The connection pool every query runs on (SQLite or PostgreSQL).
pub type Pool = sqlx::AnyPool;
/// One connection (or a transaction's, through `&mut *tx`).
pub type Conn = sqlx::AnyConnection;

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

pub(crate) fn backend_of_url(url: &str) -> Backend {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// The backend of a connection.
pub fn backend_of(conn: &Conn) -> Backend {
    backend_of_name(conn.backend_name())
}

/// Deletes at most `batch` rows of `table` that match `dead`, a condition
/// that reads a cutoff time as `$1` (the callers in `crate::auth` say what
/// is dead); the number deleted. `key` is a unique column of the table.
///
/// Small batches keep each write short, so sign-ins wait for no more than
/// one batch. Safe with pruners on several replicas at once: deleting a row
/// already deleted deletes nothing, and on PostgreSQL the rows are picked
/// `FOR UPDATE SKIP LOCKED`, so two pruners take disjoint batches instead of
/// waiting on (or deadlocking with) each other or with a request writing one
/// of the rows; SQLite runs every write serialised.
pub async fn delete_batch(
    pool: &Pool,
    table: &'static str,
    key: &'static str,
    dead: &'static str,
    cutoff: i64,
    batch: i64,
) -> sqlx::Result<u64> {
    let lock = match backend(pool) {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "DELETE FROM {table} WHERE {key} IN
             (SELECT {key} FROM {table} WHERE {dead} LIMIT $2{lock})"
    );
    sqlx::query(&sql)
        .bind(cutoff)
        .bind(batch)
        .execute(pool)
        .await
        .map(|d| d.rows_affected())
}

/// A transaction that will write: on SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`, waiting for it up to the busy timeout), since a
/// transaction that read first could not take it once another process
/// has written since; on PostgreSQL a plain `BEGIN`.
pub async fn begin_write(pool: &Pool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
    match backend(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => pool.begin().await,
    }
}
