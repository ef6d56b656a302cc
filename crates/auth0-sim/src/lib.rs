//! `rosterd auth0-sim`: a stateful stand-in for the parts of the Auth0
//! Management API v2 that rosterd uses, able to misbehave on demand.
//!
//! # Why it exists, and why it looks like this
//!
//! rosterd's tests, its demo and a customer's staging setup all need an
//! Auth0 tenant, and the interesting behaviour of a real one is exactly what
//! mocks leave out: the 1,000-result wall on `/users` paging, 409 on a
//! duplicate email, metadata PATCH merging one level deep, a token bucket
//! that empties, jobs that complete later. So the simulator is *stateful*
//! (users, roles, jobs live in memory between requests) and answers with
//! Auth0's status codes and error bodies (`errors.rs` is the only place an
//! error body is built). Jobs run in the background as Auth0's do
//! (`jobs/`): a client has to poll them, an import's users appear only when
//! it completes, and a tenant takes two imports at a time — the simulator
//! is faithful rather than convenient, so a client proven against it is
//! proven against the documented behaviour. The bar for "as Auth0 does" is an official SDK:
//! `tests/sdk/auth0_python_fidelity.py` drives it with `auth0-python`.
//!
//! **One lock, short critical sections.** The tenant is a single
//! `Mutex<State>`; handlers parse and validate outside it, and inside it do
//! O(1) index lookups (users by id and by `(connection, email)`) or one
//! linear scan for a search. At tens of thousands of users that is well
//! under a millisecond, so the simulator is never the bottleneck of a test
//! or a staging run, and there is no lock ordering to get wrong.
//!
//! **Users are JSON documents** (`state.rs`), as Auth0 stores them; search
//! (`query.rs`), projection and the PATCH merge are path operations on them.
//!
//! **Faults sit in front of everything tenant-facing** (`server.rs`): one
//! middleware injects latency, 429s, 5xx and dropped connections, meters
//! the token bucket (`ratelimit.rs`), stamps `x-ratelimit-*` on every answer
//! and counts requests per route pattern. A dropped connection must be a
//! TCP close without an HTTP answer, which `axum::serve` cannot do, so the
//! accept loop is our own hyper loop with a per-connection drop handle.
//!
//! **The control API lives under `/__sim`**, a path the real API cannot
//! have, bypasses token, rate limit, faults and request log, and is how
//! tests seed, inspect, reset and break the tenant.
//!
//! Routes: `POST /oauth/token`; under `/api/v2`: `users` (list, search,
//! create), `users/{id}` (get, patch, delete), `users-by-email`,
//! `users/{id}/roles`, `roles`, `roles/{id}/users`, `connections`,
//! `jobs/users-exports`, `jobs/users-imports`, `jobs/{id}`,
//! `jobs/{id}/errors`, `tickets/password-change`. Control: `/__sim/state`,
//! `/__sim/reset`, `/__sim/faults`, `/__sim/users`, `/__sim/requests`,
//! `/__sim/exports/{file}` (the export jobs' download links).
//!
//! **State is memory unless asked** (`--state FILE`, `persist.rs`): written
//! atomically after changes (debounced) and on shutdown, so a restarted
//! demo keeps its accounts.

mod control;
mod errors;
mod faults;
mod jobs;
mod params;
mod persist;
mod query;
mod ratelimit;
mod roles;
mod server;
mod state;
mod token;
mod users;

pub mod bench;
pub mod cli;

use anyhow::{bail, Context};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use server::Sim;
use state::State as Tenant;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// `None` accepts any audience ending in `/api/v2/`, so one simulator
    /// serves clients configured for any tenant domain.
    pub audience: Option<String>,
    /// Sustained requests per second across `/oauth/token` and `/api/v2`.
    pub rate_per_sec: f64,
    /// Bucket size: how many requests may arrive at once.
    pub burst: u32,
    pub token_ttl_secs: u64,
    pub roles: Vec<String>,
    /// A JSON array of users as `POST /api/v2/users` takes them (plus
    /// optional `user_id`, `created_at`, `logins_count`, ...); no password
    /// needed. Users whose id or email already exists are skipped.
    pub seed_users: Option<PathBuf>,
    pub state_file: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub export_delay_ms: u64,
    /// How long an import job stays `pending` before it reads its file.
    pub import_delay_ms: u64,
    /// How long an import job is `processing`, per user in its file.
    pub import_user_micros: u64,
    /// Import jobs a tenant may have pending or processing at once; Auth0
    /// answers 429 beyond them.
    pub max_import_jobs: usize,
    /// Most users one `POST /api/v2/roles/{id}/users` may name (400
    /// beyond it). Auth0 documents no such limit, so none by default; a
    /// test of a client's chunking sets one.
    pub role_users_per_call: Option<usize>,
    /// The connection's minimum password length (Auth0 "good" policy on top:
    /// three of lower case, upper case, digits, special characters).
    pub password_min_length: usize,
}

/// Roles a print-on-demand plant's floor and office have.
pub const DEFAULT_ROLES: [&str; 15] = [
    "Picker",
    "Packer",
    "Shipper",
    "Heat Press Operator",
    "Printer Operator",
    "QC Inspector",
    "Floor Lead",
    "Shift Supervisor",
    "Maintenance Technician",
    "Inventory Clerk",
    "Receiving Clerk",
    "Customer Service",
    "HR Generalist",
    "Production Manager",
    "Office Admin",
];

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "rosterd-sim-client".into(),
            client_secret: "rosterd-sim-secret".into(),
            audience: None,
            // Auth0's current policy: 16 rps sustained on the Management API
            // for self-service (and enterprise) production tenants.
            rate_per_sec: 16.0,
            // Auth0 support documents the global Management API bucket of a
            // production tenant as "Burst: 50 requests per second /
            // Sustained: 16 requests per second" (community.auth0.com,
            // "Management API Rate Limit: The current_user* Scope Limit").
            burst: 50,
            token_ttl_secs: 86_400,
            roles: DEFAULT_ROLES.iter().map(|r| r.to_string()).collect(),
            seed_users: None,
            state_file: None,
            max_body_bytes: 1024 * 1024,
            export_delay_ms: 200,
            // 0.1 s queued plus 0.15 ms a user: a 1,000-user file takes a
            // quarter of a second, 10,000 users in two-at-a-time jobs about
            // 1.3 s, not the minutes a loaded tenant may take, nor zero.
            import_delay_ms: 100,
            import_user_micros: 150,
            // "a limit of two concurrent import jobs" (Auth0, Bulk User
            // Imports).
            max_import_jobs: 2,
            role_users_per_call: None,
            password_min_length: 8,
        }
    }
}

/// A simulator serving in the background; [`RunningSim::shutdown`] stops it.
pub struct RunningSim {
    addr: SocketAddr,
    sim: Arc<Sim>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    saver: Option<JoinHandle<()>>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, writes `--state`.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        if let Some(saver) = self.saver {
            let _ = saver.await;
        }
        if let Some(path) = &self.sim.cfg.state_file {
            persist::save(&self.sim, path).await;
        }
    }
}

/// Bind `listen` (e.g. `127.0.0.1:0`), start serving in a tokio task,
/// return at once.
pub async fn spawn(config: SimConfig, listen: &str) -> anyhow::Result<RunningSim> {
    if !(config.rate_per_sec.is_finite() && config.rate_per_sec > 0.0) {
        bail!("rate must be a positive number of requests per second");
    }
    if config.burst == 0 {
        bail!("burst must be at least 1");
    }
    let mut tenant = match &config.state_file {
        Some(path) => match persist::load(path)? {
            Some(mut snapshot) => {
                if snapshot.roles.is_empty() {
                    snapshot.roles = server::configured_roles(&config);
                }
                Tenant::from_snapshot(snapshot)
            }
            None => Tenant::new(server::configured_roles(&config)),
        },
        None => Tenant::new(server::configured_roles(&config)),
    };
    let seeded = match &config.seed_users {
        Some(path) => seed_from_file(&mut tenant, path, config.password_min_length)?,
        None => 0,
    };

    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("auth0-sim cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let state_file = config.state_file.clone();
    let sim = Arc::new(Sim::new(config, addr, tenant));
    if seeded > 0 {
        sim.changed();
    }
    let (stop, stop_rx) = watch::channel(false);
    let server = tokio::spawn(server::serve(
        listener,
        server::router(sim.clone()),
        stop_rx.clone(),
    ));
    let saver = state_file.map(|path| tokio::spawn(persist::saver(sim.clone(), path, stop_rx)));
    Ok(RunningSim {
        addr,
        sim,
        stop,
        server,
        saver,
    })
}

/// Adds the seed file's users that are not there yet; returns how many.
fn seed_from_file(
    tenant: &mut Tenant,
    path: &std::path::Path,
    min_len: usize,
) -> anyhow::Result<usize> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading seed file {}", path.display()))?;
    let Value::Array(users) = serde_json::from_slice(&bytes)
        .with_context(|| format!("seed file {} is not JSON", path.display()))?
    else {
        bail!(
            "seed file {} must hold a JSON array of users",
            path.display()
        );
    };
    let mut added = 0;
    for (i, user) in users.iter().enumerate() {
        match control::seed(tenant, std::slice::from_ref(user), min_len) {
            Ok(_) => added += 1,
            Err(e) if e.status() == axum::http::StatusCode::CONFLICT => {}
            Err(e) => bail!("seed file {}: user {i}: {}", path.display(), e.message()),
        }
    }
    Ok(added)
}
