//! `rosterd serve`: wiring only. The context, the [`driver`](crate::driver)
//! that starts every run, the store's change feed into the driver, and the
//! HTTP API over the driver's handle; then shutdown in order (triggers,
//! the run in progress within its grace, HTTP).

use crate::config::Settings;
use crate::driver::{DriverConfig, DriverHandle, DriverTask, Reconcile};
use crate::http::AppState;
use crate::run::{self, Context, RunOptions, Trigger};
use chrono::Utc;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A daemon serving in the background (tests, the demo); `serve` wraps it.
pub struct RunningDaemon {
    pub addr: SocketAddr,
    pub ctx: Arc<Context>,
    pub driver: DriverHandle,
    driver_task: DriverTask,
    changes: JoinHandle<()>,
    shutdown: tokio::sync::watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
}

impl RunningDaemon {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop triggers, let the running reconcile finish its current actions
    /// (it records itself as interrupted if actions remain), then stop HTTP.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.changes.abort();
        self.driver_task.shutdown().await;
        let _ = self.shutdown.send(true);
        self.http.await??;
        Ok(())
    }
}

/// Build everything from settings and start serving on `serve.listen`.
pub async fn spawn(settings: Settings) -> anyhow::Result<RunningDaemon> {
    spawn_with(prepare(settings).await?).await
}

/// Connect, migrate, and check the employees source before serving: a query
/// whose columns or types rosterd cannot use is a start-up error naming the
/// column, not a failure of every run.
async fn prepare(settings: Settings) -> anyhow::Result<Arc<Context>> {
    let ctx = Context::new(settings).await?;
    ctx.store.migrate_for(&ctx.settings.database).await?;
    let writes = ctx
        .store
        .check_employees_source(&ctx.settings.database, &ctx.settings.policy)
        .await
        .map_err(anyhow::Error::msg)?;
    tracing::info!(%writes, "employees source checked");
    Ok(ctx)
}

/// Start serving with an existing context (the demo keeps its own).
pub async fn spawn_with(ctx: Arc<Context>) -> anyhow::Result<RunningDaemon> {
    restore_metrics(&ctx).await?;
    let config = DriverConfig::from_settings(&ctx.settings)?;
    let quarantined_since = restored_quarantine(&ctx).await?;
    let s = &ctx.settings.serve;

    let listener = tokio::net::TcpListener::bind(&s.listen)
        .await
        .map_err(|e| anyhow::anyhow!("serve.listen: cannot listen on {}: {e}", s.listen))?;
    let addr = listener.local_addr()?;
    let (driver, driver_task) = crate::driver::spawn(
        Reconcile::new(ctx.clone())?,
        config,
        ctx.metrics.clone(),
        quarantined_since,
    );
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let app = crate::http::router(AppState {
        ctx: ctx.clone(),
        driver: driver.clone(),
    });
    let http = tokio::spawn(async move {
        axum::serve(crate::http::bare_errors::JsonErrorsListener(listener), app)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await
    });

    let mut feed = ctx
        .store
        .change_feed(Duration::from_millis(s.change_poll_ms));
    let to_driver = driver.clone();
    let changes = tokio::spawn(async move {
        loop {
            feed.changed().await;
            to_driver.changed();
        }
    });
    if s.run_at_start {
        match driver
            .start(RunOptions::new(Trigger::Schedule, false))
            .await
        {
            Ok(id) => tracing::info!(run_id = id, "start-up run started"),
            Err(e) => tracing::warn!(error = %e, "no start-up run"),
        }
    }
    tracing::info!(%addr, schedule = %s.schedule, timezone = %s.timezone, "rosterd serving");
    if s.admin_tokens.is_empty() && s.jwt_issuer.trim().is_empty() {
        tracing::warn!(
            "no admin tokens and no JWT issuer: the admin API refuses every request \
             (set ROSTERD_ADMIN_TOKENS or serve.jwt_issuer)"
        );
    }
    Ok(RunningDaemon {
        addr,
        ctx,
        driver,
        driver_task,
        changes,
        shutdown: tx,
        http,
    })
}

/// `rosterd serve`: run until SIGTERM or Ctrl-C, then shut down gracefully.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    serve_with(prepare(settings).await?).await
}

/// Serve `ctx` until SIGTERM or Ctrl-C.
pub async fn serve_with(ctx: Arc<Context>) -> anyhow::Result<()> {
    let daemon = spawn_with(ctx).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    daemon.shutdown().await
}

/// The first Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// So that a restart does not look like "no run for hours" to alerting.
async fn restore_metrics(ctx: &Context) -> anyhow::Result<()> {
    let (last, ok) = ctx.store.last_run_times().await?;
    if let Some(t) = last {
        ctx.metrics.last_run.set(t.timestamp() as f64);
    }
    if let Some(t) = ok {
        ctx.metrics.last_success.set(t.timestamp() as f64);
    }
    ctx.show_shared_gauges().await;
    Ok(())
}

/// Quarantine survives a restart: it is a function of the stored runs.
/// When the last run ended, if rosterd is in quarantine.
async fn restored_quarantine(ctx: &Context) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
    let after = ctx.settings.reconcile.quarantine_after_runs;
    let recent = run::recent_outcomes(&ctx.store, after).await?;
    if !crate::outcome::quarantined(&recent, after) {
        return Ok(None);
    }
    let (last, _) = ctx.store.last_run_times().await?;
    tracing::warn!("quarantined: Auth0 failed the last runs; scheduled runs slowed down");
    Ok(Some(last.unwrap_or_else(Utc::now)))
}
