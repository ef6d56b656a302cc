//! rosterd's evaluation tooling, apart from the daemon's library: the
//! synthetic workforce with ground truth (`corpus`), the matcher's scores on
//! it (`eval`, `rosterd match-eval`) and the matcher benchmark
//! (`match_bench`, `rosterd bench match`), and the sample workforce with its
//! PodFactory export (`workforce`) for the demo, the tests and `rosterd bench`.

pub mod corpus;
pub mod eval;
pub mod match_bench;
pub mod workforce;

pub use corpus::write_corpus;
pub use eval::{eval_cli, EvalArgs};
pub use match_bench::{bench_cli, MatchBenchArgs};
pub use workforce::{role_map, sample_workforce};
