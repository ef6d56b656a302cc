//! Users export and import jobs: what they share (the job record,
//! `GET /api/v2/jobs/{id}` and `/errors`); each kind lives in its own module.
//!
//! Both run in the background as Auth0's do, so a client has to poll:
//! `pending` → `processing` → `completed` (or `failed`). An export then
//! serves its file from `/__sim/exports/{file}` in place of Auth0's signed
//! S3 link; an import applies its users only when it completes, and keeps
//! its per-user failures for `/errors`.

pub(crate) mod export;
pub(crate) mod import;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

use super::errors::{ApiError, ApiResult};
use super::server::Sim;
use super::state::Doc;
use super::users::path_id;

pub(crate) struct Job {
    /// The job as `GET /api/v2/jobs/{id}` returns it.
    pub doc: Doc,
    /// Import failures, as `GET /api/v2/jobs/{id}/errors` returns them.
    pub errors: Vec<Value>,
    /// The gzipped export, once completed; `Bytes` so a download shares it.
    pub file: Option<Bytes>,
}

impl Job {
    pub(crate) fn new(doc: Doc) -> Job {
        Job {
            doc,
            errors: Vec::new(),
            file: None,
        }
    }

    pub(crate) fn status(&self) -> &str {
        self.doc
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub(crate) fn set_status(&mut self, status: &str) {
        self.doc.insert("status".into(), json!(status));
    }

    fn is_import(&self) -> bool {
        self.doc.get("type").and_then(Value::as_str) == Some("users_import")
    }

    /// Counts against the concurrent-import limit.
    pub(crate) fn is_active_import(&self) -> bool {
        self.is_import() && matches!(self.status(), "pending" | "processing")
    }
}

fn job_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "The job does not exist.").code("inexistent_job")
}

fn no_connection() -> ApiError {
    ApiError::bad_request("The connection does not exist", "inexistent_connection")
}

pub(crate) async fn get_job(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let id = path_id(id)?;
    let tenant = sim.tenant();
    let job = tenant.jobs.get(&id).ok_or_else(job_not_found)?;
    Ok(Json(Value::Object(job.doc.clone())))
}

/// Per-user failures of an import; a failed job answers with itself (its
/// `status_details` say why), and no failures is an empty 204.
pub(crate) async fn get_errors(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let id = path_id(id)?;
    let tenant = sim.tenant();
    let job = tenant.jobs.get(&id).ok_or_else(job_not_found)?;
    if job.status() == "failed" {
        return Ok(Json(Value::Object(job.doc.clone())).into_response());
    }
    if job.errors.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(Value::Array(job.errors.clone())).into_response())
}
