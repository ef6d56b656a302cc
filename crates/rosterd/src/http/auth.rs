//! Who may call the admin API, and the inbound change webhook's signature.
//!
//! Admin tokens come from `ROSTERD_ADMIN_TOKENS` as `name=token` pairs; a
//! name ending in `:read` may only read (GET), so a dashboard or a script
//! that only looks cannot trigger or approve anything. Tokens are compared
//! as SHA-256 digests in constant time, against every configured token, so
//! neither timing nor length tells an attacker how close a guess was.
//!
//! With `serve.jwt_issuer` set, a bearer that is no configured token but
//! looks like a JWT is verified as an Auth0 access token: RS256 only, its
//! `kid` looked up in the tenant's JWKS (cached, see [`Jwks`]), `exp`/`nbf`
//! with a small leeway, `iss` and `aud`. Its `permissions` (Auth0 RBAC) or
//! `scope` must hold `serve.jwt_permission`, or `serve.jwt_read_permission`
//! for a GET; the actor is its `sub`. 401 says which check failed, never
//! what the token contained; 403 names the missing permission.

use super::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The authenticated caller, for logs and the admin audit.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

fn unauthorized(message: &str) -> Response {
    challenge(message, "Bearer realm=\"rosterd\"")
}

/// A 401 for a JWT that failed a check (RFC 6750 `invalid_token`).
fn invalid_jwt(message: &str) -> Response {
    challenge(message, "Bearer realm=\"rosterd\", error=\"invalid_token\"")
}

fn challenge(message: &str, www_authenticate: &'static str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(www_authenticate),
    );
    r
}

fn forbidden(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

fn bearer(headers: &HeaderMap) -> Result<&str, &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("missing Authorization: Bearer <token>")?;
    let value = value
        .to_str()
        .map_err(|_| "malformed Authorization header")?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("Authorization must be \"Bearer <token>\"")
}

/// Constant-time equality of two secrets of any length.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(da.ct_eq(&db))
}

pub async fn require_admin(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let tokens = &state.ctx.settings.serve.admin_tokens;
    let token = match bearer(req.headers()) {
        Ok(t) => t,
        Err(why) => return unauthorized(why),
    };
    // Check every token, whatever matched, so timing says nothing.
    let mut who: Option<&str> = None;
    for (name, secret) in tokens {
        if same_secret(secret.expose(), token) {
            who = Some(name);
        }
    }
    let serve = &state.ctx.settings.serve;
    let jwt_on = !serve.jwt_issuer.trim().is_empty();
    let Some(name) = who else {
        if jwt_on && looks_like_jwt(token) {
            let actor = match verify_jwt(serve, token, req.method() == Method::GET).await {
                Ok(actor) => actor,
                Err(refusal) => {
                    tracing::warn!(
                        method = %req.method(), path = %req.uri().path(), reason = %refusal.reason(),
                        "admin API: JWT refused"
                    );
                    return refusal.into_response();
                }
            };
            tracing::debug!(actor = %actor.0, "admin API: JWT accepted");
            req.extensions_mut().insert(actor);
            return next.run(req).await;
        }
        if tokens.is_empty() && !jwt_on {
            return unauthorized("no admin tokens are configured (set ROSTERD_ADMIN_TOKENS)");
        }
        return unauthorized("invalid token");
    };
    if name.ends_with(":read") && req.method() != Method::GET {
        return forbidden(format!("{name} is a read-only token")).into_response();
    }
    req.extensions_mut().insert(Actor(name.to_string()));
    next.run(req).await
}

// ---------------------------------------------------------------------------
// Auth0-issued JWTs
// ---------------------------------------------------------------------------

/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// How long a fetched JWKS is trusted before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(600);
/// A token with an unknown `kid` refetches the JWKS (a rotated key), but at
/// most this often, so junk tokens cannot make rosterd hammer the tenant.
const JWKS_MISS_REFETCH: Duration = Duration::from_secs(30);
/// After a failed fetch, the next attempt waits at least this long.
const JWKS_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Three dot-separated base64url parts (the signature may be empty, as in
/// an `alg: none` token, which is then refused as such).
fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The JWKS URL: `serve.jwt_jwks_url`, else the issuer's well-known one.
fn jwks_url(serve: &crate::config::ServeSettings) -> String {
    if serve.jwt_jwks_url.trim().is_empty() {
        format!(
            "{}/.well-known/jwks.json",
            serve.jwt_issuer.trim().trim_end_matches('/')
        )
    } else {
        serve.jwt_jwks_url.trim().to_string()
    }
}

/// Why a JWT was not accepted.
#[derive(Debug)]
enum Refusal {
    /// 401: the token is not a valid token of this tenant for this API.
    Invalid(String),
    /// 403: valid, but it does not carry the permission.
    Missing { permission: String, actor: String },
    /// 503: the JWKS could not be fetched, so nothing can be verified.
    KeysUnavailable,
}

impl Refusal {
    fn reason(&self) -> String {
        match self {
            Refusal::Invalid(m) => m.clone(),
            Refusal::Missing { permission, actor } => {
                format!("{actor} lacks the permission {permission}")
            }
            Refusal::KeysUnavailable => "the JWKS could not be fetched".into(),
        }
    }
    fn into_response(self) -> Response {
        match self {
            Refusal::Invalid(m) => invalid_jwt(&m),
            Refusal::Missing { permission, .. } => {
                forbidden(format!("the token lacks the permission {permission}"))
                    .with(json!({ "missing_permission": permission }))
                    .into_response()
            }
            Refusal::KeysUnavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "jwks_unavailable",
                "cannot verify the JWT: the signing keys (JWKS) of the issuer could not be fetched; see the rosterd log",
            )
            .into_response(),
        }
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::Invalid(message.into())
}

/// The claims rosterd reads beyond the ones `jsonwebtoken` validates.
#[derive(Deserialize)]
struct Claims {
    /// Required by the validation; defaulted here so that a missing `sub`
    /// is reported as such rather than as malformed claims.
    #[serde(default)]
    sub: String,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
}

impl Claims {
    fn grants(&self, permission: &str) -> bool {
        !permission.is_empty()
            && (self.permissions.iter().any(|p| p == permission)
                || self
                    .scope
                    .as_deref()
                    .is_some_and(|s| s.split_whitespace().any(|p| p == permission)))
    }
}

/// The `alg` and `kid` of a token's header, read by hand so that `none`
/// (which `jsonwebtoken` cannot even parse) gets a message of its own.
fn header_of(token: &str) -> Result<(String, Option<String>), Refusal> {
    let raw = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| invalid("malformed JWT: the header is not base64url"))?;
    let header: Value = serde_json::from_slice(&bytes)
        .map_err(|_| invalid("malformed JWT: the header is not JSON"))?;
    let alg = header["alg"].as_str().unwrap_or_default().to_string();
    let kid = header["kid"].as_str().map(str::to_string);
    Ok((alg, kid))
}

async fn verify_jwt(
    serve: &crate::config::ServeSettings,
    token: &str,
    is_get: bool,
) -> Result<Actor, Refusal> {
    let (alg, kid) = header_of(token)?;
    if alg != "RS256" {
        let alg = if alg.is_empty() { "missing" } else { &alg };
        return Err(invalid(format!(
            "JWT algorithm {alg:?} is not accepted (RS256 only)"
        )));
    }
    let Some(kid) = kid else {
        return Err(invalid("JWT header has no kid"));
    };
    let key = Jwks::for_url(&jwks_url(serve)).key(&kid).await?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[serve.jwt_issuer.trim()]);
    validation.set_audience(&[serve.jwt_audience.trim()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| {
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "JWT has expired".to_string(),
                ErrorKind::ImmatureSignature => "JWT is not valid yet (nbf)".to_string(),
                ErrorKind::InvalidAudience => format!(
                    "JWT audience is wrong (expected {:?})",
                    serve.jwt_audience.trim()
                ),
                ErrorKind::InvalidIssuer => format!(
                    "JWT issuer is wrong (expected {:?})",
                    serve.jwt_issuer.trim()
                ),
                ErrorKind::InvalidSignature => "JWT signature is invalid".to_string(),
                ErrorKind::InvalidAlgorithm => {
                    "JWT algorithm is not accepted (RS256 only)".to_string()
                }
                ErrorKind::MissingRequiredClaim(c) => format!("JWT has no {c} claim"),
                ErrorKind::InvalidClaimFormat(c) => format!("JWT claim {c} is malformed"),
                ErrorKind::Json(_) => "JWT claims are malformed".to_string(),
                _ => "malformed JWT".to_string(),
            })
        })?
        .claims;
    if claims.sub.trim().is_empty() {
        return Err(invalid("JWT has an empty sub claim"));
    }
    let full = &serve.jwt_permission;
    let read = &serve.jwt_read_permission;
    if claims.grants(full) || (is_get && claims.grants(read)) {
        return Ok(Actor(claims.sub));
    }
    let permission = if is_get && !read.is_empty() {
        format!("{read} (or {full})")
    } else {
        full.clone()
    };
    Err(Refusal::Missing {
        permission,
        actor: claims.sub,
    })
}

/// One JWKS URL's signing keys, shared by every daemon in the process
/// (the keys of a URL do not depend on who asks). Fetches happen under the
/// lock, so a burst of requests on a cold cache makes one fetch.
struct Jwks {
    url: String,
    http: reqwest::Client,
    state: tokio::sync::Mutex<JwksState>,
}

#[derive(Default)]
struct JwksState {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    failed_at: Option<Instant>,
    miss_refetch_at: Option<Instant>,
}

impl Jwks {
    fn for_url(url: &str) -> Arc<Jwks> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<Jwks>>>> = OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.entry(url.to_string())
            .or_insert_with(|| {
                Arc::new(Jwks {
                    url: url.to_string(),
                    http: reqwest::Client::builder()
                        .connect_timeout(Duration::from_secs(3))
                        .timeout(Duration::from_secs(5))
                        .build()
                        .unwrap_or_default(),
                    state: Default::default(),
                })
            })
            .clone()
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, Refusal> {
        let mut st = self.state.lock().await;
        let now = Instant::now();
        let stale = st.fetched_at.is_none_or(|t| now - t >= JWKS_TTL);
        let may_retry = st
            .failed_at
            .is_none_or(|t| now - t >= JWKS_RETRY_AFTER_FAILURE);
        if stale && may_retry {
            self.refresh(&mut st).await;
        }
        if let Some(k) = st.keys.get(kid) {
            return Ok(k.clone());
        }
        if st.fetched_at.is_none() {
            return Err(Refusal::KeysUnavailable);
        }
        // Perhaps the tenant rotated its keys: look again, once in a while.
        if st
            .miss_refetch_at
            .is_none_or(|t| now - t >= JWKS_MISS_REFETCH)
        {
            st.miss_refetch_at = Some(now);
            self.refresh(&mut st).await;
            if let Some(k) = st.keys.get(kid) {
                return Ok(k.clone());
            }
        }
        Err(invalid("JWT is signed by an unknown key (kid)"))
    }

    /// Fetch the JWKS; on failure keep the keys there are (if any).
    async fn refresh(&self, st: &mut JwksState) {
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "JWKS fetched");
                st.keys = keys;
                st.fetched_at = Some(Instant::now());
                st.failed_at = None;
            }
            Err(e) => {
                tracing::error!(url = %self.url, error = %e, "JWKS fetch failed; keeping the keys already known");
                st.failed_at = Some(Instant::now());
            }
        }
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let resp = self.http.get(&self.url).send().await?.error_for_status()?;
        let doc: Value = resp.json().await?;
        let list = doc["keys"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("no \"keys\" array"))?;
        // Key by key: one key of a type rosterd does not use spoils nothing.
        let mut keys = HashMap::new();
        for raw in list {
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
                continue;
            };
            let rsa = matches!(jwk.algorithm, AlgorithmParameters::RSA(_));
            let alg_ok = jwk
                .common
                .key_algorithm
                .is_none_or(|a| a == KeyAlgorithm::RS256);
            let use_ok = jwk
                .common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == PublicKeyUse::Signature);
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            if rsa && alg_ok && use_ok {
                if let Ok(key) = DecodingKey::from_jwk(&jwk) {
                    keys.insert(kid, key);
                }
            }
        }
        Ok(keys)
    }
}

/// `POST /api/v1/hooks/auth0`: Auth0 event or log streams say something
/// changed; run (debounced, input-less) like any change. Authenticated by
/// `Authorization: Bearer <ROSTERD_WEBHOOK_SECRET>` or by
/// `X-Rosterd-Signature: sha256=<hex HMAC-SHA256 of the body>`.
pub async fn auth0_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: super::Body,
) -> Response {
    let Some(secret) = &state.ctx.settings.serve.webhook_secret else {
        return ApiError::not_found("the webhook is not enabled (set ROSTERD_WEBHOOK_SECRET)")
            .into_response();
    };
    let body = match super::read_body(body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let by_bearer = bearer(&headers).is_ok_and(|t| same_secret(secret.expose(), t));
    let by_signature = headers
        .get("x-rosterd-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
        .is_some_and(|sig| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
                .expect("HMAC takes any key");
            mac.update(&body);
            mac.verify_slice(&sig).is_ok()
        });
    if !(by_bearer || by_signature) {
        return unauthorized("webhook: bad or missing signature");
    }
    state.driver.changed();
    tracing::info!("change webhook accepted; a run follows");
    (StatusCode::ACCEPTED, Json(json!({ "accepted": true }))).into_response()
}
