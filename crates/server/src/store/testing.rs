//! For tests only (unit tests, and the integration tests through the
//! `test-support` feature): scratch PostgreSQL databases, a second writer
//! holding the logins' lock, and checks of a connection's state. They
//! panic (`unwrap`) where a test should fail.

use std::path::Path;

use anyhow::Context as _;
use sqlx::{Any, Executor as _};

use super::{Backend, Conn, DbConfig, Pool, backend, backend_of, open};

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

/// For tests: the secret [`add_sealed_logins`] gives login `id`.
pub fn bulk_secret(id: i64) -> Vec<u8> {
    format!("bulk secret of login {id:>8}").into_bytes()
}

/// For tests: `n` logins (`bulk-<i>@example.com`), each with its
/// [`bulk_secret`] sealed with `key`, in one transaction; their ids.
pub async fn add_sealed_logins(
    pool: &Pool,
    key: &crate::auth::crypto::SecretBox,
    n: usize,
) -> anyhow::Result<Vec<i64>> {
    let mut tx = pool.begin().await?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO logins (email, created_at) VALUES ($1, 0) RETURNING id",
        )
        .bind(format!("bulk-{i}@example.com"))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE logins SET totp_secret = $2 WHERE id = $1")
            .bind(id)
            .bind(key.seal(id, &bulk_secret(id))?)
            .execute(&mut *tx)
            .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}
