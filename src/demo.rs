//! `rosterd demo`: the whole product on a machine with no servers.
//!
//! A SQLite database with a sample workforce (departments over both
//! workspaces, some inactive, names with diacritics, apostrophes and
//! hyphens), the Auth0 simulator started in-process and seeded with a few
//! accounts that exercise every decision (an account to link, one to block,
//! one drifted, an orphan, a duplicate, unmanaged admins), then a real run
//! through the same code path as production, and a second run to show that
//! nothing is left to do.

use crate::config::{Secret, Settings};
use crate::model::RawEmployee;
use crate::plan::Plan;
use crate::run::{run_once, Context, RunOptions};
use crate::sim::{self, SimConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::HashSet;
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

/// Department, role code, Auth0 role name.
pub const DEPARTMENTS: [(&str, &str, &str); 13] = [
    ("Picking", "PICKER", "Picker"),
    ("Packing", "PACKER", "Packer"),
    ("Shipping", "SHIPPER", "Shipper"),
    ("Heat Press", "HEAT_PRESS", "Heat Press Operator"),
    ("Printing", "PRINTER_OP", "Printer Operator"),
    ("Quality", "QC", "QC Inspector"),
    ("Maintenance", "MAINT_TECH", "Maintenance Technician"),
    ("Inventory", "INV_CLERK", "Inventory Clerk"),
    ("Receiving", "RECV_CLERK", "Receiving Clerk"),
    ("Customer Service", "CS_AGENT", "Customer Service"),
    ("Human Resources", "HR", "HR Generalist"),
    ("Production", "SHIFT_SUP", "Shift Supervisor"),
    ("Office", "OFFICE_ADMIN", "Office Admin"),
];

/// (display, ASCII for the email). Tricky on purpose: diacritics, ł/ø/ß,
/// apostrophes, hyphens, particles.
const FIRST: [(&str, &str); 40] = [
    ("James", "james"),
    ("María", "maria"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Nguyễn", "nguyen"),
    ("Aoife", "aoife"),
    ("Jean-Luc", "jean-luc"),
    ("Mary-Jane", "mary-jane"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Renée", "renee"),
    ("Dmitrii", "dmitrii"),
    ("Ayşe", "ayse"),
    ("Siobhán", "siobhan"),
    ("Luis", "luis"),
    ("Keisha", "keisha"),
    ("DeShawn", "deshawn"),
    ("Tomás", "tomas"),
    ("Ana", "ana"),
    ("Michael", "michael"),
    ("Jennifer", "jennifer"),
    ("Robert", "robert"),
    ("Linda", "linda"),
    ("William", "william"),
    ("Elizabeth", "elizabeth"),
    ("David", "david"),
    ("Patricia", "patricia"),
    ("Carlos", "carlos"),
    ("Guadalupe", "guadalupe"),
    ("Huong", "huong"),
    ("Olumide", "olumide"),
    ("Priya", "priya"),
    ("Mohammed", "mohammed"),
    ("Fatima", "fatima"),
    ("Katarzyna", "katarzyna"),
    ("Jürgen", "juergen"),
    ("Ingrid", "ingrid"),
    ("Kwame", "kwame"),
];

const LAST: [(&str, &str); 40] = [
    ("Smith", "smith"),
    ("Núñez", "nunez"),
    ("O'Brien", "obrien"),
    ("Wróbel", "wrobel"),
    ("Müller", "mueller"),
    ("Brontë", "bronte"),
    ("Ærøe", "aeroe"),
    ("Straße", "strasse"),
    ("García-López", "garcia-lopez"),
    ("d'Arcy", "darcy"),
    ("van der Berg", "vanderberg"),
    ("Nguyen", "nguyen"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Jones", "jones"),
    ("Hernández", "hernandez"),
    ("Martínez", "martinez"),
    ("Davis", "davis"),
    ("Rodríguez", "rodriguez"),
    ("Wilson", "wilson"),
    ("Anderson", "anderson"),
    ("Thomas", "thomas"),
    ("Taylor", "taylor"),
    ("Moore", "moore"),
    ("Jackson", "jackson"),
    ("Lee", "lee"),
    ("Pérez", "perez"),
    ("Thompson", "thompson"),
    ("White", "white"),
    ("Harris", "harris"),
    ("Sánchez", "sanchez"),
    ("Clark", "clark"),
    ("Ramírez", "ramirez"),
    ("Lewis", "lewis"),
    ("Robinson", "robinson"),
    ("Walker", "walker"),
    ("Yılmaz", "yilmaz"),
    ("Kowalczyk", "kowalczyk"),
    ("Okafor", "okafor"),
];

pub const EMAIL_DOMAIN: &str = "podfactory-demo.com";

/// A deterministic workforce of `n` employees with ids from 1001.
/// About 7% are inactive; TX and MS workspaces split 60/40.
pub fn sample_workforce(n: usize, seed: u64) -> Vec<RawEmployee> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut emails = HashSet::new();
    (0..n)
        .map(|i| {
            let (first, first_ascii) = FIRST[rng.gen_range(0..FIRST.len())];
            let (last, last_ascii) = LAST[rng.gen_range(0..LAST.len())];
            let mut local = format!("{first_ascii}.{last_ascii}");
            let mut k = 2;
            while !emails.insert(local.clone()) {
                local = format!("{first_ascii}.{last_ascii}{k}");
                k += 1;
            }
            // Floor departments are where most people work.
            let d = if rng.gen_bool(0.75) {
                rng.gen_range(0..6)
            } else {
                rng.gen_range(6..DEPARTMENTS.len())
            };
            let (department, role_code, _) = DEPARTMENTS[d];
            RawEmployee {
                id: 1001 + i as i64,
                full_name: Some(format!("{first} {last}")),
                email: Some(format!("{local}@{EMAIL_DOMAIN}")),
                department: Some(department.to_string()),
                workspace: Some(if rng.gen_bool(0.6) { "TX" } else { "MS" }.to_string()),
                role_code: Some(role_code.to_string()),
                is_active: !rng.gen_bool(0.07),
                auth0_user_id: None,
            }
        })
        .collect()
}

/// A PodFactory export for the workforce, as the floor system has it: most
/// active employees, under the many shapes names and logins take there
/// (`john.doe`, `Doe, John`, station-suffixed emails, no email at all), and
/// a few people HR does not know.
pub fn podfactory_csv(workforce: &[RawEmployee], seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = String::from("id,name,email,user_role\n");
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut n = 0;
    for e in workforce.iter().filter(|e| e.is_active) {
        if rng.gen_bool(0.12) {
            continue; // office staff and new hires without a floor login
        }
        let name = e.full_name.clone().unwrap_or_default();
        let email = e.email.clone().unwrap_or_default();
        let (local, domain) = email.split_once('@').unwrap_or((&email, ""));
        let (first, last) = crate::plan::split_name(&name);
        let shown = match rng.gen_range(0..4) {
            0 => name.clone(),
            1 => format!("{last}, {first}"),
            2 => local.to_string(),
            _ => name.to_uppercase(),
        };
        let login = match rng.gen_range(0..4) {
            0 => email.clone(),
            1 => format!(
                "{local}.{}@{domain}",
                ["shp", "pack", "pick", "hp"][rng.gen_range(0..4)]
            ),
            2 => String::new(),
            _ => email.to_uppercase(),
        };
        n += 1;
        let role = e.department.clone().unwrap_or_default();
        out.push_str(&format!(
            "pf{n},{},{login},{}\n",
            quote(&shown),
            quote(&role)
        ));
    }
    for (i, (name, email)) in [
        ("Temp Worker 1", ""),
        ("Kiosk Station 3", "kiosk3@podfactory-demo.com"),
        ("Jordan Visitor", "jordan.v@gmail.example"),
    ]
    .iter()
    .enumerate()
    {
        out.push_str(&format!("px{},{},{email},Picker\n", i + 1, quote(name)));
    }
    out
}

/// The role mapping the demo (and the sample config) uses.
pub fn role_map() -> std::collections::BTreeMap<String, String> {
    DEPARTMENTS
        .iter()
        .map(|(_, code, name)| (code.to_string(), name.to_string()))
        .collect()
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
    // A token for trying the admin API, made fresh and shown once.
    let token = crate::password::generate_token();
    settings.serve.admin_tokens = vec![("demo".into(), token.clone())];
    let ctx = Context::new(settings).await?;
    ctx.store.migrate().await?;

    let mut workforce = sample_workforce(args.employees.max(20), 42);
    seed_demo_accounts(&base, &mut workforce).await?;
    std::fs::write(
        &ctx.settings.podfactory.csv_path,
        podfactory_csv(&workforce, 7),
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

    let first = run_once(&ctx, RunOptions::new("demo", false)).await?;
    print!("{}", crate::report::human(&first));
    if let Some(plan) = ctx
        .store
        .get_run(first.run_id)
        .await?
        .and_then(|r| r.plan)
        .and_then(|p| serde_json::from_str::<Plan>(&p).ok())
    {
        print_plan_examples(&plan);
    }
    println!();
    let second = run_once(&ctx, RunOptions::new("demo", false)).await?;
    println!("second run, right after (convergence):");
    print!("{}", crate::report::human(&second));
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
        println!(
            "  http://{}/metrics   http://{}/readyz",
            args.listen, args.listen
        );
        println!(
            "  curl -H 'Authorization: Bearer {}' http://{}/api/v1/runs",
            token.expose(),
            args.listen
        );
        crate::daemon::serve_with(ctx).await?;
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
        json!({"email": "it-admin@podfactory-demo.com", "name": "IT Admin", "user_id": "auth0|000000000000000000000a01"}),
        json!({"email": "temp.worker@staffing-agency.example", "name": "Temp Worker", "user_id": "auth0|000000000000000000000a02"}),
        // Orphan: made by rosterd for someone no longer in the table.
        json!({"email": "former.employee@podfactory-demo.com", "name": "Former Employee", "user_id": "auth0|000000000000000000000a03",
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

fn print_plan_examples(plan: &Plan) {
    println!("  examples:");
    let mut shown_creates = 0;
    for a in &plan.actions {
        if a.action.kind() == "create" {
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
    let mut shown = std::collections::HashMap::new();
    for f in &plan.findings {
        let n = shown.entry(f.kind.as_str()).or_insert(0);
        *n += 1;
        if *n <= 3 {
            println!("    finding  {}: {}", f.kind.as_str(), f.detail);
        }
    }
    // In the stable order of the report's counts.
    for (kind, n) in crate::plan::finding_counts(plan)
        .into_iter()
        .filter(|(_, n)| *n > 3)
    {
        println!(
            "    … and {} more {kind} (GET /api/v1/findings?kind={kind})",
            n - 3
        );
    }
}
