//! Login rate limiting: failed attempts are counted per account name and
//! per client address over a window; past the limit, that key may not try
//! again until its window ends. Bounded in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted over.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins allowed per account name in a window.
pub const MAX_PER_ACCOUNT: u32 = 5;
/// Failed logins (and bad one-time links) allowed per client address in a
/// window (several people behind one proxy share an address).
pub const MAX_PER_CLIENT: u32 = 30;
/// Keys remembered; the oldest window is forgotten first when full.
pub const MAX_KEYS: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    started: Instant,
    failures: u32,
}

/// Counts failures per key (`user:NAME`, `client:ADDR`).
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `Err(wait)` when `key` has used up its failures (`max`) in the
    /// current window.
    pub fn check(&self, key: &str, max: u32, now: Instant) -> Result<(), Duration> {
        let map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some(b) if now.duration_since(b.started) < WINDOW && b.failures >= max => {
                Err(WINDOW - now.duration_since(b.started))
            }
            _ => Ok(()),
        }
    }

    /// Count a failure of `key`.
    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, b| now.duration_since(b.started) < WINDOW);
            if map.len() >= MAX_KEYS {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, b)| b.started)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
        }
        let b = map.entry(key.to_owned()).or_insert(Bucket {
            started: now,
            failures: 0,
        });
        if now.duration_since(b.started) >= WINDOW {
            *b = Bucket {
                started: now,
                failures: 0,
            };
        }
        b.failures += 1;
    }

    /// Forget the failures of `key` (after a successful login).
    pub fn clear(&self, key: &str) {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_until_the_window_ends() {
        let r = RateLimiter::default();
        let t = Instant::now();
        for _ in 0..MAX_PER_ACCOUNT {
            assert!(r.check("user:ana", MAX_PER_ACCOUNT, t).is_ok());
            r.fail("user:ana", t);
        }
        assert!(r.check("user:ana", MAX_PER_ACCOUNT, t).is_err());
        assert!(r.check("user:bob", MAX_PER_ACCOUNT, t).is_ok());
        let later = t + WINDOW + Duration::from_secs(1);
        assert!(r.check("user:ana", MAX_PER_ACCOUNT, later).is_ok());
        r.fail("user:bob", t);
        r.clear("user:bob");
        assert!(r.buckets.lock().unwrap().get("user:bob").is_none());
    }

    #[test]
    fn memory_is_bounded() {
        let r = RateLimiter::default();
        let t = Instant::now();
        for i in 0..MAX_KEYS + 50 {
            r.fail(&format!("client:{i}"), t);
        }
        assert!(r.buckets.lock().unwrap().len() <= MAX_KEYS);
    }
}
