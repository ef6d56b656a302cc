//! The control API under `/__sim` (a path Auth0 cannot have): state, reset,
//! faults, direct seeding and the request log. No token, no rate limit, no
//! faults, not logged — it observes the tenant without disturbing it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

use super::errors::{json_value, ApiError, ApiResult};
use super::faults::Faults;
use super::server::Sim;
use super::state::{self, State as Tenant};
use super::users::{new_user, Origin};

/// Seeding ten thousand users in one call is the point of `/__sim/users`.
const CONTROL_BODY_LIMIT: usize = 256 * 1024 * 1024;

pub(crate) async fn state(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let snapshot = sim.tenant().snapshot();
    Json(json!({
        "users": snapshot.users,
        "roles": snapshot.roles,
        "user_roles": snapshot.user_roles,
        "requests": sim.requests(),
    }))
}

pub(crate) async fn requests(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(sim.requests()))
}

pub(crate) async fn reset(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

pub(crate) async fn set_faults(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let value = json_value(&headers, body, CONTROL_BODY_LIMIT).await?;
    let faults: Faults =
        serde_json::from_value(value).map_err(|e| ApiError::payload(e.to_string()))?;
    faults.validate()?;
    sim.set_faults(faults);
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(sim.faults()))
}

pub(crate) async fn clear_faults(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.set_faults(Faults::default());
    StatusCode::NO_CONTENT
}

/// Inserts users all-or-nothing; the first invalid one is named by index.
pub(crate) fn seed(tenant: &mut Tenant, users: &[Value], min_len: usize) -> ApiResult<Vec<String>> {
    let mut docs = Vec::with_capacity(users.len());
    let mut batch_ids = HashSet::new();
    let mut batch_emails = HashSet::new();
    for (i, user) in users.iter().enumerate() {
        let at = |e: ApiError| {
            ApiError::new(e.status(), format!("users[{i}]: {}", e.message())).code("invalid_body")
        };
        let Value::Object(body) = user else {
            return Err(at(ApiError::payload("Expected type object")));
        };
        let doc = new_user(tenant, body, Origin::Seed, min_len).map_err(at)?;
        let id = state::user_id(&doc).unwrap_or_default().to_string();
        let email_key = (
            state::connection(&doc).unwrap_or_default().to_string(),
            state::email(&doc).unwrap_or_default().to_string(),
        );
        if !batch_ids.insert(id) || !batch_emails.insert(email_key) {
            return Err(at(ApiError::user_exists()));
        }
        docs.push(doc);
    }
    Ok(docs
        .into_iter()
        .map(|doc| {
            let id = state::user_id(&doc).unwrap_or_default().to_string();
            tenant.insert(doc);
            id
        })
        .collect())
}

pub(crate) async fn seed_users(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Value::Array(users) = json_value(&headers, body, CONTROL_BODY_LIMIT).await? else {
        return Err(ApiError::payload("Expected type array of users"));
    };
    let ids = seed(&mut sim.tenant(), &users, sim.cfg.password_min_length)?;
    sim.changed();
    Ok((StatusCode::CREATED, Json(json!({ "user_ids": ids }))))
}
