//! TOTP secrets are encrypted at rest with ChaCha20-Poly1305. The 256-bit key
//! lives in a file beside the database (created on first start, mode 0600)
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
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            let mut key = [0u8; 32];
            OsRng.fill_bytes(&mut key);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            match options.open(path) {
                Ok(mut f) => {
                    f.write_all(&key)
                        .with_context(|| format!("writing key file {}", path.display()))?;
                    f.sync_all().ok();
                }
                // Another process (a CLI command next to `serve`) made it first.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("creating key file {}", path.display()));
                }
            }
        }
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
    }
}
