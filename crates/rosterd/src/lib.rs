//! rosterd: keeps Auth0 and the PodFactory mappings in step with the
//! Productivity System's employees table. See ARCHITECTURE.md.
//!
//! The pure core (model, planner, matching engine) is the `rosterd-core`
//! crate; it is re-exported here so that `rosterd::plan` and `crate::model`
//! name the same thing everywhere.

pub use rosterd_core::{matching, model, plan, policy};

pub mod auth0;
mod backoff;
pub mod config;
pub mod create;
pub mod daemon;
pub mod departures;
pub mod driver;
pub mod held;
pub mod http;
pub mod match_csv;
pub mod match_memo;
pub mod metrics;
pub mod notify;
pub mod outcome;
pub mod password;
pub mod podfactory;
pub mod report;
pub mod rollback;
pub mod run;
pub mod store;
pub mod telemetry;
pub mod triage;
