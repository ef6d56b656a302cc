//! No-change runs near the read floor (issue 13): a run that changes
//! nothing rewrites no link, yet says when it verified them; the PodFactory
//! database is read read-only, within a time and a row limit.

use crate::common::*;
use crate::podfactory_run::csv_world;
use rosterd::run::RunStatus;
use rosterd::store::{Backend, Store};

on_every_backend!(a_no_change_run_rewrites_no_link_yet_says_it_verified_them);

/// The audit and PodFactory link rows, as stored (ids, links, times).
async fn link_rows(store: &Store) -> Vec<(i64, i64, String, String)> {
    let text = match store.backend() {
        Backend::MySql => "CHAR",
        Backend::Postgres | Backend::Sqlite => "TEXT",
    };
    let mut rows = fetch_all(
        store,
        &format!(
            "SELECT id, employee_id, auth0_user_id, CAST(last_verified AS {text}) \
             FROM auth0_employee_mapping_audit ORDER BY id"
        ),
    )
    .await;
    rows.extend(
        fetch_all::<(i64, i64, String, String)>(
            store,
            &format!(
                "SELECT id, employee_id, podfactory_user_id, CAST(last_verified AS {text}) \
                 FROM employee_podfactory_mapping ORDER BY id"
            ),
        )
        .await,
    );
    rows
}

async fn a_no_change_run_rewrites_no_link_yet_says_it_verified_them(db: Db) {
    let (employees, accounts) = linked_staff(12, 0);
    let csv: String = std::iter::once("id,name,email,user_role\n".to_string())
        .chain((1..=12).map(|i| format!("pf{i},Worker Number{i},worker{i}@example.com,Picker\n")))
        .collect();
    let w = csv_world(db, &csv, &employees, |_| {}).await;
    SimClient::new(&w.sim).seed(accounts).await;
    let ctx = &w.ctx;

    // The first run records the links and their audit, and lists the
    // links it made as seen; the second sees the audit rows for the first
    // time.
    let seen = |store: &Store| {
        let store = store.clone();
        async move {
            fetch_all::<(i64,)>(
                &store,
                "SELECT row_id FROM link_seen WHERE links = 'podfactory_links' ORDER BY row_id",
            )
            .await
        }
    };
    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    let made = seen(&ctx.store).await;
    assert_eq!(
        made.len(),
        12,
        "the links a run made are seen by it: {made:?}"
    );
    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert_eq!(seen(&ctx.store).await, made);
    let before = link_rows(&ctx.store).await;
    assert_eq!(before.len(), 24, "12 audit rows and 12 links: {before:?}");
    let xmins = |store: &Store| {
        let store = store.clone();
        async move {
            fetch_all::<(String,)>(
                &store,
                "SELECT CAST(xmin AS TEXT) FROM auth0_employee_mapping_audit \
                 UNION ALL SELECT CAST(xmin AS TEXT) FROM employee_podfactory_mapping",
            )
            .await
        }
    };
    let xmin_before = match ctx.store.backend() {
        Backend::Postgres => Some(xmins(&ctx.store).await),
        _ => None,
    };

    let started = chrono::Utc::now();
    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert_eq!(r.podfactory.as_ref().map(|p| p.new_links), Some(0));
    assert_eq!(
        link_rows(&ctx.store).await,
        before,
        "a run that changes nothing writes no audit row nor link"
    );
    if let Some(xmin_before) = xmin_before {
        assert_eq!(
            xmins(&ctx.store).await,
            xmin_before,
            "no row version changed"
        );
    }
    // What the console shows: the link was verified by this run.
    let audit = ctx.store.employee_audit(3).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0].last_verified >= started - chrono::Duration::milliseconds(5),
        "last verified {} is this run's (started {started})",
        audit[0].last_verified
    );
    assert!(audit[0].matched_at < started);

    // A link no run sees any more (its user gone from the source) stays
    // current, verified last by the run before.
    let verified_at = |store: &Store| {
        let store = store.clone();
        async move {
            fetch_all::<(chrono::DateTime<chrono::Utc>,)>(
                &store,
                "SELECT verified_at FROM link_verification WHERE links = 'podfactory_links'",
            )
            .await[0]
                .0
        }
    };
    let last_seen = verified_at(&ctx.store).await;
    std::fs::write(
        &w.csv,
        csv.replace("pf3,Worker Number3,worker3@example.com,Picker\n", ""),
    )
    .unwrap();
    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert!(verified_at(&ctx.store).await > last_seen);
    let pf3: Vec<(chrono::DateTime<chrono::Utc>,)> = fetch_all(
        &ctx.store,
        "SELECT last_verified FROM employee_podfactory_mapping \
         WHERE podfactory_user_id = 'pf3' AND superseded_at IS NULL",
    )
    .await;
    assert_eq!(
        pf3,
        vec![(last_seen,)],
        "kept, verified last by the run before"
    );
}

/// What `check-config` says of a PodFactory source it refuses.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn check_error(s: &rosterd::config::PodFactorySettings) -> String {
    rosterd::podfactory::check(s).await.unwrap_err().to_string()
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
/// A PodFactory database with three users, and settings reading it.
async fn podfactory_db(
    db: Db,
    query: &str,
) -> (TestDb, Store, rosterd::config::PodFactorySettings) {
    let pf = TestDb::new(db).await;
    let store = Store::connect(&rosterd::config::DatabaseSettings {
        url: pf.url.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    exec(
        &store,
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT, email TEXT, user_role TEXT)",
    )
    .await;
    exec(
        &store,
        "INSERT INTO users VALUES (1, 'Ann', 'ann@example.com', 'Picker'), \
         (2, 'Bo', 'bo@example.com', 'Packer'), (3, 'Cy', NULL, 'Picker')",
    )
    .await;
    let settings = rosterd::config::PodFactorySettings {
        source: "database".into(),
        url: pf.url.clone(),
        query: query.into(),
        statement_timeout_secs: 1,
        ..Default::default()
    };
    (pf, store, settings)
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
const USERS: &str = "SELECT id, name, email, user_role FROM users";

#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn podfactory_source_is_read_only_with_a_time_and_a_row_limit(
    db: Db,
    write: &str,
    slow: &str,
) {
    let (_pf, store, mut s) = podfactory_db(db, USERS).await;
    let users = rosterd::podfactory::load(&s).await.unwrap().unwrap();
    assert_eq!(users.users.len(), 3);
    assert!(users.skipped.is_empty());

    // A row without an id is skipped, and so is every row of an id on
    // several rows (which is the user would be the query's order's guess);
    // each says why, the rest are read.
    s.query = format!(
        "{USERS} UNION ALL SELECT NULL, 'Dee Vo', 'dee@example.com', 'Picker' \
         UNION ALL SELECT 1, 'Ann Again', NULL, NULL"
    );
    let read = rosterd::podfactory::load(&s).await.unwrap().unwrap();
    let ids: Vec<&str> = read.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["2", "3"]);
    let skipped: Vec<(Option<&str>, &str)> = read
        .skipped
        .iter()
        .map(|r| (r.podfactory_user_id.as_deref(), r.why.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                Some("1"),
                "podfactory source: user id \"1\" is on 2 rows; none is used until one is left"
            ),
            (
                None,
                "podfactory source: a row with a NULL or empty id (Dee Vo, dee@example.com)"
            ),
        ]
    );
    // A column of a type rosterd cannot read fails the source, once, not
    // every row.
    s.query = "SELECT id, name, email, CAST(1.5 AS DECIMAL(4,2)) AS user_role FROM users".into();
    let e = rosterd::podfactory::load(&s).await.unwrap_err().to_string();
    assert!(
        e.contains("column \"user_role\" is") && e.contains("cast it in podfactory.query"),
        "{e}"
    );
    let e = check_error(&s).await;
    assert!(e.contains("column \"user_role\" is"), "{e}");
    s.query = USERS.into();

    // check-config runs the query for one row, as a run would.
    let ok = rosterd::podfactory::check(&s).await.unwrap().unwrap();
    assert_eq!(ok, "podfactory query OK (id, name, email, user_role)");
    s.query = "SELECT id, name, email, user_role FROM userz".into();
    let e = check_error(&s).await;
    assert!(e.contains("userz"), "{e}");
    s.query = "SELECT id, name, email FROM users".into();
    let e = check_error(&s).await;
    assert!(e.contains("no \"user_role\" column"), "{e}");
    s.query = USERS.into();

    s.max_rows = 2;
    let e = rosterd::podfactory::load(&s).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "podfactory source: the query returns more than podfactory.max_rows (2) rows; \
         narrow the query or raise the limit"
    );
    s.max_rows = 3;
    assert_eq!(
        rosterd::podfactory::load(&s)
            .await
            .unwrap()
            .unwrap()
            .users
            .len(),
        3
    );

    s.query = slow.into();
    let started = std::time::Instant::now();
    let e = rosterd::podfactory::load(&s).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "podfactory source: the query did not finish within \
         podfactory.statement_timeout_secs (1 s)"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));

    s.query = write.into();
    let e = rosterd::podfactory::load(&s).await.unwrap_err();
    assert!(
        e.to_string().to_lowercase().contains("read only")
            || e.to_string().to_lowercase().contains("read-only"),
        "{e}"
    );
    let left: Vec<(i64,)> = fetch_all(&store, "SELECT id FROM users").await;
    assert_eq!(left.len(), 3, "the write was refused by the database");
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podfactory_source_on_postgres_is_read_only_with_a_time_and_a_row_limit() {
    podfactory_source_is_read_only_with_a_time_and_a_row_limit(
        Db::Postgres,
        "WITH gone AS (DELETE FROM users RETURNING id, name, email, user_role) SELECT * FROM gone",
        "SELECT id, name, email, user_role FROM users, (SELECT pg_sleep(5)) s",
    )
    .await
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podfactory_source_on_mariadb_is_read_only_with_a_time_and_a_row_limit() {
    podfactory_source_is_read_only_with_a_time_and_a_row_limit(
        Db::MySql,
        "DELETE FROM users RETURNING id, name, email, user_role",
        "SELECT id, name, email, user_role FROM users WHERE SLEEP(5) = 0",
    )
    .await
}
