//! A held run stored by the version before the stored plan had a version
//! (`tests/fixtures/held_run_v0.json`, captured from that version), in the
//! schema before plans were shared (migration 0012), is listed, read and
//! approved, and its plan applied, by this version.

use crate::common::*;
use chrono::{DateTime, Utc};
use rosterd::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

on_every_backend!(a_held_run_stored_by_the_previous_version_is_read_and_approved);

/// The world the fixture's plan was made from: ten linked employees, 1–5
/// inactive, 7 with a new email, 8 with a new role, 9 renamed to one word,
/// a new employee 11, and an account for an employee that does not exist.
fn world() -> (Vec<rosterd::model::RawEmployee>, Vec<Value>) {
    let (mut rows, mut accounts) = linked_staff(10, 5);
    rows[6].email = Some("worker7.new@example.com".into());
    rows[7].role_code = Some("PACKER".into());
    rows[8].full_name = Some("Cher".into());
    rows.push(employee(
        11,
        "Newcomer Eleven",
        "worker11@example.com",
        true,
    ));
    let ghost = employee(99, "Gone Ghost", "ghost@example.com", true);
    accounts.push(managed_account("auth0|000000000000000000000063", &ghost));
    (rows, accounts)
}

/// Insert the fixture's row into `reconcile_runs` as the previous version
/// wrote it; its id.
async fn insert_fixture(store: &Store, row: &Value) -> i64 {
    let time = |k: &str| row[k].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let int = |k: &str| row[k].as_i64().unwrap();
    let text = |k: &str| row[k].as_str().unwrap().to_string();
    let columns = "mode, dry_run, status, started_at, finished_at, employees_seen, \
         auth0_users_seen, actions_planned, actions_succeeded, actions_failed, findings_count, \
         plan, summary, held_reason";
    macro_rules! insert {
        ($pool:expr, $sql:expr) => {
            sqlx::query($sql)
                .bind(text("trigger"))
                .bind(text("mode"))
                .bind(row["dry_run"].as_bool().unwrap())
                .bind(text("status"))
                .bind(time("started_at"))
                .bind(time("finished_at"))
                .bind(int("employees_seen"))
                .bind(int("auth0_users_seen"))
                .bind(int("actions_planned"))
                .bind(int("actions_succeeded"))
                .bind(int("actions_failed"))
                .bind(int("findings_count"))
                .bind(text("plan"))
                .bind(text("summary"))
                .bind(text("held_reason"))
                .execute($pool)
                .await
                .unwrap()
        };
    }
    let numbered = format!(
        "INSERT INTO reconcile_runs (trigger, {columns}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    match store {
        #[cfg(feature = "postgres")]
        Store::Postgres(p) => drop(insert!(p, &numbered)),
        #[cfg(feature = "sqlite")]
        Store::Sqlite(p) => drop(insert!(p, &numbered)),
        #[cfg(feature = "mysql")]
        Store::MySql(p) => drop(insert!(
            p,
            &format!(
                "INSERT INTO reconcile_runs (`trigger`, {columns}) VALUES \
                 (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            )
        )),
    }
    let [(id,)]: [(i64,); 1] = fetch_all(store, "SELECT MAX(id) FROM reconcile_runs")
        .await
        .try_into()
        .unwrap();
    id
}

/// `got` holds every value of `want` (objects may carry more keys; arrays
/// match item by item).
fn assert_includes(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, v) in w {
                assert_includes(&g[k], v, &format!("{at}.{k}"));
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{at}: {got:#} vs {want:#}");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_includes(g, w, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

async fn a_held_run_stored_by_the_previous_version_is_read_and_approved(db: Db) {
    const LIMIT: Duration = Duration::from_secs(30);
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/held_run_v0.json")).unwrap();
    let fixture_plan: Value = serde_json::from_str(fixture["plan"].as_str().unwrap()).unwrap();
    assert!(fixture_plan.get("version").is_none(), "a version 0 plan");

    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let (rows, accounts) = world();
    api.seed(accounts).await;
    let s = daemon_settings(&db, &sim);
    // Stored where that version stored it, then upgraded: the plan moves
    // to `run_plans` (migration 0012).
    let old = Store::connect(&s.database).await.unwrap();
    migrate_until(&old, 11).await;
    let held = insert_fixture(&old, &fixture).await;
    seed_employees(&s, &rows).await;
    let d = rosterd::daemon::spawn(s).await.expect("the daemon starts");
    let c = DaemonClient::admin(&d);

    // Listed as waiting for a decision, and read with its plan as stored.
    let listed = c.get("/api/v1/runs?status=held").await;
    listed.expect(200);
    assert_eq!(listed.json["runs"][0]["id"], held, "{:#}", listed.json);
    let run = c.get(&format!("/api/v1/runs/{held}")).await;
    run.expect(200);
    assert_eq!(run.json["status"], "held");
    // Read with every stored value as stored; a newer rosterd only adds
    // what it derives (each action's situation, zero counts).
    assert_includes(&run.json["plan"], &fixture_plan, "plan");
    let findings = c.get("/api/v1/findings?kind=orphaned").await;
    findings.expect(200);
    assert_eq!(findings.json["run_id"], held);
    assert_includes(
        &findings.json["findings"],
        &fixture_plan["findings"],
        "findings",
    );

    // Approved: the plan as held is applied, all of it.
    let r = c.post_empty(&format!("/api/v1/runs/{held}/approve")).await;
    r.expect(202);
    let applied = c.wait_run(r.json["run_id"].as_i64().unwrap(), LIMIT).await;
    assert_eq!(applied["status"], "succeeded", "{applied:#}");
    assert_eq!(applied["trigger"], "approval");
    assert_eq!(applied["actions_succeeded"], 9, "{applied:#}");
    assert_eq!(applied["held_reason"], Value::Null, "{applied:#}");
    // The new run's plan is stored in the current version and reads back the same.
    assert_includes(
        &applied["plan"]["actions"],
        &fixture_plan["actions"],
        "actions",
    );
    assert!(applied["plan"].get("version").is_none(), "{applied:#}");
    let column = stored_plan(&d.ctx.store, applied["id"].as_i64().unwrap()).await;
    assert_eq!(column["version"], rosterd::store::PLAN_VERSION);

    let users = api.users().await;
    let blocked: BTreeSet<&str> = users
        .iter()
        .filter(|u| u["blocked"] == json!(true))
        .map(|u| u["user_id"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<String> = (1..=5).map(|i| format!("auth0|{i:024x}")).collect();
    assert_eq!(
        blocked,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    assert_eq!(api.user_by_email("worker7.new@example.com").await.len(), 1);
    assert_eq!(api.user_by_email("worker11@example.com").await.len(), 1);

    let decided = c.get(&format!("/api/v1/runs/{held}")).await;
    assert_eq!(decided.json["status"], "approved");
    assert_eq!(decided.json["approved_by"], ADMIN_NAME);
    d.shutdown().await.unwrap();
}
