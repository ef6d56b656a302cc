//! What only MySQL/MariaDB has: the `GET_LOCK` leader lock (per database),
//! the `mariadb://` scheme, migrating an employees table that predates
//! rosterd, a database migrated by the first, MariaDB-only migrations, and
//! the generated-column form of "one current PodFactory link per user". The scenarios every backend shares run through
//! `on_every_backend!` in the other test files.

use crate::common::*;
use chrono::Utc;
use rosterd::config::{DatabaseSettings, Secret};
use rosterd::model::{Auth0UserId, EmployeeId};
use rosterd::store::{AuditRow, Backend, LinkChanges, LinkRow, Store};

async fn store(db: &TestDb) -> Store {
    let s = Store::connect(&DatabaseSettings {
        url: db.url.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    s.migrate().await.unwrap();
    s
}

#[tokio::test]
async fn leader_lock_is_exclusive_per_database_and_released() {
    let db = TestDb::new(Db::MySql).await;
    let other_db = TestDb::new(Db::MySql).await;
    let a = store(&db).await;
    let b = store(&db).await;
    let elsewhere = store(&other_db).await;
    assert_eq!(a.backend(), Backend::MySql);

    let lock = a
        .try_lock("host:1")
        .await
        .unwrap()
        .expect("first taker leads");
    assert!(b.try_lock("host:2").await.unwrap().is_none(), "held");
    assert!(
        a.try_lock("host:3").await.unwrap().is_none(),
        "held, even from the same pool (another connection)"
    );
    let other = elsewhere
        .try_lock("host:4")
        .await
        .unwrap()
        .expect("another database has its own lock");
    lock.release().await.unwrap();
    let again = b.try_lock("host:2").await.unwrap().expect("released");
    // Dropped without release: its connection is closed, so the lock goes.
    drop(again);
    let mut taken = None;
    for _ in 0..50 {
        taken = a.try_lock("host:5").await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    taken
        .expect("a dropped lock is freed")
        .release()
        .await
        .unwrap();
    other.release().await.unwrap();
}

#[tokio::test]
async fn mariadb_scheme_and_password_from_settings() {
    let db = TestDb::new(Db::MySql).await;
    let url = db.url.replacen("mysql://", "mariadb://", 1);
    let s = Store::connect(&DatabaseSettings {
        url: url.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(s.backend(), Backend::MySql);
    s.ping().await.unwrap();

    // ROSTERD_DATABASE_PASSWORD (settings.password) is sent: root has none
    // here, so a wrong one is refused.
    let refused = Store::connect(&DatabaseSettings {
        url,
        password: Some(Secret::new("not-the-password")),
        ..Default::default()
    })
    .await
    .expect_err("a wrong password is sent and refused");
    assert!(
        refused.to_string().contains("using password: YES"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_existing_employees_table_is_extended_not_rewritten() {
    let db = TestDb::new(Db::MySql).await;
    let pool = sqlx::MySqlPool::connect(&db.url).await.unwrap();
    sqlx::query(
        "CREATE TABLE employees (id BIGINT PRIMARY KEY, full_name TEXT, email TEXT, \
         department TEXT, workspace TEXT, role_code TEXT, is_active BOOLEAN NOT NULL, \
         hired_on DATE)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO employees VALUES (1, 'Ada Lovelace', 'ada@example.com', 'Picking', 'TX', 'PICKER', TRUE, '2020-01-02')")
        .execute(&pool)
        .await
        .unwrap();
    let s = store(&db).await;
    s.migrate().await.unwrap(); // twice: idempotent
    let rows = s.load_employees(None).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].full_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(rows[0].auth0_user_id, None);
    let (hired,): (String,) = sqlx::query_as("SELECT CAST(hired_on AS CHAR) FROM employees")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(hired, "2020-01-02", "the HR column is kept");

    // rosterd's own write-back does not bump the change marker; HR's edit does.
    let before = s.change_marker().await.unwrap();
    let target = rosterd::store::WriteBack::from_settings(&Default::default())
        .unwrap()
        .expect("the employees table");
    s.set_employee_auth0_id(
        &target,
        rosterd::model::EmployeeId(1),
        Some(&rosterd::model::Auth0UserId("auth0|1".into())),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(s.change_marker().await.unwrap(), before);
    sqlx::query("UPDATE employees SET email = 'ada@new.example.com' WHERE id = 1")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(s.change_marker().await.unwrap(), before + 1);
    pool.close().await;
}

#[tokio::test]
async fn one_current_podfactory_link_per_user() {
    let db = TestDb::new(Db::MySql).await;
    let s = store(&db).await;
    let link = |employee_id| LinkRow {
        podfactory_user_id: "pf1".into(),
        employee_id,
        podfactory_email: None,
        podfactory_name: Some("Ada".into()),
        matched_by: "name".into(),
        confidence: 0.9,
    };
    let changed = |employee_id| LinkChanges {
        changed: vec![link(employee_id)],
        ..LinkChanges::default()
    };
    s.record_podfactory_links(&changed(1), Utc::now())
        .await
        .unwrap();
    s.record_podfactory_links(&changed(2), Utc::now())
        .await
        .unwrap();
    let current = s.current_podfactory_links().await.unwrap();
    assert_eq!(current.get("pf1"), Some(&2));

    let Store::MySql(pool) = &s else {
        unreachable!()
    };
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM employee_podfactory_mapping")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rows, 2, "the old link is kept as history");
    let second_current = sqlx::query(
        "INSERT INTO employee_podfactory_mapping (employee_id, podfactory_user_id, matched_by, confidence) \
         VALUES (3, 'pf1', 'name', 1.0)",
    )
    .execute(pool)
    .await;
    assert!(second_current.is_err(), "a second current row is refused");
}

/// What a database's schema is, by name and type: columns, indexes and CHECK
/// clauses (not their names: MariaDB names a column's CHECK after the
/// column), and the migrations recorded with their checksums.
async fn schema(s: &Store) -> Vec<String> {
    let mut all = Vec::new();
    for sql in [
        "SELECT CONCAT_WS(' ', TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, \
         IFNULL(COLUMN_DEFAULT, '-'), EXTRA, IFNULL(GENERATION_EXPRESSION, '-')) \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, ORDINAL_POSITION",
        "SELECT CONCAT_WS(' ', TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        "SELECT CONCAT_WS(' ', TABLE_NAME, CHECK_CLAUSE) FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CHECK_CLAUSE",
        "SELECT CONCAT_WS(' ', TRIGGER_NAME, ACTION_STATEMENT) FROM information_schema.TRIGGERS \
         WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME",
        "SELECT CONCAT_WS(' ', version, HEX(checksum)) FROM _sqlx_migrations ORDER BY version",
    ] {
        let rows: Vec<(String,)> = fetch_all(s, sql).await;
        all.extend(rows.into_iter().map(|(r,)| r));
    }
    all
}

/// The MySQL migrations were rewritten to run on MySQL 8 as well. A
/// database the first, MariaDB-only texts migrated still migrates (sqlx
/// would refuse it as modified: the old checksums are recognised and
/// replaced) and has the schema a new database gets.
#[tokio::test]
async fn a_database_migrated_by_the_mariadb_only_migrations_still_migrates() {
    let old_db = TestDb::new(Db::MySql).await;
    let old = Store::connect(&DatabaseSettings {
        url: old_db.url.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let Store::MySql(pool) = &old else {
        unreachable!()
    };
    let texts = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mariadb_only_migrations");
    sqlx::migrate::Migrator::new(texts)
        .await
        .unwrap()
        .run(pool)
        .await
        .unwrap();
    old.migrate()
        .await
        .expect("the rewritten migrations take the old history");
    old.migrate().await.unwrap(); // and again: nothing to do

    let new_db = TestDb::new(Db::MySql).await;
    let new = store(&new_db).await;
    let (was, is) = (schema(&old).await, schema(&new).await);
    assert!(is.iter().any(|r| r.contains("employees_auth0_user_id_idx")));
    assert_eq!(was, is);

    // Either way the CHECK takes an Auth0 link's evidence, and nothing else.
    for s in [&old, &new] {
        let row = AuditRow {
            employee_id: EmployeeId(1),
            auth0_user_id: Auth0UserId("auth0|1".into()),
            productivity_email: "ada@example.com".into(),
            podfactory_email: None,
            matched_by: "created",
            from_matcher: false,
        };
        s.upsert_audit(&row, Utc::now()).await.unwrap();
        let Store::MySql(pool) = s else {
            unreachable!()
        };
        let refused = sqlx::query(
            "INSERT INTO auth0_employee_mapping_audit (employee_id, auth0_user_id, matched_by, \
             matched_at, last_verified) VALUES (2, 'auth0|2', 'guess', NOW(6), NOW(6))",
        )
        .execute(pool)
        .await;
        assert!(refused.is_err(), "matched_by = 'guess' is refused");
    }
}
