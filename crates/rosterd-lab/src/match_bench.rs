//! `rosterd bench match`: the matcher's phases timed on synthetic
//! workforces (6,000 employees × 5,000 PodFactory users, and 100,000 ×
//! 100,000), on one core. Figures are printed, never asserted.

use crate::corpus;
use rosterd_core::matching::{EmployeeRecord, Engine, MatchEmployee, MatchSettings, MatchStatus};
use std::fmt;
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct MatchBenchArgs {
    /// Employees (with --users: one custom size instead of the two standard ones).
    #[arg(long, requires = "users")]
    pub employees: Option<usize>,
    /// PodFactory users.
    #[arg(long, requires = "employees")]
    pub users: Option<usize>,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// One timed matching pass.
#[derive(Debug, Clone, Copy)]
pub struct BenchReport {
    pub employees: usize,
    pub users: usize,
    pub build_ms: f64,
    pub block_ms: f64,
    pub score_ms: f64,
    pub assign_ms: f64,
    pub pairs_scored: u64,
    pub matched: usize,
}

impl BenchReport {
    pub fn total_ms(&self) -> f64 {
        self.build_ms + self.block_ms + self.score_ms + self.assign_ms
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} employees x {} users: total {:.0} ms (build {:.0}, block {:.0}, score {:.0}, assign {:.0}); \
             {} pairs scored ({:.1} per user, {:.5}% of all pairs); {} matched",
            self.employees,
            self.users,
            self.total_ms(),
            self.build_ms,
            self.block_ms,
            self.score_ms,
            self.assign_ms,
            self.pairs_scored,
            self.pairs_scored as f64 / self.users.max(1) as f64,
            100.0 * self.pairs_scored as f64 / (self.employees as f64 * self.users as f64).max(1.0),
            self.matched
        )
    }
}

/// Time one pass over a generated workforce (generation not timed).
pub fn bench(employees: usize, users: usize, seed: u64) -> BenchReport {
    // The generator makes about as many users as employees; make enough.
    let mut c = corpus::generate(employees.max(users), seed, true);
    c.employees.truncate(employees);
    c.users.truncate(users);
    let settings = MatchSettings::default();
    let view: Vec<MatchEmployee> = c.employees.iter().map(EmployeeRecord::as_match).collect();
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let engine = Engine::new(&view, &settings);
    let build_ms = ms(t);
    let t = Instant::now();
    let blocked = engine.block(&c.users, &[]);
    let block_ms = ms(t);
    let t = Instant::now();
    let (outcomes, stats) = engine.score_blocked(blocked);
    let score_ms = ms(t);
    let t = Instant::now();
    let results = engine.assign(outcomes, &c.users);
    let assign_ms = ms(t);
    BenchReport {
        employees,
        users,
        build_ms,
        block_ms,
        score_ms,
        assign_ms,
        pairs_scored: stats.pairs_scored,
        matched: results
            .iter()
            .filter(|r| r.status == MatchStatus::Matched)
            .count(),
    }
}

/// `rosterd bench match`.
pub fn bench_cli(args: MatchBenchArgs) -> anyhow::Result<()> {
    let sizes = match (args.employees, args.users) {
        (Some(e), Some(u)) => vec![(e, u)],
        _ => vec![(6_000, 5_000), (100_000, 100_000)],
    };
    for (e, u) in sizes {
        println!("{}", bench(e, u, args.seed));
    }
    Ok(())
}
