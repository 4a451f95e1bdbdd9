//! Time-based one-time passwords (RFC 6238, HMAC-SHA1), computed in the browser.
//!
//! Serves the enrollment view's optional "Check your code": the page holds the
//! secret it just showed, so it can tell the user whether their authenticator
//! produces the right codes *before* they leave, without spending a server
//! login attempt. The server stays the only judge at sign-in; this check only
//! gives feedback, so it compares in plain (non-constant) time.
//!
//! Only SHA-1 is implemented: it is what this project and Kaltura issue, and
//! the view hides the check for any other algorithm.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// How far from the browser's clock a code is still accepted, in steps, as
/// the server accepts it (one step of skew either side).
pub const ACCEPTED_SKEW_STEPS: i64 = 1;

/// How far we look for a code that matches a *different* time, in steps
/// (10 minutes either side of a 30-second step): a match there means the
/// phone's clock is off, not that the wrong key was scanned.
pub const CLOCK_SEARCH_STEPS: i64 = 20;

/// The HOTP value (RFC 4226) of `key` at `counter`, truncated to `digits`.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation, RFC 4226 §5.3.
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The time step (RFC 6238 `T`) that `unix_seconds` falls in.
pub fn time_step(unix_seconds: u64, period: u64) -> u64 {
    unix_seconds / period.max(1)
}

/// The code an authenticator shows at `unix_seconds`, zero-padded to `digits`.
pub fn code_at(key: &[u8], unix_seconds: u64, period: u64, digits: u32) -> String {
    format_code(hotp(key, time_step(unix_seconds, period), digits), digits)
}

fn format_code(value: u32, digits: u32) -> String {
    format!("{value:0width$}", width = digits as usize)
}

/// Strips what people type or paste around a code (spaces, dashes), as the
/// sign-in form does, and keeps it only when it is exactly `digits` digits.
pub fn normalise_code(typed: &str, digits: u32) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (code.len() == digits as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// What a typed code tells us about the user's authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code is valid now (within one step): the app is set up.
    Accepted,
    /// The code is right for this key but for another time: the phone's clock
    /// is off by about `steps` periods (positive: the phone is ahead).
    ClockOff {
        /// Signed distance in time steps between the phone and the browser.
        steps: i64,
    },
    /// No nearby time gives this code: most likely another entry (an older
    /// QR code, another account) was read.
    WrongKey,
    /// Not a code of the right number of digits.
    Malformed,
}

/// Checks a typed code against `key` at `unix_seconds`, accepting one step of
/// skew either side (as the server does) and recognising a phone clock that is
/// off by up to [`CLOCK_SEARCH_STEPS`] steps.
pub fn check_code(
    key: &[u8],
    typed: &str,
    unix_seconds: u64,
    period: u64,
    digits: u32,
) -> CodeCheck {
    let Some(code) = normalise_code(typed, digits) else {
        return CodeCheck::Malformed;
    };
    let now = time_step(unix_seconds, period) as i64;
    let matches_at = |offset: i64| {
        let step = now + offset;
        step >= 0 && format_code(hotp(key, step as u64, digits), digits) == code
    };
    if (-ACCEPTED_SKEW_STEPS..=ACCEPTED_SKEW_STEPS).any(matches_at) {
        return CodeCheck::Accepted;
    }
    // Search outwards so the smallest clock difference wins.
    for distance in ACCEPTED_SKEW_STEPS + 1..=CLOCK_SEARCH_STEPS {
        for steps in [distance, -distance] {
            if matches_at(steps) {
                return CodeCheck::ClockOff { steps };
            }
        }
    }
    CodeCheck::WrongKey
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
    const RFC_KEY: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA-1 rows: (time, 8-digit TOTP).
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn eight_digit_codes_match_the_rfc_6238_sha1_test_vectors() {
        for (time, expected) in RFC_VECTORS {
            assert_eq!(code_at(RFC_KEY, time, 30, 8), expected, "at T={time}");
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_digits_of_the_rfc_vectors() {
        for (time, expected) in RFC_VECTORS {
            assert_eq!(code_at(RFC_KEY, time, 30, 6), expected[2..], "at T={time}");
        }
    }

    #[test]
    fn hotp_matches_the_rfc_4226_appendix_d_values() {
        let expected = [755224, 287082, 359152, 969429, 338314];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, counter as u64, 6), value);
        }
    }

    #[test]
    fn a_code_from_the_current_step_is_accepted() {
        assert_eq!(
            check_code(RFC_KEY, "050471", 1_111_111_111, 30, 6),
            CodeCheck::Accepted
        );
    }

    #[test]
    fn a_code_one_step_early_or_late_is_accepted() {
        let now = 1_111_111_111;
        let previous = code_at(RFC_KEY, now - 30, 30, 6);
        let next = code_at(RFC_KEY, now + 30, 30, 6);
        assert_eq!(
            check_code(RFC_KEY, &previous, now, 30, 6),
            CodeCheck::Accepted
        );
        assert_eq!(check_code(RFC_KEY, &next, now, 30, 6), CodeCheck::Accepted);
    }

    #[test]
    fn a_code_two_steps_away_is_reported_as_a_clock_difference_not_accepted() {
        let now = 1_234_567_890;
        let ahead = code_at(RFC_KEY, now + 60, 30, 6);
        let behind = code_at(RFC_KEY, now - 150, 30, 6);
        assert_eq!(
            check_code(RFC_KEY, &ahead, now, 30, 6),
            CodeCheck::ClockOff { steps: 2 }
        );
        assert_eq!(
            check_code(RFC_KEY, &behind, now, 30, 6),
            CodeCheck::ClockOff { steps: -5 }
        );
    }

    #[test]
    fn a_code_from_another_key_is_reported_as_the_wrong_key() {
        let now = 2_000_000_000;
        let other = code_at(b"another secret key!!", now, 30, 6);
        assert_eq!(check_code(RFC_KEY, &other, now, 30, 6), CodeCheck::WrongKey);
    }

    #[test]
    fn spaces_and_dashes_in_a_typed_code_are_ignored() {
        assert_eq!(
            check_code(RFC_KEY, " 050-471 ", 1_111_111_111, 30, 6),
            CodeCheck::Accepted
        );
        assert_eq!(
            check_code(RFC_KEY, "050 471", 1_111_111_111, 30, 6),
            CodeCheck::Accepted
        );
    }

    #[test]
    fn letters_or_the_wrong_number_of_digits_are_malformed() {
        for typed in ["", "12345", "1234567", "12a456", "abcdef"] {
            assert_eq!(
                check_code(RFC_KEY, typed, 59, 30, 6),
                CodeCheck::Malformed,
                "{typed:?}"
            );
        }
    }

    #[test]
    fn the_check_never_looks_before_the_unix_epoch() {
        // At T=0 the search reaches negative steps; they must simply not match.
        let code = code_at(RFC_KEY, 0, 30, 6);
        assert_eq!(check_code(RFC_KEY, &code, 0, 30, 6), CodeCheck::Accepted);
    }
}
