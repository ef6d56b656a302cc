//! The admin HTTP API (`/api/v1`), `/metrics` and health endpoints.
//!
//! Handlers are thin: they check input, call the driver's handle or the store,
//! and shape JSON. Every error is `{"error": code, "message": text}` with
//! the status HTTP means (400 bad input, 401 who are you, 403 not allowed,
//! 404 no such thing, 409 conflicts with the current state, 413 too big).

mod auth;
pub(crate) mod bare_errors;
mod openapi;
mod ui;

use crate::driver::DriverHandle;
use crate::held::DecisionError;
use crate::plan::FindingKind;
use crate::run::{Context, RunError, RunOptions, RunStatus, Trigger};
use crate::store::RunRecord;
use crate::triage::{self, TriageError};
use auth::Actor;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower_http::trace::TraceLayer;

/// What the handlers need: the dependencies, and the driver's handle to
/// start runs through (the API never depends on the daemon that wires it).
#[derive(Clone)]
pub struct AppState {
    pub ctx: Arc<Context>,
    pub driver: DriverHandle,
}

/// An error as the API reports it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    fn with(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let (Some(Value::Object(extra)), Some(obj)) = (self.extra, body.as_object_mut()) {
            obj.extend(extra);
        }
        (self.status, Json(body)).into_response()
    }
}

/// Internal failures: logged in full, reported without detail that could
/// leak internals.
fn internal(e: impl std::error::Error + 'static) -> ApiError {
    tracing::error!(error = %crate::telemetry::error_chain(&e), "request failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; see the rosterd log",
    )
}

type ApiResult<T> = Result<T, ApiError>;

/// A request body as read, or why it could not be: over
/// `serve.body_limit_bytes` (413) or cut off, as an API error (axum's own
/// rejection is plain text).
type Body = Result<Bytes, BytesRejection>;

fn read_body(body: Body) -> ApiResult<Bytes> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this server accepts (serve.body_limit_bytes)",
        ),
        status => ApiError::new(status, "bad_request", e.body_text()),
    })
}

/// Parse a JSON body (possibly empty, meaning `{}`) with a message that
/// names what is wrong.
fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    // Through a Value: serde would otherwise read an array such as `[true]`
    // as a struct's fields in order, past `deny_unknown_fields`.
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

fn parse_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::bad_request(format!("{what} must be an integer, not {raw:?}")))
}

pub fn router(state: AppState) -> Router {
    let s = &state.ctx.settings.serve;
    let admin = Router::new()
        .route("/runs", post(trigger_run).get(list_runs))
        .route("/runs/{id}", get(get_run))
        .route("/runs/{id}/approve", post(approve_run))
        .route("/runs/{id}/reject", post(reject_run))
        .route("/findings", get(findings))
        .route("/findings/acks", post(acknowledge).get(list_acks))
        .route("/findings/acks/{key}", delete(unacknowledge))
        .route("/triage", get(triage_queue))
        .route(
            "/podfactory/non-employees",
            post(mark_not_employee).get(list_non_employees),
        )
        .route(
            "/podfactory/non-employees/{id}",
            delete(unmark_not_employee),
        )
        .route("/mappings", post(create_mapping).get(list_mappings))
        .route("/mappings/{id}", delete(delete_mapping))
        .route("/employees/{id}", get(get_employee))
        .route("/employees/{id}/credentials", post(credentials))
        .route("/status", get(status))
        .route("/resume", post(resume))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    let api = Router::new()
        .merge(admin)
        .route("/hooks/auth0", post(auth::auth0_hook))
        .route("/openapi.json", get(openapi::document));
    Router::new()
        .nest("/api/v1", api)
        .nest("/ui", ui::router(state.clone()))
        // A typed or bookmarked "/ui/" is the console's home too.
        .route(
            "/ui/",
            get(|| async { axum::response::Redirect::permanent("/ui") }),
        )
        .route("/metrics", get(metrics))
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(s.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(s.request_timeout_secs),
            deadline,
        ))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A request that outlives `serve.request_timeout_secs` is answered 503 with
/// the same JSON error body as every other error (tower-http's timeout
/// layer answers with an empty body). Runs are not requests: a trigger
/// returns at once, so this never cuts a reconcile short.
async fn deadline(
    State(limit): State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than serve.request_timeout_secs ({}s)",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}

/// Every error leaves as the API's JSON error body, whoever made it: an
/// extractor's rejection (a path that is not UTF-8, a bad query string) or
/// a layer's answer is plain text or empty otherwise. The text, if any, is
/// kept as the message.
async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    // The console's pages are HTML, errors included.
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json || is_html {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Rejection texts are short; a large body is not an error message.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let mut out = ApiError::new(status, code, text).into_response();
    // Keep what the error said besides its body (Allow, WWW-Authenticate…).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

async fn metrics(State(state): State<AppState>) -> Response {
    // The pause and the held run are shared by every replica and set by
    // whichever process ran the rollback, the run or the decision: read at
    // each scrape, so no replica reports a stale one. Bounded, so a slow
    // database cannot stall the scrape.
    let shared = state.ctx.show_shared_gauges();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), shared).await;
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.ctx.metrics.render(),
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    let store = &state.ctx.store;
    if let Err(e) = store.ping().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": e.to_string() })),
        )
            .into_response();
    }
    let last = store
        .list_runs(1)
        .await
        .ok()
        .and_then(|r| r.into_iter().next());
    Json(json!({
        "status": "ready",
        "database": "ok",
        "running": state.driver.status().current.run_id(),
        "last_run": last.map(|r| json!({ "id": r.id, "status": r.status, "finished_at": r.finished_at })),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerBody {
    #[serde(default)]
    dry_run: bool,
}

fn started(run_id: i64, dry_run: bool) -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/runs/{run_id}"))],
        Json(json!({ "run_id": run_id, "status": RunStatus::Running, "dry_run": dry_run })),
    )
        .into_response()
}

fn start_error(e: RunError) -> ApiError {
    match e {
        // The running run is read from reconcile_runs when another replica
        // holds the lock, so a non-leader names it too.
        RunError::AlreadyRunning(current) => ApiError::conflict(
            "run_in_progress",
            "a run is in progress; try again when it has finished",
        )
        .with(json!({
            "run_id": current.as_ref().map(|r| r.id),
            "holder": current.as_ref().and_then(|r| r.holder.clone()),
            "since": current.as_ref().map(|r| r.started_at),
        })),
        RunError::ShuttingDown => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "rosterd is shutting down",
        ),
        RunError::Decided { .. } => ApiError::conflict("not_held", e.to_string()),
        other => internal(other),
    }
}

async fn trigger_run(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let body: TriggerBody = parse_body(&headers, &read_body(body)?)?;
    let id = state
        .driver
        .start(RunOptions::new(Trigger::Http, body.dry_run))
        .await
        .map_err(start_error)?;
    tracing::info!(actor = %actor.0, run_id = id, dry_run = body.dry_run, "run triggered over HTTP");
    audit(&state, &actor, "trigger_run", Some(&id.to_string())).await;
    Ok(started(id, body.dry_run))
}

async fn audit(state: &AppState, actor: &Actor, action: &str, target: Option<&str>) {
    state.ctx.audit(&actor.0, action, target).await;
}

/// Whether enforcement is paused (by a rollback): who, when, why, or null.
async fn status(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let paused = state.ctx.store.paused().await.map_err(internal)?;
    Ok(Json(json!({ "paused": paused })))
}

/// End the pause a rollback started: the next run applies its plan.
/// `resumed` is the pause it ended (null: there was none).
async fn resume(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> ApiResult<Json<Value>> {
    let resumed = crate::rollback::resume(&state.ctx, &actor.0)
        .await
        .map_err(internal)?;
    Ok(Json(json!({ "resumed": resumed })))
}

/// A run without its (large) plan, with its summary as JSON.
fn run_json(r: &RunRecord) -> Value {
    let body = json!({
        "id": r.id, "trigger": r.trigger, "mode": r.mode, "dry_run": r.dry_run, "status": r.status,
        "started_at": r.started_at, "finished_at": r.finished_at,
        "employees_seen": r.employees_seen, "auth0_users_seen": r.auth0_users_seen,
        "actions_planned": r.actions_planned, "actions_succeeded": r.actions_succeeded,
        "actions_failed": r.actions_failed, "findings_count": r.findings_count,
        "error": r.error, "held_reason": r.held_reason, "plan_dropped_at": r.plan_dropped_at,
    });
    // A held run's decision shares two columns: approved or rejected.
    let (approved, rejected) = if r.status == RunStatus::Rejected {
        ((None, None), (r.approved_at, r.approved_by.as_deref()))
    } else {
        ((r.approved_at, r.approved_by.as_deref()), (None, None))
    };
    let decision = json!({
        "approved_at": approved.0, "approved_by": approved.1,
        "rejected_at": rejected.0, "rejected_by": rejected.1,
        "summary": r.summary.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok()),
    });
    let mut body = body;
    if let (Some(b), Value::Object(d)) = (body.as_object_mut(), decision) {
        b.extend(d);
    }
    body
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunsQuery {
    status: Option<String>,
    trigger: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

async fn list_runs(
    State(state): State<AppState>,
    q: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<RunStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("status must be one of {}", e.known)))?;
    let trigger = q
        .trigger
        .as_deref()
        .map(str::parse::<Trigger>)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("trigger must be one of {}", e.known)))?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    let runs = state
        .ctx
        .store
        .list_runs_page(status, trigger, q.before, limit)
        .await
        .map_err(internal)?;
    let next = (runs.len() as i64 == limit)
        .then(|| runs.last().map(|r| r.id))
        .flatten();
    Ok(Json(json!({
        "runs": runs.iter().map(run_json).collect::<Vec<_>>(),
        "next_before": next,
    })))
}

/// The employee row, or `None`, through the configured employees query.
async fn find_employee(state: &AppState, id: i64) -> ApiResult<Option<crate::model::RawEmployee>> {
    state
        .ctx
        .store
        .employee(state.ctx.settings.database.employees_query.as_deref(), id)
        .await
        .map_err(internal)
}

/// The employee row, or 404. Without a write-back target the row carries
/// no `auth0_user_id`: the account is the one whose
/// `app_metadata.employee_id` names the employee, as runs link it.
async fn load_employee(state: &AppState, id: i64) -> ApiResult<crate::model::RawEmployee> {
    let mut e = find_employee(state, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no employee {id}")))?;
    let ctx = &state.ctx;
    if e.auth0_user_id.is_none() && ctx.write_back.is_none() {
        let found = ctx
            .auth0
            .users_with_employee_id(id)
            .await
            .map_err(auth0_error)?;
        link_found_account(state, &mut e, &found);
    }
    Ok(e)
}

/// Without a write-back target, the one account carrying the employee's id
/// is theirs (as runs link it).
fn link_found_account(
    state: &AppState,
    e: &mut crate::model::RawEmployee,
    found: &[crate::model::Auth0User],
) {
    if e.auth0_user_id.is_none() && state.ctx.write_back.is_none() {
        if let [one] = found {
            e.auth0_user_id = Some(one.user_id.0.clone());
        }
    }
}

/// A run's stored plan as the planner's JSON, whichever version stored it
/// (null: none, or one this rosterd cannot read).
async fn plan_of(state: &AppState, run: &RunRecord) -> ApiResult<Value> {
    let plan = state.ctx.store.stored_plan(run).await.map_err(internal)?;
    Ok(plan
        .ok()
        .flatten()
        .and_then(|p| serde_json::to_value(p).ok())
        .unwrap_or(Value::Null))
}

fn auth0_error(e: crate::auth0::Auth0Error) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "auth0", e.to_string())
}

async fn load_run(state: &AppState, raw: &str) -> ApiResult<RunRecord> {
    let id = parse_id(raw, "run id")?;
    state
        .ctx
        .store
        .get_run(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))
}

async fn get_run(State(state): State<AppState>, Path(raw): Path<String>) -> ApiResult<Json<Value>> {
    let run = load_run(&state, &raw).await?;
    let actions = state
        .ctx
        .store
        .run_actions(run.id)
        .await
        .map_err(internal)?;
    let mut body = run_json(&run);
    body["plan"] = plan_of(&state, &run).await?;
    body["actions"] = json!(actions
        .iter()
        .map(|a| json!({
            "seq": a.seq, "kind": a.kind, "employee_id": a.employee_id, "auth0_user_id": a.auth0_user_id,
            "reason": a.reason, "status": a.status, "error": a.error, "finished_at": a.finished_at,
            "detail": serde_json::from_str::<Value>(&a.detail).unwrap_or(Value::Null),
        }))
        .collect::<Vec<_>>());
    Ok(Json(body))
}

async fn approve_run(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let run = load_run(&state, &raw).await?;
    let opts = crate::held::approval(&state.ctx.store, run.id, &actor.0)
        .await
        .map_err(decision_error)?;
    // Recorded and audited as the run opens (`run::open_run`).
    let id = state.driver.start(opts).await.map_err(start_error)?;
    Ok(started(id, false))
}

fn decision_error(e: DecisionError) -> ApiError {
    match e {
        DecisionError::NotFound(_) => ApiError::not_found(e.to_string()),
        DecisionError::NotHeld { .. } => ApiError::conflict("not_held", e.to_string()),
        DecisionError::Rollback(_) => ApiError::conflict("held_rollback", e.to_string()),
        DecisionError::Paused(_) => ApiError::conflict("paused", e.to_string()),
        other => internal(other),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    reason: Option<String>,
}

async fn reject_run(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let body: RejectBody = parse_body(&headers, &read_body(body)?)?;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 1000)
    {
        return Err(ApiError::bad_request(
            "reason must be at most 1000 characters",
        ));
    }
    let id = parse_id(&raw, "run id")?;
    let rejection = crate::held::reject(&state.ctx.store, id, &actor.0, body.reason.as_deref())
        .await
        .map_err(decision_error)?;
    tracing::warn!(actor = %actor.0, held_run = id, "held run rejected");
    let note = &rejection.note;
    audit(&state, &actor, "reject_run", Some(&format!("{id}: {note}"))).await;
    let run = load_run(&state, &raw).await?;
    let mut body = run_json(&run);
    body["also_rejected"] = json!(rejection.also);
    Ok(Json(body))
}

/// The `kind` query parameter: a finding kind, or none.
fn finding_kind(raw: Option<&str>) -> ApiResult<Option<FindingKind>> {
    raw.map(str::parse::<FindingKind>)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("kind must be one of {}", e.known)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingsQuery {
    kind: Option<String>,
}

async fn findings(
    State(state): State<AppState>,
    q: Result<Query<FindingsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let kind = finding_kind(q.kind.as_deref())?;
    let Some(run) = state
        .ctx
        .store
        .latest_planned_run()
        .await
        .map_err(internal)?
    else {
        return Ok(Json(json!({ "run_id": null, "findings": [] })));
    };
    let plan = plan_of(&state, &run).await?;
    let all = plan["findings"].as_array().cloned().unwrap_or_default();
    let findings: Vec<Value> = all
        .into_iter()
        .filter(|f| kind.is_none_or(|k| f["kind"] == k.as_str()))
        .collect();
    Ok(Json(json!({ "run_id": run.id, "findings": findings })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingBody {
    podfactory_user_id: String,
    employee_id: i64,
}

async fn create_mapping(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let body: MappingBody = parse_body(&headers, &read_body(body)?)?;
    let m = triage::link(
        &state.ctx,
        &body.podfactory_user_id,
        body.employee_id,
        &actor.0,
    )
    .await
    .map_err(triage_error)?;
    Ok((StatusCode::CREATED, Json(json!(m))).into_response())
}

fn triage_error(e: TriageError) -> ApiError {
    match e {
        TriageError::NoEmployee(_) | TriageError::BadInput(_) => {
            ApiError::bad_request(e.to_string())
        }
        TriageError::Conflict(_) => ApiError::conflict("conflict", e.to_string()),
        TriageError::UnreadablePlan { .. } | TriageError::Store(_) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NonEmployeeBody {
    podfactory_user_id: String,
    note: Option<String>,
}

async fn mark_not_employee(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let body: NonEmployeeBody = parse_body(&headers, &read_body(body)?)?;
    let marked = triage::not_employee(
        &state.ctx,
        &body.podfactory_user_id,
        body.note.as_deref(),
        &actor.0,
    )
    .await
    .map_err(triage_error)?;
    Ok((StatusCode::CREATED, Json(json!(marked))).into_response())
}

async fn list_non_employees(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let all = state.ctx.store.non_employees().await.map_err(internal)?;
    Ok(Json(json!({ "non_employees": all })))
}

async fn unmark_not_employee(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if !triage::undo_not_employee(&state.ctx, &id, &actor.0)
        .await
        .map_err(triage_error)?
    {
        return Err(ApiError::not_found(format!(
            "PodFactory user {:?} is not marked not an employee",
            id.trim()
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    key: String,
    note: Option<String>,
}

async fn acknowledge(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let body: AckBody = parse_body(&headers, &read_body(body)?)?;
    let ack = triage::acknowledge(&state.ctx, &body.key, body.note.as_deref(), &actor.0)
        .await
        .map_err(triage_error)?;
    Ok((StatusCode::CREATED, Json(json!(ack))).into_response())
}

async fn list_acks(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let all = state.ctx.store.finding_acks().await.map_err(internal)?;
    Ok(Json(json!({ "acks": all })))
}

/// The key arrives URL-encoded (keys hold `|` and `,`); the path extractor
/// decodes it.
async fn unacknowledge(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    if !triage::unacknowledge(&state.ctx, &key, &actor.0)
        .await
        .map_err(triage_error)?
    {
        return Err(ApiError::not_found(format!(
            "no acknowledged finding with key {key:?}"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriageQuery {
    kind: Option<String>,
    acknowledged: Option<bool>,
}

async fn triage_queue(
    State(state): State<AppState>,
    q: Result<Query<TriageQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let kind = finding_kind(q.kind.as_deref())?;
    let queue = triage::queue(&state.ctx, kind, q.acknowledged.unwrap_or(false))
        .await
        .map_err(triage_error)?;
    Ok(Json(json!({
        "run": queue.run.as_ref().map(run_json),
        "items": queue.items,
        "held": queue.held.iter().map(run_json).collect::<Vec<_>>(),
    })))
}

async fn list_mappings(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let m = state.ctx.store.manual_mappings().await.map_err(internal)?;
    Ok(Json(json!({ "mappings": m })))
}

async fn delete_mapping(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&raw, "mapping id")?;
    if !crate::triage::unlink(&state.ctx, id, &actor.0)
        .await
        .map_err(internal)?
    {
        return Err(ApiError::not_found(format!("no mapping {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn get_employee(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&raw, "employee id")?;
    let store = &state.ctx.store;
    let e = load_employee(&state, id).await?;
    let auth0 = match e.auth0_user_id.as_deref() {
        Some(uid) => match state
            .ctx
            .auth0
            .get_user(&crate::model::Auth0UserId(uid.to_string()))
            .await
        {
            Ok(u) => json!(u),
            Err(err) => json!({ "user_id": uid, "error": err.to_string() }),
        },
        None => Value::Null,
    };
    let links = store.podfactory_links(id).await.map_err(internal)?;
    let actions = store.employee_actions(id, 20).await.map_err(internal)?;
    Ok(Json(json!({
        "employee": e,
        "auth0": auth0,
        "podfactory": links,
        "recent_actions": actions.iter().map(|(run_id, a)| json!({
            "run_id": run_id, "kind": a.kind, "status": a.status, "reason": a.reason,
            "error": a.error, "finished_at": a.finished_at,
        })).collect::<Vec<_>>(),
    })))
}

/// Credentials as issued: shown once, never stored or logged.
pub(crate) enum Issued {
    Password(crate::config::Secret),
    Ticket(crate::config::Secret),
}

/// Onboarding credentials for employee `id`: a fresh password or a ticket
/// URL, for the API and the console alike, with the employee they are for.
/// The audit records who asked, not what was given.
async fn issue_credentials(
    state: &AppState,
    id: i64,
    actor: &Actor,
) -> ApiResult<(crate::model::RawEmployee, crate::model::Auth0UserId, Issued)> {
    let ctx = &state.ctx;
    let e = load_employee(state, id).await?;
    if !e.is_active {
        return Err(ApiError::conflict(
            "inactive",
            format!("employee {id} is inactive"),
        ));
    }
    // What policy.exclude leaves alone, rosterd does not touch on a click
    // either.
    let policy = &ctx.settings.policy.exclude;
    if policy.employee_ids.contains(&id) {
        return Err(ApiError::conflict(
            "excluded",
            format!("employee {id} is excluded by policy.exclude.employee_ids"),
        ));
    }
    let excluded = |a: &crate::model::Auth0User| ctx.exclusions.reason(a);
    let refuse = |a: &crate::model::Auth0User, rule: String| {
        ApiError::conflict(
            "excluded",
            format!(
                "account {} is excluded by {rule}: rosterd does not touch it",
                a.user_id
            ),
        )
    };
    let Some(uid) = e.auth0_user_id.clone().map(crate::model::Auth0UserId) else {
        // No account of theirs, unless an excluded one stands for it: runs
        // create none then, so "the next run creates it" would be untrue.
        let mut theirs = ctx
            .auth0
            .users_with_employee_id(id)
            .await
            .map_err(auth0_error)?;
        if let Some(email) = e
            .email
            .as_deref()
            .and_then(|m| crate::model::Email::parse(m).ok())
        {
            theirs.extend(
                ctx.auth0
                    .users_by_email(&email)
                    .await
                    .map_err(auth0_error)?,
            );
        }
        if let Some((a, rule)) = theirs.iter().find_map(|a| Some((a, excluded(a)?))) {
            return Err(refuse(a, rule));
        }
        return Err(ApiError::conflict(
            "no_account",
            format!("employee {id} has no Auth0 account yet; the next run creates it"),
        ));
    };
    let account = ctx.auth0.get_user(&uid).await.map_err(auth0_error)?;
    if let Some(rule) = excluded(&account) {
        return Err(refuse(&account, rule));
    }
    let s = &ctx.settings.serve;
    let issued = if s.credentials == "ticket" {
        let ticket = ctx
            .auth0
            .password_change_ticket(&uid, s.ticket_ttl_secs)
            .await
            .map_err(auth0_error)?;
        Issued::Ticket(crate::config::Secret::new(ticket))
    } else {
        let password = crate::password::generate();
        ctx.auth0
            .set_password(&uid, &password)
            .await
            .map_err(auth0_error)?;
        Issued::Password(password)
    };
    tracing::warn!(actor = %actor.0, employee_id = id, mode = %s.credentials, "onboarding credentials issued");
    audit(state, actor, "credentials", Some(&id.to_string())).await;
    Ok((e, uid, issued))
}

async fn credentials(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&raw, "employee id")?;
    let (_, uid, issued) = issue_credentials(&state, id, &actor).await?;
    let body = match issued {
        Issued::Ticket(ticket) => {
            json!({ "employee_id": id, "auth0_user_id": uid.0, "ticket": ticket.expose() })
        }
        Issued::Password(password) => {
            json!({ "employee_id": id, "auth0_user_id": uid.0, "password": password.expose(),
                    "note": "shown once; rosterd keeps no copy" })
        }
    };
    Ok((
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response())
}
