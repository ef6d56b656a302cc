//! Pacing by the tenant's own limit. Auth0 meters the Management API per
//! tenant with a token bucket and says on every answer how big it is
//! (`x-ratelimit-limit`), what is left (`-remaining`, floored) and when it is
//! full again (`-reset`, UNIX seconds, ceiled). The limiter mirrors that
//! bucket instead of guessing it: capacity from `limit`, tokens from
//! `remaining` minus the requests still in flight, and the refill rate
//! learned from how far the bucket is from full and how long it takes to
//! refill. Avoiding 429s is cheaper than retrying them, and a rate set in the
//! configuration is either too slow for the tenant or too fast for it.
//!
//! The configured `rate_per_sec` and `burst` are a bucket of rosterd's own,
//! a ceiling: rosterd never sends faster nor more back to back, whatever the
//! tenant allows. Until the tenant has said anything, one request goes at a
//! time.
//!
//! How many requests are in flight follows from the rate (Little's law:
//! rate × latency, plus one), bounded by `auth0.concurrency`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The pace before the tenant's rate is learned: Auth0's lowest published
/// Management API rate (free tenants). The burst the tenant reports is
/// used meanwhile, and the rate is learned while it drains.
const START_RATE: f64 = 2.0;
/// The shortest wait for a token (tokio's timers tick in milliseconds).
const MIN_WAIT: Duration = Duration::from_millis(1);
/// Weight of the newest latency in its moving average.
const LATENCY_WEIGHT: f64 = 0.2;

pub struct RateLimiter {
    /// `auth0.rate_per_sec`: never faster than this.
    ceiling: f64,
    /// `auth0.burst`: never more than this back to back.
    max_burst: f64,
    /// `auth0.concurrency`: never more requests in flight.
    max_in_flight: usize,
    state: Mutex<State>,
    /// A request finished: its slot is free.
    freed: Notify,
    /// UNIX seconds now, to compare with `x-ratelimit-reset` (tests run it
    /// on tokio's paused clock).
    wall_clock: fn() -> f64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("ceiling", &self.ceiling)
            .field("max_burst", &self.max_burst)
            .field("max_in_flight", &self.max_in_flight)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct State {
    /// rosterd's own bucket: `max_burst`, refilled at `ceiling`.
    own: f64,
    /// The mirror of the tenant's bucket (below zero while requests it
    /// has not counted yet may be in flight).
    tenant: f64,
    last: Instant,
    /// `x-ratelimit-limit`, once seen.
    capacity: Option<f64>,
    /// The best lower bound of the tenant's refill rate seen since the last
    /// 429. Each misses by up to a second of refill (the reset is ceiled),
    /// so the best of many is close to the real rate.
    learned: Option<f64>,
    /// The tenant said it is empty until then (a 429).
    paused_until: Option<Instant>,
    in_flight: usize,
    /// Moving average of the time to the tenant's answer, seconds.
    latency: Option<f64>,
    /// Requests sent so far; each ticket carries its number.
    sent: u64,
    /// The newest request whose answer set the mirror: an older answer,
    /// arriving late, may only lower it.
    synced: u64,
    /// Answers observed so far.
    answered: u64,
}

/// One request's slot: taken by [`RateLimiter::acquire`], returned on drop.
#[derive(Debug)]
pub struct Ticket<'a> {
    limiter: &'a RateLimiter,
    seq: u64,
    started: Instant,
    /// Wall-clock send time: the tenant handled the request after this.
    sent_unix: f64,
    /// Answers observed before this request was sent.
    answered_before: u64,
}

/// What one answer said about the tenant's bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quota {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset: Option<u64>,
    /// The answer was a 429: `reset` is when the next request may go.
    pub refused: bool,
}

enum Wait {
    For(Duration),
    Slot,
}

impl RateLimiter {
    pub fn new(ceiling: f64, max_burst: u32, max_in_flight: usize) -> Self {
        Self::with_clock(ceiling, max_burst, max_in_flight, unix_now)
    }

    fn with_clock(
        ceiling: f64,
        max_burst: u32,
        max_in_flight: usize,
        wall_clock: fn() -> f64,
    ) -> Self {
        let max_burst = f64::from(max_burst.max(1));
        RateLimiter {
            ceiling,
            max_burst,
            max_in_flight: max_in_flight.max(1),
            state: Mutex::new(State {
                own: max_burst,
                tenant: 1.0,
                last: Instant::now(),
                capacity: None,
                learned: None,
                paused_until: None,
                in_flight: 0,
                latency: None,
                sent: 0,
                synced: 0,
                answered: 0,
            }),
            freed: Notify::new(),
            wall_clock,
        }
    }

    /// Wait for a slot and a token, then take them.
    pub async fn acquire(&self) -> Ticket<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the state is read, so a slot freed in
            // between still wakes this caller.
            freed.as_mut().enable();
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                self.refill(&mut s, now);
                match s.paused_until {
                    Some(until) if until > now => Wait::For(until - now),
                    _ if s.in_flight >= self.allowed_in_flight(&s) => Wait::Slot,
                    _ if s.own >= 1.0 && s.tenant >= 1.0 => {
                        s.paused_until = None;
                        s.own -= 1.0;
                        s.tenant -= 1.0;
                        s.in_flight += 1;
                        s.sent += 1;
                        return Ticket {
                            limiter: self,
                            seq: s.sent,
                            started: now,
                            sent_unix: (self.wall_clock)(),
                            answered_before: s.answered,
                        };
                    }
                    _ => {
                        let own = (1.0 - s.own).max(0.0) / self.ceiling;
                        let tenant = (1.0 - s.tenant).max(0.0) / self.rate(&s);
                        // At least the timer's resolution: a wait rounded
                        // down to nothing would spin.
                        Wait::For(Duration::from_secs_f64(own.max(tenant)).max(MIN_WAIT))
                    }
                }
            };
            match wait {
                Wait::For(d) => tokio::time::sleep(d).await,
                Wait::Slot => freed.await,
            }
        }
    }

    /// Learn from the answer to `ticket`'s request.
    pub fn observe(&self, ticket: &Ticket<'_>, quota: Quota) {
        let Some(remaining) = quota.remaining else {
            // Not the tenant's API (the export file's host): nothing to learn.
            return;
        };
        let mut s = self.lock();
        let now = Instant::now();
        self.refill(&mut s, now);
        let took = now.duration_since(ticket.started).as_secs_f64();
        s.latency = Some(match s.latency {
            None => took,
            Some(avg) => avg + LATENCY_WEIGHT * (took - avg),
        });
        if let Some(limit) = quota.limit.filter(|l| *l > 0) {
            s.capacity = Some(limit as f64);
        }
        if quota.refused {
            s.answered += 1;
            // The mirror was wrong (another client, a lower limit than
            // learned): learn the rate again, from below.
            s.tenant = s.tenant.min(0.0);
            s.learned = None;
            return;
        }
        if let (Some(limit), Some(reset)) = (quota.limit, quota.reset) {
            // `remaining` is floored, `reset` ceiled, and the tenant
            // counted the request after it was sent: a lower bound.
            let missing = limit.saturating_sub(remaining + 1) as f64;
            let refill_secs = reset as f64 - ticket.sent_unix;
            if missing >= 1.0 && refill_secs > 0.0 {
                let estimate = missing / refill_secs;
                s.learned = Some(s.learned.map_or(estimate, |l| l.max(estimate)));
            }
        }
        // Requests in flight may not be counted in `remaining` yet, nor
        // those answered since this one was sent: the tenant may have
        // handled them after it (requests overtake one another).
        let overtaken = s.answered - ticket.answered_before;
        s.answered += 1;
        let others = (s.in_flight - 1) as f64 + overtaken as f64;
        let mirrored = remaining as f64 - others;
        if ticket.seq > s.synced {
            s.synced = ticket.seq;
            s.tenant = mirrored;
        } else {
            s.tenant = s.tenant.min(mirrored);
        }
    }

    /// The tenant refused: nothing goes until `wait` has passed.
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut s = self.lock();
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
        }
    }

    /// The pace when the tenant's bucket is empty: the learned rate under
    /// the ceiling.
    pub fn current_rate(&self) -> f64 {
        self.rate(&self.lock())
    }

    /// Requests allowed in flight now.
    pub fn current_in_flight(&self) -> usize {
        self.allowed_in_flight(&self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rate(&self, s: &State) -> f64 {
        s.learned.unwrap_or(START_RATE).min(self.ceiling)
    }

    /// One at a time until the tenant has answered; then enough to keep
    /// the rate busy at the latency seen (Little's law), plus one. While
    /// the tenant's bucket has tokens to spare the rate that counts is the
    /// ceiling: draining the burst is what teaches the real rate.
    fn allowed_in_flight(&self, s: &State) -> usize {
        let Some(latency) = s.latency else {
            return 1;
        };
        let spare = s.tenant >= (s.in_flight + 1) as f64;
        let rate = if spare { self.ceiling } else { self.rate(s) };
        let busy = (rate * latency).ceil() as usize;
        (busy + 1).clamp(1, self.max_in_flight)
    }

    fn refill(&self, s: &mut State, now: Instant) {
        let elapsed = now.duration_since(s.last).as_secs_f64();
        s.own = (s.own + elapsed * self.ceiling).min(self.max_burst);
        let full = s.capacity.unwrap_or(1.0);
        if s.tenant < full {
            s.tenant = (s.tenant + elapsed * self.rate(s)).min(full);
        }
        s.last = now;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.limiter.lock().in_flight -= 1;
        self.limiter.freed.notify_waiters();
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Time from now until a UNIX timestamp in seconds (zero if past).
pub fn until_unix(reset: u64) -> Duration {
    Duration::from_secs_f64((reset as f64 - unix_now()).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, OnceLock};

    /// A wall clock that moves with tokio's paused clock.
    fn paused_wall_clock() -> f64 {
        static START: OnceLock<(Instant, f64)> = OnceLock::new();
        let (at, unix) = *START.get_or_init(|| (Instant::now(), 1_800_000_000.25));
        unix + at.elapsed().as_secs_f64()
    }

    /// The tenant's bucket as Auth0 (and the simulator) reports it.
    struct Tenant {
        rate: f64,
        burst: f64,
        tokens: f64,
        last: Instant,
        refused: usize,
    }

    impl Tenant {
        fn new(rate: f64, burst: u32) -> Self {
            Tenant {
                rate,
                burst: f64::from(burst),
                tokens: f64::from(burst),
                last: Instant::now(),
                refused: 0,
            }
        }

        fn take(&mut self) -> Quota {
            let now = Instant::now();
            let elapsed = now.duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
            self.last = now;
            let allowed = self.tokens >= 1.0;
            let wait = if allowed {
                self.tokens -= 1.0;
                (self.burst - self.tokens) / self.rate
            } else {
                self.refused += 1;
                (1.0 - self.tokens) / self.rate
            };
            Quota {
                limit: Some(self.burst as u64),
                remaining: Some(self.tokens.floor() as u64),
                reset: Some((paused_wall_clock() + wait).ceil() as u64),
                refused: !allowed,
            }
        }
    }

    fn limiter(ceiling: f64, burst: u32, in_flight: usize) -> RateLimiter {
        RateLimiter::with_clock(ceiling, burst, in_flight, paused_wall_clock)
    }

    /// `n` requests one after another, each taking `latency`.
    async fn send(rl: &RateLimiter, tenant: &mut Tenant, n: usize, latency: Duration) {
        for _ in 0..n {
            let ticket = rl.acquire().await;
            tokio::time::sleep(latency / 2).await;
            let quota = tenant.take();
            tokio::time::sleep(latency / 2).await;
            rl.observe(&ticket, quota);
        }
    }

    /// Two requests in flight, handled by the tenant in the other order and
    /// answered in the order sent: the later answer must not lift the mirror
    /// above what the tenant holds (it does not count the request it
    /// handled after it).
    #[tokio::test(start_paused = true)]
    async fn an_answer_overtaken_by_another_does_not_lift_the_mirror() {
        let rl = limiter(50.0, 50, 16);
        let mut tenant = Tenant::new(1.0, 3);
        let first = rl.acquire().await;
        // A second's latency: room for both requests in flight.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let q = tenant.take();
        rl.observe(&first, q);
        drop(first);
        // The tenant has 2 tokens; both requests go.
        let m = rl.acquire().await;
        let n = rl.acquire().await;
        let for_n = tenant.take(); // n handled first: 1 left
        let for_m = tenant.take(); // then m: 0 left
        rl.observe(&m, for_m);
        drop(m);
        rl.observe(&n, for_n);
        drop(n);
        assert_eq!(tenant.tokens.floor(), 0.0);
        let start = Instant::now();
        let third = rl.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_millis(400),
            "sent into an empty bucket after {:?}",
            start.elapsed()
        );
        let q = tenant.take();
        assert!(!q.refused, "the tenant refused it");
        drop(third);
    }

    #[tokio::test(start_paused = true)]
    async fn learns_the_tenants_rate_and_uses_its_burst_once() {
        let rl = limiter(50.0, 50, 16);
        let mut tenant = Tenant::new(16.0, 50);
        let start = Instant::now();
        send(&rl, &mut tenant, 50, Duration::from_millis(2)).await;
        assert!(
            start.elapsed() < Duration::from_millis(200),
            "the burst goes at once: {:?}",
            start.elapsed()
        );
        let learned = rl.current_rate();
        assert!((12.0..=16.0).contains(&learned), "learned {learned}");

        let start = Instant::now();
        send(&rl, &mut tenant, 320, Duration::from_millis(2)).await;
        let rate = 320.0 / start.elapsed().as_secs_f64();
        assert_eq!(tenant.refused, 0, "no 429");
        assert!((15.0..=16.5).contains(&rate), "sustained {rate:.2}/s");
        let learned = rl.current_rate();
        assert!((15.0..=16.0).contains(&learned), "learned {learned}");
    }

    #[tokio::test(start_paused = true)]
    async fn never_faster_nor_more_at_once_than_configured() {
        let rl = limiter(5.0, 10, 16);
        let mut tenant = Tenant::new(16.0, 50);
        let start = Instant::now();
        send(&rl, &mut tenant, 10, Duration::from_millis(2)).await;
        assert!(start.elapsed() < Duration::from_millis(100));
        let start = Instant::now();
        send(&rl, &mut tenant, 50, Duration::from_millis(2)).await;
        let rate = 50.0 / start.elapsed().as_secs_f64();
        assert!(
            (4.8..=5.05).contains(&rate),
            "{rate:.2}/s under a ceiling of 5"
        );
        assert_eq!(tenant.refused, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn one_at_a_time_until_the_tenant_answers() {
        let rl = limiter(50.0, 50, 8);
        assert_eq!(rl.current_in_flight(), 1);
        let first = rl.acquire().await;
        let second = tokio::time::timeout(Duration::from_secs(5), rl.acquire()).await;
        assert!(
            second.is_err(),
            "a second request waits for the first answer"
        );
        drop(first);
        drop(rl.acquire().await);
    }

    /// `tasks` callers sending `each` requests that take `latency`; returns
    /// the requests per second the tenant saw.
    async fn hammer(
        rl: &Arc<RateLimiter>,
        tenant: &Arc<Mutex<Tenant>>,
        tasks: usize,
        each: usize,
        latency: Duration,
    ) -> f64 {
        let start = Instant::now();
        let mut running = Vec::new();
        for _ in 0..tasks {
            let (rl, tenant) = (rl.clone(), tenant.clone());
            running.push(tokio::spawn(async move {
                for _ in 0..each {
                    let ticket = rl.acquire().await;
                    tokio::time::sleep(latency / 2).await;
                    let quota = tenant.lock().unwrap().take();
                    tokio::time::sleep(latency / 2).await;
                    rl.observe(&ticket, quota);
                }
            }));
        }
        for t in running {
            t.await.unwrap();
        }
        (tasks * each) as f64 / start.elapsed().as_secs_f64()
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_follows_rate_times_latency() {
        let rl = Arc::new(limiter(50.0, 50, 8));
        let tenant = Arc::new(Mutex::new(Tenant::new(16.0, 50)));
        // One at a time, 250 ms each, would be 4/s.
        hammer(&rl, &tenant, 16, 10, Duration::from_millis(250)).await;
        let rate = hammer(&rl, &tenant, 16, 20, Duration::from_millis(250)).await;
        assert_eq!(tenant.lock().unwrap().refused, 0, "no 429");
        assert!(rate >= 14.0, "{rate:.2}/s of the tenant's 16");
        // Once the bucket is empty, 16/s × 250 ms is 4 busy, plus one.
        let ticket = rl.acquire().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        let empty = Quota {
            limit: Some(50),
            remaining: Some(0),
            reset: Some(paused_wall_clock().ceil() as u64 + 4),
            refused: false,
        };
        rl.observe(&ticket, empty);
        drop(ticket);
        assert_eq!(rl.current_in_flight(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_never_exceeds_the_configured_concurrency() {
        let rl = Arc::new(limiter(50.0, 50, 3));
        let tenant = Arc::new(Mutex::new(Tenant::new(16.0, 50)));
        let rate = hammer(&rl, &tenant, 16, 10, Duration::from_secs(1)).await;
        assert!(rate <= 3.0, "3 in flight of a second each: {rate:.2}/s");
        assert_eq!(rl.current_in_flight(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_get_no_429_and_the_tenants_rate() {
        let rl = Arc::new(limiter(50.0, 50, 16));
        let tenant = Arc::new(Mutex::new(Tenant::new(20.0, 10)));
        let rate = hammer(&rl, &tenant, 8, 50, Duration::from_millis(80)).await;
        assert_eq!(tenant.lock().unwrap().refused, 0, "no 429");
        assert!(rate >= 18.0, "{rate:.2}/s of the tenant's 20");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone_and_forgets_the_learned_rate() {
        let rl = limiter(50.0, 50, 16);
        let mut tenant = Tenant::new(16.0, 50);
        send(&rl, &mut tenant, 100, Duration::from_millis(2)).await;
        assert!(rl.current_rate() > 12.0);
        let ticket = rl.acquire().await;
        rl.observe(
            &ticket,
            Quota {
                limit: Some(50),
                remaining: Some(0),
                reset: Some(paused_wall_clock().ceil() as u64 + 2),
                refused: true,
            },
        );
        drop(ticket);
        rl.pause_for(Duration::from_secs(2));
        assert_eq!(rl.current_rate(), START_RATE);
        let start = Instant::now();
        drop(rl.acquire().await);
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
