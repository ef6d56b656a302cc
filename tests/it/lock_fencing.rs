//! The leader lock is fenced (issue 9, defect 0): two `serve` replicas on
//! one database, the lock's connection killed mid-run; the SQLite lease
//! renewed and its loss noticed; a non-leader's 409 and a second CLI run
//! name the running run; the change listener's reconnects start no runs.
//! Second pass: a holder's identity survives cloned hosts, a run closed by
//! a successor stays closed, abandoned runs keep their action counts, a run
//! that lost leadership gets a follow-up, and `rosterd_held_runs` survives a
//! restart.

use crate::common::*;
use rosterd::daemon::RunningDaemon;
use rosterd::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// A database, the simulator and `n` employees without accounts; creating
/// an account takes `latency_ms`, one at a time, so a run lasts seconds.
struct Setup {
    db: TestDb,
    sim: auth0_sim::RunningSim,
    api: SimClient,
    settings: rosterd::config::Settings,
}

async fn setup(kind: Db, n: i64) -> Setup {
    let db = TestDb::new(kind).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut settings = daemon_settings(&db, &sim);
    settings.auth0.concurrency = 1;
    seed_employees(&settings, &staff(n)).await;
    Setup {
        db,
        sim,
        api,
        settings,
    }
}

impl Setup {
    async fn replica(&self) -> RunningDaemon {
        rosterd::daemon::spawn(self.settings.clone())
            .await
            .expect("a replica starts")
    }
    async fn slow_creates(&self, latency_ms: u64) {
        self.api
            .faults(json!({"latency_ms": latency_ms, "endpoint": "POST /api/v2/users"}))
            .await;
    }
}

fn store(d: &RunningDaemon) -> &Store {
    &d.ctx.store
}

/// Until `n` accounts exist in the simulator.
async fn wait_accounts(api: &SimClient, n: usize) {
    eventually(&format!("{n} accounts"), LIMIT, || async move {
        (api.users().await.len() >= n).then_some(())
    })
    .await;
}

/// Until no run is `running`.
async fn wait_all_finished(s: &Store) {
    eventually("every run to finish", LIMIT, || async move {
        let runs = s.list_runs(500).await.unwrap();
        runs.iter()
            .all(|r| r.status.as_str() != "running")
            .then_some(())
    })
    .await;
}

/// No two runs of the history overlap in time.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn assert_no_overlap(s: &Store) {
    let runs = s.list_runs(500).await.unwrap();
    // A run still going (a change's follow-up) is open-ended.
    let now = chrono::Utc::now();
    for a in &runs {
        for b in &runs {
            if a.id >= b.id {
                continue;
            }
            let (a_end, b_end) = (a.finished_at.unwrap_or(now), b.finished_at.unwrap_or(now));
            assert!(
                a_end <= b.started_at || b_end <= a.started_at,
                "runs {} ({} .. {a_end}, {}) and {} ({} .. {b_end}, {}) overlap",
                a.id,
                a.started_at,
                a.status,
                b.id,
                b.started_at,
                b.status
            );
        }
    }
}

/// Every employee has at most one account; returns how many have one.
async fn assert_one_account_each(api: &SimClient) -> usize {
    let mut by_employee: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for u in api.users().await {
        let id = u["app_metadata"]["employee_id"].as_i64().expect("managed");
        by_employee.entry(id).or_default().push(u["email"].clone());
    }
    for (id, emails) in &by_employee {
        assert_eq!(emails.len(), 1, "employee {id} has accounts {emails:?}");
    }
    by_employee.len()
}

/// Kill the database connection that holds the leader lock.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn kill_lock_connection(s: &Store) {
    match s {
        #[cfg(feature = "postgres")]
        Store::Postgres(_) => {
            let killed: Vec<(bool,)> = fetch_all(
                s,
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .await;
            assert_eq!(killed, vec![(true,)], "one lock connection killed");
        }
        #[cfg(feature = "mysql")]
        Store::MySql(_) => {
            let holder: Vec<(Option<i64>,)> =
                fetch_all(s, "SELECT IS_USED_LOCK(CONCAT('rosterd:', DATABASE()))").await;
            let id = holder[0].0.expect("the lock is held");
            exec(s, &format!("KILL CONNECTION {id}")).await;
        }
        Store::Sqlite(_) => unreachable!("SQLite has a lease, not a lock connection"),
    }
}

/// Two replicas; the leader's lock connection is killed mid-run and one
/// employee's email changes meanwhile. The leader stops writing, the other
/// replica runs only after it, and nobody gets a second account.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn lock_connection_killed_mid_run(kind: Db) {
    let w = setup(kind, 12).await;
    let a = w.replica().await;
    let b = w.replica().await;
    let (ca, cb) = (DaemonClient::admin(&a), DaemonClient::admin(&b));
    w.slow_creates(300).await;

    let first = ca.trigger(false).await;
    wait_accounts(&w.api, 2).await;
    kill_lock_connection(store(&a)).await;
    exec(
        store(&a),
        "UPDATE employees SET email = 'moved12@example.com' WHERE id = 12",
    )
    .await;
    let second = cb.trigger_when_free(LIMIT).await;
    assert_ne!(second, first);
    cb.wait_run(second, LIMIT).await;
    wait_all_finished(store(&a)).await;

    assert_no_overlap(store(&a)).await;
    let lost = ca.wait_run(first, LIMIT).await;
    assert_eq!(lost["status"], "failed", "{lost:#}");
    assert!(
        lost["error"]
            .as_str()
            .is_some_and(|e| e.contains("leadership lost")),
        "{lost:#}"
    );

    // It converges: every employee one account, and a last run plans nothing.
    w.api.clear_faults().await;
    let finishing = cb.trigger_when_free(LIMIT).await;
    cb.wait_run(finishing, LIMIT).await;
    wait_all_finished(store(&a)).await;
    assert_eq!(assert_one_account_each(&w.api).await, 12);
    assert_eq!(w.api.user_by_email("moved12@example.com").await.len(), 1);
    let last = ca.trigger_when_free(LIMIT).await;
    let last = ca.wait_run(last, LIMIT).await;
    assert_eq!(last["status"], "succeeded", "{last:#}");
    assert_eq!(last["actions_planned"], 0, "{last:#}");
    assert_no_overlap(store(&a)).await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lock_connection_killed_mid_run() {
    lock_connection_killed_mid_run(Db::Postgres).await
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_lock_connection_killed_mid_run() {
    lock_connection_killed_mid_run(Db::MySql).await
}

/// SQLite: the lease is renewed while a run lives (a run longer than the
/// lease must not let another in), and a lease taken over stops the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_lease_is_renewed_and_losing_it_stops_the_run() {
    let w = setup(Db::Sqlite, 12).await;
    let a = w.replica().await;
    let ca = DaemonClient::admin(&a);
    w.slow_creates(300).await;
    let id = ca.trigger(false).await;
    wait_accounts(&w.api, 1).await;

    let expiry =
        || async { fetch_all::<(i64,)>(store(&a), "SELECT expires_at FROM rosterd_lock").await };
    let before = expiry().await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = expiry().await;
    assert!(
        after[0].0 > before[0].0,
        "renewed: {before:?} then {after:?}"
    );

    // Another process takes the lease over (as if ours had lapsed).
    exec(
        store(&a),
        "UPDATE rosterd_lock SET holder = 'elsewhere:1', expires_at = expires_at + 600",
    )
    .await;
    let created = w.api.users().await.len();
    let run = ca.wait_run(id, LIMIT).await;
    assert_eq!(run["status"], "failed", "{run:#}");
    assert!(
        run["error"].as_str().unwrap().contains("leadership lost"),
        "{run:#}"
    );
    assert!(
        w.api.users().await.len() <= created + 1,
        "at most the create in flight completes after the loss"
    );
    let actions = store(&a).run_actions(id).await.unwrap();
    assert!(
        actions.iter().any(|x| x.status.as_str() == "skipped"
            && x.error
                .as_deref()
                .is_some_and(|e| e.contains("not started: leadership lost"))),
        "{actions:#?}"
    );
    // The lease is not ours: no run starts until it is free again.
    ca.post("/api/v1/runs", json!({}))
        .await
        .expect_error(409, "run_in_progress");
    exec(store(&a), "DELETE FROM rosterd_lock").await;
    w.api.clear_faults().await;
    let next = ca.trigger_when_free(LIMIT).await;
    assert_eq!(ca.wait_run(next, LIMIT).await["status"], "succeeded");
    assert_eq!(assert_one_account_each(&w.api).await, 12);
    a.shutdown().await.unwrap();
}

/// A replica that is not the leader answers 409 naming the leader's run.
async fn non_leader_409_names_the_running_run(kind: Db) {
    let w = setup(kind, 6).await;
    let a = w.replica().await;
    let b = w.replica().await;
    w.slow_creates(300).await;
    let id = DaemonClient::admin(&a).trigger(false).await;

    let r = DaemonClient::admin(&b)
        .post("/api/v1/runs", json!({"dry_run": true}))
        .await;
    r.expect_error(409, "run_in_progress");
    assert_eq!(r.json["run_id"], id, "{}", r.text);
    assert!(r.json["holder"].as_str().is_some(), "{}", r.text);
    assert!(r.json["since"].as_str().is_some(), "{}", r.text);

    w.api.clear_faults().await;
    DaemonClient::admin(&a).wait_run(id, LIMIT).await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// `rosterd run` while another run holds the lock: exit 4, the run named on
/// stderr, and with `--output json` a JSON body on stdout.
async fn second_cli_run_says_who_holds_the_lock(kind: Db) {
    let w = setup(kind, 6).await;
    let a = w.replica().await;
    w.slow_creates(400).await;
    let id = DaemonClient::admin(&a).trigger(false).await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rosterd.toml");
    let cfg = auth0_sim::SimConfig::default();
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n[auth0]\nbase_url = \"{}\"\ndomain = \"test.rosterd.local\"\nclient_id = \"{}\"\n",
            w.db.url,
            w.sim.base_url(),
            cfg.client_id
        ),
    )
    .unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rosterd"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("ROSTERD_AUTH0_CLIENT_SECRET", &cfg.client_secret)
            .env_remove("RUST_LOG")
            .output()
            .expect("rosterd runs")
    };

    let out = cli(&["run", "--output", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let body: Value = serde_json::from_slice(&out.stdout).expect("a JSON body on stdout");
    assert_eq!(body["status"], "locked", "{body:#}");
    assert_eq!(body["run_id"], id, "{body:#}");
    assert!(body["holder"].as_str().is_some(), "{body:#}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains(&format!("run {id}")));

    let out = cli(&["run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains(&format!("run {id}, held by ")), "{stderr}");

    w.api.clear_faults().await;
    DaemonClient::admin(&a).wait_run(id, LIMIT).await;
    a.shutdown().await.unwrap();
}

/// `run_once` is also called outside the driver (CLI, demo, bench). When a
/// run's lock is lost while it still finishes, a second run on the same
/// context must be refused, not take the lock and close the first run's
/// record (its holder is this very context) as abandoned.
async fn a_second_run_on_the_same_context_is_refused(kind: Db) {
    use rosterd::run::{begin, RunError, RunOptions, Trigger};
    let db = TestDb::new(kind).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(2)).await.unwrap();
    let first = begin(&ctx, RunOptions::new(Trigger::Cli, false))
        .await
        .unwrap();
    match kind {
        #[cfg(any(feature = "postgres", feature = "mysql"))]
        Db::Postgres | Db::MySql => kill_lock_connection(&ctx.store).await,
        #[cfg(feature = "sqlite")]
        Db::Sqlite => exec(&ctx.store, "DELETE FROM rosterd_lock").await,
    }
    match begin(&ctx, RunOptions::new(Trigger::Cli, false)).await {
        Err(RunError::AlreadyRunning(Some(running))) => assert_eq!(running.id, first.run_id),
        Err(e) => panic!("expected AlreadyRunning naming run {}: {e}", first.run_id),
        Ok(_) => panic!("a second run started beside run {}", first.run_id),
    }
    let id = first.run_id;
    drop(first.finish().await);
    let run = ctx.store.get_run(id).await.unwrap().unwrap();
    assert!(
        !run.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("abandoned"),
        "the first run closed itself, not as abandoned by a second: {run:?}"
    );
}

on_every_backend!(
    a_second_run_on_the_same_context_is_refused,
    non_leader_409_names_the_running_run,
    second_cli_run_says_who_holds_the_lock,
    a_clone_with_our_hostname_and_pid_is_not_taken_for_dead,
    an_abandoned_run_counts_its_actions_and_skips_the_unfinished,
    a_run_closed_by_a_successor_stays_closed,
    held_runs_metric_survives_a_restart,
    held_runs_metric_follows_other_processes,
    a_run_closed_by_its_leader_is_no_lost_lock
);

/// A run's close is not a lost lock: the heartbeat ends before the run is
/// closed, so one due just after it does not find the run no longer
/// `running` and log "leadership lost" (as it did at the end of a run whose
/// close took longer than a beat).
async fn a_run_closed_by_its_leader_is_no_lost_lock(kind: Db) {
    let db = TestDb::new(kind).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    let s = &ctx.store;
    let me = rosterd::store::holder_name();
    let lock = s.try_lock(&me).await.unwrap().expect("the lock is free");
    let id = scheduled_run(s).await;
    s.set_run_holder(id, &me).await.unwrap();
    lock.attach_run(id);
    let leadership = lock.leadership();
    leadership.heartbeat().await.expect("the run beats");

    leadership.end_heartbeat().await;
    let end = rosterd::store::RunEnd {
        status: rosterd::run::RunStatus::Succeeded,
        ..Default::default()
    };
    assert!(s
        .finish_held_run(id, &me, &end, chrono::Utc::now())
        .await
        .unwrap());
    leadership
        .heartbeat()
        .await
        .expect("the lock is still held after the run's close");
    assert_eq!(leadership.lost_reason(), None);
    lock.release().await.unwrap();
}

/// A scheduled run's record, opened now, as a run opens it.
async fn scheduled_run(s: &Store) -> i64 {
    s.start_run(
        rosterd::run::Trigger::Schedule,
        "enforce",
        false,
        chrono::Utc::now(),
    )
    .await
    .unwrap()
}

/// `me` with its `field` (`token`, `pidns`) set to `value`: the name another
/// process would have.
fn with_field(me: &str, field: &str, value: &str) -> String {
    me.split(' ')
        .map(|part| match part.split_once('=') {
            Some((k, _)) if k == field => format!("{k}={value}"),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A replica cloned from ours (same hostname, same pid and context number,
/// as PID 1 in containers with a fixed hostname) but another process in
/// another PID namespace is alive: its run is not closed, its SQLite lease
/// not taken over, while it beats.
async fn a_clone_with_our_hostname_and_pid_is_not_taken_for_dead(kind: Db) {
    let db = TestDb::new(kind).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    let s = &ctx.store;
    let me = rosterd::store::holder_name();
    let clone = with_field(
        &with_field(&me, "token", "0123456789abcdef"),
        "pidns",
        "pid:[1]",
    );
    assert_ne!(clone, me);
    let id = scheduled_run(s).await;
    s.set_run_holder(id, &clone).await.unwrap();
    let live = s.close_abandoned_runs(&me).await.unwrap();
    assert_eq!(live.map_err(|r| r.id), Err(id), "the clone's run is live");
    assert_eq!(
        s.get_run(id).await.unwrap().unwrap().status.as_str(),
        "running"
    );

    // Same boot and namespace, another token, our own pid: that process
    // is gone (its pid is ours now).
    let gone = with_field(&me, "token", "0123456789abcdef");
    s.set_run_holder(id, &gone).await.unwrap();
    assert_eq!(s.close_abandoned_runs(&me).await.unwrap().ok(), Some(1));

    if kind == Db::Sqlite {
        let lease = s.try_lock(&clone).await.unwrap().expect("the clone leads");
        assert!(
            s.try_lock(&me).await.unwrap().is_none(),
            "the clone's lease holds"
        );
        lease.release().await.unwrap();
    }
}

/// Killed mid-run (kill -9): the next leader closes the run with the counts
/// of what it did, and its unfinished actions are skipped, with a note.
async fn an_abandoned_run_counts_its_actions_and_skips_the_unfinished(kind: Db) {
    let db = TestDb::new(kind).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    let s = &ctx.store;
    let me = rosterd::store::holder_name();
    let id = scheduled_run(s).await;
    let action = |seq: i64, status: &str| rosterd::store::ActionRecord {
        seq,
        kind: "create".parse().unwrap(),
        employee_id: Some(seq + 1),
        auth0_user_id: None,
        reason: "new hire".into(),
        detail: "{}".into(),
        status: status.parse().unwrap(),
        error: None,
        finished_at: None,
    };
    let statuses = ["succeeded", "succeeded", "failed", "planned", "planned"];
    let records: Vec<_> = (0..).zip(statuses).map(|(i, st)| action(i, st)).collect();
    s.insert_actions(id, &records).await.unwrap();
    // Its process is gone: our boot and namespace, our pid, not our token.
    s.set_run_holder(id, &with_field(&me, "token", "0123456789abcdef"))
        .await
        .unwrap();

    assert_eq!(s.close_abandoned_runs(&me).await.unwrap().ok(), Some(1));
    let run = s.get_run(id).await.unwrap().unwrap();
    assert_eq!(run.status.as_str(), "failed");
    assert!(
        run.error.as_deref().unwrap().starts_with("abandoned"),
        "{run:?}"
    );
    assert_eq!(
        (
            run.actions_planned,
            run.actions_succeeded,
            run.actions_failed
        ),
        (5, 2, 1),
        "{run:?}"
    );
    let actions = s.run_actions(id).await.unwrap();
    let got: Vec<_> = actions.iter().map(|a| a.status.as_str()).collect();
    assert_eq!(
        got,
        ["succeeded", "succeeded", "failed", "skipped", "skipped"]
    );
    for a in &actions[3..] {
        assert_eq!(
            a.error.as_deref(),
            Some("not finished: the process running it stopped")
        );
        assert!(a.finished_at.is_some());
    }
}

/// A frozen leader (SIGSTOP past the heartbeat bound) whose run a successor
/// closed as abandoned: when it wakes it neither rewrites that record nor
/// its actions, and stops writing.
async fn a_run_closed_by_a_successor_stays_closed(kind: Db) {
    let w = setup(kind, 12).await;
    let a = w.replica().await;
    let ca = DaemonClient::admin(&a);
    w.slow_creates(300).await;
    let first = ca.trigger(false).await;
    wait_accounts(&w.api, 2).await;

    // What the successor does to a run whose heartbeat went stale.
    exec(
        store(&a),
        &format!(
            "UPDATE reconcile_runs SET status = 'failed', finished_at = started_at, \
             error = 'abandoned: closed by the successor' WHERE id = {first}"
        ),
    )
    .await;
    let closed = store(&a).run_actions(first).await.unwrap();
    let created = w.api.users().await.len();
    eventually("the frozen run to stop", LIMIT, || async {
        (a.driver.status().current.run_id() != Some(first)).then_some(())
    })
    .await;
    assert!(
        w.api.users().await.len() <= created + 1,
        "at most the create in flight completes after the loss"
    );
    let run = store(&a).get_run(first).await.unwrap().unwrap();
    assert_eq!(run.status.as_str(), "failed", "{run:?}");
    assert_eq!(
        run.error.as_deref(),
        Some("abandoned: closed by the successor")
    );
    assert_eq!(run.finished_at, Some(run.started_at), "{run:?}");
    let after = store(&a).run_actions(first).await.unwrap();
    let statuses =
        |v: &[rosterd::store::ActionRecord]| v.iter().map(|x| x.status).collect::<Vec<_>>();
    assert_eq!(
        statuses(&after),
        statuses(&closed),
        "actions as they were closed"
    );

    // The follow-up run finishes the plan.
    w.api.clear_faults().await;
    wait_all_finished(store(&a)).await;
    eventually("the plan finished", LIMIT, || async {
        (w.api.users().await.len() == 12).then_some(())
    })
    .await;
    wait_all_finished(store(&a)).await;
    assert_eq!(assert_one_account_each(&w.api).await, 12);
    a.shutdown().await.unwrap();
}

/// `rosterd_held_runs` as a daemon's `/metrics` says it.
async fn held_metric(d: &RunningDaemon) -> Option<String> {
    let text = DaemonClient::anonymous(d).get("/metrics").await.text;
    text.lines()
        .find_map(|l| l.strip_prefix("rosterd_held_runs "))
        .map(str::to_string)
}

/// A held run: a restarted daemon still reports it in `rosterd_held_runs`.
async fn held_runs_metric_survives_a_restart(kind: Db) {
    let w = setup(kind, 0).await;
    let (rows, accounts) = linked_staff(40, 30);
    w.api.seed(accounts).await;
    seed_employees(&w.settings, &rows).await;

    let a = w.replica().await;
    let ca = DaemonClient::admin(&a);
    let held = ca.trigger(false).await;
    assert_eq!(ca.wait_run(held, LIMIT).await["status"], "held");
    assert_eq!(held_metric(&a).await.as_deref(), Some("1"));
    // A dry run after it decides nothing.
    let dry = ca.trigger(true).await;
    ca.wait_run(dry, LIMIT).await;
    a.shutdown().await.unwrap();

    let b = w.replica().await;
    assert_eq!(held_metric(&b).await.as_deref(), Some("1"), "restored");
    b.shutdown().await.unwrap();
}

/// `rosterd_held_runs` says what the database says: a run another process
/// held (`rosterd run`) and its rejection there (`rosterd reject`) show at
/// the daemon's next scrape, not at its next run (the alert on it fired on
/// for a decided run, and missed a CLI run's hold).
async fn held_runs_metric_follows_other_processes(kind: Db) {
    let w = setup(kind, 0).await;
    let (rows, accounts) = linked_staff(40, 30);
    w.api.seed(accounts).await;
    seed_employees(&w.settings, &rows).await;
    let daemon = w.replica().await;
    assert_eq!(held_metric(&daemon).await.as_deref(), Some("0"));
    let cli = context(w.settings.clone()).await;
    let held = run(&cli).await;
    assert_eq!(held.status, rosterd::run::RunStatus::Held, "{held:?}");
    assert_eq!(held_metric(&daemon).await.as_deref(), Some("1"));
    rosterd::held::reject(&cli.store, held.run_id, "cli:oncall", None)
        .await
        .unwrap();
    assert_eq!(held_metric(&daemon).await.as_deref(), Some("0"));
    daemon.shutdown().await.unwrap();
}

/// The leader loses its lock mid-run and nothing else triggers a run: it
/// starts a follow-up itself (waiting while another replica leads), so the
/// plan is finished without a person.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn lost_leader_follows_up(kind: Db) {
    let w = setup(kind, 12).await;
    let a = w.replica().await;
    let b = w.replica().await;
    let ca = DaemonClient::admin(&a);
    w.slow_creates(300).await;
    let first = ca.trigger(false).await;
    wait_accounts(&w.api, 2).await;
    kill_lock_connection(store(&a)).await;
    assert_eq!(ca.wait_run(first, LIMIT).await["status"], "failed");
    w.api.clear_faults().await;

    let follow_up = eventually("a follow-up run", LIMIT, || async {
        let runs = store(&a).list_runs(10).await.unwrap();
        runs.into_iter()
            .find(|r| r.id > first && r.status.as_str() != "running")
    })
    .await;
    assert_eq!(follow_up.trigger.as_str(), "change");
    assert_eq!(follow_up.status.as_str(), "succeeded", "{follow_up:?}");
    wait_all_finished(store(&a)).await;
    assert_eq!(assert_one_account_each(&w.api).await, 12);
    assert_no_overlap(store(&a)).await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_leader_follows_up() {
    lost_leader_follows_up(Db::Postgres).await
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_lost_leader_follows_up() {
    lost_leader_follows_up(Db::MySql).await
}

/// PostgreSQL: the LISTEN connection killed again and again starts no run;
/// a change made while it was down starts exactly one.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_reconnects_start_runs_only_for_missed_changes() {
    let w = setup(Db::Postgres, 3).await;
    let a = w.replica().await;
    let s = store(&a);
    let kill = || async {
        eventually("the listener to be connected", LIMIT, || async {
            let killed: Vec<(bool,)> = fetch_all(
                s,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await;
            (!killed.is_empty()).then_some(())
        })
        .await
    };
    for _ in 0..4 {
        kill().await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        s.list_runs(10).await.unwrap().is_empty(),
        "reconnecting is no reason to run"
    );

    kill().await;
    exec(
        s,
        "UPDATE employees SET department = 'Packing' WHERE id = 1",
    )
    .await;
    let runs = eventually("a catch-up run", LIMIT, || async {
        let runs = s.list_runs(10).await.unwrap();
        (!runs.is_empty() && runs.iter().all(|r| r.status.as_str() != "running")).then_some(runs)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(s.list_runs(10).await.unwrap().len(), 1, "{runs:#?}");
    assert_eq!(runs[0].trigger.as_str(), "change");
    a.shutdown().await.unwrap();
}
