//! Effective-dated departures (`[policy.departures]`): a leaver with an end
//! date is blocked at the end of their last local day, not a minute before,
//! whatever `is_active` says; a future end is a scheduled block the report
//! names; an end date cleared cancels it. On every backend, with fixed
//! clocks, against the simulator over HTTP.

use crate::common::*;
use chrono::{DateTime, Utc};
use rosterd::config::{PolicySettings, Settings};
use rosterd::departures::EndDate;
use rosterd::run::Context;
use std::sync::Arc;

/// 8 March 2026, a 23-hour day in Chicago (CST → CDT): Ana's last day.
const LAST_DAY: &str = "2026-03-08";
/// Its end: midnight in Chicago, CDT (UTC-5).
const END: &str = "2026-03-09T05:00:00Z";

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

/// A context whose plans see `now`.
async fn context_at(s: &Settings, now: DateTime<Utc>) -> Arc<Context> {
    Context::with_clock(s.clone(), Arc::new(move || now))
        .await
        .expect("context")
}

fn departures_settings(db: &TestDb, sim: &auth0_sim::RunningSim) -> Settings {
    let mut s = settings(db, sim);
    s.policy.departures.end_date = "last_day".into();
    s.policy
        .departures
        .zones
        .insert("TX".into(), "America/Chicago".into());
    s
}

/// Add an end-date column of `ty` to the employees table.
async fn add_column(ctx: &Context, column: &str, ty: &str) {
    exec(
        &ctx.store,
        &format!("ALTER TABLE employees ADD COLUMN {column} {ty}"),
    )
    .await;
}

fn date_type(db: Db) -> &'static str {
    match db {
        #[cfg(feature = "sqlite")]
        Db::Sqlite => "TEXT",
        #[cfg(feature = "postgres")]
        Db::Postgres => "DATE",
        #[cfg(feature = "mysql")]
        Db::MySql => "DATE",
    }
}

async fn blocked(sim: &SimClient, email: &str) -> bool {
    let users = sim.user_by_email(email).await;
    assert_eq!(users.len(), 1, "{email}: {users:?}");
    users[0]["blocked"].as_bool().unwrap_or(false)
}

/// Ana (employee 1, TX) leaves on 8 March with `is_active` still true; Ben
/// (employee 2) had the same end date until it was cleared (a rehire).
async fn leaver_blocked_at_local_midnight_not_a_minute_before(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim_server = spawn_sim().await;
    let sim = SimClient::new(&sim_server);
    let s = departures_settings(&tdb, &sim_server);
    let end = at(END);

    let before = context_at(&s, end - chrono::Duration::seconds(60)).await;
    before.store.migrate().await.unwrap();
    add_column(&before, "last_day", date_type(db)).await;
    // Twenty people, so blocking one stays under the guard's share.
    let (rows, accounts) = linked_staff(20, 0);
    before.store.insert_employees(&rows).await.unwrap();
    sim.seed(accounts).await;
    exec(
        &before.store,
        &format!("UPDATE employees SET last_day = '{LAST_DAY}' WHERE id IN (1, 2)"),
    )
    .await;

    // A minute before the end of the day: scheduled, not blocked.
    let r = run(&before).await;
    assert_eq!(r.status.as_str(), "succeeded", "{r:?}");
    assert_eq!(r.planned.get("block"), None, "{:?}", r.planned);
    let scheduled: Vec<_> = r
        .scheduled
        .iter()
        .map(|b| {
            (
                b.employee_id.0,
                b.at,
                b.local_time.as_str(),
                b.zone.as_str(),
            )
        })
        .collect();
    assert_eq!(
        scheduled,
        vec![
            (1, end, "2026-03-09 00:00 CDT", "America/Chicago"),
            (2, end, "2026-03-09 00:00 CDT", "America/Chicago"),
        ]
    );
    assert_eq!(
        r.scheduled[0].auth0_user_ids,
        vec![rosterd::model::Auth0UserId(format!("auth0|{:024x}", 1))]
    );
    let text = rosterd::report::human(&r);
    assert!(
        text.contains("block scheduled for 2026-03-09 00:00 CDT (America/Chicago) for employee 1"),
        "{text}"
    );
    // The run's stored summary (what the API serves as the run's JSON)
    // carries it too.
    let summary: Vec<(Option<String>,)> = fetch_all(
        &before.store,
        &format!("SELECT summary FROM reconcile_runs WHERE id = {}", r.run_id),
    )
    .await;
    let summary: serde_json::Value =
        serde_json::from_str(summary[0].0.as_deref().expect("a summary")).unwrap();
    assert_eq!(
        summary["scheduled"][0]["local_time"], "2026-03-09 00:00 CDT",
        "{summary}"
    );
    assert!(!blocked(&sim, "worker1@example.com").await);

    // Ben is rehired: his end date is cleared.
    exec(
        &before.store,
        "UPDATE employees SET last_day = NULL WHERE id = 2",
    )
    .await;

    // At the end of the day: Ana blocked, is_active still true; Ben neither
    // blocked nor scheduled.
    let at_end = context_at(&s, end).await;
    let r = run(&at_end).await;
    assert_eq!(r.status.as_str(), "succeeded", "{r:?}");
    assert_eq!(r.planned.get("block"), Some(&1), "{:?}", r.planned);
    assert!(r.scheduled.is_empty(), "{:?}", r.scheduled);
    assert!(blocked(&sim, "worker1@example.com").await);
    assert!(!blocked(&sim, "worker2@example.com").await);
    let rows = at_end.store.load_employees(None).await.unwrap();
    assert!(rows.iter().all(|e| e.is_active), "nobody was made inactive");

    // A run after plans nothing more.
    let r = run(&at_end).await;
    assert!(r.planned.is_empty(), "{:?}", r.planned);
}

/// The end date is read from every column type the backends have for it.
async fn end_dates_read_from_every_date_type(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&tdb, &sim)).await;
    ctx.store.insert_employees(&staff(1)).await.unwrap();
    // (type, value stored, end date read): timestamps without a zone give
    // their date; an instant is dated in the workspace's zone later.
    let day = EndDate::Day("2026-03-08".parse().unwrap());
    let types: Vec<(&str, &str, EndDate)> = match db {
        #[cfg(feature = "postgres")]
        Db::Postgres => vec![
            ("DATE", "2026-03-08", day),
            ("TIMESTAMP", "2026-03-08 17:30:00", day),
            (
                "TIMESTAMPTZ",
                "2026-03-09 03:00:00+00",
                EndDate::At(at("2026-03-09T03:00:00Z")),
            ),
            ("TEXT", "2026-03-08", day),
        ],
        #[cfg(feature = "mysql")]
        Db::MySql => vec![
            ("DATE", "2026-03-08", day),
            ("DATETIME", "2026-03-08 17:30:00", day),
            (
                "TIMESTAMP NULL",
                "2026-03-09 03:00:00",
                EndDate::At(at("2026-03-09T03:00:00Z")),
            ),
            ("VARCHAR(32)", "2026-03-08", day),
        ],
        #[cfg(feature = "sqlite")]
        Db::Sqlite => vec![
            ("TEXT", "2026-03-08", day),
            ("TEXT", "2026-03-08 17:30:00", day),
        ],
    };
    for (i, (ty, value, want)) in types.into_iter().enumerate() {
        let column = format!("end_{i}");
        add_column(&ctx, &column, ty).await;
        exec(
            &ctx.store,
            &format!("UPDATE employees SET {column} = '{value}'"),
        )
        .await;
        let mut policy = PolicySettings::default();
        policy.departures.end_date = column.clone();
        policy.departures.updated_at = column.clone();
        let loaded = ctx
            .store
            .load_employee_rows(None, None, &policy)
            .await
            .unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert!(
            loaded.unreadable.is_empty(),
            "{ty}: {:?}",
            loaded.unreadable
        );
        let cells = &loaded.policy[&1];
        assert_eq!(cells.end_date, Some(want), "{ty}");
        assert!(cells.updated_at.is_some(), "{ty}");
    }
}

/// A bad expression is named by its key at check-config and at run start;
/// a value that is not a date makes that row invalid, not the run failed.
async fn bad_end_dates_are_named(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&tdb, &sim);
    s.policy.departures.end_date = "no_such_column".into();
    let ctx = context(s.clone()).await;
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    let err = ctx
        .store
        .check_employees_source(&s.database, &s.policy)
        .await
        .unwrap_err();
    assert!(err.starts_with("policy.departures.end_date: "), "{err}");
    let r = run(&ctx).await;
    assert_eq!(r.status.as_str(), "failed");
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("policy.departures.end_date")),
        "{r:?}"
    );

    // A text column with one value that is not a date.
    add_column(&ctx, "last_day", text_type(db)).await;
    exec(
        &ctx.store,
        "UPDATE employees SET last_day = 'soon' WHERE id = 2",
    )
    .await;
    s.policy.departures.end_date = "last_day".into();
    let ctx = context(s.clone()).await;
    let r = run(&ctx).await;
    assert_eq!(r.status.as_str(), "succeeded", "{r:?}");
    assert_eq!(r.findings.get("invalid_employee"), Some(&1), "{r:?}");
    let loaded = ctx
        .store
        .load_employee_rows(None, None, &s.policy)
        .await
        .unwrap();
    assert_eq!(loaded.unreadable.len(), 1);
    assert!(
        loaded.unreadable[0].detail.starts_with("employee 2 (row ")
            && loaded.unreadable[0]
                .detail
                .contains("): policy.departures.end_date is \"soon\", not a date"),
        "{:?}",
        loaded.unreadable
    );
}

fn text_type(db: Db) -> &'static str {
    match db {
        #[cfg(feature = "mysql")]
        Db::MySql => "VARCHAR(32)",
        _ => "TEXT",
    }
}

/// `policy.exclude.employees_where` is evaluated by the database with the
/// rows; a condition that does not prepare is named by its key.
async fn excluded_employees_are_flagged_by_the_condition(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&tdb, &sim)).await;
    let mut rows = staff(3);
    rows[1].department = Some("Contractors".into());
    ctx.store.insert_employees(&rows).await.unwrap();
    let mut policy = PolicySettings::default();
    policy.exclude.employees_where = "department = 'Contractors'".into();
    let loaded = ctx
        .store
        .load_employee_rows(None, None, &policy)
        .await
        .unwrap();
    let excluded: Vec<i64> = loaded
        .policy
        .iter()
        .filter(|(_, c)| c.excluded)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(excluded, vec![2]);
    assert_eq!(loaded.rows.len(), 3, "an excluded row is still read");

    policy.exclude.employees_where = "no_such_column = 1".into();
    let err = ctx
        .store
        .load_employee_rows(None, None, &policy)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("policy.exclude.employees_where: "), "{err}");
}

/// With `database.employees_query`, the SQL is evaluated over that query's
/// columns (here an end date joined from a table of its own).
async fn a_custom_query_carries_the_end_date(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&tdb, &sim)).await;
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    exec(
        &ctx.store,
        &format!(
            "CREATE TABLE terminations (employee_id INTEGER, ends {})",
            date_type(db)
        ),
    )
    .await;
    exec(
        &ctx.store,
        "INSERT INTO terminations VALUES (1, '2026-03-08')",
    )
    .await;
    let query = "SELECT e.id, e.full_name, e.email, e.department, e.workspace, e.role_code, \
                 e.is_active, t.ends AS terminated_at FROM employees e \
                 LEFT JOIN terminations t ON t.employee_id = e.id";
    let mut policy = PolicySettings::default();
    policy.departures.end_date = "terminated_at".into();
    policy.exclude.employees_where = "id = 3".into();
    let loaded = ctx
        .store
        .load_employee_rows(Some(query), None, &policy)
        .await
        .unwrap();
    assert_eq!(loaded.rows.len(), 3);
    assert_eq!(
        loaded.policy[&1].end_date,
        Some(EndDate::Day("2026-03-08".parse().unwrap()))
    );
    assert!(!loaded.policy.contains_key(&2), "{:?}", loaded.policy);
    assert!(loaded.policy[&3].excluded && loaded.policy[&3].end_date.is_none());
}

on_every_backend!(
    a_custom_query_carries_the_end_date,
    leaver_blocked_at_local_midnight_not_a_minute_before,
    end_dates_read_from_every_date_type,
    bad_end_dates_are_named,
    excluded_employees_are_flagged_by_the_condition,
);

/// The daemon blocks a leaver when their last day ends, not at the next
/// cron tick (the schedule here never fires during a test). The context's
/// clock runs 10 s before the end of Ana's last day, in step with the
/// system's; the test asserts what happened in which order, with a
/// generous limit, not when.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_blocks_a_leaver_when_the_day_ends() {
    let tdb = TestDb::new(Db::Sqlite).await;
    let sim_server = spawn_sim().await;
    let sim = SimClient::new(&sim_server);
    let mut s = daemon_settings(&tdb, &sim_server);
    s.policy.departures.end_date = "last_day".into();
    s.policy
        .departures
        .zones
        .insert("TX".into(), "America/Chicago".into());
    let offset = at(END) - chrono::Duration::seconds(10) - Utc::now();
    let ctx = Context::with_clock(s, Arc::new(move || Utc::now() + offset))
        .await
        .expect("context");
    ctx.store.migrate().await.unwrap();
    add_column(&ctx, "last_day", "TEXT").await;
    let (rows, accounts) = linked_staff(20, 0);
    ctx.store.insert_employees(&rows).await.unwrap();
    sim.seed(accounts).await;
    exec(
        &ctx.store,
        &format!("UPDATE employees SET last_day = '{LAST_DAY}' WHERE id = 1"),
    )
    .await;
    let daemon = rosterd::daemon::spawn_with(ctx).await.expect("the daemon");
    let api = DaemonClient::admin(&daemon);

    let first = api.trigger(false).await;
    let run = api
        .wait_run(first, std::time::Duration::from_secs(30))
        .await;
    assert_eq!(
        run["summary"]["planned"]["block"],
        serde_json::Value::Null,
        "{run}"
    );
    assert_eq!(
        run["summary"]["scheduled"][0]["local_time"], "2026-03-09 00:00 CDT",
        "{run}"
    );
    assert!(!blocked(&sim, "worker1@example.com").await);

    // The next run is the driver's, at the end of the day.
    let next = eventually(
        "a run at the end of the last day",
        std::time::Duration::from_secs(60),
        || async {
            api.runs()
                .await
                .into_iter()
                .find(|r| r["id"].as_i64() > Some(first))
        },
    )
    .await;
    assert_eq!(next["trigger"], "schedule", "{next}");
    let id = next["id"].as_i64().unwrap();
    let run = api.wait_run(id, std::time::Duration::from_secs(30)).await;
    assert_eq!(run["summary"]["succeeded"]["block"], 1, "{run}");
    assert!(blocked(&sim, "worker1@example.com").await);
    daemon.shutdown().await.expect("the daemon stops");
}
