//! rosterd's pure core: the domain model (valid by construction), the
//! planner and its guard, and the PodFactory matching engine.
//!
//! Data in, plan out: nothing here does I/O, reads a clock, draws a random
//! number or needs an async runtime, and the crate's dependencies make that
//! a compile error rather than a convention (see its Cargo.toml).

pub mod matching;
pub mod model;
pub mod plan;
pub mod policy;
pub mod vocabulary;
