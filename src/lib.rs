//! rosterd: keeps Auth0 and the PodFactory mappings in step with the
//! Productivity System's employees table. See ARCHITECTURE.md.

pub mod auth0;
pub mod bench;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod held;
pub mod http;
pub mod matching;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod outcome;
pub mod password;
pub mod plan;
pub mod podfactory;
pub mod report;
pub mod run;
pub mod sim;
pub mod store;
pub mod telemetry;
