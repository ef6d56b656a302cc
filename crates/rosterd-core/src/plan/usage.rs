//! Account usage: managed accounts never logged into long after their
//! creation (`never_logged_in`) or not logged into for a long time
//! (`stale_account`), the compliance query "accounts created but never
//! used". Pure: "now" is the plan's, so thresholds are tested with fixed
//! clocks.
//!
//! Blocked accounts are neither: nobody can log into them, so their last
//! login says nothing about a live risk. An account with no login at all is
//! only ever `never_logged_in`, never also `stale_account`, so each account
//! is counted once.

use super::{Action, Finding, FindingKind, PlanPolicy, PlannedAction};
use crate::model::{Auth0User, Employee};
use crate::policy::{PolicyAction, Situation};
use rustc_hash::FxHashSet;

const DAY: i64 = 86_400;

/// What the usage review adds to a plan.
#[derive(Debug, Default)]
pub(super) struct Usage {
    pub findings: Vec<Finding>,
    pub actions: Vec<PlannedAction>,
    /// Every never-used account, whatever the policy does with it.
    pub never_logged_in: usize,
    /// Every stale account, whatever the policy does with it.
    pub stale: usize,
}

/// Reviews the managed `accounts` (each with its employee, if one claims
/// it). `planned` is the plan so far: an account it already blocks is not
/// reported (it is about to be unusable) nor blocked twice.
pub(super) fn review(
    accounts: &[(&Auth0User, Option<&Employee>)],
    planned: &[PlannedAction],
    policy: &PlanPolicy,
) -> Usage {
    // Accounts this plan already blocks, or gives to someone active (a
    // relinked rehire): neither is reviewed. Most accounts are in use, so
    // the set is made for the first that is not.
    let mut blocking: Option<FxHashSet<&str>> = None;
    let planned_ids = || {
        planned
            .iter()
            .filter_map(|a| match &a.action {
                Action::Block { auth0_user_id, .. }
                | Action::Link { auth0_user_id, .. }
                | Action::Unblock { auth0_user_id, .. } => Some(auth0_user_id.0.as_str()),
                _ => None,
            })
            .collect()
    };
    let rules = &policy.rules;
    let limits = rules.usage;
    let mut out = Usage::default();
    for (u, e) in accounts {
        if u.blocked {
            continue;
        }
        let (situation, days, limit) = match (u.last_login, u.created_at) {
            (None, Some(created)) => (
                Situation::NeverLoggedIn,
                (policy.now - created) / DAY,
                created + i64::from(limits.never_logged_in_days) * DAY,
            ),
            (Some(login), _) => (
                Situation::StaleAccount,
                (policy.now - login) / DAY,
                login + i64::from(limits.stale_days) * DAY,
            ),
            // No creation date and no login: nothing to measure from.
            (None, None) => continue,
        };
        if policy.now <= limit
            || blocking
                .get_or_insert_with(planned_ids)
                .contains(u.user_id.0.as_str())
        {
            continue;
        }
        match situation {
            Situation::NeverLoggedIn => out.never_logged_in += 1,
            _ => out.stale += 1,
        }
        let action = rules.action(situation);
        let entry = rules.entry(situation);
        let leaver = e.filter(|e| !e.is_active);
        if action == PolicyAction::Block {
            // Only a leaver's account: an active employee may simply not
            // have needed it yet, and that is for a person to judge.
            if let Some(e) = leaver {
                out.actions.push(PlannedAction {
                    action: Action::Block {
                        employee_id: Some(e.id),
                        auth0_user_id: u.user_id.clone(),
                    },
                    reason: format!(
                        "account {} of inactive employee {} not logged into for {days} days",
                        u.user_id, e.id
                    ),
                    situation,
                    policy: entry,
                });
                continue;
            }
        }
        if action == PolicyAction::Ignore {
            continue;
        }
        let (kind, what) = match situation {
            Situation::NeverLoggedIn => (
                FindingKind::NeverLoggedIn,
                format!("was created {days} days ago and never logged into"),
            ),
            _ => (
                FindingKind::StaleAccount,
                format!("has not been logged into for {days} days"),
            ),
        };
        let whose = match e {
            Some(e) if e.is_active => format!(" (active employee {})", e.id),
            Some(e) => format!(" (inactive employee {})", e.id),
            None => " (no employee claims it)".to_string(),
        };
        let mut f = Finding::new(
            kind,
            e.map(|e| e.id),
            vec![u.user_id.clone()],
            format!("account {}{whose} {what}", u.user_id),
        );
        f.situation = Some(situation);
        f.policy = Some(entry);
        out.findings.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::plan;
    use super::*;
    use crate::model::{Auth0UserId, Email, EmployeeId, ManagedAppMetadata, ManagedUserMetadata};
    use crate::policy::Policy;

    /// A fixed "now": 2026-11-30T00:00:00Z.
    const NOW: i64 = 1_795_996_800;
    const CREATED_BY: &str = "productivity_system";

    fn rules(never: PolicyAction, stale: PolicyAction) -> Policy {
        let mut p = Policy::default();
        p.set_action(Situation::NeverLoggedIn, never).unwrap();
        p.set_action(Situation::StaleAccount, stale).unwrap();
        p
    }

    fn policy(rules: Policy) -> PlanPolicy {
        PlanPolicy {
            now: NOW,
            rules,
            created_by: CREATED_BY.into(),
            ..Default::default()
        }
    }

    fn employee(id: i64, active: bool) -> Employee {
        Employee {
            id: EmployeeId(id),
            full_name: format!("Person {id}"),
            email: Email::parse(&format!("p{id}@example.com")).unwrap(),
            department: "Printing".into(),
            workspace: "TX".into(),
            role_code: String::new(),
            is_active: active,
            auth0_user_id: Some(Auth0UserId(format!("auth0|{id}"))),
            leaves_at: None,
            changed_at: None,
        }
    }

    /// The account rosterd keeps for `e` (in step, blocked when it left),
    /// created and last logged into `created`/`login` days before NOW.
    fn account(e: &Employee, created: i64, login: Option<i64>) -> Auth0User {
        Auth0User {
            user_id: e.auth0_user_id.clone().unwrap(),
            email: Some(e.email.clone()),
            name: Some(e.full_name.clone()),
            email_verified: true,
            blocked: !e.is_active,
            app_metadata: ManagedAppMetadata {
                employee_id: Some(e.id.0),
                department: Some(e.department.clone()),
                role_code: Some(String::new()),
                workspace: Some(e.workspace.clone()),
                created_by: Some(CREATED_BY.into()),
                ..Default::default()
            },
            user_metadata: ManagedUserMetadata {
                employee_id: Some(e.id.0),
                full_name: Some(e.full_name.clone()),
                department: Some(e.department.clone()),
            },
            created_at: Some(NOW - created * DAY),
            last_login: login.map(|d| NOW - d * DAY),
            connection: None,
            app_metadata_flags: Vec::new(),
        }
    }

    fn kinds(p: &super::super::Plan) -> Vec<(FindingKind, String)> {
        p.findings
            .iter()
            .map(|f| (f.kind, f.auth0_user_ids[0].0.clone()))
            .collect()
    }

    #[test]
    fn never_logged_in_counts_from_creation_a_day_either_side_of_the_threshold() {
        // Default: 30 days.
        let young = employee(1, true);
        let old = employee(2, true);
        let users = [account(&young, 29, None), account(&old, 31, None)];
        let p = plan(&[young, old], &users, &[], &policy(Policy::default()));
        assert_eq!(
            kinds(&p),
            vec![(FindingKind::NeverLoggedIn, "auth0|2".to_string())]
        );
        let f = &p.findings[0];
        assert_eq!(f.employee_id, Some(EmployeeId(2)));
        assert_eq!(f.situation, Some(Situation::NeverLoggedIn));
        assert_eq!(
            f.policy.as_deref(),
            Some("policy.never_logged_in = \"report\" (default)")
        );
        assert!(f.detail.contains("31 days ago"), "{}", f.detail);
        assert_eq!(p.stats.never_logged_in, 1);
        assert_eq!(p.stats.stale_accounts, 0);
        assert!(p.actions.is_empty(), "{:?}", p.actions);
    }

    #[test]
    fn stale_counts_from_the_last_login_a_day_either_side_of_the_threshold() {
        // Default: 90 days; both accounts are older than never_logged_in_days.
        let recent = employee(1, true);
        let stale = employee(2, true);
        let users = [
            account(&recent, 400, Some(89)),
            account(&stale, 400, Some(91)),
        ];
        let p = plan(&[recent, stale], &users, &[], &policy(Policy::default()));
        assert_eq!(
            kinds(&p),
            vec![(FindingKind::StaleAccount, "auth0|2".to_string())]
        );
        assert_eq!(p.stats.stale_accounts, 1);
        assert_eq!(p.stats.never_logged_in, 0);
        assert_eq!(p.findings[0].situation, Some(Situation::StaleAccount));
    }

    #[test]
    fn configured_thresholds_are_the_ones_used() {
        let mut r = Policy::default();
        r.usage.never_logged_in_days = 7;
        r.usage.stale_days = 10;
        let a = employee(1, true);
        let b = employee(2, true);
        let users = [account(&a, 8, None), account(&b, 100, Some(11))];
        let p = plan(&[a, b], &users, &[], &policy(r));
        assert_eq!((p.stats.never_logged_in, p.stats.stale_accounts), (1, 1));
    }

    #[test]
    fn ignore_counts_without_a_finding() {
        let a = employee(1, true);
        let b = employee(2, true);
        let users = [account(&a, 31, None), account(&b, 400, Some(91))];
        let p = plan(
            &[a, b],
            &users,
            &[],
            &policy(rules(PolicyAction::Ignore, PolicyAction::Ignore)),
        );
        assert!(p.findings.is_empty(), "{:?}", p.findings);
        assert_eq!((p.stats.never_logged_in, p.stats.stale_accounts), (1, 1));
    }

    /// A leaver's account still live (as `inactive_with_account = "report"`
    /// leaves it): reviewed on its own, with nothing else planned for it.
    fn live_leaver(id: i64, login_days_ago: i64) -> (Employee, Auth0User) {
        let e = employee(id, false);
        let mut u = account(&e, 400, Some(login_days_ago));
        u.blocked = false;
        (e, u)
    }

    #[test]
    fn an_inactive_employees_stale_account_is_blocked_with_block_and_reported_with_report() {
        let (e, u) = live_leaver(5, 91);
        let blocked = review(
            &[(&u, Some(&e))],
            &[],
            &policy(rules(PolicyAction::Report, PolicyAction::Block)),
        );
        assert!(blocked.findings.is_empty(), "{:?}", blocked.findings);
        assert_eq!(blocked.stale, 1);
        let [block] = blocked.actions.as_slice() else {
            panic!("one block: {:?}", blocked.actions)
        };
        assert_eq!(
            block.action,
            Action::Block {
                employee_id: Some(EmployeeId(5)),
                auth0_user_id: u.user_id.clone()
            }
        );
        assert_eq!(block.situation, Situation::StaleAccount);
        assert_eq!(block.policy, "policy.stale_account = \"block\"");

        let reported = review(
            &[(&u, Some(&e))],
            &[],
            &policy(rules(PolicyAction::Report, PolicyAction::Report)),
        );
        assert!(reported.actions.is_empty(), "{:?}", reported.actions);
        assert_eq!(reported.stale, 1);
        let [f] = reported.findings.as_slice() else {
            panic!("one finding: {:?}", reported.findings)
        };
        assert_eq!(f.kind, FindingKind::StaleAccount);
        assert!(f.detail.contains("inactive employee 5"), "{}", f.detail);
        assert!(f.detail.contains("91 days"), "{}", f.detail);
    }

    #[test]
    fn an_active_employees_stale_account_is_never_blocked() {
        let e = employee(1, true);
        let u = account(&e, 400, Some(365));
        let p = plan(
            &[e],
            &[u],
            &[],
            &policy(rules(PolicyAction::Report, PolicyAction::Block)),
        );
        assert!(p.actions.is_empty(), "{:?}", p.actions);
        assert_eq!(
            kinds(&p),
            vec![(FindingKind::StaleAccount, "auth0|1".to_string())]
        );
    }

    #[test]
    fn blocked_and_already_blocking_accounts_are_neither_stale_nor_blocked_twice() {
        // Already blocked: cannot log in.
        let gone = employee(1, false);
        let blocked = account(&gone, 400, Some(365));
        // Live leaver with the default policy: the planner blocks it already.
        let (leaver, live) = live_leaver(2, 365);
        let p = plan(
            &[gone, leaver],
            &[blocked, live],
            &[],
            &policy(rules(PolicyAction::Report, PolicyAction::Block)),
        );
        let blocks: Vec<_> = p
            .actions
            .iter()
            .filter(|a| a.action.kind() == super::super::ActionKind::Block)
            .collect();
        assert_eq!(blocks.len(), 1, "{:?}", p.actions);
        assert_eq!(blocks[0].situation, Situation::InactiveWithAccount);
        assert_eq!(p.stats.stale_accounts, 0);
        assert!(p.findings.is_empty(), "{:?}", p.findings);
    }

    #[test]
    fn an_orphan_rosterd_created_is_reported_never_blocked_for_staleness() {
        let e = employee(9, true);
        let u = account(&e, 400, Some(200));
        // No employee row claims it: an orphan rosterd created.
        let p = plan(
            &[],
            &[u],
            &[],
            &policy(rules(PolicyAction::Report, PolicyAction::Block)),
        );
        assert!(p.actions.is_empty(), "{:?}", p.actions);
        assert!(kinds(&p).contains(&(FindingKind::StaleAccount, "auth0|9".to_string())));
        let f = p
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::StaleAccount)
            .unwrap();
        assert_eq!(f.employee_id, None);
        assert!(f.detail.contains("no employee claims it"), "{}", f.detail);
    }

    #[test]
    fn unmanaged_accounts_and_accounts_without_dates_are_not_reviewed() {
        let e = employee(1, true);
        let mut undated = account(&e, 0, None);
        undated.created_at = None;
        let mut admin = account(&employee(7, true), 400, None);
        admin.app_metadata = ManagedAppMetadata::default();
        admin.user_metadata = ManagedUserMetadata::default();
        admin.email = Some(Email::parse("admin@example.com").unwrap());
        let p = plan(&[e], &[undated, admin], &[], &policy(Policy::default()));
        assert!(p.findings.is_empty(), "{:?}", p.findings);
        assert_eq!(p.stats.never_logged_in, 0);
        assert_eq!(p.stats.unmanaged_accounts, 1);
    }
}
