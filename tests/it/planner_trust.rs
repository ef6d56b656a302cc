//! Issue 9, the planner's part: every leaver blocked, every run honest,
//! one bad row or one unmapped role code never turning every run red. Each
//! scenario runs once per backend against the simulator.

use crate::common::*;
use rosterd::run::RunStatus;
use serde_json::{json, Value};

on_every_backend!(
    leaver_with_two_accounts_has_both_blocked,
    leaver_whose_row_is_invalid_is_still_blocked,
    duplicated_rows_fail_the_run_and_do_not_poison_the_baseline,
    a_baseline_poisoned_before_the_fix_is_healed_by_migrate,
    audit_says_how_each_link_was_made,
    rows_auth0_would_refuse_are_findings_and_the_run_goes_on,
    unmapped_role_code_is_one_finding_not_a_failed_action_per_employee,
    observe_mode_reports_what_the_guard_would_hold,
);

/// A bare account carrying `employee_id` in its app_metadata.
fn account_of(user_id: &str, email: &str, employee_id: i64) -> Value {
    json!({
        "user_id": user_id, "email": email, "name": "Ana Ruiz",
        "app_metadata": {"employee_id": employee_id}
    })
}

fn blocked(users: &[Value], user_id: &str) -> bool {
    users
        .iter()
        .find(|u| u["user_id"] == json!(user_id))
        .unwrap_or_else(|| panic!("{user_id} exists"))["blocked"]
        == json!(true)
}

/// The findings of run `id`, from its stored plan.
async fn findings_of(store: &rosterd::store::Store, id: i64) -> Vec<Value> {
    let plan = stored_plan(store, id).await;
    plan["findings"].as_array().cloned().unwrap_or_default()
}

async fn leaver_with_two_accounts_has_both_blocked(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let (a, b) = (
        "auth0|00000000000000000000000a",
        "auth0|00000000000000000000000b",
    );
    api.seed(vec![
        account_of(a, "ana.ruiz@example.com", 1),
        account_of(b, "ana.ruiz+dup@example.com", 1),
    ])
    .await;
    // Colleagues, so two blocks are not a mass departure.
    let mut rows = staff(30);
    rows[0] = employee(1, "Ana Ruiz", "ana.ruiz@example.com", false);
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.planned.get("block"), Some(&2), "{r:?}");
    let users = api.users().await;
    assert!(blocked(&users, a) && blocked(&users, b), "{users:#?}");
    let f = findings_of(&ctx.store, r.run_id).await;
    let dup = f
        .iter()
        .find(|f| f["kind"] == "duplicate_account")
        .expect("the duplicate is still reported");
    assert!(
        dup["detail"].as_str().unwrap().contains("has left"),
        "{dup}"
    );
    assert!(run(&ctx).await.planned.is_empty(), "converged");
}

async fn leaver_whose_row_is_invalid_is_still_blocked(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let id = "auth0|000000000000000000000050";
    let mut gone = employee(50, "Eve Left", "eve@example.com", false);
    api.seed(vec![managed_account(id, &gone)]).await;
    // HR cleared the email when she left; the stored link remains.
    gone.email = None;
    gone.auth0_user_id = Some(id.into());
    let mut rows = staff(20);
    rows.push(gone);
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert!(blocked(&api.users().await, id), "the leaver is blocked");
    let f = findings_of(&ctx.store, r.run_id).await;
    assert!(
        f.iter().all(|f| !f["detail"]
            .as_str()
            .unwrap()
            .contains("not in the employees table")),
        "{f:#?}"
    );
    let invalid = f
        .iter()
        .find(|f| f["kind"] == "invalid_employee")
        .expect("the row is reported");
    assert_eq!(invalid["employee_id"], json!(50), "{invalid}");
    assert!(run(&ctx).await.planned.is_empty(), "converged");
}

async fn duplicated_rows_fail_the_run_and_do_not_poison_the_baseline(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&db, &sim);
    // A bad join: every row three times.
    s.database.employees_query = Some(
        "SELECT e.id, e.full_name, e.email, e.department, e.workspace, e.role_code, \
         e.is_active, e.auth0_user_id FROM employees e \
         CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) t"
            .into(),
    );
    let ctx = context(s.clone()).await;
    ctx.store.insert_employees(&staff(10)).await.unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Failed, "{r:?}");
    assert!(
        r.error.as_deref().unwrap_or("").contains("valid"),
        "says why: {:?}",
        r.error
    );
    assert!(r.planned.is_empty());

    // The query fixed: the failed run is no baseline, the run goes ahead.
    s.database.employees_query = None;
    let ctx = context(s).await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.planned.get("create"), Some(&10));
}

async fn a_baseline_poisoned_before_the_fix_is_healed_by_migrate(db: Db) {
    #[cfg(feature = "mysql")]
    use rosterd::store::Store;
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(10)).await.unwrap();
    // What an earlier version recorded for the tripled query: 30 rows seen,
    // not one valid employee planned for, "succeeded".
    let trigger = match &ctx.store {
        #[cfg(feature = "mysql")]
        Store::MySql(_) => "`trigger`",
        _ => "trigger",
    };
    exec(
        &ctx.store,
        &format!(
            "INSERT INTO reconcile_runs ({trigger}, mode, dry_run, status, started_at, \
             employees_seen, summary) VALUES ('cli', 'enforce', FALSE, 'succeeded', \
             CURRENT_TIMESTAMP, 30, '{{\"stats\": {{\"employees\": 0}}}}')"
        ),
    )
    .await;
    assert_eq!(run(&ctx).await.status, RunStatus::Failed, "poisoned");
    // Upgrading runs the migration that re-counts the baseline.
    exec(&ctx.store, "DELETE FROM _sqlx_migrations WHERE version = 4").await;
    ctx.store.migrate().await.unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
}

async fn audit_says_how_each_link_was_made(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let by_meta = employee(1, "Meta Found", "meta@example.com", true);
    let by_email = employee(2, "Mail Found", "mail@example.com", true);
    let new = employee(3, "New Hire", "new@example.com", true);
    api.seed(vec![
        account_of("auth0|000000000000000000000001", "meta@example.com", 1),
        json!({"user_id": "auth0|000000000000000000000002", "email": "mail@example.com",
               "name": "Mail Found"}),
    ])
    .await;
    ctx.store
        .insert_employees(&[by_meta, by_email, new])
        .await
        .unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    let audit: Vec<(i64, String)> = fetch_all(
        &ctx.store,
        "SELECT employee_id, matched_by FROM auth0_employee_mapping_audit ORDER BY employee_id",
    )
    .await;
    assert_eq!(
        audit,
        vec![
            (1, "employee_id".to_string()),
            (2, "email".to_string()),
            (3, "created".to_string()),
        ]
    );
}

async fn rows_auth0_would_refuse_are_findings_and_the_run_goes_on(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    // Linked, in step: one is renamed to a single word, one takes the
    // other's email.
    let mut rows = staff(3);
    let mut accounts = Vec::new();
    for e in rows.iter_mut() {
        let id = format!("auth0|{:024x}", e.id);
        accounts.push(managed_account(&id, e));
        e.auth0_user_id = Some(id);
    }
    api.seed(accounts).await;
    rows[0].full_name = Some("Cher".into());
    rows[1].email = rows[2].email.clone();
    let long_given = format!("{} Smith", "A".repeat(151));
    rows.push(employee(10, &long_given, "long@example.com", true));
    rows.push(employee(11, &"N".repeat(301), "longer@example.com", true));
    let local = format!("{}@example.com", "l".repeat(65));
    rows.push(employee(12, "Local Part", &local, true));
    rows.push(employee(13, "Bad Domain", "bad@-example.com", true));
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!(r.findings.get("invalid_employee"), Some(&4), "{r:?}");
    assert_eq!(
        r.findings.get("duplicate_employee_email"),
        Some(&2),
        "{r:?}"
    );
    let cher = &api.user_by_email("worker1@example.com").await[0];
    assert_eq!(cher["name"], json!("Cher"));
    assert_eq!(cher["given_name"], json!("Cher"));
    assert!(cher.get("family_name").is_none(), "{cher}");
    let second = run(&ctx).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{second:?}");
    assert!(second.planned.is_empty(), "{second:?}");
}

async fn unmapped_role_code_is_one_finding_not_a_failed_action_per_employee(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    // Keys compare case-insensitively: a lowercased key (as an environment
    // override gives) still maps HEAT_PRESS.
    s.auth0.roles.remove("HEAT_PRESS");
    s.auth0
        .roles
        .insert("heat_press".into(), "Heat Press Operator".into());
    let ctx = context(s).await;
    let mut rows = staff(3);
    for e in &mut rows[..2] {
        e.role_code = Some("NO_SUCH_ROLE".into());
    }
    rows[2].role_code = Some("HEAT_PRESS".into());
    ctx.store.insert_employees(&rows).await.unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!(r.succeeded.get("create"), Some(&3), "{r:?}");
    assert_eq!(r.findings.get("unmapped_role_code"), Some(&1), "{r:?}");
    let f = findings_of(&ctx.store, r.run_id).await;
    let unmapped = f
        .iter()
        .find(|f| f["kind"] == "unmapped_role_code")
        .unwrap();
    let detail = unmapped["detail"].as_str().unwrap();
    assert!(
        detail.contains("NO_SUCH_ROLE") && detail.contains("1, 2"),
        "{detail}"
    );
    let state = api.state().await;
    let heat = state["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Heat Press Operator")
        .unwrap()["id"]
        .clone();
    let uid = api.user_by_email("worker3@example.com").await[0]["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(state["user_roles"][&uid], json!([heat]));
    let second = run(&ctx).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{second:?}");
    assert!(second.planned.is_empty(), "{second:?}");
}

async fn observe_mode_reports_what_the_guard_would_hold(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.mode = rosterd::config::Mode::Observe;
    let ctx = context(s).await;
    let (rows, accounts) = linked_staff(10, 5);
    api.seed(accounts).await;
    ctx.store.insert_employees(&rows).await.unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    let v = serde_json::to_value(&r).unwrap();
    assert!(
        v["would_hold"].as_str().unwrap_or("").contains("blocks 5"),
        "{v}"
    );
    assert!(v["held_reason"].is_null(), "{v}");

    // A dry run in enforce mode applies nothing either: not held, it says why
    // it would be, and leaves no held run waiting for an approval.
    let mut s = ctx.settings.clone();
    s.mode = rosterd::config::Mode::Enforce;
    let ctx = context(s).await;
    let r = dry_run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert!(r.would_hold.as_deref().unwrap_or("").contains("blocks 5"));
    assert!(r.held_reason.is_none());
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
}
