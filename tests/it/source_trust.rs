//! Reading the sources right (issue 9: defects 2, 5, 11 (decode), 12, 14
//! (read-only) and the PodFactory source failure): a custom query over
//! another table converges, real id and boolean column types load, one bad
//! row is a finding, the employees query cannot write, an unreadable
//! PodFactory source fails matching and not the run, every API error is
//! the JSON error body.

use crate::common::*;
use rosterd::config::Settings;
use rosterd::run::{Context, RunStatus};
use rosterd::store::{Backend, Store};
use std::sync::Arc;

on_every_backend!(
    custom_query_with_a_write_back_table_converges,
    custom_query_without_write_back_converges_on_app_metadata,
    without_write_back_a_leaver_found_by_email_converges,
    a_link_that_cannot_be_written_fails_the_run_at_the_store_stage,
    integer_id_table_loads_and_converges,
    unreadable_rows_are_findings_and_the_run_goes_on,
    leaver_with_one_unreadable_cell_is_blocked,
    employees_query_cannot_write,
    a_dropped_employees_read_leaves_no_read_only_connection,
    podfactory_source_missing_is_a_finding_not_a_failed_run,
    api_errors_are_json,
);

/// `staff`, a table named and typed as a real HR system might: id type per
/// backend, `active` a boolean of that backend, optional link columns.
async fn staff_table(store: &Store, with_link_columns: bool) {
    let (id, active) = match store.backend() {
        Backend::Postgres => ("numeric(12,0)", "boolean"),
        Backend::MySql => ("DECIMAL(12,0)", "TINYINT(1)"),
        Backend::Sqlite => ("INTEGER", "INTEGER"),
    };
    let at = match store.backend() {
        Backend::Postgres => "timestamptz",
        Backend::MySql => "DATETIME(6)",
        Backend::Sqlite => "TEXT",
    };
    let links = if with_link_columns {
        format!(", auth0_user_id VARCHAR(255), auth0_linked_at {at}")
    } else {
        String::new()
    };
    exec(
        store,
        &format!(
            "CREATE TABLE staff (staff_id {id} PRIMARY KEY, name VARCHAR(200), mail VARCHAR(200), \
             dept VARCHAR(50), site VARCHAR(50), role VARCHAR(50), active {active}{links})"
        ),
    )
    .await;
    exec(
        store,
        "INSERT INTO staff (staff_id, name, mail, dept, site, role, active) VALUES \
         (1, 'Ana Ruiz', 'ana.ruiz@example.com', 'Picking', 'TX', 'PICKER', 1 = 1), \
         (2, 'Bo Li', 'bo.li@example.com', 'Picking', 'TX', 'PICKER', 1 = 1)",
    )
    .await;
}

const STAFF_QUERY: &str = "SELECT staff_id AS id, name AS full_name, mail AS email, \
     dept AS department, site AS workspace, role AS role_code, active AS is_active";

async fn table_exists(store: &Store, table: &str) -> bool {
    let sql = match store.backend() {
        Backend::Sqlite => format!("SELECT COUNT(*) FROM sqlite_master WHERE name = '{table}'"),
        _ => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '{table}' \
             AND table_schema = {}",
            if store.backend() == Backend::Postgres {
                "'public'"
            } else {
                "DATABASE()"
            }
        ),
    };
    let n: Vec<(i64,)> = fetch_all(store, &sql).await;
    n[0].0 > 0
}

/// A context for `s`, migrated as `rosterd migrate` would for it.
async fn migrated(s: Settings) -> Arc<Context> {
    let ctx = Context::new(s).await.expect("context");
    ctx.store
        .migrate_for(&ctx.settings.database)
        .await
        .expect("migrate");
    ctx
}

async fn assert_converges(ctx: &Arc<Context>, sim: &SimClient, creates: usize) {
    let first = run(ctx).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(first.succeeded.get("create").copied().unwrap_or(0), creates);
    let second = run(ctx).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{second:?}");
    assert!(
        second.planned.is_empty(),
        "a second run plans nothing: {:?}",
        second.planned
    );
    assert_eq!(sim.users().await.len(), 2, "one account per employee");
}

async fn custom_query_with_a_write_back_table_converges(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&tdb, &sim);
    s.database.employees_query = Some(format!("{STAFF_QUERY}, auth0_user_id FROM staff"));
    s.database.employees_table = Some("staff".into());
    s.database.employees_id_column = Some("staff_id".into());
    let ctx = migrated(s).await;
    assert!(
        !table_exists(&ctx.store, "employees").await,
        "migrate creates no employees table for a custom query"
    );
    staff_table(&ctx.store, true).await;
    let said = ctx
        .store
        .check_employees_source(&ctx.settings.database, &ctx.settings.policy)
        .await
        .unwrap();
    assert!(said.contains("staff.auth0_user_id"), "{said}");
    assert_converges(&ctx, &SimClient::new(&sim), 2).await;
    let linked: Vec<(i64,)> = fetch_all(
        &ctx.store,
        "SELECT COUNT(*) FROM staff WHERE auth0_user_id IS NOT NULL",
    )
    .await;
    assert_eq!(linked[0].0, 2, "the links are written where they are read");
}

async fn custom_query_without_write_back_converges_on_app_metadata(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&tdb, &sim);
    s.database.employees_query = Some(format!("{STAFF_QUERY} FROM staff"));
    let ctx = migrated(s).await;
    staff_table(&ctx.store, false).await;
    // Bo has an account already, found by email: linked, not created.
    api.seed(vec![serde_json::json!({
        "email": "bo.li@example.com", "name": "Bo Li", "password": "x-Very-long-1",
        "connection": "Username-Password-Authentication"
    })])
    .await;
    let said = ctx
        .store
        .check_employees_source(&ctx.settings.database, &ctx.settings.policy)
        .await
        .unwrap();
    assert!(said.contains("not written back"), "{said}");
    assert_converges(&ctx, &api, 1).await;
}

/// A write-back that touches no row (the id column configured is not the
/// one the query reads) is rosterd failing to record, not one employee's
/// problem: the run fails at the `store` stage instead of ending `partial`
/// on every run.
async fn a_link_that_cannot_be_written_fails_the_run_at_the_store_stage(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&tdb, &sim);
    s.database.employees_query = Some(format!("{STAFF_QUERY}, auth0_user_id FROM staff"));
    s.database.employees_table = Some("staff".into());
    s.database.employees_id_column = Some("legacy_id".into());
    let ctx = migrated(s).await;
    staff_table(&ctx.store, true).await;
    exec(&ctx.store, "ALTER TABLE staff ADD COLUMN legacy_id INTEGER").await;
    for _ in 0..2 {
        let r = run(&ctx).await;
        assert_eq!(r.status, RunStatus::Failed, "{r:?}");
        assert_eq!(r.failed_stage.map(|s| s.as_str()), Some("store"), "{r:?}");
        let error = r.error.unwrap_or_default();
        assert!(error.contains("no row has legacy_id = "), "{error}");
    }
}

/// Without a write-back target the account's `app_metadata.employee_id` is
/// the link: a leaver whose account is found by email gets it written (no
/// update does, for an inactive employee), is blocked, gets no role, and the
/// next run plans nothing instead of the same link again.
async fn without_write_back_a_leaver_found_by_email_converges(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&tdb, &sim);
    s.database.employees_query = Some(format!("{STAFF_QUERY} FROM staff"));
    s.reconcile.max_block_share = 1.0;
    let ctx = migrated(s).await;
    staff_table(&ctx.store, false).await;
    exec(
        &ctx.store,
        "UPDATE staff SET active = (1 = 0) WHERE staff_id = 2",
    )
    .await;
    api.seed(vec![serde_json::json!({
        "email": "bo.li@example.com", "name": "Bo Li", "password": "x-Very-long-1",
        "connection": "Username-Password-Authentication"
    })])
    .await;
    let first = run(&ctx).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(first.succeeded.get("link"), Some(&1), "{first:?}");
    assert_eq!(first.succeeded.get("block"), Some(&1), "{first:?}");
    let bo = &api.user_by_email("bo.li@example.com").await[0];
    assert_eq!(
        bo["app_metadata"]["employee_id"],
        serde_json::json!(2),
        "{bo}"
    );
    let state = api.state().await;
    let roles = &state["user_roles"][bo["user_id"].as_str().unwrap()];
    assert!(
        roles.as_array().is_none_or(|r| r.is_empty()),
        "a leaver gets no role: {roles}"
    );
    let second = run(&ctx).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{second:?}");
    assert!(second.planned.is_empty(), "{:?}", second.planned);
}

async fn integer_id_table_loads_and_converges(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let s = settings(&tdb, &sim);
    let ctx = Context::new(s).await.expect("context");
    // The Productivity System's own table, made before rosterd's migration.
    let id = match db {
        #[cfg(feature = "postgres")]
        Db::Postgres => "integer",
        #[cfg(feature = "mysql")]
        Db::MySql => "INT UNSIGNED",
        Db::Sqlite => "INTEGER",
    };
    exec(
        &ctx.store,
        &format!(
            "CREATE TABLE employees (id {id} PRIMARY KEY, full_name VARCHAR(200), email VARCHAR(200), \
             department VARCHAR(50), workspace VARCHAR(50), role_code VARCHAR(50), \
             is_active SMALLINT NOT NULL)"
        ),
    )
    .await;
    ctx.store
        .migrate_for(&ctx.settings.database)
        .await
        .expect("migrate");
    exec(
        &ctx.store,
        "INSERT INTO employees (id, full_name, email, department, workspace, role_code, is_active) \
         VALUES (1, 'Ana Ruiz', 'ana.ruiz@example.com', 'Picking', 'TX', 'PICKER', 1), \
         (2, 'Bo Li', 'bo.li@example.com', 'Picking', 'TX', 'PICKER', 1)",
    )
    .await;
    assert_converges(&ctx, &SimClient::new(&sim), 2).await;
}

/// Column types real tables use, which the typed decode once refused:
/// PostgreSQL `citext` and `character(n)`, MariaDB `BIT(1)` flags, `ENUM`
/// and `TINYTEXT` (SQLite has no column types to speak of).
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod column_types {
    use super::*;

    #[cfg(feature = "postgres")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        text_and_flag_types_load(
            Db::Postgres,
            "CREATE EXTENSION IF NOT EXISTS citext; \
             CREATE TABLE employees (id integer PRIMARY KEY, full_name citext, email citext, \
             department character(20), workspace name, role_code varchar(20), \
             is_active boolean NOT NULL)",
            "TRUE",
        )
        .await
    }

    #[cfg(feature = "mysql")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        text_and_flag_types_load(
            Db::MySql,
            "CREATE TABLE employees (id INT PRIMARY KEY, full_name TINYTEXT, email VARCHAR(200), \
             department CHAR(20), workspace MEDIUMTEXT, role_code ENUM('PICKER', 'PACKER'), \
             is_active BIT(1) NOT NULL)",
            "b'1'",
        )
        .await
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn text_and_flag_types_load(db: Db, create: &str, active: &str) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let ctx = Context::new(settings(&tdb, &sim)).await.expect("context");
    for statement in create.split("; ") {
        exec(&ctx.store, statement).await;
    }
    ctx.store
        .migrate_for(&ctx.settings.database)
        .await
        .expect("migrate");
    exec(
        &ctx.store,
        &format!(
            "INSERT INTO employees (id, full_name, email, department, workspace, role_code, is_active) \
             VALUES (1, 'Ana Ruiz', 'ana.ruiz@example.com', 'Picking', 'TX', 'PICKER', {active}), \
             (2, 'Bo Li', 'bo.li@example.com', 'Picking', 'TX', 'PICKER', {active})"
        ),
    )
    .await;
    ctx.store
        .check_employees_source(&ctx.settings.database, &ctx.settings.policy)
        .await
        .expect("check-config accepts the table");
    assert_converges(&ctx, &SimClient::new(&sim), 2).await;
    // A leaver in BIT(1)/boolean is read as one.
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = FALSE WHERE id = 2",
    )
    .await;
    let rows = ctx.store.load_employees(None).await.unwrap();
    assert!(rows.iter().any(|e| e.id == 2 && !e.is_active), "{rows:?}");
}

async fn unreadable_rows_are_findings_and_the_run_goes_on(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&tdb, &sim);
    s.database.employees_query = Some(format!("{STAFF_QUERY} FROM staff ORDER BY name"));
    let ctx = migrated(s).await;
    let id = match db {
        #[cfg(feature = "postgres")]
        Db::Postgres => "bigint",
        _ => "BIGINT",
    };
    exec(
        &ctx.store,
        &format!(
            "CREATE TABLE staff (staff_id {id}, name VARCHAR(200), mail VARCHAR(200), \
             dept VARCHAR(50), site VARCHAR(50), role VARCHAR(50), active BOOLEAN)"
        ),
    )
    .await;
    exec(
        &ctx.store,
        "INSERT INTO staff VALUES \
         (1, 'Ana Ruiz', 'ana.ruiz@example.com', 'Picking', 'TX', 'PICKER', TRUE), \
         (2, 'Bo Li', 'bo.li@example.com', 'Picking', 'TX', 'PICKER', NULL), \
         (NULL, 'Cy Twain', 'cy@example.com', 'Picking', 'TX', 'PICKER', TRUE)",
    )
    .await;
    let mut bad = 2;
    if db == Db::Sqlite {
        exec(
            &ctx.store,
            "INSERT INTO staff VALUES (4, CAST(x'44ff' AS TEXT), 'd@example.com', 'P', 'TX', 'PICKER', 1)",
        )
        .await;
        bad += 1;
    }
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(
        r.succeeded.get("create"),
        Some(&1),
        "Ana still gets her account"
    );
    assert_eq!(r.findings.get("invalid_employee"), Some(&bad), "{r:?}");
    let plan = stored_plan(&ctx.store, r.run_id).await;
    let details: Vec<&str> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["detail"].as_str())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("employee 2") && d.contains("is_active is NULL")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("id unreadable") && d.contains("id is NULL")),
        "{details:?}"
    );
}

/// A leaver's row with one cell rosterd cannot read still says the person
/// left: their account is blocked (SQLite: invalid UTF-8 in `department`;
/// elsewhere a `department` with a fraction, which is not text).
async fn leaver_with_one_unreadable_cell_is_blocked(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let mut s = settings(&tdb, &sim);
    if db != Db::Sqlite {
        s.database.employees_query = Some(
            "SELECT id, full_name, email, CASE WHEN is_active = FALSE THEN 1.5 END AS department, \
             workspace, role_code, is_active, auth0_user_id FROM employees"
                .into(),
        );
        s.database.employees_table = Some("employees".into());
    }
    let ctx = context(s).await;
    ctx.store.insert_employees(&staff(20)).await.unwrap();
    let first = run(&ctx).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(first.succeeded.get("create"), Some(&20), "{first:?}");

    let bad_cell = if db == Db::Sqlite {
        ", department = CAST(x'44ff' AS TEXT)"
    } else {
        ""
    };
    exec(
        &ctx.store,
        &format!("UPDATE employees SET is_active = FALSE{bad_cell} WHERE id = 2"),
    )
    .await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.planned.get("block"), Some(&1), "{r:?}");
    assert_eq!(r.findings.get("invalid_employee"), Some(&1), "{r:?}");
    let account = api.user_by_email("worker2@example.com").await;
    assert_eq!(
        account[0]["blocked"],
        serde_json::json!(true),
        "{account:?}"
    );
    let again = run(&ctx).await;
    assert!(again.planned.is_empty(), "converged: {:?}", again.planned);
}

async fn employees_query_cannot_write(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&tdb, &sim);
    s.database.employees_query = Some(
        "DELETE FROM employees RETURNING id, full_name, email, department, workspace, role_code, \
         is_active, auth0_user_id"
            .into(),
    );
    let ctx = Context::new(s).await.expect("context");
    // The built-in table, made and filled as for the default query.
    ctx.store.migrate().await.unwrap();
    ctx.store.insert_employees(&staff(3)).await.unwrap();
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Failed, "{r:?}");
    let left: Vec<(i64,)> = fetch_all(&ctx.store, "SELECT COUNT(*) FROM employees").await;
    assert_eq!(left[0].0, 3, "the query deleted nothing: {:?}", r.error);
    // The connection it ran on is usable for rosterd's own writes again.
    let again = run(&ctx).await;
    assert_eq!(again.status, RunStatus::Failed);
    assert!(ctx.store.get_run(again.run_id).await.unwrap().is_some());
}

/// An employees read dropped mid-query (an HTTP request timing out, a
/// client going away) must not hand a read-only connection back to the
/// pool: rosterd's next write on it would fail. One connection, so the
/// write gets the same one if it was returned.
async fn a_dropped_employees_read_leaves_no_read_only_connection(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let mut s = settings(&tdb, &sim);
    s.database.max_connections = 1;
    let store = Store::connect(&s.database).await.expect("connect");
    store.migrate().await.unwrap();
    store.insert_employees(&staff(1)).await.unwrap();
    let columns =
        "id, full_name, email, department, workspace, role_code, is_active, auth0_user_id";
    let slow = match db {
        #[cfg(feature = "postgres")]
        Db::Postgres => format!("SELECT {columns} FROM employees, (SELECT pg_sleep(3)) s"),
        #[cfg(feature = "mysql")]
        Db::MySql => format!("SELECT {columns} FROM employees WHERE SLEEP(3) = 0"),
        Db::Sqlite => format!(
            "SELECT {columns} FROM employees WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \
             SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c) > 0"
        ),
    };
    let policy = rosterd::config::PolicySettings::default();
    let read = store.load_employee_rows(Some(&slow), None, &policy);
    let dropped = tokio::time::timeout(std::time::Duration::from_millis(300), read).await;
    assert!(dropped.is_err(), "the read was still running when dropped");
    // A write outside a transaction (a BEGIN would end MySQL's read-only one).
    exec(
        &store,
        "UPDATE employees SET department = 'Packing' WHERE id = 1",
    )
    .await;
    store
        .insert_employees(&[employee(2, "Bo Li", "bo.li@example.com", true)])
        .await
        .unwrap();
    // One employee reads through the configured query, filtered to its id.
    let two = store.employee(None, 2).await.unwrap().expect("employee 2");
    assert_eq!(two.email.as_deref(), Some("bo.li@example.com"));
    assert!(store.employee(None, 3).await.unwrap().is_none());
}

async fn podfactory_source_missing_is_a_finding_not_a_failed_run(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("podfactory.csv");
    std::fs::write(
        &csv,
        "id,name,email,user_role\npf1,Ana Ruiz,ana.ruiz@example.com,Picker\n",
    )
    .unwrap();
    let mut s = settings(&tdb, &sim);
    s.podfactory.source = "csv".into();
    s.podfactory.csv_path = csv.display().to_string();
    s.reconcile.max_block_share = 1.0;
    let ctx = context(s.clone()).await;
    ctx.store
        .insert_employees(&[
            employee(1, "Ana Ruiz", "ana.ruiz@example.com", true),
            employee(2, "Bo Li", "bo.li@example.com", true),
        ])
        .await
        .unwrap();
    let first = run(&ctx).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(ctx.store.podfactory_links(1).await.unwrap().len(), 1);

    // The CSV is gone, and Bo leaves: he is still blocked.
    std::fs::remove_file(&csv).unwrap();
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = FALSE WHERE id = 2",
    )
    .await;
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.succeeded.get("block"), Some(&1), "{r:?}");
    assert_eq!(r.findings.get("podfactory_source_unavailable"), Some(&1));
    assert!(r
        .podfactory_error
        .as_deref()
        .unwrap()
        .contains("podfactory"));
    assert_eq!(
        ctx.store.podfactory_links(1).await.unwrap().len(),
        1,
        "the stored link is kept"
    );

    // A PodFactory database that cannot be opened: the same.
    s.podfactory.source = "database".into();
    s.podfactory.url = format!("sqlite://{}", dir.path().join("missing.db").display());
    s.podfactory.query = "SELECT id, name, email, user_role FROM users".into();
    let ctx = Context::new(s).await.expect("context");
    let r = run(&ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    assert_eq!(r.findings.get("podfactory_source_unavailable"), Some(&1));
}

async fn api_errors_are_json(db: Db) {
    let tdb = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let s = daemon_settings(&tdb, &sim);
    seed_employees(&s, &staff(1)).await;
    let d = rosterd::daemon::spawn(s).await.expect("the daemon starts");
    let admin = DaemonClient::admin(&d);
    admin
        .post(
            "/api/v1/mappings",
            serde_json::json!({ "podfactory_user_id": "pf\u{0}1", "employee_id": 1 }),
        )
        .await
        .expect_error(400, "bad_request");
    // A path that is not UTF-8 once decoded.
    let r = admin.get("/api/v1/runs/%FF").await;
    r.expect_error(400, "bad_request");
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    // Nothing was stored for the refused mapping.
    admin.get("/api/v1/mappings").await.expect(200);
    // Requests hyper refuses before any handler runs (written by hand:
    // reqwest refuses to send them): a 70 KB path, 600 KB of headers, and
    // bytes that are not HTTP at all.
    let token = format!("authorization: Bearer {ADMIN_TOKEN}\r\n");
    let long_path = format!(
        "GET /api/v1/runs/{} HTTP/1.1\r\nhost: x\r\n{token}\r\n",
        "9".repeat(70_000)
    );
    // Past hyper's read buffer (about 400 KB) for one request head.
    let big_headers = format!(
        "GET /api/v1/runs HTTP/1.1\r\nhost: x\r\n{token}x-padding: {}\r\n\r\n",
        "p".repeat(600_000)
    );
    for (request, status, code) in [
        (long_path, "414", "uri_too_long"),
        (big_headers, "431", "headers_too_large"),
        ("NOT HTTP AT ALL\r\n\r\n".to_string(), "400", "bad_request"),
    ] {
        let answer = raw_http(d.addr, request).await;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(v["error"], code, "{head}\n{body}");
    }
    d.shutdown().await.unwrap();
}

/// Send raw bytes to the daemon and read its whole answer.
async fn raw_http(addr: std::net::SocketAddr, request: String) -> String {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        // hyper may answer before it has read everything: ignore a reset.
        let _ = tcp.write_all(request.as_bytes());
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap()
}
