//! A consistent copy of the SQLite database, taken beside writers.

use super::Pool;

/// Writes a copy of the SQLite database to `path`, a file that does not
/// exist or is empty: `VACUUM INTO` reads one snapshot, so writers go on
/// meanwhile.
pub async fn vacuum_into(pool: &Pool, path: &str) -> sqlx::Result<()> {
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(pool)
        .await
        .map(|_| ())
}
