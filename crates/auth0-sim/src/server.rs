//! The shared context, the router, the tenant middleware (faults, rate limit,
//! request log) and the hand-written hyper serve loop.
//!
//! The serve loop is ours rather than `axum::serve` for one reason: a
//! "dropped connection" fault must close the TCP connection without writing
//! any HTTP response. Each connection gets a [`DropConnection`] handle in its
//! requests' extensions; the middleware fires it and the connection task
//! drops the hyper connection (and with it the socket) mid-request.

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::errors::ApiError;
use super::faults::{Fault, Faults};
use super::ratelimit::TokenBucket;
use super::state::{Role, State as Tenant};
use super::{control, jobs, roles, token, users, SimConfig};

/// Everything a handler can reach.
pub(crate) struct Sim {
    pub cfg: SimConfig,
    pub addr: SocketAddr,
    pub jwt_key: Vec<u8>,
    state: Mutex<Tenant>,
    bucket: Mutex<TokenBucket>,
    faults: RwLock<Faults>,
    log: Mutex<RequestLog>,
    dirty: AtomicBool,
    save_wanted: Notify,
}

#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct RequestLog {
    pub total: u64,
    /// `"METHOD /route/{pattern}"` → status (or `dropped`) → count.
    pub by_endpoint: BTreeMap<String, BTreeMap<String, u64>>,
}

/// A handler never panics while holding a lock, but if one ever did the
/// data is still consistent enough to keep serving a simulator.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sim {
    pub(crate) fn new(cfg: SimConfig, addr: SocketAddr, tenant: Tenant) -> Sim {
        let bucket = TokenBucket::new(cfg.rate_per_sec, cfg.burst);
        Sim {
            jwt_key: cfg.client_secret.as_bytes().to_vec(),
            state: Mutex::new(tenant),
            bucket: Mutex::new(bucket),
            faults: RwLock::new(Faults::default()),
            log: Mutex::new(RequestLog::default()),
            dirty: AtomicBool::new(false),
            save_wanted: Notify::new(),
            cfg,
            addr,
        }
    }

    pub(crate) fn tenant(&self) -> MutexGuard<'_, Tenant> {
        lock(&self.state)
    }

    /// Records that the tenant changed, so `--state` gets written.
    pub(crate) fn changed(&self) {
        if self.cfg.state_file.is_some() {
            self.dirty.store(true, Ordering::Release);
            self.save_wanted.notify_one();
        }
    }

    pub(crate) fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    pub(crate) async fn save_requested(&self) {
        self.save_wanted.notified().await;
    }

    pub(crate) fn audience_ok(&self, aud: &str) -> bool {
        match &self.cfg.audience {
            Some(expected) => aud == expected,
            None => aud.ends_with("/api/v2/"),
        }
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    pub(crate) fn requests(&self) -> RequestLog {
        lock(&self.log).clone()
    }

    fn record(&self, endpoint: &str, outcome: &str) {
        let mut log = lock(&self.log);
        log.total += 1;
        *log.by_endpoint
            .entry(endpoint.to_string())
            .or_default()
            .entry(outcome.to_string())
            .or_default() += 1;
    }

    /// `POST /__sim/reset`: the tenant as configured, no history, no faults.
    pub(crate) fn reset(&self) {
        {
            let mut tenant = self.tenant();
            *tenant = Tenant::new(configured_roles(&self.cfg));
        }
        *lock(&self.log) = RequestLog::default();
        self.set_faults(Faults::default());
        lock(&self.bucket).refill_full();
        self.changed();
    }
}

pub(crate) fn configured_roles(cfg: &SimConfig) -> Vec<Role> {
    cfg.roles.iter().map(|name| Role::named(name)).collect()
}

/// The base URL clients reached us by (for job locations and ticket URLs),
/// so links work through a proxy or a non-loopback bind too.
pub(crate) fn public_base(headers: &HeaderMap, sim: &Sim) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| format!("http://{}", sim.addr))
}

/// Fired by the fault middleware to close the connection unanswered.
#[derive(Clone)]
pub(crate) struct DropConnection(Arc<Notify>);

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    let api = Router::new()
        .route("/api/v2/users", get(users::list).post(users::create))
        .route(
            "/api/v2/users/{id}",
            get(users::get_one)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/api/v2/users-by-email", get(users::by_email))
        .route("/api/v2/connections", get(users::connections))
        .route("/api/v2/roles", get(roles::list))
        .route(
            "/api/v2/users/{id}/roles",
            get(roles::user_roles)
                .post(roles::add_user_roles)
                .delete(roles::remove_user_roles),
        )
        .route("/api/v2/roles/{id}/users", post(roles::assign_users))
        .route("/api/v2/jobs/users-exports", post(jobs::export::create))
        .route("/api/v2/jobs/users-imports", post(jobs::import::create))
        .route("/api/v2/jobs/{id}", get(jobs::get_job))
        .route("/api/v2/jobs/{id}/errors", get(jobs::get_errors))
        .route(
            "/api/v2/tickets/password-change",
            post(users::password_ticket),
        )
        .route_layer(middleware::from_fn_with_state(
            sim.clone(),
            token::require_bearer,
        ));

    let tenant = Router::new()
        .route("/oauth/token", post(token::issue))
        .merge(api)
        .route_layer(middleware::from_fn_with_state(sim.clone(), tenant_layer));

    let control = Router::new()
        .route("/__sim/state", get(control::state))
        .route("/__sim/reset", post(control::reset))
        .route(
            "/__sim/faults",
            put(control::set_faults)
                .get(control::get_faults)
                .delete(control::clear_faults),
        )
        .route("/__sim/users", post(control::seed_users))
        .route("/__sim/requests", get(control::requests))
        .route("/__sim/exports/{file}", get(jobs::export::download));

    tenant
        .merge(control)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Only the multipart import reads its body through axum; everything
        // else reads with its own limit (see `errors::read_body`).
        .layer(DefaultBodyLimit::max(sim.cfg.max_body_bytes))
        .with_state(sim)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// Faults, rate limit, rate-limit headers and the request log, for every
/// tenant route (`/oauth/token` and `/api/v2/...`), never for `/__sim`.
async fn tenant_layer(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let endpoint = format!("{} {}", req.method(), route);

    let faults = sim.faults();
    let fault = if faults.is_active() && faults.applies_to(&endpoint) {
        if faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
        }
        faults.roll()
    } else {
        Fault::None
    };

    let drop_handle = req.extensions().get::<DropConnection>().cloned();
    let mut response = match fault {
        Fault::Drop => {
            sim.record(&endpoint, "dropped");
            return drop_connection(drop_handle).await;
        }
        Fault::TooManyRequests => {
            let quota = lock(&sim.bucket).refused();
            let mut resp = too_many_requests();
            quota.write(resp.headers_mut());
            resp
        }
        Fault::ServerError(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let quota = lock(&sim.bucket).take();
            let mut resp = ApiError::new(status, "Simulated server error").into_response();
            quota.write(resp.headers_mut());
            resp
        }
        Fault::None | Fault::DropAfter => {
            let quota = lock(&sim.bucket).take();
            let mut resp = if quota.allowed {
                next.run(req).await
            } else {
                too_many_requests()
            };
            if fault == Fault::DropAfter && resp.status().is_success() {
                // Handled (the tenant changed), but the answer is lost.
                sim.record(&endpoint, "dropped");
                return drop_connection(drop_handle).await;
            }
            quota.write(resp.headers_mut());
            resp
        }
    };
    sim.record(&endpoint, response.status().as_str());
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-cache"));
    response
}

/// Closes the connection without an answer; never returns when served by
/// our loop (the connection task drops this future along with the socket).
async fn drop_connection(handle: Option<DropConnection>) -> Response {
    if let Some(handle) = handle {
        handle.0.notify_one();
        std::future::pending::<()>().await;
    }
    // Not served by our loop (cannot happen): fail loudly instead.
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Connection dropped").into_response()
}

fn too_many_requests() -> Response {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Global limit has been reached",
    )
    .code("too_many_requests")
    .into_response()
}

/// Accepts connections until `shutdown` flips, then lets in-flight
/// requests finish (bounded) before returning.
pub(crate) async fn serve(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // Out of descriptors and the like: back off, keep serving.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                conns.spawn(serve_connection(stream, app.clone(), shutdown.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let drop_signal = Arc::new(Notify::new());
    let handle = DropConnection(drop_signal.clone());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(handle.clone());
        app.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = drop_signal.notified() => return,
            _ = shutdown.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}
