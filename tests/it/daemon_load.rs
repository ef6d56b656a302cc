//! Load on the admin API while a run applies: 48 clients on loopback hammer
//! `GET /api/v1/runs/{id}` (the run's plan and 300 actions, rewritten as
//! they finish) and `GET /metrics` for as long as the run lasts (at most
//! 15 s, at most 200,000 requests), then print latency percentiles and
//! error counts per endpoint.
//!
//! The daemon and the simulator run on a runtime of their own (two worker
//! threads), the clients on another, as if they were separate processes on
//! the same two cores. Run it with
//! `cargo test --release --test it daemon_load:: -- --ignored --nocapture`.

use crate::common::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 48;
const MAX_REQUESTS: u64 = 200_000;
const MAX_HAMMER: Duration = Duration::from_secs(15);
const EMPLOYEES: i64 = 300;

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    bytes: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(name: &str, t: &mut Tally, elapsed: Duration) {
    t.latencies.sort();
    let l = &t.latencies;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {name:<22} {:>7} ok {:>5} errors {:>8.0} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  avg body {:>6} B",
        l.len(),
        t.errors,
        l.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(l, 50.0)),
        ms(percentile(l, 95.0)),
        ms(percentile(l, 99.0)),
        ms(l.last().copied().unwrap_or_default()),
        t.bytes / (l.len().max(1) as u64),
    );
}

/// One load test at a time: they share two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn load_while_applying(kind: Db) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let baseline = apply_time_without_load(kind);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()
        .unwrap();
    let (db, sim, daemon) = server.block_on(async {
        let db = TestDb::new(kind).await;
        let sim = spawn_sim().await;
        let mut s = daemon_settings(&db, &sim);
        s.auth0.concurrency = 4;
        seed_employees(&s, &staff(EMPLOYEES)).await;
        SimClient::new(&sim)
            .faults(json!({"latency_ms": 100, "endpoint": "POST /api/v2/users"}))
            .await;
        let daemon = rosterd::daemon::spawn(s).await.unwrap();
        (db, sim, daemon)
    });

    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("clients")
        .enable_all()
        .build()
        .unwrap();
    let base = daemon.base_url();
    clients.block_on(async move {
        let admin = DaemonClient::new(&base, Some(ADMIN_TOKEN));
        let started = Instant::now();
        let id = admin.trigger(false).await;
        let run_path = format!("/api/v1/runs/{id}");
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..CLIENTS {
            let (http, stop, sent) = (http.clone(), stop.clone(), sent.clone());
            let (url, auth) = if i % 2 == 0 {
                (format!("{base}{run_path}"), true)
            } else {
                (format!("{base}/metrics"), false)
            };
            tasks.push(tokio::spawn(async move {
                let mut t = Tally::default();
                while !stop.load(Ordering::Relaxed)
                    && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                    && t0.elapsed() < MAX_HAMMER
                {
                    let req = http.get(&url);
                    let req = if auth { req.bearer_auth(ADMIN_TOKEN) } else { req };
                    let at = Instant::now();
                    match req.send().await {
                        Ok(r) if r.status().is_success() => match r.bytes().await {
                            Ok(b) => {
                                t.latencies.push(at.elapsed());
                                t.bytes += b.len() as u64;
                            }
                            Err(_) => t.errors += 1,
                        },
                        _ => t.errors += 1,
                    }
                }
                (i % 2 == 0, t)
            }));
        }
        // Watch the run from the side; stop the hammering when it ends.
        let run = loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let r = admin.get(&run_path).await;
            if r.json["status"] != "running" || t0.elapsed() >= MAX_HAMMER {
                break r.json;
            }
        };
        let run_took = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let hammered = t0.elapsed();
        let (mut detail, mut metrics) = (Tally::default(), Tally::default());
        for task in tasks {
            let (is_detail, t) = task.await.unwrap();
            let into = if is_detail { &mut detail } else { &mut metrics };
            into.latencies.extend(t.latencies);
            into.errors += t.errors;
            into.bytes += t.bytes;
        }
        let done_under_load = run["actions"]
            .as_array()
            .map(|a| a.iter().filter(|a| a["status"] == "succeeded").count())
            .unwrap_or(0);
        println!(
            "\n{kind:?}: {CLIENTS} clients for {hammered:.1?} while run {id} applied {EMPLOYEES} creates \
             (sim latency 100 ms, concurrency 4): {done_under_load} actions done when the hammering stopped \
             (run {} at {run_took:.1?}); the same run without load takes {baseline:.1?}",
            run["status"]
        );
        report(&format!("GET /api/v1/runs/{id}"), &mut detail, hammered);
        report("GET /metrics", &mut metrics, hammered);
        assert_eq!(detail.errors + metrics.errors, 0, "requests failed under load");
        assert!(!detail.latencies.is_empty() && !metrics.latencies.is_empty());
        let finished = admin.wait_run(id, Duration::from_secs(120)).await;
        assert_eq!(finished["status"], "succeeded", "{finished:#}");
        assert_eq!(finished["actions_succeeded"], EMPLOYEES);
        println!(
            "  the run under load took {:.1?} in all (without load {baseline:.1?})",
            started.elapsed()
        );
    });
    server.block_on(async move {
        daemon.shutdown().await.unwrap();
        drop(sim);
    });
    drop(db);
}

/// The same run with nobody watching: how long applying takes on its own.
fn apply_time_without_load(kind: Db) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = TestDb::new(kind).await;
        let sim = spawn_sim().await;
        let mut s = daemon_settings(&db, &sim);
        s.auth0.concurrency = 4;
        seed_employees(&s, &staff(EMPLOYEES)).await;
        SimClient::new(&sim)
            .faults(json!({"latency_ms": 100, "endpoint": "POST /api/v2/users"}))
            .await;
        let daemon = rosterd::daemon::spawn(s).await.unwrap();
        let admin = DaemonClient::admin(&daemon);
        let t0 = Instant::now();
        let id = admin.trigger(false).await;
        let run = admin.wait_run(id, Duration::from_secs(120)).await;
        let took = t0.elapsed();
        assert_eq!(run["status"], "succeeded");
        daemon.shutdown().await.unwrap();
        drop(sim);
        drop(db);
        took
    })
}

#[cfg(feature = "postgres")]
#[test]
#[ignore = "load test: cargo test --release --test it daemon_load:: -- --ignored --nocapture"]
fn admin_api_under_load_while_a_run_applies_postgres() {
    load_while_applying(Db::Postgres);
}

#[test]
#[ignore = "load test: cargo test --release --test it daemon_load:: -- --ignored --nocapture"]
fn admin_api_under_load_while_a_run_applies_sqlite() {
    load_while_applying(Db::Sqlite);
}
