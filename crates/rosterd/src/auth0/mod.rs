//! Auth0 Management API v2 client: the calls rosterd makes, and nothing else.
//!
//! Every request goes through one path ([`Auth0Client::call`]): wait for the
//! rate limiter (which learns the tenant's limit from the answers), attach the cached token (fetched once, shared, refreshed a
//! minute before expiry), send, read the `x-ratelimit-*` headers, and retry
//! 429, 5xx, 408 and transport failures with capped exponential backoff and
//! full jitter. Errors name the endpoint and the status; request bodies
//! (which carry passwords and the client secret) never reach an error.

mod export;
pub mod import;
pub mod ratelimit;
mod wire;

use crate::config::{Auth0Settings, Secret};
use crate::metrics::Metrics;
use crate::model::{Auth0User, Auth0UserId, Email};
use rand::Rng;
use ratelimit::{until_unix, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub use wire::user_from_json;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Auth0Error {
    /// Auth0 answered with an error status.
    #[error("{endpoint}: HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api {
        endpoint: &'static str,
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// No answer: connection refused or dropped, timeout.
    #[error("{endpoint}: {detail}")]
    Transport {
        endpoint: &'static str,
        detail: String,
    },
    /// An answer rosterd cannot read.
    #[error("{endpoint}: unexpected response: {detail}")]
    Protocol {
        endpoint: &'static str,
        detail: String,
    },
}

impl Auth0Error {
    pub fn status(&self) -> Option<u16> {
        match self {
            Auth0Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// A short label for metrics and the actions table.
    pub fn label(&self) -> &'static str {
        match self {
            Auth0Error::Api { status: 409, .. } => "conflict",
            Auth0Error::Api { status: 429, .. } => "rate_limited",
            Auth0Error::Api {
                status: 400..=499, ..
            } => "rejected",
            Auth0Error::Api { .. } => "server_error",
            Auth0Error::Transport { .. } => "transport",
            Auth0Error::Protocol { .. } => "protocol",
        }
    }
}

type Result<T> = std::result::Result<T, Auth0Error>;

/// A role in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
}

/// What a new account is made of (see SPEC, "create"), whether it is
/// created by one call or by an import job.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub app_metadata: Value,
    pub user_metadata: Value,
}

impl NewUser<'_> {
    /// The account's profile, the fields a create and an import entry share
    /// (no connection, no password).
    fn profile(&self) -> serde_json::Map<String, Value> {
        let mut body = serde_json::Map::new();
        body.insert("email".into(), json!(self.email.as_str()));
        // The HR record is the verification: no verification mail.
        body.insert("email_verified".into(), json!(true));
        body.insert("app_metadata".into(), self.app_metadata.clone());
        body.insert("user_metadata".into(), self.user_metadata.clone());
        // Auth0 wants a non-empty value or no field at all (a name the
        // policy ignores is empty); longer names were refused at load
        // (model::RawEmployee::validate), as for updates.
        for (key, value) in [
            ("name", self.name),
            ("given_name", self.given_name),
            ("family_name", self.family_name),
        ] {
            if !value.is_empty() {
                body.insert(key.into(), json!(value));
            }
        }
        body
    }
}

#[derive(Debug, Clone)]
struct CachedToken {
    value: Secret,
    refresh_at: Instant,
}

#[derive(Clone)]
pub struct Auth0Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    audience: String,
    client_id: String,
    client_secret: Secret,
    connection: String,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    limiter: RateLimiter,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
    export_poll: Duration,
    export_timeout: Duration,
    import_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Auth0Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth0Client")
            .field("base", &self.inner.base)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

impl Auth0Client {
    pub fn new(s: &Auth0Settings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(s.timeout_secs))
            .connect_timeout(Duration::from_secs(s.timeout_secs.min(10)))
            .user_agent(concat!("rosterd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Auth0Client {
            inner: Arc::new(Inner {
                http,
                base: s.base_url(),
                audience: s.audience(),
                client_id: s.client_id.clone(),
                client_secret: s.client_secret.clone(),
                connection: s.connection.clone(),
                token: tokio::sync::Mutex::new(None),
                limiter: RateLimiter::new(s.rate_per_sec, s.burst, s.concurrency),
                max_attempts: s.max_attempts,
                backoff_base: Duration::from_millis(s.backoff_base_ms),
                backoff_cap: Duration::from_millis(s.backoff_cap_ms),
                export_poll: Duration::from_millis(s.export_poll_ms),
                export_timeout: Duration::from_secs(s.export_timeout_secs),
                import_timeout: Duration::from_secs(s.import_timeout_secs),
                metrics,
            }),
        })
    }

    pub fn connection(&self) -> &str {
        &self.inner.connection
    }

    /// A valid access token; one fetch at a time, shared by all callers.
    async fn token(&self) -> Result<Secret> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if Instant::now() < t.refresh_at {
                return Ok(t.value.clone());
            }
        }
        const EP: &str = "POST /oauth/token";
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.inner.client_id,
            "client_secret": self.inner.client_secret.expose(),
            "audience": self.inner.audience,
        });
        let url = format!("{}/oauth/token", self.inner.base);
        let resp = self
            .send_with_retry(EP, || self.inner.http.post(&url).json(&body))
            .await?;
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: String,
            expires_in: u64,
        }
        let t: TokenResponse = read_json(EP, resp).await?;
        // Refresh a minute early (or halfway, for very short tokens) so a
        // token never expires between the check and the call.
        let margin = Duration::from_secs(60).min(Duration::from_secs(t.expires_in) / 2);
        let value = Secret::new(t.access_token);
        *slot = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + Duration::from_secs(t.expires_in) - margin,
        });
        Ok(value)
    }

    async fn forget_token(&self) {
        *self.inner.token.lock().await = None;
    }

    /// One authenticated Management API call, rate limited and retried.
    /// Returns the response of any status that is not retryable; callers
    /// turn non-2xx into errors with [`expect_ok`].
    async fn call(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<reqwest::Response> {
        self.call_with(endpoint, method, path, query, |rb| match body {
            Some(b) => rb.json(b),
            None => rb,
        })
        .await
    }

    /// [`call`](Self::call) with a body of any kind (an import's multipart
    /// form): `attach` adds it to each attempt.
    async fn call_with(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        attach: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{}", self.inner.base, path);
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            let resp = self
                .send_with_retry(endpoint, || {
                    attach(
                        self.inner
                            .http
                            .request(method.clone(), &url)
                            .bearer_auth(token.expose())
                            .query(query),
                    )
                })
                .await?;
            // An expired or revoked token: fetch a new one once.
            if resp.status() == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                self.forget_token().await;
                continue;
            }
            return Ok(resp);
        }
    }

    async fn send_with_retry(
        &self,
        endpoint: &'static str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let ticket = self.inner.limiter.acquire().await;
            let m = &self.inner.metrics;
            let started = Instant::now();
            let outcome = build().send().await;
            m.auth0_request_duration
                .with_label_values(&[endpoint])
                .observe(started.elapsed().as_secs_f64());
            if let Ok(resp) = &outcome {
                self.inner.limiter.observe(
                    &ticket,
                    Quota {
                        limit: header_u64(resp, "x-ratelimit-limit"),
                        remaining: header_u64(resp, "x-ratelimit-remaining"),
                        reset: header_u64(resp, "x-ratelimit-reset"),
                        refused: resp.status() == StatusCode::TOO_MANY_REQUESTS,
                    },
                );
            }
            // The slot is free once the answer is in: not during a retry's wait.
            drop(ticket);
            let last = attempt >= self.inner.max_attempts;
            let wait = match outcome {
                Ok(resp) => {
                    let remaining = header_u64(&resp, "x-ratelimit-remaining");
                    let reset = header_u64(&resp, "x-ratelimit-reset");
                    if let Some(r) = remaining {
                        m.auth0_ratelimit_remaining.set(r as i64);
                    }
                    let status = resp.status();
                    m.auth0_requests
                        .with_label_values(&[endpoint, status.as_str()])
                        .inc();
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::REQUEST_TIMEOUT
                        || status.is_server_error();
                    if !retryable || last {
                        return Ok(resp);
                    }
                    let backoff = self.backoff(attempt);
                    let reason = if status == StatusCode::TOO_MANY_REQUESTS {
                        "rate_limited"
                    } else {
                        "server_error"
                    };
                    m.auth0_retries.with_label_values(&[endpoint, reason]).inc();
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        // The tenant knows when the bucket refills.
                        let until_reset = header_u64(&resp, "retry-after")
                            .map(Duration::from_secs)
                            .or_else(|| reset.map(until_unix))
                            .unwrap_or(backoff)
                            .min(self.inner.backoff_cap);
                        self.inner.limiter.pause_for(until_reset);
                        until_reset.max(backoff / 4)
                    } else {
                        backoff
                    }
                }
                Err(e) => {
                    m.auth0_requests
                        .with_label_values(&[endpoint, "error"])
                        .inc();
                    if last {
                        return Err(Auth0Error::Transport {
                            endpoint,
                            detail: format!("{} (after {attempt} attempts)", describe(&e)),
                        });
                    }
                    m.auth0_retries
                        .with_label_values(&[endpoint, "transport"])
                        .inc();
                    self.backoff(attempt)
                }
            };
            tracing::debug!(
                endpoint,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Full jitter: uniform in [0, min(cap, base·2^attempt)].
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .inner
            .backoff_base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.inner.backoff_cap);
        let ms = exp.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms.max(1)))
    }

    /// Create an account in the configured connection; returns its id.
    /// A 409 comes back as `Auth0Error::Api { status: 409, .. }`.
    pub async fn create_user(&self, u: &NewUser<'_>, password: &Secret) -> Result<Auth0UserId> {
        const EP: &str = "POST /api/v2/users";
        let mut body = u.profile();
        body.insert("connection".into(), json!(self.inner.connection));
        body.insert("password".into(), json!(password.expose()));
        body.insert("verify_email".into(), json!(false));
        let body = Value::Object(body);
        let resp = self
            .call(EP, Method::POST, "/api/v2/users", &[], Some(&body))
            .await?;
        let v: Value = read_json(EP, resp).await?;
        v["user_id"]
            .as_str()
            .map(|s| Auth0UserId(s.to_string()))
            .ok_or_else(|| protocol(EP, "created user has no user_id"))
    }

    /// Accounts with this email (immediately consistent, unlike search).
    pub async fn users_by_email(&self, email: &Email) -> Result<Vec<Auth0User>> {
        const EP: &str = "GET /api/v2/users-by-email";
        let resp = self
            .call(
                EP,
                Method::GET,
                "/api/v2/users-by-email",
                &[("email", email.as_str().to_string())],
                None,
            )
            .await?;
        let v: Vec<Value> = read_json(EP, resp).await?;
        v.iter()
            .map(|u| user_from_json(u).map_err(|e| protocol(EP, e)))
            .collect()
    }

    /// Accounts whose `app_metadata.employee_id` is `employee_id` (user
    /// search: eventually consistent, fine for one employee's page).
    pub async fn users_with_employee_id(&self, employee_id: i64) -> Result<Vec<Auth0User>> {
        const EP: &str = "GET /api/v2/users";
        let query = [
            ("q", format!("app_metadata.employee_id:{employee_id}")),
            ("search_engine", "v3".to_string()),
            ("per_page", "10".to_string()),
        ];
        let resp = self
            .call(EP, Method::GET, "/api/v2/users", &query, None)
            .await?;
        let v: Vec<Value> = read_json(EP, resp).await?;
        v.iter()
            .map(|u| user_from_json(u).map_err(|e| protocol(EP, e)))
            .collect()
    }

    pub async fn get_user(&self, id: &Auth0UserId) -> Result<Auth0User> {
        const EP: &str = "GET /api/v2/users/{id}";
        let path = format!("/api/v2/users/{}", encode_segment(&id.0));
        let resp = self.call(EP, Method::GET, &path, &[], None).await?;
        let v: Value = read_json(EP, resp).await?;
        user_from_json(&v).map_err(|e| protocol(EP, e))
    }

    pub async fn patch_user(&self, id: &Auth0UserId, body: &Value) -> Result<()> {
        const EP: &str = "PATCH /api/v2/users/{id}";
        let path = format!("/api/v2/users/{}", encode_segment(&id.0));
        let resp = self.call(EP, Method::PATCH, &path, &[], Some(body)).await?;
        expect_ok(EP, resp).await.map(drop)
    }

    /// Set a new password on a database-connection account.
    pub async fn set_password(&self, id: &Auth0UserId, password: &Secret) -> Result<()> {
        let body = json!({ "password": password.expose(), "connection": self.inner.connection });
        self.patch_user(id, &body).await
    }

    /// A password-change ticket URL the employee opens to set a password.
    pub async fn password_change_ticket(&self, id: &Auth0UserId, ttl_secs: u64) -> Result<String> {
        const EP: &str = "POST /api/v2/tickets/password-change";
        let body = json!({ "user_id": id.0, "ttl_sec": ttl_secs, "mark_email_as_verified": true });
        let resp = self
            .call(
                EP,
                Method::POST,
                "/api/v2/tickets/password-change",
                &[],
                Some(&body),
            )
            .await?;
        let v: Value = read_json(EP, resp).await?;
        v["ticket"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| protocol(EP, "no ticket in the answer"))
    }

    /// All roles in the tenant (paged, 100 at a time).
    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        const EP: &str = "GET /api/v2/roles";
        let mut roles = Vec::new();
        for page in 0.. {
            let resp = self
                .call(
                    EP,
                    Method::GET,
                    "/api/v2/roles",
                    &[("per_page", "100".into()), ("page", page.to_string())],
                    None,
                )
                .await?;
            let batch: Vec<Role> = read_json(EP, resp).await?;
            let done = batch.len() < 100;
            roles.extend(batch);
            if done {
                break;
            }
        }
        Ok(roles)
    }

    pub async fn assign_roles(&self, user: &Auth0UserId, role_ids: &[String]) -> Result<()> {
        self.user_roles(
            user,
            role_ids,
            Method::POST,
            "POST /api/v2/users/{id}/roles",
        )
        .await
    }

    pub async fn remove_roles(&self, user: &Auth0UserId, role_ids: &[String]) -> Result<()> {
        self.user_roles(
            user,
            role_ids,
            Method::DELETE,
            "DELETE /api/v2/users/{id}/roles",
        )
        .await
    }

    /// Assign one role to many users in one call (`POST
    /// /api/v2/roles/{id}/users`).
    pub async fn assign_role_to_users(&self, role_id: &str, users: &[Auth0UserId]) -> Result<()> {
        const EP: &str = "POST /api/v2/roles/{id}/users";
        if users.is_empty() {
            return Ok(());
        }
        let path = format!("/api/v2/roles/{}/users", encode_segment(role_id));
        let ids: Vec<&str> = users.iter().map(|u| u.0.as_str()).collect();
        let body = json!({ "users": ids });
        let resp = self.call(EP, Method::POST, &path, &[], Some(&body)).await?;
        expect_ok(EP, resp).await.map(drop)
    }

    async fn user_roles(
        &self,
        user: &Auth0UserId,
        role_ids: &[String],
        method: Method,
        endpoint: &'static str,
    ) -> Result<()> {
        if role_ids.is_empty() {
            return Ok(());
        }
        let path = format!("/api/v2/users/{}/roles", encode_segment(&user.0));
        let body = json!({ "roles": role_ids });
        let resp = self.call(endpoint, method, &path, &[], Some(&body)).await?;
        expect_ok(endpoint, resp).await.map(drop)
    }
}

fn header_u64(resp: &reqwest::Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Turn a non-2xx answer into an [`Auth0Error::Api`] carrying Auth0's own
/// message (its error bodies never echo request secrets).
async fn expect_ok(endpoint: &'static str, resp: reqwest::Response) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let message = body["message"]
        .as_str()
        .or_else(|| body["error_description"].as_str())
        .or_else(|| body["error"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| text.chars().take(200).collect());
    let code = body["errorCode"]
        .as_str()
        .or_else(|| body["error"].as_str())
        .map(str::to_string);
    Err(Auth0Error::Api {
        endpoint,
        status: status.as_u16(),
        code,
        message,
    })
}

async fn read_json<T: serde::de::DeserializeOwned>(
    endpoint: &'static str,
    resp: reqwest::Response,
) -> Result<T> {
    let resp = expect_ok(endpoint, resp).await?;
    let bytes = resp.bytes().await.map_err(|e| transport(endpoint, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| protocol(endpoint, e))
}

fn protocol(endpoint: &'static str, detail: impl std::fmt::Display) -> Auth0Error {
    Auth0Error::Protocol {
        endpoint,
        detail: detail.to_string(),
    }
}

fn transport(endpoint: &'static str, e: &reqwest::Error) -> Auth0Error {
    Auth0Error::Transport {
        endpoint,
        detail: describe(e),
    }
}

/// reqwest's message plus its cause chain, without the URL's query string.
fn describe(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Percent-encode one path segment (`auth0|abc` → `auth0%7Cabc`).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The pause before the next poll of a job (export or import), after `previous`: a
/// small job is done within a second, so waiting `cap` (the configured
/// `export_poll_ms`) each time lost most of a second on every run. 100 ms,
/// then a quarter longer each time up to `cap`: the wait past the job's end
/// stays under a fifth of its length (doubling lost up to half, 0.4–0.8 s
/// on an export of 100,000 accounts), for two or three more requests.
fn job_pause(previous: Duration, cap: Duration) -> Duration {
    let cap = cap.max(Duration::from_millis(1));
    (previous * 5 / 4).max(Duration::from_millis(100)).min(cap)
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_polls_start_soon_and_back_off_to_the_configured_pause() {
        let ms = Duration::from_millis;
        let mut pause = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..13 {
            pause = job_pause(pause, ms(1000));
            seen.push(pause.as_millis());
        }
        assert_eq!(
            seen,
            [100, 125, 156, 195, 244, 305, 381, 476, 596, 745, 931, 1000, 1000]
        );
        // A pause configured below the first one is kept (tests poll fast).
        assert_eq!(job_pause(Duration::ZERO, ms(20)), ms(20));
        assert_eq!(job_pause(ms(20), ms(20)), ms(20));
    }

    use super::*;

    #[test]
    fn user_ids_are_encoded_in_paths() {
        assert_eq!(encode_segment("auth0|5f7c8ec7"), "auth0%7C5f7c8ec7");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
