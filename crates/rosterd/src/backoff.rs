//! Retry delays shared by the change feed (a lost LISTEN connection, a
//! failed poll) and the driver (a change waiting while another replica runs).

use std::time::Duration;

/// Doubling from `base` up to `cap`, back to `base` after an attempt that
/// lasted `cap` (a connection that stayed up that long was not flapping).
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            next: base,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.base;
    }

    /// The wait before the next attempt, after one that stayed up `lasted`.
    pub(crate) fn after(&mut self, lasted: Duration) -> Duration {
        if lasted >= self.cap {
            self.reset();
        }
        let wait = self.next;
        self.next = (self.next * 2).min(self.cap);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_and_recover_after_a_lasting_connection() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(200), ms(30_000));
        let waits: Vec<_> = (0..10).map(|_| b.after(ms(10))).collect();
        assert_eq!(&waits[..4], &[ms(200), ms(400), ms(800), ms(1600)]);
        assert_eq!(waits[9], ms(30_000));
        assert_eq!(b.after(ms(30_000)), ms(200), "a connection that lasted");
    }
}
