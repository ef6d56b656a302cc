//! `bench run` and `bench table`: whole runs as a user gets them.
//!
//! The bench process only sets up: a database of its own (a SQLite file, or
//! a fresh PostgreSQL database dropped afterwards), migrations, employee
//! rows, the simulator as a child process (`rosterd auth0-sim`) seeded
//! through `/__sim/users`, and for PodFactory a users table in the same
//! database. Each measured run is the `rosterd` binary itself, `rosterd run
//! --output json` in a child process, on the default configuration but for
//! what the set-up dictates (database, Auth0 address and credentials, role
//! map, the PodFactory source): so its peak RSS (its `VmHWM`, watched while
//! it runs) is rosterd's
//! own, its timings are its report's, and what it asked of Auth0 is the
//! simulator's request log.

use anyhow::Context as _;
use rosterd::config::DatabaseSettings;
use rosterd::store::Store;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The PodFactory users the PodFactory scenarios read, beside rosterd's
/// tables (rosterd only ever reads it).
const PODFACTORY_TABLE: &str = "bench_podfactory_users";
/// The simulator's default credentials (`rosterd auth0-sim`).
fn sim_credentials() -> (String, String) {
    let cfg = auth0_sim::SimConfig::default();
    (cfg.client_id, cfg.client_secret)
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Db {
    Sqlite,
    Postgres,
}

/// What a measured run finds. The order is the order they run in when
/// several share one set-up.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Every account in sync, measured after a first run filled the audit:
    /// the steady state.
    Noop,
    /// PodFactory turned on (a users table beside the employees) where
    /// rosterd already ran without it: the run that records every link.
    PodfactoryFirst,
    /// PodFactory on, after a first run with it: nothing to change.
    PodfactoryNoop,
    /// No employee has an account: every one is created.
    Creates,
}

impl Scenario {
    fn as_str(self) -> &'static str {
        match self {
            Scenario::Noop => "noop",
            Scenario::PodfactoryFirst => "podfactory-first",
            Scenario::PodfactoryNoop => "podfactory-noop",
            Scenario::Creates => "creates",
        }
    }
    fn podfactory(self) -> bool {
        matches!(self, Scenario::PodfactoryFirst | Scenario::PodfactoryNoop)
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Output {
    /// One line per measured run.
    Text,
    /// One JSON object per measured run, one per line.
    Json,
    /// A markdown table, the README's.
    Markdown,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    #[arg(long, value_enum, default_value = "sqlite")]
    pub db: Db,
    #[arg(long, default_value_t = 10_000)]
    pub employees: usize,
    /// Comma-separated. `noop`, `podfactory-first` and `podfactory-noop`
    /// share one set-up and run in that order (a scenario's prerequisite
    /// runs unmeasured); `creates` needs a set-up of its own.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "noop")]
    pub scenario: Vec<Scenario>,
    /// The simulator's rate limit in requests/s (default: its
    /// production-tenant default).
    #[arg(long)]
    pub sim_rate: Option<f64>,
    /// Where `--db postgres` creates (and drops) its database.
    #[arg(long, default_value = PG_ADMIN_URL)]
    pub postgres_url: String,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(clap::Args, Debug)]
pub struct TableArgs {
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    pub db: Vec<Db>,
    /// Sizes for `noop` and the PodFactory scenarios.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub sizes: Vec<usize>,
    /// Sizes for `creates` (empty: none).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub creates_sizes: Vec<usize>,
    #[arg(long)]
    pub sim_rate: Option<f64>,
    #[arg(long, default_value = PG_ADMIN_URL)]
    pub postgres_url: String,
}

/// One measured run.
#[derive(Debug, Serialize)]
pub struct Measurement {
    pub db: Db,
    pub employees: usize,
    pub scenario: Scenario,
    /// The run's status from its report (`succeeded`, `partial`, …).
    pub status: String,
    pub exit_code: i32,
    /// From starting `rosterd run` to its exit: process start, connections
    /// and the run's own bookkeeping included.
    pub wall_ms: u64,
    /// The run's own `duration_ms` and phase timings (`RunReport.timings`).
    pub duration_ms: u64,
    pub timings: Value,
    pub planned: Value,
    pub failed: Value,
    /// Management API requests (the token request not counted) and answers
    /// with status 429, from the simulator's request log.
    pub requests: u64,
    pub responses_429: u64,
    /// rosterd's own peak resident set and CPU time (user + system).
    pub peak_rss_kib: u64,
    pub cpu_ms: u64,
    /// Rows in the PodFactory users table (PodFactory scenarios).
    pub podfactory_users: Option<usize>,
    pub tables_before: Tables,
    pub tables_after: Tables,
}

/// The tables a no-change run must not grow.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tables {
    pub audit_rows: i64,
    pub mapping_rows: i64,
    /// `pg_total_relation_size` of the audit and of the mappings
    /// (PostgreSQL only).
    pub audit_bytes: Option<i64>,
    pub mapping_bytes: Option<i64>,
}

pub async fn bench_run(args: RunArgs) -> anyhow::Result<()> {
    let measured = measure(&args).await?;
    match args.output {
        Output::Text => measured.iter().for_each(|m| println!("{}", text_line(m))),
        Output::Json => {
            for m in &measured {
                println!("{}", serde_json::to_string(m)?);
            }
        }
        Output::Markdown => {
            println!("{}", MARKDOWN_HEADER);
            measured
                .iter()
                .for_each(|m| println!("{}", markdown_row(m)));
        }
    }
    Ok(())
}

pub async fn bench_table(args: TableArgs) -> anyhow::Result<()> {
    println!("{}\n", machine(&args).await);
    println!("{}", MARKDOWN_HEADER);
    for &db in &args.db {
        let mut runs: Vec<(usize, Vec<Scenario>)> = args
            .sizes
            .iter()
            .map(|&n| {
                let steady = vec![
                    Scenario::Noop,
                    Scenario::PodfactoryFirst,
                    Scenario::PodfactoryNoop,
                ];
                (n, steady)
            })
            .collect();
        runs.extend(
            args.creates_sizes
                .iter()
                .map(|&n| (n, vec![Scenario::Creates])),
        );
        for (employees, scenario) in runs {
            let run = RunArgs {
                db,
                employees,
                scenario,
                sim_rate: args.sim_rate,
                postgres_url: args.postgres_url.clone(),
                output: Output::Markdown,
            };
            // A failed cell says why and the table goes on.
            match measure(&run).await {
                Ok(measured) => measured
                    .iter()
                    .for_each(|m| println!("{}", markdown_row(m))),
                Err(e) => eprintln!(
                    "bench {db:?} N={employees}: {}",
                    rosterd::telemetry::error_chain(e.as_ref())
                ),
            }
        }
    }
    Ok(())
}

const MARKDOWN_HEADER: &str = "| database | N | scenario | status | wall s | read s | match s | plan s | apply s | record s | API requests | 429s | peak RSS MiB | CPU s | audit rows before → after | links before → after | audit + links MB before → after |\n|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|";

fn secs(ms: u64) -> String {
    format!("{:.2}", ms as f64 / 1000.0)
}

fn phase(m: &Measurement, name: &str) -> String {
    m.timings[name].as_u64().map_or_else(|| "–".into(), secs)
}

fn megabytes(t: &Tables) -> Option<String> {
    Some(format!(
        "{:.1}",
        (t.audit_bytes? + t.mapping_bytes?) as f64 / 1e6
    ))
}

fn db_name(db: Db) -> &'static str {
    match db {
        Db::Sqlite => "SQLite",
        Db::Postgres => "PostgreSQL",
    }
}

fn markdown_row(m: &Measurement) -> String {
    let (b, a) = (&m.tables_before, &m.tables_after);
    let size = match (megabytes(b), megabytes(a)) {
        (Some(b), Some(a)) => format!("{b} → {a}"),
        _ => "–".into(),
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {} → {} | {size} |",
        db_name(m.db),
        m.employees,
        m.scenario.as_str(),
        m.status,
        secs(m.wall_ms),
        phase(m, "read_ms"),
        phase(m, "match_ms"),
        phase(m, "plan_ms"),
        phase(m, "apply_ms"),
        phase(m, "record_ms"),
        m.requests,
        m.responses_429,
        m.peak_rss_kib / 1024,
        secs(m.cpu_ms),
        b.audit_rows,
        a.audit_rows,
        b.mapping_rows,
        a.mapping_rows,
    )
}

fn text_line(m: &Measurement) -> String {
    let (b, a) = (&m.tables_before, &m.tables_after);
    let size = match (megabytes(b), megabytes(a)) {
        (Some(b), Some(a)) => format!(" ({b} → {a} MB)"),
        _ => String::new(),
    };
    format!(
        "{} {} N={}: {} in {} s wall (read {}, match {}, plan {}, apply {}, record {} s); planned {}; failed {}; {} API requests, {} × 429; peak RSS {} MiB, CPU {} s; audit rows {} → {}, links {} → {}{size}",
        db_name(m.db),
        m.scenario.as_str(),
        m.employees,
        m.status,
        secs(m.wall_ms),
        phase(m, "read_ms"),
        phase(m, "match_ms"),
        phase(m, "plan_ms"),
        phase(m, "apply_ms"),
        phase(m, "record_ms"),
        m.planned,
        m.failed,
        m.requests,
        m.responses_429,
        m.peak_rss_kib / 1024,
        secs(m.cpu_ms),
        b.audit_rows,
        a.audit_rows,
        b.mapping_rows,
        a.mapping_rows,
    )
}

/// The machine the figures come from, for the line above the table.
async fn machine(args: &TableArgs) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    let mut line = format!("Machine: {cpu}, {cores} cores, {mem_gib:.0} GiB RAM");
    if args.db.contains(&Db::Postgres) {
        line.push_str(&format!(
            "; PostgreSQL {}",
            postgres_version(&args.postgres_url)
                .await
                .unwrap_or_else(|e| format!("unknown ({e})"))
        ));
    }
    line.push_str(&format!("; rosterd {}", env!("CARGO_PKG_VERSION")));
    line
}

#[cfg(feature = "postgres")]
async fn postgres_version(url: &str) -> anyhow::Result<String> {
    let pool = sqlx::PgPool::connect(url).await?;
    let (v,): (String,) = sqlx::query_as("SHOW server_version")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(v)
}

#[cfg(not(feature = "postgres"))]
async fn postgres_version(_: &str) -> anyhow::Result<String> {
    anyhow::bail!("this build has no PostgreSQL")
}

/// Set up, run the scenarios, tear down (whatever happened).
pub async fn measure(args: &RunArgs) -> anyhow::Result<Vec<Measurement>> {
    let mut scenarios = args.scenario.clone();
    scenarios.sort();
    scenarios.dedup();
    anyhow::ensure!(
        !scenarios.contains(&Scenario::Creates) || scenarios.len() == 1,
        "--scenario creates needs a set-up of its own: run it alone"
    );
    anyhow::ensure!(args.employees > 0, "--employees must be at least 1");
    let dir =
        std::env::temp_dir().join(format!("rosterd-bench-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = match BenchDb::create(args, &dir).await {
        Ok(db) => {
            let result = run_scenarios(args, &scenarios, &db, &dir).await;
            db.drop().await;
            result
        }
        Err(e) => Err(e),
    };
    std::fs::remove_dir_all(&dir).ok();
    result
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The bench's own database.
struct BenchDb {
    url: String,
    /// PostgreSQL: the database to drop afterwards, and where from.
    postgres: Option<(String, String)>,
}

impl BenchDb {
    async fn create(args: &RunArgs, dir: &Path) -> anyhow::Result<BenchDb> {
        match args.db {
            Db::Sqlite => Ok(BenchDb {
                url: format!("sqlite://{}", dir.join("bench.db").display()),
                postgres: None,
            }),
            Db::Postgres => {
                let name = format!(
                    "rosterd_bench_{}_{}",
                    std::process::id(),
                    unique() % 1_000_000
                );
                postgres_admin(&args.postgres_url, &format!("CREATE DATABASE {name}")).await?;
                let (base, _) = args
                    .postgres_url
                    .rsplit_once('/')
                    .context("--postgres-url names no database")?;
                Ok(BenchDb {
                    url: format!("{base}/{name}"),
                    postgres: Some((args.postgres_url.clone(), name)),
                })
            }
        }
    }

    async fn drop(self) {
        if let Some((admin, name)) = self.postgres {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = postgres_admin(&admin, &sql).await {
                eprintln!("could not drop the bench database {name}: {e:#}");
            }
        }
    }
}

#[cfg(feature = "postgres")]
async fn postgres_admin(url: &str, sql: &str) -> anyhow::Result<()> {
    let pool = sqlx::PgPool::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    sqlx::query(sql).execute(&pool).await?;
    pool.close().await;
    Ok(())
}

#[cfg(not(feature = "postgres"))]
async fn postgres_admin(_: &str, _: &str) -> anyhow::Result<()> {
    anyhow::bail!("this build has no PostgreSQL")
}

async fn run_scenarios(
    args: &RunArgs,
    scenarios: &[Scenario],
    db: &BenchDb,
    dir: &Path,
) -> anyhow::Result<Vec<Measurement>> {
    let creates = scenarios == [Scenario::Creates];
    let podfactory = scenarios.iter().any(|s| s.podfactory());
    let sim = Sim::spawn(args.sim_rate).await?;
    let store = Store::connect(&DatabaseSettings {
        url: db.url.clone(),
        ..DatabaseSettings::default()
    })
    .await?;
    store.migrate().await?;

    let sample = rosterd_lab::workforce::sample(args.employees, 1);
    let mut rows = sample.employees;
    for r in rows.iter_mut() {
        r.is_active = true;
    }
    let mut audit = Vec::new();
    if !creates {
        // Each row with its account, in sync, as rosterd created it (in the
        // audit); a row that would not validate gets none (the run reports
        // it).
        let mut accounts = Vec::with_capacity(rows.len());
        for r in rows.iter_mut() {
            let Ok(e) = r.clone().validate() else {
                continue;
            };
            let id = format!("auth0|{:024x}", e.id.0);
            accounts.push(super::synced_account(&e, &id));
            audit.push((e.id.0, id.clone(), e.email.to_string()));
            r.auth0_user_id = Some(id);
        }
        sim.seed(&accounts).await?;
    }
    store.insert_employees(&rows).await?;
    insert_audit(&store, &audit).await?;
    let podfactory_users = if podfactory {
        insert_podfactory_users(&store, &sample.podfactory).await?;
        Some(sample.podfactory.len())
    } else {
        None
    };

    let plain = write_config(dir, "rosterd.toml", &db.url, &sim.base, false)?;
    let with_podfactory = write_config(dir, "rosterd-podfactory.toml", &db.url, &sim.base, true)?;
    let run = Runner {
        args,
        store,
        sim: &sim,
        dir,
        podfactory_users,
    };
    let mut measured = Vec::new();
    if creates {
        measured.push(run.run(&plain, Scenario::Creates).await?);
    } else {
        // A deployment that has run before: the audit is filled.
        run.prerequisite(&plain, "a first run without PodFactory")
            .await?;
        if scenarios.contains(&Scenario::Noop) {
            measured.push(run.run(&plain, Scenario::Noop).await?);
        }
        if podfactory {
            if scenarios.contains(&Scenario::PodfactoryFirst) {
                measured.push(run.run(&with_podfactory, Scenario::PodfactoryFirst).await?);
            } else {
                run.prerequisite(&with_podfactory, "a first run with PodFactory")
                    .await?;
            }
            if scenarios.contains(&Scenario::PodfactoryNoop) {
                measured.push(run.run(&with_podfactory, Scenario::PodfactoryNoop).await?);
            }
        }
    }
    Ok(measured)
}

/// The default configuration but for what the set-up dictates.
fn write_config(
    dir: &Path,
    name: &str,
    url: &str,
    sim_base: &str,
    podfactory: bool,
) -> anyhow::Result<PathBuf> {
    let (client_id, _) = sim_credentials();
    let roles: String = rosterd_lab::role_map()
        .iter()
        .map(|(code, role)| format!("{code:?} = {role:?}\n"))
        .collect();
    let mut text = format!(
        "[database]\nurl = {url:?}\n\n[auth0]\nbase_url = {sim_base:?}\n\
         domain = \"bench.rosterd.local\"\nclient_id = {client_id:?}\n\n[auth0.roles]\n{roles}"
    );
    if podfactory {
        text.push_str(&format!(
            "\n[podfactory]\nsource = \"database\"\nurl = {url:?}\n\
             query = \"SELECT id, name, email, user_role FROM {PODFACTORY_TABLE}\"\n"
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// `body` with `$pool` bound to the store's pool, on either backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            #[cfg(feature = "postgres")]
            Store::Postgres($pool) => $body,
            #[cfg(feature = "sqlite")]
            Store::Sqlite($pool) => $body,
            #[allow(unreachable_patterns)]
            _ => anyhow::bail!("the bench runs on SQLite or PostgreSQL"),
        }
    };
}

/// `items` into `$table ($columns)` in one transaction, a thousand rows a
/// statement (within both servers' bind-parameter limits); `$bind` binds
/// one item's `$width` values onto `$q`.
macro_rules! insert_rows {
    ($pool:expr, $table:expr, $columns:expr, $width:expr, $items:expr, |$q:ident, $item:ident| $bind:expr) => {{
        let mut tx = $pool.begin().await?;
        for chunk in $items.chunks(1000) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let cells: Vec<String> = (1..=$width)
                        .map(|c| format!("${}", i * $width + c))
                        .collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                $table,
                $columns,
                rows.join(", ")
            );
            let mut $q = sqlx::query(&sql);
            for $item in chunk {
                $q = $bind;
            }
            $q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }};
}

/// PodFactory's users as the vendor's table holds them.
async fn insert_podfactory_users(
    store: &Store,
    users: &[rosterd::matching::PodFactoryUser],
) -> anyhow::Result<()> {
    let create = format!(
        "CREATE TABLE {PODFACTORY_TABLE} (id TEXT PRIMARY KEY, name TEXT, email TEXT, user_role TEXT)"
    );
    on_pool!(store, pool => {
        sqlx::query(&create).execute(pool).await?;
        insert_rows!(pool, PODFACTORY_TABLE, "id, name, email, user_role", 4, users, |q, u| {
            q.bind(&u.id).bind(&u.name).bind(&u.email).bind(&u.user_role)
        });
    });
    Ok(())
}

/// The mapping audit of a deployment whose accounts rosterd created: one
/// row per (employee id, account id, email).
async fn insert_audit(store: &Store, links: &[(i64, String, String)]) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    on_pool!(store, pool => {
        insert_rows!(
            pool,
            "auth0_employee_mapping_audit",
            "employee_id, auth0_user_id, productivity_email, matched_by, matched_at, last_verified, created_at",
            7,
            links,
            |q, l| q.bind(l.0).bind(&l.1).bind(&l.2).bind("created").bind(now).bind(now).bind(now)
        );
    });
    Ok(())
}

async fn tables(store: &Store) -> anyhow::Result<Tables> {
    const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM auth0_employee_mapping_audit), \
                          (SELECT COUNT(*) FROM employee_podfactory_mapping)";
    match store {
        #[cfg(feature = "postgres")]
        Store::Postgres(pool) => {
            let (audit_rows, mapping_rows, audit, mapping): (i64, i64, i64, i64) =
                sqlx::query_as(&format!(
                    "{COUNTS}, pg_total_relation_size('auth0_employee_mapping_audit'), \
                     pg_total_relation_size('employee_podfactory_mapping')"
                ))
                .fetch_one(pool)
                .await?;
            Ok(Tables {
                audit_rows,
                mapping_rows,
                audit_bytes: Some(audit),
                mapping_bytes: Some(mapping),
            })
        }
        #[cfg(feature = "sqlite")]
        Store::Sqlite(pool) => {
            let (audit_rows, mapping_rows): (i64, i64) =
                sqlx::query_as(COUNTS).fetch_one(pool).await?;
            Ok(Tables {
                audit_rows,
                mapping_rows,
                audit_bytes: None,
                mapping_bytes: None,
            })
        }
        #[allow(unreachable_patterns)]
        _ => anyhow::bail!("the bench runs on SQLite or PostgreSQL"),
    }
}

/// The simulator, a child process of the bench (killed when dropped).
struct Sim {
    _child: tokio::process::Child,
    base: String,
    http: reqwest::Client,
}

impl Sim {
    async fn spawn(rate: Option<f64>) -> anyhow::Result<Sim> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.args(["auth0-sim", "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(r) = rate {
            cmd.args(["--rate", &r.to_string()]);
        }
        let child = cmd
            .kill_on_drop(true)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the simulator")?;
        let sim = Sim {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while sim.requests().await.is_err() {
            anyhow::ensure!(Instant::now() < deadline, "the simulator did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(sim)
    }

    async fn seed(&self, accounts: &[Value]) -> anyhow::Result<()> {
        for chunk in accounts.chunks(2000) {
            let resp = self
                .http
                .post(format!("{}/__sim/users", self.base))
                .json(chunk)
                .send()
                .await?;
            anyhow::ensure!(
                resp.status().is_success(),
                "seeding the simulator: {}",
                resp.status()
            );
        }
        Ok(())
    }

    /// (Management API requests, 429 answers) so far.
    async fn requests(&self) -> anyhow::Result<(u64, u64)> {
        let log: Value = self
            .http
            .get(format!("{}/__sim/requests", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut requests = 0;
        let mut refused = 0;
        for (endpoint, by_status) in log["by_endpoint"].as_object().into_iter().flatten() {
            for (status, n) in by_status.as_object().into_iter().flatten() {
                let n = n.as_u64().unwrap_or(0);
                if endpoint != "POST /oauth/token" {
                    requests += n;
                }
                if status == "429" {
                    refused += n;
                }
            }
        }
        Ok((requests, refused))
    }
}

/// Runs `rosterd run` on the bench's set-up.
struct Runner<'a> {
    args: &'a RunArgs,
    /// The bench's own connection, for the table counts.
    store: Store,
    sim: &'a Sim,
    dir: &'a Path,
    podfactory_users: Option<usize>,
}

impl Runner<'_> {
    /// A run the measured one needs first; it must succeed.
    async fn prerequisite(&self, config: &Path, what: &str) -> anyhow::Result<()> {
        let m = self.run(config, Scenario::Noop).await?;
        eprintln!(
            "bench: {what} (not measured): {} in {} s",
            m.status,
            secs(m.wall_ms)
        );
        Ok(())
    }

    async fn run(&self, config: &Path, scenario: Scenario) -> anyhow::Result<Measurement> {
        let tables_before = tables(&self.store).await?;
        let (requests_before, refused_before) = self.sim.requests().await?;
        let child = Child::run(config, self.dir).await?;
        let (requests_after, refused_after) = self.sim.requests().await?;
        let tables_after = tables(&self.store).await?;
        let report: Value = serde_json::from_str(&child.stdout).map_err(|e| {
            anyhow::anyhow!(
                "rosterd run (exit status {}) printed no report ({e}); its log ends:\n{}",
                child.exit_code,
                child.log_tail
            )
        })?;
        let status = report["status"].as_str().unwrap_or("?").to_string();
        anyhow::ensure!(
            matches!(status.as_str(), "succeeded" | "partial"),
            "rosterd run {status} (exit status {}): {}; its log ends:\n{}",
            child.exit_code,
            report["error"],
            child.log_tail
        );
        Ok(Measurement {
            db: self.args.db,
            employees: self.args.employees,
            scenario,
            status,
            exit_code: child.exit_code,
            wall_ms: child.wall.as_millis() as u64,
            duration_ms: report["duration_ms"].as_u64().unwrap_or(0),
            timings: report["timings"].clone(),
            planned: report["planned"].clone(),
            failed: report["failed"].clone(),
            requests: requests_after - requests_before,
            responses_429: refused_after - refused_before,
            peak_rss_kib: child.peak_rss_kib,
            cpu_ms: child.cpu_ms,
            podfactory_users: self.podfactory_users.filter(|_| scenario.podfactory()),
            tables_before,
            tables_after,
        })
    }
}

/// A finished `rosterd run` child.
struct Child {
    exit_code: i32,
    wall: Duration,
    stdout: String,
    log_tail: String,
    peak_rss_kib: u64,
    cpu_ms: u64,
}

impl Child {
    async fn run(config: &Path, dir: &Path) -> anyhow::Result<Child> {
        let (_, secret) = sim_credentials();
        let stdout_path = dir.join("run.json");
        let log_path = dir.join("run.log");
        let start = Instant::now();
        let child = std::process::Command::new(std::env::current_exe()?)
            .arg("--config")
            .arg(config)
            .args(["run", "--output", "json"])
            .env("ROSTERD_AUTH0_CLIENT_SECRET", secret)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path)?)
            .stderr(std::fs::File::create(&log_path)?)
            .spawn()
            .context("starting rosterd run")?;
        let pid = child.id() as libc::pid_t;
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let watch = std::thread::spawn({
            let peak = peak.clone();
            move || watch_peak_rss(pid, &peak)
        });
        let (status, usage) = tokio::task::spawn_blocking(move || wait4(pid)).await??;
        watch.join().ok();
        let wall = start.elapsed();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let millis = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
        Ok(Child {
            exit_code: if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            },
            wall,
            stdout: std::fs::read_to_string(&stdout_path)?,
            log_tail: lines[lines.len().saturating_sub(20)..].join("\n"),
            peak_rss_kib: peak.load(std::sync::atomic::Ordering::Relaxed),
            cpu_ms: millis(usage.ru_utime) + millis(usage.ru_stime),
        })
    }
}

/// The child's peak RSS (`VmHWM`, KiB) as it runs, into `peak`, until it
/// has exited. Not `ru_maxrss`: Linux carries the spawning process's peak
/// into its child's at `exec`, so the bench's own set-up would count as
/// rosterd's. Growth in the last few milliseconds before exit is missed.
fn watch_peak_rss(pid: libc::pid_t, peak: &std::sync::atomic::AtomicU64) {
    let path = format!("/proc/{pid}/status");
    loop {
        let Ok(status) = std::fs::read_to_string(&path) else {
            return;
        };
        let Some(kib) = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
        else {
            return; // a zombie: its memory is gone
        };
        peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reap child `pid` with its resource usage (its CPU time).
fn wait4(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data for which all-zero bytes are valid;
    // wait4 writes through the two pointers only during the call, and both
    // point to locals that outlive it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as above.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The bench's own VmHWM (peak resident set) in KiB, on Linux.
pub fn own_peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
