//! Requests per access key: a token bucket per key, in this instance's memory. It protects
//! an instance from one key's flood; with N instances behind a load balancer a key gets up
//! to N times the rate (nothing is shared, so nothing breaks when instances come and go).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Buckets idle this long are forgotten (they would be full again anyway).
const IDLE: Duration = Duration::from_secs(60);

/// A token bucket per key: `rate` requests per second, bursts of up to `rate`.
#[derive(Clone)]
pub struct KeyRateLimit {
    rate: f64,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

impl std::fmt::Debug for KeyRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRateLimit({}/s)", self.rate)
    }
}

impl KeyRateLimit {
    /// `rate` requests per second per key; 0 turns the limit off.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            buckets: Arc::default(),
        }
    }

    /// Takes one token for `key`; `false` when the key is over its rate.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock().expect("rate limit lock");
        if buckets.len() > 10_000 {
            buckets.retain(|_, (_, last)| now.duration_since(*last) < IDLE);
        }
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((self.rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_rate_and_bursts_refill() {
        let limit = KeyRateLimit::new(5);
        let t0 = Instant::now();
        let allowed = (0..10).filter(|_| limit.allow_at("k", t0)).count();
        assert_eq!(allowed, 5);
        assert!(limit.allow_at("other", t0), "keys have their own buckets");
        assert!(!limit.allow_at("k", t0 + Duration::from_millis(100)));
        assert!(limit.allow_at("k", t0 + Duration::from_millis(250)));
        assert!(KeyRateLimit::new(0).allow_at("k", t0));
    }
}
