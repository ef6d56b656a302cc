//! Throughput of the simulator on this machine. A measurement, not a check:
//! `cargo test --release -p auth0-sim --test sim sim_bench:: -- --ignored --nocapture`
//! (env `SIM_BENCH_SECONDS`, `SIM_BENCH_CONCURRENCY`, `SIM_BENCH_USERS`).

use auth0_sim::bench::{bench, bench_export, BenchArgs};

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
        export_users: 0,
    };
    let report = bench(args).await.expect("benchmark runs");
    println!("{report}");
    assert_eq!(report.errors, 0, "every request succeeded");
}

/// `SIM_BENCH_EXPORT_USERS` (default 100,000) users exported as JSON and as
/// CSV, each timed from the POST to a completed job and then downloaded.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run explicitly"]
async fn export_build_and_download_time() {
    let users = env_or("SIM_BENCH_EXPORT_USERS", 100_000);
    for format in ["json", "csv"] {
        let report = bench_export(users, format).await.expect("benchmark runs");
        println!("{report}");
        assert!(report.bytes > 0);
    }
}
