//! Typed settings: a TOML file, then `ROSTERD_SECTION__KEY` environment
//! overrides, then secrets from the environment only.
//!
//! Loading never stops at the first problem: [`Settings::load`] collects every
//! unknown key, wrong type and bad value with the key's dotted name, so
//! `rosterd check-config` can list them all at once. Secrets live in
//! [`Secret`], whose `Debug` and `Display` print `[redacted]`, so a settings
//! dump in a log line cannot leak them.

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
    /// Requests per second rosterd allows itself; keep it below the
    /// tenant's limit so that other Management API users keep headroom.
    pub rate_per_sec: f64,
    pub burst: u32,
    /// Attempts per request before giving up (429, 5xx, timeouts).
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_cap_ms: u64,
    pub timeout_secs: u64,
    /// Actions applied at once; the rate limiter still bounds throughput.
    pub concurrency: usize,
    pub export_poll_ms: u64,
    pub export_timeout_secs: u64,
    /// Employee `role_code` → Auth0 role name. A code with no entry is
    /// looked up as a role name itself (case-insensitively).
    pub roles: BTreeMap<String, String>,
    #[serde(skip)]
    pub client_secret: Secret,
}

impl Default for Auth0Settings {
    fn default() -> Self {
        Auth0Settings {
            domain: String::new(),
            base_url: None,
            client_id: String::new(),
            audience: None,
            connection: "Username-Password-Authentication".into(),
            // Auth0's self-service production limit is 16 rps sustained.
            rate_per_sec: 12.0,
            burst: 10,
            max_attempts: 6,
            backoff_base_ms: 250,
            backoff_cap_ms: 30_000,
            timeout_secs: 30,
            concurrency: 8,
            export_poll_ms: 1000,
            export_timeout_secs: 900,
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
        }
    }
}

impl ServeSettings {
    /// The schedule as the six-field form the scheduler wants.
    pub fn six_field_schedule(&self) -> Result<String, String> {
        let fields = self.schedule.split_whitespace().count();
        match fields {
            6 | 7 => Ok(self.schedule.trim().to_string()),
            5 => Ok(format!("0 {}", self.schedule.trim())),
            n => Err(format!(
                "serve.schedule: {n} fields in {:?}; use six-field cron \"sec min hour day-of-month month day-of-week\", e.g. \"0 */15 * * * *\"",
                self.schedule
            )),
        }
    }
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
    /// With `source = "csv"`: a file with the header `id,name,email,user_role`.
    pub csv_path: String,
    /// Station markers in login emails (`john.doe.shp@…`, `john.doe.shp2@…`,
    /// `shp.john.doe@…`).
    pub station_suffixes: Vec<String>,
    /// A name match needs at least this score (0–1)…
    pub accept_threshold: f64,
    /// …and this lead over the runner-up.
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
const SECTIONS: [&str; 7] = [
    "database",
    "auth0",
    "reconcile",
    "podfactory",
    "serve",
    "notify",
    "log",
];

/// Environment variables that carry secrets, and where they go.
pub const SECRET_VARS: [&str; 6] = [
    "ROSTERD_AUTH0_CLIENT_SECRET",
    "ROSTERD_DATABASE_PASSWORD",
    "ROSTERD_ADMIN_TOKENS",
    "ROSTERD_WEBHOOK_SECRET",
    "ROSTERD_SMTP_PASSWORD",
    "ROSTERD_PODFACTORY_PASSWORD",
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
        let mut root: toml::Table = match toml_text.parse() {
            Ok(t) => t,
            Err(e) => {
                return Err(ConfigError {
                    problems: vec![format!("TOML syntax: {e}")],
                })
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

        // Deserialize section by section so one bad section does not hide
        // the problems of the others.
        let mut settings = Settings::default();
        for (key, value) in root {
            match key.as_str() {
                "mode" => match Mode::deserialize(value) {
                    Ok(m) => settings.mode = m,
                    Err(e) => {
                        problems.push(format!("mode: {e} (expected \"enforce\" or \"observe\")"))
                    }
                },
                "database" => section(&key, value, &mut settings.database, &mut problems),
                "auth0" => section(&key, value, &mut settings.auth0, &mut problems),
                "reconcile" => section(&key, value, &mut settings.reconcile, &mut problems),
                "podfactory" => section(&key, value, &mut settings.podfactory, &mut problems),
                "serve" => section(&key, value, &mut settings.serve, &mut problems),
                "notify" => section(&key, value, &mut settings.notify, &mut problems),
                "log" => section(&key, value, &mut settings.log, &mut problems),
                other => problems.push(format!(
                    "{other}: unknown key (known: mode, {})",
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

        settings.validate(&mut problems);
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError { problems })
        }
    }

    fn validate(&self, problems: &mut Vec<String>) {
        let db = &self.database;
        check_db_url("database.url", &db.url, SECRET_VARS[1], problems);
        if db.max_connections == 0 {
            problems.push("database.max_connections: must be at least 1".into());
        }
        let a = &self.auth0;
        if a.domain.is_empty() && a.base_url.is_none() {
            problems.push("auth0.domain: required (or auth0.base_url for a simulator)".into());
        }
        if let Some(url) = &a.base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!("auth0.base_url: {url:?} is not an http(s) URL"));
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
        let sv = &self.serve;
        if let Err(e) = sv.six_field_schedule() {
            problems.push(e);
        }
        if sv.timezone.parse::<chrono_tz::Tz>().is_err() {
            problems.push(format!(
                "serve.timezone: {:?} is not an IANA time zone",
                sv.timezone
            ));
        }
        if sv.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!("serve.listen: {:?} is not host:port", sv.listen));
        }
        if !matches!(sv.credentials.as_str(), "password" | "ticket") {
            problems.push(format!(
                "serve.credentials: {:?} (expected \"password\" or \"ticket\")",
                sv.credentials
            ));
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
                problems.push(format!(
                    "serve.jwt_issuer: {issuer:?} is not an https:// (or http://) URL, e.g. \"https://acme.eu.auth0.com/\""
                ));
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
        let jwks = sv.jwt_jwks_url.trim();
        if !jwks.is_empty() && !http_url(jwks) {
            problems.push(format!(
                "serve.jwt_jwks_url: {jwks:?} is not an https:// (or http://) URL"
            ));
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
            other => problems.push(format!(
                "podfactory.source: {other:?} (expected \"none\", \"database\" or \"csv\")"
            )),
        }
        if !(0.0..=1.0).contains(&pf.accept_threshold) || !(0.0..=1.0).contains(&pf.margin) {
            problems.push("podfactory.accept_threshold and margin: must be between 0 and 1".into());
        }
        let n = &self.notify;
        if !matches!(n.smtp_security.as_str(), "plain" | "starttls" | "tls") {
            problems.push(format!(
                "notify.smtp_security: {:?} (expected \"plain\", \"starttls\" or \"tls\")",
                n.smtp_security
            ));
        }
        if n.email && n.to.is_empty() && n.recipients.is_empty() {
            problems.push("notify.to: email is on but nobody would receive it".into());
        }
        for addr in
            n.to.iter()
                .chain(n.recipients.values().flatten())
                .chain([&n.from])
        {
            if crate::model::Email::parse(addr).is_err() && n.email {
                problems.push(format!("notify: {addr:?} is not an email address"));
            }
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            problems.push(format!(
                "log.format: {:?} (expected \"text\" or \"json\")",
                self.log.format
            ));
        }
    }
}

fn section<T: for<'de> Deserialize<'de>>(
    name: &str,
    value: toml::Value,
    slot: &mut T,
    problems: &mut Vec<String>,
) {
    let Some(table) = value.as_table().cloned() else {
        problems.push(format!("{name}: must be a table ([{name}])"));
        return;
    };
    match T::deserialize(value) {
        Ok(v) => *slot = v,
        // serde stops at the first error; try each key alone (every field
        // has a default) to name all the bad ones.
        Err(_) => {
            for (key, v) in table {
                let one = toml::Value::Table(toml::Table::from_iter([(key.clone(), v)]));
                if let Err(e) = T::deserialize(one) {
                    let msg = e.message().trim().to_string();
                    if msg.starts_with("unknown field") {
                        problems.push(format!("{name}.{key}: unknown key"));
                    } else {
                        problems.push(format!("{name}.{key}: {msg}"));
                    }
                }
            }
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

/// A database URL: a scheme rosterd speaks, and no password in it (that
/// comes from `secret_var`).
fn check_db_url(key: &str, url: &str, secret_var: &str, problems: &mut Vec<String>) {
    let scheme = url.split("://").next().unwrap_or("");
    if !matches!(
        scheme,
        "postgres" | "postgresql" | "mysql" | "mariadb" | "sqlite"
    ) {
        problems.push(format!(
            "{key}: unsupported scheme {scheme:?} (use postgres://, mysql:// or sqlite://)"
        ));
    }
    if url_has_password(url) {
        problems.push(format!(
            "{key}: contains a password; set {secret_var} instead"
        ));
    }
}

fn url_has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
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
            "mode:",
            "colour: unknown key",
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
    fn the_documented_example_is_valid() {
        let text = include_str!("../config/rosterd.example.toml");
        let s = Settings::from_sources(text, env(&[("ROSTERD_AUTH0_CLIENT_SECRET", "s")])).unwrap();
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
}
