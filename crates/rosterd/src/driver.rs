//! The activation driver: the one owner of "one run at a time".
//!
//! Every trigger ends here: the cron schedule and the start-up run, an
//! admin's `POST /runs` or approval, an employee change (the store's change
//! feed, the Auth0 webhook), and the follow-up after this replica lost the
//! leader lock mid-run. Triggers reach the driver through a [`DriverHandle`]
//! (which anything may hold without depending on the driver); one task,
//! `Driver::run`, `select!`s over start requests, change activations, the
//! next schedule tick, the end of the run in progress and shutdown, as
//! omicron's background-task driver does. Being the only place that starts
//! runs, it keeps "which run is in progress" in its own variables: no lock.
//!
//! The run itself is a task of its own rather than awaited inline, so the
//! driver answers while one runs: a start request is refused naming the run
//! (HTTP 409), a schedule tick is skipped and counted, and changes coalesce
//! into one follow-up run when it ends.
//!
//! The schedule: the next tick is computed with croner in the configured
//! zone each time round the loop. tokio-cron-scheduler, used before, fixed
//! a zone's UTC offset when its job was created (after a DST change the job
//! ran an hour off, so a watchdog rebuilt it every offset change) and ran
//! jobs on its own; croner reads the zone at every tick (a fixed-time job
//! in a DST gap runs just after the gap, once in an overlap), so neither
//! the watchdog nor that dependency is needed.
//!
//! A leaver's block is due at the end of their last local day: a run's
//! plan says when the soonest is (`RunReport::scheduled`), and the driver
//! starts a run then, with the schedule's trigger, so the account is
//! blocked at local midnight rather than at the next cron tick. It waits
//! for a run in progress, and in quarantine too it starts (once per due
//! time: a leaver's block is the promise ops give auditors).
//!
//! What the driver is doing is published on a `watch` channel ([`Status`]):
//! idle or running (run id, trigger), and the last run's result.

use crate::backoff::Backoff;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::run::{self, Context, RunError, RunOptions, RunStatus, StopRequest, Trigger};
use crate::store::RunningRun;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use rand::Rng;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

/// What the driver is doing, as published on its watch channel.
#[derive(Debug, Clone)]
pub struct Status {
    pub current: Current,
    /// The last run this driver started that has ended.
    pub last: Option<LastRun>,
    /// When the next scheduled run starts (jitter included), if ever.
    pub next_run: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Current {
    Idle,
    Running { run_id: i64, trigger: Trigger },
}

impl Current {
    /// The run in progress, if any.
    pub fn run_id(&self) -> Option<i64> {
        match self {
            Current::Idle => None,
            Current::Running { run_id, .. } => Some(*run_id),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LastRun {
    pub run_id: i64,
    pub trigger: Trigger,
    pub result: RunResult,
}

#[derive(Debug, Clone)]
pub enum RunResult {
    /// The run recorded itself with this status.
    Finished(RunStatus),
    /// The run ended but could not record its outcome.
    NotRecorded(Arc<RunError>),
    Panicked,
}

/// Asks the driver for runs. Clone it freely; it does not keep the driver
/// alive, and once the driver has stopped every start is `ShuttingDown`.
#[derive(Clone)]
pub struct DriverHandle {
    requests: mpsc::Sender<StartRequest>,
    changes: Arc<Notify>,
    status: watch::Receiver<Status>,
}

struct StartRequest {
    opts: RunOptions,
    reply: oneshot::Sender<Result<i64, RunError>>,
}

impl DriverHandle {
    /// Start a run now and return its id once it is recorded (it goes on in
    /// the background), or say why not.
    pub async fn start(&self, opts: RunOptions) -> Result<i64, RunError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(StartRequest { opts, reply })
            .await
            .map_err(|_| RunError::ShuttingDown)?;
        answer.await.unwrap_or(Err(RunError::ShuttingDown))
    }

    /// Something changed in the employees (or Auth0 said so): a run follows
    /// after the debounce; many changes before it starts are one run.
    pub fn changed(&self) {
        self.changes.notify_one();
    }

    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// Follow the status as it changes.
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }
}

/// A run the driver has started, as the driver needs it: begun (its record
/// opened) and then finished in a task of its own.
pub(crate) struct Begun {
    pub running: RunningRun,
    pub stop: StopRequest,
    pub finish: BoxFuture<'static, Result<Finished, RunError>>,
}

/// What the driver needs to know of a finished run.
pub(crate) struct Finished {
    pub status: RunStatus,
    pub quarantined: bool,
    pub leadership_lost: bool,
    /// When the soonest block the run's plan scheduled is due.
    pub next_block: Option<DateTime<Utc>>,
}

/// What the driver starts: [`Reconcile`] in the daemon, a stand-in in the
/// unit tests.
pub(crate) trait Activation: Send + Sync + 'static {
    fn begin(&self, opts: RunOptions) -> impl Future<Output = Result<Begun, RunError>> + Send;
}

/// The reconcile run, and the on-call digest after it.
pub(crate) struct Reconcile {
    ctx: Arc<Context>,
    notifier: Option<crate::notify::Notifier>,
}

impl Reconcile {
    pub(crate) fn new(ctx: Arc<Context>) -> anyhow::Result<Self> {
        let notifier = crate::notify::Notifier::for_context(&ctx)?;
        Ok(Reconcile { ctx, notifier })
    }
}

impl Activation for Reconcile {
    async fn begin(&self, opts: RunOptions) -> Result<Begun, RunError> {
        let started = run::begin(&self.ctx, opts).await?;
        let running = started.running();
        let stop = started.stop_request();
        let notifier = self.notifier.clone();
        let ctx = self.ctx.clone();
        let finish = async move {
            let report = started.finish().await?;
            if let Some(n) = notifier {
                // A task of its own, so shutdown never waits on SMTP.
                let id = report.run_id;
                tokio::spawn(async move { n.after_run(id).await });
            }
            Ok(Finished {
                status: report.status,
                quarantined: report.quarantined,
                leadership_lost: report.leadership_lost,
                // On the driver's clock: the plan's "now" is the
                // context's (a test may set it apart).
                next_block: report
                    .scheduled
                    .iter()
                    .map(|b| b.at)
                    .min()
                    .map(|at| Utc::now() + (at - ctx.now())),
            })
        };
        Ok(Begun {
            running,
            stop,
            finish: finish.boxed(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The message of [`crate::config::ServeSettings::six_field_schedule`].
    #[error("{0}")]
    Cron(String),
    #[error("serve.timezone: {0:?} is not an IANA time zone")]
    Zone(String),
}

/// The cron schedule in its zone.
pub(crate) struct Schedule {
    cron: croner::Cron,
    zone: chrono_tz::Tz,
}

impl Schedule {
    #[cfg(test)]
    fn parse(cron: &str, zone: &str) -> Result<Schedule, ScheduleError> {
        let cron = crate::config::parse_cron(cron)
            .map_err(|e| ScheduleError::Cron(format!("serve.schedule {cron:?}: {e}")))?;
        Schedule::in_zone(cron, zone)
    }

    fn in_zone(cron: croner::Cron, zone: &str) -> Result<Schedule, ScheduleError> {
        let zone = zone
            .parse()
            .map_err(|_| ScheduleError::Zone(zone.to_string()))?;
        Ok(Schedule { cron, zone })
    }

    /// The first tick after `t`, read in the zone as it is then.
    fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.zone);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        Some(next.with_timezone(&Utc))
    }

    /// Seconds between the next two ticks.
    fn interval_secs(&self, now: DateTime<Utc>) -> Option<f64> {
        let first = self.next_after(now)?;
        let second = self.next_after(first)?;
        Some((second - first).num_milliseconds() as f64 / 1000.0)
    }
}

/// The driver's settings, read once from `serve` and `reconcile`.
pub(crate) struct DriverConfig {
    pub schedule: Schedule,
    /// Random delay before a scheduled run, so replicas and tenants spread.
    pub jitter: Duration,
    /// A burst of changes becomes one run after this quiet time.
    pub debounce: Duration,
    /// In quarantine, the least time between scheduled or change runs.
    pub quarantine_interval: Duration,
    /// On shutdown, how long the run in progress may take to stop.
    pub shutdown_grace: Duration,
}

impl DriverConfig {
    pub(crate) fn from_settings(s: &Settings) -> Result<DriverConfig, ScheduleError> {
        let serve = &s.serve;
        let cron = serve.six_field_schedule().map_err(ScheduleError::Cron)?;
        Ok(DriverConfig {
            schedule: Schedule::in_zone(cron, &serve.timezone)?,
            jitter: Duration::from_secs(serve.jitter_secs),
            debounce: Duration::from_millis(serve.change_debounce_ms),
            quarantine_interval: Duration::from_secs(s.reconcile.quarantine_interval_secs),
            shutdown_grace: Duration::from_secs(serve.shutdown_grace_secs),
        })
    }
}

/// The running driver's task; [`shutdown`](Self::shutdown) stops it.
pub struct DriverTask {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DriverTask {
    /// Refuse new runs, let the run in progress finish the actions it has
    /// started (it records itself as interrupted if others remain) within
    /// the grace, and return.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the run driver panicked");
        }
    }
}

/// Start the driver; `quarantined_since` is when the last run ended if
/// rosterd is in quarantine (it survives a restart).
pub(crate) fn spawn<A: Activation>(
    activation: A,
    config: DriverConfig,
    metrics: Arc<Metrics>,
    quarantined_since: Option<DateTime<Utc>>,
) -> (DriverHandle, DriverTask) {
    let (requests_tx, requests) = mpsc::channel(16);
    let changes = Arc::new(Notify::new());
    let (status_tx, status) = watch::channel(Status {
        current: Current::Idle,
        last: None,
        next_run: None,
    });
    let (stop, stopped) = watch::channel(false);
    if let Some(secs) = config.schedule.interval_secs(Utc::now()) {
        metrics.schedule_interval.set(secs);
    }
    let mut driver = Driver {
        activation,
        config,
        metrics,
        status: status_tx,
        running: None,
        quarantined_since: None,
        change: None,
        block_due: None,
    };
    driver.set_quarantine(quarantined_since);
    let task = tokio::spawn(driver.run(requests, changes.clone(), stopped));
    let handle = DriverHandle {
        requests: requests_tx,
        changes,
        status,
    };
    (handle, DriverTask { stop, task })
}

pub(crate) struct Driver<A> {
    activation: A,
    config: DriverConfig,
    metrics: Arc<Metrics>,
    status: watch::Sender<Status>,
    running: Option<Running>,
    /// In quarantine: when the last run finished.
    quarantined_since: Option<DateTime<Utc>>,
    change: Option<PendingChange>,
    /// When the soonest scheduled leaver block is due.
    block_due: Option<DateTime<Utc>>,
}

struct Running {
    run: RunningRun,
    trigger: Trigger,
    stop: StopRequest,
    task: JoinHandle<Result<Finished, RunError>>,
}

/// A change not yet run for: due after the debounce, or after a retry
/// while another replica runs (each attempt opens a lock connection, so
/// back off rather than knock four times a second).
struct PendingChange {
    due: Instant,
    retry: Backoff,
}

enum Event {
    Stop,
    Start(StartRequest),
    Ended(Result<Result<Finished, RunError>, JoinError>),
    Changed,
    ChangeDue,
    Tick,
    BlockDue,
}

/// A schedule slot and its start, jitter included.
#[derive(Clone, Copy)]
struct Tick {
    slot: DateTime<Utc>,
    at: DateTime<Utc>,
}

/// Sleeps are capped so that the wall clock (which the schedule follows)
/// is looked at again after a suspend or a clock step.
const RECHECK: Duration = Duration::from_secs(60);

impl<A: Activation> Driver<A> {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<StartRequest>,
        changes: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut next_tick = self.next_tick(Utc::now());
        self.publish_next(next_tick);
        match &next_tick {
            Some(t) => tracing::info!(next_run = %t.at, "schedule armed"),
            None => tracing::warn!("the schedule matches no time from now on: no scheduled runs"),
        }
        loop {
            let until_tick = next_tick
                .map(|t| {
                    (t.at - Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .min(RECHECK)
                })
                .unwrap_or(RECHECK);
            // A due change waits for the run in progress to end.
            let change_due = self
                .change
                .as_ref()
                .filter(|_| self.running.is_none())
                .map(|c| c.due);
            // So does a due block.
            let until_block = self
                .block_due
                .filter(|_| self.running.is_none())
                .map(|at| (at - Utc::now()).to_std().unwrap_or_default().min(RECHECK));
            let event = tokio::select! {
                // Shutdown first: no run starts once it is asked for.
                biased;
                // Only `DriverTask::shutdown` stops the driver: a daemon
                // dropped without it keeps running, as it always did.
                Ok(_) = stop.wait_for(|stop| *stop) => Event::Stop,
                ended = ended(&mut self.running) => Event::Ended(ended),
                Some(request) = requests.recv() => Event::Start(request),
                _ = changes.notified() => Event::Changed,
                _ = tokio::time::sleep_until(change_due.unwrap_or_else(Instant::now)), if change_due.is_some() => Event::ChangeDue,
                _ = tokio::time::sleep(until_tick) => Event::Tick,
                _ = tokio::time::sleep(until_block.unwrap_or_default()), if until_block.is_some() => Event::BlockDue,
            };
            match event {
                Event::Stop => break,
                Event::Start(request) => {
                    let answer = self.start(request.opts).await;
                    let _ = request.reply.send(answer);
                }
                Event::Ended(ended) => self.ended(ended),
                Event::Changed => self.change_noticed(),
                Event::ChangeDue => self.run_for_change().await,
                Event::BlockDue => self.run_for_block().await,
                Event::Tick => {
                    if let Some(t) = next_tick.filter(|t| t.at <= Utc::now()) {
                        self.tick().await;
                        // From the slot, not the jittered start: a jitter as
                        // long as the interval must not swallow a slot. Slots
                        // that passed meanwhile each get their try (and are
                        // counted as skipped while a run is in progress),
                        // except those long gone (a suspend, a clock step).
                        next_tick = self.next_tick(t.slot);
                        while let Some(n) = next_tick.filter(|n| n.slot + RECHECK < Utc::now()) {
                            self.metrics.scheduler_skipped.inc();
                            next_tick = self.next_tick(n.slot);
                        }
                        self.publish_next(next_tick);
                    }
                }
            }
        }
        self.drain(&mut requests).await;
    }

    /// Shutdown: new runs are refused while the run in progress, asked to
    /// start no further actions, has the grace to finish.
    async fn drain(&mut self, requests: &mut mpsc::Receiver<StartRequest>) {
        let Some(run) = &self.running else {
            return;
        };
        run.stop.request();
        let grace = tokio::time::sleep(self.config.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                Some(request) = requests.recv() => {
                    let _ = request.reply.send(Err(RunError::ShuttingDown));
                }
                ended = ended(&mut self.running) => {
                    self.ended(ended);
                    return;
                }
                _ = &mut grace => {
                    tracing::error!("the running reconcile did not stop within the grace period");
                    return;
                }
            }
        }
    }

    fn publish_next(&self, tick: Option<Tick>) {
        self.status.send_modify(|s| s.next_run = tick.map(|t| t.at));
    }

    /// The next schedule slot after `t`, and when to start it (the slot
    /// plus the jitter).
    fn next_tick(&self, t: DateTime<Utc>) -> Option<Tick> {
        let slot = self.config.schedule.next_after(t)?;
        let jitter_ms = self.config.jitter.as_millis() as i64;
        let jitter = match jitter_ms {
            0 => 0,
            ms => rand::thread_rng().gen_range(0..=ms),
        };
        Some(Tick {
            slot,
            at: slot + chrono::Duration::milliseconds(jitter),
        })
    }

    async fn start(&mut self, opts: RunOptions) -> Result<i64, RunError> {
        if let Some(running) = &self.running {
            return Err(RunError::AlreadyRunning(Some(running.run.clone())));
        }
        let trigger = opts.trigger;
        // Starting runs inline in the driver task: a panic there must cost
        // this one start, not every later run.
        let begun = match AssertUnwindSafe(self.activation.begin(opts))
            .catch_unwind()
            .await
        {
            Ok(begun) => begun?,
            Err(_) => {
                tracing::error!(%trigger, "a run panicked while starting");
                return Err(RunError::StartPanicked);
            }
        };
        let run_id = begun.running.id;
        self.running = Some(Running {
            run: begun.running,
            trigger,
            stop: begun.stop,
            task: tokio::spawn(begun.finish),
        });
        self.status
            .send_modify(|s| s.current = Current::Running { run_id, trigger });
        Ok(run_id)
    }

    fn ended(&mut self, ended: Result<Result<Finished, RunError>, JoinError>) {
        let Some(run) = self.running.take() else {
            return;
        };
        let id = run.run.id;
        let result = match ended {
            Ok(Ok(finished)) => {
                self.set_quarantine(finished.quarantined.then(Utc::now));
                // The run's plan knows the blocks to come; one that failed
                // before planning keeps those still ahead.
                let kept = self
                    .block_due
                    .filter(|at| finished.status == RunStatus::Failed && *at > Utc::now());
                self.block_due = finished.next_block.or(kept);
                if let Some(at) = self.block_due {
                    tracing::info!(run_id = id, block_at = %at, "leaver block scheduled");
                }
                if finished.leadership_lost {
                    // The plan is unfinished: a follow-up run, as for a
                    // change, which waits while another replica leads.
                    tracing::warn!(
                        run_id = id,
                        "leadership lost: a follow-up run finishes the plan"
                    );
                    self.change_noticed();
                }
                RunResult::Finished(finished.status)
            }
            Ok(Err(e)) => {
                tracing::error!(run_id = id, error = %e, "run could not be recorded");
                RunResult::NotRecorded(Arc::new(e))
            }
            Err(e) => {
                tracing::error!(run_id = id, error = %e, "run panicked");
                RunResult::Panicked
            }
        };
        self.status.send_modify(|s| {
            s.current = Current::Idle;
            s.last = Some(LastRun {
                run_id: id,
                trigger: run.trigger,
                result,
            });
        });
    }

    fn set_quarantine(&mut self, since: Option<DateTime<Utc>>) {
        self.metrics.quarantined.set(i64::from(since.is_some()));
        self.quarantined_since = since;
    }

    /// In quarantine, how long before a scheduled or change-triggered run
    /// may start (`None`: it may now). Admin-triggered runs always start.
    fn quarantine_wait(&self) -> Option<Duration> {
        let last = self.quarantined_since?;
        let every = chrono::Duration::from_std(self.config.quarantine_interval).ok()?;
        (last + every - Utc::now()).to_std().ok()
    }

    /// A change not yet run for covers this one: the run about to start
    /// reads the employees after it has started.
    fn change_noticed(&mut self) {
        if self.change.is_none() {
            self.change = Some(PendingChange {
                due: Instant::now() + self.config.debounce,
                retry: Backoff::new(Duration::from_millis(250), Duration::from_secs(2)),
            });
        }
    }

    async fn run_for_change(&mut self) {
        if let Some(wait) = self.quarantine_wait() {
            // The next run at the quarantine cadence reads the change.
            tracing::info!(
                next_in_secs = wait.as_secs(),
                "quarantined: no run for this change"
            );
            self.change = None;
            return;
        }
        match self.start(RunOptions::new(Trigger::Change, false)).await {
            Ok(id) => tracing::info!(run_id = id, "run started by an employee change"),
            Err(RunError::AlreadyRunning(_)) => {
                if let Some(change) = &mut self.change {
                    change.due = Instant::now() + change.retry.after(Duration::ZERO);
                }
                return;
            }
            Err(e) => tracing::error!(error = %e, "could not start a run for a change"),
        }
        self.change = None;
    }

    /// A leaver's last day has ended: a run blocks them (the run then
    /// schedules the next). Another replica leading: retried as a change.
    async fn run_for_block(&mut self) {
        if self.block_due.is_none_or(|at| at > Utc::now()) {
            return;
        }
        self.block_due = None;
        match self.start(RunOptions::new(Trigger::Schedule, false)).await {
            Ok(id) => tracing::info!(run_id = id, "run started for a scheduled leaver block"),
            Err(e) => {
                tracing::warn!(error = %e, "no run for a scheduled leaver block yet; retried");
                self.change_noticed();
            }
        }
    }

    async fn tick(&mut self) {
        if let Some(wait) = self.quarantine_wait() {
            tracing::info!(
                next_in_secs = wait.as_secs(),
                "quarantined: schedule tick skipped"
            );
            return;
        }
        match self.start(RunOptions::new(Trigger::Schedule, false)).await {
            Ok(id) => tracing::info!(run_id = id, "scheduled run started"),
            Err(RunError::AlreadyRunning(current)) => {
                self.metrics.scheduler_skipped.inc();
                tracing::warn!(
                    run_id = current.as_ref().map(|r| r.id),
                    "schedule tick skipped: a run is in progress"
                );
            }
            Err(e) => tracing::error!(error = %e, "scheduled run did not start"),
        }
    }
}

/// The end of the run in progress; never, when there is none.
async fn ended(running: &mut Option<Running>) -> Result<Result<Finished, RunError>, JoinError> {
    match running {
        Some(run) => (&mut run.task).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn schedule_interval_is_the_gap_between_ticks() {
        let interval = |cron: &str| {
            Schedule::parse(cron, "UTC")
                .unwrap()
                .interval_secs(Utc::now())
        };
        assert_eq!(interval("*/5 * * * * *"), Some(5.0));
        assert_eq!(interval("0 */15 * * * *"), Some(900.0));
        assert!(matches!(
            Schedule::parse("not cron", "UTC"),
            Err(ScheduleError::Cron(_))
        ));
        assert!(matches!(
            Schedule::parse("0 0 * * * *", "Mars/Olympus"),
            Err(ScheduleError::Zone(_))
        ));
    }

    #[test]
    fn the_schedule_follows_the_zone_across_dst() {
        // 02:30 daily in New York: EST (UTC-5) before the March change,
        // EDT (UTC-4) after, with no job rebuilt in between.
        let s = Schedule::parse("0 30 2 * * *", "America/New_York").unwrap();
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            s.next_after(at("2026-03-01T00:00:00Z")),
            Some(at("2026-03-01T07:30:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-03-20T00:00:00Z")),
            Some(at("2026-03-20T06:30:00Z"))
        );
        // 8 March: 02:30 does not exist; the job runs just after the gap.
        assert_eq!(
            s.next_after(at("2026-03-08T05:00:00Z")),
            Some(at("2026-03-08T07:00:00Z"))
        );
    }

    /// A stand-in run: each start is recorded, and the test ends it.
    #[derive(Clone, Default)]
    struct FakeRuns {
        started: Arc<Mutex<Vec<(i64, Trigger, StopRequest)>>>,
        ends: Arc<Mutex<Vec<oneshot::Sender<Finished>>>>,
    }

    impl FakeRuns {
        fn triggers(&self) -> Vec<Trigger> {
            self.started.lock().unwrap().iter().map(|s| s.1).collect()
        }

        fn stop_of(&self, run: usize) -> StopRequest {
            self.started.lock().unwrap()[run].2.clone()
        }

        /// End the oldest run not yet ended.
        fn end(&self, status: RunStatus) {
            self.end_scheduling(status, None)
        }

        /// End it with a block scheduled at `next_block`.
        fn end_scheduling(&self, status: RunStatus, next_block: Option<DateTime<Utc>>) {
            let end = self.ends.lock().unwrap().remove(0);
            let _ = end.send(Finished {
                status,
                quarantined: false,
                leadership_lost: false,
                next_block,
            });
        }
    }

    impl Activation for FakeRuns {
        async fn begin(&self, opts: RunOptions) -> Result<Begun, RunError> {
            if opts.trigger == Trigger::Bench {
                panic!("a stand-in bug while starting");
            }
            let mut started = self.started.lock().unwrap();
            let id = started.len() as i64 + 1;
            let stop = StopRequest::default();
            started.push((id, opts.trigger, stop.clone()));
            let (end, ended) = oneshot::channel();
            self.ends.lock().unwrap().push(end);
            Ok(Begun {
                running: RunningRun {
                    id,
                    holder: Some("test".into()),
                    started_at: Utc::now(),
                    heartbeat_at: None,
                },
                stop,
                finish: async move { Ok(ended.await.expect("the test ends every run")) }.boxed(),
            })
        }
    }

    fn start_driver(runs: &FakeRuns) -> (DriverHandle, DriverTask) {
        // Never within a test.
        start_scheduled(runs, "0 0 0 1 1 *", Arc::new(Metrics::new()))
    }

    fn start_scheduled(
        runs: &FakeRuns,
        cron: &str,
        metrics: Arc<Metrics>,
    ) -> (DriverHandle, DriverTask) {
        let config = DriverConfig {
            schedule: Schedule::parse(cron, "UTC").unwrap(),
            jitter: Duration::ZERO,
            debounce: Duration::from_millis(50),
            quarantine_interval: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(5),
        };
        spawn(runs.clone(), config, metrics, None)
    }

    async fn wait_for(handle: &DriverHandle, what: impl Fn(&Status) -> bool) -> Status {
        let mut status = handle.watch_status();
        let found = tokio::time::timeout(Duration::from_secs(5), status.wait_for(|s| what(s)))
            .await
            .expect("the status in time")
            .expect("the driver is running")
            .clone();
        found
    }

    /// The status once a run of `trigger` is running.
    async fn wait_running(handle: &DriverHandle, trigger: Trigger) -> Status {
        wait_for(
            handle,
            |s| matches!(s.current, Current::Running { trigger: t, .. } if t == trigger),
        )
        .await
    }

    #[tokio::test]
    async fn a_panic_while_starting_costs_that_start_not_the_driver() {
        let runs = FakeRuns::default();
        let (handle, task) = start_driver(&runs);
        let panicked = handle.start(RunOptions::new(Trigger::Bench, false)).await;
        assert!(
            matches!(panicked, Err(RunError::StartPanicked)),
            "{panicked:?}"
        );
        let id = handle
            .start(RunOptions::new(Trigger::Http, false))
            .await
            .expect("the driver still starts runs");
        assert_eq!(runs.triggers(), [Trigger::Http]);
        runs.end(RunStatus::Succeeded);
        wait_for(&handle, |s| s.last.as_ref().is_some_and(|l| l.run_id == id)).await;
        task.shutdown().await;
    }

    #[tokio::test]
    async fn status_goes_idle_running_idle_with_the_last_result() {
        let runs = FakeRuns::default();
        let (handle, task) = start_driver(&runs);
        assert_eq!(handle.status().current, Current::Idle);
        assert!(handle.status().last.is_none());

        let id = handle
            .start(RunOptions::new(Trigger::Http, false))
            .await
            .unwrap();
        assert_eq!(
            handle.status().current,
            Current::Running {
                run_id: id,
                trigger: Trigger::Http
            }
        );
        runs.end(RunStatus::Partial);
        let status = wait_for(&handle, |s| s.current == Current::Idle).await;
        let last = status.last.expect("a last run");
        assert_eq!((last.run_id, last.trigger), (id, Trigger::Http));
        assert!(matches!(
            last.result,
            RunResult::Finished(RunStatus::Partial)
        ));
        task.shutdown().await;
    }

    #[tokio::test]
    async fn a_start_while_running_is_refused_naming_the_run() {
        let runs = FakeRuns::default();
        let (handle, task) = start_driver(&runs);
        let id = handle
            .start(RunOptions::new(Trigger::Http, false))
            .await
            .unwrap();
        match handle
            .start(RunOptions::new(Trigger::Approval, false))
            .await
        {
            Err(RunError::AlreadyRunning(Some(running))) => assert_eq!(running.id, id),
            other => panic!("expected already running, got {other:?}"),
        }
        assert_eq!(runs.triggers(), [Trigger::Http]);
        runs.end(RunStatus::Succeeded);
        wait_for(&handle, |s| s.current == Current::Idle).await;
        handle
            .start(RunOptions::new(Trigger::Approval, false))
            .await
            .unwrap();
        runs.end(RunStatus::Succeeded);
        task.shutdown().await;
    }

    #[tokio::test]
    async fn a_tick_starts_a_scheduled_run_and_a_tick_during_a_run_is_skipped_and_counted() {
        let runs = FakeRuns::default();
        let metrics = Arc::new(Metrics::new());
        let (handle, task) = start_scheduled(&runs, "* * * * * *", metrics.clone());
        wait_running(&handle, Trigger::Schedule).await;
        tokio::time::timeout(Duration::from_secs(5), async {
            while metrics.scheduler_skipped.get() == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the next tick is skipped");
        assert_eq!(runs.triggers(), [Trigger::Schedule]);
        runs.end(RunStatus::Succeeded);
        task.shutdown().await;
    }

    #[tokio::test]
    async fn a_run_starts_when_a_scheduled_block_is_due_not_before() {
        let runs = FakeRuns::default();
        let (handle, task) = start_driver(&runs);
        handle
            .start(RunOptions::new(Trigger::Http, false))
            .await
            .unwrap();
        let due = Utc::now() + chrono::Duration::milliseconds(300);
        runs.end_scheduling(RunStatus::Succeeded, Some(due));
        let block_run = wait_running(&handle, Trigger::Schedule).await;
        assert!(Utc::now() >= due, "started before the block was due");
        assert!(matches!(
            block_run.current,
            Current::Running { run_id: 2, .. }
        ));
        // That run scheduled nothing more: no further run.
        runs.end(RunStatus::Succeeded);
        wait_for(&handle, |s| s.current == Current::Idle).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(runs.triggers(), [Trigger::Http, Trigger::Schedule]);
        task.shutdown().await;
    }

    #[tokio::test]
    async fn changes_during_a_run_coalesce_into_one_follow_up_run() {
        let runs = FakeRuns::default();
        let (handle, task) = start_driver(&runs);
        handle
            .start(RunOptions::new(Trigger::Http, false))
            .await
            .unwrap();
        for _ in 0..5 {
            handle.changed();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Past the debounce, the change still waits for the run.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs.triggers(), [Trigger::Http]);
        runs.end(RunStatus::Succeeded);
        let follow_up = wait_running(&handle, Trigger::Change).await;
        assert!(matches!(
            follow_up.current,
            Current::Running { run_id: 2, .. }
        ));
        runs.end(RunStatus::Succeeded);
        wait_for(&handle, |s| s.current == Current::Idle).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(runs.triggers(), [Trigger::Http, Trigger::Change]);
        task.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_stops_the_run_waits_for_it_and_refuses_new_runs() {
        let runs = FakeRuns::default();
        let (handle, task) = start_driver(&runs);
        handle
            .start(RunOptions::new(Trigger::Http, false))
            .await
            .unwrap();
        let stopping = tokio::spawn(task.shutdown());
        tokio::time::timeout(Duration::from_secs(5), async {
            while !runs.stop_of(0).requested() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the run is asked to stop");
        // Draining: the run has not ended, so shutdown has not returned.
        assert!(matches!(
            handle.start(RunOptions::new(Trigger::Http, false)).await,
            Err(RunError::ShuttingDown)
        ));
        assert!(!stopping.is_finished());
        runs.end(RunStatus::Interrupted);
        stopping.await.unwrap();
        let last = handle.status().last.expect("the run ended");
        assert!(matches!(
            last.result,
            RunResult::Finished(RunStatus::Interrupted)
        ));
        assert!(matches!(
            handle.start(RunOptions::new(Trigger::Http, false)).await,
            Err(RunError::ShuttingDown)
        ));
        assert_eq!(runs.triggers(), [Trigger::Http]);
    }
}
