//! Account usage, drift and lifecycle latency (issue 12) against the
//! simulator on every backend: what the compliance query and the leaver
//! promise rest on.

use crate::common::*;
use chrono::{Duration, Utc};
use rosterd::run::RunStatus;
use serde_json::json;

on_every_backend!(
    never_used_accounts_are_findings_and_a_gauge,
    lifecycle_latency_counts_from_the_first_run_that_planned_the_action,
    drift_is_counted_per_field_by_runs_not_dry_runs,
);

/// The value of one sample (`name{labels}`) in the text exposition.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

fn iso(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn never_used_accounts_are_findings_and_a_gauge(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let (rows, mut accounts) = linked_staff(3, 0);
    let now = Utc::now();
    // 1: created 100 days ago, never used. 2: the same, but logged in
    // yesterday. 3: created 10 days ago, not used yet (young).
    accounts[0]["created_at"] = json!(iso(now - Duration::days(100)));
    accounts[1]["created_at"] = json!(iso(now - Duration::days(100)));
    accounts[1]["last_login"] = json!(iso(now - Duration::days(1)));
    accounts[1]["logins_count"] = json!(12);
    accounts[2]["created_at"] = json!(iso(now - Duration::days(10)));
    api.seed(accounts).await;
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert!(r.planned.is_empty(), "nothing to change: {:?}", r.planned);
    assert_eq!(
        r.findings.get("never_logged_in"),
        Some(&1),
        "{:?}",
        r.findings
    );
    assert_eq!(r.findings.get("stale_account"), None, "{:?}", r.findings);
    assert_eq!((r.stats.never_logged_in, r.stats.stale_accounts), (1, 0));
    let text = ctx.metrics.render();
    assert_eq!(sample(&text, "rosterd_accounts_never_logged_in"), 1.0);
    assert_eq!(sample(&text, "rosterd_accounts_stale"), 0.0);

    // The finding names the account, its employee, situation and policy.
    let record = ctx.store.get_run(r.run_id).await.unwrap().unwrap();
    let plan = ctx.store.stored_plan(&record).await.unwrap();
    let plan = plan.unwrap().unwrap();
    let f = plan
        .findings
        .iter()
        .find(|f| f.kind.as_str() == "never_logged_in")
        .unwrap();
    assert_eq!(f.auth0_user_ids[0].0, format!("auth0|{:024x}", 1));
    assert_eq!(f.employee_id.map(|e| e.0), Some(1));
    assert_eq!(
        f.policy.as_deref(),
        Some("policy.never_logged_in = \"report\" (default)")
    );
}

async fn lifecycle_latency_counts_from_the_first_run_that_planned_the_action(db: Db) {
    let kind = db;
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&db, &sim);
    // One employee of one leaving is the whole workforce: not a mass block.
    s.reconcile.max_block_share = 1.0;
    let ctx = context(s).await;
    ctx.store.insert_employees(&staff(1)).await.unwrap();
    let latency = |action: &str, le: &str| {
        let series =
            format!("rosterd_lifecycle_latency_seconds_bucket{{action=\"{action}\",le=\"{le}\"}}");
        sample(&ctx.metrics.render(), &series)
    };

    // A dry run sees the new employee first; two hours later (backdated),
    // a run creates the account: the latency is at least those two hours.
    let seen = dry_run(&ctx).await;
    assert_eq!(seen.planned.get("create"), Some(&1), "{seen:#?}");
    let earlier = Utc::now() - Duration::hours(2);
    let literal = match kind {
        #[cfg(feature = "mysql")]
        Db::MySql => earlier.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        #[allow(unreachable_patterns)]
        _ => earlier.to_rfc3339(),
    };
    exec(
        &ctx.store,
        &format!(
            "UPDATE reconcile_runs SET started_at = '{literal}' WHERE id = {}",
            seen.run_id
        ),
    )
    .await;
    let r = run(&ctx).await;
    assert_eq!(r.succeeded.get("create"), Some(&1), "{r:#?}");
    assert_eq!(latency("create", "3600"), 0.0);
    assert_eq!(latency("create", "14400"), 1.0);
    assert_eq!(latency("create", "+Inf"), 1.0);
    assert_eq!(latency("block", "+Inf"), 0.0);

    // Nothing applied: nothing observed.
    let idle = run(&ctx).await;
    assert!(idle.planned.is_empty(), "{idle:#?}");
    assert_eq!(latency("create", "+Inf"), 1.0);

    // A leaver, first seen by the run that blocks them: within the promise.
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = FALSE WHERE id = 1",
    )
    .await;
    let r = run(&ctx).await;
    assert_eq!(r.succeeded.get("block"), Some(&1), "{r:#?}");
    assert_eq!(latency("block", "900"), 1.0);
    assert_eq!(latency("create", "+Inf"), 1.0);
}

async fn drift_is_counted_per_field_by_runs_not_dry_runs(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let (rows, mut accounts) = linked_staff(2, 0);
    // Someone else renamed account 1 in the tenant.
    accounts[0]["name"] = json!("Edited In Auth0");
    api.seed(accounts).await;
    ctx.store.insert_employees(&rows).await.unwrap();
    let drift = |field: &str| {
        sample(
            &ctx.metrics.render(),
            &format!("rosterd_drift_total{{field=\"{field}\"}}"),
        )
    };
    let asked = dry_run(&ctx).await;
    assert_eq!(asked.planned.get("update"), Some(&1), "{asked:#?}");
    assert_eq!(drift("name"), 0.0, "a dry run counts no drift");
    let r = run(&ctx).await;
    assert_eq!(r.succeeded.get("update"), Some(&1), "{r:#?}");
    assert_eq!(drift("name"), 1.0);
    assert_eq!(drift("email"), 0.0);
    // Repaired: the next run sees none.
    run(&ctx).await;
    assert_eq!(drift("name"), 1.0);
}
