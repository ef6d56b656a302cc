//! Deciding a held run: approve (apply its plan if nothing changed since)
//! or reject (close it; the same plan is not held again until it changes).
//! One implementation for the CLI and the admin API.

use crate::plan::PlannedAction;
use crate::run::{Approval, RunOptions, RunStatus, Trigger};
use crate::store::{HeldDecision, RunRecord, Store, StoreError, StoredPlanError};
use chrono::Utc;

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("no run {0}")]
    NotFound(i64),
    #[error("run {id} is {status}, not a held run awaiting a decision")]
    NotHeld { id: i64, status: String },
    #[error("run {0} is a dry run: it applied nothing and has nothing to approve or reject")]
    DryRun(i64),
    #[error("held run {0} has no readable plan")]
    NoPlan(i64),
    /// Its accounts were chosen by `rosterd rollback`, which no run
    /// recomputes: the rollback itself applies them, with `--approve`.
    #[error(
        "run {0} is a held rollback: run the same `rosterd rollback` with --approve to apply it"
    )]
    Rollback(i64),
    #[error("enforcement is paused (by {0}, with a rollback): nothing would be applied; `rosterd resume` first")]
    Paused(String),
    #[error("held run {id} has no readable plan")]
    UnreadablePlan {
        id: i64,
        #[source]
        source: StoredPlanError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn held_run(store: &Store, id: i64) -> Result<RunRecord, DecisionError> {
    let run = store
        .get_run(id)
        .await?
        .ok_or(DecisionError::NotFound(id))?;
    if run.dry_run {
        return Err(DecisionError::DryRun(id));
    }
    if run.status != RunStatus::Held || run.approved_at.is_some() {
        return Err(DecisionError::NotHeld {
            id,
            status: run.status.to_string(),
        });
    }
    Ok(run)
}

/// The options of the run that applies held run `id`, approved by `actor`.
/// That run records the approval (the held run becomes `approved`, once:
/// a concurrent decision wins or loses as a whole) and applies the plan as
/// held if nothing changed since; otherwise the fresh plan faces the guard.
pub async fn approval(store: &Store, id: i64, actor: &str) -> Result<RunOptions, DecisionError> {
    let run = held_run(store, id).await?;
    if run.trigger == Trigger::Rollback.as_str() {
        return Err(DecisionError::Rollback(id));
    }
    // Paused, the approval would be spent on a run that applies nothing.
    if let Some(pause) = store.paused().await? {
        return Err(DecisionError::Paused(pause.paused_by));
    }
    let plan = store
        .stored_plan(&run)
        .await?
        .map_err(|source| DecisionError::UnreadablePlan { id, source })?
        .ok_or(DecisionError::NoPlan(id))?;
    Ok(RunOptions {
        dry_run: false,
        trigger: Trigger::Approval,
        approval: Some(Approval {
            held_run_id: id,
            actions: plan.actions,
            approved_by: actor.to_string(),
        }),
        rollback: None,
    })
}

/// Give the other held runs still awaiting a decision on the same plan as
/// run `decided` the same decision: every tick that met the guard with that
/// plan held a run of its own, and one plan is one question. Returns their
/// ids. A run whose plan cannot be read is left for a person.
pub async fn decide_same_plan(
    store: &Store,
    decided: i64,
    actions: &[PlannedAction],
    decision: HeldDecision<'_>,
    by: &str,
) -> Result<Vec<i64>, StoreError> {
    let mut closed = Vec::new();
    // Held runs of one plan share its stored copy: read it once.
    let mut same_by_digest = std::collections::HashMap::new();
    for run in store
        .list_runs_page(Some(RunStatus::Held), None, None, 200)
        .await?
    {
        if run.id == decided || run.dry_run || run.approved_at.is_some() {
            continue;
        }
        // A run without a plan did not plan these actions.
        let Some(digest) = run.plan_digest.clone() else {
            continue;
        };
        let same = match same_by_digest.get(&digest) {
            Some(&same) => same,
            None => {
                let same = store.planned(&run, actions).await?;
                same_by_digest.insert(digest, same);
                same
            }
        };
        if same
            && store
                .decide_held_run(run.id, decision, by, Utc::now())
                .await?
        {
            closed.push(run.id);
        }
    }
    Ok(closed)
}

/// A rejection as recorded: the sentence in the run's error, and the other
/// held runs of the same plan it closed too.
pub struct Rejection {
    pub note: String,
    pub also: Vec<i64>,
}

impl Rejection {
    /// " (and runs 8, 10, held with the same plan)", or nothing.
    pub fn also_text(&self) -> String {
        match self.also.as_slice() {
            [] => String::new(),
            [one] => format!(" (and run {one}, held with the same plan)"),
            many => format!(
                " (and runs {}, held with the same plan)",
                many.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Close held run `id` as rejected by `actor`, with an optional reason.
pub async fn reject(
    store: &Store,
    id: i64,
    actor: &str,
    reason: Option<&str>,
) -> Result<Rejection, DecisionError> {
    let run = held_run(store, id).await?;
    // Read before deciding: a read that fails after the rejection is
    // recorded would report a decision made as one that failed.
    let plan = store.stored_plan(&run).await?;
    let note = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("rejected by {actor}: {r}"),
        None => format!("rejected by {actor}"),
    };
    // Conditional on the run still being held: of two concurrent decisions
    // exactly one wins.
    if !store
        .decide_held_run(
            id,
            HeldDecision::Rejected { note: &note },
            actor,
            Utc::now(),
        )
        .await?
    {
        let status = store
            .get_run(id)
            .await?
            .map_or_else(|| "gone".to_string(), |r| r.status.to_string());
        return Err(DecisionError::NotHeld { id, status });
    }
    let mut also = Vec::new();
    if let Ok(Some(plan)) = plan {
        let same = format!("{note} (with run {id}, the same plan)");
        let decision = HeldDecision::Rejected { note: &same };
        also = decide_same_plan(store, id, &plan.actions, decision, actor).await?;
        if !also.is_empty() {
            tracing::info!(run_id = id, also = ?also, "held runs with the same plan rejected with it");
        }
    }
    Ok(Rejection { note, also })
}

/// Set `rosterd_held_runs` from the store (start-up, each scrape): a run
/// another process held (`rosterd run`) and a decision made elsewhere
/// (`rosterd reject`) show at once, not at this process's next run. A
/// database that cannot say leaves it as it was.
pub async fn show_held(ctx: &crate::run::Context) {
    match ctx.store.latest_run_is_held().await {
        Ok(held) => ctx.metrics.held_runs.set(i64::from(held)),
        Err(e) => tracing::warn!(error = %e, "could not read whether the latest run is held"),
    }
}
