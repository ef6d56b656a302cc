//! What a run's outcome means (issue 9, defect 4 and the guards): partial
//! runs, held runs approved or rejected from the CLI, the dry-run plan in
//! JSON, the run deadline and quarantine.

use crate::common::*;
use rosterd::run::RunStatus;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Every tick that meets the guard with the same plan holds a run of its
/// own; a decision on one of them is the decision on that plan, so the
/// others do not stay `held` (and approvable) after the plan was applied.
async fn one_decision_closes_every_held_run_of_that_plan(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    seed_linked_staff(&ctx, &api, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &sim.base_url());
    let hold = |what: &'static str| {
        let config = config.clone();
        let store = ctx.store.clone();
        async move {
            let out = rosterd(&config, &["run"]);
            assert_eq!(out.status.code(), Some(3), "{what}: {}", text(&out));
            store.list_runs(1).await.unwrap()[0].id
        }
    };

    exec(
        &ctx.store,
        "UPDATE employees SET is_active = false WHERE id <= 5",
    )
    .await;
    let (first, second) = (hold("first").await, hold("second").await);
    // As from cron or systemd: no login name, so the uid says who.
    let out = rosterd_command(
        &config,
        &["reject", &second.to_string(), "--reason", "bad import"],
    )
    .env_remove("USER")
    .env_remove("LOGNAME")
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let other = ctx.store.get_run(first).await.unwrap().unwrap();
    assert_eq!(other.status.as_str(), "rejected", "{other:?}");
    assert!(
        other
            .approved_by
            .as_deref()
            .unwrap()
            .starts_with("cli:uid:"),
        "{other:?}"
    );
    assert!(
        other
            .error
            .as_deref()
            .unwrap()
            .contains(&format!("with run {second}")),
        "{other:?}"
    );

    // A different plan (one more leaver): held twice, approved once.
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = false WHERE id <= 6",
    )
    .await;
    let (third, fourth) = (hold("third").await, hold("fourth").await);
    let out = rosterd(&config, &["approve", &third.to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    // Said once the approval is recorded, in the approval run's report.
    let said = format!("approval:  of held run {third}, by cli:oncall");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&said),
        "{}",
        text(&out)
    );
    for id in [third, fourth] {
        let run = ctx.store.get_run(id).await.unwrap().unwrap();
        assert_eq!(run.status.as_str(), "approved", "{run:?}");
        assert_eq!(run.approved_by.as_deref(), Some("cli:oncall"), "{run:?}");
    }
    let again = rosterd(&config, &["approve", &fourth.to_string()]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "nothing left to approve: {}",
        text(&again)
    );
}

on_every_backend!(
    one_decision_closes_every_held_run_of_that_plan,
    unmapped_role_code_does_not_fail_the_run,
    failed_actions_make_a_partial_run_with_exit_status_2,
    held_runs_are_approved_and_rejected_from_the_cli,
    dry_run_json_lists_the_plan,
    the_run_deadline_stops_a_slow_run,
    quarantine_is_entered_and_left
);

fn write_config(dir: &Path, db: &TestDb, sim_base: &str) -> PathBuf {
    // Two attempts: an Auth0 that does not answer fails an action fast.
    write_cli_config(dir, db, sim_base, "max_attempts = 2", "")
}

fn rosterd(config: &Path, args: &[&str]) -> Output {
    rosterd_command(config, args)
        .env("USER", "oncall")
        .output()
        .expect("rosterd runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// `n` employees with in-sync accounts in the simulator, linked.
async fn seed_linked_staff(ctx: &rosterd::run::Context, api: &SimClient, n: i64) {
    let (rows, accounts) = linked_staff(n as usize, 0);
    api.seed(accounts).await;
    ctx.store.insert_employees(&rows).await.unwrap();
}

/// An employee whose role code has no Auth0 role is that employee's
/// problem, not the run's: before, every run was `failed` with no error.
async fn unmapped_role_code_does_not_fail_the_run(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let mut rows = staff(3);
    rows[1].role_code = Some("GHOST_ROLE".into());
    ctx.store.insert_employees(&rows).await.unwrap();

    for _ in 0..2 {
        let r = run(&ctx).await;
        assert!(
            matches!(r.status, RunStatus::Succeeded | RunStatus::Partial),
            "{r:#?}"
        );
        if r.status == RunStatus::Partial {
            assert!(r.error.as_deref().is_some_and(|e| !e.is_empty()), "{r:#?}");
        }
    }
    assert_eq!(api.users().await.len(), 3, "every account created once");
    let m = ctx.metrics.render();
    assert!(
        !m.contains("rosterd_last_success_timestamp_seconds 0\n"),
        "a completed run counts for RosterdNoRecentSuccess:\n{m}"
    );
}

/// 51 actions, 21 of them failing (Auth0 answers 503 to every PATCH): the
/// run completed, so it is `partial`, exit status 2, with an error saying
/// how many failed; before, it was `failed`, exit 1.
async fn failed_actions_make_a_partial_run_with_exit_status_2(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    // 21 linked accounts whose name drifted (an update each) ...
    let mut rows = staff(21);
    let mut accounts = Vec::new();
    for (i, e) in rows.iter_mut().enumerate() {
        let id = format!("auth0|{:024x}", i + 1);
        let mut a = managed_account(&id, e);
        a["name"] = json!(format!("Old Name{i}"));
        accounts.push(a);
        e.auth0_user_id = Some(id);
    }
    // ... and 30 new hires (a create each).
    rows.extend((22..=51).map(|i| {
        employee(
            i,
            &format!("New Hire{i}"),
            &format!("hire{i}@example.com"),
            true,
        )
    }));
    api.seed(accounts).await;
    ctx.store.insert_employees(&rows).await.unwrap();
    api.faults(json!({"rate_5xx": 1.0, "endpoint": "PATCH /api/v2/users/{id}"}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &sim.base_url());

    let out = rosterd(&config, &["run", "--output", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report = json_of(&out);
    assert_eq!(report["status"], "partial", "{report:#}");
    assert_eq!(report["failed"]["update"], 21, "{report:#}");
    assert_eq!(report["succeeded"]["create"], 30, "{report:#}");
    let error = report["error"]
        .as_str()
        .expect("a partial run carries an error");
    assert!(error.contains("21 of 51"), "{error}");
    let runs = ctx.store.list_runs(1).await.unwrap();
    assert_eq!(runs[0].status.as_str(), "partial");
    assert_eq!(runs[0].error.as_deref(), Some(error));

    // Only the 21 updates are left, and Auth0 answers none of them: that
    // run could not do its work, so it is `failed`, exit 1, stage auth0.
    let out = rosterd(&config, &["run", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json_of(&out);
    assert_eq!(report["status"], "failed", "{report:#}");
    assert_eq!(report["failed_stage"], "auth0", "{report:#}");
    assert!(
        report["error"].as_str().unwrap().contains("21 of 21"),
        "{report:#}"
    );
}

/// A cron-only install decides a held run with `rosterd approve|reject`.
async fn held_runs_are_approved_and_rejected_from_the_cli(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    seed_linked_staff(&ctx, &api, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &sim.base_url());
    let blocked = || async {
        api.users()
            .await
            .iter()
            .filter(|u| u["blocked"] == json!(true))
            .count()
    };

    exec(
        &ctx.store,
        "UPDATE employees SET is_active = false WHERE id <= 5",
    )
    .await;
    let held = rosterd(&config, &["run"]);
    assert_eq!(held.status.code(), Some(3), "{}", text(&held));
    let held_id = ctx.store.list_runs(1).await.unwrap()[0].id;
    assert!(
        text(&held).contains(&format!("rosterd approve {held_id}"))
            && text(&held).contains(&format!("rosterd reject {held_id}")),
        "the held run's report says how to decide it: {}",
        text(&held)
    );

    let out = rosterd(
        &config,
        &["reject", &held_id.to_string(), "--reason", "bad HR import"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let run = ctx.store.get_run(held_id).await.unwrap().unwrap();
    assert_eq!(run.status.as_str(), "rejected");
    assert_eq!(run.approved_by.as_deref(), Some("cli:oncall"));
    assert!(
        run.error.as_deref().unwrap().contains("bad HR import"),
        "{run:?}"
    );
    let audit = admin_audit(&ctx.store).await;
    assert!(
        audit
            .iter()
            .any(|(who, what, _)| who == "cli:oncall" && what == "reject_run"),
        "{audit:?}"
    );

    // The same plan: not held again, nothing applied.
    let again = rosterd(&config, &["run", "--output", "json"]);
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    let report = json_of(&again);
    assert_eq!(report["status"], "rejected", "{report:#}");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains(&format!("run {held_id}")),
        "{report:#}"
    );
    assert_eq!(blocked().await, 0);
    // A rejected run cannot be approved any more.
    let out = rosterd(&config, &["approve", &held_id.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not a held run"), "{}", text(&out));

    // The plan changes: held again, and approved from the CLI.
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = false WHERE id = 6",
    )
    .await;
    let held = rosterd(&config, &["run"]);
    assert_eq!(held.status.code(), Some(3), "{}", text(&held));
    assert!(text(&held).contains("HELD"), "{}", text(&held));
    let held_id = ctx.store.list_runs(1).await.unwrap()[0].id;
    let out = rosterd(&config, &["approve", &held_id.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(blocked().await, 6);
    let run = ctx.store.get_run(held_id).await.unwrap().unwrap();
    assert_eq!(run.approved_by.as_deref(), Some("cli:oncall"));
}

/// `run --dry-run --output json` shows every planned action with its kind,
/// target and reason (the README's promise), and applies nothing.
async fn dry_run_json_lists_the_plan(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &sim.base_url());

    let out = rosterd(&config, &["run", "--dry-run", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json_of(&out);
    let actions = report["plan"]["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no plan in {report:#}"));
    assert_eq!(actions.len(), 3, "{report:#}");
    for (a, id) in actions.iter().zip(1..) {
        assert_eq!(a["kind"], "create", "{a:#}");
        assert_eq!(a["employee_id"], id, "{a:#}");
        assert_eq!(a["email"], format!("worker{id}@example.com"), "{a:#}");
        assert!(a["reason"].as_str().is_some_and(|r| !r.is_empty()), "{a:#}");
    }
    assert!(report["plan"]["findings"].is_array(), "{report:#}");
    assert!(api.users().await.is_empty(), "a dry run applies nothing");
}

/// A slow tenant: past `reconcile.run_deadline_secs` no action starts, the
/// run is interrupted with an error naming the deadline, and the next run
/// finishes the work without duplicates. Before, it ran to the end.
async fn the_run_deadline_stops_a_slow_run(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.reconcile.run_deadline_secs = 1;
    s.auth0.concurrency = 1;
    let ctx = context(s).await;
    ctx.store.insert_employees(&staff(12)).await.unwrap();
    api.faults(json!({"latency_ms": 300, "endpoint": "POST /api/v2/users"}))
        .await;

    let started = std::time::Instant::now();
    let r = run(&ctx).await;
    assert!(
        started.elapsed().as_secs_f64() < 3.0,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, RunStatus::Interrupted, "{r:#?}");
    let error = r.error.as_deref().expect("an interrupted run says why");
    assert!(error.contains("reconcile.run_deadline_secs = 1"), "{error}");
    let actions = ctx.store.run_actions(r.run_id).await.unwrap();
    assert!(
        actions.iter().any(|a| a.status.as_str() == "skipped"),
        "{actions:#?}"
    );
    assert!(
        actions.iter().all(|a| a.status.as_str() != "planned"),
        "{actions:#?}"
    );

    api.clear_faults().await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    let users = api.users().await;
    assert_eq!(users.len(), 12, "every employee has exactly one account");
}

/// Auth0's token endpoint down for `quarantine_after_runs` runs in a row:
/// quarantined (report, metric); the first healthy run ends it.
async fn quarantine_is_entered_and_left(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&db, &sim);
    s.auth0.max_attempts = 2;
    s.reconcile.quarantine_after_runs = 2;
    let ctx = context(s).await;
    ctx.store.insert_employees(&staff(2)).await.unwrap();
    let gauge = |ctx: &std::sync::Arc<rosterd::run::Context>| {
        ctx.metrics
            .render()
            .lines()
            .find_map(|l| l.strip_prefix("rosterd_quarantined ").map(str::to_string))
            .expect("rosterd_quarantined is exported")
    };

    api.faults(json!({"rate_5xx": 1.0, "endpoint": "POST /oauth/token"}))
        .await;
    let first = run(&ctx).await;
    assert_eq!(first.status, RunStatus::Failed, "{first:#?}");
    assert_eq!(first.failed_stage.map(|s| s.as_str()), Some("auth0"));
    assert!(!first.quarantined, "one failure is not a pattern");
    let second = run(&ctx).await;
    assert!(second.quarantined, "{second:#?}");
    assert_eq!(gauge(&ctx), "1");
    assert!(rosterd::report::human(&second).contains("quarantined"));

    api.clear_faults().await;
    let healthy = run(&ctx).await;
    assert_eq!(healthy.status, RunStatus::Succeeded, "{healthy:#?}");
    assert!(!healthy.quarantined);
    assert_eq!(gauge(&ctx), "0");
}
