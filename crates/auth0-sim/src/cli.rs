//! `rosterd auth0-sim`: flags and environment, then serve until Ctrl-C or
//! SIGTERM.

use anyhow::Context;
use serde_json::Value;
use std::path::{Path, PathBuf};

use super::{spawn, SimConfig};

/// Run a local Auth0 Management API simulator (token, users, roles, jobs,
/// tickets) with Auth0's errors and rate limits, and faults on demand under
/// `/__sim`.
#[derive(clap::Args, Debug)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "ROSTERD_SIM_LISTEN", default_value = "127.0.0.1:4100")]
    pub listen: String,
    /// The client id `/oauth/token` accepts [default: rosterd-sim-client].
    #[arg(long, env = "ROSTERD_SIM_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The client secret `/oauth/token` accepts [default: rosterd-sim-secret].
    #[arg(long, env = "ROSTERD_SIM_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// The only audience tokens are issued for [default: any ending in /api/v2/].
    #[arg(long, env = "ROSTERD_SIM_AUDIENCE")]
    pub audience: Option<String>,
    /// Sustained requests per second [default: 16, Auth0's production limit].
    #[arg(long, env = "ROSTERD_SIM_RATE")]
    pub rate: Option<f64>,
    /// Rate-limit bucket size [default: 50, Auth0's production burst].
    #[arg(long, env = "ROSTERD_SIM_BURST")]
    pub burst: Option<u32>,
    /// Access token lifetime in seconds [default: 86400].
    #[arg(long, env = "ROSTERD_SIM_TOKEN_TTL")]
    pub token_ttl: Option<u64>,
    /// Roles to seed: a JSON array of names, or one name per line
    /// [default: 15 floor and office roles].
    #[arg(long, env = "ROSTERD_SIM_ROLES_FILE")]
    pub roles_file: Option<PathBuf>,
    /// Users to create at start: a file holding a JSON array of users, each
    /// as `POST /api/v2/users` takes one.
    #[arg(long, env = "ROSTERD_SIM_SEED")]
    pub seed: Option<PathBuf>,
    /// Keep the tenant in this JSON file across restarts.
    #[arg(long, env = "ROSTERD_SIM_STATE")]
    pub state: Option<PathBuf>,
    /// How long an export job stays pending, in milliseconds [default: 200].
    #[arg(long, env = "ROSTERD_SIM_EXPORT_DELAY_MS")]
    pub export_delay_ms: Option<u64>,
    // Plain numbers with clap's defaults rather than `Option`s: `SimArgs` is
    // a variant of rosterd's command enum, which must stay small.
    /// How long an import job stays pending, in milliseconds.
    #[arg(long, env = "ROSTERD_SIM_IMPORT_DELAY_MS", default_value_t = SimConfig::default().import_delay_ms)]
    pub import_delay_ms: u64,
    /// How long an import job processes each user, in microseconds.
    #[arg(long, env = "ROSTERD_SIM_IMPORT_USER_MICROS", default_value_t = SimConfig::default().import_user_micros)]
    pub import_user_micros: u64,
    /// Import jobs pending or processing at once before 429 (Auth0: 2).
    #[arg(long, env = "ROSTERD_SIM_MAX_IMPORT_JOBS", default_value_t = SimConfig::default().max_import_jobs)]
    pub max_import_jobs: usize,
    /// Most users one role assignment may name [default: no limit, as Auth0 documents none].
    #[arg(long, env = "ROSTERD_SIM_ROLE_USERS_PER_CALL")]
    pub role_users_per_call: Option<usize>,
    /// Largest accepted request body in bytes [default: 1048576].
    #[arg(long, env = "ROSTERD_SIM_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// The connection's minimum password length [default: 8].
    #[arg(long, env = "ROSTERD_SIM_PASSWORD_MIN_LENGTH")]
    pub password_min_length: Option<usize>,
}

fn read_roles(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading roles file {}", path.display()))?;
    let roles: Vec<String> = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => anyhow::bail!("roles file {}: {other} is not a role name", path.display()),
            })
            .collect::<anyhow::Result<_>>()?,
        _ => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect(),
    };
    anyhow::ensure!(
        !roles.is_empty(),
        "roles file {} names no roles",
        path.display()
    );
    Ok(roles)
}

impl SimArgs {
    pub fn to_config(&self) -> anyhow::Result<SimConfig> {
        let d = SimConfig::default();
        Ok(SimConfig {
            client_id: self.client_id.clone().unwrap_or(d.client_id),
            client_secret: self.client_secret.clone().unwrap_or(d.client_secret),
            audience: self.audience.clone().or(d.audience),
            rate_per_sec: self.rate.unwrap_or(d.rate_per_sec),
            burst: self.burst.unwrap_or(d.burst),
            token_ttl_secs: self.token_ttl.unwrap_or(d.token_ttl_secs),
            roles: match &self.roles_file {
                Some(path) => read_roles(path)?,
                None => d.roles,
            },
            seed_users: self.seed.clone(),
            state_file: self.state.clone(),
            max_body_bytes: self.max_body_bytes.unwrap_or(d.max_body_bytes),
            export_delay_ms: self.export_delay_ms.unwrap_or(d.export_delay_ms),
            import_delay_ms: self.import_delay_ms,
            import_user_micros: self.import_user_micros,
            max_import_jobs: self.max_import_jobs,
            role_users_per_call: self.role_users_per_call.or(d.role_users_per_call),
            password_min_length: self.password_min_length.unwrap_or(d.password_min_length),
        })
    }
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn run_cli(args: SimArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let client_id = config.client_id.clone();
    let (rate, burst) = (config.rate_per_sec, config.burst);
    let sim = spawn(config, &args.listen).await?;
    tracing::info!(
        url = %sim.base_url(),
        domain = %sim.addr(),
        client_id = %client_id,
        rate_per_sec = rate,
        burst,
        "auth0-sim listening; token at /oauth/token, control API at /__sim"
    );
    terminated().await;
    tracing::info!("auth0-sim shutting down");
    sim.shutdown().await;
    Ok(())
}
