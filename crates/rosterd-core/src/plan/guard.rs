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

/// Why the employees source is not trusted this run: the run is refused.
/// The text is what the run records as its error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("refused: the employees source returned no rows; refusing to read that as \"everyone left\"")]
    NoRows,
    #[error("refused: the employees source returned {rows} rows but not one valid employee (see the invalid_employee findings of a dry run); refusing")]
    NoValidEmployee { rows: usize },
    #[error("refused: the employees source gave {employees} valid employees, fewer than {:.0}% of the {previous} the last successful run saw; refusing", .min_share * 100.0)]
    Collapsed {
        employees: usize,
        previous: usize,
        min_share: f64,
    },
}

/// `Err` says why the source is not trusted this run. `employees` counts
/// valid, distinct employees (what the baseline records), `rows` what the
/// query returned.
pub fn check_source(
    rows: usize,
    employees: usize,
    previous: Option<usize>,
    policy: &GuardPolicy,
) -> Result<(), Refusal> {
    if rows == 0 {
        return Err(Refusal::NoRows);
    }
    if employees == 0 {
        return Err(Refusal::NoValidEmployee { rows });
    }
    if let Some(previous) = previous {
        let floor = (previous as f64 * policy.min_employee_share - 1e-9).ceil() as usize;
        if employees < floor {
            return Err(Refusal::Collapsed {
                employees,
                previous,
                min_share: policy.min_employee_share,
            });
        }
    }
    Ok(())
}

/// A kind of change the guard counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mass {
    Blocks,
    Unblocks,
    EmailChanges,
}

impl Mass {
    /// How the held reason says it ("plan {verb} 3 accounts").
    fn verb(self) -> &'static str {
        match self {
            Mass::Blocks => "blocks",
            Mass::Unblocks => "unblocks",
            Mass::EmailChanges => "changes the email of",
        }
    }
}

/// Why a plan is held for approval. The text is the run's held reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HoldReason {
    #[error("plan {} {count} accounts, more than reconcile.{key} = {max}", .what.verb())]
    Count {
        what: Mass,
        count: usize,
        key: &'static str,
        max: usize,
    },
    #[error("plan {} {count} of {base} accounts ({:.1}%), more than reconcile.{key} = {:.1}%", .what.verb(), *.count as f64 / *.base as f64 * 100.0, .max * 100.0)]
    Share {
        what: Mass,
        count: usize,
        base: usize,
        key: &'static str,
        max: f64,
    },
}

/// `Some(reason)` when the plan must be held for approval.
pub fn check_plan(plan: &Plan, policy: &GuardPolicy) -> Option<HoldReason> {
    let count = |f: fn(&Action) -> bool| plan.actions.iter().filter(|a| f(&a.action)).count();
    let blocks = count(|a| matches!(a, Action::Block { .. }));
    let unblocks = count(|a| matches!(a, Action::Unblock { .. }));
    let rewrites = count(|a| matches!(a, Action::Update { patch, .. } if patch.email.is_some()));
    // The share is of the larger of managed accounts and employees: on a
    // first install few accounts are linked yet, and one leaver must not
    // look like a mass departure.
    let base = plan.stats.managed_accounts.max(plan.stats.employees);
    [
        (Mass::Blocks, blocks),
        (Mass::Unblocks, unblocks),
        (Mass::EmailChanges, rewrites),
    ]
    .into_iter()
    .find_map(|(what, n)| check_mass(what, n, base, policy))
}

/// `Some(reason)` when changing `count` of `base` accounts this way must be
/// held: the plan's check, also for changes chosen without a plan (a
/// rollback blocks the accounts created in a window).
pub fn check_mass(
    what: Mass,
    count: usize,
    base: usize,
    policy: &GuardPolicy,
) -> Option<HoldReason> {
    let (count_key, max_count, share_key, max_share) = match what {
        Mass::Blocks => (
            "max_block_count",
            policy.max_block_count,
            "max_block_share",
            policy.max_block_share,
        ),
        Mass::Unblocks => (
            "max_unblock_count",
            policy.max_unblock_count,
            "max_unblock_share",
            policy.max_unblock_share,
        ),
        Mass::EmailChanges => (
            "max_email_change_count",
            policy.max_email_change_count,
            "max_email_change_share",
            policy.max_email_change_share,
        ),
    };
    if count == 0 {
        return None;
    }
    if count > max_count {
        return Some(HoldReason::Count {
            what,
            count,
            key: count_key,
            max: max_count,
        });
    }
    let base = base.max(1);
    (count as f64 / base as f64 > max_share).then_some(HoldReason::Share {
        what,
        count,
        base,
        key: share_key,
        max: max_share,
    })
}
