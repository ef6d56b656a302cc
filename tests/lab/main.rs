//! The matcher measured on the synthetic workforce: the engine's decisions,
//! its scores against the ground truth, and its timings.

mod matching_bench;
mod matching_engine;
mod matching_eval;
