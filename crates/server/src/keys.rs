//! The TOTP key as the database knows it: the key check every process
//! verifies at start, the guard that keeps a process with an outdated key
//! from sealing secrets, and `rotate-key`, which re-seals every secret
//! under a new key.
//!
//! The database holds, in its settings, a constant sealed with its current
//! key (associated data 0: no login has that id). A process opens it at
//! start or refuses to start. That check value also names the key: every
//! rotation writes a new one (a fresh nonce), in the transaction that
//! re-seals the secrets. Each write of a secret carries the check value
//! its process verified in its `WHERE` (a `FOR SHARE` read of the settings
//! row on PostgreSQL, which a rotation holds locked until it commits), so a
//! process still holding the old key after a rotation writes nothing: no
//! secret is ever left sealed under a key the database no longer has.

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::auth::crypto::SecretBox;
use crate::store::{self, Backend, Conn, Pool};

/// Settings key of the constant sealed with the database's current key.
pub const KEY_CHECK_SETTING: &str = "secret_key_check";

/// The constant the check value seals.
const PLAIN: &[u8] = b"kmc-server secret key check";

/// Secrets re-sealed between two progress reports of [`rotate`].
pub const PROGRESS_EVERY: u64 = 500;

/// A new check value: [`PLAIN`] sealed with `key`.
fn seal_check(key: &SecretBox) -> anyhow::Result<String> {
    Ok(B64.encode(key.seal(0, PLAIN)?))
}

/// True when `key` opens the check value `recorded`.
fn opens(key: &SecretBox, recorded: &str) -> bool {
    B64.decode(recorded)
        .ok()
        .and_then(|sealed| key.open(0, &sealed).ok())
        .is_some_and(|plain| plain == PLAIN)
}

/// Verifies that `key` is the database's current key and returns the
/// check value it opened (the first process on a database records one).
/// A key file other than the current one is refused: replicas (or a CLI
/// run) with different keys would seal secrets that the others cannot
/// read, and after a rotation the old key opens nothing.
pub async fn check_key(
    pool: &Pool,
    key: &SecretBox,
    key_file: &std::path::Path,
) -> anyhow::Result<String> {
    if store::setting(pool, KEY_CHECK_SETTING).await?.is_none() {
        store::add_setting_if_absent(pool, KEY_CHECK_SETTING, &seal_check(key)?).await?;
    }
    let recorded = store::setting(pool, KEY_CHECK_SETTING)
        .await?
        .unwrap_or_default();
    anyhow::ensure!(
        opens(key, &recorded),
        "the key file {} is not this database's current TOTP key (it is another replica's \
         key, or the key before a rotate-key): every replica and every CLI command must use \
         the same --secret-key-file, holding the current key",
        key_file.display()
    );
    Ok(recorded)
}

/// The condition (for an `UPDATE logins … WHERE`) that the database's
/// current check value is `$n`: the guard of every write of a secret.
pub fn current_key_is(backend: Backend, n: usize) -> String {
    let lock = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR SHARE",
    };
    format!(
        "EXISTS (SELECT 1 FROM settings WHERE key = '{KEY_CHECK_SETTING}' AND value = ${n}{lock})"
    )
}

/// Re-seals every TOTP secret sealed with `old` (the database's current
/// key, checked first) under `new`, and records `new`'s check value, in one
/// transaction: a crash or a `kill -9` at any point leaves every secret
/// under one key or every one under the other. `progress(done, total)` is
/// called once the secrets are read and every [`PROGRESS_EVERY`] secrets.
/// Returns how many secrets were re-sealed.
///
/// Other processes keep serving meanwhile. On SQLite the transaction holds
/// the write lock (`BEGIN IMMEDIATE`), so their writes wait for it; on
/// PostgreSQL it first locks the settings row of the check value, so a
/// write of a secret waits for it too, and then sees the new check value
/// and writes nothing (see the module docs).
pub async fn rotate(
    pool: &Pool,
    old: &SecretBox,
    new: &SecretBox,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<u64> {
    let mut tx = store::begin_write(pool).await?;
    let conn: &mut Conn = &mut tx;
    let lock = match store::backend_of(conn) {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    };
    let recorded: Option<String> =
        sqlx::query_scalar(&format!("SELECT value FROM settings WHERE key = $1{lock}"))
            .bind(KEY_CHECK_SETTING)
            .fetch_optional(&mut *conn)
            .await?;
    let recorded = recorded.context("the database has no key check yet: start `serve` once")?;
    if !opens(old, &recorded) {
        bail!("the current key file is not this database's current TOTP key");
    }
    if opens(new, &recorded) {
        bail!("the new key is the database's current key already");
    }
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT id, totp_secret FROM logins WHERE totp_secret IS NOT NULL ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = rows.len() as u64;
    progress(0, total);
    for (done, (id, sealed)) in (1..).zip(rows) {
        let plain = old.open(id, &sealed).with_context(|| {
            format!(
                "the secret of login {id} does not open with the current key: nothing was changed"
            )
        })?;
        sqlx::query("UPDATE logins SET totp_secret = $2 WHERE id = $1")
            .bind(id)
            .bind(new.seal(id, &plain)?)
            .execute(&mut *conn)
            .await?;
        if done % PROGRESS_EVERY == 0 {
            progress(done, total);
        }
    }
    sqlx::query("UPDATE settings SET value = $2 WHERE key = $1")
        .bind(KEY_CHECK_SETTING)
        .bind(seal_check(new)?)
        .execute(&mut *conn)
        .await?;
    tx.commit().await?;
    tracing::info!(target: "audit", event = "key.rotated", count = total, by = "cli");
    Ok(total)
}

/// Why a process refused to seal a secret: its key is no longer the
/// database's (a rotation happened while it ran). Answered as an internal
/// error (a Kaltura error object; the cause goes to the log only).
pub fn outdated_key() -> anyhow::Error {
    anyhow::anyhow!(
        "the TOTP key was rotated while this process ran: restart it with the new \
         --secret-key-file"
    )
}
