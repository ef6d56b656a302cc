//! `rosterd rollback`, `--undo` and `resume` (issue 12): the accounts a
//! window's runs created are blocked in the simulator (never deleted),
//! enforcement stays paused until resumed, the guard holds a mass rollback
//! unless approved; the library on every backend, the binary as operators
//! run it, and the pause over a running daemon's HTTP.

use crate::common::*;
use chrono::{DateTime, Duration, Utc};
use rosterd::rollback::{Rollback, Target};
use rosterd::run::{run_once, Context, RunOptions, RunReport, RunStatus, Trigger};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

on_every_backend!(
    a_rollback_blocks_what_its_window_created_pauses_and_its_undo_unblocks,
    a_window_that_excludes_a_run_leaves_its_accounts_alone,
    the_binary_holds_a_mass_rollback_until_approved_and_resume_ends_the_pause,
    a_daemon_shows_the_pause_and_an_admin_resumes_over_http,
    a_failed_block_does_not_stop_the_others_and_each_is_recorded,
    an_undo_leaves_a_leaver_blocked_and_an_empty_or_excluded_rollback_changes_nothing,
);

/// Settings whose guard lets a test's handful of accounts through: the
/// guard test sets its own limit.
fn lenient(db: &TestDb, sim: &auth0_sim::RunningSim) -> rosterd::config::Settings {
    let mut s = settings(db, sim);
    s.reconcile.max_block_share = 1.0;
    s.reconcile.max_unblock_share = 1.0;
    s
}

async fn rollback(ctx: &Arc<Context>, target: Target) -> RunReport {
    let mut opts = RunOptions::new(Trigger::Rollback, false);
    opts.rollback = Some(Rollback {
        target,
        actor: "ops:carol".into(),
        approved: false,
    });
    run_once(ctx, opts).await.expect("the rollback starts")
}

async fn started_at(ctx: &Context, run: i64) -> DateTime<Utc> {
    ctx.store.get_run(run).await.unwrap().unwrap().started_at
}

/// Email → blocked, for every account the simulator holds.
async fn blocked(api: &SimClient) -> BTreeMap<String, bool> {
    api.users()
        .await
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_string(),
                u["blocked"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn all(emails: &[&str], is_blocked: bool) -> BTreeMap<String, bool> {
    emails.iter().map(|e| (e.to_string(), is_blocked)).collect()
}

const THREE: [&str; 3] = [
    "worker1@example.com",
    "worker2@example.com",
    "worker3@example.com",
];

async fn a_rollback_blocks_what_its_window_created_pauses_and_its_undo_unblocks(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(lenient(&db, &sim)).await;
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    let created = run(&ctx).await;
    assert_eq!(created.succeeded.get("create"), Some(&3), "{created:?}");
    let since = started_at(&ctx, created.run_id).await - Duration::seconds(1);

    let rolled = rollback(&ctx, Target::Window { since, until: None }).await;
    assert_eq!(rolled.status, RunStatus::Succeeded, "{rolled:?}");
    assert_eq!(rolled.succeeded.get("block"), Some(&3), "{rolled:?}");
    assert_eq!(
        blocked(&api).await,
        all(&THREE, true),
        "blocked, none deleted"
    );
    let record = ctx.store.get_run(rolled.run_id).await.unwrap().unwrap();
    assert_eq!(record.trigger, "rollback");
    let actions = ctx.store.run_actions(rolled.run_id).await.unwrap();
    assert_eq!(actions.len(), 3);
    assert!(actions
        .iter()
        .all(|a| a.kind.as_str() == "block" && a.status.as_str() == "succeeded"));
    let pause = ctx
        .store
        .paused()
        .await
        .unwrap()
        .expect("enforcement paused");
    assert_eq!(pause.run_id, Some(rolled.run_id));
    assert_eq!(pause.paused_by, "ops:carol");
    // A rollback reads no employees: the source guard's baseline stays the
    // last run that did.
    assert_eq!(
        ctx.store.last_successful_employee_count().await.unwrap(),
        Some(3)
    );

    // Paused: an ordinary run plans the unblocks (and a newcomer's
    // account), records them, applies nothing, and says why.
    ctx.store
        .insert_employees(&[employee(4, "New Hire", "new@example.com", true)])
        .await
        .unwrap();
    let paused = run(&ctx).await;
    assert_eq!(paused.status, RunStatus::Succeeded, "{paused:?}");
    assert!(!paused.applied);
    assert_eq!(paused.paused.as_ref(), Some(&pause));
    assert_eq!(paused.planned.get("unblock"), Some(&3), "{paused:?}");
    assert_eq!(paused.planned.get("create"), Some(&1), "{paused:?}");
    assert!(paused.succeeded.is_empty());
    assert_eq!(blocked(&api).await, all(&THREE, true));
    let summary: Value = serde_json::from_str(
        ctx.store
            .get_run(paused.run_id)
            .await
            .unwrap()
            .unwrap()
            .summary
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(summary["paused"]["run_id"], rolled.run_id, "{summary}");
    let text = rosterd::report::human(&paused);
    assert!(
        text.contains("enforcement paused: nothing applied"),
        "{text}"
    );
    // An approval now would be spent on a run that applies nothing: refused.
    let held = format!(
        "UPDATE reconcile_runs SET status = 'held' WHERE id = {}",
        paused.run_id
    );
    exec(&ctx.store, &held).await;
    let e = rosterd::held::approval(&ctx.store, paused.run_id, "ops:dave")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`rosterd resume` first"), "{e}");
    let back = format!(
        "UPDATE reconcile_runs SET status = 'succeeded' WHERE id = {}",
        paused.run_id
    );
    exec(&ctx.store, &back).await;

    // The undo unblocks exactly what the rollback blocked; still paused.
    let target = rosterd::rollback::undo(&ctx.store, rolled.run_id)
        .await
        .unwrap();
    let undone = rollback(&ctx, target).await;
    assert_eq!(undone.succeeded.get("unblock"), Some(&3), "{undone:?}");
    assert_eq!(blocked(&api).await, all(&THREE, false));
    assert_eq!(
        ctx.store
            .get_run(undone.run_id)
            .await
            .unwrap()
            .unwrap()
            .trigger,
        "rollback"
    );
    assert!(ctx.store.paused().await.unwrap().is_some());
    // An undo blocked nothing: it cannot be undone in turn.
    let e = rosterd::rollback::undo(&ctx.store, undone.run_id)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("blocked nothing"), "{e}");
    let e = rosterd::rollback::undo(&ctx.store, created.run_id)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "run {} is a cli run, not a rollback: --undo takes the id of a rollback run",
            created.run_id
        )
    );

    // Resumed: the next run acts again.
    let ended = rosterd::rollback::resume(&ctx, "ops:dave").await.unwrap();
    assert_eq!(ended, Some(pause));
    assert!(ctx.store.paused().await.unwrap().is_none());
    assert!(admin_audit(&ctx.store)
        .await
        .iter()
        .any(|(actor, action, _)| actor == "ops:dave" && action == "resume"));
    let after = run(&ctx).await;
    assert!(after.applied && after.paused.is_none(), "{after:?}");
    assert_eq!(after.succeeded.get("create"), Some(&1), "{after:?}");
    assert_eq!(api.users().await.len(), 4);
}

async fn a_window_that_excludes_a_run_leaves_its_accounts_alone(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(lenient(&db, &sim)).await;
    ctx.store.insert_employees(&staff(2)).await.unwrap();
    let first = run(&ctx).await;
    assert_eq!(first.succeeded.get("create"), Some(&2), "{first:?}");
    ctx.store
        .insert_employees(&[employee(3, "Late Joiner", "late@example.com", true)])
        .await
        .unwrap();
    let second = run(&ctx).await;
    assert_eq!(second.succeeded.get("create"), Some(&1), "{second:?}");

    // [first run, second run): the second run's create is outside.
    let since = started_at(&ctx, first.run_id).await;
    let until = Some(started_at(&ctx, second.run_id).await);
    let rolled = rollback(&ctx, Target::Window { since, until }).await;
    assert_eq!(rolled.succeeded.get("block"), Some(&2), "{rolled:?}");
    let mut expected = all(&THREE[..2], true);
    expected.insert("late@example.com".into(), false);
    assert_eq!(blocked(&api).await, expected);

    // Again over everything: the blocked two are skipped, and said so.
    let since = since - Duration::seconds(1);
    let again = rollback(&ctx, Target::Window { since, until: None }).await;
    assert_eq!(again.succeeded.get("block"), Some(&1), "{again:?}");
    let summary = again.rollback.as_ref().unwrap();
    assert_eq!(summary.skipped.len(), 2);
    assert!(summary.skipped.iter().all(|s| s.why == "already blocked"));
    let text = rosterd::report::human(&again);
    assert!(text.contains(": already blocked"), "{text}");
    assert_eq!(api.users().await.len(), 3, "nothing deleted");
}

fn rosterd(config: &Path, args: &[&str]) -> Output {
    rosterd_command(config, args)
        .env("USER", "erin")
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

async fn the_binary_holds_a_mass_rollback_until_approved_and_resume_ends_the_pause(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Three blocks are one more than the guard allows.
    let config = write_cli_config(
        dir.path(),
        &db,
        &sim.base_url(),
        "",
        "[reconcile]\nmax_block_count = 2\nmax_block_share = 1.0\n",
    );
    let created = rosterd(&config, &["run"]);
    assert_eq!(created.status.code(), Some(0), "{}", text(&created));

    // A bad command line, as the README promises: 64, not a failed run's 1.
    let bad = rosterd(&config, &["rollback", "--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(64));
    assert!(
        text(&bad).contains("--since: \"last tuesday\" is neither an RFC 3339 time"),
        "{}",
        text(&bad)
    );

    let dry = rosterd(&config, &["rollback", "--since", "2000-01-01", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let out = text(&dry);
    assert!(out.contains("3 accounts, 0 left alone"), "{out}");
    assert!(out.contains("enforce mode would hold this run"), "{out}");
    assert_eq!(
        blocked(&api).await,
        all(&THREE, false),
        "a dry run changes nothing"
    );
    assert!(
        ctx.store.paused().await.unwrap().is_none(),
        "not even the pause"
    );

    let held = rosterd(&config, &["rollback", "--since", "2000-01-01"]);
    assert_eq!(held.status.code(), Some(3), "{}", text(&held));
    let out = text(&held);
    assert!(
        out.contains("plan blocks 3 accounts, more than reconcile.max_block_count = 2"),
        "{out}"
    );
    assert!(out.contains("--approve"), "{out}");
    assert_eq!(blocked(&api).await, all(&THREE, false));
    assert!(ctx.store.paused().await.unwrap().is_none());
    let held_run = ctx
        .store
        .list_runs_page(Some(RunStatus::Held), Some(Trigger::Rollback), None, 5)
        .await
        .unwrap();
    assert_eq!(held_run.len(), 1);
    let held_id = held_run[0].id.to_string();
    // `approve` cannot recompute a rollback's choice: it says what can.
    let approve = rosterd(&config, &["approve", &held_id]);
    assert_eq!(approve.status.code(), Some(1));
    assert!(
        text(&approve)
            .contains("is a held rollback: run the same `rosterd rollback` with --approve"),
        "{}",
        text(&approve)
    );

    let applied = rosterd(
        &config,
        &[
            "rollback",
            "--since",
            "2000-01-01",
            "--approve",
            "--actor",
            "carol",
        ],
    );
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert!(text(&applied).contains("applied with --approve by carol"));
    assert_eq!(blocked(&api).await, all(&THREE, true));
    let decided = ctx.store.get_run(held_run[0].id).await.unwrap().unwrap();
    assert_eq!(decided.status, RunStatus::Approved);
    assert_eq!(decided.approved_by.as_deref(), Some("carol"));
    let pause = ctx.store.paused().await.unwrap().expect("paused");
    assert_eq!(pause.paused_by, "carol");
    assert!(admin_audit(&ctx.store)
        .await
        .iter()
        .any(|(actor, action, target)| actor == "carol"
            && action == "rollback"
            && target.contains("--approve")));

    let paused = rosterd(&config, &["run"]);
    assert_eq!(paused.status.code(), Some(0), "{}", text(&paused));
    assert!(text(&paused).contains("PAUSED:"), "{}", text(&paused));
    assert_eq!(blocked(&api).await, all(&THREE, true));

    let resumed = rosterd(&config, &["resume"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert!(text(&resumed).contains("enforcement resumed"));
    assert!(ctx.store.paused().await.unwrap().is_none());
    assert!(admin_audit(&ctx.store)
        .await
        .iter()
        .any(|(actor, action, _)| actor == "cli:erin" && action == "resume"));
    let again = rosterd(&config, &["resume"]);
    assert!(text(&again).contains("was not paused"), "{}", text(&again));
}

async fn a_daemon_shows_the_pause_and_an_admin_resumes_over_http(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let s = daemon_settings(&db, &sim);
    seed_employees(&s, &staff(1)).await;
    // Paused before the daemon starts: the gauge says so from start-up.
    let store = context(s.clone()).await.store.clone();
    let pause = rosterd::store::Pause {
        paused_at: "2026-03-01T09:00:00Z".parse().unwrap(),
        paused_by: "carol".into(),
        reason: "rollback of the accounts created by runs started from 2026-03-01".into(),
        run_id: Some(41),
    };
    store.pause(&pause).await.unwrap();
    let daemon = rosterd::daemon::spawn(s).await.expect("the daemon starts");
    let admin = DaemonClient::admin(&daemon);
    let reader = DaemonClient::reader(&daemon);

    let status = reader.get("/api/v1/status").await;
    status.expect(200);
    assert_eq!(
        status.json["paused"]["paused_by"], "carol",
        "{}",
        status.text
    );
    assert_eq!(status.json["paused"]["run_id"], 41);
    assert_eq!(status.json["paused"]["paused_at"], "2026-03-01T09:00:00Z");
    let metrics = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nrosterd_enforcement_paused 1\n"),
        "{metrics}"
    );

    // A run over HTTP while paused applies nothing and says so.
    let id = admin.trigger(false).await;
    let run = admin.wait_run(id, std::time::Duration::from_secs(30)).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["summary"]["paused"]["paused_by"], "carol", "{run}");
    assert_eq!(SimClient::new(&sim).users().await.len(), 0);

    // Rollback runs are a trigger the API filters and documents.
    let mut opts = RunOptions::new(Trigger::Rollback, true);
    opts.rollback = Some(Rollback {
        target: rosterd::rollback::window("2000-01-01", None).unwrap(),
        actor: "carol".into(),
        approved: false,
    });
    let dry = run_once(&daemon.ctx, opts).await.unwrap();
    let listed = reader.get("/api/v1/runs?trigger=rollback").await;
    listed.expect(200);
    let ids: Vec<i64> = listed.json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [dry.run_id], "{}", listed.text);
    let doc = reader.get("/api/v1/openapi.json").await.json;
    let filters = doc["paths"]["/api/v1/runs"]["get"]["parameters"].to_string();
    assert!(filters.contains("\"rollback\""), "{filters}");

    reader
        .post_empty("/api/v1/resume")
        .await
        .expect_error(403, "forbidden");
    let resumed = admin.post_empty("/api/v1/resume").await;
    resumed.expect(200);
    assert_eq!(
        resumed.json["resumed"]["paused_by"], "carol",
        "{}",
        resumed.text
    );
    assert_eq!(
        admin.get("/api/v1/status").await.json["paused"],
        Value::Null
    );
    let again = admin.post_empty("/api/v1/resume").await;
    again.expect(200);
    assert_eq!(again.json["resumed"], Value::Null);
    let metrics = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nrosterd_enforcement_paused 0\n"),
        "{metrics}"
    );
    // A pause written by another process (a rollback run from a shell on
    // another host, another replica's run) shows on this replica's next
    // scrape, with no run of its own in between.
    store.pause(&pause).await.unwrap();
    let scraped = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scraped.contains("\nrosterd_enforcement_paused 1\n"),
        "{scraped}"
    );
    store.resume().await.unwrap();
    assert!(admin_audit(&store)
        .await
        .iter()
        .any(|(actor, action, _)| actor == ADMIN_NAME && action == "resume"));

    let id = admin.trigger(false).await;
    let run = admin.wait_run(id, std::time::Duration::from_secs(30)).await;
    assert_eq!(run["summary"]["paused"], Value::Null, "{run}");
    assert_eq!(
        SimClient::new(&sim).users().await.len(),
        1,
        "resumed: it acts"
    );
    daemon.shutdown().await.unwrap();
}

/// The console's status page carries the pause as a banner, and only while
/// paused; a held rollback's page says how it is applied (the console
/// tests run on SQLite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_pause_and_a_held_rollback_says_how_it_is_applied() {
    use crate::browser::{check_html, html_texts, set_cookie, Console, Setup, SESSION_COOKIE};
    let w = Console::start(Setup {
        employees: staff(1),
        ..Setup::default()
    })
    .await;
    let http = w.http();
    let signed_in = http.sign_in(ADMIN_TOKEN).await;
    signed_in.expect(303);
    let session = set_cookie(&signed_in, SESSION_COOKIE).expect("a session cookie");
    let cookies = [(SESSION_COOKIE, session.as_str())];
    let page = http.get("/ui", &cookies).await;
    page.expect(200);
    assert!(
        html_texts(&page.text, "#paused").is_empty(),
        "no pause, no banner"
    );

    w.store
        .pause(&rosterd::store::Pause {
            paused_at: Utc::now(),
            paused_by: "carol".into(),
            reason: "rollback of the accounts created by runs started from 2026-03-01".into(),
            run_id: Some(7),
        })
        .await
        .unwrap();
    let page = http.get("/ui", &cookies).await;
    page.expect(200);
    assert_eq!(check_html(&page.text, &w.secrets), Vec::<String>::new());
    let banner = html_texts(&page.text, "#paused").join(" ");
    assert!(banner.contains("Enforcement paused"), "{banner}");
    assert!(banner.contains("by carol"), "{banner}");
    assert!(banner.contains("rosterd resume"), "{banner}");

    // A held rollback (recorded as `rosterd rollback` records one): its
    // page says how it is applied and offers no Approve, which would fail;
    // the API's approve refuses it with a code of its own.
    let store = &w.store;
    let id = store
        .start_run(Trigger::Rollback, "enforce", false, Utc::now())
        .await
        .unwrap();
    store.set_run_holder(id, "test").await.unwrap();
    let end = rosterd::store::RunEnd {
        status: RunStatus::Held,
        held_reason: Some(
            "plan blocks 30 accounts, more than reconcile.max_block_count = 25".into(),
        ),
        ..Default::default()
    };
    assert!(store
        .finish_held_run(id, "test", &end, Utc::now())
        .await
        .unwrap());
    let page = http.get(&format!("/ui/runs/{id}"), &cookies).await;
    page.expect(200);
    assert_eq!(check_html(&page.text, &w.secrets), Vec::<String>::new());
    let hint = html_texts(&page.text, "#rollback-approve").join(" ");
    assert!(hint.contains("rosterd rollback"), "{}", page.text);
    assert!(html_texts(&page.text, "form#approve").is_empty());
    assert!(
        !html_texts(&page.text, "form#reject").is_empty(),
        "it can still be rejected"
    );
    w.admin_api()
        .post_empty(&format!("/api/v1/runs/{id}/approve"))
        .await
        .expect_error(409, "held_rollback");
}

async fn a_failed_block_does_not_stop_the_others_and_each_is_recorded(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = lenient(&db, &sim);
    // Every injected failure is final: none is retried away.
    s.auth0.max_attempts = 1;
    let ctx = context(s).await;
    ctx.store.insert_employees(&staff(10)).await.unwrap();
    let created = run(&ctx).await;
    assert_eq!(created.succeeded.get("create"), Some(&10), "{created:?}");
    // Which blocks fail is chance; what holds whatever it draws is checked.
    api.faults(serde_json::json!({"rate_5xx": 0.5, "endpoint": "PATCH /api/v2/users/{id}"}))
        .await;
    let since = started_at(&ctx, created.run_id).await - Duration::seconds(1);
    let rolled = rollback(&ctx, Target::Window { since, until: None }).await;
    api.clear_faults().await;

    let ok = rolled.succeeded.get("block").copied().unwrap_or(0);
    let failed = rolled.failed.get("block").copied().unwrap_or(0);
    assert_eq!(ok + failed, 10, "every block was tried: {rolled:?}");
    assert_eq!(rolled.failures.len(), failed, "{rolled:?}");
    let actions = ctx.store.run_actions(rolled.run_id).await.unwrap();
    let recorded = |status: &str| {
        actions
            .iter()
            .filter(|a| a.status.as_str() == status)
            .count()
    };
    assert_eq!((recorded("succeeded"), recorded("failed")), (ok, failed));
    assert!(actions
        .iter()
        .filter(|a| a.status.as_str() == "failed")
        .all(|a| a.error.as_deref().is_some_and(|e| e.contains("503"))));
    let now_blocked = blocked(&api).await.values().filter(|b| **b).count();
    assert_eq!(now_blocked, ok, "the simulator agrees with the record");
    assert_eq!(api.users().await.len(), 10, "nothing deleted");
    // The failed ones are blocked by running the rollback again.
    let again = rollback(&ctx, Target::Window { since, until: None }).await;
    assert_eq!(again.succeeded.get("block").copied().unwrap_or(0), failed);
    assert_eq!(blocked(&api).await.values().filter(|b| **b).count(), 10);
}

async fn an_undo_leaves_a_leaver_blocked_and_an_empty_or_excluded_rollback_changes_nothing(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(lenient(&db, &sim)).await;
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    let created = run(&ctx).await;
    let since = started_at(&ctx, created.run_id).await - Duration::seconds(1);

    // A window with nothing in it (a date typo) blocks and pauses nothing.
    let future = Utc::now() + Duration::days(365);
    let empty = rollback(
        &ctx,
        Target::Window {
            since: future,
            until: None,
        },
    )
    .await;
    assert_eq!(empty.status, RunStatus::Succeeded, "{empty:?}");
    assert!(ctx.store.paused().await.unwrap().is_none(), "{empty:?}");

    // The rollback; then employee 2 leaves during the pause.
    let rolled = rollback(&ctx, Target::Window { since, until: None }).await;
    assert_eq!(rolled.succeeded.get("block"), Some(&3), "{rolled:?}");
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = FALSE WHERE id = 2",
    )
    .await;
    let target = rosterd::rollback::undo(&ctx.store, rolled.run_id)
        .await
        .unwrap();
    let undone = rollback(&ctx, target).await;
    assert_eq!(undone.succeeded.get("unblock"), Some(&2), "{undone:?}");
    let summary = undone.rollback.as_ref().unwrap();
    assert_eq!(summary.skipped.len(), 1, "{summary:?}");
    assert_eq!(summary.skipped[0].why, "its employee is no longer active");
    assert_eq!(
        blocked(&api).await,
        BTreeMap::from([
            ("worker1@example.com".to_string(), false),
            ("worker2@example.com".to_string(), true),
            ("worker3@example.com".to_string(), false),
        ])
    );

    // An account excluded since it was created is never rolled back.
    let mut s = lenient(&db, &sim);
    s.policy.exclude.account_emails = vec!["worker1@.*".into()];
    let excluding = context(s).await;
    let again = rollback(&excluding, Target::Window { since, until: None }).await;
    assert_eq!(again.succeeded.get("block"), Some(&1), "{again:?}");
    assert!(!blocked(&api).await["worker1@example.com"]);

    // Someone blocked the window's accounts by hand first: the rollback has
    // nothing left to block but still pauses, or the next run would
    // unblock them.
    rosterd::rollback::resume(&ctx, "ops:dave").await.unwrap();
    let by_hand = rollback(&excluding, Target::Window { since, until: None }).await;
    assert!(by_hand.succeeded.is_empty(), "{by_hand:?}");
    assert!(ctx.store.paused().await.unwrap().is_some(), "{by_hand:?}");
    let next = run(&ctx).await;
    assert!(!next.applied, "{next:?}");
    assert!(blocked(&api).await["worker3@example.com"]);
}
