//! The users-import job as Auth0 documents it: states over time, users
//! only at completion, the concurrent-job limit, the file limit, upsert,
//! per-user errors and the summary.

use crate::sim_common::*;
use auth0_sim::SimConfig;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Imports that finish quickly, unless a test slows them.
fn quick() -> SimConfig {
    SimConfig {
        import_delay_ms: 20,
        import_user_micros: 10,
        ..roomy()
    }
}

async fn connection_id(s: &TestSim) -> String {
    let a = s
        .get("/api/v2/connections?name=Username-Password-Authentication")
        .await;
    a.body[0]["id"].as_str().expect("connection id").to_string()
}

/// `POST /api/v2/jobs/users-imports` as a multipart form.
async fn import(s: &TestSim, file: Vec<u8>, connection_id: &str, upsert: bool) -> Answer {
    let form = reqwest::multipart::Form::new()
        .part(
            "users",
            reqwest::multipart::Part::bytes(file)
                .file_name("users.json")
                .mime_str("application/json")
                .expect("mime"),
        )
        .text("connection_id", connection_id.to_string())
        .text("upsert", upsert.to_string())
        .text("send_completion_email", "false");
    s.send(
        s.http
            .post(s.url("/api/v2/jobs/users-imports"))
            .bearer_auth(&s.token)
            .multipart(form),
    )
    .await
}

async fn import_users(s: &TestSim, users: Value, upsert: bool) -> String {
    let conn = connection_id(s).await;
    let a = import(s, users.to_string().into_bytes(), &conn, upsert).await;
    assert_eq!(a.status, 202, "{}", a.body);
    a.body["id"].as_str().expect("job id").to_string()
}

/// Polls the job until it leaves pending/processing; returns every
/// document seen, the last one final.
async fn follow(s: &TestSim, id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = s.get(&format!("/api/v2/jobs/{id}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let done = !matches!(a.body["status"].as_str(), Some("pending" | "processing"));
        seen.push(a.body);
        if done {
            return seen;
        }
        assert!(Instant::now() < deadline, "job {id} never finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn exists(s: &TestSim, email: &str) -> bool {
    let a = s
        .get(&format!("/api/v2/users-by-email?email={email}"))
        .await;
    !a.body.as_array().expect("array").is_empty()
}

#[tokio::test]
async fn import_goes_pending_processing_completed_and_users_appear_only_at_the_end() {
    let s = start_with(SimConfig {
        import_delay_ms: 300,
        import_user_micros: 2_000, // 200 users: 0.4 s of processing
        ..roomy()
    })
    .await;
    let users: Vec<Value> = employees(200);
    let conn = connection_id(&s).await;
    let a = import(&s, json!(users).to_string().into_bytes(), &conn, false).await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.body["type"], "users_import");
    assert_eq!(a.body["status"], "pending");
    assert_eq!(a.body["connection_id"], conn.as_str());
    assert_eq!(a.body["upsert"], false);
    assert_eq!(a.body["send_completion_email"], false);
    assert!(a.body.get("summary").is_none());
    let id = a.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("job_") && id.len() == 20, "{id}");
    assert!(
        !exists(&s, "employee00000@example.com").await,
        "nothing is imported at POST"
    );

    let seen = follow(&s, &id).await;
    let statuses: Vec<&str> = seen.iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(statuses[0], "pending");
    let processing: Vec<&Value> = seen
        .iter()
        .filter(|d| d["status"] == "processing")
        .collect();
    assert!(processing.len() >= 2, "{statuses:?}");
    for d in &processing {
        assert!(
            d["percentage_done"].as_u64().is_some_and(|p| p <= 100),
            "{d}"
        );
        assert!(d["time_left_seconds"].as_u64().is_some(), "{d}");
        assert!(d.get("summary").is_none());
    }
    let first = processing[0]["percentage_done"].as_u64().unwrap();
    let last = processing[processing.len() - 1]["percentage_done"]
        .as_u64()
        .unwrap();
    assert!(first < last, "progress moves: {first} → {last}");
    assert!(
        statuses.windows(2).all(|w| w[0] == w[1]
            || matches!(w, ["pending", "processing"] | ["processing", "completed"])),
        "states only move forward: {statuses:?}"
    );

    let done = seen.last().unwrap();
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["summary"],
        json!({"failed": 0, "updated": 0, "inserted": 200, "total": 200})
    );
    assert!(done.get("percentage_done").is_none() && done.get("time_left_seconds").is_none());
    assert!(exists(&s, "employee00000@example.com").await);
    assert!(exists(&s, "employee00199@example.com").await);
    let a = s
        .get("/api/v2/users-by-email?email=employee00007@example.com")
        .await;
    let user = &a.body[0];
    assert_eq!(
        user["app_metadata"],
        json!({"employee_id": 7, "created_by": "productivity_system"})
    );
    assert_eq!(user["email_verified"], false);
    assert_eq!(
        user["identities"][0]["connection"],
        "Username-Password-Authentication"
    );
    assert_eq!(
        s.get(&format!("/api/v2/jobs/{id}/errors")).await.status,
        204,
        "no failures: an empty answer"
    );
}

#[tokio::test]
async fn a_third_concurrent_import_is_429_until_one_finishes() {
    let s = start_with(SimConfig {
        import_delay_ms: 400,
        import_user_micros: 10,
        ..roomy()
    })
    .await;
    let conn = connection_id(&s).await;
    let file = |n: usize| {
        json!([{ "email": format!("limit{n}@example.com") }])
            .to_string()
            .into_bytes()
    };
    let first = import(&s, file(1), &conn, false).await;
    let second = import(&s, file(2), &conn, false).await;
    assert_eq!((first.status, second.status), (202, 202));

    let third = import(&s, file(3), &conn, false).await;
    assert_eq!(third.status, 429, "{}", third.body);
    assert_eq!(
        third.body,
        json!({
            "statusCode": 429,
            "error": "Too Many Requests",
            "message": "There are 2 active import users jobs, please wait until some of them are finished and try again",
            "errorCode": "too_many_requests"
        })
    );
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(third.headers.contains_key(h), "429 carries {h}");
    }

    let id = first.body["id"].as_str().unwrap();
    assert_eq!(follow(&s, id).await.last().unwrap()["status"], "completed");
    let later = import(&s, file(3), &conn, false).await;
    assert_eq!(
        later.status, 202,
        "a finished job frees its slot: {}",
        later.body
    );
}

#[tokio::test]
async fn the_concurrent_limit_is_configurable() {
    let s = start_with(SimConfig {
        import_delay_ms: 400,
        max_import_jobs: 1,
        ..quick()
    })
    .await;
    let conn = connection_id(&s).await;
    assert_eq!(import(&s, b"[]".to_vec(), &conn, false).await.status, 202);
    let a = import(&s, b"[]".to_vec(), &conn, false).await;
    assert_eq!(a.status, 429);
    assert!(a.body["message"]
        .as_str()
        .unwrap()
        .starts_with("There are 1 active import users jobs"));
}

#[tokio::test]
async fn upsert_false_refuses_existing_users_and_true_updates_only_upsertable_fields() {
    let s = start_with(quick()).await;
    let ids = s
        .seed(vec![json!({
            "email": "existing@example.com",
            "given_name": "Old",
            "username": "olduser",
            "blocked": true,
            "app_metadata": {"employee_id": 1, "department": "Ship"},
            "user_metadata": {"shift": "night"},
        })])
        .await;
    let row = json!({
        "email": "Existing@Example.com",
        "given_name": "New",
        "username": "newuser",
        "blocked": false,
        "app_metadata": {"employee_id": 1, "role_code": "PK"},
    });

    let id = import_users(&s, json!([row, {"email": "fresh@example.com"}]), false).await;
    let done = follow(&s, &id).await.pop().unwrap();
    assert_eq!(
        done["summary"],
        json!({"failed": 1, "updated": 0, "inserted": 1, "total": 2})
    );
    let errors = s.get(&format!("/api/v2/jobs/{id}/errors")).await;
    assert_eq!(errors.status, 200);
    assert_eq!(errors.body[0]["user"], row, "the user as it was sent");
    assert_eq!(errors.body[0]["errors"][0]["code"], "DUPLICATED_USER");
    let unchanged = s.get(&format!("/api/v2/users/{}", enc(&ids[0]))).await.body;
    assert_eq!(unchanged["given_name"], "Old");

    let id = import_users(&s, json!([row]), true).await;
    let done = follow(&s, &id).await.pop().unwrap();
    assert_eq!(
        done["summary"],
        json!({"failed": 0, "updated": 1, "inserted": 0, "total": 1})
    );
    let user = s.get(&format!("/api/v2/users/{}", enc(&ids[0]))).await.body;
    assert_eq!(user["user_id"], ids[0].as_str(), "the same account");
    assert_eq!(user["given_name"], "New", "upsertable: replaced");
    assert_eq!(
        user["app_metadata"],
        json!({"employee_id": 1, "role_code": "PK"}),
        "metadata is overwritten whole, not merged"
    );
    assert_eq!(
        user["user_metadata"],
        json!({"shift": "night"}),
        "an attribute the file leaves out stays"
    );
    assert_eq!(user["blocked"], true, "blocked is not upsertable");
    assert_eq!(user["username"], "olduser", "username is not upsertable");
    assert_ne!(user["updated_at"], unchanged["updated_at"]);
}

#[tokio::test]
async fn per_user_errors_have_auth0s_shape_and_never_fail_the_job() {
    let s = start_with(quick()).await;
    let users = json!([
        {"email": "ok@example.com"},
        {"email": "broken-email"},
        {"given_name": "No Email"},
        {"email": "extra@example.com", "unexpected": true},
        {"email": "typed@example.com", "blocked": "yes"},
        "not an object",
        {"email": "twice@example.com"},
        {"email": "TWICE@example.com"},
        {"email": "hashed@example.com", "password_hash": "$2b$10$abcdefghijklmnopqrstuv", "unexpected": 1}
    ]);
    let id = import_users(&s, users.clone(), false).await;
    let done = follow(&s, &id).await.pop().unwrap();
    assert_eq!(done["status"], "completed", "bad users do not fail the job");
    assert_eq!(
        done["summary"],
        json!({"failed": 7, "updated": 0, "inserted": 2, "total": 9})
    );
    let a = s.get(&format!("/api/v2/jobs/{id}/errors")).await;
    assert_eq!(a.status, 200);
    let entries = a.body.as_array().unwrap();
    let got: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            let err = &e["errors"][0];
            assert!(
                err["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{e}"
            );
            (err["code"].as_str().unwrap(), err["path"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("FORMAT", "email"),
            ("OBJECT_REQUIRED", "email"),
            ("OBJECT_ADDITIONAL_PROPERTIES", "unexpected"),
            ("INVALID_TYPE", "blocked"),
            ("INVALID_TYPE", ""),
            ("DUPLICATED_USER", "email"),
            ("OBJECT_ADDITIONAL_PROPERTIES", "unexpected"),
        ]
    );
    assert_eq!(entries[0]["user"], users[1]);
    assert_eq!(entries[4]["user"], "not an object");
    assert_eq!(
        entries[6]["user"]["password_hash"], "*****",
        "a password hash is never echoed"
    );
    assert!(!a.body.to_string().contains("abcdefghij"));
    assert!(exists(&s, "ok@example.com").await && exists(&s, "twice@example.com").await);
    assert!(!exists(&s, "extra@example.com").await);
}

#[tokio::test]
async fn an_unparseable_file_fails_the_job_not_the_post() {
    let s = start_with(quick()).await;
    let conn = connection_id(&s).await;
    for file in [
        b"not json".to_vec(),
        br#"{"email": "x@example.com"}"#.to_vec(),
    ] {
        let a = import(&s, file, &conn, false).await;
        assert_eq!(a.status, 202, "{}", a.body);
        let id = a.body["id"].as_str().unwrap().to_string();
        let done = follow(&s, &id).await.pop().unwrap();
        assert_eq!(done["status"], "failed");
        assert!(done["status_details"]
            .as_str()
            .is_some_and(|d| d.contains("parse")));
        assert!(done.get("summary").is_none());
        let errors = s.get(&format!("/api/v2/jobs/{id}/errors")).await;
        assert_eq!(errors.status, 200);
        assert_eq!(errors.body["status"], "failed", "the failed job itself");
        assert_eq!(errors.body["id"], id.as_str());
    }
}

#[tokio::test]
async fn the_post_refuses_what_auth0_refuses() {
    let s = start_with(quick()).await;
    let conn = connection_id(&s).await;

    // 500 KB: a file one byte over is 413 in Auth0's (hapi's) words.
    let filler = "x".repeat(500 * 1024 - 40);
    let file = json!([{"email": "big@example.com", "name": filler}]).to_string();
    let over = format!("{file}{}", " ".repeat(500 * 1024 + 1 - file.len()));
    assert_eq!(over.len(), 500 * 1024 + 1);
    let a = import(&s, over.into_bytes(), &conn, false).await;
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"statusCode": 413, "error": "Request Entity Too Large",
               "message": "Payload content length greater than maximum allowed: 512000"})
    );
    let at_limit = format!("{file}{}", " ".repeat(500 * 1024 - file.len()));
    assert_eq!(
        import(&s, at_limit.into_bytes(), &conn, false).await.status,
        202
    );

    let a = import(&s, b"[]".to_vec(), "con_unknown", false).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "inexistent_connection");
    let a = s
        .send(
            s.http
                .post(s.url("/api/v2/jobs/users-imports"))
                .bearer_auth(&s.token)
                .multipart(reqwest::multipart::Form::new().text("connection_id", conn.clone())),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "invalid_body");
    let a = s
        .send(
            s.http
                .post(s.url("/api/v2/jobs/users-imports"))
                .bearer_auth(&s.token)
                .json(&json!({})),
        )
        .await;
    assert_eq!(a.status, 400, "not multipart");
    let a = s.get("/api/v2/jobs/job_doesnotexist0000/errors").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["errorCode"], "inexistent_job");
}

#[tokio::test]
async fn a_reset_drops_a_running_import_without_applying_it() {
    let s = start_with(SimConfig {
        import_delay_ms: 200,
        ..quick()
    })
    .await;
    let id = import_users(&s, json!([{"email": "late@example.com"}]), false).await;
    assert_eq!(
        s.control(Method::POST, "/__sim/reset", None).await.status,
        204
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!exists(&s, "late@example.com").await);
    assert_eq!(s.get(&format!("/api/v2/jobs/{id}")).await.status, 404);
}
