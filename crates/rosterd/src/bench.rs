//! `rosterd bench`: the figures behind the speed claims, measured on the
//! machine at hand (never asserted in tests, where a busy machine flakes).
//!
//! - `bench plan`: the pure planner over N employees and N accounts.
//! - `bench run`: a whole run (SQLite, the simulator in a child process, so
//!   the memory figure is rosterd's own) with nothing to do, or with every
//!   employee still to create; wall time and peak resident memory.
//! - `bench sim`: requests per second the simulator sustains.

use auth0_sim::SimConfig;
use rosterd::config::{Secret, Settings};
use rosterd::model::{Auth0UserId, Employee};
use rosterd::plan::{plan, PlanPolicy};
use rosterd::run::{run_once, Context, RunOptions, Trigger};
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Time the pure planner.
    Plan {
        #[arg(long, default_value_t = 100_000)]
        employees: usize,
    },
    /// Time a whole run against the simulator.
    Run {
        #[arg(long, default_value_t = 10_000)]
        employees: usize,
        /// `noop` (every account already in sync) or `creates` (none exists).
        #[arg(long, default_value = "noop")]
        scenario: String,
        /// rosterd's request rate (default: the configuration default).
        #[arg(long)]
        rate: Option<f64>,
        /// The simulator's rate limit (default: its production-tenant default).
        #[arg(long)]
        sim_rate: Option<f64>,
    },
    /// Requests per second the simulator sustains.
    Sim(auth0_sim::bench::BenchArgs),
    /// Time the PodFactory matcher (6,000 × 5,000 and 100,000 × 100,000).
    Match(rosterd_lab::MatchBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Plan { employees } => bench_plan(employees),
        BenchCommand::Run {
            employees,
            scenario,
            rate,
            sim_rate,
        } => bench_run(employees, &scenario, rate, sim_rate).await,
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
    let before = peak_rss_kib();
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
        peak_rss_kib().unwrap_or(0) / 1024,
        before.unwrap_or(0) / 1024,
    );
    Ok(())
}

async fn bench_run(
    n: usize,
    scenario: &str,
    rate: Option<f64>,
    sim_rate: Option<f64>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        matches!(scenario, "noop" | "creates"),
        "--scenario must be noop or creates, not {scenario:?}"
    );
    let dir = tempfile_dir()?;
    let sim_cfg = SimConfig::default();
    let port = free_port()?;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["auth0-sim", "--listen", &format!("127.0.0.1:{port}")])
        .args(
            sim_rate
                .map(|r| vec!["--rate".to_string(), r.to_string()])
                .unwrap_or_default(),
        )
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while http
        .get(format!("{base}/__sim/requests"))
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "the simulator did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut settings = Settings::default();
    settings.database.url = format!("sqlite://{}/bench.db", dir.display());
    settings.auth0.base_url = Some(base.clone());
    settings.auth0.domain = "bench.rosterd.local".into();
    settings.auth0.client_id = sim_cfg.client_id.clone();
    settings.auth0.client_secret = Secret::new(sim_cfg.client_secret.clone());
    settings.auth0.export_poll_ms = 200;
    settings.auth0.roles = rosterd_lab::role_map();
    if let Some(r) = rate {
        settings.auth0.rate_per_sec = r;
    }
    let rate_used = settings.auth0.rate_per_sec;
    let ctx = Context::new(settings).await?;
    ctx.store.migrate().await?;
    let mut raw = rosterd_lab::sample_workforce(n, 1);
    for r in raw.iter_mut() {
        r.is_active = true;
    }
    if scenario == "noop" {
        let mut accounts = Vec::with_capacity(n);
        for r in raw.iter_mut() {
            // Each row with its own account; a row that would not validate
            // gets none (the run reports it).
            let Ok(e) = r.clone().validate() else {
                continue;
            };
            let id = format!("auth0|{:024x}", e.id.0);
            accounts.push(synced_account(&e, &id));
            r.auth0_user_id = Some(id);
        }
        for chunk in accounts.chunks(2000) {
            let resp = http
                .post(format!("{base}/__sim/users"))
                .json(chunk)
                .send()
                .await?;
            anyhow::ensure!(
                resp.status().is_success(),
                "seeding failed: {}",
                resp.status()
            );
        }
    }
    ctx.store.insert_employees(&raw).await?;

    reset_peak_rss();
    let before = peak_rss_kib();
    let start = Instant::now();
    let report = run_once(&ctx, RunOptions::new(Trigger::Bench, false)).await?;
    let took = start.elapsed();
    println!(
        "run ({scenario}, {n} employees, rosterd at {rate_used} rps): {:?} in {:.2} s; planned {:?}; failed {:?}; peak RSS {} MiB (from {} MiB before the run)",
        report.status,
        took.as_secs_f64(),
        report.planned,
        report.failed,
        peak_rss_kib().unwrap_or(0) / 1024,
        before.unwrap_or(0) / 1024,
    );
    child.kill().await.ok();
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("rosterd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// VmHWM (peak resident set) in KiB, on Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Reset VmHWM to the current RSS (Linux ≥ 4.0), so the peak is the run's.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
