//! Crash test: `rosterd run` killed with SIGKILL at random points, many times
//! in a row, while HR keeps changing the employees table. Afterwards no
//! employee may have two accounts, no run may be left `running`, every
//! leaver's account is blocked and a final run plans nothing.
//!
//! Ignored by default (it takes a minute or two per backend); `.ci/run` runs
//! it: `cargo test --test it crash:: -- --ignored`. `CRASH_ITERATIONS` sets
//! the number of kills (default 40), `CRASH_SEED` replays a failure.

use crate::common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "crash test, run by .ci/run: cargo test --test it crash:: -- --ignored"]
async fn postgres() {
    kill_nine_at_random_points_loses_and_duplicates_nothing(Db::Postgres).await
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "crash test, run by .ci/run: cargo test --test it crash:: -- --ignored"]
async fn mysql() {
    kill_nine_at_random_points_loses_and_duplicates_nothing(Db::MySql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "crash test, run by .ci/run: cargo test --test it crash:: -- --ignored"]
async fn sqlite() {
    kill_nine_at_random_points_loses_and_duplicates_nothing(Db::Sqlite).await
}

const EMPLOYEES: i64 = 40;

fn config(dir: &Path, db: &TestDb, sim_base: &str) -> std::path::PathBuf {
    // HR's changes pile up while runs are killed; this test is about
    // crashes, not the guard.
    let guard = "[reconcile]\nmax_block_count = 1000\nmax_block_share = 1.0\n\
                 max_unblock_count = 1000\nmax_unblock_share = 1.0\n\
                 max_email_change_count = 1000\nmax_email_change_share = 1.0\n";
    write_cli_config(dir, db, sim_base, "concurrency = 4", guard)
}

/// One random change HR might make between (or during) runs.
async fn hr_change(store: &rosterd::store::Store, rng: &mut StdRng, next_id: &mut i64) {
    let id = rng.gen_range(1..*next_id);
    let sql = match rng.gen_range(0..5) {
        0 => format!("UPDATE employees SET is_active = false WHERE id = {id}"),
        1 => format!("UPDATE employees SET is_active = true WHERE id = {id}"),
        2 => format!(
            "UPDATE employees SET full_name = 'Renamed Person{id}x{}' WHERE id = {id}",
            rng.gen_range(0..1000)
        ),
        3 => format!(
            "UPDATE employees SET email = 'moved{id}.{}@example.com' WHERE id = {id}",
            rng.gen_range(0..1000)
        ),
        _ => {
            let new = *next_id;
            *next_id += 1;
            format!(
                "INSERT INTO employees (id, full_name, email, department, workspace, role_code, is_active) \
                 VALUES ({new}, 'New Hire{new}', 'hire{new}@example.com', 'Picking', 'TX', 'PICKER', true)"
            )
        }
    };
    exec(store, &sql).await;
}

async fn kill_nine_at_random_points_loses_and_duplicates_nothing(db: Db) {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    let iterations: usize = std::env::var("CRASH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    eprintln!("crash test on {db:?}: CRASH_SEED={seed} CRASH_ITERATIONS={iterations}");
    let mut rng = StdRng::seed_from_u64(seed);

    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let api = SimClient::new(&sim);
    let ctx = context(settings(&db, &sim)).await;
    ctx.store.insert_employees(&staff(EMPLOYEES)).await.unwrap();
    let mut next_id = EMPLOYEES + 1;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &db, &sim.base_url());
    // Every Auth0 call takes a little while, so a run lasts long enough to
    // be killed in any of its stages.
    api.faults(json!({"latency_ms": 15})).await;

    let first = rosterd_command(&config, &["run"]).output().unwrap();
    assert!(
        first.status.success(),
        "the first run succeeds: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    // How long a run with little to do takes (start-up, token, export,
    // load), to spread the kills over the runs that follow.
    let started = Instant::now();
    let quiet = rosterd_command(&config, &["run"]).output().unwrap();
    assert!(quiet.status.success());
    let mut window = started.elapsed().max(Duration::from_millis(100));

    let mut killed = 0;
    for _ in 0..iterations {
        for _ in 0..rng.gen_range(1..8) {
            hr_change(&ctx.store, &mut rng, &mut next_id).await;
        }
        let mut child = rosterd_command(&config, &["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let spawned = Instant::now();
        let after = window.mul_f64(rng.gen_range(0.0..1.0));
        tokio::time::sleep(after).await;
        // The window follows how long runs take on this (busy) machine:
        // shorter when one finished first, a little longer after a kill.
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
            window = window.mul_f64(1.1);
        } else {
            window = window.min(spawned.elapsed()).mul_f64(0.9);
        }
        let out = child.wait_with_output().unwrap();
        if std::env::var("CRASH_VERBOSE").is_ok() {
            eprintln!("{:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
        }
    }
    eprintln!("killed {killed} of {iterations} runs");
    assert!(killed > iterations / 3, "most runs were killed mid-way");

    // The next runs finish the work (a run the previous process left behind
    // may first have to be closed).
    api.clear_faults().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = rosterd_command(&config, &["run"]).output().unwrap();
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no successful run after the crashes: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let check = rosterd_command(&config, &["run", "--dry-run", "--output", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&check.stdout).unwrap_or_else(|e| {
        panic!(
            "dry run prints JSON ({e}): {}",
            String::from_utf8_lossy(&check.stderr)
        )
    });
    assert_eq!(
        report["planned"],
        json!({}),
        "a run after recovery plans nothing: {report:#}"
    );

    let running: Vec<(i64,)> = fetch_all(
        &ctx.store,
        "SELECT id FROM reconcile_runs WHERE status = 'running'",
    )
    .await;
    assert!(running.is_empty(), "runs left running: {running:?}");

    // One account per employee; leavers blocked, the others not.
    let employees: Vec<(i64, String, bool)> = fetch_all(
        &ctx.store,
        "SELECT id, email, is_active FROM employees ORDER BY id",
    )
    .await;
    let mut by_employee: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for u in api.users().await {
        if let Some(id) = u["app_metadata"]["employee_id"].as_i64() {
            by_employee.entry(id).or_default().push(u);
        }
    }
    for (id, email, active) in &employees {
        let accounts = by_employee.get(id).map(Vec::as_slice).unwrap_or(&[]);
        // A hire who left before ever getting an account has none.
        let expected = if *active { 1..=1 } else { 0..=1 };
        assert!(
            expected.contains(&accounts.len()),
            "employee {id} ({email}, active {active}) has {} accounts: {accounts:#?}",
            accounts.len()
        );
        let Some(account) = accounts.first() else {
            continue;
        };
        let blocked = account["blocked"].as_bool().unwrap_or(false);
        assert_eq!(blocked, !active, "employee {id}: blocked iff inactive");
        if *active {
            // A leaver's account is blocked, not kept in step.
            assert_eq!(account["email"].as_str(), Some(email.as_str()));
        }
    }
    let known: std::collections::BTreeSet<i64> = employees.iter().map(|e| e.0).collect();
    assert!(
        by_employee.keys().all(|id| known.contains(id)),
        "no account for an unknown employee"
    );
}
