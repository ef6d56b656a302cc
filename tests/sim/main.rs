//! The simulator's integration tests: its API as Auth0 documents it, fault
//! injection, the official SDK against it, and its throughput.

mod sim_common;

mod sim_api;
mod sim_bench;
mod sim_faults;
mod sim_import;
mod sim_sdk;
