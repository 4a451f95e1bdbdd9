//! TOTP secrets are encrypted at rest with ChaCha20-Poly1305. The 256-bit key
//! lives in a file beside the database (created on first start, atomically,
//! mode 0600; never silently re-created once the database holds secrets)
//! or in a file the operator names, so a copy of the database alone reveals
//! no secret. Each ciphertext is bound to its login id (associated data), so
//! a secret copied onto another row does not decrypt.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;
use rand::rngs::OsRng;

const NONCE_BYTES: usize = 12;

/// Encrypts and decrypts TOTP secrets. No `Debug`: it holds the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl SecretBox {
    /// A box from raw key bytes.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Reads the key file, creating it (32 random bytes, mode 0600) when it
    /// does not exist yet.
    ///
    /// Prefer [`SecretBox::load_or_create_checked`] where the database is
    /// open: a fresh key over a database holding secrets locks every
    /// authenticator out.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let exists = path
            .try_exists()
            .with_context(|| format!("checking key file {}", path.display()))?;
        if !exists {
            let mut key = [0u8; 32];
            OsRng.fill_bytes(&mut key);
            write_new_key_file(path, &key)?;
        }
        Self::load(path)
    }

    /// Reads an existing key file: exactly 32 bytes.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading key file {}", path.display()))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!(
                "key file {} must hold exactly 32 bytes (it holds {})",
                path.display(),
                bytes.len()
            )
        })?;
        Ok(Self::from_key(&key))
    }

    /// Like [`SecretBox::load_or_create`], but a missing key file is an
    /// error, not a fresh key, once the database holds encrypted secrets
    /// (`db_has_secrets`): the old key is the only way to read them.
    pub fn load_or_create_checked(path: &Path, db_has_secrets: bool) -> anyhow::Result<Self> {
        let exists = path
            .try_exists()
            .with_context(|| format!("checking key file {}", path.display()))?;
        anyhow::ensure!(
            exists || !db_has_secrets,
            "the database holds encrypted TOTP secrets but the key file {} is missing: restore \
             it from backup (or point --secret-key-file at it). Starting with a new key would \
             make every enrolled authenticator unusable, so none is created.",
            path.display()
        );
        Self::load_or_create(path)
    }
    /// Encrypts `secret` for login `login_id`: nonce ‖ ciphertext.
    pub fn seal(&self, login_id: i64, secret: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let aad = login_id.to_be_bytes();
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("encrypting a TOTP secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`SecretBox::seal`] produced for the same login.
    pub fn open(&self, login_id: i64, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(sealed.len() > NONCE_BYTES, "sealed secret too short");
        let (nonce, ct) = sealed.split_at(NONCE_BYTES);
        let aad = login_id.to_be_bytes();
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| anyhow::anyhow!("a TOTP secret does not decrypt with this key file"))
    }
}

/// Writes a new key file atomically: a temporary file in the same folder,
/// created mode 0600, written and synced, then linked to `path` (a rename
/// that never replaces a key another process made first), then the folder
/// synced, so a crash leaves either no key file or a whole one.
fn write_new_key_file(path: &Path, key: &[u8; 32]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("key file {} has no file name", path.display()))?;
    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{}.tmp-{suffix}", name.to_string_lossy()));

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(key)?;
            f.sync_all()
        })
        .with_context(|| format!("writing key file {}", tmp.display()));
    if let Err(e) = written {
        std::fs::remove_file(&tmp).ok();
        return Err(e);
    }
    let linked = match std::fs::hard_link(&tmp, path) {
        // Another process (a CLI command next to `serve`) made it first:
        // keep theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // A file system without hard links: rename, checking first.
        Err(_) if !path.exists() => std::fs::rename(&tmp, path),
        other => other,
    };
    std::fs::remove_file(&tmp).ok();
    linked.with_context(|| format!("creating key file {}", path.display()))?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_login_and_hides_the_plaintext() {
        let b = SecretBox::from_key(&[7; 32]);
        let secret = b"0123456789abcdefghij";
        let sealed = b.seal(5, secret).unwrap();
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_eq!(b.open(5, &sealed).unwrap(), secret);
        assert!(b.open(6, &sealed).is_err());
        assert!(SecretBox::from_key(&[8; 32]).open(5, &sealed).is_err());
    }

    #[test]
    fn the_key_file_is_created_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let a = SecretBox::load_or_create(&path).unwrap();
        let sealed = a.seal(1, b"x").unwrap();
        let b = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(b.open(1, &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("secret.key")]);
    }

    #[test]
    fn an_existing_key_is_never_replaced_and_racing_creators_share_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, [9u8; 32]).unwrap();
        // An existing key is read, never overwritten.
        let b = SecretBox::load_or_create(&path).unwrap();
        let sealed = SecretBox::from_key(&[9; 32]).seal(3, b"y").unwrap();
        assert_eq!(b.open(3, &sealed).unwrap(), b"y");
        assert_eq!(std::fs::read(&path).unwrap(), [9u8; 32]);
        // Racing creators all end up with the same key.
        let racing = dir.path().join("raced.key");
        let boxes: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| SecretBox::load_or_create(&racing).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sealed = boxes[0].seal(1, b"z").unwrap();
        for b in &boxes {
            assert_eq!(b.open(1, &sealed).unwrap(), b"z");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_missing_key_file_is_an_error_once_the_database_holds_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let err = SecretBox::load_or_create_checked(&path, true)
            .err()
            .expect("a fresh key over encrypted secrets");
        let msg = format!("{err:#}");
        assert!(msg.contains("holds encrypted TOTP secrets"), "{msg}");
        assert!(msg.contains("restore it from backup"), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(!path.exists(), "no key file may be created");

        // With no secrets yet, a key is created; then it is read either way.
        let a = SecretBox::load_or_create_checked(&path, false).unwrap();
        let sealed = a.seal(1, b"x").unwrap();
        let b = SecretBox::load_or_create_checked(&path, true).unwrap();
        assert_eq!(b.open(1, &sealed).unwrap(), b"x");
    }
}
