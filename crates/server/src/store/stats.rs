//! How many rows each table holds: what an operator (or the soak in the
//! bench) watches to see that the tables stay bounded.

use super::Pool;

/// Every table of the schema, in the order [`row_counts`] reports them.
pub const TABLES: [&str; 8] = [
    "partners",
    "logins",
    "users",
    "password_history",
    "link_tokens",
    "sessions",
    "settings",
    "request_limits",
];

/// The number of rows of each of [`TABLES`], in that order.
pub async fn row_counts(pool: &Pool) -> sqlx::Result<Vec<(&'static str, i64)>> {
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pool)
            .await?;
        counts.push((table, n));
    }
    Ok(counts)
}
