//! The simulator's Management API over real HTTP: every endpoint and every
//! error the issue names, as Auth0 answers them.

use crate::sim_common::*;
use auth0_sim::SimConfig;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Read;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DB: &str = "Username-Password-Authentication";

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

// ---- token -------------------------------------------------------------

#[tokio::test]
async fn token_is_a_signed_jwt_with_auth0_claims_from_json_or_form() {
    let s = start().await;
    let audience = s.url("/api/v2/");
    let form = s
        .send(s.http.post(s.url("/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "rosterd-sim-client"),
            ("client_secret", "rosterd-sim-secret"),
            ("audience", audience.as_str()),
        ]))
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.body["token_type"], "Bearer");
    assert_eq!(form.body["expires_in"], 86400);
    assert!(form.body["scope"].as_str().unwrap().contains("read:users"));
    for token in [
        form.body["access_token"].as_str().unwrap(),
        s.token.as_str(),
    ] {
        let claims = jwt_claims(token);
        assert_eq!(claims["sub"], "rosterd-sim-client@clients");
        assert_eq!(claims["aud"], audience);
        assert_eq!(claims["gty"], "client-credentials");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            86400
        );
        assert!(claims["iss"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"));
    }
    assert_eq!(s.get("/api/v2/users").await.status, 200);
}

#[tokio::test]
async fn token_refuses_wrong_credentials_grant_and_audience() {
    let s = start().await;
    let ask = |body: Value| s.send(s.http.post(s.url("/oauth/token")).json(&body));
    let good = json!({"grant_type": "client_credentials", "client_id": "rosterd-sim-client",
                      "client_secret": "rosterd-sim-secret", "audience": s.url("/api/v2/")});

    let mut wrong = good.clone();
    wrong["client_secret"] = json!("nope");
    let a = ask(wrong).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        json!({"error": "access_denied", "error_description": "Unauthorized"})
    );

    let mut wrong = good.clone();
    wrong["client_id"] = json!("someone-else");
    assert_eq!(ask(wrong).await.status, 401);

    let mut wrong = good.clone();
    wrong["grant_type"] = json!("password");
    let a = ask(wrong).await;
    assert_eq!(a.status, 403);
    assert_eq!(a.body["error"], "unauthorized_client");

    let mut wrong = good.clone();
    wrong["audience"] = json!("https://elsewhere.example.com/api/v1/");
    let a = ask(wrong).await;
    assert_eq!(a.status, 403);
    assert_eq!(a.body["error"], "access_denied");

    let a = s
        .send(
            s.http
                .post(s.url("/oauth/token"))
                .body("grant_type=client_credentials"),
        )
        .await;
    assert_eq!(a.status, 400, "no content type: {}", a.body);
}

#[tokio::test]
async fn api_needs_a_valid_unexpired_token() {
    let s = start().await;
    let a = s.send(s.http.get(s.url("/api/v2/users"))).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["message"], "Missing authentication");
    assert_eq!(a.body["error"], "Unauthorized");

    let a = s
        .send(s.http.get(s.url("/api/v2/users")).bearer_auth("not-a-jwt"))
        .await;
    assert_eq!(
        a.body,
        json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token",
               "attributes": {"error": "Invalid token"}})
    );

    // Same claims, signature from another key.
    let mut parts: Vec<&str> = s.token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode([7u8; 32]);
    parts[2] = &forged;
    let a = s
        .send(
            s.http
                .get(s.url("/api/v2/users"))
                .bearer_auth(parts.join(".")),
        )
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["message"], "Invalid token");

    // A token from a simulator with another secret is as bad.
    let other = start_with(SimConfig {
        client_secret: "other".into(),
        ..roomy()
    })
    .await;
    let a = s
        .send(s.http.get(s.url("/api/v2/users")).bearer_auth(&other.token))
        .await;
    assert_eq!(a.status, 401);

    // ttl 0: expired the moment it is issued.
    let short = start_with(SimConfig {
        token_ttl_secs: 0,
        ..roomy()
    })
    .await;
    assert!(!short.token.is_empty());
    let a = short.get("/api/v2/users").await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body["message"],
        "Expired token received for JSON Web Token validation"
    );
}

// ---- users: create, get, delete -----------------------------------------

#[tokio::test]
async fn create_get_delete_user_as_auth0_does() {
    let s = start().await;
    let a = s
        .post(
            "/api/v2/users",
            json!({"connection": DB, "email": "Jane.Doe@Example.com", "password": "Str0ng-Passw0rd",
                   "email_verified": true, "verify_email": false, "given_name": "Jane", "family_name": "Doe",
                   "app_metadata": {"employee_id": 7}, "user_metadata": {"full_name": "Jane Doe"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let u = &a.body;
    let id = u["user_id"].as_str().unwrap();
    let hex = id.strip_prefix("auth0|").expect("auth0| prefix");
    assert!(
        hex.len() == 24 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(u["email"], "jane.doe@example.com");
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["name"], "jane.doe@example.com");
    assert_eq!(u["nickname"], "jane.doe");
    assert_eq!(
        u["identities"][0],
        json!({"connection": DB, "user_id": hex, "provider": "auth0", "isSocial": false})
    );
    assert_eq!(u["app_metadata"], json!({"employee_id": 7}));
    let created = u["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok()
            && created.ends_with('Z')
            && created.len() == 24
    );
    assert!(
        u.get("password").is_none()
            && u.get("blocked").is_none()
            && u.get("logins_count").is_none()
    );

    let got = s.get(&format!("/api/v2/users/{}", enc(id))).await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.body, u);

    assert_eq!(
        s.delete(&format!("/api/v2/users/{}", enc(id))).await.status,
        204
    );
    let gone = s.get(&format!("/api/v2/users/{}", enc(id))).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body,
        json!({"statusCode": 404, "error": "Not Found", "message": "The user does not exist.", "errorCode": "inexistent_user"})
    );
    assert_eq!(
        s.delete(&format!("/api/v2/users/{}", enc(id))).await.status,
        204,
        "idempotent"
    );
}

#[tokio::test]
async fn duplicate_email_is_409_whatever_its_case() {
    let s = start().await;
    s.create("dup@example.com").await;
    let a = s
        .post(
            "/api/v2/users",
            json!({"connection": DB, "email": "DUP@Example.COM", "password": "Str0ng-Passw0rd"}),
        )
        .await;
    assert_eq!(a.status, 409);
    assert_eq!(
        a.body,
        json!({"statusCode": 409, "error": "Conflict", "message": "The user already exists.", "errorCode": "auth0_idp_error"})
    );
    // Another connection is another namespace.
    let a = s
        .post("/api/v2/users", json!({"connection": "Contractors", "email": "dup@example.com", "password": "Str0ng-Passw0rd"}))
        .await;
    assert_eq!(a.status, 201);
}

#[tokio::test]
async fn invalid_users_get_auth0_shaped_400s() {
    let s = start().await;
    let create = |body: Value| s.post("/api/v2/users", body);

    let a = create(json!({"connection": DB, "email": "weak@example.com", "password": "password"}))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body["message"],
        "PasswordStrengthError: Password is too weak"
    );
    assert_eq!(a.body["statusCode"], 400);
    assert_eq!(a.body["error"], "Bad Request");
    let a =
        create(json!({"connection": DB, "email": "short@example.com", "password": "Ab1!"})).await;
    assert_eq!(
        a.body["message"],
        "PasswordStrengthError: Password is too weak"
    );

    let a =
        create(json!({"connection": DB, "email": "not-an-email", "password": "Str0ng-Passw0rd"}))
            .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "invalid_body");
    assert!(
        a.body["message"].as_str().unwrap().contains("format email"),
        "{}",
        a.body
    );

    let a = create(json!({"connection": DB, "email": "x@example.com", "password": "Str0ng-Passw0rd", "foo": 1})).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body["message"],
        "Payload validation error: 'Additional properties not allowed: foo'."
    );
    assert_eq!(a.body["errorCode"], "invalid_body");

    let a = create(json!({"email": "x@example.com", "password": "Str0ng-Passw0rd"})).await;
    assert_eq!(
        a.body["message"],
        "Payload validation error: 'Missing required property: connection'."
    );

    let a = create(json!({"connection": DB, "email": 42, "password": "Str0ng-Passw0rd"})).await;
    assert_eq!(a.status, 400);
    assert!(a.body["message"]
        .as_str()
        .unwrap()
        .contains("Expected type string but found type integer"));

    let a = create(json!({"connection": DB, "email": "x@example.com", "password": "Str0ng-Passw0rd", "given_name": "x".repeat(151)})).await;
    assert_eq!(a.status, 400);

    let a = create(json!([1, 2])).await;
    assert_eq!(a.status, 400);

    assert_eq!(
        s.control(Method::GET, "/__sim/state", None).await.body["users"],
        json!([]),
        "nothing was created"
    );
}

#[tokio::test]
async fn bad_bodies_malformed_json_wrong_type_and_huge() {
    let s = start_with(SimConfig {
        max_body_bytes: 4096,
        ..roomy()
    })
    .await;
    let raw = |ct: &str, body: Vec<u8>| {
        s.send(
            s.http
                .post(s.url("/api/v2/users"))
                .bearer_auth(&s.token)
                .header("content-type", ct)
                .body(body),
        )
    };
    let a = raw("application/json", b"{\"connection\": ".to_vec()).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"statusCode": 400, "error": "Bad Request", "message": "Invalid request payload JSON format", "errorCode": "invalid_body"})
    );
    let a = raw("text/plain", b"{}".to_vec()).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "invalid_body");

    let huge = format!("{{\"connection\": \"{}\"}}", "x".repeat(10_000)).into_bytes();
    let a = raw("application/json", huge).await;
    assert_eq!(a.status, 413);
    assert_eq!(a.body["statusCode"], 413);
    assert_eq!(a.body["error"], "Request Entity Too Large");

    // Chunked (no Content-Length) is measured as it arrives.
    let mut tcp = tokio::net::TcpStream::connect(s.sim.addr()).await.unwrap();
    let head = format!(
        "POST /api/v2/users HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        s.token
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..10 {
        tcp.write_all(format!("3e8\r\n{}\r\n", " ".repeat(1000)).as_bytes())
            .await
            .unwrap();
    }
    tcp.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tcp.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // The simulator is still fine.
    assert_eq!(s.get("/api/v2/users").await.status, 200);
    let a = s.get("/api/v2/nothing-here").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["statusCode"], 404);
}

// ---- users: PATCH ----------------------------------------------------------

#[tokio::test]
async fn patch_merges_metadata_one_level_and_null_removes() {
    let s = start().await;
    let a = s
        .post(
            "/api/v2/users",
            json!({"connection": DB, "email": "p@example.com", "password": "Str0ng-Passw0rd", "given_name": "Pat",
                   "app_metadata": {"employee_id": 1, "department": "Ship", "nested": {"a": 1, "b": 2}},
                   "user_metadata": {"full_name": "Pat"}}),
        )
        .await;
    let path = format!("/api/v2/users/{}", enc(a.body["user_id"].as_str().unwrap()));

    let p = s
        .patch(
            &path,
            json!({"app_metadata": {"department": null, "role_code": "PK", "nested": {"c": 3}},
                   "blocked": true, "given_name": null, "family_name": "Smith"}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        p.body["app_metadata"],
        json!({"employee_id": 1, "role_code": "PK", "nested": {"c": 3}})
    );
    assert_eq!(
        p.body["user_metadata"],
        json!({"full_name": "Pat"}),
        "untouched"
    );
    assert_eq!(p.body["blocked"], true);
    assert!(p.body.get("given_name").is_none());
    assert_eq!(p.body["family_name"], "Smith");
    assert!(p.body["updated_at"].as_str().unwrap() >= a.body["updated_at"].as_str().unwrap());
    assert_eq!(s.get(&path).await.body, p.body, "stored");

    let p = s.patch(&path, json!({"user_metadata": {}})).await;
    assert_eq!(p.body["user_metadata"], json!({}));

    let p = s
        .patch(&path, json!({"email": "New.Address@Example.com"}))
        .await;
    assert_eq!(p.body["email"], "new.address@example.com");
    assert_eq!(p.body["email_verified"], false);
    let by_email = s
        .get("/api/v2/users-by-email?email=new.address@example.com")
        .await;
    assert_eq!(by_email.body.as_array().unwrap().len(), 1);
    assert_eq!(
        s.get("/api/v2/users-by-email?email=p@example.com")
            .await
            .body,
        json!([])
    );

    assert_eq!(
        s.patch(&path, json!({"password": "weak"})).await.body["message"],
        "PasswordStrengthError: Password is too weak"
    );
    assert_eq!(s.patch(&path, json!({"nope": 1})).await.status, 400);
    assert_eq!(s.patch(&path, json!({})).await.status, 400);
    assert_eq!(s.patch(&path, json!({"blocked": "yes"})).await.status, 400);
    s.create("taken@example.com").await;
    assert_eq!(
        s.patch(&path, json!({"email": "taken@example.com"}))
            .await
            .status,
        400
    );
    assert_eq!(
        s.patch("/api/v2/users/auth0%7Cmissing", json!({"blocked": true}))
            .await
            .status,
        404
    );
}

// ---- users: listing, paging, search ---------------------------------------

#[tokio::test]
async fn list_pages_with_totals_and_refuses_past_1000() {
    let s = start().await;
    let ids = s.seed(employees(1100)).await;
    assert_eq!(ids.len(), 1100);

    let a = s.get("/api/v2/users").await;
    assert_eq!(a.body.as_array().unwrap().len(), 50, "default page size");

    let a = s
        .get("/api/v2/users?per_page=100&page=3&include_totals=true")
        .await;
    assert_eq!(a.status, 200);
    let b = &a.body;
    assert_eq!(
        (
            b["start"].as_u64(),
            b["limit"].as_u64(),
            b["length"].as_u64(),
            b["total"].as_u64()
        ),
        (Some(300), Some(100), Some(100), Some(1100))
    );
    assert_eq!(b["users"][0]["user_id"], ids[300].as_str());

    let last = s.get("/api/v2/users?per_page=100&page=9").await;
    assert_eq!(last.status, 200);
    assert_eq!(last.body.as_array().unwrap().len(), 100);

    let a = s.get("/api/v2/users?per_page=100&page=10").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "invalid_paging");
    assert!(a.body["message"]
        .as_str()
        .unwrap()
        .starts_with("You can only page through the first 1000 records"));

    let a = s.get("/api/v2/users?per_page=101").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "invalid_query_string");
    assert_eq!(s.get("/api/v2/users?page=abc").await.status, 400);
}

async fn search(s: &TestSim, query: &str) -> Answer {
    let url = reqwest::Url::parse_with_params(
        &s.url("/api/v2/users"),
        &[("q", query), ("search_engine", "v3"), ("per_page", "100")],
    )
    .expect("url");
    s.send(s.http.get(url).bearer_auth(&s.token)).await
}

#[tokio::test]
async fn search_by_every_field_rosterd_uses() {
    let s = start().await;
    let mut users = employees(30);
    users[3]["blocked"] = json!(true);
    users[4]["blocked"] = json!(true);
    users[5]["app_metadata"]["created_by"] = json!("someone_else");
    users.push(json!({"email": "Mixed.Case@Example.com", "name": "Mixed Case"}));
    s.seed(users).await;
    let a = search(&s, r#"email:"MIXED.case@example.com""#).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body.as_array().unwrap().len(), 1);
    assert_eq!(a.body[0]["email"], "mixed.case@example.com");

    let a = search(&s, "app_metadata.employee_id:17").await;
    assert_eq!(a.body.as_array().unwrap().len(), 1);
    assert_eq!(a.body[0]["email"], "employee00017@example.com");

    let a = search(&s, r#"app_metadata.created_by:"productivity_system""#).await;
    assert_eq!(a.body.as_array().unwrap().len(), 29);

    let a = search(&s, "blocked:true").await;
    let mut blocked: Vec<&str> = a
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    blocked.sort();
    assert_eq!(
        blocked,
        ["employee00003@example.com", "employee00004@example.com"]
    );

    let a = search(&s, r#"blocked:true AND app_metadata.created_by:"productivity_system" OR email:"mixed.case@example.com""#).await;
    assert_eq!(a.body.as_array().unwrap().len(), 3);

    let a = search(&s, "email:employee0001*").await;
    assert_eq!(a.body.as_array().unwrap().len(), 10);

    let a = search(&s, "created_at:[2020-01-01 TO *]").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "invalid_query_string");

    let a = s
        .get("/api/v2/users?q=app_metadata.employee_id%3A2&include_totals=true")
        .await;
    assert_eq!(a.body["total"], 1);
}

#[tokio::test]
async fn fields_projection_and_sort() {
    let s = start().await;
    s.seed(vec![
        json!({"email": "b@example.com", "created_at": "2024-01-02T00:00:00.000Z"}),
        json!({"email": "a@example.com", "created_at": "2024-01-03T00:00:00.000Z"}),
        json!({"email": "c@example.com", "created_at": "2024-01-01T00:00:00.000Z"}),
    ])
    .await;
    let emails = |b: &Value| {
        b.as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let a = s.get("/api/v2/users?sort=email:1").await;
    assert_eq!(
        emails(&a.body),
        ["a@example.com", "b@example.com", "c@example.com"]
    );
    let a = s.get("/api/v2/users?sort=created_at:-1").await;
    assert_eq!(
        emails(&a.body),
        ["a@example.com", "b@example.com", "c@example.com"]
    );
    let a = s.get("/api/v2/users?sort=created_at:1").await;
    assert_eq!(
        emails(&a.body),
        ["c@example.com", "b@example.com", "a@example.com"]
    );
    assert_eq!(s.get("/api/v2/users?sort=email").await.status, 400);

    let a = s
        .get("/api/v2/users?fields=user_id,email&include_fields=true")
        .await;
    let first = a.body[0].as_object().unwrap();
    let mut keys: Vec<&String> = first.keys().collect();
    keys.sort();
    assert_eq!(keys, ["email", "user_id"]);
    let a = s
        .get("/api/v2/users?fields=identities,picture&include_fields=false")
        .await;
    assert!(a.body[0].get("identities").is_none() && a.body[0].get("email").is_some());
}

#[tokio::test]
async fn users_by_email_is_exact_and_lowercases_the_query() {
    let s = start().await;
    let u = s.create("Someone@Example.com").await;
    let a = s
        .get("/api/v2/users-by-email?email=SOMEONE%40example.COM")
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!([u]));
    assert_eq!(
        s.get("/api/v2/users-by-email?email=someone@example.co")
            .await
            .body,
        json!([])
    );
    let a = s.get("/api/v2/users-by-email").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errorCode"], "invalid_query_string");
}

/// A plain array by default; with `take`/`from` the checkpoint shape the
/// official Python SDK parses (`{connections, next}`).
#[tokio::test]
async fn connections_list_plain_or_by_checkpoint() {
    let s = start().await;
    let mut users = employees(1);
    users[0]["connection"] = json!("corp-db");
    s.seed(users).await;
    let plain = s.get("/api/v2/connections").await;
    assert_eq!(
        plain.body.as_array().map(Vec::len),
        Some(2),
        "{}",
        plain.body
    );
    let first = s.get("/api/v2/connections?take=1").await.body;
    assert_eq!(first["connections"].as_array().map(Vec::len), Some(1));
    let next = first["next"]
        .as_str()
        .expect("a next checkpoint")
        .to_string();
    let second = s
        .get(&format!("/api/v2/connections?take=1&from={next}"))
        .await
        .body;
    assert_eq!(second["connections"][0]["id"], next.as_str());
    assert_ne!(second["connections"][0], first["connections"][0]);
    assert!(second.get("next").is_none(), "{second}");
    let named = s.get("/api/v2/connections?take=10&name=corp-db").await.body;
    assert_eq!(named["connections"][0]["name"], "corp-db");
}

// ---- roles ------------------------------------------------------------------

#[tokio::test]
async fn roles_list_user_roles_and_bulk_assignment() {
    let s = start().await;
    let a = s.get("/api/v2/roles").await;
    let roles = a.body.as_array().unwrap().clone();
    assert_eq!(roles.len(), 15);
    assert!(roles.iter().all(|r| {
        let id = r["id"].as_str().unwrap();
        id.len() == 20
            && id.starts_with("rol_")
            && id[4..].chars().all(|c| c.is_ascii_alphanumeric())
    }));
    let names: Vec<&str> = roles.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Picker") && names.contains(&"Office Admin"));
    let a = s
        .get("/api/v2/roles?per_page=10&page=1&include_totals=true")
        .await;
    assert_eq!(
        (
            a.body["start"].as_u64(),
            a.body["limit"].as_u64(),
            a.body["total"].as_u64()
        ),
        (Some(10), Some(10), Some(15))
    );
    assert_eq!(a.body["roles"].as_array().unwrap().len(), 5);
    let a = s.get("/api/v2/roles?name_filter=pick").await;
    assert_eq!(a.body.as_array().unwrap().len(), 1);

    let picker = roles.iter().find(|r| r["name"] == "Picker").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let packer = roles.iter().find(|r| r["name"] == "Packer").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let u = s.create("worker@example.com").await;
    let path = format!(
        "/api/v2/users/{}/roles",
        enc(u["user_id"].as_str().unwrap())
    );

    assert_eq!(s.get(&path).await.body, json!([]));
    let a = s.post(&path, json!({"roles": [picker, packer]})).await;
    assert_eq!(a.status, 204);
    assert_eq!(a.body, Value::Null);
    let a = s.get(&path).await;
    let mut got: Vec<&str> = a
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["Packer", "Picker"]);
    let a = s
        .api(Method::DELETE, &path, Some(json!({"roles": [packer]})))
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(s.get(&path).await.body.as_array().unwrap().len(), 1);

    assert_eq!(
        s.post(&path, json!({"roles": ["rol_doesnotexist00"]}))
            .await
            .status,
        404
    );
    assert_eq!(s.post(&path, json!({"roles": []})).await.status, 400);
    assert_eq!(s.post(&path, json!({"role": [picker]})).await.status, 400);
    assert_eq!(
        s.post(
            "/api/v2/users/auth0%7Cnobody/roles",
            json!({"roles": [picker]})
        )
        .await
        .status,
        404
    );

    // One role to many users at once.
    let ids = s.seed(employees(5)).await;
    let a = s
        .post(
            &format!("/api/v2/roles/{packer}/users"),
            json!({"users": ids}),
        )
        .await;
    assert!((200..300).contains(&a.status), "{}", a.status);
    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    for id in &ids {
        assert_eq!(state["user_roles"][id], json!([packer]));
    }
    assert_eq!(
        s.post(
            &format!("/api/v2/roles/{packer}/users"),
            json!({"users": ["auth0|ghost"]})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        s.post("/api/v2/roles/rol_nope/users", json!({"users": [ids[0]]}))
            .await
            .status,
        404
    );

    // All or nothing: one unknown user assigns nobody.
    let fresh = s.seed(employees(7)[5..].to_vec()).await;
    let a = s
        .post(
            &format!("/api/v2/roles/{picker}/users"),
            json!({"users": [fresh[0], "auth0|ghost"]}),
        )
        .await;
    assert_eq!(a.status, 404);
    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    assert!(state["user_roles"].get(&fresh[0]).is_none());

    // Deleting a user drops its assignments.
    s.delete(&format!("/api/v2/users/{}", enc(&ids[0]))).await;
    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    assert!(state["user_roles"].get(&ids[0]).is_none());
}

/// A configured cap on users per role assignment is refused as Auth0's
/// validator words an array that is too long, and assigns nobody.
#[tokio::test]
async fn role_assignment_refuses_more_users_than_the_configured_cap() {
    let s = start_with(SimConfig {
        role_users_per_call: Some(3),
        ..roomy()
    })
    .await;
    let role = s.get("/api/v2/roles").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ids = s.seed(employees(4)).await;
    let path = format!("/api/v2/roles/{role}/users");
    let a = s.post(&path, json!({ "users": ids })).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"statusCode": 400, "error": "Bad Request", "errorCode": "invalid_body",
               "message": "Payload validation error: 'Array is too long (4), maximum 3' on property users."})
    );
    let state = s.control(Method::GET, "/__sim/state", None).await.body;
    assert_eq!(state["user_roles"], json!({}));
    assert_eq!(
        s.post(&path, json!({ "users": ids[..3] })).await.status,
        200
    );
}

// ---- jobs -------------------------------------------------------------------

async fn wait_completed(s: &TestSim, id: &str) -> Value {
    for _ in 0..100 {
        let a = s.get(&format!("/api/v2/jobs/{id}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        if a.body["status"] == "completed" {
            return a.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {id} never completed");
}

fn gunzip_lines(bytes: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("gzip");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("ndjson line"))
        .collect()
}

#[tokio::test]
async fn export_job_exports_every_user_with_the_requested_fields() {
    let s = start().await;
    let mut users = employees(1500);
    users[10]["blocked"] = json!(true);
    s.seed(users).await;

    let a = s
        .post(
            "/api/v2/jobs/users-exports",
            json!({"format": "json", "fields": [
                {"name": "user_id"}, {"name": "email"}, {"name": "app_metadata"},
                {"name": "app_metadata.employee_id", "export_as": "employee_id"}, {"name": "blocked"}]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["type"], "users_export");
    assert_eq!(a.body["status"], "pending");
    let id = a.body["id"].as_str().unwrap();
    assert!(
        id.starts_with("job_")
            && id.len() == 20
            && id[4..].chars().all(|c| c.is_ascii_alphanumeric())
    );

    let job = wait_completed(&s, id).await;
    let location = job["location"].as_str().unwrap();
    let file = s.http.get(location).send().await.unwrap();
    assert_eq!(file.status(), 200);
    let rows = gunzip_lines(&file.bytes().await.unwrap());
    assert_eq!(rows.len(), 1500, "all users, not the first 1000");
    assert_eq!(
        rows[10],
        json!({"user_id": rows[10]["user_id"], "email": "employee00010@example.com",
               "app_metadata": {"employee_id": 10, "created_by": "productivity_system"},
               "employee_id": 10, "blocked": true})
    );
    assert!(
        rows[11].get("blocked").is_none(),
        "absent fields are left out"
    );

    // limit, and the default field set.
    let a = s
        .post(
            "/api/v2/jobs/users-exports",
            json!({"format": "json", "limit": 5}),
        )
        .await;
    let job = wait_completed(&s, a.body["id"].as_str().unwrap()).await;
    let rows = gunzip_lines(
        &s.http
            .get(job["location"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(rows.len(), 5);
    assert!(
        rows[0].get("user_id").is_some()
            && rows[0].get("email").is_some()
            && rows[0].get("app_metadata").is_some()
    );

    assert_eq!(
        s.post("/api/v2/jobs/users-exports", json!({"format": "xml"}))
            .await
            .status,
        400
    );
    assert_eq!(
        s.post(
            "/api/v2/jobs/users-exports",
            json!({"fields": [{"nam": "x"}]})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        s.post(
            "/api/v2/jobs/users-exports",
            json!({"connection_id": "con_nope"})
        )
        .await
        .status,
        400
    );
    let a = s.get("/api/v2/jobs/job_doesnotexist0000").await;
    assert_eq!(a.status, 404);
}

/// What rosterd reads back from an export is what the tenant holds: with
/// the default field set every row equals the user's document cut to those
/// fields (nested metadata, unicode, quotes and all), and CSV quotes what
/// needs quoting and writes objects as JSON.
#[tokio::test]
async fn export_round_trips_every_field_as_json_and_csv() {
    let s = start().await;
    let mut users = employees(3);
    users[0]["name"] = json!("Zoë \"Z\" O'Brien, Jr.");
    users[0]["blocked"] = json!(true);
    users[0]["user_metadata"] = json!({"shift": "night", "langs": ["es", "en"]});
    users[1]["app_metadata"]["podfactory_sync"] = json!({"id": 17, "matched_by": "email"});
    users[2]["email_verified"] = json!(true);
    users[2]["logins_count"] = json!(3);
    users[2]["last_login"] = json!("2026-11-30T10:00:00.000Z");
    let ids = s.seed(users).await;

    let a = s
        .post("/api/v2/jobs/users-exports", json!({"format": "json"}))
        .await;
    let job = wait_completed(&s, a.body["id"].as_str().unwrap()).await;
    let file = s
        .http
        .get(job["location"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let rows = gunzip_lines(&file.bytes().await.unwrap());
    assert_eq!(rows.len(), 3);
    let defaults = [
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
        "app_metadata",
        "user_metadata",
    ];
    for (row, id) in rows.iter().zip(&ids) {
        let user = s.get(&format!("/api/v2/users/{}", enc(id))).await.body;
        let mut expected: serde_json::Map<String, Value> = defaults
            .iter()
            .filter_map(|f| user.get(*f).map(|v| (f.to_string(), v.clone())))
            .collect();
        expected.insert(
            "identities[0].connection".into(),
            user["identities"][0]["connection"].clone(),
        );
        assert_eq!(row, &Value::Object(expected), "row for {id}");
    }

    let a = s
        .post(
            "/api/v2/jobs/users-exports",
            json!({"format": "csv", "fields": [{"name": "user_id"}, {"name": "name"},
                   {"name": "blocked"}, {"name": "user_metadata", "export_as": "meta"}]}),
        )
        .await;
    let job = wait_completed(&s, a.body["id"].as_str().unwrap()).await;
    assert!(job["location"].as_str().unwrap().ends_with(".csv.gz"));
    let bytes = s
        .http
        .get(job["location"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "user_id,name,blocked,meta");
    assert_eq!(
        lines[1],
        format!(
            "{},\"Zoë \"\"Z\"\" O'Brien, Jr.\",true,\"{{\"\"langs\"\":[\"\"es\"\",\"\"en\"\"],\"\"shift\"\":\"\"night\"\"}}\"",
            ids[0]
        )
    );
    assert_eq!(lines[2], format!("{},employee00001@example.com,,", ids[1]));
    assert_eq!(lines.len(), 4);
}

// ---- tickets ----------------------------------------------------------------

#[tokio::test]
async fn password_change_ticket() {
    let s = start().await;
    let u = s.create("ticket@example.com").await;
    let a = s
        .post(
            "/api/v2/tickets/password-change",
            json!({"user_id": u["user_id"], "ttl_sec": 0, "mark_email_as_verified": true}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let ticket = a.body["ticket"].as_str().unwrap();
    assert!(ticket.starts_with(&s.url("/lo/reset?ticket=")), "{ticket}");
    let a = s
        .post(
            "/api/v2/tickets/password-change",
            json!({"user_id": "auth0|nobody"}),
        )
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["errorCode"], "inexistent_user");
    assert_eq!(
        s.post("/api/v2/tickets/password-change", json!({}))
            .await
            .status,
        400
    );
    assert_eq!(
        s.post(
            "/api/v2/tickets/password-change",
            json!({"user_id": u["user_id"], "x": 1})
        )
        .await
        .status,
        400
    );
}

/// The usage fields rosterd exports (`created_at`, `last_login`,
/// `logins_count`, the first identity's connection) as Auth0 holds them: a
/// seed keeps a tenant's history, a new account has a creation date and no
/// login yet (absent, not null).
#[tokio::test]
async fn export_carries_usage_dates_and_the_connection_seeded_or_created() {
    let s = start().await;
    let mut users = employees(2);
    users[0]["created_at"] = json!("2025-01-02T03:04:05.678Z");
    users[0]["last_login"] = json!("2026-11-30T10:00:00.000Z");
    users[0]["logins_count"] = json!(42);
    users[1]["connection"] = json!("corp-db");
    users[1]["created_at"] = json!("2024-06-01T00:00:00.000Z");
    let ids = s.seed(users).await;
    let fresh = s.create("new.hire@example.com").await;
    assert!(fresh["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert!(fresh.get("last_login").is_none() && fresh.get("logins_count").is_none());

    let fields: Vec<Value> = ["user_id", "created_at", "last_login", "logins_count"]
        .iter()
        .map(|f| json!({ "name": f }))
        .chain([json!({"name": "identities[0].connection", "export_as": "connection"})])
        .collect();
    let a = s
        .post(
            "/api/v2/jobs/users-exports",
            json!({"format": "json", "fields": fields}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let job = wait_completed(&s, a.body["id"].as_str().unwrap()).await;
    let file = s
        .http
        .get(job["location"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let rows = gunzip_lines(&file.bytes().await.unwrap());
    let row = |id: &str| rows.iter().find(|r| r["user_id"] == id).unwrap().clone();
    assert_eq!(
        row(&ids[0]),
        json!({"user_id": ids[0], "created_at": "2025-01-02T03:04:05.678Z",
               "last_login": "2026-11-30T10:00:00.000Z", "logins_count": 42,
               "connection": "Username-Password-Authentication"})
    );
    assert_eq!(
        row(&ids[1]),
        json!({"user_id": ids[1], "created_at": "2024-06-01T00:00:00.000Z",
               "connection": "corp-db"})
    );
    let new = row(fresh["user_id"].as_str().unwrap());
    assert_eq!(new["created_at"], fresh["created_at"]);
    assert!(new.get("last_login").is_none(), "{new}");

    // A date of the wrong type is refused, as Auth0 does.
    let mut bad = employees(1);
    bad[0]["email"] = json!("bad.date@example.com");
    bad[0]["last_login"] = json!(12);
    let a = s
        .control(Method::POST, "/__sim/users", Some(Value::Array(bad)))
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
}
