//! Roles and role assignments: `GET /api/v2/roles`, a user's roles, and
//! assigning one role to many users at once.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

use super::errors::{json_object, reject_unknown, type_name, ApiError, ApiResult};
use super::params::{Page, Params};
use super::server::Sim;
use super::state::Role;
use super::users::path_id;

type Q = Result<Query<HashMap<String, String>>, QueryRejection>;

fn role_json(role: &Role) -> Value {
    json!({ "id": role.id, "name": role.name, "description": role.description })
}

fn role_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "The role does not exist.").code("inexistent_role")
}

/// Roles pages answer `{roles, start, limit, total}` (no `length`).
fn roles_page(page: &Page, roles: &[&Role]) -> Value {
    let items: Vec<Value> = page.slice(roles).into_iter().map(role_json).collect();
    if !page.include_totals {
        return Value::Array(items);
    }
    json!({ "roles": items, "start": page.start(), "limit": page.per_page, "total": roles.len() })
}

pub(crate) async fn list(State(sim): State<Arc<Sim>>, query: Q) -> ApiResult<Json<Value>> {
    let params = Params::from_query(query)?;
    let page = Page::parse(&params, 1)?;
    let filter = params.str("name_filter").map(str::to_lowercase);
    let tenant = sim.tenant();
    let roles: Vec<&Role> = tenant
        .roles
        .iter()
        .filter(|r| {
            filter
                .as_ref()
                .is_none_or(|f| r.name.to_lowercase().contains(f))
        })
        .collect();
    Ok(Json(roles_page(&page, &roles)))
}

pub(crate) async fn user_roles(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
    query: Q,
) -> ApiResult<Json<Value>> {
    let id = path_id(id)?;
    let page = Page::parse(&Params::from_query(query)?, 1)?;
    let tenant = sim.tenant();
    if !tenant.contains(&id) {
        return Err(ApiError::user_not_found());
    }
    let assigned = tenant.user_roles.get(&id);
    let roles: Vec<&Role> = tenant
        .roles
        .iter()
        .filter(|r| assigned.is_some_and(|set| set.contains(&r.id)))
        .collect();
    Ok(Json(roles_page(&page, &roles)))
}

/// `{"<key>": ["id", ...]}` with at least one id and at most `max`.
fn id_list(body: &Map<String, Value>, key: &str, max: Option<usize>) -> ApiResult<Vec<String>> {
    reject_unknown(body, &[key])?;
    let items = match body.get(key) {
        None => {
            return Err(ApiError::payload(format!(
                "Missing required property: {key}"
            )))
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::payload_on(
                format!("Expected type array but found type {}", type_name(other)),
                key,
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::payload_on(
            "Array is too short (0), minimum 1",
            key,
        ));
    }
    if let Some(max) = max.filter(|&m| items.len() > m) {
        return Err(ApiError::payload_on(
            format!("Array is too long ({}), maximum {max}", items.len()),
            key,
        ));
    }
    items
        .iter()
        .map(|v| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                ApiError::payload_on(
                    format!("Expected type string but found type {}", type_name(v)),
                    key,
                )
            })
        })
        .collect()
}

pub(crate) async fn add_user_roles(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    let body = json_object(&headers, body, sim.cfg.max_body_bytes).await?;
    let roles = id_list(&body, "roles", None)?;
    {
        let mut tenant = sim.tenant();
        if !tenant.contains(&id) {
            return Err(ApiError::user_not_found());
        }
        if roles.iter().any(|r| tenant.role(r).is_none()) {
            return Err(role_not_found());
        }
        tenant.user_roles.entry(id).or_default().extend(roles);
    }
    sim.changed();
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn remove_user_roles(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let id = path_id(id)?;
    let body = json_object(&headers, body, sim.cfg.max_body_bytes).await?;
    let roles = id_list(&body, "roles", None)?;
    {
        let mut tenant = sim.tenant();
        if !tenant.contains(&id) {
            return Err(ApiError::user_not_found());
        }
        if let Some(set) = tenant.user_roles.get_mut(&id) {
            for role in &roles {
                set.remove(role);
            }
        }
    }
    sim.changed();
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/roles/{id}/users`: all or nothing, like the tenant.
pub(crate) async fn assign_users(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let role = path_id(id)?;
    let body = json_object(&headers, body, sim.cfg.max_body_bytes).await?;
    let users = id_list(&body, "users", sim.cfg.role_users_per_call)?;
    {
        let mut tenant = sim.tenant();
        if tenant.role(&role).is_none() {
            return Err(role_not_found());
        }
        if users.iter().any(|u| !tenant.contains(u)) {
            return Err(ApiError::user_not_found());
        }
        for user in users {
            tenant
                .user_roles
                .entry(user)
                .or_default()
                .insert(role.clone());
        }
    }
    sim.changed();
    Ok(StatusCode::OK)
}
