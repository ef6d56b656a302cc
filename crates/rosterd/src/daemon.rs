//! `rosterd serve`: the scheduler, change triggers and the HTTP API around
//! one [`Runner`].
//!
//! Every trigger (a cron tick, an admin's `POST /runs`, an employee change,
//! an Auth0 event hook) ends in [`Runner::start`], which starts the same
//! full, input-less run. The runner never overlaps runs: a cron tick during
//! a run is skipped and counted; a change during a run is remembered and
//! becomes one follow-up run when the current one ends (changes coalesce).
//!
//! tokio-cron-scheduler does not prevent overlaps, fixes a time zone's UTC
//! offset when a job is created (so DST shifts it), and does not wait for
//! running jobs on shutdown; the runner, the offset watchdog in
//! [`schedule`] and [`RunningDaemon::shutdown`] cover those.

use crate::config::Settings;
use crate::run::{self, Context, RunError, RunOptions};
use chrono::{Offset, TimeZone, Utc};
use futures::FutureExt;
use rand::Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Starts runs; at most one at a time.
pub struct Runner {
    pub ctx: Arc<Context>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    changes: Arc<Notify>,
    accepting: AtomicBool,
    notifier: Option<crate::notify::Notifier>,
    /// In quarantine: when the last run finished.
    quarantine: Arc<std::sync::Mutex<Option<chrono::DateTime<Utc>>>>,
}

impl Runner {
    pub fn new(ctx: Arc<Context>) -> anyhow::Result<Arc<Runner>> {
        let notifier = crate::notify::Notifier::for_context(&ctx)?;
        Ok(Arc::new(Runner {
            ctx,
            task: tokio::sync::Mutex::new(None),
            changes: Arc::new(Notify::new()),
            accepting: AtomicBool::new(true),
            notifier,
            quarantine: Arc::default(),
        }))
    }

    fn set_quarantine(&self, last_run: Option<chrono::DateTime<Utc>>) {
        set_quarantine(&self.ctx, &self.quarantine, last_run);
    }

    /// In quarantine, how long before a scheduled or change-triggered run
    /// may start (`None`: it may now). Admin-triggered runs always start.
    fn quarantine_wait(&self) -> Option<Duration> {
        let last = (*self.quarantine.lock().unwrap_or_else(|p| p.into_inner()))?;
        let every =
            chrono::Duration::seconds(self.ctx.settings.reconcile.quarantine_interval_secs as i64);
        (last + every - Utc::now()).to_std().ok()
    }

    /// Start a run in the background and return its id, or say why not.
    pub async fn start(&self, opts: RunOptions) -> Result<i64, RunError> {
        // Held across `begin`, so a shutdown waiting in `wait_idle` also
        // waits for a run that is just starting.
        let mut slot = self.task.lock().await;
        if !self.accepting.load(Ordering::SeqCst) {
            return Err(RunError::ShuttingDown);
        }
        let started = run::begin(&self.ctx, opts).await?;
        let id = started.run_id;
        let notifier = self.notifier.clone();
        let ctx = self.ctx.clone();
        let quarantine = self.quarantine.clone();
        let changes = self.changes.clone();
        let handle = tokio::spawn(async move {
            match started.finish().await {
                // A task of its own, so shutdown never waits on SMTP.
                Ok(report) => {
                    set_quarantine(&ctx, &quarantine, report.quarantined.then(Utc::now));
                    if report.leadership_lost {
                        // The plan is unfinished: a follow-up run, as for a
                        // change, which waits while another replica leads.
                        tracing::warn!(
                            run_id = id,
                            "leadership lost: a follow-up run finishes the plan"
                        );
                        changes.notify_one();
                    }
                    if let Some(n) = notifier {
                        tokio::spawn(async move { n.after_run(id).await });
                    }
                }
                Err(e) => tracing::error!(run_id = id, error = %e, "run could not be recorded"),
            }
        });
        *slot = Some(handle);
        Ok(id)
    }

    /// Something changed in the employees table (or Auth0 said so).
    pub fn changed(&self) {
        self.changes.notify_one();
    }

    /// Wait until no run is in progress (or `limit` passes).
    async fn wait_idle(&self, limit: Duration) -> bool {
        let handle = self.task.lock().await.take();
        match handle {
            Some(h) => tokio::time::timeout(limit, h).await.is_ok(),
            None => true,
        }
    }

    /// Debounce change notifications into runs: a burst of changes becomes
    /// one run after `quiet`; a change during a run becomes one run after it.
    async fn change_loop(self: Arc<Self>, quiet: Duration) {
        loop {
            self.changes.notified().await;
            tokio::time::sleep(quiet).await;
            // Each attempt while another replica runs opens a lock
            // connection: back off rather than knock four times a second.
            let mut retry = Backoff::new(Duration::from_millis(250), Duration::from_secs(2));
            loop {
                // The run about to start reads the employees after it has
                // started, so it covers every change until now: drop their
                // stored wake-up, or a burst during a run would become two
                // follow-up runs instead of one.
                let _ = self.changes.notified().now_or_never();
                if let Some(wait) = self.quarantine_wait() {
                    // The next run at the quarantine cadence reads the change.
                    tracing::info!(
                        next_in_secs = wait.as_secs(),
                        "quarantined: no run for this change"
                    );
                    break;
                }
                match self.start(RunOptions::new("change", false)).await {
                    Ok(id) => {
                        tracing::info!(run_id = id, "run started by an employee change");
                        break;
                    }
                    Err(RunError::AlreadyRunning(_)) => {
                        tokio::time::sleep(retry.after(Duration::ZERO)).await;
                    }
                    Err(RunError::ShuttingDown) => return,
                    Err(e) => {
                        tracing::error!(error = %e, "could not start a run for a change");
                        break;
                    }
                }
            }
        }
    }
}

fn set_quarantine(
    ctx: &Context,
    slot: &std::sync::Mutex<Option<chrono::DateTime<Utc>>>,
    last_run: Option<chrono::DateTime<Utc>>,
) {
    ctx.metrics.quarantined.set(i64::from(last_run.is_some()));
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = last_run;
}

/// A daemon serving in the background (tests, the demo); `serve` wraps it.
pub struct RunningDaemon {
    pub addr: SocketAddr,
    pub runner: Arc<Runner>,
    shutdown: tokio::sync::watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    scheduler: Option<JobScheduler>,
    background: Vec<JoinHandle<()>>,
}

impl RunningDaemon {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop triggers, let the running reconcile finish its current actions
    /// (it records itself as interrupted if actions remain), then stop HTTP.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.runner.ctx.settings.serve.shutdown_grace_secs);
        self.runner.accepting.store(false, Ordering::SeqCst);
        if let Some(mut s) = self.scheduler.take() {
            if let Err(e) = s.shutdown().await {
                tracing::warn!(error = %e, "scheduler did not shut down cleanly");
            }
        }
        for b in &self.background {
            b.abort();
        }
        self.runner.ctx.stop();
        if !self.runner.wait_idle(grace).await {
            tracing::error!("the running reconcile did not stop within the grace period");
        }
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
        .check_employees_source(&ctx.settings.database)
        .await
        .map_err(anyhow::Error::msg)?;
    tracing::info!(%writes, "employees source checked");
    Ok(ctx)
}

/// Start serving with an existing context (the demo keeps its own).
pub async fn spawn_with(ctx: Arc<Context>) -> anyhow::Result<RunningDaemon> {
    restore_metrics(&ctx).await?;
    let runner = Runner::new(ctx.clone())?;
    restore_quarantine(&runner).await?;
    let s = &ctx.settings.serve;

    let listener = tokio::net::TcpListener::bind(&s.listen)
        .await
        .map_err(|e| anyhow::anyhow!("serve.listen: cannot listen on {}: {e}", s.listen))?;
    let addr = listener.local_addr()?;
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let app = crate::http::router(runner.clone());
    let http = tokio::spawn(async move {
        axum::serve(crate::http::bare_errors::JsonErrorsListener(listener), app)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await
    });

    let mut background = vec![tokio::spawn(
        runner
            .clone()
            .change_loop(Duration::from_millis(s.change_debounce_ms)),
    )];
    background.push(tokio::spawn(watch_changes(runner.clone())));
    let scheduler = schedule(runner.clone()).await?;
    if let Some(watchdog) = scheduler.1 {
        background.push(watchdog);
    }
    if s.run_at_start {
        match runner.start(RunOptions::new("schedule", false)).await {
            Ok(id) => tracing::info!(run_id = id, "start-up run started"),
            Err(e) => tracing::warn!(error = %e, "no start-up run"),
        }
    }
    tracing::info!(%addr, schedule = %s.schedule, timezone = %s.timezone, "rosterd serving");
    Ok(RunningDaemon {
        addr,
        runner,
        shutdown: tx,
        http,
        scheduler: Some(scheduler.0),
        background,
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

async fn shutdown_signal() {
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
    ctx.metrics
        .held_runs
        .set(i64::from(ctx.store.latest_run_is_held().await?));
    Ok(())
}

/// Quarantine survives a restart: it is a function of the stored runs.
async fn restore_quarantine(runner: &Runner) -> anyhow::Result<()> {
    let after = runner.ctx.settings.reconcile.quarantine_after_runs;
    let recent = run::recent_outcomes(&runner.ctx.store, after).await?;
    if crate::outcome::quarantined(&recent, after) {
        let (last, _) = runner.ctx.store.last_run_times().await?;
        runner.set_quarantine(Some(last.unwrap_or_else(Utc::now)));
        tracing::warn!("quarantined: Auth0 failed the last runs; scheduled runs slowed down");
    }
    Ok(())
}

/// The cron job, plus (outside UTC) a watchdog that rebuilds it when the
/// zone's UTC offset changes, because tokio-cron-scheduler fixes the offset
/// at creation and would otherwise run an hour off after a DST change.
async fn schedule(runner: Arc<Runner>) -> anyhow::Result<(JobScheduler, Option<JoinHandle<()>>)> {
    let s = &runner.ctx.settings.serve;
    let cron = s.six_field_schedule().map_err(anyhow::Error::msg)?;
    let tz: chrono_tz::Tz = s.timezone.parse().map_err(|_| {
        anyhow::anyhow!("serve.timezone: {:?} is not an IANA time zone", s.timezone)
    })?;
    if let Some(secs) = interval_secs(&cron, tz) {
        runner.ctx.metrics.schedule_interval.set(secs);
    }
    let scheduler = JobScheduler::new().await?;
    let id = scheduler.add(cron_job(&cron, tz, runner.clone())?).await?;
    scheduler.start().await?;
    let watchdog = (tz != chrono_tz::UTC).then(|| {
        let scheduler = scheduler.clone();
        tokio::spawn(async move {
            let offset =
                |tz: chrono_tz::Tz| tz.offset_from_utc_datetime(&Utc::now().naive_utc()).fix();
            let mut current = (id, offset(tz));
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                if offset(tz) == current.1 {
                    continue;
                }
                let _ = scheduler.remove(&current.0).await;
                match cron_job(&cron, tz, runner.clone()) {
                    Ok(job) => match scheduler.add(job).await {
                        Ok(new_id) => {
                            tracing::info!(timezone = %tz, "UTC offset changed; schedule rebuilt");
                            current = (new_id, offset(tz));
                        }
                        Err(e) => tracing::error!(error = %e, "could not rebuild the schedule"),
                    },
                    Err(e) => tracing::error!(error = %e, "could not rebuild the schedule"),
                }
            }
        })
    });
    Ok((scheduler, watchdog))
}

/// Seconds between the next two ticks of a six-field cron expression.
fn interval_secs(cron: &str, tz: chrono_tz::Tz) -> Option<f64> {
    let schedule = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(cron)
        .ok()?;
    let now = Utc::now().with_timezone(&tz);
    let first = schedule.find_next_occurrence(&now, false).ok()?;
    let second = schedule.find_next_occurrence(&first, false).ok()?;
    Some((second - first).num_milliseconds() as f64 / 1000.0)
}

fn cron_job(cron: &str, tz: chrono_tz::Tz, runner: Arc<Runner>) -> anyhow::Result<Job> {
    let job = Job::new_async_tz(cron, tz, move |_, _| {
        let runner = runner.clone();
        Box::pin(async move {
            let jitter = runner.ctx.settings.serve.jitter_secs;
            if jitter > 0 {
                let wait = rand::thread_rng().gen_range(0..=jitter * 1000);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            if let Some(wait) = runner.quarantine_wait() {
                tracing::info!(
                    next_in_secs = wait.as_secs(),
                    "quarantined: schedule tick skipped"
                );
                return;
            }
            match runner.start(RunOptions::new("schedule", false)).await {
                Ok(id) => tracing::info!(run_id = id, "scheduled run started"),
                Err(RunError::AlreadyRunning(current)) => {
                    runner.ctx.metrics.scheduler_skipped.inc();
                    tracing::warn!(running = ?current, "schedule tick skipped: a run is in progress");
                }
                Err(e) => tracing::error!(error = %e, "scheduled run did not start"),
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("serve.schedule {cron:?}: {e}"))?;
    Ok(job)
}

/// Turn employee changes into `Runner::changed`: LISTEN/NOTIFY on
/// PostgreSQL (a trigger installed by the migrations), a poll of the change
/// marker (bumped by triggers) on SQLite and MySQL.
///
/// A lost connection is retried with backoff, and the marker tells whether
/// a change happened while nobody listened: only then is a catch-up run
/// due (a server that drops idle sessions every few seconds must not cause
/// a full run every few seconds).
async fn watch_changes(runner: Arc<Runner>) {
    let store = runner.ctx.store.clone();
    let poll = Duration::from_millis(runner.ctx.settings.serve.change_poll_ms.max(100));
    let mut retry = Backoff::new(poll, Duration::from_secs(30));
    match &store {
        #[cfg(feature = "postgres")]
        crate::store::Store::Postgres(pool) => {
            // The marker as of the last change this listener delivered (or
            // of its start): a later value is a change it may have missed.
            let mut seen = store.change_marker().await.ok();
            loop {
                let connected = std::time::Instant::now();
                match sqlx::postgres::PgListener::connect_with(pool).await {
                    Ok(mut listener) => match listener.listen("rosterd_employees").await {
                        Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
                        Ok(()) => {
                            // Read after LISTEN, so nothing falls between.
                            let now = store.change_marker().await.ok();
                            if now.is_none() || now != seen {
                                runner.changed();
                            }
                            seen = now;
                            // Not `recv`, which reconnects by itself and so
                            // hides the gap: `Ok(None)` says the connection
                            // was lost.
                            while let Ok(Some(_n)) = listener.try_recv().await {
                                runner.changed();
                                seen = store.change_marker().await.ok();
                            }
                            tracing::warn!("change listener lost its connection; reconnecting");
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener cannot connect; retrying")
                    }
                }
                tokio::time::sleep(retry.after(connected.elapsed())).await;
            }
        }
        // SQLite and MySQL, whichever are built.
        #[allow(unreachable_patterns)]
        _ => {
            let mut last = store.change_marker().await.ok();
            loop {
                match store.change_marker().await {
                    Ok(now) => {
                        if last != Some(now) {
                            last = Some(now);
                            runner.changed();
                        }
                        retry.reset();
                        tokio::time::sleep(poll).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change poll failed");
                        tokio::time::sleep(retry.after(Duration::ZERO)).await;
                    }
                }
            }
        }
    }
}

/// Retry delays for the change watcher and a change waiting for another
/// run: doubling from `base` up to `cap`, back to `base` after a connection
/// that lasted `cap`.
struct Backoff {
    base: Duration,
    cap: Duration,
    next: Duration,
}

impl Backoff {
    fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            next: base,
        }
    }

    fn reset(&mut self) {
        self.next = self.base;
    }

    /// The wait before the next attempt, after one that stayed up `lasted`.
    fn after(&mut self, lasted: Duration) -> Duration {
        if lasted >= self.cap {
            self.reset();
        }
        let wait = self.next;
        self.next = (self.next * 2).min(self.cap);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_interval_is_the_gap_between_ticks() {
        assert_eq!(interval_secs("*/5 * * * * *", chrono_tz::UTC), Some(5.0));
        assert_eq!(interval_secs("0 */15 * * * *", chrono_tz::UTC), Some(900.0));
        assert_eq!(interval_secs("not cron", chrono_tz::UTC), None);
    }

    #[test]
    fn reconnects_back_off_and_recover_after_a_lasting_connection() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(200), ms(30_000));
        let waits: Vec<_> = (0..10).map(|_| b.after(ms(10))).collect();
        assert_eq!(&waits[..4], &[ms(200), ms(400), ms(800), ms(1600)]);
        assert_eq!(waits[9], ms(30_000));
        assert_eq!(b.after(ms(30_000)), ms(200), "a connection that lasted");
    }
}
