//! Authenticator codes (RFC 6238 through `totp-rs`): 160-bit secrets from the
//! OS CSPRNG; SHA-1, 6 digits, 30-second steps, one step of skew either
//! side. Input is normalised and compared in constant time; the matching
//! time step is returned so the caller can refuse its reuse (replay).

use rand::RngCore as _;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, Builder};

/// Seconds per time step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// A fresh secret from the OS CSPRNG.
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut s);
    s
}

/// Strips spaces and dashes ("123 456", "123-456", pasted text with
/// surrounding blanks); `None` unless six ASCII digits remain.
pub fn normalise(code: &str) -> Option<String> {
    let digits: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The code for a given time step.
pub fn code_at_step(secret: &[u8], step: i64) -> Option<String> {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(1)
        .with_step_duration(STEP as u64)
        .with_secret(secret.to_vec())
        .build_noncompliant();
    u64::try_from(step * STEP)
        .ok()
        .map(|t| totp.generate(t).to_string())
}

/// The time step whose code equals `code` among the step of `now` and one
/// either side, compared in constant time; `None` when none matches.
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code = normalise(code)?;
    let current = now.div_euclid(STEP);
    let mut found = None;
    // Check every candidate (no early exit), so timing does not tell which
    // step matched.
    for step in [current - 1, current, current + 1] {
        if let Some(expected) = code_at_step(secret, step)
            && bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
        {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 secret "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_vectors_truncated_to_six_digits() {
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at_step(RFC_SECRET, t / STEP).unwrap(), code);
        }
    }

    #[test]
    fn normalise_accepts_spaces_dashes_and_refuses_other_text() {
        assert_eq!(normalise(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalise("123-456").as_deref(), Some("123456"));
        assert_eq!(normalise("12345"), None);
        assert_eq!(normalise("12345a"), None);
        assert_eq!(normalise("１２３４５６"), None);
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_not_two() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        let now = 1_700_000_000;
        let step = now / STEP;
        for delta in [-1, 0, 1] {
            let code = code_at_step(&secret, step + delta).unwrap();
            assert_eq!(matching_step(&secret, &code, now), Some(step + delta));
        }
        for delta in [-2, 2] {
            let code = code_at_step(&secret, step + delta).unwrap();
            assert_eq!(matching_step(&secret, &code, now), None);
        }
    }
}
