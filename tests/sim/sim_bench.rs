//! Throughput of the simulator on this machine. A measurement, not a check:
//! `cargo test --release -p auth0-sim --test sim sim_bench:: -- --ignored --nocapture`
//! (env `SIM_BENCH_SECONDS`, `SIM_BENCH_CONCURRENCY`, `SIM_BENCH_USERS`).

use auth0_sim::bench::{bench, BenchArgs};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run explicitly"]
async fn sustained_requests_per_second() {
    let args = BenchArgs {
        users: env_or("SIM_BENCH_USERS", 10_000),
        concurrency: env_or("SIM_BENCH_CONCURRENCY", 32),
        seconds: env_or("SIM_BENCH_SECONDS", 10) as u64,
    };
    let report = bench(args).await.expect("benchmark runs");
    println!("{report}");
    assert_eq!(report.errors, 0, "every request succeeded");
}
