//! Misbehaviour on demand: what `PUT /__sim/faults` sets.
//!
//! Shares are drawn from one uniform number per request, cumulatively
//! (drop, then 429, then 5xx), so `rate_429: 0.5` means half the requests,
//! not "half of those that were not dropped".

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
    /// Close the TCP connection without answering.
    pub rate_drop: f64,
    /// The status of injected server errors (default 503).
    pub status_5xx: Option<u16>,
    /// Restrict the faults to one route pattern, e.g. `POST /api/v2/users`.
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fault {
    None,
    Drop,
    TooManyRequests,
    ServerError(u16),
}

impl Faults {
    pub(crate) fn validate(&self) -> ApiResult<()> {
        for (name, share) in [
            ("rate_429", self.rate_429),
            ("rate_5xx", self.rate_5xx),
            ("rate_drop", self.rate_drop),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(ApiError::payload_on("Must be between 0 and 1", name));
            }
        }
        if self.rate_429 + self.rate_5xx + self.rate_drop > 1.0 + 1e-9 {
            return Err(ApiError::payload(
                "rate_429 + rate_5xx + rate_drop must not exceed 1",
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
        self.endpoint.as_deref().map_or(true, |e| e == endpoint)
    }

    pub(crate) fn is_active(&self) -> bool {
        self.latency_ms > 0 || self.rate_429 > 0.0 || self.rate_5xx > 0.0 || self.rate_drop > 0.0
    }

    pub(crate) fn roll(&self) -> Fault {
        let draw: f64 = rand::thread_rng().gen();
        if draw < self.rate_drop {
            Fault::Drop
        } else if draw < self.rate_drop + self.rate_429 {
            Fault::TooManyRequests
        } else if draw < self.rate_drop + self.rate_429 + self.rate_5xx {
            Fault::ServerError(self.status_5xx.unwrap_or(503))
        } else {
            Fault::None
        }
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
