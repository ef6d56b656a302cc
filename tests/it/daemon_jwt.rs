//! Auth0-issued JWTs on the admin API, end to end: a real daemon on an
//! ephemeral port with the Auth0 simulator and a SQLite database, a small
//! JWKS server (also on port 0) that counts its fetches, and tokens signed
//! here with `jsonwebtoken`.
//!
//! `tests/fixtures/jwt_test_key.pem` is a TEST FIXTURE, generated once with
//! `openssl genrsa 2048` for these tests only; it is not, and must never
//! become, a real key. `jwt_test_key.pub.pem` is its public half (for the
//! algorithm-confusion case); the JWK's `n` and `e` are computed from it.

use crate::common::*;
use axum::extract::State;
use axum::Json;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use rosterd::daemon::{self, RunningDaemon};
use rosterd::store::Store;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Test fixture, never a real key (see the module comment).
const PRIVATE_PEM: &[u8] = include_bytes!("../fixtures/jwt_test_key.pem");
const PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/jwt_test_key.pub.pem");
const KID: &str = "rosterd-test-key-1";
const AUDIENCE: &str = "https://rosterd.acme-print.example/api";
const RUN_PERMISSION: &str = "reconcile:run";
const READ_PERMISSION: &str = "reconcile:read";

// ---------------------------------------------------------------------------
// A JWKS server and tokens
// ---------------------------------------------------------------------------

/// Serves `{"keys": [...]}` on every path and counts the requests.
struct JwksServer {
    /// The issuer the tests use: this server's base URL plus a path unique
    /// to the test (so no two tests share rosterd's per-URL JWKS cache); its
    /// JWKS is at the default `{issuer}.well-known/jwks.json`.
    issuer: String,
    fetches: Arc<AtomicUsize>,
    keys: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct JwksState {
    fetches: Arc<AtomicUsize>,
    keys: Arc<Mutex<Vec<Value>>>,
}

async fn serve_jwks(State(s): State<JwksState>) -> Json<Value> {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    let keys = s.keys.lock().unwrap().clone();
    Json(json!({ "keys": keys }))
}

impl JwksServer {
    /// Publishes the test key under each of `kids`, plus a key of a type
    /// rosterd does not use (which must not spoil the others).
    async fn start(kids: &[&str]) -> JwksServer {
        let mut keys: Vec<Value> = kids.iter().map(|k| public_jwk(k)).collect();
        keys.push(json!({"kty": "OKP", "crv": "X448", "kid": "something-else", "x": "AAAA"}));
        let state = JwksState {
            fetches: Arc::new(AtomicUsize::new(0)),
            keys: Arc::new(Mutex::new(keys)),
        };
        let app = axum::Router::new()
            .fallback(serve_jwks)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        JwksServer {
            issuer: format!("http://{addr}/tenant-{}/", rand_suffix()),
            fetches: state.fetches,
            keys: state.keys,
            task,
        }
    }
    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
    fn publish(&self, kid: &str) {
        self.keys.lock().unwrap().push(public_jwk(kid));
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn private_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(PRIVATE_PEM).expect("the test key fixture parses")
}

/// The public JWK of the test key, as Auth0 publishes one.
fn public_jwk(kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&private_key(), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_string());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    serde_json::to_value(jwk).unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims like an Auth0 access token's for `sub` with these permissions.
fn claims(issuer: &str, sub: &str, permissions: &[&str]) -> Value {
    let now = now();
    json!({
        "iss": issuer, "sub": sub, "aud": AUDIENCE,
        "iat": now, "exp": now + 600,
        "azp": "test-client", "permissions": permissions,
    })
}

/// RS256-signed with the test key, `kid` in the header.
fn sign(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    encode(&header, claims, &private_key()).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------------
// A daemon that takes them
// ---------------------------------------------------------------------------

struct World {
    _db: TestDb,
    _sim: auth0_sim::RunningSim,
    jwks: JwksServer,
    daemon: RunningDaemon,
}

impl World {
    /// A daemon with the usual static tokens and JWTs from `jwks`'s issuer
    /// (unless `tweak` says otherwise).
    async fn new(jwks: JwksServer, tweak: impl FnOnce(&mut rosterd::config::Settings)) -> World {
        let db = TestDb::new(Db::Sqlite).await;
        let sim = spawn_sim().await;
        let mut s = daemon_settings(&db, &sim);
        s.serve.jwt_issuer = jwks.issuer.clone();
        s.serve.jwt_audience = AUDIENCE.into();
        tweak(&mut s);
        seed_employees(&s, &staff(2)).await;
        let daemon = daemon::spawn(s).await.expect("the daemon starts");
        World {
            _db: db,
            _sim: sim,
            jwks,
            daemon,
        }
    }
    fn client(&self, token: &str) -> DaemonClient {
        DaemonClient::new(self.daemon.base_url(), Some(token))
    }
    /// A valid token of this world's issuer for `sub`.
    fn token(&self, sub: &str, permissions: &[&str]) -> String {
        sign(&claims(&self.jwks.issuer, sub, permissions), KID)
    }
    fn store(&self) -> &Store {
        &self.daemon.ctx.store
    }
}

/// A 401 API error with a Bearer challenge whose message contains `needle`
/// and nothing of the token.
#[track_caller]
fn assert_401(what: &str, r: &Reply, needle: &str, token: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text);
    assert_eq!(r.error(), "unauthorized", "{what}: {}", r.text);
    let message = r.json["message"].as_str().unwrap_or_default();
    assert!(
        message.to_lowercase().contains(&needle.to_lowercase()),
        "{what}: message {message:?} should say {needle:?}"
    );
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "{what}: {:?}",
        r.headers
    );
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(
            !r.text.contains(part),
            "{what}: the answer echoes the token"
        );
    }
    assert!(
        !r.text.contains("auth0|"),
        "{what}: the answer shows a claim"
    );
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_jwt_with_the_permission_triggers_a_run_audited_as_its_sub() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;
    let sub = "auth0|64f1c0ffee0000000000abcd";
    let c = w.client(&w.token(sub, &[RUN_PERMISSION]));

    let r = c.post("/api/v1/runs", json!({})).await;
    r.expect(202);
    let id = r.json["run_id"].as_i64().unwrap();
    let run = c.wait_run(id, Duration::from_secs(30)).await;
    assert_ne!(run["status"], "running");
    assert!(
        admin_audit(w.store())
            .await
            .contains(&(sub.into(), "trigger_run".into(), id.to_string())),
        "{:?}",
        admin_audit(w.store()).await
    );

    // A machine-to-machine token: `aud` as an array, the permission in
    // `scope`; the actor is `<client>@clients`.
    let mut m2m = claims(&w.jwks.issuer, "ci-client@clients", &[]);
    m2m["aud"] = json!([AUDIENCE, "https://other.example/userinfo"]);
    m2m["scope"] = json!(format!("openid {RUN_PERMISSION}"));
    m2m.as_object_mut().unwrap().remove("permissions");
    let m2m = w.client(&sign(&m2m, KID));
    let r = m2m
        .post(
            "/api/v1/mappings",
            json!({"podfactory_user_id": "pf-7", "employee_id": 1}),
        )
        .await;
    r.expect(201);
    assert!(admin_audit(w.store())
        .await
        .iter()
        .any(|(actor, action, _)| { actor == "ci-client@clients" && action == "create_mapping" }));

    // Expired by less than the leeway still passes (clock skew).
    let mut skewed = claims(&w.jwks.issuer, sub, &[RUN_PERMISSION]);
    skewed["exp"] = json!(now() - 5);
    w.client(&sign(&skewed, KID))
        .get("/api/v1/runs")
        .await
        .expect(200);

    assert_eq!(w.jwks.fetches(), 1, "the JWKS is fetched once and cached");
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_jwt_failure_is_401_with_a_challenge_naming_the_check() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;
    let iss = w.jwks.issuer.clone();
    let sub = "auth0|64f1c0ffee0000000000abcd";
    let good = claims(&iss, sub, &[RUN_PERMISSION]);
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };

    // Algorithm confusion: HS256 keyed with the public key everyone has.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(KID.into());
    let confused = encode(&hs, &good, &EncodingKey::from_secret(PUBLIC_PEM)).unwrap();
    // `alg: none`, no signature.
    let none = format!(
        "{}.{}.",
        b64(&serde_json::to_vec(&json!({"alg": "none", "typ": "JWT", "kid": KID})).unwrap()),
        b64(&serde_json::to_vec(&good).unwrap()),
    );
    // A valid token whose payload was swapped for one with more rights.
    let valid = sign(&claims(&iss, sub, &[READ_PERMISSION]), KID);
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&serde_json::to_vec(&good).unwrap()),
        parts[2]
    );
    let no_kid = encode(&Header::new(Algorithm::RS256), &good, &private_key()).unwrap();

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            sign(&with("exp", json!(now() - 3600)), KID),
            "expired",
        ),
        (
            "not yet valid",
            sign(&with("nbf", json!(now() + 3600)), KID),
            "not valid yet",
        ),
        (
            "wrong audience",
            sign(&with("aud", json!("https://another-api.example/")), KID),
            "audience",
        ),
        (
            "wrong audience in an array",
            sign(&with("aud", json!(["https://another-api.example/"])), KID),
            "audience",
        ),
        (
            "wrong issuer",
            sign(&with("iss", json!("https://evil.eu.auth0.com/")), KID),
            "issuer",
        ),
        ("no exp", sign(&without("exp"), KID), "exp"),
        ("no aud", sign(&without("aud"), KID), "aud"),
        ("no sub", sign(&without("sub"), KID), "sub"),
        ("HS256 with the public key", confused, "algorithm"),
        ("alg none", none, "algorithm \"none\""),
        ("tampered payload", tampered, "signature"),
        ("no kid", no_kid, "kid"),
    ];
    for (what, token, needle) in &cases {
        let c = w.client(token);
        assert_401(what, &c.get("/api/v1/runs").await, needle, token);
        assert_401(
            what,
            &c.post("/api/v1/runs", json!({})).await,
            needle,
            token,
        );
    }
    let admin = DaemonClient::admin(&w.daemon);
    assert!(admin.runs().await.is_empty(), "nothing started");
    assert!(admin_audit(w.store()).await.is_empty(), "nothing done");
    assert_eq!(w.jwks.fetches(), 1, "bad tokens do not refetch keys");
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_is_401_after_one_jwks_refetch_and_refetches_are_rate_limited() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;
    w.client(&w.token("auth0|a", &[RUN_PERMISSION]))
        .get("/api/v1/runs")
        .await
        .expect(200);
    assert_eq!(w.jwks.fetches(), 1);

    let unknown = sign(
        &claims(&w.jwks.issuer, "auth0|a", &[RUN_PERMISSION]),
        "not-published",
    );
    let r = w.client(&unknown).get("/api/v1/runs").await;
    assert_401("unknown kid", &r, "unknown key", &unknown);
    assert_eq!(w.jwks.fetches(), 2, "one refetch for an unknown kid");

    // More unknown kids right after: no more fetches (at most one per 30 s).
    for i in 0..5 {
        let t = sign(
            &claims(&w.jwks.issuer, "auth0|a", &[RUN_PERMISSION]),
            &format!("junk-{i}"),
        );
        assert_401(
            "another unknown kid",
            &w.client(&t).get("/api/v1/runs").await,
            "unknown key",
            &t,
        );
    }
    assert_eq!(w.jwks.fetches(), 2, "unknown kids do not hammer the JWKS");
    // Known keys keep working from the cache.
    w.client(&w.token("auth0|a", &[RUN_PERMISSION]))
        .get("/api/v1/runs")
        .await
        .expect(200);
    assert_eq!(w.jwks.fetches(), 2);
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_signing_key_is_found_by_one_refetch() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;
    w.client(&w.token("auth0|a", &[RUN_PERMISSION]))
        .get("/api/v1/runs")
        .await
        .expect(200);
    // The tenant rotates: a new kid appears after rosterd cached the JWKS.
    w.jwks.publish("rosterd-test-key-2");
    let rotated = sign(
        &claims(&w.jwks.issuer, "auth0|a", &[RUN_PERMISSION]),
        "rosterd-test-key-2",
    );
    w.client(&rotated).get("/api/v1/runs").await.expect(200);
    w.client(&rotated).get("/api/v1/runs").await.expect(200);
    assert_eq!(w.jwks.fetches(), 2);
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_jwt_without_the_permission_is_403_naming_it_and_read_permission_only_reads() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;

    let nothing = w.client(&w.token("auth0|nobody", &["something:else"]));
    let r = nothing.post("/api/v1/runs", json!({})).await;
    r.expect_error(403, "forbidden");
    assert_eq!(r.json["missing_permission"], RUN_PERMISSION, "{}", r.text);
    assert!(r.json["message"].as_str().unwrap().contains(RUN_PERMISSION));
    let r = nothing.get("/api/v1/runs").await;
    r.expect_error(403, "forbidden");
    assert!(r.json["message"]
        .as_str()
        .unwrap()
        .contains(READ_PERMISSION));

    let reader = w.client(&w.token("auth0|grafana", &[READ_PERMISSION]));
    for path in ["/api/v1/runs", "/api/v1/findings", "/api/v1/mappings"] {
        reader.get(path).await.expect(200);
    }
    let r = reader.post("/api/v1/runs", json!({})).await;
    r.expect_error(403, "forbidden");
    assert_eq!(r.json["missing_permission"], RUN_PERMISSION);
    reader
        .delete("/api/v1/mappings/1")
        .await
        .expect_error(403, "forbidden");
    // The read permission in `scope` counts the same.
    let mut scoped = claims(&w.jwks.issuer, "auth0|grafana", &[]);
    scoped["scope"] = json!(READ_PERMISSION);
    let scoped = w.client(&sign(&scoped, KID));
    scoped.get("/api/v1/runs").await.expect(200);
    scoped
        .post("/api/v1/runs", json!({}))
        .await
        .expect_error(403, "forbidden");

    let admin = DaemonClient::admin(&w.daemon);
    assert!(admin.runs().await.is_empty(), "nothing started");
    assert!(admin_audit(w.store()).await.is_empty(), "nothing done");
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_permissions_are_the_ones_checked() {
    let w = World::new(JwksServer::start(&[KID]).await, |s| {
        s.serve.jwt_permission = "rosterd:admin".into();
        s.serve.jwt_read_permission = String::new();
    })
    .await;
    let r = w
        .client(&w.token("auth0|a", &[RUN_PERMISSION, READ_PERMISSION]))
        .get("/api/v1/runs")
        .await;
    r.expect_error(403, "forbidden");
    assert_eq!(r.json["missing_permission"], "rosterd:admin");
    w.client(&w.token("auth0|a", &["rosterd:admin"]))
        .post("/api/v1/runs", json!({"dry_run": true}))
        .await
        .expect(202);
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_tokens_still_work_alongside_jwts() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;
    let admin = DaemonClient::admin(&w.daemon);
    let id = admin.trigger(true).await;
    admin.wait_run(id, Duration::from_secs(30)).await;
    let reader = DaemonClient::reader(&w.daemon);
    reader.get("/api/v1/runs").await.expect(200);
    reader
        .post("/api/v1/runs", json!({}))
        .await
        .expect_error(403, "forbidden");
    assert!(admin_audit(w.store()).await.contains(&(
        ADMIN_NAME.into(),
        "trigger_run".into(),
        id.to_string()
    )));
    // A wrong static token is still just wrong, and fetches no keys.
    let r = w
        .client("not-a-token-at-all-0000")
        .get("/api/v1/runs")
        .await;
    assert_401("wrong static token", &r, "invalid token", "");
    assert_eq!(w.jwks.fetches(), 0, "static tokens never touch the JWKS");

    // Without any static token, JWTs alone open the API.
    let jwt_only = World::new(JwksServer::start(&[KID]).await, |s| {
        s.serve.admin_tokens.clear()
    })
    .await;
    jwt_only
        .client(&jwt_only.token("auth0|a", &[RUN_PERMISSION]))
        .get("/api/v1/runs")
        .await
        .expect(200);
    DaemonClient::admin(&jwt_only.daemon)
        .get("/api/v1/runs")
        .await
        .expect_error(401, "unauthorized");
    jwt_only.daemon.shutdown().await.unwrap();
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_jwt_off_a_jwt_is_just_a_wrong_token() {
    let w = World::new(JwksServer::start(&[KID]).await, |s| {
        s.serve.jwt_issuer = String::new()
    })
    .await;
    let token = w.token("auth0|a", &[RUN_PERMISSION]);
    for r in [
        w.client(&token).get("/api/v1/runs").await,
        w.client(&token).post("/api/v1/runs", json!({})).await,
    ] {
        assert_401("JWT while JWTs are off", &r, "invalid token", &token);
    }
    assert_eq!(w.jwks.fetches(), 0);
    DaemonClient::admin(&w.daemon)
        .get("/api/v1/runs")
        .await
        .expect(200);
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_is_fetched_once_for_many_concurrent_requests() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;
    let c = w.client(&w.token("auth0|a", &[READ_PERMISSION]));
    let replies = futures::future::join_all((0..40).map(|_| {
        let c = c.clone();
        async move { c.get("/api/v1/runs").await }
    }))
    .await;
    for r in &replies {
        r.expect(200);
    }
    // Other tokens and subjects, later: still the cached keys.
    for i in 0..10 {
        w.client(&w.token(&format!("auth0|user{i}"), &[READ_PERMISSION]))
            .get("/api/v1/findings")
            .await
            .expect(200);
    }
    assert_eq!(w.jwks.fetches(), 1, "one fetch for 50 requests");
    w.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_jwks_is_503_and_an_explicit_jwks_url_is_used() {
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let w = World::new(JwksServer::start(&[KID]).await, |s| {
        s.serve.jwt_jwks_url = format!("http://{closed}/.well-known/jwks.json")
    })
    .await;
    let r = w
        .client(&w.token("auth0|a", &[RUN_PERMISSION]))
        .get("/api/v1/runs")
        .await;
    r.expect_error(503, "jwks_unavailable");
    assert_eq!(w.jwks.fetches(), 0, "the issuer's default URL is not used");
    w.daemon.shutdown().await.unwrap();

    // And an explicit URL that works.
    let jwks = JwksServer::start(&[KID]).await;
    let url = format!("{}keys-elsewhere", jwks.issuer);
    let issuer = "https://rosterd-test.eu.auth0.com/";
    let w = World::new(jwks, |s| {
        s.serve.jwt_issuer = issuer.into();
        s.serve.jwt_jwks_url = url;
    })
    .await;
    w.client(&sign(&claims(issuer, "auth0|a", &[RUN_PERMISSION]), KID))
        .get("/api/v1/runs")
        .await
        .expect(200);
    assert_eq!(w.jwks.fetches(), 1);
    w.daemon.shutdown().await.unwrap();
}

#[test]
fn jwt_settings_are_validated() {
    use rosterd::config::Settings;
    let toml = |serve: &str| {
        format!(
            "[auth0]\ndomain = \"acme.eu.auth0.com\"\nclient_id = \"abc\"\n\n[serve]\n{serve}\n"
        )
    };
    let env = |extra: &[(&str, &str)]| {
        let mut v = vec![("ROSTERD_AUTH0_CLIENT_SECRET".to_string(), "s".to_string())];
        v.extend(extra.iter().map(|(k, x)| (k.to_string(), x.to_string())));
        v
    };
    let problems = |serve: &str| {
        Settings::from_sources(&toml(serve), env(&[]))
            .err()
            .map(|e| e.problems)
            .unwrap_or_default()
    };

    // Off by default, with Auth0's usual permission names.
    let s = Settings::from_sources(&toml(""), env(&[])).unwrap();
    assert_eq!(s.serve.jwt_issuer, "");
    assert_eq!(s.serve.jwt_permission, RUN_PERMISSION);
    assert_eq!(s.serve.jwt_read_permission, READ_PERMISSION);

    let s = Settings::from_sources(
        &toml(&format!(
            "jwt_issuer = \"https://acme.eu.auth0.com/\"\njwt_audience = \"{AUDIENCE}\""
        )),
        env(&[]),
    )
    .unwrap();
    assert_eq!(s.serve.jwt_audience, AUDIENCE);

    let p = problems("jwt_issuer = \"acme.eu.auth0.com\"\njwt_audience = \"x\"");
    assert!(p.iter().any(|m| m.starts_with("serve.jwt_issuer")), "{p:?}");
    let p = problems("jwt_issuer = \"https://acme.eu.auth0.com/\"");
    assert!(
        p.iter().any(|m| m.starts_with("serve.jwt_audience")),
        "{p:?}"
    );
    let p = problems(
        "jwt_issuer = \"https://acme.eu.auth0.com/\"\njwt_audience = \"x\"\njwt_permission = \"\"",
    );
    assert!(
        p.iter().any(|m| m.starts_with("serve.jwt_permission")),
        "{p:?}"
    );
    let p = problems("jwt_jwks_url = \"ftp://keys\"");
    assert!(
        p.iter().any(|m| m.starts_with("serve.jwt_jwks_url")),
        "{p:?}"
    );

    // The environment sets them like any key.
    let s = Settings::from_sources(
        &toml(""),
        env(&[
            ("ROSTERD_SERVE__JWT_ISSUER", "https://acme.eu.auth0.com/"),
            ("ROSTERD_SERVE__JWT_AUDIENCE", AUDIENCE),
        ]),
    )
    .unwrap();
    assert_eq!(s.serve.jwt_issuer, "https://acme.eu.auth0.com/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_and_health_stay_open_with_jwts_on() {
    let w = World::new(JwksServer::start(&[KID]).await, |_| {}).await;
    let anon = DaemonClient::anonymous(&w.daemon);
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        anon.get(path).await.expect(200);
    }
    let r = anon.send(anon.request(Method::GET, "/api/v1/runs")).await;
    r.expect_error(401, "unauthorized");
    w.daemon.shutdown().await.unwrap();
}
