//! `rosterd demo`: the whole product on a machine with no servers.
//!
//! A SQLite database with a sample workforce (departments over both
//! workspaces, some inactive, names with diacritics, apostrophes and
//! hyphens), the Auth0 simulator started in-process and seeded with a few
//! accounts that exercise every decision (an account to link, one to block,
//! one drifted, an orphan, a duplicate, unmanaged admins), then a real run
//! through the same code path as production, and a second run to show that
//! nothing is left to do.

use auth0_sim::{self as sim, SimConfig};
use rosterd::config::{Secret, Settings};
use rosterd::model::RawEmployee;
use rosterd::plan::Plan;
use rosterd::run::{run_once, Context, RunOptions, Trigger};
use rosterd_lab::workforce::{self, podfactory_csv, role_map, EMAIL_DOMAIN};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Exit after the first runs instead of continuing on a schedule.
    #[arg(long)]
    pub once: bool,
    /// Folder for the demo's SQLite database (recreated on every start).
    #[arg(long, default_value = "rosterd-demo")]
    pub dir: PathBuf,
    /// Employees in the sample workforce.
    #[arg(long, default_value_t = 300)]
    pub employees: usize,
    /// Seconds between runs when not --once.
    #[arg(long, default_value_t = 60)]
    pub interval_secs: u64,
    /// Where the demo serves the admin API, /metrics and health when not --once.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join("demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }

    // The simulator as a paid tenant (50 rps), so the demo takes seconds.
    let sim_cfg = SimConfig {
        rate_per_sec: 50.0,
        burst: 100,
        ..SimConfig::default()
    };
    let simulator = sim::spawn(sim_cfg.clone(), "127.0.0.1:0").await?;
    let base = simulator.base_url();

    // Enforce is the default mode: the demo applies its plan.
    let mut settings = Settings::default();
    settings.database.url = format!("sqlite://{}", db.display());
    settings.auth0.base_url = Some(base.clone());
    settings.auth0.domain = "demo.rosterd.local".into();
    settings.auth0.client_id = sim_cfg.client_id.clone();
    settings.auth0.client_secret = Secret::new(sim_cfg.client_secret.clone());
    settings.auth0.rate_per_sec = 40.0;
    settings.auth0.burst = 20;
    settings.auth0.export_poll_ms = 100;
    settings.auth0.roles = role_map();
    settings.podfactory.source = "csv".into();
    settings.podfactory.csv_path = args.dir.join("podfactory.csv").display().to_string();
    settings.serve.listen = args.listen.clone();
    settings.serve.schedule = every(args.interval_secs);
    settings.serve.run_at_start = false;
    // A token for the console and the admin API, made fresh and shown once.
    let token = rosterd::password::generate_token();
    settings.serve.admin_tokens = vec![("demo".into(), token.clone())];
    settings.serve.public_url = format!("http://{}", args.listen);
    let ctx = Context::new(settings).await?;
    ctx.store.migrate().await?;

    let sample = workforce::sample(args.employees.max(20), 42);
    let mut workforce = sample.employees;
    seed_demo_accounts(&base, &mut workforce).await?;
    std::fs::write(
        &ctx.settings.podfactory.csv_path,
        podfactory_csv(&sample.podfactory),
    )?;
    ctx.store.insert_employees(&workforce).await?;

    println!("rosterd demo");
    println!(
        "  database:        {} ({} employees)",
        db.display(),
        workforce.len()
    );
    println!("  Auth0 simulator: {base} (state: {base}/__sim/state)");
    println!();

    let first = run_once(&ctx, RunOptions::new(Trigger::Demo, false)).await?;
    print!("{}", rosterd::report::human(&first));
    if let Some(run) = ctx.store.get_run(first.run_id).await? {
        if let Ok(Some(plan)) = ctx.store.stored_plan(&run).await? {
            print_plan_examples(&plan);
        }
    }
    println!();
    let second = run_once(&ctx, RunOptions::new(Trigger::Demo, false)).await?;
    println!("second run, right after (convergence):");
    print!("{}", rosterd::report::human(&second));
    println!();
    println!("where to look next:");
    println!(
        "  sqlite3 {} 'SELECT id, status, actions_planned, actions_succeeded FROM reconcile_runs'",
        db.display()
    );
    println!(
        "  sqlite3 {} 'SELECT kind, employee_id, status, reason FROM reconcile_actions LIMIT 20'",
        db.display()
    );
    println!(
        "  sqlite3 {} 'SELECT * FROM auth0_employee_mapping_audit LIMIT 5'",
        db.display()
    );
    println!(
        "  config/rosterd.example.toml to point rosterd at a real tenant; README.md for the rest"
    );

    if !args.once {
        println!();
        println!(
            "serving as `rosterd serve` does, a run every {}s (Ctrl-C to stop):",
            args.interval_secs
        );
        println!();
        println!("  the operator console: http://{}/ui", args.listen);
        println!("  sign in with the admin token {}", token.expose());
        println!();
        println!(
            "  http://{}/metrics   http://{}/readyz",
            args.listen, args.listen
        );
        println!(
            "  curl -H 'Authorization: Bearer {}' http://{}/api/v1/runs",
            token.expose(),
            args.listen
        );
        rosterd::daemon::serve_with(ctx).await?;
    }
    simulator.shutdown().await;
    Ok(())
}

/// A six-field cron expression firing every `secs` seconds (rounded to
/// what cron can say: seconds under a minute, else whole minutes).
fn every(secs: u64) -> String {
    match secs {
        0..=59 => format!("*/{} * * * * *", secs.max(1)),
        _ => format!("0 */{} * * * *", (secs / 60).clamp(1, 59)),
    }
}

/// Pre-existing accounts that make the first run show every decision.
async fn seed_demo_accounts(base: &str, workforce: &mut [RawEmployee]) -> anyhow::Result<()> {
    let email = |e: &RawEmployee| e.email.clone().unwrap_or_default();
    let meta = |e: &RawEmployee| {
        json!({
            "employee_id": e.id, "department": e.department, "role_code": e.role_code,
            "workspace": e.workspace, "created_by": "productivity_system"
        })
    };
    let user_meta = |e: &RawEmployee| json!({ "employee_id": e.id, "full_name": e.full_name, "department": e.department });
    let active: Vec<usize> = (0..workforce.len())
        .filter(|&i| workforce[i].is_active)
        .collect();
    let inactive = (0..workforce.len()).find(|&i| !workforce[i].is_active);
    let (link_by_email, drifted, duplicated) = (active[0], active[1], active[2]);

    let mut users = vec![
        // Unmanaged: never touched.
        json!({"email": format!("it-admin@{EMAIL_DOMAIN}"), "name": "IT Admin", "user_id": "auth0|000000000000000000000a01"}),
        json!({"email": "temp.worker@staffing-agency.example", "name": "Temp Worker", "user_id": "auth0|000000000000000000000a02"}),
        // Orphan: made by rosterd for someone no longer in the table.
        json!({"email": format!("former.employee@{EMAIL_DOMAIN}"), "name": "Former Employee", "user_id": "auth0|000000000000000000000a03",
               "app_metadata": {"employee_id": 999_999, "created_by": "productivity_system"}}),
        // Made by hand in the dashboard for a real employee: linked by email.
        json!({"email": email(&workforce[link_by_email]), "name": workforce[link_by_email].full_name,
               "user_id": "auth0|000000000000000000000a04"}),
        // Linked earlier, but HR moved them to Shipping since.
        json!({"email": email(&workforce[drifted]), "name": workforce[drifted].full_name,
               "user_id": "auth0|000000000000000000000a05",
               "app_metadata": meta(&workforce[drifted]).as_object().map(|m| {
                   let mut m = m.clone(); m.insert("department".into(), json!("Receiving")); m }),
               "user_metadata": user_meta(&workforce[drifted])}),
        // Two accounts claim one employee: a person must choose.
        json!({"email": email(&workforce[duplicated]), "name": workforce[duplicated].full_name,
               "user_id": "auth0|000000000000000000000a06", "app_metadata": meta(&workforce[duplicated])}),
        json!({"email": format!("{}.old@{EMAIL_DOMAIN}", workforce[duplicated].id), "name": workforce[duplicated].full_name,
               "user_id": "auth0|000000000000000000000a07", "app_metadata": meta(&workforce[duplicated])}),
    ];
    workforce[drifted].auth0_user_id = Some("auth0|000000000000000000000a05".into());
    if let Some(i) = inactive {
        // Left the company; their account is still open.
        users.push(
            json!({"email": email(&workforce[i]), "name": workforce[i].full_name,
            "user_id": "auth0|000000000000000000000a08", "app_metadata": meta(&workforce[i]),
            "user_metadata": user_meta(&workforce[i])}),
        );
        workforce[i].auth0_user_id = Some("auth0|000000000000000000000a08".into());
    }
    let resp = reqwest::Client::new()
        .post(format!("{base}/__sim/users"))
        .json(&users)
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "seeding the simulator failed: {}",
        resp.status()
    );
    Ok(())
}

/// A few planned actions (the report above already shows findings).
fn print_plan_examples(plan: &Plan) {
    println!("  examples:");
    let mut shown_creates = 0;
    for a in &plan.actions {
        if a.action.kind() == rosterd::plan::ActionKind::Create {
            shown_creates += 1;
            if shown_creates > 3 {
                continue;
            }
        }
        println!("    {:<8} {}", a.action.kind(), a.reason);
    }
    if shown_creates > 3 {
        println!("    … and {} more creates", shown_creates - 3);
    }
}
