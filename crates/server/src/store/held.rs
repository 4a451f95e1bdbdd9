//! The held connection: [`Unsynced`], the connection of a sign-in's two
//! commits whose loss in a power cut is on the safe side, lent as a
//! [`Lease`]; and [`Batch`], which closes a connection a batch left
//! half-done.

use anyhow::Context as _;
use sqlx::Any;
use sqlx::pool::PoolConnection;

use super::open::sqlite_pool;
use super::{Backend, Conn, DbConfig, Pool, backend};

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::test_pool;

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
