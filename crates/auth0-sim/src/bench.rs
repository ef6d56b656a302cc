//! How many requests per second the simulator sustains on this machine:
//! the rate limit lifted, N users seeded, C concurrent clients on loopback
//! for a fixed time doing rosterd's mix (GET user, users-by-email, PATCH);
//! and how long a users export of N users takes to build and download
//! ([`bench_export`]), since every rosterd run starts with one.

use anyhow::{ensure, Context};
use rand::Rng;
use serde_json::{json, Value};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{spawn, SimConfig};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Users seeded before the run.
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Length of the run in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Also time a JSON and a CSV users export of this many users (0: none).
    #[arg(long, default_value_t = 0)]
    pub export_users: usize,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            users: 10_000,
            concurrency: 32,
            seconds: 10,
            export_users: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub users: usize,
    pub concurrency: usize,
    pub elapsed: Duration,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub exports: Vec<ExportReport>,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "auth0-sim: {} users, {} concurrent clients, {:.1} s on loopback",
            self.users,
            self.concurrency,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(
            f,
            "  mix: 60% GET /users/{{id}}, 30% GET /users-by-email, 10% PATCH /users/{{id}}"
        )?;
        writeln!(
            f,
            "  {} requests, {} errors, {:.0} requests/s",
            self.requests, self.errors, self.rps
        )?;
        write!(
            f,
            "  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50_ms, self.p99_ms, self.max_ms
        )?;
        for export in &self.exports {
            write!(f, "\n{export}")?;
        }
        Ok(())
    }
}

fn percentile(sorted_micros: &[u64], p: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = ((sorted_micros.len() - 1) as f64 * p).round() as usize;
    sorted_micros[rank.min(sorted_micros.len() - 1)] as f64 / 1000.0
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<BenchReport> {
    ensure!(
        args.users > 0 && args.concurrency > 0 && args.seconds > 0,
        "users, concurrency and seconds must be positive"
    );
    let config = SimConfig {
        rate_per_sec: 1e9,
        burst: u32::MAX,
        ..SimConfig::default()
    };
    let (client_id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let sim = spawn(config, "127.0.0.1:0").await?;
    let base = sim.base_url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let ids = seed(&http, &base, args.users).await?;
    let bearer = bearer(&http, &base, &client_id, &secret).await?;

    let ids = Arc::new(ids);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (http, base, bearer, ids) = (http.clone(), base.clone(), bearer.clone(), ids.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let (op, n) = {
                    let mut rng = rand::thread_rng();
                    (rng.gen_range(0..10u8), rng.gen_range(0..ids.len()))
                };
                let id = urlencode(&ids[n]);
                let request = match op {
                    0..=5 => http.get(format!("{base}/api/v2/users/{id}")),
                    6..=8 => http
                        .get(format!("{base}/api/v2/users-by-email"))
                        .query(&[("email", format!("bench.user{n}@example.com"))]),
                    _ => http
                        .patch(format!("{base}/api/v2/users/{id}"))
                        .json(&json!({"app_metadata": {"bench_touch": n}})),
                };
                let sent = Instant::now();
                let ok = match request.header("authorization", &bearer).send().await {
                    Ok(resp) => {
                        let ok = resp.status().is_success();
                        let _ = resp.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed().as_micros() as u64);
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    sim.shutdown().await;

    let mut exports = Vec::new();
    if args.export_users > 0 {
        for format in ["json", "csv"] {
            exports.push(bench_export(args.export_users, format).await?);
        }
    }

    latencies.sort_unstable();
    let requests = latencies.len() as u64;
    Ok(BenchReport {
        users: args.users,
        concurrency: args.concurrency,
        elapsed,
        requests,
        errors,
        rps: requests as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().map_or(0.0, |&m| m as f64 / 1000.0),
        exports,
    })
}

/// Seeds `n` users shaped as rosterd creates them; returns their ids.
async fn seed(http: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let users: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "email": format!("bench.user{i}@example.com"),
                "name": format!("Bench User {i}"),
                "given_name": "Bench",
                "family_name": format!("User {i}"),
                "app_metadata": {"employee_id": i, "created_by": "productivity_system",
                                 "department": "Shipping", "role_code": "PK", "workspace": "TX"},
            })
        })
        .collect();
    let seeded: Value = http
        .post(format!("{base}/__sim/users"))
        .json(&users)
        .send()
        .await?
        .error_for_status()
        .context("seeding users")?
        .json()
        .await?;
    Ok(seeded["user_ids"]
        .as_array()
        .context("seed answer without user_ids")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

async fn bearer(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
) -> anyhow::Result<String> {
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": format!("{base}/api/v2/"),
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(format!(
        "Bearer {}",
        token["access_token"].as_str().context("no access_token")?
    ))
}

#[derive(Debug, Clone)]
pub struct ExportReport {
    pub users: usize,
    pub format: String,
    /// From the export's POST until its job reads `completed`.
    pub build: Duration,
    pub download: Duration,
    pub bytes: usize,
}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "auth0-sim export: {} users as {}, built in {:.3} s, downloaded in {:.3} s ({} KiB gzipped)",
            self.users,
            self.format,
            self.build.as_secs_f64(),
            self.download.as_secs_f64(),
            self.bytes / 1024
        )
    }
}

/// Times one users export of `users` seeded users (rosterd's field list,
/// no pending delay, the job polled every millisecond).
pub async fn bench_export(users: usize, format: &str) -> anyhow::Result<ExportReport> {
    ensure!(users > 0, "users must be positive");
    let config = SimConfig {
        rate_per_sec: 1e9,
        burst: u32::MAX,
        export_delay_ms: 0,
        ..SimConfig::default()
    };
    let (client_id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let sim = spawn(config, "127.0.0.1:0").await?;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    seed(&http, &base, users).await?;
    let bearer = bearer(&http, &base, &client_id, &secret).await?;
    let fields: Vec<Value> = [
        "user_id",
        "email",
        "email_verified",
        "name",
        "given_name",
        "family_name",
        "blocked",
        "created_at",
        "last_login",
        "logins_count",
        "identities[0].connection",
        "app_metadata",
    ]
    .iter()
    .map(|name| json!({ "name": name }))
    .collect();

    let started = Instant::now();
    let job: Value = http
        .post(format!("{base}/api/v2/jobs/users-exports"))
        .header("authorization", &bearer)
        .json(&json!({"format": format, "fields": fields}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = job["id"].as_str().context("export job without id")?;
    let location = loop {
        let job: Value = http
            .get(format!("{base}/api/v2/jobs/{id}"))
            .header("authorization", &bearer)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        match job["status"].as_str() {
            Some("completed") => break job["location"].as_str().unwrap_or_default().to_string(),
            Some("failed") => anyhow::bail!("the export job failed"),
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    };
    let build = started.elapsed();
    let fetched = Instant::now();
    let bytes = http
        .get(location)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?
        .len();
    let download = fetched.elapsed();
    sim.shutdown().await;
    Ok(ExportReport {
        users,
        format: format.to_string(),
        build,
        download,
        bytes,
    })
}

/// User ids hold `|`, which goes on the wire as `%7C` (as the SDKs send it).
fn urlencode(id: &str) -> String {
    id.replace('|', "%7C")
}
