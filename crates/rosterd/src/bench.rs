//! `rosterd bench`: the figures behind the speed claims, measured on the
//! machine at hand (never asserted in tests, where a busy machine flakes).
//!
//! - `bench plan`: the pure planner over N employees and N accounts.
//! - `bench run`: whole runs as a user gets them (`whole_run`).
//! - `bench table`: `bench run` over the README's matrix, as its table.
//! - `bench sim`: requests per second the simulator sustains.
//! - `bench match`: the PodFactory matcher.

mod whole_run;

use rosterd::model::{Auth0UserId, Employee};
use rosterd::plan::{plan, PlanPolicy};
use serde_json::json;
use std::time::Instant;

pub use whole_run::{RunArgs, TableArgs};

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Time the pure planner.
    Plan {
        #[arg(long, default_value_t = 100_000)]
        employees: usize,
    },
    /// Time whole runs: `rosterd run` as a child process against the
    /// simulator as another, on a database of its own.
    Run(RunArgs),
    /// `bench run` over SQLite and PostgreSQL at each size, as one markdown
    /// table (the README's).
    Table(TableArgs),
    /// Requests per second the simulator sustains.
    Sim(auth0_sim::bench::BenchArgs),
    /// Time the PodFactory matcher (6,000 × 5,000 and 100,000 × 100,000).
    Match(rosterd_lab::MatchBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Plan { employees } => bench_plan(employees),
        BenchCommand::Run(args) => whole_run::bench_run(args).await,
        BenchCommand::Table(args) => whole_run::bench_table(args).await,
        BenchCommand::Match(args) => rosterd_lab::bench_cli(args),
        BenchCommand::Sim(args) => {
            println!("{}", auth0_sim::bench::bench(args).await?);
            Ok(())
        }
    }
}

fn valid_workforce(n: usize) -> Vec<Employee> {
    rosterd_lab::sample_workforce(n, 1)
        .into_iter()
        .filter_map(|r| r.validate().ok())
        .collect()
}

/// An account in sync with `e` (what rosterd would have created).
fn synced_account(e: &Employee, id: &str) -> serde_json::Value {
    json!({
        "user_id": id, "email": e.email.as_str(), "name": e.full_name,
        "app_metadata": {"employee_id": e.id.0, "department": e.department, "role_code": e.role_code,
                         "workspace": e.workspace, "created_by": "productivity_system"},
        "user_metadata": {"employee_id": e.id.0, "full_name": e.full_name, "department": e.department}
    })
}

/// Only `plan()` is timed: the workforce and the accounts are built first.
fn bench_plan(n: usize) -> anyhow::Result<()> {
    let mut employees = valid_workforce(n);
    // 90% linked and in sync, 5% drifted, 5% new; the accounts as Auth0 returns them.
    let mut users = Vec::with_capacity(n);
    for (i, e) in employees.iter_mut().enumerate() {
        if i % 20 == 0 {
            continue;
        }
        let id = format!("auth0|{:024x}", i + 1);
        let mut u =
            rosterd::auth0::user_from_json(&synced_account(e, &id)).map_err(anyhow::Error::msg)?;
        if i % 20 == 1 {
            u.app_metadata.department = Some("Elsewhere".into());
        }
        e.auth0_user_id = Some(Auth0UserId(id));
        users.push(u);
    }
    let policy = PlanPolicy {
        created_by: "productivity_system".into(),
        ..PlanPolicy::default()
    };
    let before = whole_run::own_peak_rss_kib();
    let start = Instant::now();
    let p = plan(&employees, &users, &[], &policy);
    let took = start.elapsed();
    println!(
        "plan: {} employees × {} accounts → {} actions, {} findings in {:.0} ms (peak RSS {} MiB, {} MiB before planning)",
        employees.len(),
        users.len(),
        p.actions.len(),
        p.findings.len(),
        took.as_secs_f64() * 1000.0,
        whole_run::own_peak_rss_kib().unwrap_or(0) / 1024,
        before.unwrap_or(0) / 1024,
    );
    Ok(())
}
