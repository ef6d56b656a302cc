//! End-to-end runs: real PostgreSQL and SQLite, the Auth0 simulator spoken
//! to over HTTP. Each scenario runs once per backend.

use crate::common::*;
use rosterd::run::RunStatus;
use serde_json::json;

on_every_backend!(
    creates_accounts_with_metadata_role_and_records_them,
    links_blocks_unblocks_and_updates,
    findings_are_reported_and_not_acted_on,
    dry_run_applies_nothing,
    observe_mode_never_writes,
    mass_deactivation_is_held,
    older_runs_lose_their_plan_but_held_and_rejected_plans_stay,
    runs_that_plan_the_same_share_one_stored_plan,
    an_approval_that_replans_a_rejected_plan_is_rejected,
    an_approval_that_loses_a_race_to_a_rejection_starts_nothing,
    an_approval_run_that_stops_before_its_plan_leaves_the_run_held,
    an_approved_plan_rejected_meanwhile_is_not_applied,
    emptied_employees_table_is_refused,
    collapsed_employees_table_is_refused,
    unmanaged_accounts_are_untouched,
    second_run_plans_nothing,
    lost_create_response_is_linked_after_409,
    storms_of_429_and_5xx_still_converge,
    invalid_rows_are_findings_not_departures,
);

async fn creates_accounts_with_metadata_role_and_records_them(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let mut e = employee(7, "Łukasz Wróbel-Nowak", "Lukasz.Wrobel@Example.com", true);
    e.department = Some("Heat Press".into());
    e.role_code = Some("HEAT_PRESS".into());
    e.workspace = Some("MS".into());
    ctx.store
        .insert_employees(&[e, employee(8, "Gone Person", "gone@example.com", false)])
        .await
        .unwrap();

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(
        r.planned.get("create"),
        Some(&1),
        "inactive employees get no account"
    );

    let users = api.user_by_email("lukasz.wrobel@example.com").await;
    assert_eq!(users.len(), 1);
    let u = &users[0];
    assert_eq!(u["email_verified"], json!(true));
    assert_eq!(u["name"], json!("Łukasz Wróbel-Nowak"));
    assert_eq!(u["given_name"], json!("Łukasz"));
    assert_eq!(u["family_name"], json!("Wróbel-Nowak"));
    assert_eq!(
        u["app_metadata"],
        json!({"employee_id": 7, "department": "Heat Press", "role_code": "HEAT_PRESS",
               "workspace": "MS", "created_by": "productivity_system"})
    );
    assert_eq!(
        u["user_metadata"],
        json!({"employee_id": 7, "full_name": "Łukasz Wróbel-Nowak", "department": "Heat Press"})
    );
    // The role is assigned by id.
    let state = api.state().await;
    let uid = u["user_id"].as_str().unwrap();
    let role_ids = state["user_roles"][uid]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let heat = state["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Heat Press Operator")
        .unwrap();
    assert_eq!(role_ids, vec![heat["id"].clone()]);

    // Recorded: the employee row, the audit, the run and its action.
    let emps = ctx.store.load_employees(None).await.unwrap();
    assert_eq!(
        emps.iter()
            .find(|e| e.id == 7)
            .unwrap()
            .auth0_user_id
            .as_deref(),
        Some(uid)
    );
    let run = ctx.store.get_run(r.run_id).await.unwrap().unwrap();
    assert_eq!(run.status.as_str(), "succeeded");
    assert_eq!(
        (
            run.actions_planned,
            run.actions_succeeded,
            run.actions_failed
        ),
        (1, 1, 0)
    );
    let actions = ctx.store.run_actions(r.run_id).await.unwrap();
    assert_eq!(actions[0].status.as_str(), "succeeded");
    assert_eq!(actions[0].auth0_user_id.as_deref(), Some(uid));
    assert_audit_row(&ctx.store, 7, uid).await;
}

async fn assert_audit_row(store: &rosterd::store::Store, employee_id: i64, user: &str) {
    let sql = format!(
        "SELECT COUNT(*), MAX(matched_by) FROM auth0_employee_mapping_audit \
         WHERE employee_id = {employee_id} AND auth0_user_id = '{user}'"
    );
    let rows: Vec<(i64, String)> = fetch_all(store, &sql).await;
    let (n, matched_by) = &rows[0];
    // rosterd made the account: the audit says so.
    assert_eq!((*n, matched_by.as_str()), (1, "created"));
}

async fn links_blocks_unblocks_and_updates(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;

    let by_email = employee(1, "Ana Pérez", "ana.perez@example.com", true);
    let by_meta = employee(2, "Bo Li", "bo.li@example.com", true);
    let mut leaver = employee(3, "Cy Twain", "cy@example.com", false);
    let mut returner = employee(4, "Di Moon", "di@example.com", true);
    let mut renamed = employee(5, "Eve Newname", "eve.new@example.com", true);
    renamed.department = Some("Shipping".into());
    renamed.role_code = Some("SHIPPER".into());
    leaver.auth0_user_id = Some("auth0|000000000000000000000003".into());
    returner.auth0_user_id = Some("auth0|000000000000000000000004".into());
    renamed.auth0_user_id = Some("auth0|000000000000000000000005".into());

    let mut blocked = managed_account("auth0|000000000000000000000004", &returner);
    blocked["blocked"] = json!(true);
    let mut drifted = managed_account(
        "auth0|000000000000000000000005",
        &employee(5, "Eve Oldname", "eve.old@example.com", true),
    );
    drifted["app_metadata"]["role_code"] = json!("PICKER");
    let mut verified = managed_account("auth0|000000000000000000000002", &by_meta);
    verified["email_verified"] = json!(true);
    api.seed(vec![
        json!({"user_id": "auth0|000000000000000000000001", "email": "ana.perez@example.com", "name": "Ana"}),
        verified,
        managed_account("auth0|000000000000000000000003", &leaver),
        blocked,
        drifted,
    ])
    .await;
    ctx.store
        .insert_employees(&[by_email, by_meta, leaver, returner, renamed])
        .await
        .unwrap();
    // 1 block, 1 unblock and 1 email change of 5 managed accounts are each
    // over the default 10% share.
    let mut s = settings(&db, &sim);
    s.reconcile.max_block_share = 0.5;
    s.reconcile.max_unblock_share = 0.5;
    s.reconcile.max_email_change_share = 0.5;
    let ctx = context(s).await;

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert_eq!(r.planned.get("link"), Some(&2));
    assert_eq!(r.planned.get("block"), Some(&1));
    assert_eq!(r.planned.get("unblock"), Some(&1));
    assert!(
        r.planned.get("update").copied().unwrap_or(0) >= 2,
        "{:?}",
        r.planned
    );
    assert_eq!(
        r.planned.get("create"),
        None,
        "linking, never a second account"
    );

    let state = api.state().await;
    let user = |id: &str| {
        state["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user_id"] == id)
            .cloned()
            .unwrap()
    };
    // Linked by email: now carries the employee's metadata.
    assert_eq!(
        user("auth0|000000000000000000000001")["app_metadata"]["employee_id"],
        json!(1)
    );
    assert_eq!(
        user("auth0|000000000000000000000003")["blocked"],
        json!(true)
    );
    assert_eq!(
        user("auth0|000000000000000000000004")["blocked"],
        json!(false)
    );
    let eve = user("auth0|000000000000000000000005");
    assert_eq!(eve["name"], json!("Eve Newname"));
    assert_eq!(eve["email"], json!("eve.new@example.com"));
    assert_eq!(
        eve["app_metadata"]["previous_names"],
        json!(["Eve Oldname"])
    );
    assert_eq!(eve["app_metadata"]["department"], json!("Shipping"));
    assert_eq!(eve["app_metadata"]["role_code"], json!("SHIPPER"));
    let shipper = state["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Shipper")
        .unwrap();
    assert_eq!(
        state["user_roles"]["auth0|000000000000000000000005"],
        json!([shipper["id"]])
    );

    let emps = ctx.store.load_employees(None).await.unwrap();
    let stored = |id: i64| {
        emps.iter()
            .find(|e| e.id == id)
            .unwrap()
            .auth0_user_id
            .clone()
    };
    assert_eq!(stored(1).as_deref(), Some("auth0|000000000000000000000001"));
    assert_eq!(stored(2).as_deref(), Some("auth0|000000000000000000000002"));

    let again = run(&ctx).await;
    assert!(again.planned.is_empty(), "converged: {:?}", again.planned);
    // Seeded unverified except account 2; Eve's new email was set verified.
    assert_eq!(
        (r.stats.managed_accounts, r.stats.managed_unverified_email),
        (5, 4)
    );
    assert_eq!(again.stats.managed_unverified_email, 3);
}

async fn findings_are_reported_and_not_acted_on(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let dup = employee(1, "Dup Licate", "dup@example.com", true);
    let conflicted = employee(2, "Con Flict", "con@example.com", true);
    api.seed(vec![
        json!({"user_id": "auth0|0000000000000000000000a1", "email": "gone@example.com",
               "app_metadata": {"created_by": "productivity_system", "employee_id": 404}}),
        managed_account("auth0|0000000000000000000000a2", &dup),
        json!({"user_id": "auth0|0000000000000000000000a3", "email": "dup.other@example.com",
               "app_metadata": {"employee_id": 1}}),
        // Found by email, but it carries someone else's id.
        json!({"user_id": "auth0|0000000000000000000000a4", "email": "con@example.com",
               "app_metadata": {"employee_id": 77}}),
    ])
    .await;
    ctx.store
        .insert_employees(&[dup, conflicted])
        .await
        .unwrap();
    let before = api.users().await;

    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.findings.get("orphaned"), Some(&1), "{:?}", r.findings);
    assert_eq!(
        r.findings.get("duplicate_account"),
        Some(&1),
        "{:?}",
        r.findings
    );
    assert_eq!(
        r.findings.get("conflicting_evidence"),
        Some(&1),
        "{:?}",
        r.findings
    );
    assert!(r.planned.is_empty(), "no guesses: {:?}", r.planned);
    assert_eq!(api.users().await, before);
}

async fn dry_run_applies_nothing(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(5)).await.unwrap();
    let r = dry_run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert!(!r.applied);
    assert_eq!(r.planned.get("create"), Some(&5));
    assert!(api.users().await.is_empty());
    assert_eq!(api.count("POST /api/v2/users", "201").await, 0);
    let actions = ctx.store.run_actions(r.run_id).await.unwrap();
    assert_eq!(actions.len(), 5);
    assert!(actions.iter().all(|a| a.status.as_str() == "skipped"));
    let stored = ctx.store.get_run(r.run_id).await.unwrap().unwrap();
    assert!(stored.dry_run && stored.plan_digest.is_some());
    assert!(ctx
        .store
        .load_employees(None)
        .await
        .unwrap()
        .iter()
        .all(|e| e.auth0_user_id.is_none()));
}

async fn observe_mode_never_writes(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.mode = rosterd::config::Mode::Observe;
    s.reconcile.max_block_share = 1.0;
    let ctx = context(s).await;
    let leaver = {
        let mut e = employee(2, "Lee Ver", "lee@example.com", false);
        e.auth0_user_id = Some("auth0|000000000000000000000002".into());
        e
    };
    api.seed(vec![managed_account(
        "auth0|000000000000000000000002",
        &leaver,
    )])
    .await;
    ctx.store
        .insert_employees(&[employee(1, "New Hire", "new@example.com", true), leaver])
        .await
        .unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert!(!r.applied);
    assert_eq!(r.planned.get("create"), Some(&1));
    assert_eq!(api.count("POST /api/v2/users", "201").await, 0);
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    assert_eq!(api.users().await.len(), 1);
}

/// 40 linked employees, then HR's import marks 30 inactive by mistake: a
/// plan of 30 blocks, more than the guard lets through.
struct MassDeactivation {
    _db: TestDb,
    _sim: auth0_sim::RunningSim,
    api: SimClient,
    ctx: std::sync::Arc<rosterd::run::Context>,
}

async fn mass_deactivation(
    db: Db,
    configure: impl FnOnce(&mut rosterd::config::Settings),
) -> MassDeactivation {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    configure(&mut s);
    let ctx = context(s).await;
    let (rows, accounts) = linked_staff(40, 30);
    api.seed(accounts).await;
    ctx.store.insert_employees(&rows).await.unwrap();
    MassDeactivation {
        _db: db,
        _sim: sim,
        api,
        ctx,
    }
}

async fn mass_deactivation_is_held(db: Db) {
    let MassDeactivation { api, ctx, .. } = &mass_deactivation(db, |_| {}).await;
    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Held, "{r:?}");
    assert_eq!(r.status.exit_code(), 3);
    assert!(
        r.held_reason.as_deref().unwrap().contains("blocks 30"),
        "{:?}",
        r.held_reason
    );
    assert!(!r.applied);
    assert!(api.none_blocked().await, "nothing blocked");
    let stored = ctx.store.get_run(r.run_id).await.unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "held");
    let plan = ctx.store.stored_plan(&stored).await.unwrap().unwrap();
    let kinds = plan
        .unwrap()
        .actions
        .iter()
        .map(|a| a.action.kind())
        .collect::<Vec<_>>();
    assert_eq!(kinds, vec![rosterd::plan::ActionKind::Block; 30]);
}

/// A run that plans what the run before it planned stores no second copy
/// (17 MB at 100,000 PodFactory users, every few minutes); a copy goes
/// once no run kept names it.
async fn runs_that_plan_the_same_share_one_stored_plan(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&db, &sim);
    s.reconcile.keep_plans = 2;
    let ctx = context(s).await;
    ctx.store.insert_employees(&staff(5)).await.unwrap();
    let store = &ctx.store;
    let copies = || async {
        let n: Vec<(i64,)> = fetch_all(store, "SELECT COUNT(*) FROM run_plans").await;
        n[0].0
    };
    let record = |id| async move { store.get_run(id).await.unwrap().unwrap() };
    let first = run(&ctx).await;
    assert_eq!(first.planned.get("create"), Some(&5), "{first:?}");
    let second = run(&ctx).await;
    assert_eq!(
        copies().await,
        2,
        "the creates, and the plan with nothing to do"
    );
    let third = run(&ctx).await;
    assert!(third.planned.is_empty(), "{third:?}");
    let (second, third) = (record(second.run_id).await, record(third.run_id).await);
    assert!(second.plan_digest.is_some());
    assert_eq!(second.plan_digest, third.plan_digest);
    // Only the newest two keep theirs: the first run's copy is gone.
    assert_eq!(copies().await, 1);
    let first = record(first.run_id).await;
    assert!(first.plan_digest.is_none() && first.plan_dropped_at.is_some());
    for r in [&second, &third] {
        let plan = ctx.store.stored_plan(r).await.unwrap().unwrap().unwrap();
        assert!(
            plan.actions.is_empty() && plan.stats.employees == 5,
            "{plan:?}"
        );
    }

    // A new plan is a new copy; the shared one stays while a kept run
    // names it.
    ctx.store
        .insert_employees(&[employee(6, "Sixth Hire", "worker6@example.com", true)])
        .await
        .unwrap();
    let fourth = run(&ctx).await;
    assert_eq!(fourth.planned.get("create"), Some(&1), "{fourth:?}");
    assert_eq!(copies().await, 2);
    assert!(record(second.id).await.plan_digest.is_none());
    assert_eq!(record(third.id).await.plan_digest, third.plan_digest);
    // A copy a run names cannot be deleted under it.
    let delete = "DELETE FROM run_plans";
    let refused = match store {
        #[cfg(feature = "postgres")]
        rosterd::store::Store::Postgres(p) => sqlx::query(delete).execute(p).await.is_err(),
        #[cfg(feature = "sqlite")]
        rosterd::store::Store::Sqlite(p) => sqlx::query(delete).execute(p).await.is_err(),
        #[cfg(feature = "mysql")]
        rosterd::store::Store::MySql(p) => sqlx::query(delete).execute(p).await.is_err(),
    };
    assert!(refused, "the database refuses to delete a plan a run names");
    assert_eq!(copies().await, 2);
}

/// An approval that re-plans (its plan changed since it was held) meets a
/// plan an admin rejected as any other run does: rejected, not held again
/// for someone to approve (it was held, and the console offered to apply
/// the rejected blocks; found trying it as an operator).
async fn an_approval_that_replans_a_rejected_plan_is_rejected(db: Db) {
    let MassDeactivation { api, ctx, .. } = &mass_deactivation(db, |_| {}).await;
    let rejected = run(ctx).await;
    assert_eq!(rejected.status, RunStatus::Held, "{rejected:?}");
    rosterd::held::reject(&ctx.store, rejected.run_id, "alice", Some("HR's mistake"))
        .await
        .unwrap();
    let other = hold_another_plan(ctx).await;
    // Back to the rejected plan, then the other held run is approved.
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = FALSE WHERE id = 1",
    )
    .await;
    let r = approve(ctx, other.run_id, "bob").await.unwrap();
    assert_eq!(r.status, RunStatus::Rejected, "{r:?}");
    let error = r.error.unwrap_or_default();
    assert!(error.contains("the same plan as"), "{error}");
    assert!(api.none_blocked().await, "nothing blocked");
    // A dry run says so too, in a field of its own beside the guard's reason.
    let dry = dry_run(ctx).await;
    let would = dry.would_reject.unwrap_or_default();
    assert!(would.contains("the same plan as"), "{would}");
    assert!(dry
        .would_hold
        .is_some_and(|h| !h.contains("the same plan as")));
}

/// Approve and reject at once: both found the run held, the rejection was
/// recorded first. The approval is refused as it starts (the API's 409, not
/// a 202 for a run that then applies nothing of what was approved), and no
/// run is opened for it.
async fn an_approval_that_loses_a_race_to_a_rejection_starts_nothing(db: Db) {
    let MassDeactivation { api, ctx, .. } = &mass_deactivation(db, |_| {}).await;
    let held = run(ctx).await;
    assert_eq!(held.status, RunStatus::Held, "{held:?}");
    let opts = rosterd::held::approval(&ctx.store, held.run_id, "bob")
        .await
        .unwrap();
    rosterd::held::reject(&ctx.store, held.run_id, "alice", None)
        .await
        .unwrap();
    let runs_before = ctx
        .store
        .list_runs_page(None, None, None, 100)
        .await
        .unwrap()
        .len();
    match rosterd::run::run_once(ctx, opts).await {
        Err(e @ rosterd::run::RunError::Decided { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains(&format!("run {} is rejected", held.run_id)),
                "{message}"
            );
        }
        other => panic!("the approval should lose: {other:?}"),
    }
    let runs = ctx
        .store
        .list_runs_page(None, None, None, 100)
        .await
        .unwrap();
    assert_eq!(runs.len(), runs_before, "no run opened");
    let decided = ctx.store.get_run(held.run_id).await.unwrap().unwrap();
    assert_eq!(decided.status, RunStatus::Rejected);
    assert_eq!(decided.approved_by.as_deref(), Some("alice"));
    assert!(api.none_blocked().await);

    // A later approval of another held run applies it, and its report says
    // which run it applies and who approved it.
    let other = hold_another_plan(ctx).await;
    let r = approve(ctx, other.run_id, "bob").await.unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    let approval = r
        .approval
        .as_ref()
        .expect("an approval run names its approval");
    assert_eq!(
        (approval.held_run_id, approval.approved_by.as_str()),
        (other.run_id, "bob")
    );
    let text = rosterd::report::human(&r);
    assert!(
        text.contains(&format!("approval:  of held run {}, by bob", other.run_id)),
        "{text}"
    );
}

/// One leaver fewer than the mass deactivation's plan: another plan,
/// held as well.
async fn hold_another_plan(ctx: &std::sync::Arc<rosterd::run::Context>) -> rosterd::run::RunReport {
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = TRUE WHERE id = 1",
    )
    .await;
    let other = run(ctx).await;
    assert_eq!(other.status, RunStatus::Held, "another plan: {other:?}");
    other
}

/// Approve held run `id` as `actor` and run the approval, as `rosterd
/// approve` does.
async fn approve(
    ctx: &std::sync::Arc<rosterd::run::Context>,
    id: i64,
    actor: &str,
) -> Result<rosterd::run::RunReport, rosterd::run::RunError> {
    let opts = rosterd::held::approval(&ctx.store, id, actor)
        .await
        .unwrap();
    rosterd::run::run_once(ctx, opts).await
}

/// An approval whose run stops before its plan is checked (here the
/// employees source cannot be read) applied nothing it was approved for:
/// the held run is held again, not `approved` with nothing done, and can be
/// approved once the cause is gone.
async fn an_approval_run_that_stops_before_its_plan_leaves_the_run_held(db: Db) {
    let MassDeactivation { api, ctx, .. } = &mass_deactivation(db, |_| {}).await;
    let held = run(ctx).await;
    assert_eq!(held.status, RunStatus::Held, "{held:?}");
    exec(&ctx.store, "ALTER TABLE employees RENAME TO employees_away").await;
    let failed = approve(ctx, held.run_id, "bob").await.unwrap();
    assert_eq!(failed.status, RunStatus::Failed, "{failed:?}");
    let note = failed.approval_note.clone().unwrap_or_default();
    assert!(
        note.contains(&format!("run {} is held again", held.run_id)),
        "{note}"
    );
    let again = ctx.store.get_run(held.run_id).await.unwrap().unwrap();
    assert_eq!(again.status, RunStatus::Held);
    assert_eq!((again.approved_by, again.approved_at), (None, None));
    assert!(api.none_blocked().await);

    exec(&ctx.store, "ALTER TABLE employees_away RENAME TO employees").await;
    let applied = approve(ctx, held.run_id, "bob").await.unwrap();
    assert_eq!(applied.status, RunStatus::Succeeded, "{applied:?}");
    let decided = ctx.store.get_run(held.run_id).await.unwrap().unwrap();
    assert_eq!(decided.status, RunStatus::Approved);
}

/// Two held runs of one plan; one is approved, and the other is rejected
/// in the moments before the approval run checks its plan (the rejection
/// then cannot close the run already approved). The plan is not applied:
/// the decision that applies nothing stands.
async fn an_approved_plan_rejected_meanwhile_is_not_applied(db: Db) {
    let MassDeactivation { api, ctx, .. } = &mass_deactivation(db, |_| {}).await;
    let first = run(ctx).await;
    let second = run(ctx).await;
    assert_eq!(
        (first.status, second.status),
        (RunStatus::Held, RunStatus::Held)
    );
    let opts = rosterd::held::approval(&ctx.store, first.run_id, "bob")
        .await
        .unwrap();
    // The rejection as it lands between the approval's record and its
    // guard: on the second run alone.
    let note = "rejected by alice";
    let decision = rosterd::store::HeldDecision::Rejected { note };
    assert!(ctx
        .store
        .decide_held_run(second.run_id, decision, "alice", chrono::Utc::now())
        .await
        .unwrap());
    let r = rosterd::run::run_once(ctx, opts).await.unwrap();
    assert_eq!(r.status, RunStatus::Rejected, "{r:?}");
    let error = r.error.unwrap_or_default();
    assert!(
        error.contains(&format!("the same plan as run {}", second.run_id)),
        "{error}"
    );
    assert!(api.none_blocked().await, "nothing blocked");
}

async fn older_runs_lose_their_plan_but_held_and_rejected_plans_stay(db: Db) {
    let MassDeactivation { ctx, .. } = &mass_deactivation(db, |s| s.reconcile.keep_plans = 1).await;
    let held = run(ctx).await;
    assert_eq!(held.status, RunStatus::Held);
    exec(&ctx.store, "UPDATE employees SET is_active = TRUE").await;
    let older = run(ctx).await;
    let newest = run(ctx).await;
    assert_eq!(newest.status, RunStatus::Succeeded, "{newest:?}");
    let get = |id| ctx.store.get_run(id);
    let older = get(older.run_id).await.unwrap().unwrap();
    assert!(
        older.plan_digest.is_none() && older.plan_dropped_at.is_some(),
        "{older:?}"
    );
    assert_eq!(older.status, RunStatus::Succeeded);
    let newest = get(newest.run_id).await.unwrap().unwrap();
    assert!(newest.plan_digest.is_some() && newest.plan_dropped_at.is_none());
    let held = get(held.run_id).await.unwrap().unwrap();
    let plan = ctx.store.stored_plan(&held).await.unwrap().unwrap();
    assert_eq!(plan.unwrap().actions.len(), 30);

    // Rejected, the plan is not held again until it changes: the latest
    // rejected run keeps its plan however many runs come after.
    rosterd::held::reject(&ctx.store, held.id, "alice", Some("HR's mistake"))
        .await
        .unwrap();
    for _ in 0..2 {
        run(ctx).await;
    }
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = FALSE WHERE id <= 30",
    )
    .await;
    let again = run(ctx).await;
    assert_eq!(again.status, RunStatus::Rejected, "{again:?}");
    // The later rejected run carries the plan on; the original's can go.
    assert!(get(again.run_id)
        .await
        .unwrap()
        .unwrap()
        .plan_digest
        .is_some());
    assert!(get(held.id).await.unwrap().unwrap().plan_digest.is_none());
}

async fn emptied_employees_table_is_refused(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let e = {
        let mut e = employee(1, "Still Here", "here@example.com", true);
        e.auth0_user_id = Some("auth0|000000000000000000000001".into());
        e
    };
    api.seed(vec![managed_account("auth0|000000000000000000000001", &e)])
        .await;
    // No employees rows at all (a truncated table, a wrong database).
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.error.as_deref().unwrap().contains("no rows"),
        "{:?}",
        r.error
    );
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    assert_eq!(api.users().await[0]["blocked"], json!(null));
}

async fn collapsed_employees_table_is_refused(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(10)).await.unwrap();
    assert_eq!(run(&ctx).await.status, RunStatus::Succeeded);
    // A broken view now returns 2 of the 10 rows.
    let mut s = settings(&db, &sim);
    s.database.employees_query = Some(format!("{} WHERE id <= 2", rosterd::store::EMPLOYEES_QUERY));
    let ctx2 = context(s).await;
    let r = run(&ctx2).await;
    assert_eq!(r.status, RunStatus::Failed);
    let err = r.error.unwrap();
    assert!(
        err.contains("refused") && err.contains("2 valid employees"),
        "{err}"
    );
}

async fn unmanaged_accounts_are_untouched(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    api.seed(vec![
        json!({"user_id": "auth0|00000000000000000000ad01", "email": "admin@example.com", "name": "Tenant Admin",
               "app_metadata": {"team": "it"}}),
        json!({"user_id": "auth0|00000000000000000000ad02", "email": "contractor@agency.example", "name": "C",
               "blocked": true}),
    ])
    .await;
    let before = api.users().await;
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.stats.unmanaged_accounts, 2);
    let after = api.users().await;
    for b in &before {
        let a = after.iter().find(|u| u["user_id"] == b["user_id"]).unwrap();
        assert_eq!(a, b, "unmanaged account changed");
    }
}

async fn second_run_plans_nothing(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    let mut rows = rosterd_lab::sample_workforce(120, 7);
    rows[0].is_active = false;
    ctx.store.insert_employees(&rows).await.unwrap();
    let first = run(&ctx).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:#?}");
    assert!(first.planned.get("create").copied().unwrap_or(0) > 100);
    let second = run(&ctx).await;
    assert_eq!(second.status, RunStatus::Succeeded);
    assert!(second.planned.is_empty(), "{:?}", second.planned);
    assert!(second.findings.is_empty(), "{:?}", second.findings);
}

async fn lost_create_response_is_linked_after_409(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(1)).await.unwrap();
    // Auth0 creates the account, then the connection drops before the answer.
    api.faults(json!({"rate_drop_after": 1.0, "endpoint": "POST /api/v2/users"}))
        .await;
    let r = run(&ctx).await;
    api.clear_faults().await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert!(
        api.count("POST /api/v2/users", "409").await >= 1,
        "the retry met a 409"
    );
    let users = api.user_by_email("worker1@example.com").await;
    assert_eq!(users.len(), 1, "exactly one account");
    let id = users[0]["user_id"].as_str().unwrap();
    let emps = ctx.store.load_employees(None).await.unwrap();
    assert_eq!(emps[0].auth0_user_id.as_deref(), Some(id));
    assert!(run(&ctx).await.planned.is_empty());
}

async fn storms_of_429_and_5xx_still_converge(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(30)).await.unwrap();
    api.faults(json!({"rate_429": 0.3, "rate_5xx": 0.2, "rate_drop": 0.05}))
        .await;
    let mut runs = 0;
    loop {
        runs += 1;
        let r = run(&ctx).await;
        if r.status == RunStatus::Succeeded && r.planned.is_empty() {
            break;
        }
        assert!(runs < 8, "no convergence after {runs} runs: {r:#?}");
    }
    api.clear_faults().await;
    assert!(
        api.count("POST /api/v2/users", "429").await
            + api.count("POST /api/v2/users", "500").await
            + api.count("POST /api/v2/users", "503").await
            > 0,
        "the storm happened"
    );
    let users = api.users().await;
    assert_eq!(users.len(), 30, "one account each, no duplicates");
    let emps = ctx.store.load_employees(None).await.unwrap();
    assert!(emps.iter().all(|e| e.auth0_user_id.is_some()));
}

async fn invalid_rows_are_findings_not_departures(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let mut bad = employee(2, "Broken Email", "not-an-email", true);
    bad.auth0_user_id = Some("auth0|000000000000000000000002".into());
    let mut nameless = employee(3, "x", "nameless@example.com", true);
    nameless.full_name = None;
    api.seed(vec![managed_account(
        "auth0|000000000000000000000002",
        &employee(2, "Broken Email", "b@example.com", true),
    )])
    .await;
    ctx.store
        .insert_employees(&[
            employee(1, "Fine Person", "fine@example.com", true),
            bad,
            nameless,
        ])
        .await
        .unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(
        r.findings.get("invalid_employee"),
        Some(&2),
        "{:?}",
        r.findings
    );
    assert_eq!(r.planned.get("create"), Some(&1));
    assert_eq!(r.planned.get("block"), None, "a bad row is not a departure");
    let acct = api
        .users()
        .await
        .into_iter()
        .find(|u| u["user_id"] == "auth0|000000000000000000000002")
        .unwrap();
    assert_ne!(acct["blocked"], json!(true));
}
