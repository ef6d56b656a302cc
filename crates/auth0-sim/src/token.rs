//! `POST /oauth/token` (client credentials) and the bearer check on every
//! `/api/v2` call.
//!
//! Tokens are real HS256 JWTs keyed by the client secret, so a client that
//! decodes its token to read `exp` (as the SDKs' caches do) sees true claims,
//! and tokens stay valid across a restart with the same secret, as a tenant's
//! do.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;

use super::errors::{read_body, ApiError};
use super::server::{public_base, Sim};
use super::state::random_alnum;

type HmacSha256 = Hmac<Sha256>;

/// Everything rosterd (and the SDK fidelity test) does, granted to the one client.
const SCOPES: &str = "read:users update:users delete:users create:users \
read:users_app_metadata update:users_app_metadata delete:users_app_metadata \
create:users_app_metadata read:roles create:roles update:roles delete:roles \
read:role_members create:role_members delete:role_members create:user_tickets \
read:connections";

pub(crate) fn sign(key: &[u8], claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"rosterd-sim"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(key, input.as_bytes()).finalize().into_bytes());
    format!("{input}.{signature}")
}

fn mac(key: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    mac
}

#[derive(Debug, PartialEq)]
pub(crate) enum TokenError {
    Invalid,
    Expired,
    BadAudience(String),
}

/// Checks signature, algorithm, expiry and audience; returns the claims.
pub(crate) fn verify(
    key: &[u8],
    token: &str,
    now: i64,
    audience_ok: impl Fn(&str) -> bool,
) -> Result<Map<String, Value>, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Invalid)?;
    mac(key, format!("{header}.{payload}").as_bytes())
        .verify_slice(&signature)
        .map_err(|_| TokenError::Invalid)?;
    let header: Value = decode_part(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(TokenError::Invalid);
    }
    let Value::Object(claims) = decode_part(payload)? else {
        return Err(TokenError::Invalid);
    };
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(TokenError::Invalid)?;
    if exp <= now {
        return Err(TokenError::Expired);
    }
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or("");
    if !audience_ok(aud) {
        return Err(TokenError::BadAudience(aud.to_string()));
    }
    Ok(claims)
}

fn decode_part(part: &str) -> Result<Value, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)
}

/// Constant-time comparison for the client secret.
fn same_secret(a: &str, b: &str) -> bool {
    let key = b"rosterd-sim-compare";
    mac(key, a.as_bytes())
        .verify_slice(&mac(key, b.as_bytes()).finalize().into_bytes())
        .is_ok()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The request's parameters, from JSON or a form, plus HTTP Basic client
/// authentication (`client_secret_basic`) when present.
/// A refusal is the `invalid_request` description.
fn token_params(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut params: HashMap<String, String> = if content_type.starts_with("application/json") {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Err("Invalid JSON body");
        };
        map.into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Null => None,
                other => Some((k, other.to_string())),
            })
            .collect()
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        form_urlencoded::parse(body).into_owned().collect()
    } else {
        return Err("Content-Type must be application/json or application/x-www-form-urlencoded");
    };
    if let Some((id, secret)) = basic_credentials(headers) {
        params.entry("client_id".into()).or_insert(id);
        params.entry("client_secret".into()).or_insert(secret);
    }
    Ok(params)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

pub(crate) async fn issue(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&headers, body, sim.cfg.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let params = match token_params(&headers, &bytes) {
        Ok(p) => p,
        Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why),
    };
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    match get("grant_type") {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: grant_type",
            )
        }
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "unauthorized_client",
                &format!("Grant type '{other}' not allowed for the client."),
            )
        }
    }
    let id_ok = get("client_id") == Some(sim.cfg.client_id.as_str());
    let secret_ok = get("client_secret").is_some_and(|s| same_secret(s, &sim.cfg.client_secret));
    if !(id_ok && secret_ok) {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    let Some(audience) = get("audience") else {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        );
    };
    if !sim.audience_ok(audience) {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!("Service not enabled within domain: {audience}"),
        );
    }
    let now = chrono::Utc::now().timestamp();
    let ttl = sim.cfg.token_ttl_secs;
    let claims = json!({
        "iss": format!("{}/", public_base(&headers, &sim)),
        "sub": format!("{}@clients", sim.cfg.client_id),
        "aud": audience,
        "iat": now,
        "exp": now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX / 2)),
        "scope": SCOPES,
        "gty": "client-credentials",
        "azp": sim.cfg.client_id,
        "jti": random_alnum(22),
    });
    axum::Json(json!({
        "access_token": sign(&sim.jwt_key, &claims),
        "scope": SCOPES,
        "expires_in": ttl,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// Middleware on every `/api/v2` route: a valid, unexpired bearer token.
pub(crate) async fn require_bearer(
    State(sim): State<Arc<Sim>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return ApiError::unauthorized("Missing authentication").into_response();
    };
    let Some(token) = value.to_str().ok().and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    }) else {
        return ApiError::unauthorized("Bad HTTP authentication header format").into_response();
    };
    let now = chrono::Utc::now().timestamp();
    match verify(&sim.jwt_key, token.trim(), now, |aud| sim.audience_ok(aud)) {
        Ok(_) => next.run(req).await,
        Err(TokenError::Invalid) => ApiError::unauthorized("Invalid token").into_response(),
        Err(TokenError::Expired) => {
            ApiError::unauthorized("Expired token received for JSON Web Token validation")
                .into_response()
        }
        Err(TokenError::BadAudience(aud)) => {
            ApiError::unauthorized(&format!("Bad audience: {aud}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = b"secret";
        let token = sign(key, &json!({"exp": 2_000, "aud": "x/api/v2/"}));
        assert!(verify(key, &token, 1_000, |_| true).is_ok());
        assert_eq!(
            verify(key, &token, 3_000, |_| true),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(b"other", &token, 1_000, |_| true),
            Err(TokenError::Invalid)
        );
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'A');
        assert_eq!(
            verify(key, &tampered, 1_000, |_| true),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify(key, "a.b", 1_000, |_| true),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
