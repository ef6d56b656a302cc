//! Misbehaviour, limits and lifecycle: rate limiting, every fault kind, the
//! control API, reset, `--state` persistence, seeding and concurrency.

use crate::sim_common::*;
use auth0_sim::SimConfig;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn header_u64(a: &Answer, name: &str) -> u64 {
    a.headers
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn put_faults(s: &TestSim, faults: Value) {
    let a = s.control(Method::PUT, "/__sim/faults", Some(faults)).await;
    assert_eq!(a.status, 204, "{}", a.body);
}

#[tokio::test]
async fn rate_limit_headers_everywhere_and_429_when_the_bucket_is_empty() {
    // 1 token/s, bucket of 4: the token request takes one, three remain.
    let s = start_with(SimConfig {
        rate_per_sec: 1.0,
        burst: 4,
        ..roomy()
    })
    .await;
    let first = s.get("/api/v2/users").await;
    assert_eq!(first.status, 200);
    assert_eq!(header_u64(&first, "x-ratelimit-limit"), 4);
    assert_eq!(header_u64(&first, "x-ratelimit-remaining"), 2);
    let reset = header_u64(&first, "x-ratelimit-reset");
    assert!(
        reset >= unix_now() && reset <= unix_now() + 3,
        "reset {reset}"
    );

    // Errors carry the headers too.
    let unauth = s.send(s.http.get(s.url("/api/v2/users"))).await;
    assert_eq!(unauth.status, 401);
    assert_eq!(header_u64(&unauth, "x-ratelimit-remaining"), 1);
    let _ = s.get("/api/v2/users").await;

    let limited = s.get("/api/v2/users").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["statusCode"], 429);
    assert_eq!(limited.body["error"], "Too Many Requests");
    assert_eq!(header_u64(&limited, "x-ratelimit-remaining"), 0);
    assert!(header_u64(&limited, "x-ratelimit-reset") >= unix_now());

    // The token endpoint shares the tenant's bucket.
    let token = s
        .send(
            s.http
                .post(s.url("/oauth/token"))
                .json(&json!({"grant_type": "client_credentials"})),
        )
        .await;
    assert_eq!(token.status, 429);

    // The control API is neither limited nor counted.
    let state = s.control(Method::GET, "/__sim/state", None).await;
    assert_eq!(state.status, 200);
    assert!(state.headers.get("x-ratelimit-limit").is_none());
    let by = &state.body["requests"]["by_endpoint"];
    assert_eq!(
        by["GET /api/v2/users"],
        json!({"200": 2, "401": 1, "429": 1})
    );
    assert_eq!(by["POST /oauth/token"], json!({"200": 1, "429": 1}));
    assert_eq!(state.body["requests"]["total"], 6);
    assert!(by.get("GET /__sim/state").is_none());

    // A token comes back after a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.get("/api/v2/users").await.status, 200);
}

#[tokio::test]
async fn injected_429_and_5xx_look_like_the_real_ones() {
    let s = start().await;
    put_faults(&s, json!({"rate_429": 1.0})).await;
    let a = s.get("/api/v2/users").await;
    assert_eq!(a.status, 429);
    assert_eq!(header_u64(&a, "x-ratelimit-remaining"), 0);
    assert!(
        a.headers.contains_key("x-ratelimit-reset") && a.headers.contains_key("x-ratelimit-limit")
    );
    assert_eq!(a.body["error"], "Too Many Requests");

    put_faults(&s, json!({"rate_5xx": 1.0})).await;
    let a = s.get("/api/v2/users").await;
    assert_eq!(a.status, 503);
    assert_eq!(a.body["statusCode"], 503);
    assert!(a.headers.contains_key("x-ratelimit-remaining"));
    put_faults(&s, json!({"rate_5xx": 1.0, "status_5xx": 500})).await;
    assert_eq!(s.get("/api/v2/users").await.status, 500);

    let current = s.control(Method::GET, "/__sim/faults", None).await;
    assert_eq!(current.body["rate_5xx"], 1.0);

    assert_eq!(
        s.control(Method::DELETE, "/__sim/faults", None)
            .await
            .status,
        204
    );
    assert_eq!(s.get("/api/v2/users").await.status, 200);

    // About half, when asked for half.
    put_faults(&s, json!({"rate_5xx": 0.5})).await;
    let mut failed = 0;
    for _ in 0..200 {
        if s.get("/api/v2/users?per_page=1").await.status == 503 {
            failed += 1;
        }
    }
    assert!((60..=140).contains(&failed), "{failed} of 200");
}

#[tokio::test]
async fn latency_is_added() {
    let s = start().await;
    put_faults(&s, json!({"latency_ms": 250})).await;
    let t = Instant::now();
    assert_eq!(s.get("/api/v2/users").await.status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    // The control API is never slowed.
    let t = Instant::now();
    s.control(Method::GET, "/__sim/requests", None).await;
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error_not_a_response() {
    let s = start().await;
    put_faults(&s, json!({"rate_drop": 1.0})).await;
    let err = s
        .http
        .get(s.url("/api/v2/users"))
        .bearer_auth(&s.token)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect_err("no HTTP response");
    assert!(!err.is_timeout(), "closed, not hung: {err:?}");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert!(err.status().is_none());

    let log = s.requests().await;
    assert_eq!(log["by_endpoint"]["GET /api/v2/users"]["dropped"], 1);
    s.control(Method::DELETE, "/__sim/faults", None).await;
    assert_eq!(
        s.get("/api/v2/users").await.status,
        200,
        "later connections are served"
    );
}

#[tokio::test]
async fn drop_after_handles_the_request_but_loses_the_answer() {
    let s = start().await;
    put_faults(
        &s,
        json!({"rate_drop_after": 1.0, "endpoint": "POST /api/v2/users"}),
    )
    .await;
    let body = json!({"connection": "Username-Password-Authentication", "email": "lost@example.com", "password": "Str0ng-Passw0rd"});
    let err = s
        .http
        .post(s.url("/api/v2/users"))
        .bearer_auth(&s.token)
        .json(&body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect_err("no HTTP response");
    assert!(!err.is_timeout(), "{err:?}");
    s.control(Method::DELETE, "/__sim/faults", None).await;
    // The account was created; the retry meets the duplicate.
    assert_eq!(
        s.get("/api/v2/users-by-email?email=lost@example.com")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.post("/api/v2/users", body).await.status, 409);
    assert_eq!(
        s.requests().await["by_endpoint"]["POST /api/v2/users"],
        json!({"dropped": 1, "409": 1})
    );
}

#[tokio::test]
async fn faults_can_target_one_endpoint() {
    let s = start().await;
    put_faults(
        &s,
        json!({"rate_5xx": 1.0, "endpoint": "POST /api/v2/users"}),
    )
    .await;
    let a = s
        .post("/api/v2/users", json!({"connection": "Username-Password-Authentication", "email": "x@example.com", "password": "Str0ng-Passw0rd"}))
        .await;
    assert_eq!(a.status, 503);
    assert_eq!(s.get("/api/v2/users").await.status, 200);
    let ids = s.seed(employees(1)).await;
    assert_eq!(
        s.get(&format!("/api/v2/users/{}", enc(&ids[0])))
            .await
            .status,
        200
    );

    put_faults(
        &s,
        json!({"rate_429": 1.0, "endpoint": "GET /api/v2/users/{id}"}),
    )
    .await;
    assert_eq!(
        s.get(&format!("/api/v2/users/{}", enc(&ids[0])))
            .await
            .status,
        429
    );
    assert_eq!(s.get("/api/v2/users").await.status, 200);

    let log = s.requests().await;
    assert_eq!(log["by_endpoint"]["POST /api/v2/users"], json!({"503": 1}));
    assert_eq!(
        log["by_endpoint"]["GET /api/v2/users/{id}"],
        json!({"200": 1, "429": 1})
    );
}

#[tokio::test]
async fn fault_settings_are_validated() {
    let s = start().await;
    for bad in [
        json!({"rate_429": 1.5}),
        json!({"rate_429": 0.6, "rate_5xx": 0.6}),
        json!({"rate_drop": -0.1}),
        json!({"surprise": true}),
        json!({"status_5xx": 404}),
    ] {
        let a = s
            .control(Method::PUT, "/__sim/faults", Some(bad.clone()))
            .await;
        assert_eq!(a.status, 400, "{bad}: {}", a.body);
    }
    assert_eq!(s.get("/api/v2/users").await.status, 200);
}

#[tokio::test]
async fn state_shows_everything_and_reset_clears_it() {
    let s = start().await;
    let u = s.create("state@example.com").await;
    let roles = s.get("/api/v2/roles").await.body;
    let role = roles[0]["id"].as_str().unwrap().to_string();
    let id = u["user_id"].as_str().unwrap();
    s.post(
        &format!("/api/v2/users/{}/roles", enc(id)),
        json!({"roles": [role]}),
    )
    .await;
    put_faults(&s, json!({"latency_ms": 1})).await;

    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    assert_eq!(state["users"], json!([u]));
    assert_eq!(state["roles"].as_array().unwrap().len(), 15);
    assert_eq!(state["user_roles"], json!({ id: [role] }));
    assert_eq!(
        state["requests"]["by_endpoint"]["POST /api/v2/users"],
        json!({"201": 1})
    );
    assert_eq!(
        state["requests"]["by_endpoint"]["POST /api/v2/users/{id}/roles"],
        json!({"204": 1})
    );

    assert_eq!(
        s.control(Method::POST, "/__sim/reset", None).await.status,
        204
    );
    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    assert_eq!(state["users"], json!([]));
    assert_eq!(state["user_roles"], json!({}));
    assert_eq!(
        state["roles"], roles,
        "roles back to the configured list, same ids"
    );
    assert_eq!(state["requests"], json!({"total": 0, "by_endpoint": {}}));
    assert_eq!(
        s.control(Method::GET, "/__sim/faults", None).await.body["latency_ms"],
        0
    );
}

#[tokio::test]
async fn seeding_over_the_control_api_is_all_or_nothing() {
    let s = start().await;
    let a = s
        .control(
            Method::POST,
            "/__sim/users",
            Some(json!([{"email": "ok@example.com"}, {"email": "broken"}])),
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(
        a.body["message"].as_str().unwrap().starts_with("users[1]:"),
        "{}",
        a.body
    );
    let a = s
        .control(
            Method::POST,
            "/__sim/users",
            Some(json!([{"email": "a@example.com"}, {"email": "A@example.com"}])),
        )
        .await;
    assert_eq!(a.status, 409);
    assert_eq!(
        s.control(Method::GET, "/__sim/state", None).await.body["users"],
        json!([])
    );

    let ids = s
        .seed(vec![json!({"email": "given@example.com", "user_id": "auth0|0123456789abcdef01234567", "blocked": true,
                          "logins_count": 12, "created_at": "2020-01-01T00:00:00.000Z"})])
        .await;
    assert_eq!(ids, ["auth0|0123456789abcdef01234567"]);
    let u = s
        .get("/api/v2/users/auth0%7C0123456789abcdef01234567")
        .await
        .body;
    assert_eq!(
        (u["blocked"].as_bool(), u["logins_count"].as_u64()),
        (Some(true), Some(12))
    );
    assert_eq!(u["created_at"], "2020-01-01T00:00:00.000Z");
}

#[tokio::test]
async fn state_file_survives_a_restart_and_seed_file_loads_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("tenant.json");
    let seed_file = dir.path().join("seed.json");
    std::fs::write(
        &seed_file,
        json!([{"email": "seeded@example.com", "app_metadata": {"employee_id": 5}}]).to_string(),
    )
    .unwrap();
    let cfg = SimConfig {
        state_file: Some(state_file.clone()),
        seed_users: Some(seed_file.clone()),
        ..roomy()
    };

    let s = start_with(cfg.clone()).await;
    let seeded = s
        .get("/api/v2/users-by-email?email=seeded@example.com")
        .await
        .body;
    assert_eq!(seeded[0]["app_metadata"]["employee_id"], 5);
    let u = s.create("persisted@example.com").await;
    let id = u["user_id"].as_str().unwrap().to_string();
    let role = s.get("/api/v2/roles").await.body[2]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        &format!("/api/v2/users/{}/roles", enc(&id)),
        json!({"roles": [role]}),
    )
    .await;
    // Written shortly after the change, before any shutdown.
    let mut written = false;
    for _ in 0..50 {
        if std::fs::read_to_string(&state_file)
            .is_ok_and(|t| t.contains("persisted@example.com") && t.contains(&role))
        {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(written, "debounced write happened");
    let old_token = s.token.clone();
    s.sim.shutdown().await;

    // Same file, seed again: nothing is duplicated, everything is back.
    let s = start_with(cfg).await;
    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    assert_eq!(state["users"].as_array().unwrap().len(), 2);
    assert_eq!(s.get(&format!("/api/v2/users/{}", enc(&id))).await.body, u);
    assert_eq!(state["user_roles"][&id], json!([role]));
    // Tokens are keyed by the secret, so one from before the restart still works.
    let a = s
        .send(s.http.get(s.url("/api/v2/users")).bearer_auth(old_token))
        .await;
    assert_eq!(a.status, 200);
    s.sim.shutdown().await;

    std::fs::write(&state_file, "not json").unwrap();
    let broken = auth0_sim::spawn(
        SimConfig {
            state_file: Some(state_file),
            ..roomy()
        },
        "127.0.0.1:0",
    )
    .await;
    assert!(
        broken.is_err(),
        "a corrupt state file is an error, not an empty tenant"
    );
}

#[tokio::test]
async fn concurrent_creates_are_safe() {
    let s = std::sync::Arc::new(start().await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Half the requests race for 20 emails.
            let email = if i % 2 == 0 { format!("racer{}@example.com", i % 20) } else { format!("solo{i}@example.com") };
            s.post("/api/v2/users", json!({"connection": "Username-Password-Authentication", "email": email, "password": "Str0ng-Passw0rd"}))
                .await
                .status
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => created += 1,
            409 => conflicts += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, conflicts), (110, 90));
    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    assert_eq!(state["users"].as_array().unwrap().len(), 110);
    assert_eq!(
        state["requests"]["by_endpoint"]["POST /api/v2/users"],
        json!({"201": 110, "409": 90})
    );
}
