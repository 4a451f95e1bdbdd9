//! Sliding-window limits for `user.resetPassword`: 10 requests per email and
//! 100 per client (address, IPv6 /64) per 10 minutes. Over the limit the
//! request is dropped silently (the action still answers `null`), so the
//! limit tells an attacker nothing about whether an email exists. Kept in
//! memory, in an LRU map of at most [`CAPACITY`] keys, and keyed only by an
//! email that is a valid address of at most 254 characters (the caller
//! refuses the rest before calling): a flood of distinct or huge emails
//! cannot grow it. A restart or an eviction forgets a key, which only ever
//! lets a few more emails out.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

/// Window length in seconds.
pub const WINDOW: i64 = 10 * 60;
/// Requests allowed per email per window.
pub const PER_EMAIL: usize = 10;
/// Requests allowed per client address per window.
pub const PER_IP: usize = 100;
/// Most keys (emails and clients) remembered at once.
pub const CAPACITY: usize = 65_536;

/// Counts recent requests per key.
pub struct ResetLimiter {
    seen: Mutex<LruCache<String, VecDeque<i64>>>,
}

impl Default for ResetLimiter {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl ResetLimiter {
    /// A limiter remembering at most `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            seen: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records one request for `email` from the client `client` (its limit
    /// key) at `now`; false when either limit is already reached (then
    /// nothing is recorded).
    pub fn allow(&self, email: &str, client: Option<&str>, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let email_key = format!("e:{}", email.trim().to_ascii_lowercase());
        let ip_key = client.map(|ip| format!("i:{ip}"));
        let mut count = |key: &str| {
            let Some(q) = seen.get_mut(key) else {
                return 0;
            };
            while q.front().is_some_and(|t| *t <= now - WINDOW) {
                q.pop_front();
            }
            q.len()
        };
        if count(&email_key) >= PER_EMAIL {
            return false;
        }
        if let Some(k) = &ip_key
            && count(k) >= PER_IP
        {
            return false;
        }
        seen.get_or_insert_mut(email_key, VecDeque::new)
            .push_back(now);
        if let Some(k) = ip_key {
            seen.get_or_insert_mut(k, VecDeque::new).push_back(now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_per_email_then_dropped_until_the_window_passes() {
        let l = ResetLimiter::default();
        for _ in 0..PER_EMAIL {
            assert!(l.allow("a@b.c", Some("1.2.3.4"), 1000));
        }
        assert!(!l.allow("A@b.c", Some("1.2.3.5"), 1001));
        assert!(l.allow("a@b.c", Some("1.2.3.4"), 1000 + WINDOW));
    }

    #[test]
    fn a_hundred_per_address_across_emails() {
        let l = ResetLimiter::default();
        for i in 0..PER_IP {
            assert!(l.allow(&format!("u{i}@b.c"), Some("9.9.9.9"), 0));
        }
        assert!(!l.allow("new@b.c", Some("9.9.9.9"), 1));
        assert!(l.allow("new@b.c", Some("8.8.8.8"), 1));
    }

    #[test]
    fn a_flood_of_distinct_emails_never_holds_more_keys_than_the_capacity() {
        let l = ResetLimiter::with_capacity(1000);
        for i in 0..20_000 {
            l.allow(
                &format!("u{i}@b.c"),
                Some(&format!("10.0.{}.{}", i / 256 % 256, i % 256)),
                0,
            );
        }
        assert_eq!(l.len(), 1000);
    }
}
