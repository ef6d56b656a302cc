//! A token bucket sized to the tenant's limit that also listens to what the
//! tenant says: when a response reports `x-ratelimit-remaining: 0`, every
//! caller waits until `x-ratelimit-reset` (UNIX seconds). Avoiding 429s is
//! cheaper than retrying them, and the tenant's budget is shared with other
//! Management API clients we cannot see.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    rate_per_sec: f64,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
    /// The tenant said it is empty until then.
    paused_until: Option<Instant>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            rate_per_sec,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: Instant::now(),
                paused_until: None,
            }),
        }
    }

    /// Wait for a slot, then take it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let elapsed = now.duration_since(s.last).as_secs_f64();
                s.tokens = (s.tokens + elapsed * self.rate_per_sec).min(self.burst);
                s.last = now;
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        s.paused_until = None;
                        if s.tokens >= 1.0 {
                            s.tokens -= 1.0;
                            return;
                        }
                        Duration::from_secs_f64((1.0 - s.tokens) / self.rate_per_sec)
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Take the tenant's word for it: with nothing remaining, pause until the
    /// reset time (bounded, so a clock skew cannot stall us for long).
    pub fn observe(&self, remaining: Option<u64>, reset_unix: Option<u64>) {
        if remaining != Some(0) {
            return;
        }
        let wait = reset_unix.map(until_unix).unwrap_or(Duration::from_secs(1));
        self.pause_for(wait.min(Duration::from_secs(60)));
    }

    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
        }
    }
}

/// Time from now until a UNIX timestamp in seconds (zero if past).
pub fn until_unix(reset: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    Duration::from_secs_f64((reset as f64 - now).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_sustained_rate() {
        let rl = RateLimiter::new(10.0, 5);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            rl.acquire().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(5),
            "burst is immediate"
        );
        for _ in 0..10 {
            rl.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(950),
            "10 more at 10/s took {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn remaining_zero_pauses_until_reset() {
        let rl = RateLimiter::new(1000.0, 100);
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 2;
        rl.observe(Some(0), Some(reset));
        let start = tokio::time::Instant::now();
        rl.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
        rl.observe(Some(5), Some(reset + 100));
        let start = tokio::time::Instant::now();
        rl.acquire().await;
        assert!(
            start.elapsed() < Duration::from_millis(10),
            "remaining > 0 does not pause"
        );
    }
}
