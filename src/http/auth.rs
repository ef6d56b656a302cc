//! Who may call the admin API, and the inbound change webhook's signature.
//!
//! Admin tokens come from `ROSTERD_ADMIN_TOKENS` as `name=token` pairs; a
//! name ending in `:read` may only read (GET), so a dashboard or a script
//! that only looks cannot trigger or approve anything. Tokens are compared
//! as SHA-256 digests in constant time, against every configured token, so
//! neither timing nor length tells an attacker how close a guess was.

use super::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The authenticated caller, for logs and the admin audit.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"rosterd\""),
    );
    r
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
fn same_secret(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(da.ct_eq(&db))
}

pub async fn require_admin(
    State(runner): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let tokens = &runner.ctx.settings.serve.admin_tokens;
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
    let Some(name) = who else {
        if tokens.is_empty() {
            return unauthorized("no admin tokens are configured (set ROSTERD_ADMIN_TOKENS)");
        }
        return unauthorized("invalid token");
    };
    if name.ends_with(":read") && req.method() != Method::GET {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{name} is a read-only token"),
        )
        .into_response();
    }
    req.extensions_mut().insert(Actor(name.to_string()));
    next.run(req).await
}

/// `POST /api/v1/hooks/auth0`: Auth0 event or log streams say something
/// changed; run (debounced, input-less) like any change. Authenticated by
/// `Authorization: Bearer <ROSTERD_WEBHOOK_SECRET>` or by
/// `X-Rosterd-Signature: sha256=<hex HMAC-SHA256 of the body>`.
pub async fn auth0_hook(
    State(runner): State<AppState>,
    headers: HeaderMap,
    body: super::Body,
) -> Response {
    let Some(secret) = &runner.ctx.settings.serve.webhook_secret else {
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
    runner.changed();
    tracing::info!("change webhook accepted; a run follows");
    (StatusCode::ACCEPTED, Json(json!({ "accepted": true }))).into_response()
}
