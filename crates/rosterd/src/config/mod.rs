//! Typed settings: a TOML file, then `ROSTERD_SECTION__KEY` environment
//! overrides, then secrets from the environment only.
//!
//! Loading never stops at the first problem: [`Settings::load`] collects every
//! unknown key, wrong type and bad value with the key's dotted name, so
//! `rosterd check-config` can list them all at once. Secrets live in
//! [`Secret`], whose `Debug` and `Display` print `[redacted]`, so a settings
//! dump in a log line cannot leak them.

mod policy;

pub use policy::{AccountExclusions, DepartureSettings, ExcludeSettings, PolicySettings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A value that must never be printed: client secrets, tokens, passwords.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The only way to read the value; grep for it to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Whether a run may write to Auth0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Plan, guard, apply and record.
    #[default]
    Enforce,
    /// Plan and record, never write to Auth0 or to the employees table.
    Observe,
}

impl Mode {
    /// The name used in the config file and in `reconcile_runs.mode`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Observe => "observe",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub mode: Mode,
    pub database: DatabaseSettings,
    pub auth0: Auth0Settings,
    pub reconcile: ReconcileSettings,
    pub podfactory: PodFactorySettings,
    pub serve: ServeSettings,
    pub notify: NotifySettings,
    pub log: LogSettings,
    /// `[policy]`, parsed by hand (`config::policy`).
    #[serde(skip)]
    pub policy: PolicySettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://user@host/db`, `mysql://…` or `sqlite://path.db`. Put no
    /// password here: it comes from `ROSTERD_DATABASE_PASSWORD`.
    pub url: String,
    pub max_connections: u32,
    /// Seconds to wait for a connection before the run fails.
    pub connect_timeout_secs: u64,
    /// Replaces the default employees query for a table whose columns are
    /// named otherwise: alias them to `id, full_name, email, department,
    /// workspace, role_code, is_active, auth0_user_id`.
    pub employees_query: Option<String>,
    /// Where the link (`auth0_user_id`, `auth0_linked_at`) is written back:
    /// `employees` with the built-in query; with a custom query, this table
    /// (unset: nothing is written and the link is the account's
    /// `app_metadata.employee_id`).
    pub employees_table: Option<String>,
    /// The id column of `employees_table` (default `id`).
    pub employees_id_column: Option<String>,
    #[serde(skip)]
    pub password: Option<Secret>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "sqlite://rosterd.db".into(),
            max_connections: 5,
            connect_timeout_secs: 10,
            employees_query: None,
            employees_table: None,
            employees_id_column: None,
            password: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth0Settings {
    /// The tenant's domain, e.g. `acme.eu.auth0.com`.
    pub domain: String,
    /// Overrides `https://{domain}`: the simulator or a staging proxy.
    pub base_url: Option<String>,
    pub client_id: String,
    /// Defaults to `https://{domain}/api/v2/`.
    pub audience: Option<String>,
    /// The database connection new accounts are created in.
    pub connection: String,
    /// Requests per second rosterd never exceeds. The pace is the tenant's
    /// own limit, learned from its `x-ratelimit-*` answers; set this below
    /// it to leave other Management API users headroom.
    pub rate_per_sec: f64,
    /// Requests rosterd never exceeds back to back (it uses the tenant's
    /// burst up to this).
    pub burst: u32,
    /// Attempts per request before giving up (429, 5xx, timeouts).
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_cap_ms: u64,
    pub timeout_secs: u64,
    /// Requests in flight at most (and actions applied at once); the
    /// limiter keeps as many in flight as the tenant's rate needs at the
    /// latency it sees.
    pub concurrency: usize,
    /// The longest pause between polls of a users export job; the first
    /// polls come sooner (`auth0::job_pause`).
    pub export_poll_ms: u64,
    pub export_timeout_secs: u64,
    /// A plan with at least this many creates makes them by users-import
    /// jobs instead of one call each; 0: never.
    pub bulk_import_threshold: usize,
    /// Import jobs in flight at once (Auth0 allows a tenant 2).
    pub import_concurrency: usize,
    /// The largest import file rosterd sends, in bytes (Auth0 refuses
    /// files over 500 KB; the default leaves a margin).
    pub import_file_bytes: usize,
    /// How long one import job may take before its accounts are left to
    /// the next run.
    pub import_timeout_secs: u64,
    /// Employee `role_code` → Auth0 role name. A code with no entry is
    /// looked up as a role name itself (case-insensitively).
    pub roles: BTreeMap<String, String>,
    #[serde(skip)]
    pub client_secret: Secret,
}

/// Auth0's import file limit, 500 KB, read as the smaller 500,000 bytes.
const IMPORT_FILE_LIMIT: usize = 500_000;

impl Default for Auth0Settings {
    fn default() -> Self {
        Auth0Settings {
            domain: String::new(),
            base_url: None,
            client_id: String::new(),
            audience: None,
            connection: "Username-Password-Authentication".into(),
            // Ceilings: the tenant's limit, learned, governs below them
            // (Auth0's self-service production limit is 16 rps, burst 50).
            rate_per_sec: 50.0,
            burst: 50,
            max_attempts: 6,
            backoff_base_ms: 250,
            backoff_cap_ms: 30_000,
            timeout_secs: 30,
            concurrency: 16,
            export_poll_ms: 1000,
            export_timeout_secs: 900,
            bulk_import_threshold: 100,
            import_concurrency: 2,
            import_file_bytes: 400_000,
            import_timeout_secs: 900,
            roles: BTreeMap::new(),
            client_secret: Secret::default(),
        }
    }
}

impl Auth0Settings {
    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("https://{}", self.domain),
        }
    }
    pub fn audience(&self) -> String {
        self.audience
            .clone()
            .unwrap_or_else(|| format!("https://{}/api/v2/", self.domain))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileSettings {
    /// The `app_metadata.created_by` value marking accounts rosterd made.
    pub created_by: String,
    /// A plan blocking more than this many accounts is held.
    pub max_block_count: usize,
    /// … or more than this share of the managed accounts or employees,
    /// whichever is larger.
    pub max_block_share: f64,
    /// A plan unblocking more than this many accounts (an import that set
    /// everyone active again) is held …
    pub max_unblock_count: usize,
    /// … or more than this share of the managed accounts or employees.
    pub max_unblock_share: f64,
    /// A plan changing more than this many accounts' emails (a domain typo)
    /// is held …
    pub max_email_change_count: usize,
    /// … or more than this share of the managed accounts or employees.
    pub max_email_change_share: f64,
    /// Refuse a run whose employees source gave fewer valid, distinct
    /// employees than this share of the last successful run's (a truncated
    /// table or a bad view is not "everyone left").
    pub min_employee_share: f64,
    /// A run starts no action after this many seconds and cuts short those
    /// in flight; the next run finishes the plan.
    pub run_deadline_secs: u64,
    /// This many consecutive runs failed by Auth0 put rosterd in quarantine
    /// (0: never).
    pub quarantine_after_runs: usize,
    /// In quarantine, scheduled and change-triggered runs start at most this
    /// often.
    pub quarantine_interval_secs: u64,
    /// Only the newest this many runs keep their stored plan (with its
    /// findings); held runs keep theirs until decided, the latest rejected
    /// run its own (0: every run keeps it).
    pub keep_plans: usize,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            created_by: "productivity_system".into(),
            max_block_count: 25,
            max_block_share: 0.10,
            max_unblock_count: 25,
            max_unblock_share: 0.10,
            max_email_change_count: 25,
            max_email_change_share: 0.10,
            min_employee_share: 0.5,
            run_deadline_secs: 1800,
            quarantine_after_runs: 3,
            quarantine_interval_secs: 3600,
            keep_plans: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSettings {
    /// Address of the HTTP API, `/metrics` and health endpoints.
    pub listen: String,
    /// Six-field cron (`sec min hour day-of-month month day-of-week`); a
    /// five-field expression gets `0` seconds prepended.
    pub schedule: String,
    /// IANA zone the schedule is read in (default UTC, which has no DST).
    pub timezone: String,
    /// Run once as soon as the daemon is up.
    pub run_at_start: bool,
    /// Random delay before a scheduled run, so replicas and tenants spread.
    pub jitter_secs: u64,
    /// A burst of employee changes becomes one run after this quiet time.
    pub change_debounce_ms: u64,
    /// How often SQLite (no NOTIFY) is polled for employee changes.
    pub change_poll_ms: u64,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// On SIGTERM, how long a running reconcile may take to stop.
    pub shutdown_grace_secs: u64,
    /// `password` (a generated password returned once) or `ticket` (an
    /// Auth0 password-change ticket URL).
    pub credentials: String,
    pub ticket_ttl_secs: u64,
    /// `name=token` pairs from `ROSTERD_ADMIN_TOKENS` (comma-separated).
    #[serde(skip)]
    pub admin_tokens: Vec<(String, Secret)>,
    /// Shared secret of the inbound webhook, from `ROSTERD_WEBHOOK_SECRET`.
    #[serde(skip)]
    pub webhook_secret: Option<Secret>,
    /// Accept Auth0-issued JWTs (RS256) from this issuer on the admin API,
    /// e.g. `https://acme.eu.auth0.com/` (exactly the tokens' `iss`).
    /// Empty: JWTs are off; only `ROSTERD_ADMIN_TOKENS` work.
    pub jwt_issuer: String,
    /// The `aud` a JWT must carry (the Auth0 API's identifier).
    pub jwt_audience: String,
    /// Where the signing keys are; empty: `{issuer}.well-known/jwks.json`.
    pub jwt_jwks_url: String,
    /// The permission (`permissions` claim or `scope`) for every admin call.
    pub jwt_permission: String,
    /// A permission that allows GET only; empty: none.
    pub jwt_read_permission: String,
    /// Where people reach this daemon, e.g. `https://rosterd.example.com`:
    /// the digest links to console pages under it, and an https URL makes
    /// the console's session cookie `Secure`. Empty: no links.
    pub public_url: String,
    /// How long a console session lasts after sign-in.
    pub session_ttl_secs: u64,
    /// Signs console session cookies, from `ROSTERD_SESSION_KEY` (at least
    /// 32 characters). Unset: a random key per process, so sessions end
    /// when rosterd restarts (set it when replicas share a load balancer).
    #[serde(skip)]
    pub session_key: Option<Secret>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            listen: "127.0.0.1:8080".into(),
            schedule: "0 */15 * * * *".into(),
            timezone: "UTC".into(),
            run_at_start: true,
            jitter_secs: 0,
            change_debounce_ms: 2000,
            change_poll_ms: 2000,
            body_limit_bytes: 64 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
            credentials: "password".into(),
            ticket_ttl_secs: 7 * 24 * 3600,
            admin_tokens: Vec::new(),
            webhook_secret: None,
            jwt_issuer: String::new(),
            jwt_audience: String::new(),
            jwt_jwks_url: String::new(),
            jwt_permission: "reconcile:run".into(),
            jwt_read_permission: "reconcile:read".into(),
            public_url: String::new(),
            session_ttl_secs: 8 * 3600,
            session_key: None,
        }
    }
}

impl ServeSettings {
    /// The console page at `path` (e.g. `/ui/runs/7`) under
    /// `serve.public_url`, or `None` when no public URL is set.
    pub fn console_link(&self, path: &str) -> Option<String> {
        let base = self.public_url.trim().trim_end_matches('/');
        (!base.is_empty()).then(|| format!("{base}{path}"))
    }

    /// Whether the console's cookies must be `Secure` (served over https).
    pub fn https(&self) -> bool {
        self.public_url.trim().starts_with("https://")
    }

    /// The schedule as the six-field form the driver reads with croner,
    /// checked here so that a bad one is a config error naming the key.
    pub fn six_field_schedule(&self) -> Result<croner::Cron, String> {
        let example = "use six-field cron \"sec min hour day-of-month month day-of-week\", e.g. \"0 */15 * * * *\"";
        let cron = match self.schedule.split_whitespace().count() {
            6 | 7 => self.schedule.trim().to_string(),
            5 => format!("0 {}", self.schedule.trim()),
            n => return Err(format!("serve.schedule: {n} fields; {example}")),
        };
        parse_cron(&cron)
            .map_err(|e| format!("serve.schedule: not a valid cron expression ({e}); {example}"))
    }
}

/// A six-field cron expression (seconds first; day-of-month and
/// day-of-week both apply, as in Vixie cron), the one way rosterd reads one.
pub fn parse_cron(cron: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(cron)
}

/// Where PodFactory's users come from, and how they are matched.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PodFactorySettings {
    /// `none` (no matching), `database` or `csv`.
    pub source: String,
    /// A read-only connection: `mysql://…`, `postgres://…` or `sqlite://…`;
    /// the password is `ROSTERD_PODFACTORY_PASSWORD`.
    pub url: String,
    /// Must return `id, name, email, user_role` (alias your columns).
    pub query: String,
    /// With `source = "database"`: the query is cancelled after this long
    /// (PostgreSQL `statement_timeout`, MariaDB `max_statement_time`, MySQL
    /// `max_execution_time`), and matching skipped for the run.
    pub statement_timeout_secs: u64,
    /// With `source = "database"`: more rows than this is an error naming
    /// the limit (matching skipped), never a silent truncation.
    pub max_rows: usize,
    /// With `source = "csv"`: a file with the header `id,name,email,user_role`.
    pub csv_path: String,
    /// Station markers in login emails (`john.doe.shp@…`, `john.doe.shp2@…`,
    /// `shp.john.doe@…`).
    pub station_suffixes: Vec<String>,
    /// A name link needs at least this calibrated probability of being right…
    pub accept_threshold: f64,
    /// …and a name score this far ahead of the runner-up's.
    pub margin: f64,
    /// Write each matched employee's PodFactory link into the account's
    /// `app_metadata.podfactory_sync` (SPEC "Option B").
    pub rich_metadata: bool,
    #[serde(skip)]
    pub password: Option<Secret>,
}

impl Default for PodFactorySettings {
    fn default() -> Self {
        let m = crate::matching::MatchSettings::default();
        PodFactorySettings {
            source: "none".into(),
            url: String::new(),
            query: "SELECT id, name, email, user_role FROM users".into(),
            statement_timeout_secs: 30,
            max_rows: 500_000,
            csv_path: String::new(),
            station_suffixes: m.station_suffixes,
            accept_threshold: m.accept_threshold,
            margin: m.margin,
            rich_metadata: false,
            password: None,
        }
    }
}

impl PodFactorySettings {
    pub fn match_settings(&self) -> crate::matching::MatchSettings {
        crate::matching::MatchSettings {
            station_suffixes: self.station_suffixes.clone(),
            accept_threshold: self.accept_threshold,
            margin: self.margin,
            ..Default::default()
        }
    }
}

/// On-call notification after runs: an email digest of what is new, and
/// optional JSON webhooks with the same content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySettings {
    pub email: bool,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `plain`, `starttls` or `tls`.
    pub smtp_security: String,
    /// Empty for no authentication; the password is `ROSTERD_SMTP_PASSWORD`.
    pub smtp_username: String,
    pub from: String,
    /// Recipients of every digest.
    pub to: Vec<String>,
    /// Extra recipients per finding kind (e.g. `unmatched_podfactory_user`).
    pub recipients: BTreeMap<String, Vec<String>>,
    /// The same finding is not sent again within this many hours.
    pub cooldown_hours: u64,
    /// SMTP attempts per digest before giving up (the run is never failed).
    pub smtp_attempts: u32,
    pub smtp_timeout_secs: u64,
    /// A generic JSON webhook and a Slack-compatible one (empty: off).
    pub webhook_url: String,
    pub slack_webhook_url: String,
    #[serde(skip)]
    pub smtp_password: Option<Secret>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            email: false,
            smtp_host: "localhost".into(),
            smtp_port: 25,
            smtp_security: "starttls".into(),
            smtp_username: String::new(),
            from: "rosterd@localhost".into(),
            to: Vec::new(),
            recipients: BTreeMap::new(),
            cooldown_hours: 24,
            smtp_attempts: 3,
            smtp_timeout_secs: 20,
            webhook_url: String::new(),
            slack_webhook_url: String::new(),
            smtp_password: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `rosterd=debug,info`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// Every problem found while loading, each naming its key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

const ENV_PREFIX: &str = "ROSTERD_";
const SECTIONS: [&str; 8] = [
    "database",
    "auth0",
    "reconcile",
    "podfactory",
    "serve",
    "notify",
    "log",
    "policy",
];

/// Environment variables that carry secrets, and where they go.
pub const SECRET_VARS: [&str; 7] = [
    "ROSTERD_AUTH0_CLIENT_SECRET",
    "ROSTERD_DATABASE_PASSWORD",
    "ROSTERD_ADMIN_TOKENS",
    "ROSTERD_WEBHOOK_SECRET",
    "ROSTERD_SMTP_PASSWORD",
    "ROSTERD_PODFACTORY_PASSWORD",
    "ROSTERD_SESSION_KEY",
];

impl Settings {
    /// Load from an optional TOML file plus the process environment.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| ConfigError {
                problems: vec![format!("cannot read {}: {e}", p.display())],
            })?,
            None => String::new(),
        };
        Self::from_sources(&text, std::env::vars())
    }

    /// Load from TOML text and an environment (injectable for tests).
    pub fn from_sources(
        toml_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut problems = Vec::new();
        let mut root: toml::Table = match toml_text.parse::<toml::Table>() {
            Ok(t) => t,
            // toml's Display quotes the offending line, which can hold a
            // secret: keep the line number and the message only.
            Err(e) => {
                let at = e
                    .span()
                    .map(|s| {
                        let line = line_at(toml_text, s.start);
                        match key_on_line(toml_text, line) {
                            Some(key) => format!(" at line {line} ({key})"),
                            None => format!(" at line {line}"),
                        }
                    })
                    .unwrap_or_default();
                let what = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
                return Err(ConfigError {
                    problems: vec![format!("TOML syntax error{at}: {what}")],
                });
            }
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        for (key, value) in &env {
            apply_env_override(&mut root, key, value, &mut problems);
        }
        for (section, key) in [("auth0", "client_secret"), ("database", "password")] {
            if root
                .get(section)
                .and_then(|s| s.as_table())
                .is_some_and(|t| t.contains_key(key))
            {
                problems.push(format!(
                    "{section}.{key}: secrets are read only from the environment ({}), never from the file",
                    if section == "auth0" { SECRET_VARS[0] } else { SECRET_VARS[1] }
                ));
                if let Some(t) = root.get_mut(section).and_then(|s| s.as_table_mut()) {
                    t.remove(key);
                }
            }
        }

        placeholders(&root, "", &mut problems);

        // Deserialize section by section so one bad section does not hide
        // the problems of the others.
        let mut settings = Settings::default();
        for (key, value) in root {
            match key.as_str() {
                "mode" => match Mode::deserialize(value) {
                    Ok(m) => settings.mode = m,
                    Err(_) => problems.push(format!(
                        "mode{}: expected \"enforce\" or \"observe\"",
                        at_line(toml_text, None, "mode")
                    )),
                },
                "database" => section(
                    toml_text,
                    &key,
                    value,
                    &mut settings.database,
                    &mut problems,
                ),
                "auth0" => section(toml_text, &key, value, &mut settings.auth0, &mut problems),
                "reconcile" => section(
                    toml_text,
                    &key,
                    value,
                    &mut settings.reconcile,
                    &mut problems,
                ),
                "podfactory" => section(
                    toml_text,
                    &key,
                    value,
                    &mut settings.podfactory,
                    &mut problems,
                ),
                "serve" => section(toml_text, &key, value, &mut settings.serve, &mut problems),
                "notify" => section(toml_text, &key, value, &mut settings.notify, &mut problems),
                "log" => section(toml_text, &key, value, &mut settings.log, &mut problems),
                "policy" => policy::parse(toml_text, value, &mut settings.policy, &mut problems),
                other => problems.push(format!(
                    "{other}{}: unknown key{} (known: mode, {})",
                    at_line(toml_text, None, other),
                    did_you_mean(
                        other,
                        std::iter::once("mode").chain(SECTIONS.iter().copied())
                    ),
                    SECTIONS.join(", ")
                )),
            }
        }

        let mut secret = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| secret_from_file(&env, name, &mut problems))
        };
        settings.auth0.client_secret = Secret::new(secret(SECRET_VARS[0]).unwrap_or_default());
        settings.database.password = secret(SECRET_VARS[1]).map(Secret::new);
        let admin_tokens = secret(SECRET_VARS[2]);
        settings.notify.smtp_password = secret(SECRET_VARS[4]).map(Secret::new);
        settings.podfactory.password = secret(SECRET_VARS[5]).map(Secret::new);
        settings.serve.webhook_secret = secret(SECRET_VARS[3]).map(Secret::new);
        settings.serve.session_key = secret(SECRET_VARS[6]).map(Secret::new);
        if let Some(tokens) = admin_tokens {
            for (i, pair) in tokens
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .enumerate()
            {
                match pair.split_once('=') {
                    Some((name, token)) if !name.trim().is_empty() && token.trim().len() >= 16 => {
                        settings
                            .serve
                            .admin_tokens
                            .push((name.trim().to_string(), Secret::new(token.trim())))
                    }
                    _ => problems.push(format!(
                        "{}: entry {} is not name=token with a token of 16+ characters",
                        SECRET_VARS[2],
                        i + 1
                    )),
                }
            }
        }

        match log_filter(&settings.log.level) {
            Ok(filter) => settings.log.level = filter,
            Err(e) => problems.push(format!(
                "log.level{}: {e}",
                at_line(toml_text, Some("log"), "level")
            )),
        }
        // RUST_LOG replaces log.level (telemetry::init): a typo there must
        // not silence the logs either.
        if let Some((_, v)) = env
            .iter()
            .find(|(k, v)| k == "RUST_LOG" && !v.trim().is_empty())
        {
            if let Err(e) = log_filter(v) {
                problems.push(format!("RUST_LOG: {e}"));
            }
        }

        settings.validate(&mut problems);
        if problems.is_empty() {
            Ok(settings)
        } else {
            for p in &mut problems {
                name_env_origin(p, &env);
            }
            Err(ConfigError { problems })
        }
    }

    fn validate(&self, problems: &mut Vec<String>) {
        self.policy.validate(problems);
        let db = &self.database;
        check_db_url("database.url", &db.url, SECRET_VARS[1], problems);
        if db.max_connections == 0 {
            problems.push("database.max_connections: must be at least 1".into());
        }
        if let Err(why) = crate::store::WriteBack::from_settings(db) {
            problems.push(why);
        }
        crate::departures::validate(&self.policy.departures, problems);
        let a = &self.auth0;
        if a.domain.is_empty() && a.base_url.is_none() {
            problems.push("auth0.domain: required (or auth0.base_url for a simulator)".into());
        }
        if a.domain.contains("://") || a.domain.contains('/') {
            problems.push(
                "auth0.domain: expected the tenant's host name alone, e.g. \"acme.eu.auth0.com\" (no https://, no path)".into(),
            );
        }
        if let Some(url) = &a.base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push("auth0.base_url: expected an http:// or https:// URL".into());
            }
            // rosterd appends /api/v2/… itself; a base URL that already has
            // it sends every call to /api/v2/api/v2/… (404).
            if url.trim_end_matches('/').ends_with("/api/v2") {
                problems.push(
                    "auth0.base_url: expected the tenant's root URL without /api/v2 (rosterd adds the API path)".into(),
                );
            }
        }
        if a.client_id.is_empty() {
            problems.push("auth0.client_id: required".into());
        }
        if a.client_secret.is_empty() {
            problems.push(format!(
                "auth0.client_secret: set {} (or {}_FILE)",
                SECRET_VARS[0], SECRET_VARS[0]
            ));
        }
        if !(a.rate_per_sec > 0.0 && a.rate_per_sec.is_finite()) {
            problems.push("auth0.rate_per_sec: must be a positive number".into());
        }
        if a.burst == 0 {
            problems.push("auth0.burst: must be at least 1".into());
        }
        if a.max_attempts == 0 {
            problems.push("auth0.max_attempts: must be at least 1".into());
        }
        if a.concurrency == 0 {
            problems.push("auth0.concurrency: must be at least 1".into());
        }
        if !(1..=2).contains(&a.import_concurrency) {
            problems.push(
                "auth0.import_concurrency: must be 1 or 2 (Auth0 runs at most 2 import jobs per tenant)".into(),
            );
        }
        if !(1..=IMPORT_FILE_LIMIT).contains(&a.import_file_bytes) {
            problems.push(format!(
                "auth0.import_file_bytes: must be between 1 and {IMPORT_FILE_LIMIT} (Auth0 refuses import files over 500 KB)"
            ));
        }
        if a.import_timeout_secs == 0 {
            problems.push("auth0.import_timeout_secs: must be at least 1".into());
        }
        if a.connection.is_empty() {
            problems.push("auth0.connection: required".into());
        }
        let r = &self.reconcile;
        if r.created_by.is_empty() {
            problems.push("reconcile.created_by: must not be empty".into());
        }
        for (key, share) in [
            ("max_block_share", r.max_block_share),
            ("max_unblock_share", r.max_unblock_share),
            ("max_email_change_share", r.max_email_change_share),
            ("min_employee_share", r.min_employee_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                problems.push(format!("reconcile.{key}: must be between 0 and 1"));
            }
        }
        // Role codes compare case-insensitively: two keys differing only in
        // case would make the lookup ambiguous.
        let mut codes: Vec<&String> = a.roles.keys().collect();
        codes.sort_by_key(|c| c.to_ascii_uppercase());
        for pair in codes.windows(2) {
            if pair[0].eq_ignore_ascii_case(pair[1]) {
                problems.push(format!(
                    "auth0.roles: {} and {} are the same role code (role codes compare case-insensitively)",
                    pair[0], pair[1]
                ));
            }
        }
        if r.run_deadline_secs == 0 {
            problems.push("reconcile.run_deadline_secs: must be at least 1".into());
        }
        if r.quarantine_interval_secs == 0 {
            problems.push("reconcile.quarantine_interval_secs: must be at least 1".into());
        }
        let sv = &self.serve;
        match sv.six_field_schedule() {
            Err(e) => problems.push(e),
            // A past year or a 30 February parses, then never comes.
            Ok(cron) => {
                if cron
                    .find_next_occurrence(&chrono::Utc::now(), false)
                    .is_err()
                {
                    problems.push(
                        "serve.schedule: matches no time from now on (a past year, or a day the month does not have)"
                            .into(),
                    );
                }
            }
        }
        if sv.timezone.parse::<chrono_tz::Tz>().is_err() {
            problems.push(
                "serve.timezone: expected an IANA time zone, e.g. \"UTC\" or \"Europe/Madrid\""
                    .into(),
            );
        }
        if sv.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(
                "serve.listen: expected ip:port, e.g. \"0.0.0.0:8080\" or \"[::1]:8080\"".into(),
            );
        }
        if !matches!(sv.credentials.as_str(), "password" | "ticket") {
            problems.push("serve.credentials: expected \"password\" or \"ticket\"".into());
        }
        let http_url = |u: &str| {
            u.strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"))
                .is_some_and(|rest| {
                    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                    !host.is_empty() && !host.contains(char::is_whitespace)
                })
        };
        let issuer = sv.jwt_issuer.trim();
        if !issuer.is_empty() {
            if !http_url(issuer) {
                problems.push(
                    "serve.jwt_issuer: expected an https:// (or http://) URL, e.g. \"https://acme.eu.auth0.com/\"".into(),
                );
            }
            if sv.jwt_audience.trim().is_empty() {
                problems.push(
                    "serve.jwt_audience: required with serve.jwt_issuer (the Auth0 API identifier)"
                        .into(),
                );
            }
            if sv.jwt_permission.trim().is_empty() {
                problems
                    .push("serve.jwt_permission: must not be empty with serve.jwt_issuer".into());
            }
        }
        let public = sv.public_url.trim();
        if !public.is_empty() && (!http_url(public) || public.contains(['?', '#'])) {
            problems.push(
                "serve.public_url: expected an https:// (or http://) URL with no query, e.g. \"https://rosterd.example.com\"".into(),
            );
        }
        if sv.session_ttl_secs < 60 {
            problems.push("serve.session_ttl_secs: must be at least 60".into());
        }
        if sv
            .session_key
            .as_ref()
            .is_some_and(|k| k.expose().chars().count() < 32)
        {
            problems.push(format!(
                "{}: must be at least 32 characters (e.g. `openssl rand -hex 32`)",
                SECRET_VARS[6]
            ));
        }
        let jwks = sv.jwt_jwks_url.trim();
        if !jwks.is_empty() && !http_url(jwks) {
            problems.push("serve.jwt_jwks_url: expected an https:// (or http://) URL".into());
        }
        let pf = &self.podfactory;
        match pf.source.as_str() {
            "none" if pf.rich_metadata => problems.push(
                "podfactory.rich_metadata: needs a PodFactory source (podfactory.source)".into(),
            ),
            "none" => {}
            "database" => {
                check_db_url("podfactory.url", &pf.url, SECRET_VARS[5], problems);
            }
            "csv" if pf.csv_path.is_empty() => {
                problems.push("podfactory.csv_path: required with source = \"csv\"".into())
            }
            "csv" => {}
            _ => problems
                .push("podfactory.source: expected \"none\", \"database\" or \"csv\"".into()),
        }
        if pf.statement_timeout_secs == 0 || pf.max_rows == 0 {
            problems
                .push("podfactory.statement_timeout_secs and max_rows: must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&pf.accept_threshold) || !(0.0..=1.0).contains(&pf.margin) {
            problems.push("podfactory.accept_threshold and margin: must be between 0 and 1".into());
        }
        self.notify.validate(problems);
        if !matches!(self.log.format.as_str(), "text" | "json") {
            problems.push("log.format: expected \"text\" or \"json\"".into());
        }
    }

    /// What only `check-config` looks at, because it can change while the
    /// daemon runs: the PodFactory CSV must exist and be readable (a run
    /// that cannot read it reports a failed matching stage instead).
    pub fn check_files(&self) -> Vec<String> {
        let pf = &self.podfactory;
        let mut problems = Vec::new();
        if pf.source == "csv" && !pf.csv_path.is_empty() {
            if let Err(e) = std::fs::File::open(&pf.csv_path) {
                problems.push(format!(
                    "podfactory.csv_path: cannot read {}: {e}",
                    pf.csv_path
                ));
            }
        }
        problems
    }
}

impl NotifySettings {
    /// Everything `rosterd serve`/`run` would refuse at start-up when they
    /// build the notifier (see `notify::Notifier::new`).
    fn validate(&self, problems: &mut Vec<String>) {
        let n = self;
        if !matches!(n.smtp_security.as_str(), "plain" | "starttls" | "tls") {
            problems
                .push("notify.smtp_security: expected \"plain\", \"starttls\" or \"tls\"".into());
        }
        if n.email && n.to.is_empty() && n.recipients.is_empty() {
            problems.push("notify.to: email is on but nobody would receive it".into());
        }
        let known: Vec<&str> = crate::notify::digest::kinds().collect();
        for kind in n.recipients.keys() {
            if !known.contains(&kind.as_str()) {
                problems.push(format!(
                    "notify.recipients.{kind}: unknown kind (known: {})",
                    known.join(", ")
                ));
            }
        }
        if n.email {
            let is_mailbox = |a: &str| a.parse::<lettre::message::Mailbox>().is_ok();
            if !is_mailbox(&n.from) {
                problems.push("notify.from: expected an email address".into());
            }
            let lists = [("to".to_string(), &n.to)].into_iter().chain(
                n.recipients
                    .iter()
                    .map(|(kind, list)| (format!("recipients.{kind}"), list)),
            );
            for (key, list) in lists {
                for (i, addr) in list.iter().enumerate() {
                    if !is_mailbox(addr) {
                        problems.push(format!(
                            "notify.{key}: entry {} is not an email address",
                            i + 1
                        ));
                    }
                }
            }
        }
        // Their URLs often hold a token: say what is wrong, not the value.
        for (key, url) in [
            ("webhook_url", &n.webhook_url),
            ("slack_webhook_url", &n.slack_webhook_url),
        ] {
            let url = url.trim();
            if !url.is_empty()
                && !reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                problems.push(format!("notify.{key}: expected an http:// or https:// URL"));
            }
        }
    }
}

fn section<T: for<'de> Deserialize<'de>>(
    text: &str,
    name: &str,
    value: toml::Value,
    slot: &mut T,
    problems: &mut Vec<String>,
) {
    let Some(table) = value.as_table().cloned() else {
        problems.push(format!(
            "{name}{}: must be a table ([{name}])",
            at_line(text, None, name)
        ));
        return;
    };
    match T::deserialize(value) {
        Ok(v) => *slot = v,
        // serde stops at the first error; try each key alone (every field
        // has a default) to name all the bad ones, then keep the good ones,
        // so a typo in one key does not read as every other key missing.
        Err(_) => {
            let mut good = toml::Table::new();
            for (key, v) in table {
                let one = toml::Value::Table(toml::Table::from_iter([(key.clone(), v.clone())]));
                match T::deserialize(one) {
                    Ok(_) => {
                        good.insert(key, v);
                    }
                    Err(e) => {
                        let at = at_line(text, Some(name), &key);
                        match expected(e.message()) {
                            None => problems.push(format!(
                                "{name}.{key}{at}: unknown key{}",
                                did_you_mean(&key, known_fields(e.message()))
                            )),
                            Some(what) => problems.push(format!("{name}.{key}{at}: {what}")),
                        }
                    }
                }
            }
            if let Ok(v) = T::deserialize(toml::Value::Table(good)) {
                *slot = v;
            }
        }
    }
}

/// ` (did you mean `x`?)` when one of `known` is a likely spelling of
/// `word` (an edit or two away), else nothing.
fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let most = if word.len() > 6 { 2 } else { 1 };
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(word, k), k))
        .filter(|(d, _)| *d <= most)
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// The field names serde lists in an unknown-field message (``unknown
/// field `x`, expected one of `a`, `b` ``): a key's own name, never a value.
fn known_fields(message: &str) -> impl Iterator<Item = &str> {
    message
        .split_once("expected")
        .map_or("", |(_, list)| list)
        .split('`')
        .skip(1)
        .step_by(2)
}

/// A problem with a key that an environment variable set says so (the
/// operator would otherwise look for it in the file): ``reconcile.x: …`` →
/// ``reconcile.x (set by ROSTERD_RECONCILE__X): …``, and when the file sets
/// it too, that the variable's value is the one at fault (it overrides the
/// file's line). Names only, no values.
fn name_env_origin(problem: &mut String, env: &[(String, String)]) {
    let Some(key) = problem.split([':', ' ']).next().filter(|k| k.contains('.')) else {
        return;
    };
    let var = format!(
        "{ENV_PREFIX}{}",
        key.to_ascii_uppercase().replace('.', "__")
    );
    if !env.iter().any(|(k, _)| *k == var) {
        return;
    }
    let after = &problem[key.len()..];
    let line = after
        .strip_prefix(" (line ")
        .and_then(|rest| rest.split_once(')'))
        .map(|(n, _)| n.to_string());
    match line {
        Some(n) => problem.replace_range(
            key.len()..key.len() + " (line )".len() + n.len(),
            &format!(" (set by {var}, which overrides line {n})"),
        ),
        None => problem.insert_str(key.len(), &format!(" (set by {var})")),
    }
}

/// What a serde message says was expected, without the value it quotes
/// (`invalid type: string "hunter2", expected u32`): a config error must not
/// print a value, which can be a secret. `None` for an unknown key.
fn expected(message: &str) -> Option<String> {
    let message = message.trim();
    if message.starts_with("unknown field") {
        return None;
    }
    // serde names the kind first: `invalid type: string "…"`, `integer `7``.
    let found = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split([' ', ',']).next())
        .map(|kind| format!(", found {kind}"))
        .unwrap_or_default();
    // The last "expected": serde's own words come after the value it
    // quotes, and a value may itself contain "expected ".
    let want = match message.rsplit_once("expected ") {
        Some((_, want)) => match want.trim() {
            "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more",
            "f64" | "f32" => "a number",
            "a boolean" => "true or false",
            other if !other.contains('"') => other,
            _ => "a value of another type",
        },
        None => "a value of another type",
    };
    Some(format!("expected {want}{found}"))
}

/// The 1-based line of byte offset `at`.
fn line_at(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted name of the key set on 1-based `line` (`reconcile.keep_plans`),
/// when the line reads `key = …` with a bare key: a syntax error's message
/// may not quote the line (its value can be a secret), but the key is no
/// secret and tells the operator where to look.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let index = line.checked_sub(1)?;
    // A line inside a multi-line string is part of a value (maybe a
    // secret's, `==` and all): no key there.
    let mut open: Option<&str> = None;
    for l in lines.get(..index)? {
        for quotes in ["\"\"\"", "'''"] {
            if open.is_none_or(|o| o == quotes) && l.matches(quotes).count() % 2 == 1 {
                open = if open.is_some() { None } else { Some(quotes) };
            }
        }
    }
    if open.is_some() {
        return None;
    }
    let (key, _) = lines.get(index)?.split_once('=')?;
    let key = key.trim();
    let bare = |k: &str| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if !bare(key) {
        return None;
    }
    let section = lines[..line - 1].iter().rev().find_map(|l| {
        let header = l.trim().strip_prefix('[')?.trim_start_matches('[');
        Some(header.split(']').next().unwrap_or("").trim())
    });
    Some(match section {
        Some(section) if bare(section) => format!("{section}.{key}"),
        _ => key.to_string(),
    })
}

/// ` (line N)` where `section.key` (or a top-level `key`, or the table
/// `[section.key]`) is set in the file; empty when it is not there (an
/// environment override).
fn at_line(text: &str, section: Option<&str>, key: &str) -> String {
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            let header = header.split(']').next().unwrap_or("").trim();
            let table = match section {
                Some(s) => format!("{s}.{key}"),
                None => key.to_string(),
            };
            if header == table {
                return format!(" (line {})", i + 1);
            }
            current = Some(header.to_string());
            continue;
        }
        let here = match (section, &current) {
            (None, None) => true,
            (Some(s), Some(c)) => s == c,
            _ => false,
        };
        let named = line
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if here && named {
            return format!(" (line {})", i + 1);
        }
    }
    String::new()
}

/// The tracing filter for a `log.level` (or `RUST_LOG`) value, with
/// `warning` read as `warn`. Every directive must end in a level: tracing
/// reads a bare word as a target, so `warning` alone would enable only a
/// target named "warning" and silence everything else.
pub fn log_filter(spec: &str) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let bad = || {
        "expected a level (trace, debug, info, warn, error or off) or comma-separated \
         target=level directives, e.g. \"rosterd=debug,info\""
            .to_string()
    };
    let mut out = Vec::new();
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (target, level) = match directive.rsplit_once('=') {
            Some((t, l)) if !t.trim().is_empty() => (Some(t.trim()), l.trim()),
            Some(_) => return Err(bad()),
            None => (None, directive),
        };
        let level = match level.to_ascii_lowercase().as_str() {
            "warning" => "warn".to_string(),
            l if LEVELS.contains(&l) => l.to_string(),
            _ => return Err(bad()),
        };
        out.push(match target {
            Some(t) => format!("{t}={level}"),
            None => level,
        });
    }
    let filter = out.join(",");
    if filter.is_empty()
        || tracing_subscriber::EnvFilter::builder()
            .parse(&filter)
            .is_err()
    {
        return Err(bad());
    }
    Ok(filter)
}

/// Values still as config/rosterd.example.toml ships them
/// (`REPLACE_WITH_CLIENT_ID`) would only fail later, at Auth0.
fn placeholders(table: &toml::Table, prefix: &str, problems: &mut Vec<String>) {
    for (key, value) in table {
        let name = format!("{prefix}{key}");
        match value {
            toml::Value::Table(t) => placeholders(t, &format!("{name}."), problems),
            toml::Value::String(v) => {
                let v = v.to_ascii_lowercase();
                if ["replace_with", "changeme", "change_me", "change-me"]
                    .iter()
                    .any(|p| v.contains(p))
                {
                    problems.push(format!(
                        "{name}: still a placeholder from the example configuration; set the real value"
                    ));
                }
            }
            _ => {}
        }
    }
}

/// `ROSTERD_AUTH0__RATE_PER_SEC=8` sets `auth0.rate_per_sec`. Values are read
/// as TOML (numbers, booleans) and fall back to a plain string.
fn apply_env_override(root: &mut toml::Table, key: &str, value: &str, problems: &mut Vec<String>) {
    let Some(rest) = key.strip_prefix(ENV_PREFIX) else {
        return;
    };
    let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
    if path.len() == 1 && path[0] != "mode" {
        return; // secrets and other single-word variables are not settings
    }
    if path.iter().any(|p| p.is_empty()) || path.len() > 3 {
        problems.push(format!("{key}: malformed override name"));
        return;
    }
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let mut table = root;
    for part in &path[..path.len() - 1] {
        let entry = table
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry.as_table_mut() {
            Some(t) => table = t,
            None => {
                problems.push(format!("{key}: {part} is not a section"));
                return;
            }
        }
    }
    // Environment names are case-insensitive in practice and the path was
    // lowercased, so a map key (an `auth0.roles` role code) replaces the
    // file's key that equals it ignoring case rather than sitting beside it;
    // role-code lookups ignore case, so the lowercased key still matches.
    let last = &path[path.len() - 1];
    let existing = table
        .keys()
        .find(|k| k.eq_ignore_ascii_case(last))
        .cloned()
        .unwrap_or_else(|| last.clone());
    table.insert(existing, parsed);
}

/// `NAME_FILE=/run/secrets/x` reads the secret from a file (Docker/K8s style).
fn secret_from_file(
    env: &[(String, String)],
    name: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    let file_var = format!("{name}_FILE");
    let path = env.iter().find(|(k, _)| *k == file_var).map(|(_, v)| v)?;
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s.trim_end_matches(['\r', '\n']).to_string()),
        Err(e) => {
            problems.push(format!("{file_var}: cannot read {path}: {e}"));
            None
        }
    }
}

/// A database URL: one a driver built in takes, and no password in it (that
/// comes from `secret_var`).
fn check_db_url(key: &'static str, url: &str, secret_var: &str, problems: &mut Vec<String>) {
    if let Err(e) = crate::store::DbUrl::parse(key, url, None) {
        problems.push(e.to_string());
    }
    if crate::store::DbUrl::has_password(url) {
        problems.push(format!(
            "{key}: contains a password; set {secret_var} instead"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const OK: &str = r#"
[auth0]
domain = "acme.eu.auth0.com"
client_id = "abc"
"#;

    #[test]
    fn file_then_env_override_then_secret() {
        let s = Settings::from_sources(
            OK,
            env(&[
                ("ROSTERD_AUTH0__RATE_PER_SEC", "3.5"),
                ("ROSTERD_MODE", "observe"),
                ("ROSTERD_AUTH0_CLIENT_SECRET", "s3cr3t"),
            ]),
        )
        .unwrap();
        assert_eq!(s.auth0.rate_per_sec, 3.5);
        assert_eq!(s.mode, Mode::Observe);
        assert_eq!(s.auth0.client_secret.expose(), "s3cr3t");
        assert_eq!(s.auth0.audience(), "https://acme.eu.auth0.com/api/v2/");
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let text = r#"
mode = "yolo"
colour = "blue"
[database]
url = "postgres://app:hunter2@db/prod"
[auth0]
client_secret = "in-the-file"
rate_per_sec = 0
[reconcile]
max_block_share = 2.0
[podfactory]
rich_metadata = true
[log]
format = "xml"
"#;
        let err = Settings::from_sources(text, env(&[])).unwrap_err();
        let all = err.problems.join("\n");
        for needle in [
            "mode (line 2): expected \"enforce\" or \"observe\"",
            "colour (line 3): unknown key",
            "database.url: contains a password",
            "auth0.client_secret: secrets are read only from the environment",
            "auth0.domain: required",
            "auth0.client_id: required",
            "auth0.rate_per_sec",
            "reconcile.max_block_share",
            "podfactory.rich_metadata: needs a PodFactory source",
            "log.format",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert!(!all.contains("hunter2"), "password leaked into errors");
    }

    #[test]
    fn import_settings_beyond_what_auth0_accepts_are_named() {
        let s = Settings::from_sources(OK, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "x")])).unwrap();
        assert_eq!(
            (s.auth0.bulk_import_threshold, s.auth0.import_concurrency),
            (100, 2)
        );
        let text = format!(
            "{OK}bulk_import_threshold = 0\nimport_concurrency = 3\nimport_file_bytes = 600000\nimport_timeout_secs = 0\n"
        );
        let err = Settings::from_sources(&text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "x")]))
            .unwrap_err();
        let all = err.problems.join("\n");
        for needle in [
            "auth0.import_concurrency: must be 1 or 2",
            "auth0.import_file_bytes: must be between 1 and 500000",
            "auth0.import_timeout_secs: must be at least 1",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert!(
            !all.contains("bulk_import_threshold"),
            "0 turns bulk off: {all}"
        );
    }

    #[test]
    #[cfg(feature = "mysql")]
    fn database_urls_are_checked_under_their_own_key() {
        for (table, needle) in [
            (
                "[database]\nurl = \"mysql://app@db:99999/hr\"",
                "database.url: not a valid URL",
            ),
            (
                "[podfactory]\nsource = \"database\"\nurl = \"mariadb://pf:hunter2@db/pf\"",
                "podfactory.url: contains a password; set ROSTERD_PODFACTORY_PASSWORD instead",
            ),
            (
                "[podfactory]\nsource = \"database\"\nurl = \"hunter2\"",
                "podfactory.url: expected a postgres://, mysql:// (or mariadb://) or sqlite:// URL",
            ),
        ] {
            let text = format!("{OK}\n{table}\n");
            let err = Settings::from_sources(&text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")]))
                .unwrap_err();
            let all = err.problems.join("\n");
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
            assert!(!all.contains("hunter2"), "password leaked into errors");
        }
    }

    #[test]
    fn env_override_of_a_role_code_replaces_the_files_key_whatever_its_case() {
        let text = format!("{OK}\n[auth0.roles]\nHEAT_PRESS = \"Heat Press Operator\"\n");
        let s = Settings::from_sources(
            &text,
            env(&[
                ("ROSTERD_AUTH0_CLIENT_SECRET", "s"),
                ("ROSTERD_AUTH0__ROLES__HEAT_PRESS", "Press Operator"),
                ("ROSTERD_AUTH0__ROLES__QC", "QC Inspector"),
            ]),
        )
        .unwrap();
        assert_eq!(s.auth0.roles.len(), 2, "{:?}", s.auth0.roles);
        assert_eq!(
            s.auth0.roles.get("HEAT_PRESS").map(String::as_str),
            Some("Press Operator")
        );
        // A key only the environment names arrives lowercased; role codes
        // compare case-insensitively, so it still maps QC.
        let roles = crate::plan::RoleResolver::new(
            &s.auth0.roles,
            vec![("QC Inspector".into(), "rol_qc".into())],
        );
        assert_eq!(roles.id("QC"), Ok(Some("rol_qc")));
    }

    #[test]
    fn role_codes_differing_only_in_case_are_a_config_error() {
        let text = format!("{OK}\n[auth0.roles]\nQC = \"A\"\nqc = \"B\"\n");
        let err = Settings::from_sources(&text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")]))
            .unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|p| p.contains("auth0.roles") && p.contains("QC")),
            "{:?}",
            err.problems
        );
    }

    #[test]
    fn a_typo_in_one_key_is_the_only_problem_reported() {
        let text =
            "[auth0]\ndomain = \"t.example.com\"\nclient_id = \"abc\"\nrate_per_second = 14.0\n";
        let e =
            Settings::from_sources(text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")])).unwrap_err();
        assert_eq!(e.problems.len(), 1, "{:?}", e.problems);
        assert!(
            e.problems[0].starts_with("auth0.rate_per_second (line 4): unknown key"),
            "{:?}",
            e.problems
        );
    }

    /// A misspelt key says which key was meant, and one an environment
    /// variable set says which variable (the file does not have it).
    #[test]
    fn a_typo_says_what_was_meant_and_where_it_came_from() {
        let text = "[auth0]\ndomain = \"t.example.com\"\nclient_id = \"abc\"\n[podfactroy]\nsource = \"csv\"\n";
        let e = Settings::from_sources(
            text,
            env(&[
                ("ROSTERD_AUTH0_CLIENT_SECRET", "s"),
                ("ROSTERD_RECONCILE__MAX_BLOK_COUNT", "5"),
            ]),
        )
        .unwrap_err();
        let all = e.problems.join("\n");
        assert!(
            all.contains("podfactroy (line 4): unknown key (did you mean `podfactory`?)"),
            "{all}"
        );
        assert!(
            all.contains(
                "reconcile.max_blok_count (set by ROSTERD_RECONCILE__MAX_BLOK_COUNT): unknown key (did you mean `max_block_count`?)"
            ),
            "{all}"
        );
        // Nothing near enough: no guess.
        assert_eq!(did_you_mean("colour", ["mode", "database"]), "");
    }

    #[test]
    fn unknown_key_inside_a_section_names_it() {
        let text = format!("{OK}\nclient_secrte = \"x\"\n");
        let err = Settings::from_sources(&text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")]))
            .unwrap_err();
        assert!(err.problems[0].starts_with("auth0."), "{:?}", err.problems);
        assert!(
            err.problems[0].contains("client_secrte"),
            "{:?}",
            err.problems
        );
    }

    #[test]
    #[cfg(feature = "postgres")] // the example's database
    fn the_documented_example_is_valid_once_its_placeholder_is_set() {
        let text = include_str!("../../../../config/rosterd.example.toml");
        let err =
            Settings::from_sources(text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")])).unwrap_err();
        assert_eq!(
            err.problems,
            ["auth0.client_id: still a placeholder from the example configuration; set the real value"]
        );
        let s = Settings::from_sources(
            text,
            env(&[
                ("ROSTERD_AUTH0_CLIENT_SECRET", "s"),
                ("ROSTERD_AUTH0__CLIENT_ID", "m2m-client"),
            ]),
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Observe);
        assert_eq!(
            s.auth0.roles.get("PICKER").map(String::as_str),
            Some("Picker")
        );
        // The example spells out the matcher's defaults; keep them equal.
        assert_eq!(
            s.podfactory.match_settings(),
            PodFactorySettings::default().match_settings()
        );
    }

    #[test]
    fn secret_from_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        std::fs::write(&p, "from-file\n").unwrap();
        let s = Settings::from_sources(
            OK,
            env(&[("ROSTERD_AUTH0_CLIENT_SECRET_FILE", p.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(s.auth0.client_secret.expose(), "from-file");
    }

    fn problems(text: &str, vars: &[(&str, &str)]) -> String {
        let mut all = vec![("ROSTERD_AUTH0_CLIENT_SECRET", "s")];
        all.extend_from_slice(vars);
        match Settings::from_sources(text, env(&all)) {
            Ok(_) => String::new(),
            Err(e) => e.problems.join("\n"),
        }
    }

    #[test]
    fn a_log_level_must_be_a_level_and_warning_means_warn() {
        let with = |level: &str| format!("{OK}[log]\nlevel = \"{level}\"\n");
        let s = Settings::from_sources(
            &with("warning"),
            env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")]),
        )
        .unwrap();
        assert_eq!(s.log.level, "warn");
        let s = Settings::from_sources(
            &with("rosterd=Debug, info"),
            env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")]),
        )
        .unwrap();
        assert_eq!(s.log.level, "rosterd=debug,info");
        for bad in ["verbose", "warnings", "rosterd", "=info", ""] {
            let all = problems(&with(bad), &[]);
            assert!(
                all.starts_with("log.level (line 6): expected a level"),
                "{bad:?}: {all}"
            );
        }
        let all = problems(OK, &[("RUST_LOG", "warninng")]);
        assert!(all.starts_with("RUST_LOG: expected a level"), "{all}");
    }

    #[test]
    fn a_value_containing_expected_is_not_echoed() {
        let problem =
            expected(r#"invalid type: string "x expected hunter2", expected u64"#).unwrap();
        assert!(!problem.contains("hunter2"), "{problem}");
        assert_eq!(
            problem,
            "expected a whole number of 0 or more, found string"
        );
    }

    #[test]
    fn config_errors_name_key_and_line_but_never_the_value() {
        let secret = "sk_live_9f8e7d6c5b4a";
        // A syntax error: the unterminated string of a misplaced secret.
        let text = format!("{OK}client_secret = \"{secret}\n");
        let all = problems(&text, &[]);
        assert!(all.starts_with("TOML syntax error at line 5"), "{all}");
        // A number too large for any integer names its key, not its value.
        let text =
            "[auth0]\ndomain = \"t.example.com\"\n[reconcile]\nkeep_plans = 99999999999999999999\n";
        let all = problems(text, &[]);
        assert!(
            all.starts_with("TOML syntax error at line 4 (reconcile.keep_plans): "),
            "{all}"
        );
        assert!(!all.contains("99999"), "{all}");
        // Inside a multi-line string a line is value, whatever it holds.
        let text = format!("[auth0]\nclient_secret = \"\"\"\n{secret}==\\q\"\"\"\n");
        let all = problems(&text, &[]);
        assert!(all.starts_with("TOML syntax error at line 3:"), "{all}");
        assert!(!all.contains(secret), "{all}");
        assert!(!all.contains(secret), "{all}");
        // Type errors, in the file and from an environment override.
        let text = format!("{OK}timeout_secs = \"{secret}\"\n[serve]\nlisten = [\"{secret}\"]\n");
        let all = problems(&text, &[("ROSTERD_NOTIFY__SMTP_PORT", secret)]);
        for needle in [
            "auth0.timeout_secs (line 5): expected a whole number of 0 or more, found string",
            "serve.listen (line 7): expected a string, found sequence",
            "notify.smtp_port (set by ROSTERD_NOTIFY__SMTP_PORT): expected a whole number of 0 or more, found string",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert!(!all.contains(secret), "{all}");
        // A variable over a good value in the file: the variable is at fault.
        let text = format!("{OK}timeout_secs = 30\n");
        let all = problems(&text, &[("ROSTERD_AUTH0__TIMEOUT_SECS", secret)]);
        assert!(
            all.contains("auth0.timeout_secs (set by ROSTERD_AUTH0__TIMEOUT_SECS, which overrides line 5): expected a whole number"),
            "{all}"
        );
        // Bad values of the right type.
        let text = format!(
            "mode = \"{secret}\"\n{OK}base_url = \"{secret}\"\n[database]\nurl = \"{secret}\"\n\
             [notify]\nwebhook_url = \"{secret}\"\n[log]\nformat = \"{secret}\"\n"
        );
        let all = problems(&text, &[]);
        for needle in [
            "mode (line 1): expected",
            "auth0.base_url: expected an http:// or https:// URL",
            "database.url: expected a postgres://",
            "notify.webhook_url: expected an http:// or https:// URL",
            "log.format: expected",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert!(!all.contains(secret), "{all}");
    }

    #[test]
    fn a_schedule_the_scheduler_would_refuse_is_a_config_error() {
        let with = |cron: &str| format!("{OK}[serve]\nschedule = \"{cron}\"\n");
        for bad in ["61 * * * * *", "0 0 25 * * *", "0 */15 * * * MON-XYZ"] {
            let all = problems(&with(bad), &[]);
            assert!(
                all.starts_with("serve.schedule: not a valid cron expression"),
                "{bad:?}: {all}"
            );
        }
        assert_eq!(problems(&with("*/5 * * * *"), &[]), "");
        assert_eq!(problems(&with("0 0 6 * * MON-FRI"), &[]), "");
        // Valid cron that never comes: serve would wait forever.
        for never in ["0 0 0 * * * 2020", "0 0 0 30 2 *"] {
            assert_eq!(
                problems(&with(never), &[]),
                "serve.schedule: matches no time from now on (a past year, or a day the month does not have)",
                "{never:?}"
            );
        }
    }

    #[test]
    fn placeholders_and_an_api_path_in_base_url_are_refused() {
        let text =
            "[auth0]\ndomain = \"acme.eu.auth0.com\"\nclient_id = \"REPLACE_WITH_CLIENT_ID\"\n\
                    base_url = \"https://acme.eu.auth0.com/api/v2/\"\n\
                    [serve]\njwt_audience = \"changeme\"\n";
        let all = problems(text, &[]);
        for needle in [
            "auth0.client_id: still a placeholder",
            "serve.jwt_audience: still a placeholder",
            "auth0.base_url: expected the tenant's root URL without /api/v2",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        let all = problems(
            "[auth0]\ndomain = \"https://acme.eu.auth0.com/\"\nclient_id = \"x\"\n",
            &[("ROSTERD_AUTH0__BASE_URL", "http://127.0.0.1:4100/api/v2")],
        );
        assert!(
            all.contains("auth0.domain: expected the tenant's host name alone"),
            "{all}"
        );
        assert!(
            all.contains(
                "auth0.base_url (set by ROSTERD_AUTH0__BASE_URL): expected the tenant's root URL"
            ),
            "{all}"
        );
    }

    #[test]
    fn notify_settings_refused_at_start_are_refused_by_check_config() {
        let text = format!(
            "{OK}[notify]\nemail = true\nfrom = \"not an address\"\nto = [\"oncall@example.com\", \"x@\"]\n\
             [notify.recipients]\nunmatched = [\"pf@example.com\"]\n"
        );
        let all = problems(&text, &[]);
        for needle in [
            "notify.recipients.unmatched: unknown kind (known: held_run,",
            "notify.from: expected an email address",
            "notify.to: entry 2 is not an email address",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    #[test]
    fn check_files_refuses_a_missing_podfactory_csv() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("users.csv");
        let text = format!(
            "{OK}[podfactory]\nsource = \"csv\"\ncsv_path = \"{}\"\n",
            csv.display()
        );
        let s =
            Settings::from_sources(&text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")])).unwrap();
        let problems = s.check_files();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("podfactory.csv_path: cannot read"),
            "{problems:?}"
        );
        std::fs::write(&csv, "id,name,email,user_role\n").unwrap();
        assert!(s.check_files().is_empty());
    }
}
