//! Users export and import jobs, and the export files the simulator serves
//! itself in place of Auth0's signed S3 links.
//!
//! An export stays `pending` for `export_delay_ms` and then snapshots the
//! tenant — all of it, not the 1,000 users `/users` paging stops at, which
//! is why rosterd reads the tenant this way. An import is applied when it
//! is posted (answering `pending` as Auth0 does) and reads `completed`
//! afterwards, its per-user failures at `/jobs/{id}/errors`.

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::errors::{check_type, json_object, reject_unknown, type_name, ApiError, ApiResult};
use super::server::{public_base, Sim};
use super::state::{self, connection_id_of, now_iso, random_alnum, Doc, State as Tenant};
use super::users::{new_user, path_id, valid_email, Origin};

pub(crate) struct Job {
    /// The job as `GET /api/v2/jobs/{id}` returns it.
    pub doc: Doc,
    /// Import failures, as `GET /api/v2/jobs/{id}/errors` returns them.
    pub errors: Vec<Value>,
    /// The gzipped export, once completed.
    pub file: Option<Arc<Vec<u8>>>,
}

fn job_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "The job does not exist.").code("inexistent_job")
}

fn no_connection() -> ApiError {
    ApiError::bad_request("The connection does not exist", "inexistent_connection")
}

#[derive(Debug, Clone)]
struct ExportField {
    name: String,
    export_as: Option<String>,
}

/// When `fields` is omitted Auth0 exports "a predefined set"; this is the
/// profile part of it that rosterd's reader understands.
const DEFAULT_EXPORT_FIELDS: &[&str] = &[
    "user_id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "blocked",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
    "identities[0].connection",
    "app_metadata",
    "user_metadata",
];

/// Auth0 caps an export at this many fields.
const MAX_EXPORT_FIELDS: usize = 30;

fn parse_fields(body: &Map<String, Value>) -> ApiResult<Option<Vec<ExportField>>> {
    let Some(raw) = body.get("fields") else {
        return Ok(None);
    };
    let Value::Array(items) = raw else {
        return Err(ApiError::payload_on(
            format!("Expected type array but found type {}", type_name(raw)),
            "fields",
        ));
    };
    if items.is_empty() || items.len() > MAX_EXPORT_FIELDS {
        return Err(ApiError::payload_on(
            format!("Array must hold 1 to {MAX_EXPORT_FIELDS} items"),
            "fields",
        ));
    }
    items
        .iter()
        .map(|item| {
            let Value::Object(f) = item else {
                return Err(ApiError::payload_on("Expected type object", "fields"));
            };
            reject_unknown(f, &["name", "export_as"])?;
            check_type(f, "export_as", "string", false)?;
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ApiError::payload_on("Missing required property: name", "fields"))?;
            Ok(ExportField {
                name: name.to_string(),
                export_as: f
                    .get("export_as")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Some)
}

/// A value at an export path: dots into objects, `[n]` into arrays.
fn export_value(doc: &Doc, path: &str) -> Option<Value> {
    let mut current: Option<&Value> = None;
    for (i, segment) in path.split('.').enumerate() {
        let (key, index) = match segment.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let next = if i == 0 {
            doc.get(key)
        } else {
            current?.get(key)
        };
        current = match index {
            Some(n) => next?.get(n),
            None => next,
        };
    }
    current.cloned()
}

fn export_row(doc: &Doc, fields: &[ExportField]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| {
            let key = f.export_as.clone().unwrap_or_else(|| f.name.clone());
            export_value(doc, &f.name).map(|v| (key, v))
        })
        .collect()
}

fn csv_cell(v: Option<&Value>) -> String {
    let text = match v {
        None | Some(Value::Null) => return String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn gzip_export(
    rows: &[Map<String, Value>],
    columns: &[String],
    csv: bool,
) -> std::io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    if csv {
        let header: Vec<String> = columns.iter().map(|c| csv_cell(Some(&json!(c)))).collect();
        writeln!(gz, "{}", header.join(","))?;
        for row in rows {
            let cells: Vec<String> = columns.iter().map(|c| csv_cell(row.get(c))).collect();
            writeln!(gz, "{}", cells.join(","))?;
        }
    } else {
        for row in rows {
            serde_json::to_writer(&mut gz, row)?;
            gz.write_all(b"\n")?;
        }
    }
    gz.finish()
}

pub(crate) async fn create_export(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = json_object(&headers, body, sim.cfg.max_body_bytes).await?;
    reject_unknown(&body, &["connection_id", "format", "limit", "fields"])?;
    check_type(&body, "connection_id", "string", false)?;
    check_type(&body, "format", "string", false)?;
    check_type(&body, "limit", "integer", false)?;
    let format = body.get("format").and_then(Value::as_str).unwrap_or("csv");
    if format != "json" && format != "csv" {
        return Err(ApiError::payload_on(
            format!("No enum match for: {format}"),
            "format",
        ));
    }
    let limit = match body.get("limit").and_then(Value::as_i64) {
        Some(n) if n < 1 => {
            return Err(ApiError::payload_on(
                "Value is less than minimum 1",
                "limit",
            ));
        }
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        None => None,
    };
    let requested = parse_fields(&body)?;
    let connection_id = body.get("connection_id").and_then(Value::as_str);
    let connection = match connection_id {
        Some(id) => Some(
            sim.tenant()
                .connection_by_id(id)
                .ok_or_else(no_connection)?,
        ),
        None => None,
    };

    let id = format!("job_{}", random_alnum(16));
    let mut doc = Map::new();
    doc.insert("type".into(), json!("users_export"));
    doc.insert("status".into(), json!("pending"));
    if let (Some(cid), Some(name)) = (connection_id, &connection) {
        doc.insert("connection_id".into(), json!(cid));
        doc.insert("connection".into(), json!(name));
    }
    doc.insert("format".into(), json!(format));
    if let Some(n) = limit {
        doc.insert("limit".into(), json!(n));
    }
    if let Some(fields) = body.get("fields") {
        doc.insert("fields".into(), fields.clone());
    }
    doc.insert("created_at".into(), json!(now_iso()));
    doc.insert("id".into(), json!(id));
    sim.tenant().jobs.insert(
        id.clone(),
        Job {
            doc: doc.clone(),
            errors: Vec::new(),
            file: None,
        },
    );

    let fields = requested.unwrap_or_else(|| {
        DEFAULT_EXPORT_FIELDS
            .iter()
            .map(|name| ExportField {
                name: name.to_string(),
                export_as: None,
            })
            .collect()
    });
    let ext = if format == "json" { "json" } else { "csv" };
    let location = format!(
        "{}/__sim/exports/{id}.{ext}.gz",
        public_base(&headers, &sim)
    );
    let csv = format == "csv";
    let worker = sim.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(worker.cfg.export_delay_ms)).await;
        let rows: Vec<Map<String, Value>> = {
            let tenant = worker.tenant();
            tenant
                .users()
                .filter(|d| {
                    connection
                        .as_deref()
                        .is_none_or(|c| state::connection(d) == Some(c))
                })
                .take(limit.unwrap_or(usize::MAX))
                .map(|d| export_row(d, &fields))
                .collect()
        };
        let columns: Vec<String> = fields
            .iter()
            .map(|f| f.export_as.clone().unwrap_or_else(|| f.name.clone()))
            .collect();
        let packed = tokio::task::spawn_blocking(move || gzip_export(&rows, &columns, csv)).await;
        let mut tenant = worker.tenant();
        let Some(job) = tenant.jobs.get_mut(&id) else {
            return; // reset while pending
        };
        match packed {
            Ok(Ok(bytes)) => {
                job.file = Some(Arc::new(bytes));
                job.doc.insert("status".into(), json!("completed"));
                job.doc.insert("location".into(), json!(location));
            }
            _ => {
                job.doc.insert("status".into(), json!("failed"));
            }
        }
    });
    Ok((StatusCode::CREATED, Json(Value::Object(doc))))
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

pub(crate) async fn get_errors(
    State(sim): State<Arc<Sim>>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let id = path_id(id)?;
    let tenant = sim.tenant();
    let job = tenant.jobs.get(&id).ok_or_else(job_not_found)?;
    if job.errors.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(Value::Array(job.errors.clone())).into_response())
}

/// `GET /__sim/exports/{job_id}.json.gz`: stands in for the signed URL.
pub(crate) async fn download(
    State(sim): State<Arc<Sim>>,
    file: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let file = path_id(file)?;
    let id = file.split('.').next().unwrap_or_default();
    let bytes = {
        let tenant = sim.tenant();
        tenant.jobs.get(id).and_then(|job| job.file.clone())
    }
    .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No such export"))?;
    Ok((
        [(header::CONTENT_TYPE, "application/gzip")],
        Body::from(bytes.as_ref().clone()),
    )
        .into_response())
}

/// The bulk-import user schema (a subset of Auth0's; hashes are accepted
/// and ignored since the simulator stores no credentials).
const IMPORT_FIELDS: &[&str] = &[
    "email",
    "email_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "app_metadata",
    "user_metadata",
    "phone_number",
    "password_hash",
    "custom_password_hash",
    "mfa_factors",
];

/// Auth0's import files are limited to 500 KB.
const IMPORT_FILE_LIMIT: usize = 500 * 1024;

enum Imported {
    Inserted,
    Updated,
}

fn import_error(code: &str, message: &str) -> Value {
    json!([{ "code": code, "message": message, "path": "" }])
}

fn import_one(
    tenant: &mut Tenant,
    entry: &Value,
    connection: &str,
    upsert: bool,
    min_len: usize,
) -> Result<Imported, Value> {
    let Value::Object(user) = entry else {
        return Err(import_error("INVALID_TYPE", "Expected type object"));
    };
    if let Some(extra) = user.keys().find(|k| !IMPORT_FIELDS.contains(&k.as_str())) {
        return Err(import_error(
            "OBJECT_ADDITIONAL_PROPERTIES",
            &format!("Additional properties not allowed: {extra}"),
        ));
    }
    let email = user
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase();
    if email.is_empty() {
        return Err(import_error(
            "OBJECT_MISSING_REQUIRED_PROPERTY",
            "Missing required property: email",
        ));
    }
    if !valid_email(&email) {
        return Err(import_error(
            "INVALID_FORMAT",
            &format!("Object didn't pass validation for format email: {email}"),
        ));
    }
    if let Some(existing) = tenant.find_email(connection, &email) {
        if !upsert {
            return Err(import_error(
                "DUPLICATED_USER",
                "The user already exist and upsert parameter is false",
            ));
        }
        let mut doc = existing.clone();
        for (k, v) in user {
            if !matches!(
                k.as_str(),
                "user_id" | "password_hash" | "custom_password_hash" | "mfa_factors"
            ) {
                doc.insert(k.clone(), v.clone());
            }
        }
        doc.insert("email".into(), json!(email));
        doc.insert("updated_at".into(), json!(now_iso()));
        tenant.replace(doc);
        return Ok(Imported::Updated);
    }
    let mut body: Map<String, Value> = user
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "password_hash" | "custom_password_hash" | "mfa_factors"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    body.insert("connection".into(), json!(connection));
    match new_user(tenant, &body, Origin::Seed, min_len) {
        Ok(doc) => {
            tenant.insert(doc);
            Ok(Imported::Inserted)
        }
        Err(e) if e.status() == StatusCode::CONFLICT => {
            Err(import_error("DUPLICATED_USER", "The user already exists"))
        }
        Err(e) => Err(import_error("INVALID_FORMAT", e.message())),
    }
}

fn multipart_error(status: StatusCode, limit: usize) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(limit)
    } else {
        ApiError::bad_request("Invalid multipart payload", "invalid_body")
    }
}

pub(crate) async fn create_import(
    State(sim): State<Arc<Sim>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let limit = sim.cfg.max_body_bytes;
    let mut multipart = multipart.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(limit)
        } else {
            ApiError::bad_request(
                "Invalid request payload: expected multipart/form-data",
                "invalid_body",
            )
        }
    })?;
    let mut users_file = None;
    let mut connection_id = None;
    let mut upsert = false;
    let mut external_id = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), limit))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let data = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e.status(), limit))?;
        let text = || String::from_utf8_lossy(&data).trim().to_string();
        match name.as_str() {
            "users" => users_file = Some(data.clone()),
            "connection_id" => connection_id = Some(text()),
            "upsert" => upsert = text() == "true",
            "external_id" => external_id = Some(text()),
            _ => {} // send_completion_email and the like: nothing to send here
        }
    }
    let users_file =
        users_file.ok_or_else(|| ApiError::payload("Missing required property: users"))?;
    let connection_id = connection_id
        .ok_or_else(|| ApiError::payload("Missing required property: connection_id"))?;
    if users_file.len() > IMPORT_FILE_LIMIT {
        return Err(ApiError::too_large(IMPORT_FILE_LIMIT));
    }
    let Ok(Value::Array(entries)) = serde_json::from_slice::<Value>(&users_file) else {
        return Err(ApiError::bad_request(
            "Users file must be a JSON array of users",
            "invalid_body",
        ));
    };

    let id = format!("job_{}", random_alnum(16));
    let (inserted, updated, errors, connection) = {
        let mut tenant = sim.tenant();
        let connection = tenant
            .connection_by_id(&connection_id)
            .ok_or_else(no_connection)?;
        let (mut inserted, mut updated, mut errors) = (0u64, 0u64, Vec::new());
        for entry in &entries {
            match import_one(
                &mut tenant,
                entry,
                &connection,
                upsert,
                sim.cfg.password_min_length,
            ) {
                Ok(Imported::Inserted) => inserted += 1,
                Ok(Imported::Updated) => updated += 1,
                Err(errs) => errors.push(json!({ "user": entry, "errors": errs })),
            }
        }
        (inserted, updated, errors, connection)
    };
    if inserted + updated > 0 {
        sim.changed();
    }
    let mut doc = Map::new();
    doc.insert("type".into(), json!("users_import"));
    doc.insert("status".into(), json!("pending"));
    doc.insert("created_at".into(), json!(now_iso()));
    doc.insert("id".into(), json!(id));
    doc.insert("connection_id".into(), json!(connection_id_of(&connection)));
    doc.insert("connection".into(), json!(connection));
    doc.insert("upsert".into(), json!(upsert));
    if let Some(ext) = external_id {
        doc.insert("external_id".into(), json!(ext));
    }
    let answer = doc.clone();
    doc.insert("status".into(), json!("completed"));
    doc.insert(
        "summary".into(),
        json!({
            "failed": errors.len(),
            "updated": updated,
            "inserted": inserted,
            "total": entries.len(),
        }),
    );
    sim.tenant().jobs.insert(
        id,
        Job {
            doc,
            errors,
            file: None,
        },
    );
    Ok((StatusCode::ACCEPTED, Json(Value::Object(answer))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_paths() {
        let doc = json!({
            "user_id": "auth0|1",
            "identities": [{"connection": "db"}],
            "app_metadata": {"employee_id": 7}
        });
        let doc = doc.as_object().cloned().unwrap_or_default();
        assert_eq!(
            export_value(&doc, "identities[0].connection"),
            Some(json!("db"))
        );
        assert_eq!(
            export_value(&doc, "app_metadata.employee_id"),
            Some(json!(7))
        );
        assert_eq!(export_value(&doc, "app_metadata.missing"), None);
        assert_eq!(export_value(&doc, "nothing.here"), None);
    }
}
