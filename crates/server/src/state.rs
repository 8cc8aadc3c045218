//! Shared application state.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_rules::Catalog;
use rampart_store::Store;

/// Failed sign-ins allowed per account per window (ASVS 2.2.1: at most 100 per hour).
pub(crate) const MAX_FAILED_LOGINS: usize = 20;
pub(crate) const FAILED_LOGIN_WINDOW: Duration = Duration::from_secs(3600);
/// Bound on the number of accounts tracked, so the throttle itself cannot exhaust memory.
const MAX_TRACKED_ACCOUNTS: usize = 100_000;

#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Store,
    pub catalog: Arc<Catalog>,
    pub throttle: Arc<LoginThrottle>,
}

impl AppState {
    pub fn new(store: Store, catalog: Arc<Catalog>) -> AppState {
        AppState {
            store,
            catalog,
            throttle: Arc::new(LoginThrottle::default()),
        }
    }
}

/// Per-account failed sign-in counter, keyed by the normalised email whether or not the account
/// exists (so throttling does not reveal which accounts exist). Process-local for now; it moves
/// to the database with the multi-process deployment.
#[derive(Default)]
pub(crate) struct LoginThrottle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    fn key(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// True when the account has used up its failed attempts for the window.
    pub fn is_locked(&self, email: &str) -> bool {
        let now = Instant::now();
        let Ok(mut map) = self.failures.lock() else {
            return true;
        };
        match map.get_mut(&Self::key(email)) {
            Some(q) => {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > FAILED_LOGIN_WINDOW)
                {
                    q.pop_front();
                }
                q.len() >= MAX_FAILED_LOGINS
            }
            None => false,
        }
    }

    pub fn record_failure(&self, email: &str) {
        let now = Instant::now();
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_TRACKED_ACCOUNTS {
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) <= FAILED_LOGIN_WINDOW)
            });
        }
        let q = map.entry(Self::key(email)).or_default();
        q.push_back(now);
        while q.len() > MAX_FAILED_LOGINS {
            q.pop_front();
        }
    }

    pub fn record_success(&self, email: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&Self::key(email));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_locks_after_limit_per_account() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILED_LOGINS {
            assert!(!t.is_locked("a@example.com"));
            t.record_failure("A@example.com ");
        }
        assert!(t.is_locked("a@example.com"));
        assert!(!t.is_locked("b@example.com"));
        t.record_success("a@example.com");
        assert!(!t.is_locked("a@example.com"));
    }
}
