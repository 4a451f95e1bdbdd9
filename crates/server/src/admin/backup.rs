//! `backup --to FILE`: a consistent copy of the SQLite database, taken
//! while `serve` runs (`VACUUM INTO` reads one snapshot, so writers go on).
//! The key file is not in it: it is backed up apart from the database.
//! A PostgreSQL database is backed up with PostgreSQL's own tools.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::store::{self, Backend, Pool};

/// Writes a copy of the database to `to`, a file that must not exist yet
/// (created mode 0600, synced before this returns).
pub async fn backup(pool: &Pool, to: &Path) -> anyhow::Result<()> {
    if store::backend(pool) == Backend::Postgres {
        bail!(
            "backup copies the SQLite database; this server uses PostgreSQL: back it up with \
             pg_dump (or pg_basebackup), and keep a copy of the key file with it"
        );
    }
    // VACUUM INTO refuses a file that is not empty; creating it here first
    // (never opening one that exists) also refuses an empty one and sets
    // its mode.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(to) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!(
                "{} exists already: backup never overwrites a file",
                to.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", to.display())),
    }
    let path = to
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", to.display()))?;
    let copied = store::vacuum_into(pool, path).await;
    if let Err(e) = copied {
        std::fs::remove_file(to).ok();
        return Err(e).context("copying the database");
    }
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", to.display()))?;
    Ok(())
}
