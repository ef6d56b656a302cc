//! Errors read once: printed as a chain (`{:#}` or `telemetry::error_chain`),
//! each cause's text appears once, whatever the depth.

use crate::common::*;
use rosterd::telemetry::error_chain;

/// `line` holds the text of every error in `e`'s chain exactly once; the
/// chain's depth.
fn says_each_cause_once(line: &str, e: &(dyn std::error::Error + 'static)) -> usize {
    let mut cause = Some(e);
    let mut depth = 0;
    while let Some(c) = cause {
        let text = c.to_string();
        assert_eq!(line.matches(&text).count(), 1, "{text:?} in {line:?}");
        cause = c.source();
        depth += 1;
    }
    depth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_held_plan_says_each_cause_once() {
    let db = TestDb::new(Db::Sqlite).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    exec(
        &ctx.store,
        "INSERT INTO run_plans (digest, plan) VALUES ('unreadable', '{\"actions\": 3}')",
    )
    .await;
    exec(
        &ctx.store,
        "INSERT INTO reconcile_runs (trigger, mode, dry_run, status, started_at, plan_digest) \
         VALUES ('test', 'enforce', false, 'held', '2026-01-01T00:00:00Z', 'unreadable')",
    )
    .await;
    let id = ctx.store.list_runs(1).await.unwrap()[0].id;
    let err = rosterd::held::approval(&ctx.store, id, "cli:oncall")
        .await
        .expect_err("no readable plan");
    let chain = error_chain(&err);
    assert!(
        chain.starts_with(&format!("held run {id} has no readable plan: ")),
        "{chain}"
    );
    // The decision, the stored plan, the JSON parser.
    assert_eq!(says_each_cause_once(&chain, &err), 3, "{chain}");
    let err = anyhow::Error::from(err);
    assert_eq!(format!("{err:#}"), chain);
}

#[tokio::test]
async fn a_missing_podfactory_export_says_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("podfactory.csv").display().to_string();
    let mut s = rosterd::config::Settings::default().podfactory;
    s.source = "csv".into();
    s.csv_path = path.clone();
    let err = rosterd::podfactory::load(&s)
        .await
        .expect_err("no such file");
    let chain = error_chain(&err);
    // The same words as when the cause was folded into one string.
    assert!(
        chain.starts_with(&format!("podfactory csv: {path}: ")),
        "{chain}"
    );
    assert_eq!(
        says_each_cause_once(&chain, &err),
        2,
        "the io error is kept as the source: {chain}"
    );
    assert_eq!(format!("{:#}", anyhow::Error::from(err)), chain);
}
