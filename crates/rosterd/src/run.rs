//! One reconcile run: the activation every trigger calls.
//!
//! A run takes no input about what changed (the scheduler, an admin's
//! `POST /runs` and a change notification all start the same run through
//! the `driver`, the CLI through [`run_once`]; only the [`Trigger`] is
//! recorded): it takes the leader lock, reads everything, plans with the pure
//! planner, guards, applies, and records. Because the plan is recomputed
//! from the systems themselves, a crash anywhere is healed by the next run:
//! an account created but not recorded is found by its
//! `app_metadata.employee_id` and linked, not created twice.

use crate::auth0::{Auth0Client, Auth0Error};
use crate::config::{Mode, Settings};
use crate::metrics::Metrics;
use crate::model::{Auth0User, Auth0UserId, Employee, EmployeeId, InvalidRow};
use crate::outcome::{ActionStatus, Cut, FailedStage};
use crate::plan::guard::{self, GuardPolicy};
use crate::plan::{
    self, Action, ActionKind, Evidence, Plan, PlanPolicy, PlanStats, PlannedAction, RoleResolver,
};
use crate::store::{
    ActionRecord, AuditRow, Leadership, LeadershipLost, RunEnd, RunningRun, Store, StoreError,
    StoredPlan,
};
use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Everything a run needs, built once per process.
pub struct Context {
    pub settings: Settings,
    pub store: Store,
    pub auth0: Auth0Client,
    pub metrics: Arc<Metrics>,
    /// Where links are written back (`database.employees_table`), derived
    /// once from the settings; `None`: `app_metadata.employee_id` is the link.
    pub write_back: Option<crate::store::WriteBack>,
    /// `policy.exclude`'s account rules, compiled once from the settings.
    pub exclusions: crate::config::AccountExclusions,
    /// The leader lock of the run in progress, which every write checks.
    leader: std::sync::Mutex<Option<Leadership>>,
    /// Held by the run in progress. The driver already runs one at a time,
    /// but `run_once` is also called directly (CLI, demo, bench), and the
    /// leader lock takes a `running` record of this very holder for one a
    /// failed finish left behind: only safe while no other run of this
    /// context can be live.
    exclusive: Arc<tokio::sync::Mutex<()>>,
    holder: String,
    /// "Now" for planning (end dates, account ages): the system clock, or a
    /// fixed one where a test needs a date boundary.
    clock: Clock,
}

/// Where a [`Context`] reads "now" for its plans.
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<Utc> + Send + Sync>;

impl Context {
    pub async fn new(settings: Settings) -> anyhow::Result<Arc<Context>> {
        Self::with_clock(settings, Arc::new(Utc::now)).await
    }

    /// A context whose plans take "now" from `clock`.
    pub async fn with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Arc<Context>> {
        let store = Store::connect(&settings.database).await?;
        let metrics = Arc::new(Metrics::new());
        let auth0 = Auth0Client::new(&settings.auth0, metrics.clone())?;
        let write_back = crate::store::WriteBack::from_settings(&settings.database)
            .map_err(anyhow::Error::msg)?;
        let exclusions = settings
            .policy
            .exclude
            .accounts()
            .map_err(anyhow::Error::msg)?;
        Ok(Arc::new(Context {
            exclusions,
            metrics,
            write_back,
            holder: crate::store::holder_name(),
            settings,
            store,
            auth0,
            leader: std::sync::Mutex::new(None),
            exclusive: Arc::default(),
            clock,
        }))
    }

    /// "Now", as this context's plans see it.
    pub fn now(&self) -> chrono::DateTime<Utc> {
        (self.clock)()
    }

    fn leadership(&self) -> Option<Leadership> {
        self.leader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Why the run in progress lost the leader lock, if it did.
    fn leadership_lost(&self) -> Option<String> {
        self.leadership().and_then(|l| l.lost_reason())
    }

    /// Run `write` only while this process leads: the lock is verified
    /// first, and the write is abandoned the moment the lock is lost.
    pub(crate) async fn fenced<F: std::future::Future>(
        &self,
        write: F,
    ) -> Result<F::Output, LeadershipLost> {
        match self.leadership() {
            Some(l) => l.fenced(write).await,
            None => Err(LeadershipLost("no leader lock is held".into())),
        }
    }

    /// Check the leader lock before a write to rosterd's own records.
    pub(crate) async fn verify_leader(&self) -> Result<(), LeadershipLost> {
        self.fenced(async {}).await
    }

    /// The guard's thresholds (`reconcile.*`).
    pub(crate) fn guard_policy(&self) -> GuardPolicy {
        let r = &self.settings.reconcile;
        GuardPolicy {
            max_block_count: r.max_block_count,
            max_block_share: r.max_block_share,
            max_unblock_count: r.max_unblock_count,
            max_unblock_share: r.max_unblock_share,
            max_email_change_count: r.max_email_change_count,
            max_email_change_share: r.max_email_change_share,
            min_employee_share: r.min_employee_share,
        }
    }

    /// Set the gauges every replica shares from the store: the pause and
    /// the held run, which any process may have changed (start-up, each
    /// scrape).
    pub async fn show_shared_gauges(&self) {
        tokio::join!(
            crate::rollback::show_pause(self),
            crate::held::show_held(self)
        );
    }

    /// Record who did what in the admin audit (API, console). Logged, not
    /// returned, when it fails: the action it records is done by then.
    pub async fn audit(&self, actor: &str, action: &str, target: Option<&str>) {
        if let Err(e) = self
            .store
            .audit_admin(actor, action, target, Utc::now())
            .await
        {
            tracing::error!(error = %e, action, "could not write the admin audit");
        }
    }
}

rosterd_core::vocabulary! {
    /// `reconcile_runs.status`, the API's run status and the `status` label
    /// of `rosterd_runs_total`.
    #[derive(Default)]
    pub enum RunStatus("run status") {
        /// Open: its holder may still be writing (see `store::lock`).
        Running => "running",
        Succeeded => "succeeded",
        /// The run completed; some actions failed and are retried next run.
        Partial => "partial",
        /// Until a run says otherwise (`RunEnd::default()`), it failed.
        #[default]
        Failed => "failed",
        /// The guard stopped the plan; nothing was applied.
        Held => "held",
        /// A held run an admin approved: a later run applied its plan.
        Approved => "approved",
        /// A held run an admin rejected, or a later run whose plan is the same
        /// as the rejected one: nothing applied, nobody asked again.
        Rejected => "rejected",
        /// A shutdown or the run deadline came mid-apply: the actions not
        /// started were skipped.
        Interrupted => "interrupted",
    }
}

impl RunStatus {
    /// The CLI's exit status: 0 succeeded, 1 failed (or interrupted),
    /// 2 partial, 3 held (or the same plan as a rejected one); 4,
    /// [`EXIT_LOCKED`], when the run did not start at all.
    /// A finished run never ends `running` or `approved` (a decision on a
    /// stored run): they map as "not done" and "held".
    pub fn exit_code(&self) -> i32 {
        match self {
            RunStatus::Succeeded => 0,
            RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => 1,
            RunStatus::Partial => 2,
            RunStatus::Held | RunStatus::Approved | RunStatus::Rejected => 3,
        }
    }
    /// A run that completed its plan: succeeded, or partial (the failed
    /// actions are retried). What `rosterd_last_success_timestamp_seconds`
    /// and the source guard's baseline count.
    pub fn completed(&self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Partial)
    }
}

/// The CLI's exit status when another run holds the leader lock.
pub const EXIT_LOCKED: u8 = 4;

rosterd_core::vocabulary! {
    /// Who asked for a run. Its string is stored in `reconcile_runs.trigger`,
    /// shown by the API and the digest, and is the `trigger` metric label.
    pub enum Trigger("run trigger") {
        /// The cron schedule, and the run at start-up.
        Schedule => "schedule",
        /// An admin's `POST /api/v1/runs`.
        Http => "http",
        /// An employee change or an Auth0 event (the webhook), debounced;
        /// also the follow-up after a replica lost the leader lock mid-run.
        Change => "change",
        /// An admin approved a held run.
        Approval => "approval",
        /// `rosterd run`.
        Cli => "cli",
        Demo => "demo",
        Bench => "bench",
        /// `rosterd rollback`, and its `--undo`.
        Rollback => "rollback",
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub dry_run: bool,
    pub trigger: Trigger,
    /// An admin approved a held run: its plan may pass the guard, if the
    /// fresh plan is still the same.
    pub approval: Option<Approval>,
    /// A rollback or its undo: accounts chosen by `rollback`, not planned.
    pub rollback: Option<crate::rollback::Rollback>,
}

impl RunOptions {
    pub fn new(trigger: Trigger, dry_run: bool) -> Self {
        RunOptions {
            dry_run,
            trigger,
            approval: None,
            rollback: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub held_run_id: i64,
    pub actions: Vec<PlannedAction>,
    pub approved_by: String,
}

/// The held run an approval run applies, and who approved it.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalOf {
    pub held_run_id: i64,
    pub approved_by: String,
}

/// What a run did, for people (the CLI summary) and machines (`--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub status: RunStatus,
    pub dry_run: bool,
    pub mode: Mode,
    pub applied: bool,
    pub stats: PlanStats,
    pub planned: BTreeMap<&'static str, usize>,
    pub succeeded: BTreeMap<&'static str, usize>,
    pub failed: BTreeMap<&'static str, usize>,
    pub findings: BTreeMap<&'static str, usize>,
    /// The first few findings of each kind (`kind: detail`), so a report
    /// says which row or account is meant, not only how many.
    pub finding_examples: Vec<String>,
    /// Up to 20 failures, each naming its action and employee.
    pub failures: Vec<String>,
    pub held_reason: Option<String>,
    /// Observe mode or a dry run: why the guard would have held this plan
    /// (such a run applies nothing, so it is never held).
    pub would_hold: Option<String>,
    /// Observe mode or a dry run of a plan an admin rejected: the rejection
    /// an enforce run would cite instead of holding it (`would_hold` says
    /// why the guard stops it).
    pub would_reject: Option<String>,
    pub error: Option<String>,
    /// PodFactory matching, when a source is configured.
    pub podfactory: Option<crate::podfactory::Summary>,
    /// Why matching did not run this time (the source could not be read);
    /// the rest of the run went on.
    pub podfactory_error: Option<String>,
    /// Leavers whose last day has not ended yet, soonest first: their
    /// blocks, and when (the daemon starts a run then).
    pub scheduled: Vec<ScheduledReport>,
    /// An approval run: the held run it applies and who approved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalOf>,
    /// Set when an approval could not be used as given.
    pub approval_note: Option<String>,
    /// Where a failed run stopped.
    pub failed_stage: Option<FailedStage>,
    /// Consecutive runs failed by Auth0: scheduled runs are slowed down
    /// (`reconcile.quarantine_*`) until a run is not.
    pub quarantined: bool,
    /// Enforcement is paused (by a rollback): this run applied nothing.
    pub paused: Option<crate::store::Pause>,
    /// A rollback run: what it chose to block or unblock, and what it left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<crate::rollback::Summary>,
    /// Set when this run's creates went by users-import jobs
    /// (`auth0.bulk_import_threshold`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk: Option<crate::create::BulkReport>,
    /// This process lost the leader lock during the run: the plan is not
    /// finished, and the daemon starts a follow-up run.
    #[serde(skip)]
    pub leadership_lost: bool,
    /// An approval run reached the guard, where its approval is used (see
    /// `undo_unused_approval`).
    #[serde(skip)]
    pub approval_used: bool,
    /// The plan (every action with its reason, and the findings) when
    /// nothing was applied: dry run, observe mode, held. Not stored in the
    /// run's summary (the run's `plan` has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    pub duration_ms: u64,
    /// Where `duration_ms` went (the rest: the leader lock and the run's
    /// own records).
    pub timings: PhaseTimings,
}

/// Wall time of a run's phases, in milliseconds. A phase the run did not
/// reach (a held plan applies nothing) stays 0.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PhaseTimings {
    /// The employees, the Auth0 export, the PodFactory source (read at
    /// once) and the tenant's roles.
    pub read_ms: u64,
    /// PodFactory matching (0 when it is off).
    pub match_ms: u64,
    /// Plan, guard, and the planned actions stored.
    pub plan_ms: u64,
    /// The Auth0 writes.
    pub apply_ms: u64,
    /// What the run records after applying: links and the mapping audit.
    pub record_ms: u64,
}

/// Milliseconds since `*mark`, which moves to now: one phase ends, the next
/// begins.
fn lap(mark: &mut Instant) -> u64 {
    let now = Instant::now();
    let ms = now.duration_since(*mark).as_millis() as u64;
    *mark = now;
    ms
}

/// A block planned for the end of a leaver's last day, as people read it.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduledReport {
    pub employee_id: EmployeeId,
    pub at: chrono::DateTime<Utc>,
    /// `at` on the workspace's clock, e.g. `2026-03-09 00:00 CDT`.
    pub local_time: String,
    /// The workspace's IANA zone.
    pub zone: String,
    pub auth0_user_ids: Vec<Auth0UserId>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run in progress, when it is known (it is not yet recorded in the
    /// moment between another process taking the lock and opening its run).
    #[error("another run is in progress{}", .0.as_ref().map(describe_running).unwrap_or_default())]
    AlreadyRunning(Option<RunningRun>),
    #[error("rosterd is shutting down")]
    ShuttingDown,
    /// An approval lost to a decision made meanwhile (another approval or a
    /// rejection): no run starts.
    #[error("run {id} is {status}, not a held run awaiting a decision: decided meanwhile")]
    Decided { id: i64, status: String },
    /// Starting the run panicked (logged where it happened).
    #[error("the run panicked while starting")]
    StartPanicked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe_running(r: &RunningRun) -> String {
    format!(
        ": run {}, held by {} since {}",
        r.id,
        // `host:pid#n`; the identity fields after it are for the lock, not
        // for people.
        r.holder
            .as_deref()
            .and_then(|h| h.split(' ').next())
            .unwrap_or("a process that did not record its name"),
        r.started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// Run once: lock, load, plan, guard, apply, record.
pub async fn run_once(ctx: &Arc<Context>, opts: RunOptions) -> Result<RunReport, RunError> {
    begin(ctx, opts).await?.finish().await
}

/// A run that holds the locks and has its `reconcile_runs` row; [`finish`]
/// does the work. Split so that an HTTP trigger can answer with the run id
/// at once.
///
/// [`finish`]: StartedRun::finish
pub struct StartedRun {
    pub run_id: i64,
    started_at: chrono::DateTime<Utc>,
    ctx: Arc<Context>,
    opts: RunOptions,
    lock: crate::store::LeaderLock,
    stop: StopRequest,
    /// Dropped when the run is finished (or dropped), freeing the context.
    _exclusive: tokio::sync::OwnedMutexGuard<()>,
}

/// Asks a run in progress to start no further actions (a shutdown); the
/// actions under way finish, and the rest are recorded as skipped.
#[derive(Debug, Clone, Default)]
pub struct StopRequest(Arc<std::sync::atomic::AtomicBool>);

impl StopRequest {
    pub fn request(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Take the leader lock and open the run's record. The daemon starts one run
/// at a time through `driver`; a context also refuses a second run of its
/// own (`run_once` called directly), and the leader lock refuses another
/// process's.
pub async fn begin(ctx: &Arc<Context>, opts: RunOptions) -> Result<StartedRun, RunError> {
    let Ok(exclusive) = ctx.exclusive.clone().try_lock_owned() else {
        return Err(RunError::AlreadyRunning(ctx.store.running_run().await?));
    };
    let Some(lock) = ctx.store.try_lock(&ctx.holder).await? else {
        return Err(RunError::AlreadyRunning(ctx.store.running_run().await?));
    };
    let opened = open_run(ctx, &opts).await;
    // A SQLite lease is not freed by dropping the lock: release it here, or
    // this process would wait out the lease before its next run.
    let (run_id, started_at) = match opened {
        Ok(run) => run,
        Err(e) => {
            if let Err(re) = lock.release().await {
                tracing::warn!(error = %re, "could not release the leader lock; it will lapse");
            }
            return Err(e);
        }
    };
    lock.attach_run(run_id);
    *ctx.leader.lock().unwrap_or_else(|p| p.into_inner()) = Some(lock.leadership());
    ctx.metrics.run_in_progress.set(1);
    Ok(StartedRun {
        run_id,
        started_at,
        ctx: ctx.clone(),
        opts,
        lock,
        stop: StopRequest::default(),
        _exclusive: exclusive,
    })
}

/// With the leader lock held: close runs whose holder can no longer write
/// (not one that still may: see `store::lock`), and open this run's record.
async fn open_run(
    ctx: &Context,
    opts: &RunOptions,
) -> Result<(i64, chrono::DateTime<Utc>), RunError> {
    match ctx.store.close_abandoned_runs(&ctx.holder).await? {
        Ok(0) => {}
        Ok(abandoned) => tracing::warn!(
            abandoned,
            "closed runs left unfinished by a stopped process"
        ),
        Err(live) => return Err(RunError::AlreadyRunning(Some(live))),
    }
    // The database's clock, as for heartbeats: replicas' runs compare, and
    // an approval is never later than the run it opens.
    let now = ctx.store.db_now().await?;
    // An approval is recorded before its run opens, once (the update is
    // conditional on the run still being held): of two concurrent decisions
    // the loser is told so and starts nothing.
    if let Some(a) = &opts.approval {
        let id = a.held_run_id;
        let decision = crate::store::HeldDecision::Approved;
        if !ctx
            .store
            .decide_held_run(id, decision, &a.approved_by, now)
            .await?
        {
            let status = ctx.store.get_run(id).await?;
            let status = status.map_or_else(|| "gone".to_string(), |r| r.status.to_string());
            return Err(RunError::Decided { id, status });
        }
    }
    let opened = async {
        let id = ctx
            .store
            .start_run(opts.trigger, ctx.settings.mode.as_str(), opts.dry_run, now)
            .await?;
        ctx.store.set_run_holder(id, &ctx.holder).await?;
        Ok::<_, StoreError>(id)
    }
    .await;
    if let Some(a) = &opts.approval {
        let held = a.held_run_id;
        match &opened {
            // Audited here, with the decision, for every way in (API,
            // console, CLI): not before it can be lost, never left out.
            Ok(_) => {
                tracing::warn!(actor = %a.approved_by, held_run = held, "held run approved");
                ctx.audit(&a.approved_by, "approve_run", Some(&held.to_string()))
                    .await;
            }
            // No run opened to apply it: the run is held again.
            Err(_) => {
                if let Err(e) = ctx.store.undo_approval(held, &a.approved_by).await {
                    tracing::error!(held_run = held, error = %e, "could not put the held run back to held");
                }
            }
        }
    }
    Ok((opened?, now))
}

impl StartedRun {
    /// The run as "another run is in progress" names it.
    pub fn running(&self) -> RunningRun {
        RunningRun {
            id: self.run_id,
            holder: Some(self.ctx.holder.clone()),
            started_at: self.started_at,
            heartbeat_at: None,
        }
    }

    /// How to stop this run once [`finish`](Self::finish) has it.
    pub fn stop_request(&self) -> StopRequest {
        self.stop.clone()
    }

    pub async fn finish(self) -> Result<RunReport, RunError> {
        let ctx = &self.ctx;
        let result = locked_run(ctx, self.run_id, &self.opts, &self.stop).await;
        ctx.metrics.run_in_progress.set(0);
        *ctx.leader.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if let Ok(report) = &result {
            record_metrics(&ctx.metrics, report, self.opts.trigger);
        }
        if let Err(e) = self.lock.release().await {
            tracing::warn!(error = %e, "could not release the leader lock; it will lapse");
        }
        result
    }
}

async fn locked_run(
    ctx: &Context,
    run_id: i64,
    opts: &RunOptions,
    stop: &StopRequest,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let store = &ctx.store;
    let mode = ctx.settings.mode;
    let span = tracing::info_span!(
        "run",
        run_id,
        trigger = opts.trigger.as_str(),
        dry_run = opts.dry_run
    );
    async move {
        tracing::info!(mode = mode.as_str(), "run started");

        let mut report = RunReport {
            run_id,
            status: RunStatus::Failed,
            dry_run: opts.dry_run,
            mode,
            applied: false,
            stats: PlanStats::default(),
            planned: BTreeMap::new(),
            succeeded: BTreeMap::new(),
            failed: BTreeMap::new(),
            findings: BTreeMap::new(),
            finding_examples: Vec::new(),
            failures: Vec::new(),
            held_reason: None,
            would_hold: None,
            would_reject: None,
            error: None,
            podfactory: None,
            podfactory_error: None,
            scheduled: Vec::new(),
            approval: opts.approval.as_ref().map(|a| ApprovalOf {
                held_run_id: a.held_run_id,
                approved_by: a.approved_by.clone(),
            }),
            approval_note: None,
            failed_stage: None,
            quarantined: false,
            paused: None,
            rollback: None,
            bulk: None,
            leadership_lost: false,
            approval_used: false,
            plan: None,
            duration_ms: 0,
            timings: PhaseTimings::default(),
        };
        let mut end = RunEnd::default();
        let mut planned = None;
        let deadline = started + std::time::Duration::from_secs(ctx.settings.reconcile.run_deadline_secs);
        if let Err(e) = execute(ctx, run_id, opts, stop, deadline, &mut report, &mut end, &mut planned).await {
            report.status = RunStatus::Failed;
            report.failed_stage = Some(stage_of(&e));
            report.error = Some(crate::telemetry::error_chain(e.as_ref()));
        }
        undo_unused_approval(ctx, opts, &mut report).await;
        report.quarantined = quarantine_after(ctx, &report).await;
        report.duration_ms = started.elapsed().as_millis() as u64;
        end.status = report.status;
        end.error = report.error.clone();
        end.held_reason = report.held_reason.clone();
        end.actions_succeeded = report.succeeded.values().sum::<usize>() as i64;
        end.actions_failed = report.failed.values().sum::<usize>() as i64;
        // The plan as stored, written once the run's data is gone: at
        // 100,000 users its JSON is as large as the accounts it came from.
        if let Some(plan) = planned.as_ref().or(report.plan.as_ref()) {
            end.plan = Some(StoredPlan::write(plan));
        }
        drop(planned);
        // The plan is stored on its own (`end.plan`), not twice.
        let plan = report.plan.take();
        end.summary = serde_json::to_string(&report).ok();
        report.plan = plan;
        report.leadership_lost = ctx.leadership_lost().is_some();
        let now = store.db_now().await?;
        if let Some(l) = ctx.leadership() {
            l.end_heartbeat().await;
        }
        if store.finish_held_run(run_id, &ctx.holder, &end, now).await? {
            // Only while this run is still ours: a process whose run a
            // successor closed writes nothing more.
            drop_old_plans(ctx, now).await;
        } else {
            // A successor closed it as abandoned (this process was frozen
            // past the heartbeat bound): its record stays as closed.
            tracing::warn!(
                status = report.status.as_str(),
                "the run's record was closed by another process meanwhile; its outcome is not recorded"
            );
            report.leadership_lost = true;
        }
        if report.quarantined {
            tracing::warn!(
                after_runs = ctx.settings.reconcile.quarantine_after_runs,
                every_secs = ctx.settings.reconcile.quarantine_interval_secs,
                "quarantined: Auth0 failed the last runs; scheduled runs slowed down until a run succeeds"
            );
        }
        match report.status {
            RunStatus::Succeeded => tracing::info!(
                duration_ms = report.duration_ms,
                timings = ?report.timings,
                planned = ?report.planned,
                findings = ?report.findings,
                "run succeeded"
            ),
            RunStatus::Partial => tracing::warn!(
                duration_ms = report.duration_ms,
                timings = ?report.timings,
                error = report.error.as_deref(),
                failed = ?report.failed,
                "run completed with failed actions"
            ),
            RunStatus::Held | RunStatus::Rejected | RunStatus::Approved => tracing::warn!(
                status = report.status.as_str(),
                reason = report.held_reason.as_deref(),
                error = report.error.as_deref(),
                "run held"
            ),
            RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => tracing::error!(
                status = report.status.as_str(),
                error = report.error.as_deref(),
                failed = ?report.failed,
                "run failed"
            ),
        }
        Ok(report)
    }
    .instrument(span)
    .await
}

/// An approval run that stopped before its plan met the guard (a source
/// unreadable, Auth0 down, a shutdown) applied nothing it was approved for:
/// its held run is held again, for a person to approve once more, instead
/// of `approved` with nothing done. Conditional on the decision still being
/// this approval's; a failure to undo it is logged (the run's note says so).
async fn undo_unused_approval(ctx: &Context, opts: &RunOptions, report: &mut RunReport) {
    let Some(a) = opts.approval.as_ref().filter(|_| !report.approval_used) else {
        return;
    };
    let id = a.held_run_id;
    match ctx.store.undo_approval(id, &a.approved_by).await {
        Ok(true) => {
            tracing::warn!(
                held_run = id,
                "the approval run stopped before its plan was checked; the held run is held again"
            );
            report.approval_note = Some(format!(
                "this run stopped before its plan was checked: run {id} is held again, awaiting a decision"
            ));
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(held_run = id, error = %e, "could not put the held run back to held");
            report.approval_note = Some(format!(
                "this run stopped before its plan was checked, and run {id} could not be held again ({e}): it shows approved with nothing applied"
            ));
        }
    }
}

/// Only the newest runs keep their plan (`reconcile.keep_plans`): at
/// 100,000 PodFactory users each holds 17 MB of findings. A failure costs a
/// warning, never the run; the next run drops them.
async fn drop_old_plans(ctx: &Context, now: chrono::DateTime<chrono::Utc>) {
    let keep = ctx.settings.reconcile.keep_plans;
    if keep == 0 {
        return;
    }
    match ctx.store.drop_old_plans(keep, now).await {
        Ok(0) => {}
        Ok(dropped) => tracing::debug!(dropped, keep, "dropped the plans of older runs"),
        Err(e) => tracing::warn!(error = %e, keep, "could not drop the plans of older runs"),
    }
}

/// Is rosterd in quarantine after this run? A function of the stored recent
/// outcomes and this one; a database that cannot say leaves it off.
async fn quarantine_after(ctx: &Context, report: &RunReport) -> bool {
    let after = ctx.settings.reconcile.quarantine_after_runs;
    if after == 0 {
        return false;
    }
    // A dry run tells nothing about applying: the state stays what the
    // real runs before it made it.
    let this =
        (!report.dry_run).then(|| crate::outcome::PastRun::of(report.status, report.failed_stage));
    let earlier_wanted = if this.is_some() { after - 1 } else { after };
    match recent_outcomes(&ctx.store, earlier_wanted).await {
        Ok(earlier) => {
            let recent: Vec<_> = this.into_iter().chain(earlier).collect();
            crate::outcome::quarantined(&recent, after)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read recent runs for the quarantine decision");
            false
        }
    }
}

/// The last `n` finished runs, newest first, as quarantine sees them.
pub async fn recent_outcomes(
    store: &Store,
    n: usize,
) -> Result<Vec<crate::outcome::PastRun>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Stage {
        failed_stage: Option<FailedStage>,
    }
    let rows = store.recent_run_outcomes(n as i64).await?;
    Ok(rows
        .iter()
        .map(|(status, summary)| {
            let stage = summary
                .as_deref()
                .and_then(|s| serde_json::from_str::<Stage>(s).ok())
                .and_then(|s| s.failed_stage);
            crate::outcome::PastRun::of(*status, stage)
        })
        .collect())
}

/// Which stage a whole-run failure came from, for the errors metric.
fn stage_of(e: &anyhow::Error) -> FailedStage {
    if e.downcast_ref::<Auth0Error>().is_some() {
        FailedStage::Auth0
    } else if e.downcast_ref::<StoreError>().is_some() {
        FailedStage::Store
    } else if e.downcast_ref::<LeadershipLost>().is_some() {
        FailedStage::Apply
    } else {
        FailedStage::Load
    }
}

/// What a finished run tells the metrics.
fn record_metrics(m: &Metrics, r: &RunReport, trigger: Trigger) {
    let now = Utc::now().timestamp() as f64;
    m.runs
        .with_label_values(&[r.status.as_str(), trigger.as_str()])
        .inc();
    m.run_duration.observe(r.duration_ms as f64 / 1000.0);
    m.last_run.set(now);
    // A dry run applies nothing: it neither syncs nor decides a held run.
    if !r.dry_run {
        if r.status.completed() {
            m.last_success.set(now);
        }
        m.held_runs.set(i64::from(r.status == RunStatus::Held));
    }
    m.quarantined.set(i64::from(r.quarantined));
    if let Some(stage) = r.failed_stage {
        m.sync_errors.with_label_values(&[stage.as_str()]).inc();
    }
    let outcomes = [
        (&r.succeeded, ActionStatus::Succeeded),
        (&r.failed, ActionStatus::Failed),
    ];
    for (counts, outcome) in outcomes {
        for (kind, n) in counts {
            m.actions
                .with_label_values(&[kind, outcome.as_str()])
                .inc_by(*n as u64);
        }
    }
    let creates = |counts: &BTreeMap<&str, usize>| {
        counts
            .get(ActionKind::Create.as_str())
            .copied()
            .unwrap_or(0)
    };
    m.user_creation_failures.inc_by(creates(&r.failed) as u64);
    if r.stats.employees == 0 {
        return; // the run stopped before reading: keep the last known state
    }
    m.findings.reset();
    for (kind, n) in &r.findings {
        m.findings.with_label_values(&[kind]).set(*n as i64);
    }
    let s = &r.stats;
    m.employees
        .with_label_values(&["active"])
        .set(s.active_employees as i64);
    m.employees
        .with_label_values(&["inactive"])
        .set((s.employees - s.active_employees) as i64);
    m.accounts
        .with_label_values(&["true"])
        .set(s.managed_accounts as i64);
    m.accounts
        .with_label_values(&["false"])
        .set(s.unmanaged_accounts as i64);
    m.unverified_emails.set(s.managed_unverified_email as i64);
    let planned = creates(&r.planned);
    let created = if r.applied { creates(&r.succeeded) } else { 0 };
    m.employees_without_account.set((planned - created) as i64);
    if let Some(pf) = &r.podfactory {
        m.podfactory_matched.inc_by(pf.new_links as u64);
        m.podfactory_linked.set(pf.matched as i64);
        m.podfactory_unmatched.set(pf.unmatched as i64);
        m.podfactory_ambiguous.set(pf.ambiguous as i64);
        if pf.users > 0 {
            m.compatibility
                .set(pf.with_auth0_account as f64 / pf.users as f64);
        }
    }
}

/// The body of a run. An `Err` is a failure of the whole run (a source could
/// not be read); failures of single actions are counted in the report. The
/// plan, once made, is in `planned` or (nothing applied) `report.plan`.
#[allow(clippy::too_many_arguments)]
async fn execute(
    ctx: &Context,
    run_id: i64,
    opts: &RunOptions,
    stop: &StopRequest,
    deadline: Instant,
    report: &mut RunReport,
    end: &mut RunEnd,
    planned: &mut Option<Plan>,
) -> anyhow::Result<()> {
    let s = &ctx.settings;
    let store = &ctx.store;
    if let Some(rollback) = &opts.rollback {
        let run = crate::rollback::RollbackRun {
            run_id,
            dry_run: opts.dry_run,
            stop,
            deadline,
        };
        return crate::rollback::execute(ctx, &run, rollback, report, end).await;
    }
    let guard_policy = ctx.guard_policy();
    let mut mark = Instant::now();

    // Load. The export job and the PodFactory source are read while the
    // employees are: the export is the longest read, and all three are
    // reads, so one started for a source the guard then refuses is simply
    // dropped. A refused or unreadable employees source still stops the run
    // first, without waiting for the others. The baseline is valid, distinct
    // employees: rows repeated by a bad join, or all invalid, must not
    // become the next run's yardstick.
    let write_back = ctx.write_back.as_ref();
    let employees_read = async {
        let source = load_source(ctx).await?;
        end.employees_seen = Some(source.employees.len() as i64);
        let previous = store.last_successful_employee_count().await?;
        guard::check_source(
            source.rows,
            source.employees.len(),
            previous.map(|p| p as usize),
            &guard_policy,
        )?;
        anyhow::Ok(source)
    };
    // A read, but a long one: not worth finishing once another leads.
    let export = async { anyhow::Ok(ctx.fenced(ctx.auth0.export_users()).await) };
    let podfactory_read = async { anyhow::Ok(crate::podfactory::load(&s.podfactory).await) };
    let (source, exported, podfactory_users) =
        tokio::try_join!(employees_read, export, podfactory_read)?;
    let Source {
        rows: _,
        mut employees,
        invalid,
        unidentified,
        excluded_employees,
    } = source;
    let users = exported??;
    end.auth0_users_seen = Some(users.len() as i64);
    if write_back.is_none() {
        links_from_metadata(&mut employees, &users);
    }
    // The tenant's roles before planning, so a role code without one is a
    // finding, not a failed action per employee.
    let roles = RoleResolver::new(&s.auth0.roles, tenant_roles(ctx, &employees, &users).await?);
    report.timings.read_ms = lap(&mut mark);

    // Match, then plan: the matches feed `app_metadata.podfactory_sync`.
    // An unreadable PodFactory source fails matching, not the run: accounts
    // are still created and leavers blocked, and the stored links stay as
    // they are (no matching, nothing recorded).
    // The current links: the matcher keeps one whose user a newcomer made
    // ambiguous, and recording compares with them. Read after the sources,
    // not with them: read alongside, they slowed the export's parse as
    // much as they saved, and were held through matching.
    let links = match &podfactory_users {
        Ok(Some(_)) => store.podfactory_link_state().await?,
        _ => HashMap::new(),
    };
    let (mut matching, source_finding) = match podfactory_users {
        Ok(pf_users) => {
            let m = crate::podfactory::match_users(
                &s.podfactory,
                pf_users,
                store,
                &employees,
                &users,
                &links,
            )
            .await?;
            (m, None)
        }
        Err(e) => {
            let why = crate::telemetry::error_chain(&e);
            tracing::error!(error = %why, "podfactory source unavailable; matching skipped");
            let finding = plan::Finding::new(
                plan::FindingKind::PodfactorySourceUnavailable,
                None,
                vec![],
                format!("{why}; PodFactory matching skipped, stored links kept"),
            );
            report.podfactory_error = Some(why);
            (None, Some(finding))
        }
    };
    report.timings.match_ms = lap(&mut mark);
    let policy = PlanPolicy {
        unidentified_rows: unidentified.len(),
        // A possible rehire a person acknowledged is "not a rehire".
        not_rehires: store
            .finding_acks()
            .await?
            .into_iter()
            .filter(|a| a.kind == plan::FindingKind::PossibleRehire.as_str())
            .map(|a| a.finding_key)
            .collect(),
        now: ctx.now().timestamp(),
        rules: s.policy.rules.clone(),
        excluded_accounts: ctx.exclusions.of(&users),
        excluded_employees,
        created_by: s.reconcile.created_by.clone(),
        podfactory_sync: matching.as_mut().and_then(|m| m.sync.take()),
        roles: Some(roles),
    };
    let mut made = plan::plan(&employees, &users, &invalid, &policy);
    // The export is the run's largest data (90 MB at 100,000 accounts) and
    // nothing after planning reads it: what recording reads next reuses
    // its memory instead of adding to it.
    drop(users);
    made.findings.extend(unidentified);
    made.findings.extend(source_finding);
    if let Some(m) = &matching {
        made.findings.extend(m.findings(&employees));
        report.podfactory = Some(m.summary());
    }
    let plan: &Plan = planned.insert(made);
    report.stats = plan.stats.clone();
    report.scheduled = scheduled_blocks(plan, &employees, &s.policy.departures);
    report.planned = plan::action_counts(plan);
    report.findings = plan::finding_counts(plan);
    report.finding_examples = crate::report::finding_examples(&plan.findings);
    ctx.metrics.observe_plan(plan, opts.dry_run);
    end.actions_planned = plan.actions.len() as i64;
    end.findings_count = plan.findings.len() as i64;
    // Only an ordering aid for the triage queue: never fails the run. A
    // leader's write, like every other.
    let complete = report.podfactory_error.is_none();
    match ctx
        .fenced(crate::triage::record_seen(
            store,
            &plan.findings,
            Utc::now(),
            complete,
        ))
        .await?
    {
        Ok(()) => {}
        Err(e) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not record when findings were first seen")
        }
    }

    // Guard. An approval was recorded when this run opened (`open_run`):
    // the approved plan passes if nothing changed since it was held;
    // otherwise the fresh plan faces the guard like any other.
    let guarded = guard::check_plan(plan, &guard_policy);
    let mut held = guarded.clone();
    let mut cleared = false;
    if let Some(approval) = &opts.approval {
        report.approval_used = true;
        let id = approval.held_run_id;
        let decision = crate::store::HeldDecision::Approved;
        if let Err(e) = crate::held::decide_same_plan(
            store,
            id,
            &approval.actions,
            decision,
            &approval.approved_by,
        )
        .await
        {
            // The approval stands; those runs stay held for a person.
            tracing::warn!(held_run = id, error = %e, "could not approve the held runs with the same plan");
        }
        if held.is_some() && plan::same_actions(&approval.actions, &plan.actions) {
            tracing::warn!(held_run = id, by = %approval.approved_by, "applying an approved held plan");
            held = None;
            cleared = true;
        } else if held.is_some() {
            report.approval_note = Some(format!(
                "the plan changed since run {id} was held; re-planned"
            ));
        }
    }
    // A run that can apply nothing (observe mode, a dry run, enforcement
    // paused by a rollback) is never held: there is nothing to approve. It
    // says what the guard would have done.
    report.paused = store.paused().await?;
    // A plan an admin rejected is not held (nor told to on-call) again
    // until it changes: whatever started the run, an approval that
    // re-planned included (an approved plan that still stands is not held).
    let mut rejected = None;
    if held.is_some() || cleared {
        rejected = same_as_rejected(store, plan).await?;
    }
    // An approved plan an admin rejected meanwhile (another held run of the
    // same plan, rejected between this approval and now) is not applied:
    // of the two decisions, the one that applies nothing stands.
    if cleared && rejected.is_some() {
        held = guarded;
    }
    if s.mode == Mode::Observe || opts.dry_run || report.paused.is_some() {
        report.would_reject = rejected.take();
        report.would_hold = held.take().map(|reason| reason.to_string());
    }
    let apply =
        !opts.dry_run && s.mode == Mode::Enforce && held.is_none() && report.paused.is_none();
    let initial = if apply {
        ActionStatus::Planned
    } else {
        ActionStatus::Skipped
    };
    let records: Vec<ActionRecord> = plan
        .actions
        .iter()
        .enumerate()
        .map(|(seq, a)| action_record(seq as i64, a, initial))
        .collect();
    store.insert_actions(run_id, &records).await?;
    report.timings.plan_ms = lap(&mut mark);
    if let Some(reason) = held {
        report.status = if rejected.is_some() {
            RunStatus::Rejected
        } else {
            RunStatus::Held
        };
        report.held_reason = Some(reason.to_string());
        report.error = rejected;
        report.plan = planned.take();
        return Ok(());
    }
    // PodFactory links are rosterd's own records: kept in observe mode too,
    // not in a dry run.
    // Employee → (Auth0 account, email), as the mapping audit needs it.
    let mut accounts: HashMap<i64, (String, String)> = employees
        .iter()
        .filter_map(|e| {
            let id = e.auth0_user_id.as_ref()?;
            Some((e.id.0, (id.0.clone(), e.email.to_string())))
        })
        .collect();
    if !apply {
        if !opts.dry_run {
            ctx.verify_leader().await?;
            record_links(store, &accounts, &matching, report, false, &links).await?;
            report.timings.record_ms = lap(&mut mark);
        }
        report.status = RunStatus::Succeeded;
        report.plan = planned.take();
        return Ok(());
    }

    // Apply.
    report.applied = true;
    let by_id: BTreeMap<EmployeeId, &Employee> = employees.iter().map(|e| (e.id, e)).collect();
    let roles = policy.roles.as_ref().expect("set above");
    let outcomes = apply_all(ctx, run_id, plan, &by_id, roles, stop, deadline, report).await;
    let whom = plan.actions.iter().map(|a| {
        let whom = match a.action.employee_id() {
            Some(id) => format!("employee {id}"),
            None => format!(
                "account {}",
                a.action.auth0_user_id().map_or("?", |u| u.0.as_str())
            ),
        };
        (a.action.kind(), whom)
    });
    let (tally, cut) = tally(whom, &outcomes, report);
    // Accounts created or linked by this run join the audit.
    for (action, outcome) in plan.actions.iter().zip(outcomes) {
        let linking = matches!(action.action, Action::Create { .. } | Action::Link { .. });
        if let (true, Outcome::Applied(Some(user)), Some(e)) = (
            linking,
            outcome,
            action.action.employee_id().and_then(|id| by_id.get(&id)),
        ) {
            accounts.insert(e.id.0, (user.0, e.email.to_string()));
        }
    }
    if tally.attempted > tally.failed {
        observe_latency(ctx, run_id, &by_id).await;
    }
    report.timings.apply_ms = lap(&mut mark);
    // Nothing more is written once another replica may lead, rosterd's own
    // records included.
    if let Some(why) = ctx.leadership_lost() {
        let verdict = crate::outcome::applied(&tally, Some(Cut::LeadershipLost));
        report.status = verdict.status;
        report.failed_stage = verdict.failed_stage;
        report.error = verdict.error.map(|e| format!("{e} ({why})"));
        return Ok(());
    }
    ctx.verify_leader().await?;
    record_links(store, &accounts, &matching, report, true, &links).await?;
    report.timings.record_ms = lap(&mut mark);
    let verdict = crate::outcome::applied(&tally, cut);
    report.status = verdict.status;
    report.error = verdict.error;
    report.failed_stage = verdict.failed_stage;
    Ok(())
}

/// `rosterd_lifecycle_latency_seconds` for the actions this run applied,
/// from when their change happened (`store::AppliedAction::started_at`) to
/// when Auth0 took them. A read that fails costs the observations, never
/// the run.
async fn observe_latency(ctx: &Context, run_id: i64, employees: &BTreeMap<EmployeeId, &Employee>) {
    let applied = match ctx.store.applied_since_planned(run_id).await {
        Ok(applied) => applied,
        Err(e) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "lifecycle latency not observed");
            return;
        }
    };
    for a in applied {
        let changed = employees
            .get(&EmployeeId(a.employee_id))
            .and_then(|e| e.changed_at);
        // The start may be on the database's clock and the end on ours.
        let millis = (a.applied_at - a.started_at(changed))
            .num_milliseconds()
            .max(0);
        ctx.metrics
            .lifecycle_latency
            .with_label_values(&[a.kind.as_str()])
            .observe(millis as f64 / 1000.0);
    }
}

/// When `plan` is the plan of the latest rejected run: why it is not held
/// again.
async fn same_as_rejected(store: &Store, plan: &Plan) -> anyhow::Result<Option<String>> {
    let Some(run) = store
        .list_runs_page(Some(RunStatus::Rejected), None, None, 1)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    if !store.planned(&run, &plan.actions).await? {
        return Ok(None);
    }
    // The run an admin rejected carries who did; a later run of the same
    // plan carries the original's citation.
    let error = run.error.as_deref().unwrap_or(RunStatus::Rejected.as_str());
    let original = match &run.approved_by {
        Some(_) => format!("run {} ({error})", run.id),
        None => error
            .strip_prefix(SAME_AS_REJECTED.0)
            .and_then(|e| e.strip_suffix(SAME_AS_REJECTED.1))
            .map_or_else(|| format!("run {}", run.id), str::to_string),
    };
    Ok(Some(format!(
        "{}{original}{}",
        SAME_AS_REJECTED.0, SAME_AS_REJECTED.1
    )))
}

/// The error of a run whose plan is the same as a rejected one's.
pub(crate) const SAME_AS_REJECTED: (&str, &str) = (
    "rejected: the same plan as ",
    "; nothing is applied until the plan changes",
);

/// rosterd's own records of the links, from one read of the mapping audit:
/// the matcher's links and their audit rows (with matching on) and, in a run
/// that applied (`verify`), that the run saw each employee's account link
/// (`accounts`), as [`Store::verify_audit`] keeps it: set-based, so a run
/// that changes nothing writes next to nothing.
async fn record_links(
    store: &Store,
    accounts: &HashMap<i64, (String, String)>,
    matching: &Option<crate::podfactory::Matching>,
    report: &mut RunReport,
    verify: bool,
    links: &HashMap<String, crate::store::CurrentLink>,
) -> anyhow::Result<()> {
    let matching = matching.as_ref().zip(report.podfactory.as_mut());
    if matching.is_none() && !verify {
        return Ok(());
    }
    let audit = store.audit_state().await?;
    if verify {
        let seen = accounts
            .iter()
            .filter_map(|(employee, (account, _))| {
                Some(audit.get(&(*employee, account.clone()))?.id)
            })
            .collect();
        store.verify_audit(&audit, &seen, Utc::now()).await?;
    }
    if let Some((m, summary)) = matching {
        m.record(store, accounts, &audit, links, summary).await?;
    }
    Ok(())
}

/// What `[policy]` says of the source's rows, onto the employees: each end
/// date as when the last day ends in the workspace's zone, the last change,
/// and the employees excluded (`policy.exclude`), with the key that
/// excluded them.
/// The employees source as a run plans on it.
pub(crate) struct Source {
    /// Rows read, readable or not.
    pub rows: usize,
    /// Valid employees, with their end dates (`leaves_at`) and last change.
    pub employees: Vec<Employee>,
    pub invalid: Vec<InvalidRow>,
    /// Findings for rows whose id cannot be read.
    pub unidentified: Vec<plan::Finding>,
    pub excluded_employees: BTreeMap<EmployeeId, String>,
}

/// Read the employees source (read-only) and apply `[policy]` to it.
pub(crate) async fn load_source(ctx: &Context) -> anyhow::Result<Source> {
    let s = &ctx.settings;
    let mut loaded = ctx
        .store
        .load_employee_rows(
            s.database.employees_query.as_deref(),
            ctx.write_back.as_ref(),
            &s.policy,
        )
        .await?;
    let rows = loaded.rows.len() + loaded.unreadable.len();
    let cells = std::mem::take(&mut loaded.policy);
    let (mut employees, invalid, unidentified) = validate(loaded);
    let excluded_employees = apply_source_policy(&mut employees, cells, &s.policy);
    Ok(Source {
        rows,
        employees,
        invalid,
        unidentified,
        excluded_employees,
    })
}

fn apply_source_policy(
    employees: &mut [Employee],
    mut cells: BTreeMap<i64, crate::store::PolicyCells>,
    policy: &crate::config::PolicySettings,
) -> BTreeMap<EmployeeId, String> {
    let mut excluded = BTreeMap::new();
    for e in employees.iter_mut() {
        let c = cells.remove(&e.id.0).unwrap_or_default();
        let zone = crate::departures::zone_of(&policy.departures, &e.workspace);
        e.leaves_at = c.end_date.map(|d| crate::departures::leaves_at(d, zone));
        e.changed_at = c.updated_at.map(|t| t.timestamp());
        if policy.exclude.employee_ids.contains(&e.id.0) {
            excluded.insert(e.id, "policy.exclude.employee_ids".to_string());
        } else if c.excluded {
            excluded.insert(e.id, "policy.exclude.employees_where".to_string());
        }
    }
    excluded
}

/// The plan's scheduled blocks with their local time, in each employee's
/// workspace zone.
fn scheduled_blocks(
    plan: &Plan,
    employees: &[Employee],
    departures: &crate::config::DepartureSettings,
) -> Vec<ScheduledReport> {
    let workspace: HashMap<EmployeeId, &str> = employees
        .iter()
        .map(|e| (e.id, e.workspace.as_str()))
        .collect();
    plan.scheduled
        .iter()
        .map(|b| {
            let zone = crate::departures::zone_of(
                departures,
                workspace.get(&b.employee_id).copied().unwrap_or_default(),
            );
            ScheduledReport {
                employee_id: b.employee_id,
                at: chrono::DateTime::from_timestamp(b.at, 0).unwrap_or_default(),
                local_time: crate::departures::local_time(b.at, zone),
                zone: zone.name().to_string(),
                auth0_user_ids: b.auth0_user_ids.clone(),
            }
        })
        .collect()
}

/// Without a write-back target the link is the account's
/// `app_metadata.employee_id`: an employee carried by exactly one account is
/// linked to it, as a stored id would link it (two accounts are left to the
/// planner's duplicate finding).
fn links_from_metadata(employees: &mut [Employee], users: &[crate::model::Auth0User]) {
    let mut by_employee: HashMap<i64, Vec<&Auth0UserId>> = HashMap::new();
    for u in users {
        if let Some(id) = u.app_metadata.employee_id {
            by_employee.entry(id).or_default().push(&u.user_id);
        }
    }
    for e in employees.iter_mut().filter(|e| e.auth0_user_id.is_none()) {
        if let Some([one]) = by_employee.get(&e.id.0).map(Vec::as_slice) {
            e.auth0_user_id = Some((*one).clone());
        }
    }
}

/// Split loaded rows into usable employees, bad rows, and findings for rows
/// whose id could not be read (they name no employee). A duplicated id is
/// never trusted, not even to say the person left, whichever of its rows
/// could be read; a row with one unreadable cell whose id is its own still
/// says whether the person left, so a leaver's accounts are blocked.
fn validate(loaded: crate::store::Loaded) -> (Vec<Employee>, Vec<InvalidRow>, Vec<plan::Finding>) {
    let ids = loaded
        .rows
        .iter()
        .map(|r| Some(r.id))
        .chain(loaded.unreadable.iter().map(|u| u.id));
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for id in ids.flatten() {
        *counts.entry(id).or_insert(0) += 1;
    }
    let mut employees = Vec::with_capacity(loaded.rows.len());
    let mut invalid = Vec::new();
    let mut unidentified = Vec::new();
    let mut reported = std::collections::HashSet::new();
    let mut duplicated = |id: i64, auth0_user_id: Option<&str>, invalid: &mut Vec<InvalidRow>| {
        // One finding per duplicated id, wherever its rows stand.
        if reported.insert(id) {
            invalid.push(InvalidRow {
                employee_id: EmployeeId(id),
                detail: format!("employee {id}: id appears {} times", counts[&id]),
                left: false,
                auth0_user_id: stored_account(auth0_user_id),
            });
        }
    };
    for r in loaded.rows {
        if counts[&r.id] > 1 {
            duplicated(r.id, r.auth0_user_id.as_deref(), &mut invalid);
            continue;
        }
        match r.clone().validate() {
            Ok(e) => employees.push(e),
            Err(why) => invalid.push(InvalidRow::new(&r, why.to_string(), true)),
        }
    }
    for u in loaded.unreadable {
        let Some(id) = u.id else {
            unidentified.push(plan::Finding::new(
                plan::FindingKind::InvalidEmployee,
                None,
                vec![],
                u.detail,
            ));
            continue;
        };
        if counts[&id] > 1 {
            duplicated(id, u.auth0_user_id.as_deref(), &mut invalid);
            continue;
        }
        invalid.push(InvalidRow {
            employee_id: EmployeeId(id),
            detail: u.detail,
            // NULL or unreadable is_active says nothing: never a leaver.
            left: u.is_active == Some(false),
            auth0_user_id: stored_account(u.auth0_user_id.as_deref()),
        });
    }
    (employees, invalid, unidentified)
}

/// A stored `auth0_user_id`, if it names an account.
fn stored_account(id: Option<&str>) -> Option<Auth0UserId> {
    id.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Auth0UserId(s.to_string()))
}

fn action_record(seq: i64, a: &PlannedAction, status: ActionStatus) -> ActionRecord {
    ActionRecord {
        seq,
        kind: a.action.kind(),
        employee_id: a.action.employee_id().map(|e| e.0),
        auth0_user_id: a.action.auth0_user_id().map(|u| u.0.clone()),
        // The policy entry beside the reason: what a person reading the run
        // needs to know to change it.
        reason: match a.policy.as_str() {
            "" => a.reason.clone(),
            entry => format!("{}; {entry}", a.reason),
        },
        detail: serde_json::to_string(&a.action).unwrap_or_default(),
        status,
        error: None,
        finished_at: None,
    }
}

/// How one action went.
pub(crate) enum Outcome {
    /// Applied; the account it ended with, if any.
    Applied(Option<Auth0UserId>),
    Failed(ActionError),
    /// Not started: a shutdown, the deadline or a lost lock came first
    /// (and the sentence saying which).
    NotStarted(Cut, String),
    /// Cut short in flight by the run deadline (`run_deadline_secs`): the
    /// next run re-plans from what Auth0 then holds.
    CutShort(u64),
}

impl Outcome {
    /// What `reconcile_actions` records of it: status, the account it
    /// ended with, the error.
    fn record(&self) -> (ActionStatus, Option<&Auth0UserId>, Option<String>) {
        match self {
            Outcome::Applied(user) => (ActionStatus::Succeeded, user.as_ref(), None),
            Outcome::Failed(e) => (
                ActionStatus::Failed,
                None,
                Some(crate::telemetry::error_chain(e)),
            ),
            Outcome::NotStarted(_, why) => {
                (ActionStatus::Skipped, None, Some(format!("not started: {why}")))
            }
            Outcome::CutShort(secs) => (
                ActionStatus::Failed,
                None,
                Some(format!("cut short: the run deadline passed (reconcile.run_deadline_secs = {secs}); the next run re-plans it")),
            ),
        }
    }
}

/// Why an action failed. What `reconcile_actions.error` records is its
/// chain (`error_chain`): each cause once.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActionError {
    #[error(transparent)]
    Auth0(#[from] Auth0Error),
    /// The leader lock went before the call could be made.
    #[error(transparent)]
    LeadershipLost(#[from] LeadershipLost),
    #[error(transparent)]
    UnmappedRole(#[from] plan::UnmappedRole),
    /// Auth0 answered 409 to a create and the account holding the email
    /// cannot be linked.
    #[error(transparent)]
    NotLinkable(#[from] NotLinkable),
    /// The account is created or linked; its role is not.
    #[error("role {role_code:?} not assigned")]
    Role {
        role_code: String,
        #[source]
        cause: Box<ActionError>,
    },
    #[error("the patch cannot be sent")]
    Patch(#[source] serde_json::Error),
    /// An import job refused this employee's account (Auth0's code and
    /// message).
    #[error("the users-import job refused the account: {code}: {message}")]
    ImportRefused { code: String, message: String },
    #[error("the account's import entry alone is larger than auth0.import_file_bytes ({0} bytes)")]
    TooLargeToImport(usize),
    /// The import job completed but its account was not found: the next
    /// run links it if it exists (by employee id or email), or creates it.
    #[error("imported, but the account for employee {employee_id} was not found: {why}")]
    NotFoundAfterImport {
        employee_id: EmployeeId,
        why: String,
    },
    /// Auth0 was changed but rosterd could not record the link (write-back
    /// or audit): rosterd's failure, which fails the run.
    #[error(transparent)]
    Unrecorded(#[from] RecordError),
}

impl ActionError {
    /// A transport error, a 5xx, or a 429 after every retry: Auth0 trouble,
    /// not this employee's.
    fn unavailable(&self) -> bool {
        matches!(self, ActionError::Auth0(e) if matches!(e.label(), "transport" | "server_error" | "rate_limited"))
    }
}

/// Why a 409's account is not this employee's to link.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotLinkable {
    #[error("409: the account {account} holding {email} belongs to employee {other}")]
    OtherEmployee {
        account: Auth0UserId,
        email: crate::model::Email,
        other: i64,
    },
    #[error(
        "409: the account {account} holding {email} is excluded by {rule}; rosterd leaves it alone"
    )]
    Excluded {
        account: Auth0UserId,
        email: crate::model::Email,
        rule: String,
    },
    #[error("409 for {0}, but no account has that email")]
    NoAccount(crate::model::Email),
    #[error("409 for {email}, and {count} accounts have that email")]
    Several {
        email: crate::model::Email,
        count: usize,
    },
}

/// Recording a link failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The batch of links this one was recorded with failed (its text).
    #[error("{0}")]
    Batch(String),
    #[error(transparent)]
    LeadershipLost(#[from] LeadershipLost),
}

/// Apply every action of `plan`: [`apply_each`] over [`apply_one`], the
/// creates by import jobs instead when there are enough of them
/// (`create::use_import`); then the creates' roles, in batches, and their
/// records (`create::finish`).
#[allow(clippy::too_many_arguments)]
async fn apply_all(
    ctx: &Context,
    run_id: i64,
    plan: &Plan,
    employees: &BTreeMap<EmployeeId, &Employee>,
    roles: &RoleResolver,
    stop: &StopRequest,
    deadline: Instant,
    report: &mut RunReport,
) -> Vec<Outcome> {
    let creates: Vec<usize> = (0..plan.actions.len())
        .filter(|&seq| matches!(plan.actions[seq].action, Action::Create { .. }))
        .collect();
    let import = crate::create::use_import(ctx, creates.len());
    let singly: Vec<usize> = (0..plan.actions.len())
        .filter(|seq| !(import && creates.binary_search(seq).is_ok()))
        .collect();
    let slots: Vec<crate::create::Slot> = plan.actions.iter().map(|_| Default::default()).collect();
    let done = apply_each(ctx, run_id, singly.iter().copied(), stop, deadline, |seq| {
        let action = &plan.actions[seq].action;
        let employee = action
            .employee_id()
            .and_then(|id| employees.get(&id).copied());
        apply_one(ctx, action, employee, roles, &slots[seq])
    })
    .await;
    let mut outcomes: Vec<Option<Outcome>> = plan.actions.iter().map(|_| None).collect();
    for (seq, outcome) in singly.into_iter().zip(done) {
        outcomes[seq] = Some(outcome);
    }
    let mut created: Vec<(usize, crate::create::Creation)> = slots
        .into_iter()
        .enumerate()
        .filter_map(|(seq, slot)| Some((seq, slot.into_inner()?)))
        .collect();
    // Recorded here: an imported create's outcome, and a single create's
    // that its role or record changed (recorded as applied when Auth0 took
    // it).
    let mut to_record = Vec::new();
    if import {
        let (results, bulk) =
            crate::create::import(ctx, run_id, plan, &creates, stop, deadline).await;
        report.bulk = Some(bulk);
        for (seq, result) in results {
            match result {
                Ok(creation) => created.push((seq, creation)),
                Err(outcome) => {
                    to_record.push(seq);
                    outcomes[seq] = Some(outcome);
                }
            }
        }
    }
    for (seq, outcome) in crate::create::finish(ctx, plan, employees, roles, created).await {
        if import || !matches!(outcome, Outcome::Applied(_)) {
            to_record.push(seq);
        }
        outcomes[seq] = Some(outcome);
    }
    let recorded: Vec<(usize, &Outcome)> = to_record
        .iter()
        .filter_map(|&seq| Some((seq, outcomes[seq].as_ref()?)))
        .collect();
    record_outcomes(ctx, run_id, &recorded).await;
    outcomes
        .into_iter()
        .map(|o| o.expect("every action has an outcome"))
        .collect()
}

/// Why no further action may start, if none may: a shutdown request, the
/// run's deadline, or the leader lock lost.
pub(crate) async fn not_started(
    ctx: &Context,
    stop: &StopRequest,
    deadline: Instant,
) -> Option<(Cut, String)> {
    let secs = ctx.settings.reconcile.run_deadline_secs;
    if stop.requested() {
        Some((Cut::Shutdown, "rosterd was shutting down".to_string()))
    } else if Instant::now() >= deadline {
        Some((
            Cut::Deadline(secs),
            format!("the run deadline passed (reconcile.run_deadline_secs = {secs})"),
        ))
    } else if let Err(lost) = ctx.verify_leader().await {
        Some((Cut::LeadershipLost, lost.to_string()))
    } else {
        None
    }
}

/// Record an action's outcome in `reconcile_actions`; a failure is logged
/// (the run's own record says how it ended).
async fn record_outcome(ctx: &Context, run_id: i64, seq: usize, outcome: &Outcome) {
    let (status, user, error) = outcome.record();
    if let Err(e) = ctx
        .store
        .finish_action(
            run_id,
            seq as i64,
            status,
            user,
            error.as_deref(),
            Utc::now(),
        )
        .await
    {
        tracing::error!(seq, error = %e, "could not record an action's outcome");
    }
}

/// [`record_outcome`] for many actions, a few transactions in all.
async fn record_outcomes(ctx: &Context, run_id: i64, outcomes: &[(usize, &Outcome)]) {
    for chunk in outcomes.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(seq, outcome)| {
                let (status, user, error) = outcome.record();
                (*seq as i64, status, user, error)
            })
            .collect();
        let rows: Vec<_> = rows
            .iter()
            .map(|(seq, status, user, error)| (*seq, *status, *user, error.as_deref()))
            .collect();
        if let Err(e) = ctx.store.finish_actions(run_id, &rows, Utc::now()).await {
            tracing::error!(actions = rows.len(), error = %e, "could not record the actions' outcomes");
        }
    }
}

/// Run `apply(seq)` for each of `seqs`, a run's recorded actions,
/// at most `auth0.concurrency` at a time (the client's limiter decides how
/// many requests are in flight, from the tenant's rate and the latency it
/// sees); one failure does not stop the others. Outcomes come back in order, each
/// recorded as it comes. No action starts after a shutdown request, past the
/// run's deadline or once the leader lock is lost, and one in flight at the
/// deadline is cut short (the next run re-plans from what Auth0 then holds,
/// as after a crash). Every run's actions go through here, a rollback's too.
pub(crate) async fn apply_each<F, Fut>(
    ctx: &Context,
    run_id: i64,
    seqs: impl IntoIterator<Item = usize>,
    stop: &StopRequest,
    deadline: Instant,
    apply: F,
) -> Vec<Outcome>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Auth0UserId>, ActionError>>,
{
    // Futures built up front (not polled): a lazily mapped stream over
    // borrowed actions trips the compiler's Send inference in spawned tasks.
    let apply = &apply;
    let pending: Vec<_> = seqs
        .into_iter()
        .map(|seq| async move {
            let secs = ctx.settings.reconcile.run_deadline_secs;
            let outcome = if let Some((cut, why)) = not_started(ctx, stop, deadline).await {
                Outcome::NotStarted(cut, why)
            } else {
                match tokio::time::timeout_at(deadline.into(), apply(seq)).await {
                    Ok(Ok(user)) => Outcome::Applied(user),
                    Ok(Err(e)) => Outcome::Failed(e),
                    Err(_) => Outcome::CutShort(secs),
                }
            };
            record_outcome(ctx, run_id, seq, &outcome).await;
            outcome
        })
        .collect();
    futures::stream::iter(pending)
        .buffered(ctx.settings.auth0.concurrency)
        .collect()
        .await
}

/// How a run's actions went, into `report` (succeeded and failed by kind,
/// the first failures, each naming its action as `whom` says) and the tally
/// its verdict is made from, with why it stopped short if it did.
pub(crate) fn tally(
    actions: impl Iterator<Item = (ActionKind, String)>,
    outcomes: &[Outcome],
    report: &mut RunReport,
) -> (crate::outcome::Tally, Option<Cut>) {
    let mut tally = crate::outcome::Tally::default();
    let mut cut = None;
    for ((kind, whom), outcome) in actions.zip(outcomes) {
        let kind = kind.as_str();
        match outcome {
            Outcome::Applied(_) => {
                tally.attempted += 1;
                *report.succeeded.entry(kind).or_insert(0) += 1;
            }
            Outcome::NotStarted(why, _) => {
                tally.not_finished += 1;
                cut = Some(*why);
            }
            Outcome::CutShort(secs) => {
                tally.not_finished += 1;
                cut = Some(Cut::Deadline(*secs));
            }
            Outcome::Failed(e) => {
                tally.attempted += 1;
                tally.failed += 1;
                tally.unavailable += usize::from(e.unavailable());
                if matches!(e, ActionError::Unrecorded(_)) {
                    tally.unrecorded += 1;
                    tally
                        .unrecorded_error
                        .get_or_insert_with(|| crate::telemetry::error_chain(e));
                }
                *report.failed.entry(kind).or_insert(0) += 1;
                if report.failures.len() < 20 {
                    report.failures.push(format!("{kind} for {whom}: {e}"));
                }
            }
        }
    }
    (tally, cut)
}

/// The tenant's roles as (name, id), fetched only when some role could be
/// assigned or removed.
async fn tenant_roles(
    ctx: &Context,
    employees: &[Employee],
    users: &[Auth0User],
) -> Result<Vec<(String, String)>, Auth0Error> {
    let any_role = employees
        .iter()
        .any(|e| e.is_active && !e.role_code.is_empty())
        || users.iter().any(|u| {
            u.app_metadata
                .role_code
                .as_ref()
                .is_some_and(|r| !r.is_empty())
        });
    if !any_role {
        return Ok(Vec::new());
    }
    Ok(ctx
        .auth0
        .list_roles()
        .await?
        .into_iter()
        .map(|r| (r.name, r.id))
        .collect())
}

/// Apply one action. `Ok` carries the account it ended with, if any.
async fn apply_one(
    ctx: &Context,
    action: &Action,
    employee: Option<&Employee>,
    roles: &RoleResolver,
    slot: &crate::create::Slot,
) -> Result<Option<Auth0UserId>, ActionError> {
    let api = &ctx.auth0;
    match action {
        // Its role and record come after every create of the run.
        Action::Create { .. } => crate::create::create_one(ctx, action, slot).await,
        Action::Link {
            employee_id,
            auth0_user_id,
            role_code,
            evidence,
            previous_employee_id,
        } => {
            let role = ensure_role(ctx, auth0_user_id, role_code, roles).await;
            let by = evidence.audit_name();
            record_link(ctx, *employee_id, auth0_user_id, by, employee).await?;
            // A rehire's account leaves the old row, or both rows would
            // claim it on the next run.
            if let (Some(old), Some(target)) = (previous_employee_id, &ctx.write_back) {
                let cleared = ctx
                    .store
                    .set_employee_auth0_id(target, *old, None, Utc::now());
                ctx.fenced(cleared)
                    .await?
                    .map_err(|e| ActionError::Unrecorded(e.into()))?;
            }
            role.map(|()| Some(auth0_user_id.clone()))
        }
        Action::Block { auth0_user_id, .. } => ctx
            .fenced(api.patch_user(auth0_user_id, &json!({ "blocked": true })))
            .await?
            .map(|()| Some(auth0_user_id.clone()))
            .map_err(ActionError::from),
        Action::Unblock { auth0_user_id, .. } => ctx
            .fenced(api.patch_user(auth0_user_id, &json!({ "blocked": false })))
            .await?
            .map(|()| Some(auth0_user_id.clone()))
            .map_err(ActionError::from),
        Action::Update {
            auth0_user_id,
            patch,
            role_change,
            ..
        } => {
            let mut patch = patch.clone();
            let mut role_error = None;
            if let Some(change) = role_change {
                if let Err(e) = change_role(ctx, auth0_user_id, change, roles).await {
                    // Leave role_code as it was, so the next run sees the
                    // drift and tries again.
                    patch.app_metadata.remove("role_code");
                    role_error = Some(e);
                }
            }
            let body = serde_json::to_value(&patch).map_err(ActionError::Patch)?;
            if body.as_object().is_some_and(|o| !o.is_empty()) {
                ctx.fenced(api.patch_user(auth0_user_id, &body)).await??;
            }
            match role_error {
                Some(e) => Err(e),
                None => Ok(Some(auth0_user_id.clone())),
            }
        }
    }
}

/// After a 409: the account that holds this email, if it is free to link:
/// not another employee's, and not one `policy.exclude` leaves alone (the
/// planner never sees an excluded account, so its email is planned as a
/// create, and Auth0's 409 points back at it).
pub(crate) async fn link_existing(
    ctx: &Context,
    employee_id: EmployeeId,
    email: &crate::model::Email,
) -> Result<Auth0UserId, ActionError> {
    let found = ctx.auth0.users_by_email(email).await?;
    let not_linkable = match found.as_slice() {
        [one] => match (ctx.exclusions.reason(one), one.app_metadata.employee_id) {
            (Some(rule), _) => NotLinkable::Excluded {
                account: one.user_id.clone(),
                email: email.clone(),
                rule,
            },
            (None, Some(other)) if other != employee_id.0 => NotLinkable::OtherEmployee {
                account: one.user_id.clone(),
                email: email.clone(),
                other,
            },
            (None, _) => return Ok(one.user_id.clone()),
        },
        [] => NotLinkable::NoAccount(email.clone()),
        many => NotLinkable::Several {
            email: email.clone(),
            count: many.len(),
        },
    };
    Err(not_linkable.into())
}

/// An account linked after a 409 may not be ours: do not stamp it as created
/// by rosterd.
pub(crate) fn without_created_by(mut v: Value) -> Value {
    if let Some(m) = v["app_metadata"].as_object_mut() {
        m.remove("created_by");
    }
    v
}

/// Assign the employee's role. On failure, clear `app_metadata.role_code` so
/// the next plan sees the drift and assigns it again.
async fn ensure_role(
    ctx: &Context,
    user: &Auth0UserId,
    role_code: &str,
    roles: &RoleResolver,
) -> Result<(), ActionError> {
    let result: Result<(), ActionError> = match roles.id(role_code) {
        Ok(None) => return Ok(()),
        Ok(Some(id)) => match ctx
            .fenced(ctx.auth0.assign_roles(user, &[id.to_string()]))
            .await
        {
            Ok(assigned) => assigned.map_err(ActionError::from),
            // Not ours to write any more, the clearing patch included.
            Err(lost) => return Err(lost.into()),
        },
        Err(e) => Err(e.into()),
    };
    if let Err(e) = result {
        let clear = json!({ "app_metadata": { "role_code": null } });
        match ctx.fenced(ctx.auth0.patch_user(user, &clear)).await {
            Ok(Ok(())) => {}
            Ok(Err(e2)) => {
                tracing::warn!(user = %user, error = %e2, "could not clear role_code after a failed role assignment")
            }
            Err(lost) => return Err(lost.into()),
        }
        return Err(ActionError::Role {
            role_code: role_code.to_string(),
            cause: Box::new(e),
        });
    }
    Ok(())
}

async fn change_role(
    ctx: &Context,
    user: &Auth0UserId,
    change: &plan::RoleChange,
    roles: &RoleResolver,
) -> Result<(), ActionError> {
    if let Some(from) = &change.from {
        // A role we cannot resolve any more cannot be removed; not an error.
        if let Ok(Some(old)) = roles.id(from) {
            ctx.fenced(ctx.auth0.remove_roles(user, &[old.to_string()]))
                .await??;
        }
    }
    if let Some(new) = roles.id(&change.to)? {
        ctx.fenced(ctx.auth0.assign_roles(user, &[new.to_string()]))
            .await??;
    }
    Ok(())
}

/// Write the link on the employee row and in the mapping audit, saying how
/// it was made (`matched_by`: `created`, `stored_id`, `employee_id` or
/// `email`). A failure is rosterd's, not the employee's: it fails the run.
pub(crate) async fn record_link(
    ctx: &Context,
    employee_id: EmployeeId,
    user: &Auth0UserId,
    matched_by: &'static str,
    employee: Option<&Employee>,
) -> Result<(), ActionError> {
    // Without a write-back target the account's app_metadata.employee_id is
    // the link. An account created by rosterd or found by it carries it
    // already; one found by email gets it here, since no update writes it
    // for a leaver (whose link would otherwise be planned on every run).
    // A rehire's account names the new employee before anything else is
    // recorded: if the run's update of it failed, the next run would find
    // two rows claiming it.
    name_employee(ctx, employee_id, user, matched_by).await?;
    Ok(write_link(ctx, employee_id, user, matched_by, employee).await?)
}

/// The Auth0 part of recording a link: `app_metadata.employee_id` on an
/// account that does not carry it yet (see [`record_link`]).
pub(crate) async fn name_employee(
    ctx: &Context,
    employee_id: EmployeeId,
    user: &Auth0UserId,
    matched_by: &'static str,
) -> Result<(), ActionError> {
    let unlinked = ctx.write_back.is_none() && !matches!(matched_by, "created" | "employee_id");
    if unlinked || matched_by == Evidence::Rehire.audit_name() {
        let link = json!({ "app_metadata": { "employee_id": employee_id.0 } });
        ctx.fenced(ctx.auth0.patch_user(user, &link)).await??;
    }
    Ok(())
}

async fn write_link(
    ctx: &Context,
    employee_id: EmployeeId,
    user: &Auth0UserId,
    matched_by: &'static str,
    employee: Option<&Employee>,
) -> Result<(), RecordError> {
    let now = Utc::now();
    let store = &ctx.store;
    if let Some(target) = &ctx.write_back {
        ctx.fenced(store.set_employee_auth0_id(target, employee_id, Some(user), now))
            .await??;
    }
    if let Some(e) = employee {
        let row = AuditRow {
            employee_id,
            auth0_user_id: user.clone(),
            productivity_email: e.email.to_string(),
            podfactory_email: None,
            matched_by,
            from_matcher: false,
        };
        store.upsert_audit(&row, now).await?;
    }
    Ok(())
}

/// Crash-test hook: `ROSTERD_FAILPOINT=after_auth0_create` aborts the process
/// right after Auth0 created an account and before rosterd recorded it, the
/// window the next run must heal.
pub(crate) fn failpoint(name: &str) {
    if std::env::var("ROSTERD_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Loaded, Unreadable};

    #[test]
    fn a_failed_action_records_each_cause_once_and_only_auth0_trouble_is_unavailability() {
        let api = |status| Auth0Error::Api {
            endpoint: "POST /api/v2/users/{id}/roles",
            status,
            code: None,
            message: "boom".into(),
        };
        let role = ActionError::Role {
            role_code: "PICKER".into(),
            cause: Box::new(ActionError::from(api(500))),
        };
        assert_eq!(
            crate::telemetry::error_chain(&role),
            "role \"PICKER\" not assigned: POST /api/v2/users/{id}/roles: HTTP 500: boom"
        );
        // The account exists; only its role is missing: the employee's
        // action failed, Auth0 is not counted as down for it.
        assert!(!role.unavailable());
        assert!(ActionError::from(api(503)).unavailable());
        assert!(!ActionError::from(api(400)).unavailable());
        let lost = ActionError::from(RecordError::from(LeadershipLost("lock gone".into())));
        assert_eq!(
            crate::telemetry::error_chain(&lost),
            "leadership lost: lock gone"
        );
        assert!(matches!(lost, ActionError::Unrecorded(_)));
    }

    #[test]
    fn trigger_strings_are_the_stored_and_shown_ones_and_parse_back() {
        // `reconcile_runs.trigger`, the API's JSON and the metric label: a
        // public contract.
        let strings: Vec<_> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            strings,
            ["schedule", "http", "change", "approval", "cli", "demo", "bench", "rollback"]
        );
        for t in Trigger::ALL {
            assert_eq!(t.as_str().parse::<Trigger>().unwrap(), *t);
        }
        assert!("webhook".parse::<Trigger>().is_err());
    }

    fn unreadable(id: Option<i64>, is_active: Option<bool>) -> Unreadable {
        Unreadable {
            id,
            is_active,
            auth0_user_id: Some("auth0|1".into()),
            detail: "department is not valid UTF-8 text".into(),
        }
    }

    fn row(id: i64, is_active: bool) -> crate::model::RawEmployee {
        crate::model::RawEmployee {
            id,
            full_name: Some("Ana Ruiz".into()),
            email: Some("ana@example.com".into()),
            department: None,
            workspace: None,
            role_code: None,
            is_active,
            auth0_user_id: None,
        }
    }

    #[test]
    fn source_policy_puts_end_dates_changes_and_exclusions_on_the_employees() {
        let mut employees: Vec<Employee> = [1, 2, 3]
            .into_iter()
            .map(|id| row(id, true).validate().unwrap())
            .collect();
        employees[0].workspace = "TX".into();
        let mut policy = crate::config::PolicySettings::default();
        policy
            .departures
            .zones
            .insert("TX".into(), "America/Chicago".into());
        policy.exclude.employee_ids = vec![3];
        let day = crate::departures::EndDate::Day("2026-03-08".parse().unwrap());
        let cells = BTreeMap::from([
            (
                1,
                crate::store::PolicyCells {
                    end_date: Some(day),
                    updated_at: Some("2026-03-01T12:00:00Z".parse().unwrap()),
                    excluded: false,
                },
            ),
            (
                2,
                crate::store::PolicyCells {
                    end_date: Some(day),
                    excluded: true,
                    ..Default::default()
                },
            ),
        ]);
        let excluded = apply_source_policy(&mut employees, cells, &policy);
        // TX ends at Chicago's midnight; employee 2 (no workspace) at UTC's.
        assert_eq!(employees[0].leaves_at, Some(1_773_032_400));
        assert_eq!(employees[0].changed_at, Some(1_772_366_400));
        assert_eq!(employees[1].leaves_at, Some(1_773_014_400));
        assert_eq!(employees[2].leaves_at, None);
        assert_eq!(
            excluded,
            BTreeMap::from([
                (EmployeeId(2), "policy.exclude.employees_where".to_string()),
                (EmployeeId(3), "policy.exclude.employee_ids".to_string()),
            ])
        );
    }

    #[test]
    fn an_unreadable_row_says_the_person_left_only_when_it_can() {
        let loaded = Loaded {
            rows: vec![row(4, false)],
            unreadable: vec![
                unreadable(Some(1), Some(false)),
                unreadable(Some(2), None),
                unreadable(Some(3), Some(true)),
                // A duplicated id is never trusted, whichever row is readable.
                unreadable(Some(4), Some(false)),
                unreadable(None, Some(false)),
            ],
            policy: Default::default(),
        };
        let (employees, invalid, unidentified) = validate(loaded);
        assert!(employees.is_empty());
        let left: BTreeMap<i64, bool> = invalid.iter().map(|r| (r.employee_id.0, r.left)).collect();
        assert_eq!(
            left,
            BTreeMap::from([(1, true), (2, false), (3, false), (4, false)])
        );
        assert_eq!(invalid[0].auth0_user_id, None, "row 4 stored no account");
        assert_eq!(
            invalid[1].auth0_user_id,
            Some(Auth0UserId("auth0|1".into()))
        );
        assert_eq!(unidentified.len(), 1);
    }
}
