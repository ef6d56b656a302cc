//! Accidental-deprovisioning protection, decided on data alone.
//!
//! Two questions, asked before anything is applied:
//! - Does the employees source look whole? Zero rows, or far fewer than the
//!   last successful run saw, means a truncated table or a broken view, not
//!   a mass departure: the run is refused.
//! - Would the plan block more accounts than a person would expect? Then the
//!   run is held: the plan is stored, nothing is applied, and an admin can
//!   approve it.

use super::Plan;

#[derive(Debug, Clone)]
pub struct GuardPolicy {
    pub max_block_count: usize,
    pub max_block_share: f64,
    pub min_employee_share: f64,
}

/// `Err` names why the source is not trusted this run.
pub fn check_source(
    rows: usize,
    previous_rows: Option<usize>,
    policy: &GuardPolicy,
) -> Result<(), String> {
    if rows == 0 {
        return Err(
            "the employees source returned no rows; refusing to read that as \"everyone left\""
                .into(),
        );
    }
    if let Some(prev) = previous_rows {
        let floor = (prev as f64 * policy.min_employee_share - 1e-9).ceil() as usize;
        if rows < floor {
            return Err(format!(
                "the employees source returned {rows} rows, fewer than {:.0}% of the {prev} the last successful run saw; refusing",
                policy.min_employee_share * 100.0
            ));
        }
    }
    Ok(())
}

/// `Some(reason)` when the plan must be held for approval.
pub fn check_plan(plan: &Plan, policy: &GuardPolicy) -> Option<String> {
    let blocks = plan
        .actions
        .iter()
        .filter(|a| a.action.kind() == "block")
        .count();
    if blocks == 0 {
        return None;
    }
    if blocks > policy.max_block_count {
        return Some(format!(
            "plan blocks {blocks} accounts, more than reconcile.max_block_count = {}",
            policy.max_block_count
        ));
    }
    // The share is of the larger of managed accounts and employees: on a
    // first install few accounts are linked yet, and one leaver must not
    // look like a mass departure.
    let base = plan.stats.managed_accounts.max(plan.stats.employees).max(1);
    let share = blocks as f64 / base as f64;
    if share > policy.max_block_share {
        return Some(format!(
            "plan blocks {blocks} of {base} accounts ({:.1}%), more than reconcile.max_block_share = {:.1}%",
            share * 100.0,
            policy.max_block_share * 100.0
        ));
    }
    None
}
