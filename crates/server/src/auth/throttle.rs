//! Per-client limits on the actions that check a password: sign-in and
//! `adminUser.updatePassword`.
//!
//! The per-login budget ([`super::lockout`]) stops guessing at one login; it
//! does nothing against one client spraying one guess at each of many
//! logins. So each client (its address, an IPv6 /64 as one) also has a
//! budget: at most `max_failures` failed checks in a sliding window. Like
//! the login budget it is **reserved before the work**: a request takes a
//! place (failures in the window plus checks in flight must stay under the
//! limit) under one lock, before any argon2, and gives it back on success.
//! Past the limit the client is answered `RESOURCE_IS_RESERVED` at once,
//! without hashing: it reveals nothing about any login.
//!
//! Memory is bounded: the state is an LRU map of at most `capacity`
//! clients, each holding at most `max_failures` timestamps. A client that
//! falls out of it starts afresh, which only ever lets a forgotten client a
//! few more guesses, never more than the per-login budget allows.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

/// The limits in force.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    /// Failed checks (plus checks in flight) allowed per client per window.
    pub max_failures: usize,
    /// The window, in seconds.
    pub window_seconds: i64,
    /// Most clients remembered at once.
    pub capacity: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            max_failures: 50,
            window_seconds: 15 * 60,
            capacity: 65_536,
        }
    }
}

#[derive(Default)]
struct Entry {
    failures: VecDeque<i64>,
    in_flight: usize,
}

/// The per-client budgets.
pub struct ClientThrottle {
    limits: ClientLimits,
    clients: Mutex<LruCache<String, Entry>>,
}

/// A reserved place in one client's budget. Resolve it with
/// [`ClientTicket::finish`]; one dropped unresolved (the request was
/// cancelled) counts as a failure.
pub struct ClientTicket {
    throttle: Arc<ClientThrottle>,
    key: String,
    now: i64,
    resolved: bool,
}

impl ClientThrottle {
    /// An empty throttle.
    pub fn new(limits: ClientLimits) -> Self {
        let capacity = NonZeroUsize::new(limits.capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            limits,
            clients: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> ClientLimits {
        self.limits
    }

    /// Reserves a place for `key` at `now`, or `None` when its budget is
    /// spent by failures in the window and checks in flight.
    pub fn reserve(self: &Arc<Self>, key: &str, now: i64) -> Option<ClientTicket> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let entry = clients.get_or_insert_mut(key.to_owned(), Entry::default);
        while entry
            .failures
            .front()
            .is_some_and(|t| *t <= now - self.limits.window_seconds)
        {
            entry.failures.pop_front();
        }
        if entry.failures.len() + entry.in_flight >= self.limits.max_failures {
            return None;
        }
        entry.in_flight += 1;
        Some(ClientTicket {
            throttle: self.clone(),
            key: key.to_owned(),
            now,
            resolved: false,
        })
    }

    fn resolve(&self, key: &str, failed: bool, now: i64) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        // Evicted meanwhile: nothing to give back or to count.
        let Some(entry) = clients.peek_mut(key) else {
            return;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        if failed {
            entry.failures.push_back(now);
            while entry.failures.len() > self.limits.max_failures {
                entry.failures.pop_front();
            }
        }
    }

    /// How many clients are remembered (for tests and the attack figures).
    pub fn len(&self) -> usize {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ClientTicket {
    /// Gives the place back (`failed == false`) or keeps it as a failure.
    pub fn finish(mut self, failed: bool) {
        self.resolved = true;
        self.throttle.resolve(&self.key, failed, self.now);
    }
}

impl Drop for ClientTicket {
    fn drop(&mut self) {
        if !self.resolved {
            self.throttle.resolve(&self.key, true, self.now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(max_failures: usize, capacity: usize) -> Arc<ClientThrottle> {
        Arc::new(ClientThrottle::new(ClientLimits {
            max_failures,
            window_seconds: 60,
            capacity,
        }))
    }

    #[test]
    fn failures_and_checks_in_flight_share_one_budget() {
        let t = throttle(3, 10);
        let a = t.reserve("1.2.3.4", 0).unwrap();
        let b = t.reserve("1.2.3.4", 0).unwrap();
        let c = t.reserve("1.2.3.4", 0).unwrap();
        assert!(t.reserve("1.2.3.4", 0).is_none(), "three in flight fill it");
        assert!(t.reserve("5.6.7.8", 0).is_some(), "other clients are apart");
        a.finish(false);
        b.finish(true);
        drop(c); // cancelled: counted as a failure
        let d = t.reserve("1.2.3.4", 1).unwrap();
        assert!(t.reserve("1.2.3.4", 1).is_none());
        d.finish(false);
        // The window passes: the failures are forgotten.
        assert!(t.reserve("1.2.3.4", 61).is_some());
    }

    #[test]
    fn the_state_never_holds_more_clients_than_its_capacity() {
        let t = throttle(3, 100);
        for i in 0..10_000u32 {
            if let Some(ticket) = t.reserve(&format!("10.0.{}.{}", i / 256, i % 256), 0) {
                ticket.finish(true);
            }
        }
        assert_eq!(t.len(), 100);
    }
}
