//! Accidental-deprovisioning protection, decided on data alone.
//!
//! Two questions, asked before anything is applied:
//! - Does the employees source look whole? No valid employee, or far fewer
//!   than the last successful run saw, means a truncated table, a broken
//!   view or a bad query, not a mass departure: the run is refused.
//! - Would the plan change more accounts than a person would expect? Mass
//!   blocks (everyone "left"), mass unblocks (an import set everyone active
//!   again) and mass email rewrites (a domain typo) each have their own
//!   thresholds. Then the run is held: the plan is stored, nothing is
//!   applied, and an admin can approve it.

use super::{Action, Plan};

#[derive(Debug, Clone)]
pub struct GuardPolicy {
    pub max_block_count: usize,
    pub max_block_share: f64,
    pub max_unblock_count: usize,
    pub max_unblock_share: f64,
    pub max_email_change_count: usize,
    pub max_email_change_share: f64,
    pub min_employee_share: f64,
}

/// `Err` names why the source is not trusted this run. `employees` counts
/// valid, distinct employees (what the baseline records), `rows` what the
/// query returned.
pub fn check_source(
    rows: usize,
    employees: usize,
    previous: Option<usize>,
    policy: &GuardPolicy,
) -> Result<(), String> {
    if rows == 0 {
        return Err(
            "the employees source returned no rows; refusing to read that as \"everyone left\""
                .into(),
        );
    }
    if employees == 0 {
        return Err(format!(
            "the employees source returned {rows} rows but not one valid employee (see the invalid_employee findings of a dry run); refusing"
        ));
    }
    if let Some(prev) = previous {
        let floor = (prev as f64 * policy.min_employee_share - 1e-9).ceil() as usize;
        if employees < floor {
            return Err(format!(
                "the employees source gave {employees} valid employees, fewer than {:.0}% of the {prev} the last successful run saw; refusing",
                policy.min_employee_share * 100.0
            ));
        }
    }
    Ok(())
}

/// `Some(reason)` when the plan must be held for approval.
pub fn check_plan(plan: &Plan, policy: &GuardPolicy) -> Option<String> {
    let count = |f: fn(&Action) -> bool| plan.actions.iter().filter(|a| f(&a.action)).count();
    let blocks = count(|a| matches!(a, Action::Block { .. }));
    let unblocks = count(|a| matches!(a, Action::Unblock { .. }));
    let rewrites = count(|a| matches!(a, Action::Update { patch, .. } if patch.email.is_some()));
    // The share is of the larger of managed accounts and employees: on a
    // first install few accounts are linked yet, and one leaver must not
    // look like a mass departure.
    let base = plan.stats.managed_accounts.max(plan.stats.employees).max(1);
    [
        (
            "blocks",
            blocks,
            "max_block_count",
            policy.max_block_count,
            "max_block_share",
            policy.max_block_share,
        ),
        (
            "unblocks",
            unblocks,
            "max_unblock_count",
            policy.max_unblock_count,
            "max_unblock_share",
            policy.max_unblock_share,
        ),
        (
            "changes the email of",
            rewrites,
            "max_email_change_count",
            policy.max_email_change_count,
            "max_email_change_share",
            policy.max_email_change_share,
        ),
    ]
    .into_iter()
    .filter(|(_, n, ..)| *n > 0)
    .find_map(|(what, n, count_key, max_count, share_key, max_share)| {
        if n > max_count {
            return Some(format!(
                "plan {what} {n} accounts, more than reconcile.{count_key} = {max_count}"
            ));
        }
        let share = n as f64 / base as f64;
        (share > max_share).then(|| {
            format!(
                "plan {what} {n} of {base} accounts ({:.1}%), more than reconcile.{share_key} = {:.1}%",
                share * 100.0,
                max_share * 100.0
            )
        })
    })
}
