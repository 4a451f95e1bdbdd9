//! A second authenticator, written here from RFC 6238 and RFC 4648 with only
//! HMAC-SHA1 from a crate: no TOTP crate and none of the project's parsers.
//! The phone enrollment test makes its codes with it from the URI the
//! "Add to authenticator app" link carries, so a mistake shared by totp-rs
//! (the server's and the other tests') or by the project's otpauth parser
//! cannot pass unseen.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// What a phone keeps from an `otpauth://totp/…` URI.
pub struct Key {
    secret: Vec<u8>,
    digits: u32,
    period: u64,
}

impl std::fmt::Debug for Key {
    // No secret in test output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key { .. }")
    }
}

impl Key {
    /// Reads a TOTP URI with SHA-1 (the only algorithm the project hands out);
    /// `None` when it is not one.
    pub fn from_uri(uri: &str) -> Option<Key> {
        let query = uri.strip_prefix("otpauth://totp/")?.split_once('?')?.1;
        let (mut secret, mut digits, mut period) = (None, 6, 30);
        for pair in query.split('&') {
            match pair.split_once('=')? {
                ("secret", value) => secret = Some(base32(value)?),
                ("digits", value) => digits = value.parse().ok()?,
                ("period", value) => period = value.parse().ok()?,
                ("algorithm", value) if !value.eq_ignore_ascii_case("SHA1") => return None,
                _ => {}
            }
        }
        Some(Key {
            secret: secret?,
            digits,
            period,
        })
    }

    /// The code for the moment `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        hotp(&self.secret, unix_secs / self.period, self.digits)
    }
}

/// RFC 4648 base32 (upper or lower case, padding optional).
fn base32(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').chars() {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// RFC 4226 HOTP with HMAC-SHA1: dynamic truncation, then the low `digits` decimals.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!(
        "{:0width$}",
        word % 10u32.pow(digits),
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_sha1_vectors_come_out() {
        // RFC 6238 appendix B: the key is the ASCII "12345678901234567890".
        let uri = "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8";
        let key = Key::from_uri(uri).unwrap();
        assert_eq!(key.code_at(59), "94287082");
        assert_eq!(key.code_at(1_111_111_109), "07081804");
        assert_eq!(key.code_at(2_000_000_000), "69279037");
    }

    #[test]
    fn six_digits_and_thirty_seconds_are_the_defaults_and_other_algorithms_are_refused() {
        let key =
            Key::from_uri("otpauth://totp/x?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap();
        assert_eq!(key.code_at(59), "287082");
        assert!(Key::from_uri("otpauth://totp/x?secret=GEZDGNBV&algorithm=SHA256").is_none());
        assert!(Key::from_uri("otpauth://hotp/x?secret=GEZDGNBV").is_none());
    }
}
