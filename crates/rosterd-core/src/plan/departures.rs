//! Effective-dated departures, before anything else is planned: an
//! employee whose last day has ended (`leaves_at <= now`) is a leaver
//! whatever `is_active` still says; an active one whose last day ends later
//! is a [`ScheduledBlock`], so the plan (and the driver) know when to act.
//! Each run recomputes this from the source, so an end date cleared or
//! moved (a rehire, a correction) cancels or moves the block by itself.

use super::{PlanPolicy, ScheduledBlock};
use crate::model::{Auth0User, Employee};
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// The employees as the planner must see them at `policy.now`, and the
/// blocks still to come, soonest first. Excluded employees are left as
/// they are: rosterd neither blocks nor schedules them.
pub(super) fn effective<'a>(
    employees: &'a [Employee],
    auth0_users: &[Auth0User],
    policy: &PlanPolicy,
) -> (Cow<'a, [Employee]>, Vec<ScheduledBlock>) {
    let mut scheduled = Vec::new();
    let mut left = Vec::new();
    // Accounts by the employee id they carry, built for the first
    // scheduled block (not a scan of every account per block).
    let mut carrying: Option<FxHashMap<i64, Vec<&Auth0User>>> = None;
    for (i, e) in employees.iter().enumerate() {
        let Some(at) = e.leaves_at else { continue };
        if !e.is_active || policy.excluded_employees.contains_key(&e.id) {
            continue;
        }
        if at <= policy.now {
            left.push(i);
            continue;
        }
        // The accounts the block would reach if it were planned now: the
        // stored one and those carrying the employee id (the planner
        // decides again, on the evidence of that run, when the day ends).
        let carrying = carrying.get_or_insert_with(|| {
            let mut by_id: FxHashMap<i64, Vec<&Auth0User>> = FxHashMap::default();
            for u in auth0_users {
                if let Some(id) = u.app_metadata.employee_id {
                    by_id.entry(id).or_default().push(u);
                }
            }
            by_id
        });
        let mut auth0_user_ids: Vec<_> = e.auth0_user_id.iter().cloned().collect();
        for u in carrying.get(&e.id.0).into_iter().flatten() {
            if !auth0_user_ids.contains(&u.user_id) {
                auth0_user_ids.push(u.user_id.clone());
            }
        }
        // Excluded accounts are never touched nor named.
        auth0_user_ids.retain(|u| !policy.excluded_accounts.contains_key(u));
        auth0_user_ids.sort();
        scheduled.push(ScheduledBlock {
            employee_id: e.id,
            at,
            auth0_user_ids,
        });
    }
    scheduled.sort_by_key(|s| (s.at, s.employee_id));
    if left.is_empty() {
        return (Cow::Borrowed(employees), scheduled);
    }
    let mut owned = employees.to_vec();
    for i in left {
        owned[i].is_active = false;
    }
    (Cow::Owned(owned), scheduled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Auth0UserId, Email, EmployeeId, ManagedAppMetadata};
    use crate::plan::{plan, Action};

    const DAY: i64 = 86_400;
    /// The end of the last day: 2026-03-09 00:00 in Chicago (05:00 UTC).
    const END: i64 = 1_773_032_400;

    fn employee(active: bool, leaves_at: Option<i64>) -> Employee {
        Employee {
            id: EmployeeId(7),
            full_name: "Ana Ruiz".into(),
            email: Email::parse("ana@example.com").unwrap(),
            department: "Printing".into(),
            workspace: "TX".into(),
            role_code: String::new(),
            is_active: active,
            auth0_user_id: Some(Auth0UserId("auth0|ana".into())),
            leaves_at,
            changed_at: None,
        }
    }

    /// Ana's live account, as rosterd created it.
    fn account() -> Auth0User {
        Auth0User {
            user_id: Auth0UserId("auth0|ana".into()),
            email: Some(Email::parse("ana@example.com").unwrap()),
            name: Some("Ana Ruiz".into()),
            email_verified: true,
            blocked: false,
            app_metadata: ManagedAppMetadata {
                employee_id: Some(7),
                created_by: Some("productivity_system".into()),
                ..Default::default()
            },
            user_metadata: Default::default(),
            created_at: None,
            last_login: None,
            connection: None,
            app_metadata_flags: Vec::new(),
        }
    }

    fn at(now: i64) -> PlanPolicy {
        PlanPolicy {
            now,
            created_by: "productivity_system".into(),
            ..Default::default()
        }
    }

    fn blocks(p: &crate::plan::Plan) -> Vec<EmployeeId> {
        p.actions
            .iter()
            .filter_map(|a| match &a.action {
                Action::Block { employee_id, .. } => *employee_id,
                _ => None,
            })
            .collect()
    }

    #[test]
    fn before_the_end_of_the_last_day_the_block_is_scheduled_not_planned() {
        for now in [END - DAY, END - 1] {
            let p = plan(&[employee(true, Some(END))], &[account()], &[], &at(now));
            assert_eq!(blocks(&p), vec![], "now = END - {}", END - now);
            assert_eq!(
                p.scheduled,
                vec![ScheduledBlock {
                    employee_id: EmployeeId(7),
                    at: END,
                    auth0_user_ids: vec![Auth0UserId("auth0|ana".into())],
                }]
            );
        }
    }

    #[test]
    fn at_and_after_the_end_of_the_last_day_the_account_is_blocked() {
        for now in [END, END + 1, END + DAY] {
            let p = plan(&[employee(true, Some(END))], &[account()], &[], &at(now));
            assert_eq!(blocks(&p), vec![EmployeeId(7)], "now = END + {}", now - END);
            assert!(p.scheduled.is_empty());
            assert_eq!(p.stats.active_employees, 0);
        }
    }

    #[test]
    fn an_inactive_employee_with_a_future_end_date_is_already_a_leaver() {
        let p = plan(
            &[employee(false, Some(END))],
            &[account()],
            &[],
            &at(END - DAY),
        );
        assert_eq!(blocks(&p), vec![EmployeeId(7)]);
        assert!(p.scheduled.is_empty());
    }

    #[test]
    fn no_end_date_no_schedule() {
        // A rehire clears the end date: the next run schedules nothing.
        let p = plan(&[employee(true, None)], &[account()], &[], &at(END + DAY));
        assert_eq!(blocks(&p), vec![]);
        assert!(p.scheduled.is_empty());
    }

    #[test]
    fn the_schedule_names_every_account_carrying_the_employee_id() {
        let mut e = employee(true, Some(END));
        e.auth0_user_id = None;
        let mut other = account();
        other.user_id = Auth0UserId("auth0|ana-2".into());
        let (_, scheduled) = effective(&[e], &[account(), other], &at(END - DAY));
        assert_eq!(
            scheduled[0].auth0_user_ids,
            vec![
                Auth0UserId("auth0|ana".into()),
                Auth0UserId("auth0|ana-2".into())
            ]
        );
    }

    #[test]
    fn an_excluded_employee_is_neither_scheduled_nor_made_a_leaver() {
        let mut policy = at(END + 1);
        policy
            .excluded_employees
            .insert(EmployeeId(7), "policy.exclude.employee_ids".into());
        let ana = [employee(true, Some(END))];
        let (employees, scheduled) = effective(&ana, &[], &policy);
        assert!(employees[0].is_active);
        assert!(scheduled.is_empty());
        policy.now = END - 1;
        assert!(effective(&ana, &[], &policy).1.is_empty());
    }
}
