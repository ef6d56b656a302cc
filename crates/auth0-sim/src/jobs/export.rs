//! `POST /api/v2/jobs/users-exports` and the file it produces.
//!
//! An export stays `pending` for `export_delay_ms`, then snapshots the
//! tenant — all of it, not the 1,000 users `/users` paging stops at, which
//! is why rosterd reads the tenant this way. Every rosterd run starts with
//! one, so it is built to be cheap: rows are written straight from the
//! stored documents into one buffer while the tenant is locked (no per-row
//! copy), gzipped outside the lock in one pass, and served as shared
//! `Bytes`.

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::super::errors::{
    check_type, json_object, reject_unknown, type_name, ApiError, ApiResult,
};
use super::super::server::{public_base, Sim};
use super::super::state::{self, now_iso, random_alnum, Doc};
use super::super::users::path_id;
use super::{no_connection, Job};

#[derive(Debug, Clone)]
struct ExportField {
    name: String,
    export_as: Option<String>,
}

impl ExportField {
    fn column(&self) -> &str {
        self.export_as.as_deref().unwrap_or(&self.name)
    }
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
fn export_value<'d>(doc: &'d Doc, path: &str) -> Option<&'d Value> {
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
    current
}

/// The row's fields in request order, one per column name: a name asked
/// for twice keeps its last source, as a JSON object would.
fn distinct_columns(fields: Vec<ExportField>) -> Vec<ExportField> {
    let mut out: Vec<ExportField> = Vec::with_capacity(fields.len());
    for field in fields {
        out.retain(|f| f.column() != field.column());
        out.push(field);
    }
    out
}

/// One NDJSON line, written from the document without building a row.
fn write_json_row(out: &mut Vec<u8>, doc: &Doc, fields: &[ExportField]) -> serde_json::Result<()> {
    out.push(b'{');
    let mut first = true;
    for field in fields {
        let Some(value) = export_value(doc, &field.name) else {
            continue; // absent fields are left out, as Auth0 does
        };
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, field.column())?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value)?;
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

fn write_csv_cell(out: &mut Vec<u8>, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        for (i, piece) in text.split('"').enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\"\"");
            }
            out.extend_from_slice(piece.as_bytes());
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

fn write_csv_header(out: &mut Vec<u8>, fields: &[ExportField]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_csv_cell(out, field.column());
    }
    out.push(b'\n');
}

/// One CSV line: strings as they are, other values as their JSON text,
/// absent and null as an empty cell.
fn write_csv_row(out: &mut Vec<u8>, scratch: &mut String, doc: &Doc, fields: &[ExportField]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match export_value(doc, &field.name) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => write_csv_cell(out, s),
            Some(other) => {
                scratch.clear();
                // Writing JSON into a String cannot fail.
                let _ = std::fmt::Write::write_fmt(scratch, format_args!("{other}"));
                write_csv_cell(out, scratch);
            }
        }
    }
    out.push(b'\n');
}

/// The export's plain text, straight from the tenant's documents.
fn render<'d>(
    docs: impl Iterator<Item = &'d Doc>,
    fields: &[ExportField],
    csv: bool,
) -> serde_json::Result<Vec<u8>> {
    // Rows run a few hundred bytes; growing from zero would copy the
    // buffer ~20 times on a large tenant.
    let mut out = Vec::with_capacity(64 * 1024);
    if csv {
        write_csv_header(&mut out, fields);
        let mut scratch = String::new();
        for doc in docs {
            write_csv_row(&mut out, &mut scratch, doc, fields);
        }
    } else {
        for doc in docs {
            write_json_row(&mut out, doc, fields)?;
        }
    }
    Ok(out)
}

/// One `write_all` of the whole text: flate2 then works in its own 32 KiB
/// steps instead of zero-filling an output buffer per tiny write.
fn gzip(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::with_capacity(plain.len() / 4), Compression::fast());
    gz.write_all(plain)?;
    gz.finish()
}

pub(crate) async fn create(
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
    sim.tenant().jobs.insert(id.clone(), Job::new(doc.clone()));

    let fields = distinct_columns(requested.unwrap_or_else(|| {
        DEFAULT_EXPORT_FIELDS
            .iter()
            .map(|name| ExportField {
                name: name.to_string(),
                export_as: None,
            })
            .collect()
    }));
    let ext = if format == "json" { "json" } else { "csv" };
    let location = format!(
        "{}/__sim/exports/{id}.{ext}.gz",
        public_base(&headers, &sim)
    );
    let csv = format == "csv";
    let worker = sim.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(worker.cfg.export_delay_ms)).await;
        let plain = {
            let mut tenant = worker.tenant();
            let Some(job) = tenant.jobs.get_mut(&id) else {
                return; // reset while pending
            };
            job.set_status("processing");
            let docs = tenant
                .users()
                .filter(|d| {
                    connection
                        .as_deref()
                        .is_none_or(|c| state::connection(d) == Some(c))
                })
                .take(limit.unwrap_or(usize::MAX));
            render(docs, &fields, csv)
        };
        let packed = match plain {
            Ok(plain) => tokio::task::spawn_blocking(move || gzip(&plain))
                .await
                .ok()
                .and_then(Result::ok),
            Err(_) => None,
        };
        let mut tenant = worker.tenant();
        let Some(job) = tenant.jobs.get_mut(&id) else {
            return; // reset while processing
        };
        match packed {
            Some(bytes) => {
                job.file = Some(Bytes::from(bytes));
                job.set_status("completed");
                job.doc.insert("location".into(), json!(location));
            }
            None => job.set_status("failed"),
        }
    });
    Ok((StatusCode::CREATED, Json(Value::Object(doc))))
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
        Body::from(bytes),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: Value) -> Doc {
        v.as_object().cloned().unwrap_or_default()
    }

    fn field(name: &str, export_as: Option<&str>) -> ExportField {
        ExportField {
            name: name.into(),
            export_as: export_as.map(str::to_string),
        }
    }

    #[test]
    fn export_paths() {
        let doc = doc(json!({
            "user_id": "auth0|1",
            "identities": [{"connection": "db"}],
            "app_metadata": {"employee_id": 7}
        }));
        assert_eq!(
            export_value(&doc, "identities[0].connection"),
            Some(&json!("db"))
        );
        assert_eq!(
            export_value(&doc, "app_metadata.employee_id"),
            Some(&json!(7))
        );
        assert_eq!(export_value(&doc, "app_metadata.missing"), None);
        assert_eq!(export_value(&doc, "nothing.here"), None);
    }

    #[test]
    fn rows_follow_the_fields_leave_out_absent_ones_and_quote_csv() {
        let users = [
            doc(
                json!({"user_id": "auth0|1", "name": "Doe, \"Jo\"", "blocked": true,
                       "app_metadata": {"employee_id": 7}}),
            ),
            doc(json!({"user_id": "auth0|2"})),
        ];
        let fields = distinct_columns(vec![
            field("name", None),
            field("user_id", Some("id")),
            field("blocked", None),
            field("app_metadata", None),
            field("app_metadata.employee_id", Some("id")),
        ]);
        let json = render(users.iter(), &fields, false).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&json),
            "{\"name\":\"Doe, \\\"Jo\\\"\",\"blocked\":true,\"app_metadata\":{\"employee_id\":7},\"id\":7}\n{}\n"
        );
        let csv = render(users.iter(), &fields, true).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&csv),
            "name,blocked,app_metadata,id\n\"Doe, \"\"Jo\"\"\",true,\"{\"\"employee_id\"\":7}\",7\n,,,\n"
        );
    }
}
