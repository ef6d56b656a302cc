//! One tenant-wide token bucket, reported in Auth0's `x-ratelimit-*` headers.
//!
//! Auth0 meters the Management API per tenant with a bucket that holds
//! `burst` requests and refills at the sustained rate; every answer says how
//! much is left and when the bucket is full again, which is what rosterd's
//! client paces itself by.

use axum::http::{HeaderMap, HeaderValue};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

/// The state of the bucket as one response reports it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quota {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// UNIX seconds: when the bucket is full again, or for a refusal when
    /// the next request will be let through.
    pub reset: u64,
}

impl TokenBucket {
    pub(crate) fn new(rate: f64, burst: u32) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                1.0
            },
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    pub(crate) fn refill_full(&mut self) {
        self.tokens = self.burst;
        self.last = Instant::now();
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self) -> Quota {
        self.refill();
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        self.quota(allowed)
    }

    /// The quota as a refusal reports it, without taking anything (for
    /// injected 429s, which must look like the real ones).
    pub(crate) fn refused(&mut self) -> Quota {
        self.refill();
        let mut q = self.quota(false);
        q.remaining = 0;
        q
    }

    fn quota(&self, allowed: bool) -> Quota {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let wait = if allowed {
            (self.burst - self.tokens) / self.rate
        } else {
            (1.0 - self.tokens).max(0.0) / self.rate
        };
        Quota {
            allowed,
            limit: self.burst as u64,
            remaining: self.tokens.max(0.0).floor() as u64,
            reset: (now + wait).ceil() as u64,
        }
    }
}

impl Quota {
    pub(crate) fn write(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empties_after_burst_and_reports_reset_in_the_future() {
        let mut bucket = TokenBucket::new(0.5, 3);
        assert!(bucket.take().allowed);
        assert!(bucket.take().allowed);
        let last = bucket.take();
        assert!(last.allowed);
        assert_eq!(last.remaining, 0);
        let refused = bucket.take();
        assert!(!refused.allowed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(refused.reset > now, "next token is ~2 s away");
    }
}
