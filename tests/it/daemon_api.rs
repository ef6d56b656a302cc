//! `rosterd serve` end to end: a real daemon on an ephemeral port, spoken to
//! over HTTP with reqwest, with a real database (a fresh SQLite file or
//! PostgreSQL database per test) and the Auth0 simulator.
//!
//! Employees a test starts with are inserted before the daemon starts, so
//! that the insert is not a change the daemon reacts to; tests about change
//! triggers insert after.

use crate::common::*;
use hmac::{Hmac, Mac};
use reqwest::Method;
use rosterd::daemon::{self, RunningDaemon};
use rosterd::store::Store;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const RUN_LIMIT: Duration = Duration::from_secs(30);

on_every_backend!(
    triggered_run_finishes_and_its_detail_has_plan_and_actions,
    inserted_employee_gets_an_account_within_seconds_and_own_writes_do_not_retrigger,
    shutdown_mid_apply_records_interrupted_and_a_new_daemon_finishes_the_plan,
    runs_are_listed_newest_first_with_paging_and_status_and_trigger_filters,
);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

async fn start(s: rosterd::config::Settings) -> RunningDaemon {
    daemon::spawn(s).await.expect("the daemon starts")
}

/// A test's world: database, simulator, daemon.
struct World {
    _db: TestDb,
    _sim: auth0_sim::RunningSim,
    api: SimClient,
    daemon: RunningDaemon,
}

impl World {
    /// Employees `rows` in place, then a daemon with `tweak`ed settings.
    async fn new(
        kind: Db,
        rows: &[rosterd::model::RawEmployee],
        tweak: impl FnOnce(&mut rosterd::config::Settings),
    ) -> World {
        let db = TestDb::new(kind).await;
        let sim = spawn_sim().await;
        let api = SimClient::new(&sim);
        let mut s = daemon_settings(&db, &sim);
        tweak(&mut s);
        seed_employees(&s, rows).await;
        let daemon = start(s).await;
        World {
            _db: db,
            _sim: sim,
            api,
            daemon,
        }
    }
    fn admin(&self) -> DaemonClient {
        DaemonClient::admin(&self.daemon)
    }
    fn reader(&self) -> DaemonClient {
        DaemonClient::reader(&self.daemon)
    }
    fn anonymous(&self) -> DaemonClient {
        DaemonClient::anonymous(&self.daemon)
    }
    fn store(&self) -> &Store {
        &self.daemon.ctx.store
    }
}

/// `(employee_id, auth0_user_id)` for every employees row.
async fn employee_links(store: &Store) -> BTreeMap<i64, Option<String>> {
    store
        .load_employees(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.auth0_user_id))
        .collect()
}

/// POST `body` with `Transfer-Encoding: chunked` (no Content-Length), over
/// a raw connection; the status and body of the answer.
async fn post_chunked(d: &RunningDaemon, path: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        d.addr
    )
    .into_bytes();
    for chunk in body.chunks(512) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = conn.write_all(&req).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // The answer itself may be chunked: keep the JSON object in it.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a < b => body[a..=b].to_string(),
        _ => body,
    };
    (status, body)
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn statuses(run: &Value) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in run["actions"].as_array().unwrap() {
        *m.entry(a["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    m
}

// ---------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------

async fn triggered_run_finishes_and_its_detail_has_plan_and_actions(kind: Db) {
    let w = World::new(kind, &staff(3), |_| {}).await;
    let c = w.admin();

    let r = c.post("/api/v1/runs", json!({})).await;
    r.expect(202);
    let id = r.json["run_id"].as_i64().unwrap();
    assert_eq!(r.json["status"], "running");
    assert_eq!(r.json["dry_run"], false);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/runs/{id}").as_str())
    );

    let run = c.wait_run(id, RUN_LIMIT).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["trigger"], "http");
    assert_eq!(run["dry_run"], false);
    assert!(run["finished_at"].is_string());
    assert_eq!(run["employees_seen"], 3);
    assert_eq!(
        (
            &run["actions_planned"],
            &run["actions_succeeded"],
            &run["actions_failed"]
        ),
        (&json!(3), &json!(3), &json!(0))
    );
    let planned = run["plan"]["actions"].as_array().expect("the plan");
    assert_eq!(planned.len(), 3);
    let actions = run["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 3);
    let users = w.api.users().await;
    for (seq, a) in actions.iter().enumerate() {
        assert_eq!(a["seq"], seq as i64);
        assert_eq!(a["kind"], "create");
        assert_eq!(a["status"], "succeeded", "{a:#}");
        assert!(a["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(a["finished_at"].is_string());
        let uid = a["auth0_user_id"].as_str().expect("the created account");
        assert!(users.iter().any(|u| u["user_id"] == uid));
    }
    assert_eq!(users.len(), 3);
    assert_eq!(run["summary"]["status"], "succeeded");

    // The list shows it; the admin audit says who asked.
    let runs = c.runs().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["id"], id);
    assert!(runs[0].get("plan").is_none(), "lists leave the plan out");
    assert!(admin_audit(w.store()).await.contains(&(
        ADMIN_NAME.into(),
        "trigger_run".into(),
        id.to_string()
    )));
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_trigger_while_a_run_is_applying_is_409_naming_the_running_run() {
    let w = World::new(Db::Sqlite, &staff(10), |s| s.auth0.concurrency = 1).await;
    w.api
        .faults(json!({"latency_ms": 300, "endpoint": "POST /api/v2/users"}))
        .await;
    let c = w.admin();
    let id = c.trigger(false).await;

    let again = c.post("/api/v1/runs", json!({"dry_run": true})).await;
    again.expect_error(409, "run_in_progress");
    assert_eq!(again.json["run_id"], id, "{}", again.text);
    // Approving anything meanwhile is refused the same way (after the
    // held-run check), and readiness names the running run.
    let ready = w.anonymous().get("/readyz").await;
    ready.expect(200);
    assert_eq!(ready.json["running"], id);

    w.api.clear_faults().await;
    let run = c.wait_run(id, RUN_LIMIT).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(
        c.runs().await.len(),
        1,
        "the refused trigger started nothing"
    );

    // Once it has finished, triggering works again, and converges.
    let next = c.trigger(false).await;
    let next = c.wait_run(next, RUN_LIMIT).await;
    assert_eq!(next["status"], "succeeded");
    assert_eq!(next["actions_planned"], 0);
    w.daemon.shutdown().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_over_the_api_plans_and_applies_nothing() {
    let w = World::new(Db::Postgres, &staff(4), |_| {}).await;
    let c = w.admin();
    let r = c.post("/api/v1/runs", json!({"dry_run": true})).await;
    r.expect(202);
    assert_eq!(r.json["dry_run"], true);
    let run = c
        .wait_run(r.json["run_id"].as_i64().unwrap(), RUN_LIMIT)
        .await;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["dry_run"], true);
    assert_eq!(run["actions_planned"], 4);
    assert_eq!(run["actions_succeeded"], 0);
    assert_eq!(statuses(&run), BTreeMap::from([("skipped".into(), 4)]));
    assert_eq!(run["plan"]["actions"].as_array().unwrap().len(), 4);
    assert!(w.api.users().await.is_empty());
    assert_eq!(w.api.count("POST /api/v2/users", "201").await, 0);
    assert!(employee_links(w.store())
        .await
        .values()
        .all(Option::is_none));
    w.daemon.shutdown().await.unwrap();
}

async fn runs_are_listed_newest_first_with_paging_and_status_and_trigger_filters(db: Db) {
    let w = World::new(db, &staff(2), |_| {}).await;
    let c = w.admin();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = c.trigger(true).await;
        c.wait_run(id, RUN_LIMIT).await;
        ids.push(id);
    }
    let page = c.get("/api/v1/runs?limit=2").await;
    page.expect(200);
    let got: Vec<i64> = page.json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![ids[2], ids[1]]);
    assert_eq!(page.json["next_before"], ids[1]);
    let rest = c
        .get(&format!("/api/v1/runs?limit=2&before={}", ids[1]))
        .await;
    rest.expect(200);
    assert_eq!(rest.json["runs"].as_array().unwrap().len(), 1);
    assert_eq!(rest.json["runs"][0]["id"], ids[0]);
    assert_eq!(rest.json["next_before"], Value::Null);

    let ok = c.get("/api/v1/runs?status=succeeded").await;
    assert_eq!(ok.json["runs"].as_array().unwrap().len(), 3);
    let failed = c.get("/api/v1/runs?status=failed").await;
    failed.expect(200);
    assert_eq!(failed.json["runs"], json!([]));
    // `trigger` is a reserved word in MySQL: the filter works on each
    // backend, and tells runs apart (one from the command line besides the
    // three over HTTP).
    let cli = rosterd::run::run_once(
        &w.daemon.ctx,
        rosterd::run::RunOptions::new(rosterd::run::Trigger::Cli, true),
    )
    .await
    .unwrap()
    .run_id;
    let by_http = c.get("/api/v1/runs?trigger=http&status=succeeded").await;
    by_http.expect(200);
    let http_ids: Vec<i64> = by_http.json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(http_ids, [ids[2], ids[1], ids[0]]);
    let by_cli = c.get("/api/v1/runs?trigger=cli").await;
    assert_eq!(by_cli.json["runs"].as_array().unwrap().len(), 1);
    assert_eq!(by_cli.json["runs"][0]["id"], cli);
    let by_schedule = c.get("/api/v1/runs?trigger=schedule").await;
    assert_eq!(by_schedule.json["runs"], json!([]));
    let bad = c.get("/api/v1/runs?trigger=cron").await;
    bad.expect(400);
    assert!(bad.json["message"]
        .as_str()
        .unwrap()
        .starts_with("trigger must be one of"));
    w.daemon.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Held runs and approval
// ---------------------------------------------------------------------------

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_mass_deactivation_is_applied_after_approval_and_records_the_approver() {
    let (rows, accounts) = linked_staff(40, 30);
    let db = TestDb::new(Db::Postgres).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    api.seed(accounts).await;
    let s = daemon_settings(&db, &sim);
    seed_employees(&s, &rows).await;
    let d = start(s).await;
    let c = DaemonClient::admin(&d);

    let held = c.trigger(false).await;
    let run = c.wait_run(held, RUN_LIMIT).await;
    assert_eq!(run["status"], "held", "{run:#}");
    assert!(
        run["held_reason"]
            .as_str()
            .is_some_and(|r| r.contains("blocks 30")),
        "{}",
        run["held_reason"]
    );
    assert_eq!(run["approved_by"], Value::Null);
    assert_eq!(statuses(&run), BTreeMap::from([("skipped".into(), 30)]));
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    let listed = c.get("/api/v1/runs?status=held").await;
    assert_eq!(listed.json["runs"][0]["id"], held);

    // A read-only token may look but not approve.
    DaemonClient::reader(&d)
        .post_empty(&format!("/api/v1/runs/{held}/approve"))
        .await
        .expect_error(403, "forbidden");

    let r = c.post_empty(&format!("/api/v1/runs/{held}/approve")).await;
    r.expect(202);
    let approval = r.json["run_id"].as_i64().unwrap();
    assert_ne!(approval, held);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/runs/{approval}").as_str())
    );
    let applied = c.wait_run(approval, RUN_LIMIT).await;
    assert_eq!(applied["status"], "succeeded", "{applied:#}");
    assert_eq!(applied["trigger"], "approval");
    assert_eq!(
        applied["summary"]["approval"],
        json!({"held_run_id": held, "approved_by": ADMIN_NAME}),
        "the approval run says which run it applies and who approved it"
    );
    assert_eq!(applied["actions_succeeded"], 30);
    assert!(applied["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["kind"] == "block" && a["status"] == "succeeded"));

    let users = api.users().await;
    let blocked: BTreeSet<&str> = users
        .iter()
        .filter(|u| u["blocked"] == json!(true))
        .map(|u| u["user_id"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<String> = (1..=30).map(|i| format!("auth0|{i:024x}")).collect();
    assert_eq!(
        blocked,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );

    let held_now = c.get(&format!("/api/v1/runs/{held}")).await;
    assert_eq!(
        held_now.json["status"], "approved",
        "decided: no longer held"
    );
    assert_eq!(held_now.json["approved_by"], ADMIN_NAME);
    assert!(held_now.json["approved_at"].is_string());
    let waiting = c.get("/api/v1/runs?status=held").await;
    assert_eq!(
        waiting.json["runs"],
        json!([]),
        "nothing waits for a decision"
    );
    // Decided once: a rejection after the approval is refused.
    let late = c
        .post(&format!("/api/v1/runs/{held}/reject"), json!({}))
        .await;
    late.expect_error(409, "not_held");
    assert!(late.json["message"].as_str().unwrap().contains("approved"));
    assert!(admin_audit(&d.ctx.store).await.contains(&(
        ADMIN_NAME.into(),
        "approve_run".into(),
        held.to_string()
    )));

    // An approval is used once.
    c.post_empty(&format!("/api/v1/runs/{held}/approve"))
        .await
        .expect_error(409, "not_held");
    d.shutdown().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_runs_keep_their_plan_and_the_api_and_console_say_so() {
    let (rows, accounts) = linked_staff(40, 30);
    let db = TestDb::new(Db::Postgres).await;
    let sim = spawn_sim().await;
    SimClient::new(&sim).seed(accounts).await;
    let mut s = daemon_settings(&db, &sim);
    s.reconcile.keep_plans = 2;
    seed_employees(&s, &rows).await;
    let d = start(s).await;
    let c = DaemonClient::admin(&d);
    let held = c.trigger(false).await;
    assert_eq!(c.wait_run(held, RUN_LIMIT).await["status"], "held");
    c.post(&format!("/api/v1/runs/{held}/reject"), json!({}))
        .await
        .expect(200);
    // The same plan again: each run is rejected like the first.
    let mut later = Vec::new();
    for _ in 0..3 {
        let id = c.trigger(false).await;
        assert_eq!(c.wait_run(id, RUN_LIMIT).await["status"], "rejected");
        later.push(id);
    }

    let run = |id: i64| {
        let c = &c;
        async move { c.get(&format!("/api/v1/runs/{id}")).await.json }
    };
    for dropped in [held, later[0]] {
        let dropped = run(dropped).await;
        assert_eq!(dropped["plan"], Value::Null, "{dropped:#}");
        assert!(dropped["plan_dropped_at"].is_string(), "{dropped:#}");
        assert_eq!(dropped["status"], "rejected", "the run itself stays");
    }
    for kept in &later[1..] {
        let kept = run(*kept).await;
        assert_eq!(kept["plan"]["actions"].as_array().map(Vec::len), Some(30));
        assert_eq!(kept["plan_dropped_at"], Value::Null);
    }

    // The console says the plan was not kept, not that there was none.
    let console = crate::browser::ConsoleHttp::new(&d.base_url());
    let signed_in = console.sign_in(ADMIN_TOKEN).await;
    let session =
        crate::browser::set_cookie(&signed_in, crate::browser::SESSION_COOKIE).expect("a session");
    let page = console
        .get(
            &format!("/ui/runs/{}", later[0]),
            &[(crate::browser::SESSION_COOKIE, &session)],
        )
        .await;
    page.expect(200);
    assert!(page.text.contains("Not kept"), "{}", page.text);
    assert!(!page.text.contains("did not get as far as planning"));
    d.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_run_rejected_over_http_is_not_held_again_until_the_plan_changes() {
    let (rows, accounts) = linked_staff(40, 30);
    let db = TestDb::new(Db::Sqlite).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    api.seed(accounts).await;
    let s = daemon_settings(&db, &sim);
    seed_employees(&s, &rows).await;
    let d = start(s).await;
    let c = DaemonClient::admin(&d);

    let held = c.trigger(false).await;
    assert_eq!(c.wait_run(held, RUN_LIMIT).await["status"], "held");
    // A read-only token may look but not reject; a reason has a limit.
    DaemonClient::reader(&d)
        .post(&format!("/api/v1/runs/{held}/reject"), json!({}))
        .await
        .expect_error(403, "forbidden");
    c.post(
        &format!("/api/v1/runs/{held}/reject"),
        json!({"reason": "x".repeat(1001)}),
    )
    .await
    .expect_error(400, "bad_request");

    let r = c
        .post(
            &format!("/api/v1/runs/{held}/reject"),
            json!({"reason": "HR import error, fixing the source"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["status"], "rejected", "{:#}", r.json);
    assert_eq!(r.json["rejected_by"], ADMIN_NAME);
    assert!(r.json["rejected_at"].is_string());
    assert!(admin_audit(&d.ctx.store)
        .await
        .iter()
        .any(|(who, what, target)| who == ADMIN_NAME
            && what == "reject_run"
            && target.starts_with(&format!("{held}:"))));
    // Decided once: neither approved nor rejected again.
    c.post_empty(&format!("/api/v1/runs/{held}/approve"))
        .await
        .expect_error(409, "not_held");
    c.post(&format!("/api/v1/runs/{held}/reject"), json!({}))
        .await
        .expect_error(409, "not_held");

    // The same plan again: rejected, not held, nothing applied.
    let again = c.trigger(false).await;
    let run = c.wait_run(again, RUN_LIMIT).await;
    assert_eq!(run["status"], "rejected", "{run:#}");
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    let listed = c.get("/api/v1/runs?status=held").await;
    assert_eq!(listed.json["runs"], json!([]), "no new hold waits");

    // A changed plan is held again.
    exec(
        &d.ctx.store,
        "UPDATE employees SET is_active = false WHERE id = 31",
    )
    .await;
    let changed = c.trigger_after_change().await;
    assert!(changed > again);
    assert_eq!(c.wait_run(changed, RUN_LIMIT).await["status"], "held");
    d.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_run_that_is_not_held_is_409_and_an_unknown_one_404() {
    let w = World::new(Db::Sqlite, &staff(1), |_| {}).await;
    let c = w.admin();
    let id = c.trigger(false).await;
    assert_eq!(c.wait_run(id, RUN_LIMIT).await["status"], "succeeded");
    let r = c.post_empty(&format!("/api/v1/runs/{id}/approve")).await;
    r.expect_error(409, "not_held");
    assert!(r.json["message"].as_str().unwrap().contains("succeeded"));
    c.post_empty("/api/v1/runs/424242/approve")
        .await
        .expect_error(404, "not_found");
    c.post_empty("/api/v1/runs/latest/approve")
        .await
        .expect_error(400, "bad_request");
    assert_eq!(c.runs().await.len(), 1, "no approval run started");
    w.daemon.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Findings, mappings, employees, credentials
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_come_from_the_latest_planned_run_and_filter_by_kind() {
    let db = TestDb::new(Db::Sqlite).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    // An account rosterd created for an employee who no longer exists.
    let ghost = employee(999, "Ghost Worker", "ghost@example.com", true);
    api.seed(vec![managed_account(
        "auth0|0000000000000000000000ff",
        &ghost,
    )])
    .await;
    let s = daemon_settings(&db, &sim);
    seed_employees(&s, &staff(2)).await;
    let d = start(s).await;
    let c = DaemonClient::admin(&d);

    let none = c.get("/api/v1/findings").await;
    none.expect(200);
    assert_eq!(none.json, json!({"run_id": null, "findings": []}));

    let id = c.trigger(true).await;
    c.wait_run(id, RUN_LIMIT).await;
    let all = c.get("/api/v1/findings").await;
    all.expect(200);
    assert_eq!(all.json["run_id"], id);
    let orphans = c.get("/api/v1/findings?kind=orphaned").await;
    let orphans = orphans.json["findings"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert!(orphans[0].to_string().contains("0000000000000000000000ff"));
    let dups = c.get("/api/v1/findings?kind=duplicate_account").await;
    assert_eq!(dups.json["findings"], json!([]));
    c.get("/api/v1/findings?kind=everything")
        .await
        .expect_error(400, "bad_request");
    d.shutdown().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_mappings_are_created_listed_and_deleted() {
    let w = World::new(Db::Postgres, &staff(2), |_| {}).await;
    let c = w.admin();
    assert_eq!(c.get("/api/v1/mappings").await.json["mappings"], json!([]));

    let r = c
        .post(
            "/api/v1/mappings",
            json!({"podfactory_user_id": "pf-1001", "employee_id": 2}),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_i64().expect("the mapping's id");
    assert_eq!(r.json["podfactory_user_id"], "pf-1001");
    assert_eq!(r.json["employee_id"], 2);
    assert_eq!(r.json["created_by"], ADMIN_NAME);

    let listed = w.reader().get("/api/v1/mappings").await;
    listed.expect(200);
    assert_eq!(listed.json["mappings"].as_array().unwrap().len(), 1);
    assert_eq!(listed.json["mappings"][0]["id"], id);

    // Bad mappings are refused.
    c.post(
        "/api/v1/mappings",
        json!({"podfactory_user_id": "pf-1002", "employee_id": 77}),
    )
    .await
    .expect_error(400, "bad_request");
    c.post(
        "/api/v1/mappings",
        json!({"podfactory_user_id": "  ", "employee_id": 1}),
    )
    .await
    .expect_error(400, "bad_request");
    c.post("/api/v1/mappings", json!({"podfactory_user_id": "pf-1"}))
        .await
        .expect_error(400, "bad_request");

    c.delete(&format!("/api/v1/mappings/{id}"))
        .await
        .expect(204);
    c.delete(&format!("/api/v1/mappings/{id}"))
        .await
        .expect_error(404, "not_found");
    c.delete("/api/v1/mappings/pf-1001")
        .await
        .expect_error(400, "bad_request");
    assert_eq!(c.get("/api/v1/mappings").await.json["mappings"], json!([]));
    let audit = admin_audit(w.store()).await;
    assert!(audit.contains(&(
        ADMIN_NAME.into(),
        "create_mapping".into(),
        "pf-1001 -> 2".into()
    )));
    assert!(audit.contains(&(ADMIN_NAME.into(), "delete_mapping".into(), id.to_string())));
    w.daemon.shutdown().await.unwrap();
}

/// A path segment with every byte but `[A-Za-z0-9-_.]` percent-encoded.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_decisions_are_taken_listed_and_undone_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("podfactory.csv");
    std::fs::write(
        &csv,
        "id,name,email,user_role\n\
         pf5,Sam Lee,,Packer\n\
         pf9,Kiosk Dock Four,,Kiosk\n",
    )
    .unwrap();
    let rows = [
        employee(4, "Sam Lee", "sam.lee@example.com", true),
        employee(5, "Sam Lee", "samuel.lee@example.com", true),
    ];
    let w = World::new(Db::Sqlite, &rows, |s| {
        s.podfactory.source = "csv".into();
        s.podfactory.csv_path = csv.display().to_string();
    })
    .await;
    let ghost = employee(99, "Ghost Worker", "ghost@example.com", true);
    w.api
        .seed(vec![managed_account(
            "auth0|0000000000000000000000ff",
            &ghost,
        )])
        .await;
    let c = w.admin();

    let empty = c.get("/api/v1/triage").await;
    empty.expect(200);
    assert_eq!(empty.json, json!({"run": null, "items": [], "held": []}));
    let id = c.trigger(false).await;
    c.wait_run(id, RUN_LIMIT).await;

    // The queue: each item with its key, anchor and what a person needs.
    let q = w.reader().get("/api/v1/triage").await;
    q.expect(200);
    assert_eq!(q.json["run"]["id"], id);
    assert!(q.json["run"].get("plan").is_none(), "no plan in the queue");
    let items = q.json["items"].as_array().unwrap().clone();
    let kinds: BTreeSet<&str> = items
        .iter()
        .map(|i| i["finding"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "ambiguous_podfactory_user",
            "orphaned",
            "unmatched_podfactory_user"
        ])
    );
    let sam = items
        .iter()
        .find(|i| i["finding"]["podfactory_user_id"] == "pf5")
        .unwrap();
    assert_eq!(sam["key"], "ambiguous_podfactory_user||pf5|");
    assert!(sam["anchor"].as_str().unwrap().starts_with("finding-"));
    assert_eq!(
        sam["finding"]["podfactory_user"],
        json!({"name": "Sam Lee", "email": null, "role": "Packer"})
    );
    let emails: BTreeSet<&str> = sam["finding"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        BTreeSet::from(["sam.lee@example.com", "samuel.lee@example.com"])
    );
    assert_eq!(sam["finding"]["candidates"][0]["department"], "Picking");
    assert_eq!(sam["acknowledged"], Value::Null);
    let orphan_key = items
        .iter()
        .find(|i| i["finding"]["kind"] == "orphaned")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let only = c.get("/api/v1/triage?kind=orphaned").await;
    assert_eq!(only.json["items"].as_array().unwrap().len(), 1);
    c.get("/api/v1/triage?kind=everything")
        .await
        .expect_error(400, "bad_request");
    c.get("/api/v1/triage?acknowledged=maybe")
        .await
        .expect_error(400, "bad_request");

    // Not an employee: refused when malformed, kept with who and why.
    let marks = "/api/v1/podfactory/non-employees";
    c.post(marks, json!({}))
        .await
        .expect_error(400, "bad_request");
    let r = c
        .post(
            marks,
            json!({"podfactory_user_id": "pf9", "note": "x".repeat(1001)}),
        )
        .await;
    r.expect_error(400, "bad_request");
    assert_eq!(r.json["message"], "note must be at most 1000 characters");
    c.post(marks, json!({"podfactory_user_id": "pf9", "why": "kiosk"}))
        .await
        .expect_error(400, "bad_request");
    let r = c
        .post(
            marks,
            json!({"podfactory_user_id": "pf9", "note": "kiosk at dock 4"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["podfactory_user_id"], "pf9");
    assert_eq!(r.json["decided_by"], ADMIN_NAME);
    assert_eq!(r.json["note"], "kiosk at dock 4");
    let listed = w.reader().get(marks).await;
    listed.expect(200);
    assert_eq!(listed.json["non_employees"][0]["podfactory_user_id"], "pf9");
    // It leaves the queue at once; linking it is refused until undone.
    let q = c.get("/api/v1/triage").await;
    assert!(!q.text.contains("\"pf9\""), "{}", q.text);
    c.post(
        "/api/v1/mappings",
        json!({"podfactory_user_id": "pf9", "employee_id": 4}),
    )
    .await
    .expect_error(409, "conflict");

    // Acknowledged: by its key from the queue, undone by the same key.
    let acks = "/api/v1/findings/acks";
    let r = c.post(acks, json!({"key": "orphaned||nobody|"})).await;
    r.expect_error(400, "bad_request");
    assert!(r.json["message"]
        .as_str()
        .unwrap()
        .starts_with("no current finding with key"));
    let r = c
        .post(
            acks,
            json!({"key": orphan_key, "note": "kept for the auditors"}),
        )
        .await;
    r.expect(201);
    assert_eq!(
        (&r.json["kind"], &r.json["acked_by"]),
        (&json!("orphaned"), &json!(ADMIN_NAME))
    );
    assert_eq!(c.get(acks).await.json["acks"][0]["finding_key"], orphan_key);
    let q = c.get("/api/v1/triage").await;
    assert_eq!(q.json["items"].as_array().unwrap().len(), 1, "{}", q.text);
    let q = c.get("/api/v1/triage?acknowledged=true").await;
    let acked = q.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == orphan_key.as_str())
        .expect("asked for: listed with its acknowledgement");
    assert_eq!(acked["acknowledged"]["note"], "kept for the auditors");

    let ack_path = format!("{acks}/{}", segment(&orphan_key));
    c.delete(&ack_path).await.expect(204);
    c.delete(&ack_path).await.expect_error(404, "not_found");
    c.delete(&format!("{marks}/pf9")).await.expect(204);
    c.delete(&format!("{marks}/pf9"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        c.get("/api/v1/triage").await.json["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let audit = admin_audit(w.store()).await;
    let actions: Vec<&str> = audit.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "trigger_run",
            "not_employee",
            "acknowledge_finding",
            "unacknowledge_finding",
            "undo_not_employee"
        ]
    );
    assert!(audit.iter().all(|(actor, _, _)| actor == ADMIN_NAME));
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employee_detail_shows_its_auth0_account_and_recent_actions() {
    let w = World::new(Db::Sqlite, &staff(2), |_| {}).await;
    let c = w.admin();
    let id = c.trigger(false).await;
    c.wait_run(id, RUN_LIMIT).await;
    let account = w.api.user_by_email("worker1@example.com").await;
    let uid = account[0]["user_id"].as_str().unwrap();

    let r = w.reader().get("/api/v1/employees/1").await;
    r.expect(200);
    assert_eq!(r.json["employee"]["id"], 1);
    assert_eq!(r.json["employee"]["auth0_user_id"], uid);
    assert_eq!(r.json["auth0"]["user_id"], uid);
    assert_eq!(r.json["auth0"]["email"], "worker1@example.com");
    assert_eq!(r.json["auth0"]["blocked"], false);
    assert_eq!(r.json["auth0"]["app_metadata"]["employee_id"], 1);
    let recent = r.json["recent_actions"].as_array().unwrap();
    assert_eq!(recent.len(), 1, "{recent:?}");
    assert_eq!(recent[0]["run_id"], id);
    assert_eq!(recent[0]["kind"], "create");
    assert_eq!(recent[0]["status"], "succeeded");
    assert!(r.json["podfactory"].is_array());

    c.get("/api/v1/employees/99")
        .await
        .expect_error(404, "not_found");
    c.get("/api/v1/employees/one")
        .await
        .expect_error(400, "bad_request");
    w.daemon.shutdown().await.unwrap();
}

/// Three of lower case, upper case, digits and symbols, and long.
fn strong(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    password.len() >= 16 && classes.iter().filter(|&&c| c).count() >= 3
}

/// With a custom query and no write-back target, the account is the one
/// whose `app_metadata.employee_id` names the employee: the employee page
/// and the credentials endpoint find it as runs do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_write_back_the_employee_page_and_credentials_find_the_account() {
    let db = TestDb::new(Db::Sqlite).await;
    let sim = spawn_sim().await;
    let mut s = daemon_settings(&db, &sim);
    s.database.employees_query = Some(
        "SELECT staff_id AS id, name AS full_name, mail AS email, dept AS department, \
         site AS workspace, role AS role_code, active AS is_active FROM staff"
            .into(),
    );
    let store = Store::connect(&s.database).await.unwrap();
    exec(
        &store,
        "CREATE TABLE staff (staff_id INTEGER PRIMARY KEY, name TEXT, mail TEXT, dept TEXT, \
         site TEXT, role TEXT, active INTEGER)",
    )
    .await;
    exec(
        &store,
        "INSERT INTO staff VALUES (1, 'Ana Ruiz', 'ana.ruiz@example.com', 'Picking', 'TX', 'PICKER', 1)",
    )
    .await;
    let d = start(s).await;
    let c = DaemonClient::admin(&d);
    let run = c.trigger(false).await;
    assert_eq!(c.wait_run(run, RUN_LIMIT).await["status"], "succeeded");
    let uid = SimClient::new(&sim)
        .user_by_email("ana.ruiz@example.com")
        .await[0]["user_id"]
        .as_str()
        .unwrap()
        .to_string();

    let page = c.get("/api/v1/employees/1").await;
    page.expect(200);
    assert_eq!(
        page.json["auth0"]["user_id"],
        uid.as_str(),
        "{:#}",
        page.json
    );
    let creds = c.post_empty("/api/v1/employees/1/credentials").await;
    creds.expect(200);
    assert_eq!(creds.json["auth0_user_id"], uid.as_str());
    d.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_shown_once_never_kept_and_fresh_each_time() {
    let (rows, accounts) = linked_staff(2, 0);
    let w = World::new(Db::Sqlite, &rows, |_| {}).await;
    let api = &w.api;
    api.seed(accounts).await;
    let (c, anon) = (w.admin(), w.anonymous());
    let uid = format!("auth0|{:024x}", 1);

    let first = c.post_empty("/api/v1/employees/1/credentials").await;
    first.expect(200);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    assert_eq!(first.json["employee_id"], 1);
    assert_eq!(first.json["auth0_user_id"], uid.as_str());
    assert!(first.json.get("ticket").is_none());
    let p1 = first.json["password"].as_str().unwrap().to_string();
    assert!(strong(&p1), "weak password {p1:?}");
    // Auth0 (the simulator enforces the password policy) took it.
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 1);

    let second = c.post_empty("/api/v1/employees/1/credentials").await;
    second.expect(200);
    let p2 = second.json["password"].as_str().unwrap().to_string();
    assert_ne!(p1, p2, "each call sets a fresh password");
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 2);

    // Nothing that can be read later holds either password.
    let run = c.trigger(false).await;
    c.wait_run(run, RUN_LIMIT).await;
    let mut seen = vec![
        c.get(&format!("/api/v1/runs/{run}")).await.text,
        c.get("/api/v1/runs").await.text,
        c.get("/api/v1/employees/1").await.text,
        c.get("/api/v1/findings").await.text,
        anon.get("/metrics").await.text,
        anon.get("/readyz").await.text,
    ];
    let audit = admin_audit(w.store()).await;
    assert_eq!(
        audit
            .iter()
            .filter(|a| *a == &(ADMIN_NAME.into(), "credentials".into(), "1".into()))
            .count(),
        2,
        "the audit says who asked: {audit:?}"
    );
    seen.push(format!("{audit:?}"));
    for text in &seen {
        for p in [&p1, &p2] {
            assert!(!text.contains(p.as_str()), "a password leaked into {text}");
        }
    }

    // Read-only tokens get no credentials.
    w.reader()
        .post_empty("/api/v1/employees/1/credentials")
        .await
        .expect_error(403, "forbidden");
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_for_an_account_or_employee_policy_excludes() {
    let (mut rows, mut accounts) = linked_staff(2, 0);
    accounts[0]["email"] = serde_json::json!("admin@example.com");
    // Employee 3's only account is an excluded admin account carrying
    // their id: no run creates theirs, so none "comes with the next run".
    let third = employee(3, "Third Person", "third@example.com", true);
    let mut admin = managed_account("auth0|0000000000000000000000ad", &third);
    admin["email"] = serde_json::json!("admin@example.org");
    accounts.push(admin);
    rows.push(third);
    let w = World::new(Db::Sqlite, &rows, |s| {
        s.policy.exclude.account_emails = vec!["admin@.*".into()];
        s.policy.exclude.employee_ids = vec![2];
    })
    .await;
    w.api.seed(accounts).await;
    let c = w.admin();
    let refused = c.post_empty("/api/v1/employees/1/credentials").await;
    refused.expect_error(409, "excluded");
    assert!(
        refused.text.contains("policy.exclude.account_emails"),
        "{}",
        refused.text
    );
    c.post_empty("/api/v1/employees/2/credentials")
        .await
        .expect_error(409, "excluded");
    c.post_empty("/api/v1/employees/3/credentials")
        .await
        .expect_error(409, "excluded");
    assert_eq!(w.api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_deadline_is_503_with_a_json_error() {
    let (rows, accounts) = linked_staff(1, 0);
    let w = World::new(Db::Sqlite, &rows, |s| s.serve.request_timeout_secs = 1).await;
    let (api, c) = (&w.api, w.admin());
    api.seed(accounts).await;
    // Setting the password waits on a slow Auth0 longer than the deadline.
    api.faults(json!({"latency_ms": 2500, "endpoint": "PATCH /api/v2/users/{id}"}))
        .await;
    let began = std::time::Instant::now();
    let r = c.post_empty("/api/v1/employees/1/credentials").await;
    r.expect_error(503, "timeout");
    let message = r.json["message"].as_str().unwrap();
    assert!(message.contains("request_timeout_secs"), "{}", r.text);
    assert!(
        began.elapsed() < std::time::Duration::from_millis(2400),
        "answered at the deadline, not when Auth0 did"
    );
    // The daemon stays healthy and answers the next request.
    api.clear_faults().await;
    c.post_empty("/api/v1/employees/1/credentials")
        .await
        .expect(200);
    w.daemon.shutdown().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_409_for_an_inactive_employee_or_one_without_an_account() {
    let (mut rows, accounts) = linked_staff(2, 1); // employee 1 is inactive
    rows.push(employee(3, "Not Yet", "not.yet@example.com", true));
    let w = World::new(Db::Postgres, &rows, |_| {}).await;
    let (api, c) = (&w.api, w.admin());
    api.seed(accounts).await;

    c.post_empty("/api/v1/employees/1/credentials")
        .await
        .expect_error(409, "inactive");
    c.post_empty("/api/v1/employees/3/credentials")
        .await
        .expect_error(409, "no_account");
    c.post_empty("/api/v1/employees/404/credentials")
        .await
        .expect_error(404, "not_found");
    c.post_empty("/api/v1/employees/x/credentials")
        .await
        .expect_error(400, "bad_request");
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_ticket_mode_are_a_password_change_ticket() {
    let (rows, accounts) = linked_staff(1, 0);
    let w = World::new(Db::Sqlite, &rows, |s| s.serve.credentials = "ticket".into()).await;
    let api = &w.api;
    api.seed(accounts).await;
    let r = w
        .admin()
        .post_empty("/api/v1/employees/1/credentials")
        .await;
    r.expect(200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.json.get("password").is_none(), "{}", r.text);
    let ticket = r.json["ticket"].as_str().unwrap();
    assert!(ticket.contains("ticket="), "{ticket}");
    assert_eq!(
        api.count("POST /api/v2/tickets/password-change", "201")
            .await,
        1
    );
    assert_eq!(api.count("PATCH /api/v2/users/{id}", "200").await, 0);
    w.daemon.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Authentication and bad input
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth_failure_is_401_with_a_challenge_and_read_only_tokens_only_read() {
    let w = World::new(Db::Sqlite, &staff(1), |_| {}).await;
    let anon = w.anonymous();
    let runs = || anon.request(Method::GET, "/api/v1/runs");
    let wrong = &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1];
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("missing", runs()),
        (
            "basic scheme",
            runs().basic_auth(ADMIN_NAME, Some(ADMIN_TOKEN)),
        ),
        (
            "token scheme",
            runs().header("authorization", format!("Token {ADMIN_TOKEN}")),
        ),
        (
            "bearer without token",
            runs().header("authorization", "Bearer "),
        ),
        ("bare token", runs().header("authorization", ADMIN_TOKEN)),
        ("wrong token", runs().bearer_auth("not-a-token-at-all-0000")),
        ("a prefix of a token", runs().bearer_auth(wrong)),
        ("the webhook secret", runs().bearer_auth(WEBHOOK_SECRET)),
    ];
    for (what, req) in cases {
        let r = anon.send(req).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.error(), "unauthorized", "{what}");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer")),
            "{what}: {:?}",
            r.headers
        );
    }

    // Every documented admin operation demands the token.
    let doc = anon.get("/api/v1/openapi.json").await.json;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op.get("security") == Some(&json!([])) {
                continue;
            }
            let path = path.replace("{id}", "1");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = anon.send(anon.request(m, &path).json(&json!({}))).await;
            assert_eq!(r.status, 401, "{method} {path} without a token: {}", r.text);
        }
    }

    // Read-only: every GET works, nothing else does.
    let reader = w.reader();
    for path in [
        "/api/v1/runs",
        "/api/v1/findings",
        "/api/v1/findings/acks",
        "/api/v1/triage",
        "/api/v1/podfactory/non-employees",
        "/api/v1/mappings",
        "/api/v1/employees/1",
    ] {
        reader.get(path).await.expect(200);
    }
    for (path, body) in [
        (
            "/api/v1/podfactory/non-employees",
            json!({"podfactory_user_id": "pf-1"}),
        ),
        (
            "/api/v1/findings/acks",
            json!({"key": "orphaned|||auth0|x"}),
        ),
    ] {
        reader.post(path, body).await.expect_error(403, "forbidden");
    }
    for path in [
        "/api/v1/podfactory/non-employees/pf-1",
        "/api/v1/findings/acks/orphaned%7C%7C%7Cauth0%7Cx",
    ] {
        reader.delete(path).await.expect_error(403, "forbidden");
    }
    reader
        .post("/api/v1/runs", json!({}))
        .await
        .expect_error(403, "forbidden");
    reader
        .post(
            "/api/v1/mappings",
            json!({"podfactory_user_id": "pf-1", "employee_id": 1}),
        )
        .await
        .expect_error(403, "forbidden");
    reader
        .delete("/api/v1/mappings/1")
        .await
        .expect_error(403, "forbidden");
    assert!(w.admin().runs().await.is_empty(), "nothing started");
    assert!(
        admin_audit(w.store()).await.is_empty(),
        "refused calls did nothing"
    );

    // The full token, in either spelling of the scheme, works.
    let r = anon
        .send(runs().header("authorization", format!("bearer {ADMIN_TOKEN}")))
        .await;
    r.expect(200);

    // Open without a token: metrics, health, the API description.
    for path in ["/metrics", "/healthz", "/readyz", "/api/v1/openapi.json"] {
        anon.get(path).await.expect(200);
    }
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_admin_tokens_configured_the_admin_api_is_closed() {
    let w = World::new(Db::Sqlite, &staff(1), |s| s.serve.admin_tokens.clear()).await;
    let r = w.admin().get("/api/v1/runs").await;
    r.expect_error(401, "unauthorized");
    assert!(r.json["message"]
        .as_str()
        .unwrap()
        .contains("ROSTERD_ADMIN_TOKENS"));
    w.admin()
        .post("/api/v1/runs", json!({}))
        .await
        .expect_error(401, "unauthorized");
    w.anonymous().get("/healthz").await.expect(200);
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_rejected_with_a_json_error_and_start_nothing() {
    let w = World::new(Db::Sqlite, &staff(1), |s| s.serve.body_limit_bytes = 1024).await;
    let c = w.admin();
    let raw = |ct: Option<&str>, body: Vec<u8>| {
        let r = c.request(Method::POST, "/api/v1/runs").body(body);
        match ct {
            Some(ct) => r.header("content-type", ct),
            None => r,
        }
    };
    let json_ct = Some("application/json");

    let r = c.send(raw(json_ct, b"{\"dry_run\": tru".to_vec())).await;
    r.expect_error(400, "bad_request");
    assert!(r.json["message"].as_str().unwrap().contains("invalid JSON"));

    let r = c
        .send(raw(
            json_ct,
            br#"{"dry_run": true, "force": true}"#.to_vec(),
        ))
        .await;
    r.expect_error(400, "bad_request");
    assert!(
        r.json["message"].as_str().unwrap().contains("force"),
        "an unknown field is named: {}",
        r.text
    );

    c.send(raw(json_ct, br#"{"dry_run": "yes"}"#.to_vec()))
        .await
        .expect_error(400, "bad_request");
    // serde alone would read `[true]` as `{"dry_run": true}` (and
    // `["pf-1", 2]` as a mapping): only objects are bodies here.
    c.send(raw(json_ct, b"[true]".to_vec()))
        .await
        .expect_error(400, "bad_request");
    c.send(
        c.request(Method::POST, "/api/v1/mappings")
            .json(&json!(["pf-1", 1])),
    )
    .await
    .expect_error(400, "bad_request");
    c.send(raw(json_ct, vec![0xff, 0xfe, 0x00]))
        .await
        .expect_error(400, "bad_request");

    let r = c
        .send(raw(Some("text/plain"), br#"{"dry_run": true}"#.to_vec()))
        .await;
    r.expect_error(415, "unsupported_media_type");
    c.send(raw(
        Some("application/x-www-form-urlencoded"),
        b"dry_run=true".to_vec(),
    ))
    .await
    .expect_error(415, "unsupported_media_type");

    // Over the limit: refused before it is parsed, with or without a
    // Content-Length that says so.
    let big = format!(r#"{{"dry_run": true, "pad": "{}"}}"#, "x".repeat(4096));
    let r = c.send(raw(json_ct, big.clone().into_bytes())).await;
    r.expect_error(413, "payload_too_large");
    let (status, answer) = post_chunked(&w.daemon, "/api/v1/runs", big.as_bytes()).await;
    assert_eq!(status, 413, "a chunked body over the limit: {answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
    assert_eq!(answer["error"], "payload_too_large", "{answer}");
    let mapping = format!(
        r#"{{"podfactory_user_id": "{}", "employee_id": 1}}"#,
        "p".repeat(2048)
    );
    c.send(
        c.request(Method::POST, "/api/v1/mappings")
            .header("content-type", "application/json")
            .body(mapping),
    )
    .await
    .expect_error(413, "payload_too_large");

    assert!(c.runs().await.is_empty(), "no bad request started a run");
    assert!(c.get("/api/v1/mappings").await.json["mappings"] == json!([]));

    // The limit leaves room for real requests; an empty body means {}.
    let r = c.send(raw(None, Vec::new())).await;
    r.expect(202);
    assert_eq!(r.json["dry_run"], false);
    c.wait_run(r.json["run_id"].as_i64().unwrap(), RUN_LIMIT)
        .await;
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404_malformed_ids_and_queries_400() {
    let w = World::new(Db::Sqlite, &staff(1), |_| {}).await;
    let c = w.admin();
    c.get("/api/v1/runs/987654")
        .await
        .expect_error(404, "not_found");
    for bad in ["abc", "1.5", "-", "99999999999999999999999"] {
        c.get(&format!("/api/v1/runs/{bad}"))
            .await
            .expect_error(400, "bad_request");
    }
    for query in [
        "status=bogus",
        "limit=0",
        "limit=201",
        "limit=ten",
        "before=yesterday",
        "colour=blue",
    ] {
        c.get(&format!("/api/v1/runs?{query}"))
            .await
            .expect_error(400, "bad_request");
    }
    let r = c.get("/api/v1/no-such-thing").await;
    r.expect_error(404, "not_found");
    let r = w.anonymous().get("/nowhere").await;
    r.expect_error(404, "not_found");
    w.daemon.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// The inbound webhook
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhook_is_accepted_and_a_run_follows_bad_signatures_are_401() {
    let w = World::new(Db::Sqlite, &staff(2), |s| {
        s.serve.webhook_secret = Some(rosterd::config::Secret::new(WEBHOOK_SECRET));
    })
    .await;
    let anon = w.anonymous();
    let body = br#"{"type":"user.updated","data":{"user_id":"auth0|1"}}"#.to_vec();
    let hook = |sig: Option<String>, body: Vec<u8>| {
        let r = anon
            .request(Method::POST, "/api/v1/hooks/auth0")
            .header("content-type", "application/json")
            .body(body);
        match sig {
            Some(sig) => r.header("x-rosterd-signature", sig),
            None => r,
        }
    };

    let bad = [
        ("no signature", hook(None, body.clone())),
        (
            "signature of another body",
            hook(
                Some(format!("sha256={}", hmac_hex(WEBHOOK_SECRET, b"{}"))),
                body.clone(),
            ),
        ),
        (
            "signature with another key",
            hook(
                Some(format!("sha256={}", hmac_hex("other-secret", &body))),
                body.clone(),
            ),
        ),
        (
            "no sha256= prefix",
            hook(Some(hmac_hex(WEBHOOK_SECRET, &body)), body.clone()),
        ),
        (
            "not hex",
            hook(Some("sha256=zz-not-hex".into()), body.clone()),
        ),
        (
            "an admin token",
            hook(None, body.clone()).bearer_auth(ADMIN_TOKEN),
        ),
    ];
    for (what, req) in bad {
        let r = anon.send(req).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.error(), "unauthorized", "{what}");
        assert!(r.header("www-authenticate").is_some(), "{what}");
    }
    // A signed body over the limit is refused before it is looked at.
    let huge = vec![b' '; 65 * 1024];
    let r = anon
        .send(hook(
            Some(format!("sha256={}", hmac_hex(WEBHOOK_SECRET, &huge))),
            huge,
        ))
        .await;
    r.expect_error(413, "payload_too_large");

    // None of them started anything (the debounce is 200 ms).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let c = w.admin();
    assert!(c.runs().await.is_empty());

    let sig = format!("sha256={}", hmac_hex(WEBHOOK_SECRET, &body));
    let r = anon.send(hook(Some(sig), body.clone())).await;
    r.expect(202);
    assert_eq!(r.json["accepted"], true);
    let run = eventually("a run after the webhook", RUN_LIMIT, || async {
        let runs = c.runs().await;
        runs.first().filter(|r| r["status"] != "running").cloned()
    })
    .await;
    assert_eq!(run["trigger"], "change");
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(w.api.users().await.len(), 2);

    // The shared secret as a bearer token works too.
    let r = anon
        .send(hook(None, b"{}".to_vec()).bearer_auth(WEBHOOK_SECRET))
        .await;
    r.expect(202);
    eventually("a second run after the webhook", RUN_LIMIT, || async {
        let runs = c.runs().await;
        (runs.len() == 2 && runs.iter().all(|r| r["status"] != "running")).then_some(())
    })
    .await;
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_without_a_secret_is_404() {
    let w = World::new(Db::Sqlite, &staff(1), |_| {}).await;
    let body = b"{}";
    let r = w
        .anonymous()
        .send(
            w.anonymous()
                .request(Method::POST, "/api/v1/hooks/auth0")
                .header(
                    "x-rosterd-signature",
                    format!("sha256={}", hmac_hex("", body)),
                )
                .body(body.to_vec()),
        )
        .await;
    r.expect_error(404, "not_found");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(w.admin().runs().await.is_empty());
    w.daemon.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Change triggers and shutdown
// ---------------------------------------------------------------------------

async fn inserted_employee_gets_an_account_within_seconds_and_own_writes_do_not_retrigger(
    kind: Db,
) {
    let w = World::new(kind, &staff(2), |_| {}).await;
    let c = w.admin();
    // Settle first: the two seeded employees get their accounts.
    let first = c.trigger(false).await;
    c.wait_run(first, RUN_LIMIT).await;
    assert_eq!(w.api.users().await.len(), 2);

    // The Productivity System hires someone.
    let t0 = Instant::now();
    exec(
        w.store(),
        "INSERT INTO employees (id, full_name, email, department, workspace, role_code, is_active) \
         VALUES (50, 'New Hire', 'new.hire@example.com', 'Packing', 'TX', 'PACKER', TRUE)",
    )
    .await;
    let account = eventually(
        "an account for the new hire",
        Duration::from_secs(10),
        || async {
            w.api
                .user_by_email("new.hire@example.com")
                .await
                .into_iter()
                .next()
        },
    )
    .await;
    println!("{kind:?}: INSERT to Auth0 account in {:?}", t0.elapsed());
    let uid = account["user_id"].as_str().unwrap().to_string();
    assert_eq!(account["app_metadata"]["employee_id"], 50);
    let change = eventually("the change run to finish", RUN_LIMIT, || async {
        let runs = c.runs().await;
        runs.first()
            .filter(|r| r["id"] != first && r["status"] != "running")
            .cloned()
    })
    .await;
    assert_eq!(change["trigger"], "change");
    assert_eq!(change["status"], "succeeded", "{change:#}");
    assert_eq!(change["actions_planned"], 1);
    assert_eq!(
        employee_links(w.store()).await[&50].as_deref(),
        Some(uid.as_str())
    );

    // Writing auth0_user_id back was rosterd's own change: no run follows
    // it (a debounce and several polls pass).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(c.runs().await.len(), 2, "{:#?}", c.runs().await);

    // An edit is a change too: the account follows a rename.
    exec(
        w.store(),
        "UPDATE employees SET full_name = 'New Hire-Smith' WHERE id = 50",
    )
    .await;
    eventually(
        "the rename to reach Auth0",
        Duration::from_secs(10),
        || async {
            let u = w.api.user_by_email("new.hire@example.com").await;
            (u.first()?["name"] == "New Hire-Smith").then_some(())
        },
    )
    .await;
    assert_eq!(w.api.users().await.len(), 3, "one account per employee");
    w.daemon.shutdown().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_during_a_run_coalesce_into_one_follow_up_run() {
    let w = World::new(Db::Postgres, &staff(6), |s| s.auth0.concurrency = 1).await;
    w.api
        .faults(json!({"latency_ms": 250, "endpoint": "POST /api/v2/users"}))
        .await;
    let c = w.admin();
    let first = c.trigger(false).await;
    // A burst of separate changes while the run applies (one NOTIFY each).
    for i in 0..4 {
        exec(
            w.store(),
            &format!(
                "INSERT INTO employees (id, full_name, email, department, workspace, role_code, is_active) \
                 VALUES ({}, 'Burst Hire{i}', 'burst{i}@example.com', 'Packing', 'TX', 'PACKER', TRUE)",
                100 + i
            ),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c.runs().await[0]["id"], first, "still the first run");
    w.api.clear_faults().await;
    eventually("four burst accounts", RUN_LIMIT, || async {
        (w.api.users().await.len() == 10).then_some(())
    })
    .await;
    // Let any further run show itself: debounce 200 ms + retry 250 ms.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = c.runs().await;
    let triggers: Vec<&str> = runs
        .iter()
        .rev()
        .map(|r| r["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(
        triggers,
        ["http", "change"],
        "one follow-up run for the whole burst: {runs:#?}"
    );
    w.daemon.shutdown().await.unwrap();
}

/// PostgreSQL only: NOTIFYs sent while the daemon's LISTEN connection is
/// down (a failover, a restart, an idle-connection reaper) are lost, so a
/// change made then must still reach Auth0 once the daemon listens again.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_made_while_the_listen_connection_was_down_is_not_lost() {
    use sqlx::Connection;
    let db = TestDb::new(Db::Postgres).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let s = daemon_settings(&db, &sim);
    seed_employees(&s, &staff(1)).await;
    let d = start(s).await;
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let mut hr = sqlx::PgConnection::connect(&db.url).await.unwrap();
    eventually("the daemon to LISTEN", Duration::from_secs(10), || {
        let url = db.url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND query LIKE 'LISTEN%'",
            )
            .fetch_one(&mut conn)
            .await
            .ok()?;
            (n > 0).then_some(())
        }
    })
    .await;

    // The database refuses new connections and drops the daemon's.
    let mut admin = sqlx::PgConnection::connect(PG_ADMIN_URL).await.unwrap();
    let (hr_pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut hr)
        .await
        .unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2",
    )
    .bind(&name)
    .bind(hr_pid)
    .execute(&mut admin)
    .await
    .unwrap();
    // HR hires someone meanwhile (the NOTIFY reaches no one).
    sqlx::query(
        "INSERT INTO employees (id, full_name, email, department, workspace, role_code, is_active) \
         VALUES (60, 'Gap Hire', 'gap.hire@example.com', 'Packing', 'TX', 'PACKER', TRUE)",
    )
    .execute(&mut hr)
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();

    eventually(
        "an account for the employee hired during the gap",
        Duration::from_secs(10),
        || async {
            api.user_by_email("gap.hire@example.com")
                .await
                .into_iter()
                .next()
        },
    )
    .await;
    hr.close().await.unwrap();
    d.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_during_shutdown_are_503_shutting_down() {
    let w = World::new(Db::Sqlite, &staff(4), |s| s.auth0.concurrency = 1).await;
    w.api
        .faults(json!({"latency_ms": 2000, "endpoint": "POST /api/v2/users"}))
        .await;
    let c = w.admin();
    let id = c.trigger(false).await;
    // Shut down while a create is in flight, so the daemon is draining (and
    // still listening) for up to 2 s: before the first action starts, the
    // run stops at once and HTTP closes before a trigger can be tried.
    eventually("one account created", Duration::from_secs(10), || async {
        let run = c.get(&format!("/api/v1/runs/{id}")).await.json;
        (statuses(&run).get("succeeded").copied().unwrap_or(0) >= 1).then_some(())
    })
    .await;
    let store = w.store().clone();
    let stopping = tokio::spawn(w.daemon.shutdown());
    let answer = eventually(
        "an answer other than 409",
        Duration::from_secs(10),
        || async {
            let r = c
                .request(Method::POST, "/api/v1/runs")
                .json(&json!({}))
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            let body: Value = r.json().await.ok()?;
            (status != 409).then_some((status, body))
        },
    )
    .await;
    assert_eq!(answer.0, 503, "{answer:?}");
    assert_eq!(answer.1["error"], "shutting_down");
    stopping.await.unwrap().unwrap();
    let run = store.get_run(id).await.unwrap().unwrap();
    assert_eq!(run.status.as_str(), "interrupted", "{run:?}");
}

async fn shutdown_mid_apply_records_interrupted_and_a_new_daemon_finishes_the_plan(kind: Db) {
    let db = TestDb::new(kind).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = daemon_settings(&db, &sim);
    s.auth0.concurrency = 2;
    seed_employees(&s, &staff(30)).await;
    api.faults(json!({"latency_ms": 300, "endpoint": "POST /api/v2/users"}))
        .await;
    let d = start(s.clone()).await;
    let c = DaemonClient::admin(&d);
    let id = c.trigger(false).await;
    eventually("two accounts created", RUN_LIMIT, || async {
        let run = c.get(&format!("/api/v1/runs/{id}")).await.json;
        (statuses(&run).get("succeeded").copied().unwrap_or(0) >= 2).then_some(())
    })
    .await;

    let store = d.ctx.store.clone();
    let base = d.base_url();
    let t0 = Instant::now();
    d.shutdown().await.expect("a clean shutdown");
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "HTTP stopped"
    );

    let run = store.get_run(id).await.unwrap().unwrap();
    assert_eq!(run.status.as_str(), "interrupted", "{run:?}");
    assert!(run.finished_at.is_some());
    assert!(run.error.as_deref().unwrap().contains("interrupted"));
    let actions = store.run_actions(id).await.unwrap();
    assert_eq!(actions.len(), 30);
    let done: Vec<_> = actions
        .iter()
        .filter(|a| a.status.as_str() == "succeeded")
        .collect();
    let skipped: Vec<_> = actions
        .iter()
        .filter(|a| a.status.as_str() == "skipped")
        .collect();
    assert_eq!(
        done.len() + skipped.len(),
        30,
        "every action either ran or was skipped (none left planned, none failed): {:?}",
        actions.iter().map(|a| &a.status).collect::<Vec<_>>()
    );
    assert!(
        done.len() >= 2 && !skipped.is_empty(),
        "{} done",
        done.len()
    );
    assert!(skipped.iter().all(|a| a.finished_at.is_some()
        && a.error
            .as_deref()
            .is_some_and(|e| e.contains("not started"))));
    assert_eq!(run.actions_succeeded, done.len() as i64);
    assert_eq!(
        api.users().await.len(),
        done.len(),
        "the actions under way finished, none started after"
    );

    // A new daemon (same database, same tenant) finishes the plan.
    api.clear_faults().await;
    let d2 = start(s).await;
    let c2 = DaemonClient::admin(&d2);
    let next = c2.trigger(false).await;
    let next = c2.wait_run(next, RUN_LIMIT).await;
    assert_eq!(next["status"], "succeeded", "{next:#}");
    assert_eq!(next["actions_planned"], skipped.len());
    assert!(next["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["kind"] == "create" && a["status"] == "succeeded"));
    let listed = c2.get("/api/v1/runs?status=interrupted").await;
    assert_eq!(listed.json["runs"][0]["id"], id);

    let users = api.users().await;
    let mut per_email: BTreeMap<String, usize> = BTreeMap::new();
    for u in &users {
        *per_email
            .entry(u["email"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(per_email.len(), 30);
    assert!(
        per_email.values().all(|&n| n == 1),
        "exactly one account per employee: {per_email:?}"
    );
    let links = employee_links(&store).await;
    let ids: BTreeSet<_> = links.values().flatten().collect();
    assert_eq!(ids.len(), 30, "every employee linked to its own account");
    d2.shutdown().await.unwrap();
    drop(sim);
}

// ---------------------------------------------------------------------------
// Metrics and the API description
// ---------------------------------------------------------------------------

/// A line-by-line check of the Prometheus text exposition format 0.0.4:
/// names, labels, values, HELP/TYPE before samples, no duplicate series,
/// histogram buckets that add up. Returns `sample name{labels}` -> value.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    fn valid_name(n: &str) -> bool {
        let mut chars = n.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeSet<String> = BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(valid_name(name), "HELP name {line:?}");
            assert!(helps.insert(name.to_string()), "HELP twice: {line:?}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(valid_name(name), "TYPE name {line:?}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "TYPE {line:?}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice: {line:?}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "stray comment {line:?}");
        let name_end = line.find(['{', ' ']).expect("a sample has a value");
        let name = &line[..name_end];
        assert!(valid_name(name), "sample name in {line:?}");
        let (labels, value_part) = if line[name_end..].starts_with('{') {
            let close = line.rfind('}').expect("labels close");
            (&line[name_end..=close], line[close + 1..].trim_start())
        } else {
            ("", line[name_end..].trim_start())
        };
        if !labels.is_empty() {
            // `{a="x",b="y"}` with escaped quotes allowed inside values.
            let inner = &labels[1..labels.len() - 1];
            let mut rest = inner;
            while !rest.is_empty() {
                let eq = rest
                    .find("=\"")
                    .unwrap_or_else(|| panic!("label in {line:?}"));
                assert!(valid_name(&rest[..eq]), "label name in {line:?}");
                let mut i = eq + 2;
                let bytes = rest.as_bytes();
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                rest = rest[i + 1..].trim_start_matches(',');
            }
        }
        let value = value_part.split(' ').next().unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
        };
        let family = [name.to_string()]
            .into_iter()
            .chain(
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|s| name.strip_suffix(s).map(str::to_string)),
            )
            .find(|f| types.contains_key(f))
            .unwrap_or_else(|| panic!("no TYPE before {line:?}"));
        assert!(helps.contains(&family), "no HELP for {family}");
        if types[&family] == "counter" {
            assert!(value >= 0.0, "a negative counter: {line:?}");
        }
        let key = format!("{name}{labels}");
        assert!(
            samples.insert(key, value).is_none(),
            "duplicate series {line:?}"
        );
    }
    // Histograms: cumulative buckets ending in +Inf == _count.
    for (family, _) in types.iter().filter(|(_, k)| *k == "histogram") {
        let inf: Vec<_> = samples
            .iter()
            .filter(|(k, _)| {
                k.starts_with(&format!("{family}_bucket")) && k.contains("le=\"+Inf\"")
            })
            .collect();
        for (k, v) in inf {
            let count_key = k
                .replace("_bucket", "_count")
                .replace(",le=\"+Inf\"", "")
                .replace("le=\"+Inf\",", "")
                .replace("{le=\"+Inf\"}", "");
            assert_eq!(samples.get(&count_key), Some(v), "{k} vs {count_key}");
        }
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_runs_total_after_a_run_in_prometheus_text_format() {
    let w = World::new(Db::Sqlite, &staff(2), |_| {}).await;
    let anon = w.anonymous();
    let before = anon.get("/metrics").await;
    before.expect(200);
    parse_exposition(&before.text);

    let c = w.admin();
    let id = c.trigger(false).await;
    c.wait_run(id, RUN_LIMIT).await;
    let r = anon.get("/metrics").await;
    r.expect(200);
    let ct = r.header("content-type").unwrap();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let samples = parse_exposition(&r.text);
    assert_eq!(
        samples.get(r#"rosterd_runs_total{status="succeeded",trigger="http"}"#),
        Some(&1.0),
        "{}",
        r.text
    );
    assert!(r.text.contains("# TYPE rosterd_runs_total counter"));
    assert_eq!(
        samples.get(r#"rosterd_actions_total{kind="create",outcome="succeeded"}"#),
        Some(&2.0),
        "{}",
        r.text
    );
    assert!(!r.text.contains(ADMIN_TOKEN) && !r.text.contains(READ_TOKEN));
    w.daemon.shutdown().await.unwrap();
}

/// `(METHOD, path)` of every route the router in `src/http/mod.rs` declares
/// under `/api/v1`, read from its source (axum cannot list its routes).
fn router_routes() -> BTreeSet<(String, String)> {
    let src = include_str!("../../crates/rosterd/src/http/mod.rs");
    let body = &src[src.find("pub fn router(").expect("fn router")..];
    let nest = body.find(".nest(\"/api/v1\"").expect("the /api/v1 nest");
    let api = &body[..nest];
    let mut out = BTreeSet::new();
    let mut rest = api;
    // `.route("/path", …)`, on one line or (rustfmt's) several.
    while let Some(at) = rest.find(".route(") {
        let Some(after) = rest[at + ".route(".len()..].trim_start().strip_prefix('"') else {
            rest = &rest[at + ".route(".len()..];
            continue;
        };
        let path = &after[..after.find('"').unwrap()];
        // The route's arguments: up to the parenthesis closing `.route(`.
        let mut depth = 1;
        let mut end = 0;
        for (i, ch) in after.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &after[..end];
        for m in ["get", "post", "put", "patch", "delete"] {
            let found = args.match_indices(&format!("{m}(")).any(|(i, _)| {
                i == 0 || {
                    let prev = args.as_bytes()[i - 1];
                    !(prev.is_ascii_alphanumeric() || prev == b'_')
                }
            });
            if found {
                out.insert((m.to_uppercase(), format!("/api/v1{path}")));
            }
        }
        rest = &after[end..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_api_route_the_router_serves() {
    let w = World::new(Db::Sqlite, &staff(1), |_| {}).await;
    let anon = w.anonymous();
    let r = anon.get("/api/v1/openapi.json").await;
    r.expect(200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let doc = r.json;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in ops.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has responses"
            );
            if path.contains("{id}") {
                assert!(
                    op["parameters"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|p| p["name"] == "id" && p["in"] == "path")),
                    "{method} {path} declares its id"
                );
            }
            if op.get("security") != Some(&json!([])) {
                assert!(
                    op["responses"].get("401").is_some(),
                    "{method} {path} documents 401"
                );
            }
        }
    }
    let routed = router_routes();
    assert!(routed.len() >= 18, "parsed the router: {routed:?}");
    assert_eq!(
        documented, routed,
        "documented (left) and routed (right) /api/v1 operations differ"
    );

    // And every documented operation is really served (not the fallback,
    // not 405), by the running daemon.
    let c = w.admin();
    for (method, path) in &documented {
        let path = path.replace("{id}", "424242");
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let req = c.request(m, &path);
        let req = if method == "POST" {
            req.json(&json!({"probe": true}))
        } else {
            req
        };
        let r = c.send(req).await;
        assert_ne!(r.status, 405, "{method} {path}: {}", r.text);
        assert_ne!(
            r.json["message"], "no such endpoint",
            "{method} {path} is documented but not routed"
        );
    }
    // Undocumented methods on documented paths are not served.
    let r = c.send(c.request(Method::PUT, "/api/v1/runs")).await;
    assert_eq!(r.status, 405, "{}", r.text);
    w.daemon.shutdown().await.unwrap();
}
