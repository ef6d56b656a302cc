//! The `rosterd` binary as operators use it: a config file, secrets in the
//! environment, exit statuses, a process killed mid-run.

use crate::common::*;
use auth0_sim::SimConfig;
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

/// employee_id, auth0_user_id, productivity_email, podfactory_email, matched_by
type AuditTuple = (i64, String, Option<String>, Option<String>, String);

const SECRET_ENV: &str = "ROSTERD_AUTH0_CLIENT_SECRET";

fn write_config(dir: &Path, db: &TestDb, sim_base: &str, extra: &str) -> std::path::PathBuf {
    write_cli_config(dir, db, sim_base, "", extra)
}

fn rosterd(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = rosterd_command(config, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("rosterd runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

on_every_backend!(
    crash_between_create_and_record_is_healed,
    exit_statuses_and_json_output
);

/// Abort the process right after Auth0 created an account and before rosterd
/// recorded it; the next run links that account instead of making another.
async fn crash_between_create_and_record_is_healed(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(1)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &sim.base_url(), "");

    let crashed = rosterd(
        &config,
        &["run"],
        &[("ROSTERD_FAILPOINT", "after_auth0_create")],
    );
    assert!(
        !crashed.status.success(),
        "the failpoint aborts: {}",
        text(&crashed)
    );
    assert_eq!(api.users().await.len(), 1, "Auth0 has the account");
    assert!(
        ctx.store.load_employees(None).await.unwrap()[0]
            .auth0_user_id
            .is_none(),
        "not recorded"
    );
    let runs = ctx.store.list_runs(10).await.unwrap();
    assert_eq!(
        runs[0].status.as_str(),
        "running",
        "the crashed run never finished"
    );

    let healed = rosterd(&config, &["run"], &[]);
    assert!(healed.status.success(), "{}", text(&healed));
    let users = api.users().await;
    assert_eq!(users.len(), 1, "exactly one account after healing");
    assert_eq!(
        ctx.store.load_employees(None).await.unwrap()[0]
            .auth0_user_id
            .as_deref(),
        users[0]["user_id"].as_str()
    );
    assert_eq!(api.count("POST /api/v2/users", "201").await, 1);
    let runs = ctx.store.list_runs(10).await.unwrap();
    assert_eq!(runs[0].status.as_str(), "succeeded");
    assert_eq!(runs[1].status.as_str(), "failed");
    assert!(runs[1].error.as_deref().unwrap().contains("abandoned"));
    let actions = ctx.store.run_actions(runs[0].id).await.unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].kind.as_str(), "link");
}

async fn exit_statuses_and_json_output(db: Db) {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    let (rows, accounts) = linked_staff(10, 0);
    api.seed(accounts).await;
    ctx.store.insert_employees(&rows).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &sim.base_url(), "");

    let ok = rosterd(&config, &["run", "--output", "json"], &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let report: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("stdout is JSON");
    assert_eq!(report["status"], json!("succeeded"));
    assert_eq!(report["stats"]["employees"], json!(10));

    // Half the staff deactivated at once: held, exit 3.
    exec(
        &ctx.store,
        "UPDATE employees SET is_active = false WHERE id <= 5",
    )
    .await;
    let held = rosterd(&config, &["run"], &[]);
    assert_eq!(held.status.code(), Some(3), "{}", text(&held));
    assert!(text(&held).contains("HELD"), "{}", text(&held));
    assert!(api.none_blocked().await);

    // Auth0 unreachable: failed, exit 1, the endpoint named.
    let dead = write_config(dir.path(), &db, "http://127.0.0.1:9", "");
    let failed = rosterd(&dead, &["run"], &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(text(&failed).contains("/oauth/token"), "{}", text(&failed));
}

/// Neither the client secret, the access token nor a generated password
/// appears in logs (at debug level), command output or the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_output_or_database() {
    let db = TestDb::new(Db::Sqlite).await;
    let sim = spawn_sim().await;
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(5)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &db,
        &sim.base_url(),
        "[log]\nlevel = \"trace\"\nformat = \"json\"\n",
    );
    let out = rosterd(&config, &["run", "--output", "json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let mut everything = text(&out);
    assert!(
        everything.contains("run succeeded"),
        "logs were captured: {everything}"
    );

    // Every row rosterd wrote.
    let audit: Vec<AuditTuple> = fetch_all(
        &ctx.store,
        "SELECT employee_id, auth0_user_id, productivity_email, podfactory_email, matched_by FROM auth0_employee_mapping_audit",
    )
    .await;
    assert_eq!(audit.len(), 5);
    everything.push_str(&format!(
        "{audit:?}{:?}",
        ctx.store.load_employees(None).await.unwrap()
    ));
    let runs = ctx.store.list_runs(10).await.unwrap();
    for r in &runs {
        everything.push_str(&format!("{:?}", r));
        for a in ctx.store.run_actions(r.id).await.unwrap() {
            everything.push_str(&format!("{:?}", a));
        }
    }

    let secret = SimConfig::default().client_secret;
    assert!(!everything.contains(&secret), "client secret leaked");
    assert!(!everything.contains("eyJ"), "an access token (JWT) leaked");
    // A generated password is 32 characters drawn from all four classes.
    for word in everything.split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '\\') {
        let classes = [
            word.chars().any(|c| c.is_ascii_lowercase()),
            word.chars().any(|c| c.is_ascii_uppercase()),
            word.chars().any(|c| c.is_ascii_digit()),
            word.chars().any(|c| "!#$%&*+-=?@^_~".contains(c)),
        ];
        assert!(
            !(word.len() == 32 && classes.iter().all(|&c| c)),
            "something shaped like a generated password leaked: {word}"
        );
    }
    assert!(
        !everything.to_lowercase().contains("\"password\":"),
        "a password field leaked"
    );
}

#[test]
fn check_config_lists_every_problem_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "mode = \"sometimes\"\n[database]\nurl = \"oracle://x\"\n[auth0]\nclient_secret = \"oops\"\nrate_per_sec = -1\nbogus = 1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rosterd"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove(SECRET_ENV)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "mode (line 1): expected",
        "database.url",
        "auth0.client_secret",
        "auth0.bogus",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    assert!(!err.contains("oops"), "the misplaced secret is not echoed");
    assert!(
        !err.contains("sometimes") && !err.contains("oracle"),
        "{err}"
    );
}

/// `rosterd match` on an export with a bad row: the row on stderr, every
/// other user matched on stdout, exit status 2 (done, but not all of it).
#[test]
fn match_skips_a_bad_row_with_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let employees = dir.path().join("employees.csv");
    let podfactory = dir.path().join("podfactory.csv");
    std::fs::write(
        &employees,
        "id,name,email,department,is_active\n\
         1,Ann Lee,ann.lee@pw.com,Picking,true\n\
         2,,nameless@pw.com,Picking,true\n\
         3,Bo Chen,bo.chen@pw.com,Shipping,true\n",
    )
    .unwrap();
    std::fs::write(
        &podfactory,
        "id,name,email,user_role\npf1,Ann Lee,,Picker\npf2,Bo Chen,bo.chen.shp@pw.com,Shipper\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rosterd"))
        .arg("match")
        .arg("--employees")
        .arg(&employees)
        .arg("--podfactory")
        .arg(&podfactory)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped ")
            && err.contains("employees.csv: line 3, column 2 (name): empty name"),
        "{err}"
    );
    assert!(
        err.contains("2 matched") && err.contains("1 row skipped"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("pf1,1,matched") && stdout.contains("pf2,3,matched"),
        "{stdout}"
    );
}

/// `rosterd match` given a directory, a negative margin, or an employees
/// file with a header only: one clear error each, exit status 1.
#[test]
fn match_refuses_what_it_cannot_use_with_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let podfactory = dir.path().join("podfactory.csv");
    std::fs::write(&podfactory, "id,name,email,user_role\npf1,Ann Lee,,\n").unwrap();
    let header_only = dir.path().join("employees.csv");
    std::fs::write(&header_only, "id,name,email,department,is_active\n").unwrap();
    let run = |employees: &std::path::Path, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rosterd"))
            .arg("match")
            .arg("--employees")
            .arg(employees)
            .arg("--podfactory")
            .arg(&podfactory)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(dir.path(), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(": cannot be read: ") && !err.contains("line 0"),
        "{err}"
    );
    let (code, err) = run(&header_only, &["--margin", "-1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("--margin must be within 0..=1, got -1"),
        "{err}"
    );
    let (code, err) = run(&header_only, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("employees.csv: no employees to match against (it has only a header)"),
        "{err}"
    );
}

/// Ctrl-C (SIGINT) or SIGTERM during `rosterd run`: no further action
/// starts, the run is recorded `interrupted` and says so, exit status 1;
/// the next run finishes the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_stops_a_cli_run_as_interrupted_and_the_next_run_finishes() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let db = TestDb::new(Db::Sqlite).await;
        let sim = spawn_sim().await;
        let api = SimClient::new(&sim);
        let ctx = context(settings(&db, &sim)).await;
        let rows = staff(40);
        ctx.store.insert_employees(&rows).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &db, &sim.base_url(), "");
        // One call per account, each slow: time to stop in.
        api.faults(json!({"latency_ms": 300, "endpoint": "POST /api/v2/users"}))
            .await;
        let child = rosterd_command(&config, &["run"])
            .env("ROSTERD_AUTH0__BULK_IMPORT_THRESHOLD", "0")
            .env("ROSTERD_AUTH0__CONCURRENCY", "2")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        eventually(
            "some accounts created",
            std::time::Duration::from_secs(30),
            || async { (!api.users().await.is_empty()).then_some(()) },
        )
        .await;
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        api.clear_faults().await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "signal {signal}: {}",
            text(&out)
        );
        let said = text(&out);
        assert!(
            said.contains("stopping: no further action starts"),
            "{said}"
        );
        assert!(said.contains("INTERRUPTED"), "{said}");
        let created = api.users().await.len();
        assert!(created < rows.len(), "stopped before the end: {created}");
        let runs: Vec<(String,)> =
            fetch_all(&ctx.store, "SELECT status FROM reconcile_runs ORDER BY id").await;
        assert_eq!(runs, [("interrupted".to_string(),)]);
        let next = run(&ctx).await;
        assert_eq!(
            next.succeeded.get("create"),
            Some(&(rows.len() - created)),
            "{next:?}"
        );
        assert_eq!(api.users().await.len(), rows.len());
    }
}
