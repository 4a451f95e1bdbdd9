//! Opening the database: the data dir and file (private to the server's
//! user), the pool's limits, SQLite's pragmas, and the migrations.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::Executor as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use super::{Backend, Pool, backend_of_url};

/// The database file name inside the data dir.
pub const DB_FILE: &str = "kmc.sqlite3";

/// The lock file beside the database that serialises opening it.
pub const LOCK_FILE: &str = "kmc.sqlite3.open-lock";

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
pub(super) async fn sqlite_pool(
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

/// True when the database answers a trivial query.
pub async fn ping(pool: &Pool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .is_ok()
}
