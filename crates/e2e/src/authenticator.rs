//! An authenticator app in a test: reads an `otpauth://` URI with `totp-rs`
//! (not the project's own parser) and produces codes.
//!
//! The server refuses a time step it has already accepted for a login, and
//! accepts one step of skew either side. [`Authenticator::fresh_code`] uses
//! that: it hands out the code of the earliest step that is still unused and
//! accepted now (the current one, else the next one), and only waits for the
//! clock when both are spent. A test can therefore sign in several times in a
//! row without flakiness near a 30-second boundary.

use std::sync::Mutex;
use std::time::Duration;

use totp_rs::Totp;

use crate::unix_now;

/// One TOTP key, as a phone holds it after scanning the QR code.
pub struct Authenticator {
    totp: Totp,
    /// The last time step whose code this authenticator handed out for a login.
    last_used_step: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Authenticator {
    // No secret in test output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator { .. }")
    }
}

impl Authenticator {
    /// Reads an `otpauth://totp/…` URI; panics with the reason when it is not one
    /// an authenticator app would accept.
    pub fn from_uri(uri: &str) -> Authenticator {
        let totp = Totp::from_url(uri)
            .unwrap_or_else(|e| panic!("the otpauth URI is not a valid TOTP key: {e}"));
        assert_eq!(totp.digits(), 6, "codes have 6 digits");
        assert_eq!(totp.step(), 30, "codes change every 30 seconds");
        Authenticator {
            totp,
            last_used_step: Mutex::new(None),
        }
    }

    /// Whether both hold the same key (compared in constant time by `totp-rs`).
    pub fn same_key_as(&self, other: &Authenticator) -> bool {
        self.totp == other.totp
    }

    /// The time step `unix_secs` falls in.
    pub fn step_of(unix_secs: u64) -> u64 {
        unix_secs / 30
    }

    /// The current time step.
    pub fn current_step() -> u64 {
        Self::step_of(unix_now())
    }

    /// The code of one time step.
    pub fn code_for_step(&self, step: u64) -> String {
        self.totp.generate(step * 30).to_string()
    }

    /// The code the phone shows right now.
    pub fn current_code(&self) -> String {
        self.code_for_step(Self::current_step())
    }

    /// Whether `code` would be accepted now by a ±1-step check.
    pub fn accepts_now(&self, code: &str) -> bool {
        let now = Self::current_step();
        (now - 1..=now + 1).any(|s| self.code_for_step(s) == code)
    }

    /// A code for a login that the server has not seen yet (see the module
    /// docs); records its step as used. Waits for the clock when needed.
    pub async fn fresh_code(&self) -> String {
        loop {
            let now = Self::current_step();
            let candidate = {
                let mut last = self.last_used_step.lock().expect("not poisoned");
                let step = match *last {
                    Some(used) => (used + 1).max(now),
                    None => now,
                };
                if step <= now + 1 {
                    *last = Some(step);
                    Some(step)
                } else {
                    None
                }
            };
            match candidate {
                Some(step) => return self.code_for_step(step),
                None => {
                    let wait = 30 - unix_now() % 30;
                    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200))
                        .await;
                }
            }
        }
    }

    /// Marks the step of a code the server has just accepted through another
    /// path (for instance a code typed by the test itself).
    pub fn mark_used(&self, step: u64) {
        let mut last = self.last_used_step.lock().expect("not poisoned");
        *last = Some(last.map_or(step, |l| l.max(step)));
    }

    /// A well-formed six-digit code that this key does not produce for any step
    /// the server could accept now (or in the next minute).
    pub fn wrong_code(&self) -> String {
        let now = Self::current_step();
        let valid: Vec<String> = (now - 2..=now + 3).map(|s| self.code_for_step(s)).collect();
        let mut n: u32 = self.current_code().parse().expect("digits");
        loop {
            n = (n + 500_001) % 1_000_000;
            let code = format!("{n:06}");
            if !valid.contains(&code) {
                return code;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", truncated to 6 digits.
    const RFC_URI: &str =
        "otpauth://totp/Test:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Test";

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let a = Authenticator::from_uri(RFC_URI);
        assert_eq!(a.code_for_step(59 / 30), "287082");
        assert_eq!(a.code_for_step(1_111_111_109 / 30), "081804");
        assert_eq!(a.code_for_step(1_234_567_890 / 30), "005924");
        assert_eq!(a.code_for_step(2_000_000_000 / 30), "279037");
    }

    #[test]
    fn a_wrong_code_is_never_accepted_now() {
        let a = Authenticator::from_uri(RFC_URI);
        let wrong = a.wrong_code();
        assert_eq!(wrong.len(), 6);
        assert!(!a.accepts_now(&wrong));
    }

    #[tokio::test]
    async fn fresh_codes_never_repeat_a_step() {
        let a = Authenticator::from_uri(RFC_URI);
        let first = a.fresh_code().await;
        let second = a.fresh_code().await;
        assert_ne!(first, second);
        assert!(a.accepts_now(&first));
        assert!(a.accepts_now(&second));
    }
}
