//! Rolling back what rosterd created, and paused enforcement.
//!
//! `rosterd rollback --since T [--until T]` blocks (never deletes) the
//! accounts that applied `create` actions of runs started in `[since,
//! until)` made, and pauses enforcement: the next ordinary run would
//! otherwise unblock those employees again. While paused, every run plans
//! and records, and applies nothing, until `rosterd resume` (or `POST
//! /api/v1/resume`). `--undo RUN` unblocks exactly what rollback run RUN
//! blocked. Either is a run of its own (trigger `rollback`) under the
//! leader lock, its accounts chosen here rather than planned from the
//! employees, and faces the guard as a mass block (or unblock) would: held
//! unless the person says `--approve`, as a CLI cannot wait for an
//! approval of a choice no later run can recompute.

use crate::outcome::ActionStatus;
use crate::plan::guard::{self, Mass};
use crate::plan::ActionKind;
use crate::run::{Context, RunReport, RunStatus, Trigger};
use crate::store::{ActionRecord, HeldDecision, Pause, RunEnd, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// What a rollback run does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Block the accounts created by runs started in `[since, until)`.
    Window {
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    },
    /// Unblock what rollback run `run_id` blocked.
    Undo { run_id: i64 },
}

/// A rollback as asked for: what, by whom, and whether the guard may be
/// passed (`--approve`).
#[derive(Debug, Clone)]
pub struct Rollback {
    pub target: Target,
    pub actor: String,
    pub approved: bool,
}

/// An account a rollback acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub auth0_user_id: String,
    pub employee_id: Option<i64>,
    /// The run that created it (a rollback), or blocked it (an undo).
    pub run_id: i64,
}

/// An account left alone, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub auth0_user_id: String,
    pub why: &'static str,
}

/// What a rollback run chose: the report's `rollback`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub target: Target,
    /// The accounts it blocks (or unblocks), whether or not it applied.
    pub accounts: Vec<Account>,
    pub skipped: Vec<Skipped>,
}

/// Why a rollback cannot start; each names the flag or run at fault.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{flag}: {value:?} is neither an RFC 3339 time (2026-03-01T09:00:00Z) nor a date (2026-03-01, midnight UTC)")]
    BadTime { flag: &'static str, value: String },
    #[error("--until ({until}) is not after --since ({since}): the window is empty")]
    EmptyWindow {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    #[error("no run {0}")]
    NoRun(i64),
    #[error("run {id} is a {trigger} run, not a rollback: --undo takes the id of a rollback run")]
    NotRollback { id: i64, trigger: String },
    #[error(
        "run {0} blocked nothing (a dry run, a held rollback or an undo): there is nothing to undo"
    )]
    NothingBlocked(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A time as `--since`/`--until` take it: RFC 3339, or a date meaning
/// midnight UTC.
pub fn parse_time(flag: &'static str, value: &str) -> Result<DateTime<Utc>, RollbackError> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| RollbackError::BadTime {
            flag,
            value: value.to_string(),
        })
}

/// The window `--since`/`--until` name, checked.
pub fn window(since: &str, until: Option<&str>) -> Result<Target, RollbackError> {
    let since = parse_time("--since", since)?;
    let until = until.map(|u| parse_time("--until", u)).transpose()?;
    if let Some(until) = until.filter(|u| *u <= since) {
        return Err(RollbackError::EmptyWindow { since, until });
    }
    Ok(Target::Window { since, until })
}

/// `--undo RUN`, checked before a run starts: RUN is a rollback that
/// blocked something.
pub async fn undo(store: &Store, id: i64) -> Result<Target, RollbackError> {
    let run = store.get_run(id).await?.ok_or(RollbackError::NoRun(id))?;
    if run.trigger != Trigger::Rollback.as_str() {
        return Err(RollbackError::NotRollback {
            id,
            trigger: run.trigger,
        });
    }
    if blocked_by(store, id).await?.is_empty() {
        return Err(RollbackError::NothingBlocked(id));
    }
    Ok(Target::Undo { run_id: id })
}

/// The accounts run `id` blocked (applied blocks).
async fn blocked_by(store: &Store, id: i64) -> Result<Vec<Account>, StoreError> {
    Ok(store
        .run_actions(id)
        .await?
        .into_iter()
        .filter(|a| a.kind == ActionKind::Block && a.status == ActionStatus::Succeeded)
        .filter_map(|a| {
            Some(Account {
                auth0_user_id: a.auth0_user_id?,
                employee_id: a.employee_id,
                run_id: id,
            })
        })
        .collect())
}

/// End the pause, admin-audited; the pause it ended, if any. One
/// implementation for the CLI and the API.
pub async fn resume(ctx: &Context, actor: &str) -> Result<Option<Pause>, StoreError> {
    let ended = ctx.store.resume().await?;
    ctx.metrics.enforcement_paused.set(0);
    if let Some(p) = &ended {
        tracing::warn!(actor, paused_by = %p.paused_by, "enforcement resumed");
        let target = match p.run_id {
            Some(run) => format!("paused by {} (run {run})", p.paused_by),
            None => format!("paused by {}", p.paused_by),
        };
        ctx.audit(actor, "resume", Some(&target)).await;
    }
    Ok(ended)
}

/// Set `rosterd_enforcement_paused` from the store (start-up, each scrape).
/// A database that cannot say leaves it as it was.
pub async fn show_pause(ctx: &Context) {
    match ctx.store.paused().await {
        Ok(p) => ctx.metrics.enforcement_paused.set(i64::from(p.is_some())),
        Err(e) => tracing::warn!(error = %e, "could not read whether enforcement is paused"),
    }
}

/// Why a rollback leaves an account it would block alone: blocked already.
const ALREADY_BLOCKED: &str = "already blocked";

/// The run a rollback is: its id, whether it is a dry run, and what stops
/// it (a shutdown request, the run deadline).
pub(crate) struct RollbackRun<'a> {
    pub run_id: i64,
    pub dry_run: bool,
    pub stop: &'a crate::run::StopRequest,
    pub deadline: std::time::Instant,
}

/// The body of a rollback run, under the leader lock: choose the accounts,
/// face the guard, pause (a rollback), block or unblock each, record.
pub(crate) async fn execute(
    ctx: &Context,
    run: &RollbackRun<'_>,
    rollback: &Rollback,
    report: &mut RunReport,
    end: &mut RunEnd,
) -> anyhow::Result<()> {
    let (run_id, dry_run) = (run.run_id, run.dry_run);
    let store = &ctx.store;
    let (kind, mass, chosen) = match &rollback.target {
        Target::Window { since, until } => {
            let mut seen = BTreeSet::new();
            let created = store
                .accounts_created(*since, *until)
                .await?
                .into_iter()
                .filter(|c| seen.insert(c.auth0_user_id.clone()))
                .map(|c| Account {
                    auth0_user_id: c.auth0_user_id,
                    employee_id: c.employee_id,
                    run_id: c.run_id,
                })
                .collect();
            (ActionKind::Block, Mass::Blocks, created)
        }
        Target::Undo { run_id } => (
            ActionKind::Unblock,
            Mass::Unblocks,
            blocked_by(store, *run_id).await?,
        ),
    };
    let users = ctx.fenced(ctx.auth0.export_users()).await??;
    end.auth0_users_seen = Some(users.len() as i64);
    let created_by = ctx.settings.reconcile.created_by.as_str();
    let managed = users
        .iter()
        .filter(|u| {
            u.app_metadata.employee_id.is_some()
                || u.app_metadata.created_by.as_deref() == Some(created_by)
        })
        .count();
    report.stats.auth0_users = users.len();
    report.stats.managed_accounts = managed;
    report.stats.unmanaged_accounts = users.len() - managed;
    let by_id: HashMap<&str, &crate::model::Auth0User> =
        users.iter().map(|u| (u.user_id.0.as_str(), u)).collect();
    let block = kind == ActionKind::Block;
    // An undo gives logins back only to people who are still employed: a
    // leaver's account stays blocked, whatever the rollback found.
    // Employed → excluded by policy.exclude.
    let employed: Option<HashMap<i64, bool>> = if block {
        None
    } else {
        let source = crate::run::load_source(ctx).await?;
        let now = ctx.now().timestamp();
        let employed = source
            .employees
            .iter()
            .filter(|e| e.is_active && e.leaves_at.is_none_or(|t| t > now))
            .map(|e| (e.id.0, source.excluded_employees.contains_key(&e.id)))
            .collect();
        Some(employed)
    };
    let (mut accounts, mut skipped) = (Vec::new(), Vec::new());
    for a in chosen {
        let employee = |a: &Account| {
            let ids = employed.as_ref()?;
            Some(a.employee_id.and_then(|id| ids.get(&id).copied()))
        };
        let why = match by_id.get(a.auth0_user_id.as_str()) {
            None => Some("no longer in Auth0"),
            Some(u) if ctx.exclusions.reason(u).is_some() => Some("excluded by policy.exclude"),
            Some(u) if u.blocked && block => Some(ALREADY_BLOCKED),
            Some(u) if !u.blocked && !block => Some("not blocked any more"),
            Some(_) => match employee(&a) {
                Some(None) => Some("its employee is no longer active"),
                Some(Some(true)) => Some("its employee is excluded by policy.exclude"),
                Some(Some(false)) | None => None,
            },
        };
        match why {
            Some(why) => skipped.push(Skipped {
                auth0_user_id: a.auth0_user_id,
                why,
            }),
            None => accounts.push(a),
        }
    }
    if !accounts.is_empty() {
        report.planned.insert(kind.as_str(), accounts.len());
    }
    end.actions_planned = accounts.len() as i64;
    let skipped_blocked = block && skipped.iter().any(|s| s.why == ALREADY_BLOCKED);
    report.rollback = Some(Summary {
        target: rollback.target.clone(),
        accounts: accounts.clone(),
        skipped,
    });

    let held = guard::check_mass(mass, accounts.len(), managed, &ctx.guard_policy());
    let apply = !dry_run && (held.is_none() || rollback.approved);
    let initial = if apply {
        ActionStatus::Planned
    } else {
        ActionStatus::Skipped
    };
    let records: Vec<ActionRecord> = accounts
        .iter()
        .enumerate()
        .map(|(seq, a)| record(seq as i64, kind, a, &rollback.target, initial))
        .collect();
    store.insert_actions(run_id, &records).await?;
    report.paused = store.paused().await?;
    if dry_run {
        report.would_hold = held.map(|h| h.to_string());
        report.status = RunStatus::Succeeded;
        return Ok(());
    }
    if let (Some(reason), false) = (&held, rollback.approved) {
        report.status = RunStatus::Held;
        report.held_reason = Some(format!(
            "{reason}; run the same rollback with --approve to apply it"
        ));
        return Ok(());
    }

    // A rollback pauses before its first block, so a run on another
    // replica after it (the lock is this run's until then) applies nothing.
    // A rollback whose window holds accounts pauses, even when all of them
    // were already blocked by hand (or the next run would unblock them); one
    // whose window holds none (a typo in a date) pauses nothing.
    let pausing = !accounts.is_empty() || skipped_blocked;
    if let (Target::Window { since, until }, true) = (&rollback.target, pausing) {
        ctx.verify_leader().await?;
        let pause = Pause {
            paused_at: Utc::now(),
            paused_by: rollback.actor.clone(),
            reason: format!(
                "rollback of the accounts created by runs started from {}{}",
                since.to_rfc3339(),
                until.map_or_else(String::new, |u| format!(" until {}", u.to_rfc3339()))
            ),
            run_id: Some(run_id),
        };
        store.pause(&pause).await?;
        tracing::warn!(run_id, by = %rollback.actor, "enforcement paused by a rollback");
        report.paused = Some(pause);
    }

    report.applied = true;
    // Through the run's own apply loop: shutdown, deadline and leader lock
    // stop it as they stop any run.
    let body = json!({ "blocked": block });
    let outcomes = crate::run::apply_each(
        ctx,
        run_id,
        0..accounts.len(),
        run.stop,
        run.deadline,
        |seq| {
            let user = crate::model::Auth0UserId(accounts[seq].auth0_user_id.clone());
            let body = &body;
            async move {
                ctx.fenced(ctx.auth0.patch_user(&user, body))
                    .await?
                    .map(|()| Some(user))
                    .map_err(Into::into)
            }
        },
    )
    .await;
    let whom = accounts
        .iter()
        .map(|a| (kind, format!("account {}", a.auth0_user_id)));
    let (tally, cut) = crate::run::tally(whom, &outcomes, report);
    let verdict = crate::outcome::applied(&tally, cut);
    report.status = verdict.status;
    report.error = verdict.error;
    report.failed_stage = verdict.failed_stage;
    if rollback.approved {
        let also = approve_held_alike(store, run_id, &records, &rollback.actor).await?;
        report.approval_note = Some(match also.as_slice() {
            [] => format!("applied with --approve by {}", rollback.actor),
            ids => format!(
                "applied with --approve by {}; held run(s) {} of the same accounts approved with it",
                rollback.actor,
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(())
}

fn record(
    seq: i64,
    kind: ActionKind,
    a: &Account,
    target: &Target,
    status: ActionStatus,
) -> ActionRecord {
    let reason = match target {
        Target::Window { .. } => format!("rollback: created by run {}", a.run_id),
        Target::Undo { run_id } => format!("undo of rollback run {run_id}"),
    };
    ActionRecord {
        seq,
        kind,
        employee_id: a.employee_id,
        auth0_user_id: Some(a.auth0_user_id.clone()),
        reason,
        detail:
            json!({ "kind": kind, "auth0_user_id": a.auth0_user_id, "employee_id": a.employee_id })
                .to_string(),
        status,
        error: None,
        finished_at: None,
    }
}

/// The held rollback runs over the same accounts as this approved one are
/// decided by it: approved, by the same person. Their ids.
async fn approve_held_alike(
    store: &Store,
    run_id: i64,
    records: &[ActionRecord],
    by: &str,
) -> Result<Vec<i64>, StoreError> {
    let key = |actions: &[ActionRecord]| -> BTreeSet<(&'static str, Option<String>)> {
        actions
            .iter()
            .map(|a| (a.kind.as_str(), a.auth0_user_id.clone()))
            .collect()
    };
    let ours = key(records);
    let mut approved = Vec::new();
    for run in store
        .list_runs_page(Some(RunStatus::Held), Some(Trigger::Rollback), None, 200)
        .await?
    {
        if run.id == run_id || run.dry_run || run.approved_at.is_some() {
            continue;
        }
        if key(&store.run_actions(run.id).await?) == ours
            && store
                .decide_held_run(run.id, HeldDecision::Approved, by, Utc::now())
                .await?
        {
            approved.push(run.id);
        }
    }
    Ok(approved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339_or_a_date_at_midnight_utc_and_a_bad_one_names_its_flag() {
        assert_eq!(
            parse_time("--since", "2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("--since", "2026-03-01T10:30:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T08:30:00+00:00"
        );
        let e = parse_time("--until", "yesterday").unwrap_err().to_string();
        assert!(e.starts_with("--until: \"yesterday\" is neither"), "{e}");
        assert!(parse_time("--since", "2026-02-30").is_err());
        let e = window("2026-03-02", Some("2026-03-01")).unwrap_err();
        assert!(matches!(e, RollbackError::EmptyWindow { .. }), "{e}");
    }
}
