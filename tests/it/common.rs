//! Shared fixtures: a fresh database per test (a new PostgreSQL or MariaDB
//! database on the local server, or a SQLite file in a temp dir), the Auth0
//! simulator on a random port, and settings that point rosterd at both.
#![allow(dead_code)] // each test binary uses a different subset

use auth0_sim::{self as sim, RunningSim, SimConfig};
use rosterd::config::{Secret, Settings};
use rosterd::model::RawEmployee;
use rosterd::run::{run_once, Context, RunOptions, RunReport, Trigger};
use serde_json::{json, Value};
use std::sync::Arc;

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// The backends this build of rosterd has (its cargo features): a test of
/// one that is compiled out does not compile, so it is gated too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "sqlite")]
    Sqlite,
    /// MariaDB (or MySQL) on 127.0.0.1:3306 as root.
    #[cfg(feature = "mysql")]
    MySql,
}

/// A database that lives as long as the value.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
    mysql_name: Option<String>,
}

impl TestDb {
    pub async fn new(kind: Db) -> TestDb {
        match kind {
            #[cfg(feature = "sqlite")]
            Db::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("rosterd.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                    mysql_name: None,
                }
            }
            #[cfg(feature = "postgres")]
            Db::Postgres => {
                let name = format!("rosterd_test_{}", rand_suffix());
                let admin = sqlx::PgPool::connect(PG_ADMIN_URL)
                    .await
                    .expect("PostgreSQL on 127.0.0.1:5432 (see README: the tests need it)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                    mysql_name: None,
                }
            }
            #[cfg(feature = "mysql")]
            Db::MySql => {
                let name = format!("rosterd_test_{}", rand_suffix());
                let admin = sqlx::MySqlPool::connect(MYSQL_ADMIN_URL)
                    .await
                    .expect("MariaDB on 127.0.0.1:3306 (see README: the tests need it)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                TestDb {
                    url: format!("mysql://root@127.0.0.1:3306/{name}"),
                    _dir: None,
                    pg_name: None,
                    mysql_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        if let Some(name) = self.pg_name.take() {
            // Best effort, on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = sqlx::PgPool::connect(PG_ADMIN_URL).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&admin)
                                .await;
                    }
                });
            })
            .join();
        }
        #[cfg(feature = "mysql")]
        if let Some(name) = self.mysql_name.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = sqlx::MySqlPool::connect(MYSQL_ADMIN_URL).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                            .execute(&admin)
                            .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn rand_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| (b'a' + rng.gen_range(0..26)) as char)
        .collect()
}

pub async fn spawn_sim() -> RunningSim {
    spawn_sim_with(SimConfig {
        rate_per_sec: 5000.0,
        burst: 5000,
        export_delay_ms: 20,
        ..SimConfig::default()
    })
    .await
}

pub async fn spawn_sim_with(cfg: SimConfig) -> RunningSim {
    sim::spawn(cfg, "127.0.0.1:0")
        .await
        .expect("simulator starts")
}

/// Settings for a test: fast retries, fast export polling, the demo's roles.
pub fn settings(db: &TestDb, sim: &RunningSim) -> Settings {
    let cfg = SimConfig::default();
    let mut s = Settings::default();
    s.database.url = db.url.clone();
    s.auth0.base_url = Some(sim.base_url());
    s.auth0.domain = "test.rosterd.local".into();
    s.auth0.client_id = cfg.client_id.clone();
    s.auth0.client_secret = Secret::new(cfg.client_secret.clone());
    s.auth0.rate_per_sec = 2000.0;
    s.auth0.burst = 200;
    s.auth0.backoff_base_ms = 5;
    s.auth0.backoff_cap_ms = 200;
    s.auth0.export_poll_ms = 20;
    s.auth0.max_attempts = 8;
    s.auth0.roles = rosterd_lab::role_map();
    s
}

pub async fn context(s: Settings) -> Arc<Context> {
    let ctx = Context::new(s).await.expect("context");
    ctx.store.migrate().await.expect("migrate");
    ctx
}

pub async fn run(ctx: &Arc<Context>) -> RunReport {
    run_once(ctx, RunOptions::new(Trigger::Cli, false))
        .await
        .expect("run starts")
}

pub async fn dry_run(ctx: &Arc<Context>) -> RunReport {
    run_once(ctx, RunOptions::new(Trigger::Cli, true))
        .await
        .expect("run starts")
}

pub fn employee(id: i64, name: &str, email: &str, active: bool) -> RawEmployee {
    RawEmployee {
        id,
        full_name: Some(name.to_string()),
        email: Some(email.to_string()),
        department: Some("Picking".into()),
        workspace: Some("TX".into()),
        role_code: Some("PICKER".into()),
        is_active: active,
        auth0_user_id: None,
    }
}

/// `n` active employees with ids from 1.
pub fn staff(n: i64) -> Vec<RawEmployee> {
    (1..=n)
        .map(|i| {
            employee(
                i,
                &format!("Worker Number{i}"),
                &format!("worker{i}@example.com"),
                true,
            )
        })
        .collect()
}

/// `n` employees (ids from 1) linked to in-step accounts `auth0|<id in hex>`,
/// the first `inactive` of them inactive: (rows, accounts to seed).
pub fn linked_staff(n: usize, inactive: usize) -> (Vec<RawEmployee>, Vec<Value>) {
    let mut rows = staff(n as i64);
    let mut accounts = Vec::new();
    for (i, e) in rows.iter_mut().enumerate() {
        let id = format!("auth0|{:024x}", i + 1);
        accounts.push(managed_account(&id, e));
        e.auth0_user_id = Some(id);
        e.is_active = i >= inactive;
    }
    (rows, accounts)
}

/// In-sync metadata for an account that belongs to `e`.
pub fn managed_account(user_id: &str, e: &RawEmployee) -> Value {
    json!({
        "user_id": user_id,
        "email": e.email,
        "name": e.full_name,
        "app_metadata": {
            "employee_id": e.id, "department": e.department, "role_code": e.role_code,
            "workspace": e.workspace, "created_by": "productivity_system"
        },
        "user_metadata": {"employee_id": e.id, "full_name": e.full_name, "department": e.department}
    })
}

pub struct SimClient {
    pub base: String,
    http: reqwest::Client,
}

impl SimClient {
    pub fn new(sim: &RunningSim) -> Self {
        SimClient {
            base: sim.base_url(),
            http: reqwest::Client::new(),
        }
    }
    pub async fn seed(&self, users: Vec<Value>) {
        let r = self
            .http
            .post(format!("{}/__sim/users", self.base))
            .json(&users)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "seed: {}", r.status());
    }
    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/__sim/state", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
    pub async fn users(&self) -> Vec<Value> {
        self.state().await["users"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
    /// Whether no account is blocked.
    pub async fn none_blocked(&self) -> bool {
        self.users()
            .await
            .iter()
            .all(|u| u["blocked"] != serde_json::json!(true))
    }
    pub async fn user_by_email(&self, email: &str) -> Vec<Value> {
        self.users()
            .await
            .into_iter()
            .filter(|u| u["email"].as_str() == Some(email))
            .collect()
    }
    pub async fn faults(&self, faults: Value) {
        let r = self
            .http
            .put(format!("{}/__sim/faults", self.base))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "faults: {}", r.status());
    }
    pub async fn clear_faults(&self) {
        self.http
            .delete(format!("{}/__sim/faults", self.base))
            .send()
            .await
            .unwrap();
    }
    /// Requests by route pattern and status, e.g. `["POST /api/v2/users"]["201"]`.
    pub async fn requests(&self) -> Value {
        self.state().await["requests"].clone()
    }
    pub async fn count(&self, endpoint: &str, status: &str) -> u64 {
        self.requests().await["by_endpoint"][endpoint][status]
            .as_u64()
            .unwrap_or(0)
    }
}

/// Generate one `#[tokio::test]` per backend (PostgreSQL, SQLite, MySQL)
/// for an async scenario `async fn name(db: Db)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Db::Postgres).await }
            )*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Db::Sqlite).await }
            )*
        }
        #[cfg(feature = "mysql")]
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Db::MySql).await }
            )*
        }
    };
}

// ---------------------------------------------------------------------------
// The daemon (`rosterd serve`) over real HTTP: used by tests/daemon_*.rs.
// ---------------------------------------------------------------------------

/// The full admin token of these tests; its name is [`ADMIN_NAME`].
pub const ADMIN_TOKEN: &str = "alice-admin-token-0123456789abcdef";
pub const ADMIN_NAME: &str = "alice";
/// A read-only token (its name ends in `:read`).
pub const READ_TOKEN: &str = "grafana-read-token-0123456789abcdef";
pub const READ_NAME: &str = "grafana:read";
pub const WEBHOOK_SECRET: &str = "webhook-secret-0123456789abcdef";

/// Settings for a daemon under test: an ephemeral port, no start-up run, a
/// schedule that never fires during a test (midnight, 1 January), fast
/// change detection, one admin token and one read-only token, no webhook.
pub fn daemon_settings(db: &TestDb, sim: &RunningSim) -> Settings {
    let mut s = settings(db, sim);
    s.serve.listen = "127.0.0.1:0".into();
    s.serve.run_at_start = false;
    s.serve.schedule = "0 0 0 1 1 *".into();
    s.serve.change_debounce_ms = 200;
    s.serve.change_poll_ms = 200;
    s.serve.admin_tokens = vec![
        (ADMIN_NAME.into(), Secret::new(ADMIN_TOKEN)),
        (READ_NAME.into(), Secret::new(READ_TOKEN)),
    ];
    s
}

/// Fill the employees table before a daemon starts (so the insert is not a
/// change the daemon reacts to).
pub async fn seed_employees(s: &Settings, rows: &[RawEmployee]) {
    let ctx = context(s.clone()).await;
    ctx.store
        .insert_employees(rows)
        .await
        .expect("insert employees");
}

/// One HTTP answer, its body parsed as JSON when it is JSON (else `Null`).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The `error` code of an API error body.
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }
    /// Panics with the whole answer unless the status is `status`.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected answer: {} {}",
            self.status, self.text
        );
        self
    }
    /// Panics unless this is an API error `{"error": code, "message": …}`
    /// with this status.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(self.error(), code, "error code of {}", self.text);
        assert!(
            self.json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error names what is wrong: {}",
            self.text
        );
        self
    }
}

/// A client of the daemon's HTTP API, with or without a bearer token.
#[derive(Clone)]
pub struct DaemonClient {
    pub base: String,
    pub token: Option<String>,
    pub http: reqwest::Client,
}

impl DaemonClient {
    pub fn new(base: impl Into<String>, token: Option<&str>) -> Self {
        DaemonClient {
            base: base.into(),
            token: token.map(str::to_string),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }
    pub fn admin(daemon: &rosterd::daemon::RunningDaemon) -> Self {
        Self::new(daemon.base_url(), Some(ADMIN_TOKEN))
    }
    pub fn reader(daemon: &rosterd::daemon::RunningDaemon) -> Self {
        Self::new(daemon.base_url(), Some(READ_TOKEN))
    }
    pub fn anonymous(daemon: &rosterd::daemon::RunningDaemon) -> Self {
        Self::new(daemon.base_url(), None)
    }
    /// A request to `path` (e.g. `/api/v1/runs`) with the token, if any.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.expect("the daemon answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("a body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::GET, path)).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path).json(&body))
            .await
    }
    /// POST with no body at all.
    pub async fn post_empty(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::POST, path)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }
    /// `POST /api/v1/runs`; panics unless it is accepted. Returns the run id.
    pub async fn trigger(&self, dry_run: bool) -> i64 {
        let r = self
            .post("/api/v1/runs", json!({ "dry_run": dry_run }))
            .await;
        r.expect(202);
        r.json["run_id"].as_i64().expect("run_id")
    }
    /// `POST /api/v1/runs` right after an employee change: the run it
    /// started, or the one the change already started (a 409 names it).
    pub async fn trigger_after_change(&self) -> i64 {
        let r = self.post("/api/v1/runs", json!({})).await;
        assert!(matches!(r.status, 202 | 409), "{} {}", r.status, r.text);
        r.json["run_id"]
            .as_i64()
            .expect("a run id, started or running")
    }
    /// `POST /api/v1/runs` until it is accepted (409 while another run, a
    /// change-triggered one say, holds the lock); the run id.
    pub async fn trigger_when_free(&self, limit: std::time::Duration) -> i64 {
        eventually("a run to be accepted", limit, || async move {
            let r = self.post("/api/v1/runs", json!({})).await;
            if r.status == 409 {
                return None;
            }
            r.expect(202);
            r.json["run_id"].as_i64()
        })
        .await
    }
    /// Poll `GET /api/v1/runs/{id}` until the run is no longer `running`.
    pub async fn wait_run(&self, id: i64, limit: std::time::Duration) -> Value {
        // A run's record is finished a moment before the driver is free
        // (the leader lock is released after it): wait for both, or the
        // next trigger may still meet a 409.
        eventually(&format!("run {id} to finish"), limit, || async move {
            let r = self.get(&format!("/api/v1/runs/{id}")).await;
            r.expect(200);
            if r.json["status"] == "running" {
                return None;
            }
            let ready = self.get("/readyz").await;
            (ready.json["running"] != id).then_some(r.json)
        })
        .await
    }
    /// Runs, newest first (one page of up to 200).
    pub async fn runs(&self) -> Vec<Value> {
        let r = self.get("/api/v1/runs?limit=200").await;
        r.expect(200);
        r.json["runs"].as_array().cloned().unwrap_or_default()
    }
}

/// Poll `check` every 50 ms until it returns `Some`, or panic after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Run a statement (no parameters) on any backend.
pub async fn exec(store: &rosterd::store::Store, sql: &str) {
    use rosterd::store::Store;
    match store {
        #[cfg(feature = "postgres")]
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
        #[cfg(feature = "sqlite")]
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
        #[cfg(feature = "mysql")]
        Store::MySql(p) => sqlx::query(sql).execute(p).await.map(drop),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Decodable from a row of every backend built.
pub trait FromEveryRow: PgRowDecode + MySqlRowDecode + SqliteRowDecode {}
impl<T: PgRowDecode + MySqlRowDecode + SqliteRowDecode> FromEveryRow for T {}

/// `$name`: `FromRow` for `$row` when `$feature` is built, else nothing.
macro_rules! row_decode {
    ($name:ident, $feature:literal, $row:ty) => {
        #[cfg(feature = $feature)]
        pub trait $name: for<'r> sqlx::FromRow<'r, $row> {}
        #[cfg(feature = $feature)]
        impl<T: for<'r> sqlx::FromRow<'r, $row>> $name for T {}
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T> $name for T {}
    };
}
row_decode!(PgRowDecode, "postgres", sqlx::postgres::PgRow);
row_decode!(MySqlRowDecode, "mysql", sqlx::mysql::MySqlRow);
row_decode!(SqliteRowDecode, "sqlite", sqlx::sqlite::SqliteRow);

/// The plan run `run_id` stored, as stored (JSON).
pub async fn stored_plan(store: &rosterd::store::Store, run_id: i64) -> Value {
    let sql = format!(
        "SELECT p.plan FROM run_plans p JOIN reconcile_runs r ON r.plan_digest = p.digest \
         WHERE r.id = {run_id}"
    );
    let [(plan,)]: [(String,); 1] = fetch_all(store, &sql)
        .await
        .try_into()
        .expect("a stored plan");
    serde_json::from_str(&plan).unwrap()
}

/// rosterd's migrations up to `version` only: a database as an earlier
/// rosterd left it.
pub async fn migrate_until(store: &rosterd::store::Store, version: i64) {
    use rosterd::store::Store;
    fn until(mut m: sqlx::migrate::Migrator, version: i64) -> sqlx::migrate::Migrator {
        let kept: Vec<_> = m.iter().filter(|x| x.version <= version).cloned().collect();
        m.migrations = kept.into();
        m
    }
    match store {
        #[cfg(feature = "postgres")]
        Store::Postgres(p) => {
            until(sqlx::migrate!("../../migrations/postgres"), version)
                .run(p)
                .await
        }
        #[cfg(feature = "sqlite")]
        Store::Sqlite(p) => {
            until(sqlx::migrate!("../../migrations/sqlite"), version)
                .run(p)
                .await
        }
        #[cfg(feature = "mysql")]
        Store::MySql(p) => {
            until(sqlx::migrate!("../../migrations/mysql"), version)
                .run(p)
                .await
        }
    }
    .expect("the earlier migrations apply");
}

/// Every row of a query (no parameters) on any backend.
pub async fn fetch_all<T>(store: &rosterd::store::Store, sql: &str) -> Vec<T>
where
    T: Send + Unpin + FromEveryRow,
{
    use rosterd::store::Store;
    match store {
        #[cfg(feature = "postgres")]
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
        #[cfg(feature = "sqlite")]
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        #[cfg(feature = "mysql")]
        Store::MySql(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `admin_audit` as `(actor, action, target)`, oldest first.
pub async fn admin_audit(store: &rosterd::store::Store) -> Vec<(String, String, String)> {
    fetch_all(
        store,
        "SELECT actor, action, COALESCE(target, '') FROM admin_audit ORDER BY id",
    )
    .await
}

// ---------------------------------------------------------------------------
// The `rosterd` binary, driven as operators drive it.
// ---------------------------------------------------------------------------

/// A config file for the binary: the test database and simulator, fast
/// retries and polling. `auth0` lines join the `[auth0]` section; `rest` is
/// appended (the `[auth0.roles]` table comes first, then `rest`'s own
/// sections).
pub fn write_cli_config(
    dir: &std::path::Path,
    db: &TestDb,
    sim_base: &str,
    auth0: &str,
    rest: &str,
) -> std::path::PathBuf {
    let path = dir.join("rosterd.toml");
    let roles: String = rosterd_lab::role_map()
        .iter()
        .map(|(code, name)| format!("{code} = {name:?}\n"))
        .collect();
    let text = format!(
        "[database]\nurl = \"{}\"\n\n[auth0]\nbase_url = \"{sim_base}\"\n\
         domain = \"test.rosterd.local\"\nclient_id = \"{}\"\nrate_per_sec = 1000.0\n\
         burst = 100\nbackoff_base_ms = 5\nbackoff_cap_ms = 100\nexport_poll_ms = 20\n\
         {auth0}\n\n[auth0.roles]\n{roles}\n{rest}\n",
        db.url,
        SimConfig::default().client_id
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `rosterd --config CONFIG ARGS…` with the simulator's client secret in
/// the environment and no `RUST_LOG` from the caller.
pub fn rosterd_command(config: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rosterd"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env(
            "ROSTERD_AUTH0_CLIENT_SECRET",
            SimConfig::default().client_secret,
        )
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    cmd
}
