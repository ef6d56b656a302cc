//! A person's decisions on what rosterd will not decide itself, and the
//! queue of what still waits for one. One implementation for the admin API
//! and the operator console, as `held` is for held runs.
//!
//! - **Link** a PodFactory user to an employee (a manual mapping).
//! - **Not an employee**: a PodFactory user that is no one on the payroll
//!   (a kiosk login, a temp, a visitor) is left out of matching, so it is
//!   neither linked nor reported, until the mark is undone.
//! - **Acknowledge** a finding (a duplicate or orphaned account, …): it is
//!   no longer sent to on-call nor listed as waiting, until undone.
//!
//! Every decision is checked here (bad input is an error naming what is
//! wrong), recorded with its actor in the admin audit, and takes effect on
//! the next run; the queue reflects it at once.

use crate::plan::{Finding, FindingKind};
use crate::run::{Context, RunStatus};
use crate::store::{
    FindingAck, ManualMapping, NonEmployee, RunRecord, StoreError, StoredPlanError,
};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};

/// The longest note kept with a decision.
pub const MAX_NOTE_CHARS: usize = 1000;
/// The longest PodFactory user id accepted.
pub const MAX_PODFACTORY_ID_CHARS: usize = 200;
/// The longest finding key that can be acknowledged (the column's width on
/// MySQL, as `notification_log`'s).
pub const MAX_KEY_CHARS: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no employee {0}")]
    NoEmployee(i64),
    /// What is wrong with the input, in words.
    #[error("{0}")]
    BadInput(String),
    /// The decision contradicts one already taken; says which to undo.
    #[error("{0}")]
    Conflict(String),
    #[error("run {id} has no readable plan")]
    UnreadablePlan {
        id: i64,
        #[source]
        source: StoredPlanError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The HTML id of a finding's entry on the console's triage page
/// (`finding-` and 12 hex digits of the key's SHA-256): URL-safe and short,
/// for the digest's links and the console alike.
pub fn anchor(key: &str) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    format!("finding-{}", &digest[..12])
}

/// Kinds that wait for a person's decision. An active employee with no
/// PodFactory user is a count and a listing (`kind=` asks for it), not a
/// case: nothing can be decided about it from rosterd.
fn waits_for_a_person(kind: FindingKind) -> bool {
    match kind {
        FindingKind::EmployeeWithoutPodfactoryUser => false,
        FindingKind::Orphaned
        | FindingKind::DuplicateAccount
        | FindingKind::ConflictingEvidence
        | FindingKind::DuplicateEmployeeEmail
        | FindingKind::InvalidEmployee
        | FindingKind::UnmatchedPodfactoryUser
        | FindingKind::AmbiguousPodfactoryUser
        | FindingKind::PodfactorySourceUnavailable
        | FindingKind::InvalidPodfactoryRow
        | FindingKind::UnmappedRoleCode
        | FindingKind::PossibleRehire
        | FindingKind::NeverLoggedIn
        | FindingKind::StaleAccount
        | FindingKind::UnmanagedAccount
        | FindingKind::ReportedByPolicy => true,
    }
}

/// A PodFactory user id as given, trimmed, or why it cannot be one.
fn podfactory_user_id(raw: &str) -> Result<&str, TriageError> {
    let id = raw.trim();
    let n = id.chars().count();
    if n == 0 || n > MAX_PODFACTORY_ID_CHARS {
        return Err(TriageError::BadInput(format!(
            "podfactory_user_id must be 1 to {MAX_PODFACTORY_ID_CHARS} characters"
        )));
    }
    // PostgreSQL refuses NUL in text, and no PodFactory id holds a control
    // character: bad input, not an internal error.
    if id.chars().any(char::is_control) {
        return Err(TriageError::BadInput(
            "podfactory_user_id must not contain control characters".into(),
        ));
    }
    Ok(id)
}

/// A note as given, trimmed; blank is none.
fn note(raw: Option<&str>) -> Result<Option<&str>, TriageError> {
    let Some(note) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(TriageError::BadInput(format!(
            "note must be at most {MAX_NOTE_CHARS} characters"
        )));
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(TriageError::BadInput(
            "note must not contain control characters (line breaks and tabs are fine)".into(),
        ));
    }
    Ok(Some(note))
}

/// Link PodFactory user `podfactory_user_id` to employee `employee_id` (a
/// manual mapping; re-points an existing one), recorded as `actor`'s.
pub async fn link(
    ctx: &Context,
    podfactory_user_id: &str,
    employee_id: i64,
    actor: &str,
) -> Result<ManualMapping, TriageError> {
    let pf = self::podfactory_user_id(podfactory_user_id)?;
    let store = &ctx.store;
    // Through the configured employees query, as runs read employees.
    let query = ctx.settings.database.employees_query.as_deref();
    if store.employee(query, employee_id).await?.is_none() {
        return Err(TriageError::NoEmployee(employee_id));
    }
    if let Some(marked) = marked(ctx, pf).await? {
        return Err(TriageError::Conflict(format!(
            "PodFactory user {pf} is marked not an employee (by {}); undo that first",
            marked.decided_by
        )));
    }
    // One PodFactory user per employee, as the matcher links them: a second
    // one would leave the real owner unlinked and overwrite the audit's
    // PodFactory email (operator finding).
    if let Some(other) = store
        .manual_mappings()
        .await?
        .into_iter()
        .find(|m| m.employee_id == employee_id && m.podfactory_user_id != pf)
    {
        return Err(TriageError::Conflict(format!(
            "employee {employee_id} already has PodFactory user {} (a manual mapping by {}); delete that mapping first",
            other.podfactory_user_id, other.created_by
        )));
    }
    if let Some((other, _)) = store
        .current_podfactory_links()
        .await?
        .into_iter()
        .find(|(user, e)| *e == employee_id && user != pf)
    {
        return Err(TriageError::Conflict(format!(
            "employee {employee_id} is linked to PodFactory user {other}; link {other} to its own employee or mark it not an employee first"
        )));
    }
    let m = store
        .upsert_manual_mapping(pf, employee_id, actor, Utc::now())
        .await?;
    ctx.audit(
        actor,
        "create_mapping",
        Some(&format!("{pf} -> {employee_id}")),
    )
    .await;
    Ok(m)
}

async fn marked(ctx: &Context, pf: &str) -> Result<Option<NonEmployee>, TriageError> {
    Ok(ctx
        .store
        .non_employees()
        .await?
        .into_iter()
        .find(|n| n.podfactory_user_id == pf))
}

/// Mark PodFactory user `podfactory_user_id` as not an employee: from the
/// next run it is neither matched nor reported; it leaves the queue at once.
pub async fn not_employee(
    ctx: &Context,
    podfactory_user_id: &str,
    note: Option<&str>,
    actor: &str,
) -> Result<NonEmployee, TriageError> {
    let pf = self::podfactory_user_id(podfactory_user_id)?;
    let note = self::note(note)?;
    let store = &ctx.store;
    if let Some(m) = store
        .manual_mappings()
        .await?
        .into_iter()
        .find(|m| m.podfactory_user_id == pf)
    {
        return Err(TriageError::Conflict(format!(
            "PodFactory user {pf} is linked to employee {} by manual mapping {} (by {}); \
             delete that mapping first",
            m.employee_id, m.id, m.created_by
        )));
    }
    let marked = store.mark_not_employee(pf, note, actor, Utc::now()).await?;
    ctx.audit(actor, "not_employee", Some(pf)).await;
    Ok(marked)
}

/// Remember when each finding of a run's plan that waits for a person was
/// first seen (the queue is newest first). `complete`: the run evaluated
/// everything (false when PodFactory matching was skipped, so its findings
/// are not forgotten for one outage).
pub async fn record_seen(
    store: &crate::store::Store,
    findings: &[Finding],
    now: chrono::DateTime<Utc>,
    complete: bool,
) -> Result<(), StoreError> {
    let keys: Vec<String> = findings
        .iter()
        .filter(|f| waits_for_a_person(f.kind))
        .map(Finding::key)
        .collect();
    store.record_findings_seen(&keys, now, complete).await
}

/// Delete manual mapping `id` (undo [`link`]): the next run matches that
/// PodFactory user again, and ends the link if the matcher does not make
/// it. False if there was no such mapping.
pub async fn unlink(ctx: &Context, id: i64, actor: &str) -> Result<bool, TriageError> {
    let deleted = ctx.store.delete_manual_mapping(id).await?;
    if deleted {
        ctx.audit(actor, "delete_mapping", Some(&id.to_string()))
            .await;
    }
    Ok(deleted)
}

/// Undo [`not_employee`]: the next run matches and reports the user again.
/// False if the user was not marked.
pub async fn undo_not_employee(
    ctx: &Context,
    podfactory_user_id: &str,
    actor: &str,
) -> Result<bool, TriageError> {
    let pf = self::podfactory_user_id(podfactory_user_id)?;
    let undone = ctx.store.unmark_not_employee(pf).await?;
    if undone {
        ctx.audit(actor, "undo_not_employee", Some(pf)).await;
    }
    Ok(undone)
}

/// Acknowledge the finding with key `key` (see [`Finding::key`]), which must be one
/// of the latest planned run's; its kind is that finding's.
pub async fn acknowledge(
    ctx: &Context,
    key: &str,
    note: Option<&str>,
    actor: &str,
) -> Result<FindingAck, TriageError> {
    let note = self::note(note)?;
    if key.is_empty() {
        return Err(TriageError::BadInput("key must not be empty".into()));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(TriageError::BadInput(format!(
            "key must be at most {MAX_KEY_CHARS} characters"
        )));
    }
    let (_, findings) = latest_findings(ctx).await?;
    let Some(finding) = findings.iter().find(|f| f.key() == key) else {
        return Err(TriageError::BadInput(format!(
            "no current finding with key {key:?} (keys are in GET /api/v1/triage)"
        )));
    };
    let ack = ctx
        .store
        .ack_finding(key, finding.kind, note, actor, Utc::now())
        .await?;
    ctx.audit(actor, "acknowledge_finding", Some(key)).await;
    Ok(ack)
}

/// Undo [`acknowledge`]: the finding is sent and listed again. False if it
/// was not acknowledged.
pub async fn unacknowledge(ctx: &Context, key: &str, actor: &str) -> Result<bool, TriageError> {
    let undone = ctx.store.unack_finding(key).await?;
    if undone {
        ctx.audit(actor, "unacknowledge_finding", Some(key)).await;
    }
    Ok(undone)
}

/// The latest planned run and its findings (none before the first run).
async fn latest_findings(ctx: &Context) -> Result<(Option<RunRecord>, Vec<Finding>), TriageError> {
    let Some(run) = ctx.store.latest_planned_run().await? else {
        return Ok((None, Vec::new()));
    };
    let plan = ctx
        .store
        .stored_plan(&run)
        .await?
        .map_err(|source| TriageError::UnreadablePlan { id: run.id, source })?
        .unwrap_or_default();
    Ok((Some(run), plan.findings))
}

/// What waits for a person.
#[derive(Debug, Clone)]
pub struct Queue {
    /// The latest planned run, whose findings these are.
    pub run: Option<RunRecord>,
    pub items: Vec<QueueItem>,
    /// Held runs awaiting a decision, newest first.
    pub held: Vec<RunRecord>,
    /// Findings of the run that wait for no one (listings, such as active
    /// employees without a PodFactory user), by distinct key.
    pub listings: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    /// See [`Finding::key`]: what [`acknowledge`] takes.
    pub key: String,
    /// When a run first saw it (this time round); the queue is newest first.
    pub first_seen_at: Option<chrono::DateTime<Utc>>,
    /// See [`anchor`].
    pub anchor: String,
    pub finding: Finding,
    pub acknowledged: Option<FindingAck>,
}

/// The findings of the latest planned run that wait for a person (of kind
/// `kind`, else of every kind that needs a decision), in the plan's order,
/// without:
/// - PodFactory users marked not an employee,
/// - PodFactory users someone linked since that run (the next run links
///   them),
/// - acknowledged findings, unless `include_acknowledged`.
///
/// Decisions leave the queue at once, before the next run.
pub async fn queue(
    ctx: &Context,
    kind: Option<FindingKind>,
    include_acknowledged: bool,
) -> Result<Queue, TriageError> {
    let store = &ctx.store;
    let held = store
        .list_runs_page(Some(RunStatus::Held), None, None, 200)
        .await?
        .into_iter()
        .filter(|r| !r.dry_run && r.approved_at.is_none())
        .collect();
    let (run, findings) = latest_findings(ctx).await?;
    let Some(run) = run else {
        return Ok(Queue {
            run: None,
            items: Vec::new(),
            held,
            listings: 0,
        });
    };
    let mut decided: HashSet<String> = store
        .non_employees()
        .await?
        .into_iter()
        .map(|n| n.podfactory_user_id)
        .collect();
    decided.extend(
        store
            .manual_mappings()
            .await?
            .into_iter()
            .filter(|m| m.created_at >= run.started_at)
            .map(|m| m.podfactory_user_id),
    );
    let mut acks: HashMap<String, FindingAck> = store
        .finding_acks()
        .await?
        .into_iter()
        .map(|a| (a.finding_key.clone(), a))
        .collect();
    let keys: Vec<String> = findings.iter().map(Finding::key).collect();
    let listings = findings
        .iter()
        .zip(&keys)
        .filter(|(f, _)| !waits_for_a_person(f.kind))
        .map(|(_, k)| k)
        .collect::<HashSet<_>>()
        .len();
    let first_seen = store.findings_first_seen(&keys).await?;
    let mut seen = HashSet::new();
    let mut items: Vec<QueueItem> = findings
        .into_iter()
        .filter(|f| kind.map_or_else(|| waits_for_a_person(f.kind), |k| f.kind == k))
        .filter(|f| {
            f.podfactory_user_id
                .as_ref()
                .is_none_or(|pf| !decided.contains(pf))
        })
        .filter_map(|finding| {
            let key = finding.key();
            if !seen.insert(key.clone()) {
                return None;
            }
            let acknowledged = acks.remove(&key);
            if acknowledged.is_some() && !include_acknowledged {
                return None;
            }
            Some(QueueItem {
                anchor: anchor(&key),
                first_seen_at: first_seen.get(&key).copied(),
                key,
                finding,
                acknowledged,
            })
        })
        .collect();
    // Newest first; a finding of a run before first sightings were kept
    // sorts last. Stable: the plan's order within the same moment.
    items.sort_by_key(|i| std::cmp::Reverse(i.first_seen_at));
    Ok(Queue {
        run: Some(run),
        items,
        held,
        listings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_is_short_url_safe_and_stable_per_key() {
        let a = anchor("ambiguous_podfactory_user||pf-7|");
        assert_eq!(a, anchor("ambiguous_podfactory_user||pf-7|"));
        assert_ne!(a, anchor("ambiguous_podfactory_user||pf-8|"));
        assert_eq!(a.len(), "finding-".len() + 12);
        assert!(a
            .strip_prefix("finding-")
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn bad_input_is_refused_with_what_is_wrong() {
        fn msg<T: std::fmt::Debug>(r: Result<T, TriageError>) -> String {
            r.unwrap_err().to_string()
        }
        assert_eq!(podfactory_user_id("  pf-1 ").unwrap(), "pf-1");
        assert_eq!(
            msg(podfactory_user_id(" ")),
            "podfactory_user_id must be 1 to 200 characters"
        );
        assert!(
            podfactory_user_id(&"é".repeat(200)).is_ok(),
            "characters, not bytes"
        );
        assert!(podfactory_user_id(&"p".repeat(201)).is_err());
        assert!(msg(podfactory_user_id("pf\u{0}1")).contains("control characters"));
        assert_eq!(note(Some("  ")).unwrap(), None);
        assert_eq!(
            note(Some(" kiosk\nat dock 4 ")).unwrap(),
            Some("kiosk\nat dock 4")
        );
        assert_eq!(
            msg(note(Some(&"x".repeat(1001)))),
            "note must be at most 1000 characters"
        );
        assert!(msg(note(Some("a\u{7}b"))).contains("control characters"));
    }
}
