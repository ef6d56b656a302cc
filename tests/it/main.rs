//! The daemon's integration tests: one binary (instead of one per file, each linking
//! the whole dependency tree), one module per area.

#[macro_use]
mod common;

mod bench;
mod browser;
mod bulk;
mod cli;
mod cli_messages;
mod console_credentials;
mod console_policy;
mod console_runs;
mod console_session;
mod console_sessions;
mod console_triage;
mod crash;
mod daemon_api;
mod daemon_jwt;
mod daemon_load;
mod departures;
mod error_chains;
mod floor;
mod held_run_v0;
mod lock_fencing;
mod matching_csv;
mod notify_email;
mod observability_metrics;
mod outcomes;
mod planner_trust;
mod podfactory_run;
mod policy;
mod rate;
mod reconcile;
mod rollback;
mod source_trust;
#[cfg(feature = "mysql")]
mod store_mysql;
mod triage;
mod usage;
