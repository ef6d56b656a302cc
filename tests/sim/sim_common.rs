//! Shared by the `sim_*` integration tests: a simulator on port 0 per test
//! and a small JSON client for it.
#![allow(dead_code)] // each test crate uses a different part of this

use auth0_sim::{spawn, RunningSim, SimConfig};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub struct TestSim {
    pub sim: RunningSim,
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A config whose rate limit never gets in a test's way.
pub fn roomy() -> SimConfig {
    SimConfig {
        rate_per_sec: 100_000.0,
        burst: 100_000,
        export_delay_ms: 50,
        ..SimConfig::default()
    }
}

pub async fn start() -> TestSim {
    start_with(roomy()).await
}

pub async fn start_with(cfg: SimConfig) -> TestSim {
    let (id, secret) = (cfg.client_id.clone(), cfg.client_secret.clone());
    let sim = spawn(cfg, "127.0.0.1:0").await.expect("simulator starts");
    let base = sim.base_url();
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{base}/oauth/token"))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": id,
            "client_secret": secret,
            "audience": format!("{base}/api/v2/"),
        }))
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    let token = answer["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    TestSim {
        sim,
        base,
        http,
        token,
    }
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("request completes");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// An authenticated Management API call.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.api(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.api(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.api(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.api(Method::DELETE, path, None).await
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// Seeds users through `/__sim/users`; returns their ids.
    pub async fn seed(&self, users: Vec<Value>) -> Vec<String> {
        let a = self
            .control(Method::POST, "/__sim/users", Some(Value::Array(users)))
            .await;
        assert_eq!(a.status, 201, "seed: {}", a.body);
        a.body["user_ids"]
            .as_array()
            .expect("user_ids")
            .iter()
            .map(|v| v.as_str().expect("id").to_string())
            .collect()
    }

    pub async fn create(&self, email: &str) -> Value {
        let a = self
            .post(
                "/api/v2/users",
                json!({"connection": "Username-Password-Authentication", "email": email, "password": "Str0ng-Passw0rd"}),
            )
            .await;
        assert_eq!(a.status, 201, "create {email}: {}", a.body);
        a.body
    }

    pub async fn requests(&self) -> Value {
        self.control(Method::GET, "/__sim/requests", None)
            .await
            .body
    }
}

/// `auth0|abc` as it goes in a path.
pub fn enc(id: &str) -> String {
    id.replace('|', "%7C")
}

pub fn employees(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "email": format!("employee{i:05}@example.com"),
                "given_name": "Emp",
                "family_name": format!("Loyee{i}"),
                "app_metadata": {"employee_id": i, "created_by": "productivity_system"},
            })
        })
        .collect()
}
