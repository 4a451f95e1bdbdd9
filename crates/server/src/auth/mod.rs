//! The security logic, as small functions with their own tests:
//! - [`passwords`]: argon2id hashing and the password policy;
//! - [`totp`]: authenticator secrets and code checking;
//! - [`signin`]: the sign-in and password-change service, which the API
//!   handlers and the CLI call;
//! - [`enrol`]: a login's authenticator secret and its otpauth URI;
//! - [`crypto`]: encryption of TOTP secrets at rest;
//! - [`keys`]: the key a process uses, the database's key check, the
//!   guard on every write of a secret, and `rotate-key`;
//! - [`lockout`]: the atomic per-login failed-attempt counter;
//! - [`links`]: single-use link tokens (hash keys);
//! - [`sessions`]: opaque KS tokens;
//! - [`rate_limit`]: the password-reset request limits;
//! - [`throttle`]: the per-client budget of password checks.

pub mod crypto;
pub mod enrol;
pub mod keys;
pub mod links;
pub mod lockout;
pub mod passwords;
pub mod rate_limit;
pub mod sessions;
pub mod signin;
pub mod throttle;
pub mod totp;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};

/// A fresh 256-bit random token, URL-safe base64 without padding (43
/// characters of `A-Za-z0-9_-`), from the OS CSPRNG.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_256_bit_url_safe_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
    }
}
