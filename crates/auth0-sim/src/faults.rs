//! Misbehaviour on demand: what `PUT /__sim/faults` sets.
//!
//! Shares are drawn from one uniform number per request, cumulatively
//! (drop, drop-after, then 429, then 5xx), so `rate_429: 0.5` means half
//! the requests, not "half of those that were not dropped".

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::errors::{ApiError, ApiResult};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Faults {
    /// Added before the request is handled (also before a dropped one).
    pub latency_ms: u64,
    pub rate_429: f64,
    pub rate_5xx: f64,
    /// Close the TCP connection without handling the request or answering.
    pub rate_drop: f64,
    /// Handle the request and, if it succeeded, close the connection instead
    /// of answering: the change happened but the client never learns it (a
    /// lost response). Failures are answered, since nothing changed; so a
    /// client's retry of a lost create meets Auth0's 409.
    pub rate_drop_after: f64,
    /// The status of injected server errors (default 503).
    pub status_5xx: Option<u16>,
    /// Restrict the faults to one route pattern, e.g. `POST /api/v2/users`.
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fault {
    None,
    Drop,
    DropAfter,
    TooManyRequests,
    ServerError(u16),
}

impl Faults {
    pub(crate) fn validate(&self) -> ApiResult<()> {
        for (name, share) in [
            ("rate_429", self.rate_429),
            ("rate_5xx", self.rate_5xx),
            ("rate_drop", self.rate_drop),
            ("rate_drop_after", self.rate_drop_after),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(ApiError::payload_on("Must be between 0 and 1", name));
            }
        }
        if self.total() > 1.0 + 1e-9 {
            return Err(ApiError::payload(
                "rate_429 + rate_5xx + rate_drop + rate_drop_after must not exceed 1",
            ));
        }
        if let Some(status) = self.status_5xx {
            if !(500..=599).contains(&status) {
                return Err(ApiError::payload_on("Must be a 5xx status", "status_5xx"));
            }
        }
        Ok(())
    }

    pub(crate) fn applies_to(&self, endpoint: &str) -> bool {
        self.endpoint.as_deref().is_none_or(|e| e == endpoint)
    }

    fn total(&self) -> f64 {
        self.rate_drop + self.rate_drop_after + self.rate_429 + self.rate_5xx
    }

    pub(crate) fn is_active(&self) -> bool {
        self.latency_ms > 0 || self.total() > 0.0
    }

    pub(crate) fn roll(&self) -> Fault {
        let draw: f64 = rand::thread_rng().gen();
        let mut edge = 0.0;
        for (share, fault) in [
            (self.rate_drop, Fault::Drop),
            (self.rate_drop_after, Fault::DropAfter),
            (self.rate_429, Fault::TooManyRequests),
            (
                self.rate_5xx,
                Fault::ServerError(self.status_5xx.unwrap_or(503)),
            ),
        ] {
            edge += share;
            if draw < edge {
                return fault;
            }
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_faults_always_fire_and_shares_are_validated() {
        let f = Faults {
            rate_429: 1.0,
            ..Faults::default()
        };
        assert!((0..100).all(|_| f.roll() == Fault::TooManyRequests));
        let f = Faults {
            rate_drop: 0.7,
            rate_5xx: 0.7,
            ..Faults::default()
        };
        assert!(f.validate().is_err());
        let f = Faults {
            rate_5xx: 1.5,
            ..Faults::default()
        };
        assert!(f.validate().is_err());
    }
}
