//! `POST /api/v2/jobs/users-imports`: Auth0's bulk import, as its docs
//! describe it (auth0.com/docs "Bulk User Imports" and "User Profile
//! Attribute Schema"), so a client written against them works here:
//!
//! - The POST checks the form (`users` file, `connection_id`), the 500 KB
//!   file limit (413) and the limit of concurrent import jobs (429, "There
//!   are 2 active import users jobs, ..."), and answers 202 `pending`.
//! - The job stays `pending` for `import_delay_ms`, then reads the file: one
//!   that is not a JSON array fails the job (`failed`, `status_details`), as
//!   Auth0 fails a file it cannot parse. Otherwise it is `processing` for
//!   `import_user_micros` per user, with `percentage_done` and
//!   `time_left_seconds`, and then `completed` with `summary {failed,
//!   updated, inserted, total}`. The users appear in the tenant only then.
//! - One bad user never fails the job: it is a per-user entry at
//!   `/jobs/{id}/errors`, `{user, errors: [{code, message, path}]}`, the
//!   user as sent with password hashes redacted.
//! - `upsert=false`: an existing email (or user id) in the connection is
//!   `DUPLICATED_USER`. `upsert=true`: it is updated, but only in the
//!   upsertable attributes (`app_metadata` and `user_metadata` replaced
//!   whole, `email_verified`, `given_name`, `family_name`, `name`,
//!   `nickname`, `picture`); `blocked`, `username` and the rest are left as
//!   they were. The same email twice in one file is `DUPLICATED_USER`.
//!
//! Imported users carry no password (the simulator stores none anyway).

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::errors::{type_name, ApiError, ApiResult};
use super::super::server::Sim;
use super::super::state::{now_iso, random_alnum, State as Tenant};
use super::super::users::{new_user, valid_email, Origin};
use super::{no_connection, Job};

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

const STRING_FIELDS: &[&str] = &[
    "email",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "phone_number",
];
const BOOL_FIELDS: &[&str] = &["email_verified", "blocked"];
const OBJECT_FIELDS: &[&str] = &["app_metadata", "user_metadata"];

/// What an upsert may change on an existing user ("upsert" in Auth0's user
/// profile attribute table).
const UPSERTABLE: &[&str] = &[
    "app_metadata",
    "user_metadata",
    "email_verified",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
];

/// Never inserted into a user (the simulator keeps no credentials).
const CREDENTIALS: &[&str] = &["password_hash", "custom_password_hash", "mfa_factors"];

/// Auth0's import files are limited to 500 KB (its 413 names 512000).
const IMPORT_FILE_LIMIT: usize = 500 * 1024;

enum Imported {
    Inserted,
    Updated,
}

/// One entry of a per-user error's `errors`.
fn import_error(code: &str, message: &str, path: &str) -> Value {
    json!({ "code": code, "message": message, "path": path })
}

/// The user as sent, with password hashes masked as Auth0 masks them.
fn redacted(entry: &Value) -> Value {
    let mut user = entry.clone();
    if let Some(obj) = user.as_object_mut() {
        if obj.contains_key("password_hash") {
            obj.insert("password_hash".into(), json!("*****"));
        }
        if let Some(hash) = obj
            .get_mut("custom_password_hash")
            .and_then(|c| c.get_mut("hash"))
            .and_then(Value::as_object_mut)
        {
            if hash.contains_key("value") {
                hash.insert("value".into(), json!("*****"));
            }
        }
    }
    user
}

/// The schema checks, before the user meets the tenant; its email on success.
fn validate(user: &Map<String, Value>) -> Result<String, Value> {
    if let Some(extra) = user.keys().find(|k| !IMPORT_FIELDS.contains(&k.as_str())) {
        return Err(import_error(
            "OBJECT_ADDITIONAL_PROPERTIES",
            &format!("Additional properties not allowed: {extra}"),
            extra,
        ));
    }
    let typed = |keys: &[&str], want: &str, ok: fn(&Value) -> bool| {
        keys.iter().find_map(|key| {
            let v = user.get(*key)?;
            (!ok(v)).then(|| {
                import_error(
                    "INVALID_TYPE",
                    &format!("Expected type {want} but found type {}", type_name(v)),
                    key,
                )
            })
        })
    };
    if let Some(e) = typed(STRING_FIELDS, "string", Value::is_string)
        .or_else(|| typed(BOOL_FIELDS, "boolean", Value::is_boolean))
        .or_else(|| typed(OBJECT_FIELDS, "object", Value::is_object))
    {
        return Err(e);
    }
    let Some(email) = user.get("email").and_then(Value::as_str) else {
        return Err(import_error(
            "OBJECT_REQUIRED",
            "Missing required property: email",
            "email",
        ));
    };
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(import_error(
            "FORMAT",
            &format!("Object didn't pass validation for format email: {email}"),
            "email",
        ));
    }
    for (key, max) in [("given_name", 150), ("family_name", 150), ("name", 150)] {
        let n = user
            .get(key)
            .and_then(Value::as_str)
            .map_or(1, |s| s.chars().count());
        if n == 0 {
            return Err(import_error(
                "MIN_LENGTH",
                "String is too short (0 chars), minimum 1",
                key,
            ));
        }
        if n > max {
            return Err(import_error(
                "MAX_LENGTH",
                &format!("String is too long ({n} chars), maximum {max}"),
                key,
            ));
        }
    }
    Ok(email)
}

fn import_one(
    tenant: &mut Tenant,
    entry: &Value,
    connection: &str,
    upsert: bool,
    seen: &mut HashSet<String>,
    min_len: usize,
) -> Result<Imported, Value> {
    let Value::Object(user) = entry else {
        return Err(import_error(
            "INVALID_TYPE",
            &format!("Expected type object but found type {}", type_name(entry)),
            "",
        ));
    };
    let email = validate(user)?;
    // Auth0 does not insert and then update a user listed twice.
    if !seen.insert(email.clone()) {
        return Err(import_error(
            "DUPLICATED_USER",
            "The user is listed more than once in the users file",
            "email",
        ));
    }
    if let Some(existing) = tenant.find_email(connection, &email) {
        if !upsert {
            return Err(import_error(
                "DUPLICATED_USER",
                "The user already exist and upsert parameter is false",
                "",
            ));
        }
        let mut doc = existing.clone();
        for key in UPSERTABLE {
            if let Some(v) = user.get(*key) {
                doc.insert((*key).into(), v.clone());
            }
        }
        doc.insert("updated_at".into(), json!(now_iso()));
        tenant.replace(doc);
        return Ok(Imported::Updated);
    }
    let mut body: Map<String, Value> = user
        .iter()
        .filter(|(k, _)| !CREDENTIALS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    body.insert("connection".into(), json!(connection));
    match new_user(tenant, &body, Origin::Seed, min_len) {
        Ok(doc) => {
            tenant.insert(doc);
            Ok(Imported::Inserted)
        }
        Err(e) if e.status() == StatusCode::CONFLICT => Err(import_error(
            "DUPLICATED_USER",
            "The user already exist and upsert parameter is false",
            "",
        )),
        Err(e) => Err(import_error("FORMAT", e.message(), "")),
    }
}

fn multipart_error(status: StatusCode, limit: usize) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(limit)
    } else {
        ApiError::bad_request("Invalid multipart payload", "invalid_body")
    }
}

fn too_many_jobs(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "There are {limit} active import users jobs, please wait until some of them are finished and try again"
        ),
    )
    .code("too_many_requests")
}

/// A form field that is a boolean: Auth0 takes `true`/`false`.
fn form_bool(text: &str, key: &str) -> ApiResult<bool> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ApiError::payload_on(
            format!("Expected type boolean but found type string ({other})"),
            key,
        )),
    }
}

pub(crate) async fn create(
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
    let mut send_completion_email = true;
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
            "upsert" => upsert = form_bool(&text(), "upsert")?,
            "send_completion_email" => {
                send_completion_email = form_bool(&text(), "send_completion_email")?
            }
            "external_id" => external_id = Some(text()),
            _ => {} // Auth0 allows further form fields
        }
    }
    let users_file =
        users_file.ok_or_else(|| ApiError::payload("Missing required property: users"))?;
    let connection_id = connection_id
        .ok_or_else(|| ApiError::payload("Missing required property: connection_id"))?;
    if users_file.len() > IMPORT_FILE_LIMIT {
        return Err(ApiError::too_large(IMPORT_FILE_LIMIT));
    }

    let id = format!("job_{}", random_alnum(16));
    let mut doc = Map::new();
    doc.insert("type".into(), json!("users_import"));
    doc.insert("status".into(), json!("pending"));
    doc.insert("created_at".into(), json!(now_iso()));
    doc.insert("id".into(), json!(id));
    doc.insert("connection_id".into(), json!(connection_id));
    doc.insert("upsert".into(), json!(upsert));
    if let Some(ext) = external_id {
        doc.insert("external_id".into(), json!(ext));
    }
    doc.insert("send_completion_email".into(), json!(send_completion_email));
    let connection = {
        let mut tenant = sim.tenant();
        let connection = tenant
            .connection_by_id(&connection_id)
            .ok_or_else(no_connection)?;
        let active = tenant
            .jobs
            .values()
            .filter(|j| j.is_active_import())
            .count();
        if active >= sim.cfg.max_import_jobs {
            return Err(too_many_jobs(sim.cfg.max_import_jobs));
        }
        tenant.jobs.insert(id.clone(), Job::new(doc.clone()));
        connection
    };
    tokio::spawn(run(sim.clone(), id, users_file, connection, upsert));
    Ok((StatusCode::ACCEPTED, Json(Value::Object(doc))))
}

/// Applies `update` to the job if it still exists (a reset drops jobs);
/// false when it is gone, so the run stops.
fn with_job(sim: &Sim, id: &str, update: impl FnOnce(&mut Job)) -> bool {
    match sim.tenant().jobs.get_mut(id) {
        Some(job) => {
            update(job);
            true
        }
        None => false,
    }
}

/// The job's life after its POST: pending, then processing, then the
/// users applied at once and completed (or failed on an unreadable file).
async fn run(sim: Arc<Sim>, id: String, file: Bytes, connection: String, upsert: bool) {
    tokio::time::sleep(Duration::from_millis(sim.cfg.import_delay_ms)).await;
    let Ok(Value::Array(entries)) = serde_json::from_slice::<Value>(&file) else {
        with_job(&sim, &id, |job| {
            job.set_status("failed");
            job.doc.insert(
                "status_details".into(),
                json!("Failed to parse users file JSON when importing users."),
            );
        });
        return;
    };
    let total = entries.len();
    let work = Duration::from_micros(sim.cfg.import_user_micros.saturating_mul(total as u64));
    let started = Instant::now();
    loop {
        let done = started.elapsed();
        let left = work.saturating_sub(done);
        let percent = if work.is_zero() {
            100
        } else {
            (done.as_secs_f64() / work.as_secs_f64() * 100.0).min(100.0) as u64
        };
        let alive = with_job(&sim, &id, |job| {
            job.set_status("processing");
            job.doc.insert("percentage_done".into(), json!(percent));
            job.doc.insert(
                "time_left_seconds".into(),
                json!(left.as_secs() + u64::from(left.subsec_nanos() > 0)),
            );
        });
        if !alive {
            return;
        }
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(left.min(Duration::from_millis(100))).await;
    }

    let changed = {
        let mut tenant = sim.tenant();
        if !tenant.jobs.contains_key(&id) {
            return; // reset while processing
        }
        let (mut inserted, mut updated, mut errors) = (0u64, 0u64, Vec::new());
        let mut seen = HashSet::new();
        for entry in &entries {
            match import_one(
                &mut tenant,
                entry,
                &connection,
                upsert,
                &mut seen,
                sim.cfg.password_min_length,
            ) {
                Ok(Imported::Inserted) => inserted += 1,
                Ok(Imported::Updated) => updated += 1,
                Err(error) => errors.push(json!({ "user": redacted(entry), "errors": [error] })),
            }
        }
        if let Some(job) = tenant.jobs.get_mut(&id) {
            job.set_status("completed");
            job.doc.remove("percentage_done");
            job.doc.remove("time_left_seconds");
            job.doc.insert(
                "summary".into(),
                json!({
                    "failed": errors.len(),
                    "updated": updated,
                    "inserted": inserted,
                    "total": total,
                }),
            );
            job.errors = errors;
        }
        inserted + updated > 0
    };
    if changed {
        sim.changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_echo_the_user_with_hashes_masked() {
        let user = json!({
            "email": "a@example.com",
            "password_hash": "$2b$10$secret",
            "custom_password_hash": {"algorithm": "ldap", "hash": {"value": "secret"}}
        });
        let shown = redacted(&user);
        assert_eq!(shown["password_hash"], "*****");
        assert_eq!(shown["custom_password_hash"]["hash"]["value"], "*****");
        assert_eq!(shown["custom_password_hash"]["algorithm"], "ldap");
        assert_eq!(shown["email"], "a@example.com");
    }
}
