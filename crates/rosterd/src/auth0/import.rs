//! The users-import job: many new accounts in a few requests.
//!
//! A job takes a JSON array file (at most 500 KB), answers at once with a
//! `pending` job and creates the accounts later; the client polls the job
//! until it is `completed` (or `failed`) and then reads its per-user errors.
//! Nothing here assumes the accounts exist when the job is posted.

use super::job_pause;
use super::{
    encode_segment, expect_ok, protocol, read_json, Auth0Client, Auth0Error, NewUser, Result,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// A posted import job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    pub id: String,
}

/// One user an import job did not create, as `GET /api/v2/jobs/{id}/errors`
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The entry's email, lowercased as Auth0 stores it.
    pub email: Option<String>,
    /// Auth0's code, e.g. `DUPLICATED_USER`; several joined by `, `.
    pub code: String,
    pub message: String,
}

impl ImportError {
    /// The account already exists: an earlier job or create made it.
    pub fn duplicated(&self) -> bool {
        self.code.split(", ").any(|c| c == "DUPLICATED_USER")
    }
}

/// An import file: the serialized entries and which of them it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFile {
    pub bytes: Vec<u8>,
    /// Indexes into the entries given to [`import_files`].
    pub members: Vec<usize>,
}

/// One import entry: the same profile a single create sends, no password
/// (an imported account has none until the credentials endpoint sets one).
pub fn import_entry(u: &NewUser<'_>) -> Value {
    Value::Object(u.profile())
}

/// Split `entries` into JSON array files of at most `budget` bytes each,
/// measured as serialized. Returns the files and the entries too large for
/// any file on their own.
pub fn import_files(entries: &[Value], budget: usize) -> (Vec<ImportFile>, Vec<usize>) {
    let mut files = Vec::new();
    let mut too_large = Vec::new();
    let mut current = ImportFile {
        bytes: b"[".to_vec(),
        members: Vec::new(),
    };
    for (i, entry) in entries.iter().enumerate() {
        let one = serde_json::to_vec(entry).unwrap_or_default();
        // `[` + entry + `]` alone must fit.
        if one.len() + 2 > budget {
            too_large.push(i);
            continue;
        }
        // A comma before it, and the closing `]`.
        let separator = usize::from(!current.members.is_empty());
        if current.bytes.len() + separator + one.len() + 1 > budget {
            current.bytes.push(b']');
            files.push(std::mem::replace(
                &mut current,
                ImportFile {
                    bytes: b"[".to_vec(),
                    members: Vec::new(),
                },
            ));
        }
        if !current.members.is_empty() {
            current.bytes.push(b',');
        }
        current.bytes.extend_from_slice(&one);
        current.members.push(i);
    }
    if !current.members.is_empty() {
        current.bytes.push(b']');
        files.push(current);
    }
    (files, too_large)
}

impl Auth0Client {
    /// The id of the configured connection, which an import job names it
    /// by (`GET /api/v2/connections?name=`).
    pub async fn connection_id(&self) -> Result<String> {
        const EP: &str = "GET /api/v2/connections";
        let query = [
            ("name", self.inner.connection.clone()),
            ("fields", "id,name".to_string()),
        ];
        let resp = self
            .call(EP, Method::GET, "/api/v2/connections", &query, None)
            .await?;
        let found: Vec<Value> = read_json(EP, resp).await?;
        found
            .iter()
            .find(|c| c["name"].as_str() == Some(self.inner.connection.as_str()))
            .and_then(|c| c["id"].as_str())
            .map(str::to_string)
            .ok_or_else(|| Auth0Error::Api {
                endpoint: EP,
                status: 200,
                code: Some("inexistent_connection".into()),
                message: format!(
                    "no connection named {:?} (auth0.connection)",
                    self.inner.connection
                ),
            })
    }

    /// Post one import file. Another client's jobs may hold the tenant's
    /// concurrent-job slots (429): wait and post again, until the import
    /// timeout.
    pub async fn post_import(
        &self,
        file: &ImportFile,
        connection_id: &str,
        external_id: &str,
    ) -> Result<ImportJob> {
        const EP: &str = "POST /api/v2/jobs/users-imports";
        let deadline = Instant::now() + self.inner.import_timeout;
        let mut pause = Duration::ZERO;
        loop {
            let resp = self
                .call_with(EP, Method::POST, "/api/v2/jobs/users-imports", &[], |rb| {
                    let users =
                        reqwest::multipart::Part::bytes(file.bytes.clone()).file_name("users.json");
                    rb.multipart(
                        reqwest::multipart::Form::new()
                            .part("users", users)
                            .text("connection_id", connection_id.to_string())
                            .text("upsert", "false")
                            .text("send_completion_email", "false")
                            .text("external_id", external_id.to_string()),
                    )
                })
                .await?;
            if resp.status() == StatusCode::TOO_MANY_REQUESTS && Instant::now() < deadline {
                pause = job_pause(pause, self.inner.export_poll.max(Duration::from_secs(1)));
                tracing::info!(
                    wait_ms = pause.as_millis() as u64,
                    "the tenant's import jobs are all busy; posting again"
                );
                tokio::time::sleep(pause).await;
                continue;
            }
            let job: Value = read_json(EP, resp).await?;
            return job["id"]
                .as_str()
                .map(|id| ImportJob { id: id.to_string() })
                .ok_or_else(|| protocol(EP, "job has no id"));
        }
    }

    /// Poll an import job until it is completed (its summary), failed, or
    /// the import timeout passes. Polls soon at first, then back off to
    /// `export_poll_ms`.
    pub async fn wait_import(&self, job: &ImportJob) -> Result<Value> {
        const POLL: &str = "GET /api/v2/jobs/{id}";
        let deadline = Instant::now() + self.inner.import_timeout;
        let path = format!("/api/v2/jobs/{}", encode_segment(&job.id));
        let mut pause = Duration::ZERO;
        loop {
            let resp = self.call(POLL, Method::GET, &path, &[], None).await?;
            let doc: Value = read_json(POLL, resp).await?;
            match doc["status"].as_str() {
                Some("completed") => return Ok(doc["summary"].clone()),
                Some("failed") => {
                    return Err(Auth0Error::Api {
                        endpoint: POLL,
                        status: 200,
                        code: Some("job_failed".into()),
                        message: format!("users import job {} failed", job.id),
                    })
                }
                _ if Instant::now() > deadline => {
                    return Err(Auth0Error::Transport {
                        endpoint: POLL,
                        detail: format!(
                        "users import job {} not completed after {}s (auth0.import_timeout_secs)",
                        job.id,
                        self.inner.import_timeout.as_secs()
                    ),
                    })
                }
                _ => {
                    pause = job_pause(pause, self.inner.export_poll);
                    tokio::time::sleep(pause).await
                }
            }
        }
    }

    /// The users a completed import job did not create, and why.
    pub async fn import_errors(&self, job: &ImportJob) -> Result<Vec<ImportError>> {
        const EP: &str = "GET /api/v2/jobs/{id}/errors";
        let path = format!("/api/v2/jobs/{}/errors", encode_segment(&job.id));
        let resp = self.call(EP, Method::GET, &path, &[], None).await?;
        let resp = expect_ok(EP, resp).await?;
        // No errors: 204, or the job itself instead of a list.
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        let bytes = resp.bytes().await.map_err(|e| super::transport(EP, &e))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| protocol(EP, e))?;
        let Value::Array(items) = body else {
            return Ok(Vec::new());
        };
        Ok(items.iter().map(import_error).collect())
    }
}

/// `{"user": {...}, "errors": [{"code", "message"}, ...]}` → one error.
fn import_error(item: &Value) -> ImportError {
    let errors = item["errors"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let join = |key: &str| {
        errors
            .iter()
            .filter_map(|e| e[key].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    ImportError {
        email: item["user"]["email"].as_str().map(str::to_lowercase),
        code: join("code"),
        message: join("message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "email": format!("worker{i}@example.com"), "email_verified": true }))
            .collect()
    }

    #[test]
    fn files_stay_within_the_budget_and_hold_every_entry_once_in_order() {
        let all = entries(50);
        let one = serde_json::to_vec(&all[0]).unwrap().len();
        let budget = one * 7;
        let (files, too_large) = import_files(&all, budget);
        assert!(too_large.is_empty());
        assert!(files.len() > 1, "{} files", files.len());
        let mut seen: Vec<usize> = Vec::new();
        for f in &files {
            assert!(f.bytes.len() <= budget, "{} > {budget}", f.bytes.len());
            let parsed: Vec<Value> = serde_json::from_slice(&f.bytes).unwrap();
            assert_eq!(parsed.len(), f.members.len());
            for (entry, i) in parsed.iter().zip(&f.members) {
                assert_eq!(entry, &all[*i]);
            }
            seen.extend(&f.members);
        }
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn an_entry_larger_than_a_file_is_set_aside_not_sent() {
        let mut all = entries(3);
        all[1]["user_metadata"] = json!({ "note": "x".repeat(500) });
        let (files, too_large) = import_files(&all, 200);
        assert_eq!(too_large, vec![1]);
        let members: Vec<usize> = files.iter().flat_map(|f| f.members.clone()).collect();
        assert_eq!(members, vec![0, 2]);
        assert!(import_files(&[], 200).0.is_empty());
    }

    #[test]
    fn job_errors_name_the_user_by_email_and_join_its_codes() {
        let item = json!({
            "user": { "email": "Ann@Example.com" },
            "errors": [
                { "code": "DUPLICATED_USER", "message": "The user already exist" },
                { "code": "INVALID_FORMAT", "message": "bad" }
            ]
        });
        let e = import_error(&item);
        assert_eq!(e.email.as_deref(), Some("ann@example.com"));
        assert_eq!(e.code, "DUPLICATED_USER, INVALID_FORMAT");
        assert!(e.duplicated());
        assert!(
            !import_error(&json!({ "user": {}, "errors": [{ "code": "INVALID_FORMAT" }] }))
                .duplicated()
        );
    }
}
