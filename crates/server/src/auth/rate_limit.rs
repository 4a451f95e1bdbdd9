//! Sliding-window limits for `user.resetPassword`: 10 requests per email and
//! 100 per client address per 10 minutes. Over the limit the request is
//! dropped silently (the action still answers `null`), so the limit tells an
//! attacker nothing about whether an email exists. Kept in memory: a restart
//! forgets it, which only ever lets a few more emails out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Window length in seconds.
pub const WINDOW: i64 = 10 * 60;
/// Requests allowed per email per window.
pub const PER_EMAIL: usize = 10;
/// Requests allowed per client address per window.
pub const PER_IP: usize = 100;

/// Counts recent requests per key.
#[derive(Default)]
pub struct ResetLimiter {
    seen: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl ResetLimiter {
    /// Records one request for `email` from `ip` at `now`; false when either
    /// limit is already reached (then nothing is recorded).
    pub fn allow(&self, email: &str, ip: Option<&str>, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Forget old entries everywhere now and then, so the map stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, q| q.back().is_some_and(|t| *t > now - WINDOW));
        }
        let email_key = format!("e:{}", email.trim().to_lowercase());
        let ip_key = ip.map(|ip| format!("i:{ip}"));
        let mut count = |key: &str| {
            let q = seen.entry(key.to_owned()).or_default();
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
        seen.entry(email_key).or_default().push_back(now);
        if let Some(k) = ip_key {
            seen.entry(k).or_default().push_back(now);
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
}
