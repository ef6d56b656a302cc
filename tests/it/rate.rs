//! Applying within the tenant's limit: rosterd learns the simulator's rate
//! from `x-ratelimit-*` and never runs into it.

use crate::common::*;
use auth0_sim::SimConfig;
use std::time::Instant;

const TENANT_RATE: f64 = 20.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_runs_at_the_tenants_rate_without_a_429() {
    let db = TestDb::new(Db::Sqlite).await;
    let sim = spawn_sim_with(SimConfig {
        rate_per_sec: TENANT_RATE,
        burst: 10,
        export_delay_ms: 20,
        ..SimConfig::default()
    })
    .await;
    // The ceilings are far above the tenant's limit: the learned one governs.
    // One call per account (no import job), so the requests are many.
    let mut s = settings(&db, &sim);
    s.auth0.bulk_import_threshold = 0;
    let ctx = context(s.clone()).await;
    ctx.store.insert_employees(&staff(120)).await.unwrap();

    let started = Instant::now();
    let report = run(&ctx).await;
    let took = started.elapsed().as_secs_f64();
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.succeeded.get("create"), Some(&120), "{report:?}");

    let requests = SimClient::new(&sim).requests().await;
    let total = requests["total"].as_u64().unwrap();
    let refused: u64 = requests["by_endpoint"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|by_status| by_status["429"].as_u64())
        .sum();
    assert!(total >= 120, "a create per employee: {requests}");
    assert_eq!(refused, 0, "no 429 in {requests}");
    // Past the burst, at least 70% of the tenant's rate.
    let rate = (total - 10) as f64 / took;
    assert!(
        rate >= 0.7 * TENANT_RATE,
        "{total} requests in {took:.1}s: {rate:.1}/s of the tenant's {TENANT_RATE}"
    );
}
