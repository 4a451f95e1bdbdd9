//! The TOTP key as the database knows it: the key check every process
//! verifies at start, the process's key ([`Keys`]: it opens and writes
//! secrets, and takes up a rotated key from its key file without a
//! restart), the guard that keeps a process with an outdated key from
//! sealing secrets, and `rotate-key`, which re-seals every secret under a
//! new key.
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

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

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
    crate::audit::key_rotated(total);
    Ok(total)
}

/// A process's TOTP key and the key check value it opened.
pub struct Key {
    /// Seals and opens the secrets.
    pub secrets: SecretBox,
    /// The database's check value `secrets` opened: every write of a secret
    /// requires it to be still current.
    pub check: String,
}

/// The key a process uses, read from its key file at start and again when
/// a secret does not open or may not be written with it: after a
/// `rotate-key`, moving the new key over the key file is enough, each
/// process takes it up at its next use of a secret. No `Debug`: it holds
/// the key.
pub struct Keys {
    file: PathBuf,
    current: RwLock<Arc<Key>>,
}

impl Keys {
    /// Reads (or, on a database without secrets, creates) the key file and
    /// checks it against the database ([`check_key`]).
    pub async fn open(pool: &Pool, file: PathBuf) -> anyhow::Result<Self> {
        // A missing key file is an error, not a fresh key, once the database
        // holds secrets sealed with the old one.
        let db_has_secrets = store::has_totp_secrets(pool).await?;
        let secrets = SecretBox::load_or_create_checked(&file, db_has_secrets)?;
        let check = check_key(pool, &secrets, &file).await?;
        Ok(Self {
            file,
            current: RwLock::new(Arc::new(Key { secrets, check })),
        })
    }

    /// The key in use now.
    pub fn current(&self) -> Arc<Key> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Opens a login's sealed secret, taking up a rotated key first when the
    /// one in use does not open it.
    pub async fn open_secret(
        &self,
        pool: &Pool,
        login_id: i64,
        sealed: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let key = self.current();
        match key.secrets.open(login_id, sealed) {
            Ok(secret) => Ok(secret),
            Err(e) if self.reload(&mut *pool.acquire().await?, &key).await? => {
                self.current().secrets.open(login_id, sealed).or(Err(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Seals `secret` for a login and stores it on `conn` (a caller's
    /// transaction, or a connection of the pool) with the guard of
    /// [`store::write_totp_secret`]; a rotated key is taken up and the
    /// write tried once more.
    pub async fn write_secret(
        &self,
        conn: &mut Conn,
        login_id: i64,
        secret: &[u8],
    ) -> anyhow::Result<()> {
        let key = self.current();
        let sealed = key.secrets.seal(login_id, secret)?;
        if store::write_totp_secret(conn, login_id, &sealed, &key.check).await? {
            return Ok(());
        }
        if !self.reload(conn, &key).await? {
            bail!("login {login_id} was removed while its secret was being written");
        }
        let key = self.current();
        let sealed = key.secrets.seal(login_id, secret)?;
        if store::write_totp_secret(conn, login_id, &sealed, &key.check).await? {
            return Ok(());
        }
        Err(outdated_key())
    }

    /// After a secret did not open or could not be written with `stale`:
    /// true when another key is in use now, either taken up by another
    /// task already or read from the key file now because it opens the
    /// database's current check value. An error when the database has a
    /// key check that neither opens (a rotation whose key is not in the
    /// key file yet); false when `stale` is still the database's key. It
    /// reads on `conn`, the caller's transaction if it has one: another
    /// connection of the pool might never come while every one waits for
    /// this transaction.
    async fn reload(&self, conn: &mut Conn, stale: &Arc<Key>) -> anyhow::Result<bool> {
        if !Arc::ptr_eq(&self.current(), stale) {
            return Ok(true);
        }
        let recorded: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(KEY_CHECK_SETTING)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_default();
        if recorded == stale.check {
            return Ok(false);
        }
        let secrets = SecretBox::load(&self.file)
            .ok()
            .filter(|s| opens(s, &recorded));
        let Some(secrets) = secrets else {
            return Err(outdated_key());
        };
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Key {
            secrets,
            check: recorded,
        });
        tracing::warn!(
            key_file = %self.file.display(),
            "the TOTP key was rotated: the new key in the key file is used from now on"
        );
        Ok(true)
    }
}

/// Why a process refused to seal a secret: its key is no longer the
/// database's (a rotation happened while it ran). Answered as an internal
/// error (a Kaltura error object; the cause goes to the log only).
pub fn outdated_key() -> anyhow::Error {
    anyhow::anyhow!(
        "the TOTP key was rotated while this process ran and its key file does not hold \
         the new key yet: move the new key over it (or restart with the new \
         --secret-key-file)"
    )
}
