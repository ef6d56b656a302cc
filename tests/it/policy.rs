//! The lifecycle policy end to end: real databases, the simulator over
//! HTTP, the policy read from a configuration file as an operator writes it.

use crate::common::*;
use rosterd::config::Settings;
use rosterd::run::RunStatus;
use serde_json::{json, Value};

on_every_backend!(
    a_policy_change_takes_effect_in_the_next_run,
    an_excluded_tenant_admin_is_never_touched_even_carrying_an_employee_id,
    a_create_only_field_edited_in_auth0_is_left_alone_while_an_enforced_one_is_repaired,
    a_relinked_rehire_takes_over_the_old_account_and_the_old_row_lets_go,
    a_create_answered_409_by_an_excluded_account_does_not_link_it,
);

/// `base` with `[policy]` text applied as a configuration file would.
fn with_policy(base: &Settings, policy_toml: &str) -> Settings {
    let env = [(
        "ROSTERD_AUTH0_CLIENT_SECRET".to_string(),
        base.auth0.client_secret.expose().to_string(),
    )];
    let text =
        format!("[auth0]\ndomain = \"test.rosterd.local\"\nclient_id = \"x\"\n{policy_toml}");
    let parsed = Settings::from_sources(&text, env).expect("the policy is valid");
    let mut s = base.clone();
    s.policy = parsed.policy;
    s
}

/// The plan a run stored.
async fn stored_plan(ctx: &rosterd::run::Context, run_id: i64) -> rosterd::plan::Plan {
    let run = ctx
        .store
        .get_run(run_id)
        .await
        .unwrap()
        .expect("the run is recorded");
    ctx.store
        .stored_plan(&run)
        .await
        .unwrap()
        .unwrap()
        .expect("the run stored its plan")
}

fn blocked(account: &Value) -> bool {
    account["blocked"].as_bool().unwrap_or(false)
}

/// The simulator holds `accounts` and the employees table `rows`: the
/// settings to run on.
async fn seeded(
    db: &TestDb,
    sim: &auth0_sim::RunningSim,
    rows: &[rosterd::model::RawEmployee],
    accounts: Vec<Value>,
) -> Settings {
    SimClient::new(sim).seed(accounts).await;
    let base = settings(db, sim);
    context(base.clone())
        .await
        .store
        .insert_employees(rows)
        .await
        .unwrap();
    base
}

async fn account(api: &SimClient, user_id: &str) -> Value {
    api.users()
        .await
        .into_iter()
        .find(|u| u["user_id"] == json!(user_id))
        .unwrap_or_else(|| panic!("{user_id} is in the tenant"))
}

async fn a_policy_change_takes_effect_in_the_next_run(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    // Employee 500 was deleted from the table; rosterd made their account.
    let gone = employee(500, "Gone Person", "gone@example.com", true);
    let orphan = "auth0|0000000000000000000000f5";
    // (Twenty others, so one block stays under the guard's share.)
    let (rows, mut accounts) = linked_staff(20, 0);
    accounts.push(managed_account(orphan, &gone));
    let base = seeded(&db, &sim, &rows, accounts).await;

    let r = run(&context(base.clone()).await).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.findings.get("orphaned"), Some(&1), "{r:?}");
    assert!(!blocked(&account(&api, orphan).await));
    let base_ctx = context(base.clone()).await;
    let plan = stored_plan(&base_ctx, r.run_id).await;
    assert_eq!(
        plan.findings[0].policy.as_deref(),
        Some("policy.orphaned_employee_id = \"report\" (default)")
    );

    // The operator decides orphans carrying an unknown employee id are to
    // be blocked: the next run does it, and says which entry chose it.
    let blocking = with_policy(&base, "[policy]\norphaned_employee_id = \"block\"\n");
    let ctx = context(blocking).await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.succeeded.get("block"), Some(&1), "{r:?}");
    assert_eq!(r.findings.get("orphaned"), None, "{r:?}");
    assert!(blocked(&account(&api, orphan).await));
    let recorded = ctx.store.run_actions(r.run_id).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(
        recorded[0]
            .reason
            .ends_with("policy.orphaned_employee_id = \"block\""),
        "{}",
        recorded[0].reason
    );
    // Nothing was deleted, and the next run has nothing left to do.
    assert_eq!(api.users().await.len(), 21);
    let r = run(&ctx).await;
    assert!(r.planned.is_empty(), "{r:?}");
}

async fn an_excluded_tenant_admin_is_never_touched_even_carrying_an_employee_id(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    // Employee 1 left; the tenant admin's account carries their id (the
    // admin set it up with their own employee record) and has drifted.
    let (mut rows, mut accounts) = linked_staff(3, 1);
    let admin_id = "auth0|0000000000000000000000ad";
    let mut admin = managed_account(admin_id, &rows[0]);
    admin["email"] = json!("admin@example.com");
    admin["name"] = json!("Tenant Admin");
    accounts.push(admin);
    // Employee 1 row holds no stored account: only the admin's metadata
    // points at them.
    accounts.remove(0);
    rows[0].auth0_user_id = None;
    let base = seeded(&db, &sim, &rows, accounts).await;

    // Without the exclusion rosterd would block it (so this test can fail).
    let r = dry_run(&context(base.clone()).await).await;
    assert_eq!(r.planned.get("block"), Some(&1), "{r:?}");

    let s = with_policy(
        &base,
        "[policy.exclude]\naccount_emails = [\"admin@.*\"]\n[policy]\nunmanaged = \"report\"\norphaned_employee_id = \"block\"\n",
    );
    let ctx = context(s).await;
    let before = account(&api, admin_id).await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert!(r.planned.is_empty(), "{r:?}");
    assert!(r.findings.is_empty(), "never reported: {r:?}");
    assert_eq!(r.stats.excluded_accounts, 1, "{r:?}");
    assert_eq!(account(&api, admin_id).await, before);
    let text = rosterd::report::human(&r);
    assert!(text.contains("excluded:  1 Auth0 accounts"), "{text}");
    // And not one write request reached the tenant.
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    assert_eq!(api.count("POST /api/v2/users", "201").await, 0);
}

async fn a_create_only_field_edited_in_auth0_is_left_alone_while_an_enforced_one_is_repaired(
    db: Db,
) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let (rows, mut accounts) = linked_staff(2, 0);
    // The person edited their display name in their profile; someone moved
    // them to another department by hand in the dashboard.
    accounts[0]["user_metadata"]["full_name"] = json!("Wor Ker");
    accounts[0]["app_metadata"]["department"] = json!("Somewhere");
    let base = seeded(&db, &sim, &rows, accounts).await;
    let s = with_policy(
        &base,
        "[policy.fields]\n\"user_metadata.full_name\" = \"create_only\"\n",
    );
    let ctx = context(s).await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.succeeded.get("update"), Some(&1), "{r:?}");
    let u = account(&api, "auth0|000000000000000000000001").await;
    assert_eq!(u["user_metadata"]["full_name"], json!("Wor Ker"));
    assert_eq!(u["app_metadata"]["department"], json!("Picking"));
    // Both drifts were seen and counted, one repaired.
    let plan = stored_plan(&ctx, r.run_id).await;
    assert_eq!(plan.drift.get("user_metadata.full_name"), Some(&1));
    assert_eq!(plan.drift.get("app_metadata.department"), Some(&1));
    // The next run changes nothing, though the full name still differs.
    let r = run(&ctx).await;
    assert!(r.planned.is_empty(), "{r:?}");

    // A new employee's account still gets the full name at creation.
    ctx.store
        .insert_employees(&[employee(9, "New Hire", "new.hire@example.com", true)])
        .await
        .unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.succeeded.get("create"), Some(&1), "{r:?}");
    let u = &api.user_by_email("new.hire@example.com").await[0];
    assert_eq!(u["user_metadata"]["full_name"], json!("New Hire"));
}

async fn a_relinked_rehire_takes_over_the_old_account_and_the_old_row_lets_go(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    // Employee 3 left and their account is blocked; they come back as
    // employee 30 with the same email, in another department.
    let (mut rows, mut accounts) = linked_staff(20, 0);
    rows[2].is_active = false;
    accounts[2]["blocked"] = json!(true);
    let old_account = rows[2].auth0_user_id.clone().unwrap();
    let mut back = employee(30, "Worker Number3", "worker3@example.com", true);
    back.department = Some("Packing".into());
    back.workspace = rows[2].workspace.clone();
    rows.push(back);
    let base = seeded(&db, &sim, &rows, accounts).await;

    // By default: reported, and no second account.
    let r = run(&context(base.clone()).await).await;
    assert_eq!(r.findings.get("possible_rehire"), Some(&1), "{r:?}");
    assert!(r.planned.is_empty(), "{r:?}");
    assert_eq!(api.user_by_email("worker3@example.com").await.len(), 1);

    let ctx = context(with_policy(
        &base,
        "[policy]\npossible_rehire = \"relink\"\n",
    ))
    .await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.succeeded.get("link"), Some(&1), "{r:?}");
    assert_eq!(r.succeeded.get("unblock"), Some(&1), "{r:?}");
    let u = account(&api, &old_account).await;
    assert!(!blocked(&u));
    assert_eq!(u["app_metadata"]["employee_id"], json!(30));
    assert_eq!(u["app_metadata"]["department"], json!("Packing"));
    assert_eq!(api.users().await.len(), 20, "no second account");
    // One row claims the account now, and the next run has nothing to do.
    let stored = |id: i64| {
        let ctx = ctx.clone();
        async move {
            ctx.store
                .employee(None, id)
                .await
                .unwrap()
                .unwrap()
                .auth0_user_id
        }
    };
    assert_eq!(stored(30).await, Some(old_account.clone()));
    assert_eq!(stored(3).await, None);
    // The old row still holds the same email: said, nothing to do.
    let r = run(&ctx).await;
    assert!(r.planned.is_empty(), "{r:?}");
    assert_eq!(
        r.findings.get("duplicate_employee_email"),
        Some(&2),
        "{r:?}"
    );
    assert_eq!(r.findings.len(), 1, "{r:?}");
}

/// An excluded account that takes an employee's email after the export
/// (so the run plans a create): Auth0's 409 points at it, and it must not
/// be linked (nor patched) any more than it would be planned.
async fn a_create_answered_409_by_an_excluded_account_does_not_link_it(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let (mut rows, accounts) = linked_staff(3, 0);
    rows.push(employee(9, "Ops Admin", "ops.admin@example.com", true));
    let base = seeded(&db, &sim, &rows, accounts).await;
    let s = with_policy(
        &base,
        "[policy.exclude]\naccount_emails = [\"ops\\\\.admin@.*\"]\n",
    );
    let ctx = context(s).await;
    // The create reaches the tenant two seconds late; meanwhile, after the
    // run has read the tenant (the roles come last), the admin's account
    // appears.
    api.faults(json!({"latency_ms": 2000, "endpoint": "POST /api/v2/users"}))
        .await;
    let running = {
        let ctx = ctx.clone();
        tokio::spawn(async move { run(&ctx).await })
    };
    eventually(
        "the run has read the tenant",
        std::time::Duration::from_secs(20),
        || async { (api.count("GET /api/v2/roles", "200").await >= 1).then_some(()) },
    )
    .await;
    let admin_id = "auth0|0000000000000000000000ad";
    api.seed(vec![json!({
        "user_id": admin_id,
        "email": "ops.admin@example.com",
        "email_verified": true,
        "name": "Ops Admin",
        "app_metadata": {},
        "user_metadata": {},
    })])
    .await;
    let before = account(&api, admin_id).await;
    let r = running.await.unwrap();
    api.clear_faults().await;
    assert_eq!(r.planned.get("create"), Some(&1), "{r:?}");
    assert_eq!(r.failed.get("create"), Some(&1), "{r:?}");
    let actions = ctx.store.run_actions(r.run_id).await.unwrap();
    let create = actions.iter().find(|a| a.employee_id == Some(9)).unwrap();
    let error = create.error.as_deref().unwrap_or_default();
    assert!(
        error.contains(admin_id) && error.contains("is excluded by policy.exclude.account_emails"),
        "{error}"
    );
    assert_eq!(account(&api, admin_id).await, before, "left alone");
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    let linked = ctx.store.load_employees(None).await.unwrap();
    let nine = linked.iter().find(|e| e.id == 9).unwrap();
    assert_eq!(nine.auth0_user_id, None);
    // From now on the planner sees the excluded account: no create again.
    assert!(run(&ctx).await.planned.is_empty());
}
