//! `rosterd bench run` keeps working: every scenario at a tiny size, its
//! output carrying every figure the README's table shows. No timing is
//! asserted (a busy machine would flake).

use serde_json::Value;
use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rosterd"))
        .args(["bench", "run", "--output", "json"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("rosterd bench runs")
}

/// The measurements `bench run` printed, one JSON object a line.
fn measurements(o: &Output) -> Vec<Value> {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

/// What every measurement carries, whatever the scenario.
fn assert_complete(m: &Value) {
    assert_eq!(m["status"], "succeeded", "{m}");
    for phase in ["read_ms", "match_ms", "plan_ms", "apply_ms", "record_ms"] {
        assert!(m["timings"][phase].is_u64(), "{phase} in {m}");
    }
    for figure in [
        "wall_ms",
        "requests",
        "responses_429",
        "peak_rss_kib",
        "cpu_ms",
    ] {
        assert!(m[figure].is_u64(), "{figure} in {m}");
    }
    assert!(m["requests"].as_u64() > Some(0), "the export at least: {m}");
    assert!(m["peak_rss_kib"].as_u64() > Some(0), "{m}");
    for when in ["tables_before", "tables_after"] {
        assert!(m[when]["audit_rows"].is_i64(), "{m}");
        assert!(m[when]["mapping_rows"].is_i64(), "{m}");
    }
}

fn rows(m: &Value, table: &str) -> (i64, i64) {
    (
        m["tables_before"][table].as_i64().unwrap(),
        m["tables_after"][table].as_i64().unwrap(),
    )
}

#[test]
fn steady_state_scenarios_on_sqlite_measure_runs_that_change_nothing_in_auth0() {
    let out = bench(&[
        "--db",
        "sqlite",
        "--employees",
        "50",
        "--scenario",
        "podfactory-noop,noop,podfactory-first",
    ]);
    let m = measurements(&out);
    let scenarios: Vec<&str> = m.iter().map(|m| m["scenario"].as_str().unwrap()).collect();
    assert_eq!(
        scenarios,
        ["noop", "podfactory-first", "podfactory-noop"],
        "one set-up, in the order they depend on each other"
    );
    for m in &m {
        assert_complete(m);
        assert_eq!(m["planned"], serde_json::json!({}), "accounts in sync: {m}");
    }
    let (noop, first, again) = (&m[0], &m[1], &m[2]);
    let (before, after) = rows(noop, "audit_rows");
    assert!(before > 0, "the set-up filled the audit: {noop}");
    assert_eq!(before, after, "{noop}");
    assert!(noop["podfactory_users"].is_null(), "{noop}");
    assert!(first["podfactory_users"].as_u64() > Some(0), "{first}");
    let (before, after) = rows(first, "mapping_rows");
    assert!(
        before == 0 && after > 0,
        "the first run records the links: {first}"
    );
    assert_eq!(
        rows(again, "mapping_rows"),
        (after, after),
        "a no-change run adds no link: {again}"
    );
    let (before, after) = rows(again, "audit_rows");
    assert_eq!(before, after, "nor an audit row: {again}");
}

#[test]
fn creates_on_sqlite_creates_every_employee() {
    let m = measurements(&bench(&[
        "--db",
        "sqlite",
        "--employees",
        "20",
        "--scenario",
        "creates",
    ]));
    assert_eq!(m.len(), 1);
    assert_complete(&m[0]);
    let created = m[0]["planned"]["create"].as_i64().unwrap();
    assert!(created > 0, "{}", m[0]);
    assert_eq!(m[0]["failed"], serde_json::json!({}), "{}", m[0]);
    assert_eq!(
        rows(&m[0], "audit_rows"),
        (0, created),
        "every account created joins the audit: {}",
        m[0]
    );
}

#[cfg(feature = "postgres")]
#[test]
fn noop_on_postgres_reports_the_tables_sizes() {
    let m = measurements(&bench(&[
        "--db",
        "postgres",
        "--employees",
        "20",
        "--scenario",
        "noop",
    ]));
    assert_complete(&m[0]);
    for when in ["tables_before", "tables_after"] {
        assert!(m[0][when]["audit_bytes"].as_i64() > Some(0), "{}", m[0]);
    }
}

#[test]
fn creates_cannot_share_a_set_up() {
    let out = bench(&["--employees", "5", "--scenario", "creates,noop"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("creates needs a set-up of its own"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
