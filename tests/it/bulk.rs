//! Creating many accounts: users-import jobs above
//! `auth0.bulk_import_threshold`, single calls below it, roles in batches
//! either way. Against the simulator over HTTP; the request counts come
//! from its request log.

use crate::common::*;
use rosterd::model::RawEmployee;
use rosterd::run::{RunOptions, RunStatus, Trigger};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[cfg(feature = "postgres")]
mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_plan_is_imported_by_jobs_with_roles_in_batches() {
        super::a_large_plan_is_imported_by_jobs_with_roles_in_batches(crate::common::Db::Postgres)
            .await
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use crate::common::Db::Sqlite;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_plan_is_imported_by_jobs_with_roles_in_batches() {
        super::a_large_plan_is_imported_by_jobs_with_roles_in_batches(Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_import_budget_makes_several_jobs_two_at_a_time() {
        super::a_small_import_budget_makes_several_jobs_two_at_a_time(Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_email_taken_meanwhile_is_linked_or_refused_per_employee() {
        super::an_email_taken_meanwhile_is_linked_or_refused_per_employee(Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn below_the_threshold_accounts_are_created_one_call_each() {
        super::below_the_threshold_accounts_are_created_one_call_each(Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_role_batch_fails_its_creates_and_the_next_run_assigns_the_roles() {
        super::a_refused_role_batch_fails_its_creates_and_the_next_run_assigns_the_roles(Sqlite)
            .await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_import_whose_answer_was_lost_is_linked_by_the_next_run() {
        super::an_import_whose_answer_was_lost_is_linked_by_the_next_run(Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_import_slots_are_waited_for_not_failed() {
        super::busy_import_slots_are_waited_for_not_failed(Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_after_an_interrupted_import_creates_no_duplicates() {
        super::a_run_after_an_interrupted_import_creates_no_duplicates(Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_run_deadline_bounds_waiting_on_an_import_job() {
        super::the_run_deadline_bounds_waiting_on_an_import_job(Sqlite).await
    }
}

/// `n` active employees, every third a heat-press operator, the rest pickers.
fn workforce(n: i64) -> Vec<RawEmployee> {
    let mut rows = staff(n);
    for e in rows.iter_mut().filter(|e| e.id % 3 == 0) {
        e.department = Some("Heat Press".into());
        e.role_code = Some("HEAT_PRESS".into());
    }
    rows
}

/// Role names by account id, as the tenant holds them.
fn roles_by_user(state: &Value) -> BTreeMap<String, Vec<String>> {
    let names: BTreeMap<&str, &str> = state["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["name"].as_str().unwrap()))
        .collect();
    state["user_roles"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(user, ids)| {
                    let mut roles: Vec<String> = ids
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|id| names[id.as_str().unwrap()].to_string())
                        .collect();
                    roles.sort();
                    (user.clone(), roles)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every employee of `rows` has exactly one account, made as a create makes
/// it, holding its role, and linked on the employee row.
async fn assert_one_account_each(
    ctx: &rosterd::run::Context,
    api: &SimClient,
    rows: &[RawEmployee],
) {
    let state = api.state().await;
    let roles = roles_by_user(&state);
    let users = state["users"].as_array().unwrap();
    let linked: BTreeMap<i64, Option<String>> = ctx
        .store
        .load_employees(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.auth0_user_id))
        .collect();
    for e in rows {
        let email = e.email.as_deref().unwrap();
        let mine: Vec<&Value> = users.iter().filter(|u| u["email"] == email).collect();
        assert_eq!(mine.len(), 1, "{email}: {mine:?}");
        let u = mine[0];
        let uid = u["user_id"].as_str().unwrap();
        assert_eq!(u["email_verified"], json!(true), "{email}");
        assert_eq!(u["name"], json!(e.full_name), "{email}");
        assert_eq!(
            u["app_metadata"],
            json!({"employee_id": e.id, "department": e.department, "role_code": e.role_code,
                   "workspace": e.workspace, "created_by": "productivity_system"}),
            "{email}"
        );
        assert_eq!(u["user_metadata"]["employee_id"], json!(e.id));
        let want = match e.role_code.as_deref() {
            Some("HEAT_PRESS") => "Heat Press Operator",
            _ => "Picker",
        };
        assert_eq!(
            roles.get(uid).cloned().unwrap_or_default(),
            vec![want.to_string()],
            "{email}"
        );
        assert_eq!(linked[&e.id].as_deref(), Some(uid), "{email} linked");
    }
}

async fn a_large_plan_is_imported_by_jobs_with_roles_in_batches(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let rows = workforce(150);
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert_eq!(r.succeeded.get("create"), Some(&150));
    let bulk = r
        .bulk
        .clone()
        .expect("150 creates ≥ the default threshold of 100");
    assert_eq!((bulk.jobs, bulk.imported, bulk.failed), (1, 150, 0));
    let text = rosterd::report::human(&r);
    assert!(
        text.contains("created 150 accounts by 1 import job,")
            || text.contains("created 150 accounts by 1 import job\n"),
        "{text}"
    );
    assert_one_account_each(&ctx, &api, &rows).await;

    // One job, one export to find its accounts, one role call per role.
    let reqs = api.requests().await;
    let count = |ep: &str| -> u64 {
        reqs["by_endpoint"][ep]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0)
    };
    assert_eq!(count("POST /api/v2/users"), 0, "{reqs:#}");
    assert_eq!(count("POST /api/v2/users/{id}/roles"), 0, "{reqs:#}");
    assert_eq!(count("POST /api/v2/jobs/users-imports"), 1, "{reqs:#}");
    assert_eq!(count("POST /api/v2/roles/{id}/users"), 2, "{reqs:#}");
    assert_eq!(
        count("POST /api/v2/jobs/users-exports"),
        2,
        "the run's and the one after the job"
    );
    let total: u64 = reqs["by_endpoint"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m.as_object().unwrap().values())
        .filter_map(Value::as_u64)
        .sum();
    assert!(total < 40, "150 accounts in {total} requests: {reqs:#}");

    // Every action recorded as applied, with its account.
    let actions = ctx.store.run_actions(r.run_id).await.unwrap();
    assert!(actions
        .iter()
        .all(|a| a.status.as_str() == "succeeded" && a.auth0_user_id.is_some()));

    let again = run(&ctx).await;
    assert_eq!(again.status, RunStatus::Succeeded);
    assert!(again.planned.is_empty(), "{:?}", again.planned);
    assert!(again.bulk.is_none());
}

async fn a_small_import_budget_makes_several_jobs_two_at_a_time(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.bulk_import_threshold = 10;
    // About four entries a file.
    s.auth0.import_file_bytes = 1500;
    let ctx = context(s).await;
    let rows = workforce(40);
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    let bulk = r.bulk.clone().unwrap();
    assert!(bulk.jobs >= 8, "{bulk:?}");
    assert_eq!((bulk.imported, bulk.failed), (40, 0));
    assert_eq!(
        api.count("POST /api/v2/jobs/users-imports", "202").await,
        bulk.jobs as u64
    );
    assert_eq!(api.count("POST /api/v2/jobs/users-imports", "429").await, 0);
    assert_one_account_each(&ctx, &api, &rows).await;
    assert!(run(&ctx).await.planned.is_empty());
}

/// An account made for an employee's email after the run read the tenant
/// (by hand, say) meets the import job's `DUPLICATED_USER`: linked as a 409
/// is when it is free, the create failed when it names another employee.
async fn an_email_taken_meanwhile_is_linked_or_refused_per_employee(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.bulk_import_threshold = 5;
    let ctx = context(s).await;
    let rows = workforce(12);
    ctx.store.insert_employees(&rows).await.unwrap();
    // Time to make the accounts between the lookup of the connection and
    // the import job.
    api.faults(json!({"latency_ms": 1500, "endpoint": "POST /api/v2/jobs/users-imports"}))
        .await;
    let started = {
        let ctx = ctx.clone();
        tokio::spawn(async move { run(&ctx).await })
    };
    eventually(
        "the connection looked up",
        std::time::Duration::from_secs(20),
        || async { (api.count("GET /api/v2/connections", "200").await > 0).then_some(()) },
    )
    .await;
    api.seed(vec![
        json!({"user_id": "auth0|0000000000000000000000a1", "email": "worker4@example.com",
               "name": "Made By Hand"}),
        json!({"user_id": "auth0|0000000000000000000000a2", "email": "worker5@example.com",
               "app_metadata": {"employee_id": 9999}}),
    ])
    .await;
    let r = started.await.unwrap();
    api.clear_faults().await;

    assert_eq!(r.status, RunStatus::Partial, "{r:#?}");
    let bulk = r.bulk.clone().unwrap();
    assert_eq!(
        (bulk.jobs, bulk.imported, bulk.failed),
        (1, 10, 1),
        "{bulk:?}"
    );
    assert_eq!(r.succeeded.get("create"), Some(&11));
    assert_eq!(r.failed.get("create"), Some(&1));
    assert!(
        r.failures
            .iter()
            .any(|f| f.contains("employee 5") && f.contains("belongs to employee 9999")),
        "{:?}",
        r.failures
    );
    // The free account is employee 4's now: linked, its metadata set.
    let four = api.user_by_email("worker4@example.com").await;
    assert_eq!(four.len(), 1);
    assert_eq!(four[0]["user_id"], json!("auth0|0000000000000000000000a1"));
    assert_eq!(four[0]["app_metadata"]["employee_id"], json!(4));
    let emps = ctx.store.load_employees(None).await.unwrap();
    let four_row = emps.iter().find(|e| e.id == 4).unwrap();
    assert_eq!(
        four_row.auth0_user_id.as_deref(),
        Some("auth0|0000000000000000000000a1")
    );
    // The other employee's account is left as it was.
    let five = api.user_by_email("worker5@example.com").await;
    assert_eq!(five.len(), 1);
    assert_eq!(five[0]["app_metadata"]["employee_id"], json!(9999));
    let actions = ctx.store.run_actions(r.run_id).await.unwrap();
    let failed: Vec<_> = actions
        .iter()
        .filter(|a| a.status.as_str() == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].employee_id, Some(5));
    assert!(
        failed[0].error.as_deref().unwrap_or("").contains("9999"),
        "{:?}",
        failed[0].error
    );
}

async fn below_the_threshold_accounts_are_created_one_call_each(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let rows = workforce(30);
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert!(r.bulk.is_none(), "30 creates are below the threshold");
    assert_one_account_each(&ctx, &api, &rows).await;
    assert_eq!(api.count("POST /api/v2/users", "201").await, 30);
    assert_eq!(api.count("POST /api/v2/jobs/users-imports", "202").await, 0);
    // Roles: one call per role, not one per account.
    assert_eq!(api.count("POST /api/v2/roles/{id}/users", "200").await, 2);
    assert_eq!(api.count("POST /api/v2/users/{id}/roles", "204").await, 0);
    assert!(run(&ctx).await.planned.is_empty());
}

/// The account exists but lacks its role: its create fails saying so, its
/// `role_code` is cleared, and the next run sees the drift and assigns it.
async fn a_refused_role_batch_fails_its_creates_and_the_next_run_assigns_the_roles(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.max_attempts = 2;
    let ctx = context(s).await;
    let rows = workforce(6);
    ctx.store.insert_employees(&rows).await.unwrap();
    api.faults(json!({"rate_5xx": 1.0, "endpoint": "POST /api/v2/roles/{id}/users"}))
        .await;
    let r = run(&ctx).await;
    api.clear_faults().await;
    assert_eq!(r.status, RunStatus::Partial, "{r:#?}");
    assert_eq!(r.failed.get("create"), Some(&6));
    assert!(
        r.failures.iter().all(|f| f.contains("not assigned")),
        "{:?}",
        r.failures
    );
    let state = api.state().await;
    assert!(roles_by_user(&state).values().all(Vec::is_empty));
    for u in state["users"].as_array().unwrap() {
        assert!(u["app_metadata"].get("role_code").is_none(), "{u}");
    }
    // The accounts are linked all the same: the next run updates them.
    let next = run(&ctx).await;
    assert_eq!(next.status, RunStatus::Succeeded, "{next:#?}");
    assert_eq!(next.planned.get("update"), Some(&6), "{:?}", next.planned);
    assert!(!next.planned.contains_key("create"));
    assert_one_account_each(&ctx, &api, &rows).await;
    assert!(run(&ctx).await.planned.is_empty());
}

/// The job ran but its answer never came (the connection dropped on every
/// attempt): the run cannot know the job, so its creates fail; once the job
/// has made the accounts, the next run links them (the crash-heal path), never
/// a second account.
async fn an_import_whose_answer_was_lost_is_linked_by_the_next_run(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.bulk_import_threshold = 5;
    s.auth0.max_attempts = 2;
    let ctx = context(s).await;
    let rows = workforce(8);
    ctx.store.insert_employees(&rows).await.unwrap();
    api.faults(json!({"rate_drop_after": 1.0, "endpoint": "POST /api/v2/jobs/users-imports"}))
        .await;
    let r = run(&ctx).await;
    api.clear_faults().await;
    assert_eq!(r.failed.get("create"), Some(&8), "{r:#?}");
    // The lost jobs complete in the background.
    eventually(
        "the lost import to complete",
        std::time::Duration::from_secs(20),
        || async { (api.users().await.len() >= rows.len()).then_some(()) },
    )
    .await;
    let next = run(&ctx).await;
    assert_eq!(next.status, RunStatus::Succeeded, "{next:#?}");
    assert!(!next.planned.contains_key("create"), "{:?}", next.planned);
    assert_one_account_each(&ctx, &api, &rows).await;
    assert!(run(&ctx).await.planned.is_empty());
}

/// A shutdown mid-import: no job is posted after it, what the posted jobs
/// made is linked, and the next run creates the rest, no account twice.
async fn a_run_after_an_interrupted_import_creates_no_duplicates(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.bulk_import_threshold = 5;
    s.auth0.import_concurrency = 1;
    // One entry a file, and time between jobs to stop in.
    s.auth0.import_file_bytes = 400;
    let ctx = context(s).await;
    let rows = workforce(30);
    ctx.store.insert_employees(&rows).await.unwrap();
    api.faults(json!({"latency_ms": 100, "endpoint": "POST /api/v2/jobs/users-imports"}))
        .await;
    let started = rosterd::run::begin(&ctx, RunOptions::new(Trigger::Cli, false))
        .await
        .unwrap();
    let stop = started.stop_request();
    let running = tokio::spawn(started.finish());
    eventually(
        "some accounts imported",
        std::time::Duration::from_secs(30),
        || async { (api.users().await.len() >= 3).then_some(()) },
    )
    .await;
    stop.request();
    let first = running.await.unwrap().unwrap();
    api.clear_faults().await;
    assert_eq!(first.status, RunStatus::Interrupted, "{first:#?}");
    let bulk = first.bulk.clone().unwrap();
    assert!(bulk.jobs >= 3 && bulk.jobs < 30, "{bulk:?}");
    assert_eq!(
        bulk.imported, bulk.jobs,
        "every posted job's account is linked"
    );
    assert_eq!(api.users().await.len(), bulk.jobs);

    let second = run(&ctx).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{second:#?}");
    assert_eq!(second.planned.get("create"), Some(&(30 - bulk.jobs)));
    assert_one_account_each(&ctx, &api, &rows).await;
    assert!(run(&ctx).await.planned.is_empty());
}

/// Another client's import jobs hold the tenant's slots (429 to every post,
/// retries and all): rosterd waits and posts again until they free up.
async fn busy_import_slots_are_waited_for_not_failed(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.bulk_import_threshold = 5;
    s.auth0.max_attempts = 2;
    let ctx = context(s).await;
    let rows = workforce(8);
    ctx.store.insert_employees(&rows).await.unwrap();
    api.faults(json!({"rate_429": 1.0, "endpoint": "POST /api/v2/jobs/users-imports"}))
        .await;
    let started = {
        let ctx = ctx.clone();
        tokio::spawn(async move { run(&ctx).await })
    };
    eventually(
        "posts refused after the client's own retries",
        std::time::Duration::from_secs(20),
        || async { (api.count("POST /api/v2/jobs/users-imports", "429").await >= 4).then_some(()) },
    )
    .await;
    api.clear_faults().await;
    let r = started.await.unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert_eq!(r.bulk.clone().unwrap().imported, 8);
    assert_eq!(api.count("POST /api/v2/jobs/users-imports", "202").await, 1);
    assert_one_account_each(&ctx, &api, &rows).await;
}

/// An import job still running at `reconcile.run_deadline_secs`: the run
/// stops waiting (not after `auth0.import_timeout_secs`), its creates are
/// cut short, and the next run links what the job made, no account twice.
async fn the_run_deadline_bounds_waiting_on_an_import_job(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim_with(auth0_sim::SimConfig {
        rate_per_sec: 5000.0,
        burst: 5000,
        export_delay_ms: 20,
        import_delay_ms: 9000,
        ..auth0_sim::SimConfig::default()
    })
    .await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.bulk_import_threshold = 5;
    // Room for the reads and the post on a busy machine, well before the
    // job ends.
    s.reconcile.run_deadline_secs = 3;
    let ctx = context(s).await;
    let rows = workforce(8);
    ctx.store.insert_employees(&rows).await.unwrap();
    let first = run(&ctx).await;
    assert_eq!(first.status, RunStatus::Interrupted, "{first:#?}");
    assert!(
        api.users().await.is_empty(),
        "the run stopped waiting at its deadline, before the job completed"
    );
    let actions = ctx.store.run_actions(first.run_id).await.unwrap();
    assert_eq!(actions.len(), 8);
    for a in &actions {
        let error = a.error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with("cut short: the run deadline passed"),
            "{a:?}"
        );
    }
    eventually(
        "the job completes at Auth0 anyway",
        std::time::Duration::from_secs(20),
        || async { (api.users().await.len() == rows.len()).then_some(()) },
    )
    .await;
    let next = run(&ctx).await;
    assert!(!next.planned.contains_key("create"), "{:?}", next.planned);
    assert_one_account_each(&ctx, &api, &rows).await;
}
