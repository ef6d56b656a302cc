//! The lifecycle policy in the planner: each situation under each action it
//! allows, exclusions, and field ownership.

use super::*;
use crate::policy::{Field, Ownership, Policy, PolicyAction, Situation};

fn with(entries: &[(Situation, PolicyAction)]) -> PlanPolicy {
    let mut p = policy();
    for (s, a) in entries {
        p.rules.set_action(*s, *a).unwrap();
    }
    p
}

fn owning(fields: &[(Field, Ownership)]) -> PlanPolicy {
    let mut p = policy();
    for (f, o) in fields {
        p.rules.set_owner(*f, *o).unwrap();
    }
    p
}

/// The plan's `reported_by_policy` findings as (employee, accounts, situation, policy).
fn reported(p: &Plan) -> Vec<(Option<i64>, Vec<String>, Situation, String)> {
    p.findings
        .iter()
        .filter(|f| f.kind == FindingKind::ReportedByPolicy)
        .map(|f| {
            (
                f.employee_id.map(|e| e.0),
                f.auth0_user_ids.iter().map(|u| u.0.clone()).collect(),
                f.situation.expect("a reported action names its situation"),
                f.policy.clone().expect("and its policy entry"),
            )
        })
        .collect()
}

fn entry(s: Situation, a: PolicyAction) -> String {
    format!("policy.{s} = \"{a}\"")
}

#[test]
fn every_action_and_situation_finding_names_its_situation_and_entry() {
    let (e1, mut a1) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.co", false));
    a1.blocked = false;
    let (mut e2, mut a2) = linked("auth0|2", emp(2, "Bo Ray", "bo@x.co", true));
    a2.blocked = true;
    e2.department = "Packing".into();
    let e3 = emp(3, "Cy Dunn", "cy@x.co", true);
    let orphan = synced("auth0|9", &emp(99, "Gone Person", "gone@x.co", true));
    let p = plan(
        &[e1, e2, e3],
        &[a1, a2, orphan],
        &[],
        &with(&[(Situation::OrphanedEmployeeId, PolicyAction::Block)]),
    );
    let got: Vec<(ActionKind, Situation, &str)> = p
        .actions
        .iter()
        .map(|a| (a.action.kind(), a.situation, a.policy.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                ActionKind::Block,
                Situation::InactiveWithAccount,
                "policy.inactive_with_account = \"block\" (default)"
            ),
            (
                ActionKind::Unblock,
                Situation::Returned,
                "policy.returned = \"unblock\" (default)"
            ),
            (
                ActionKind::Update,
                Situation::Drifted,
                "policy.drifted = \"update\" (default)"
            ),
            (
                ActionKind::Create,
                Situation::ActiveWithoutAccount,
                "policy.active_without_account = \"create\" (default)"
            ),
            (
                ActionKind::Block,
                Situation::OrphanedEmployeeId,
                "policy.orphaned_employee_id = \"block\""
            ),
        ]
    );
}

#[test]
fn active_without_account_creates_reports_or_ignores() {
    let e = emp(1, "Ann Lee", "ann@x.co", true);
    let p = plan(std::slice::from_ref(&e), &[], &[], &policy());
    assert_eq!(actions(&p), vec![act("create", 1, None)]);

    let p = plan(
        std::slice::from_ref(&e),
        &[],
        &[],
        &with(&[(Situation::ActiveWithoutAccount, PolicyAction::Report)]),
    );
    assert!(p.actions.is_empty());
    assert_eq!(
        reported(&p),
        vec![(
            Some(1),
            vec![],
            Situation::ActiveWithoutAccount,
            entry(Situation::ActiveWithoutAccount, PolicyAction::Report)
        )]
    );
    assert!(
        p.findings[0].detail.contains("would create"),
        "{}",
        p.findings[0].detail
    );

    let p = plan(
        &[e],
        &[],
        &[],
        &with(&[(Situation::ActiveWithoutAccount, PolicyAction::Ignore)]),
    );
    assert!(p.actions.is_empty() && p.findings.is_empty());
}

#[test]
fn a_found_account_is_linked_or_reported_and_a_reported_link_changes_nothing_else() {
    let e = emp(1, "Ann Lee", "ann@x.co", true);
    let mut a = account("auth0|a", "ann@x.co", "Ann Old");
    a.blocked = true;
    let p = plan(
        std::slice::from_ref(&e),
        std::slice::from_ref(&a),
        &[],
        &policy(),
    );
    let kinds: Vec<_> = p.actions.iter().map(|x| x.action.kind()).collect();
    assert_eq!(
        kinds,
        vec![ActionKind::Link, ActionKind::Unblock, ActionKind::Update]
    );

    let reporting = with(&[(Situation::AccountFound, PolicyAction::Report)]);
    let p = plan(&[e], std::slice::from_ref(&a), &[], &reporting);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(
        reported(&p),
        vec![(
            Some(1),
            vec!["auth0|a".into()],
            Situation::AccountFound,
            entry(Situation::AccountFound, PolicyAction::Report)
        )]
    );

    // A leaver's found account is blocked all the same.
    a.blocked = false;
    let p = plan(
        &[emp(1, "Ann Lee", "ann@x.co", false)],
        &[a],
        &[],
        &reporting,
    );
    assert_eq!(actions(&p), vec![act("block", 1, Some("auth0|a"))]);
}

#[test]
fn a_leavers_live_account_is_blocked_or_reported_never_ignored() {
    let (e, a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.co", true));
    let mut e = e;
    e.is_active = false;
    let p = plan(
        std::slice::from_ref(&e),
        std::slice::from_ref(&a),
        &[],
        &policy(),
    );
    assert_eq!(actions(&p), vec![act("block", 1, Some("auth0|1"))]);

    let p = plan(
        &[e],
        &[a],
        &[],
        &with(&[(Situation::InactiveWithAccount, PolicyAction::Report)]),
    );
    assert!(p.actions.is_empty());
    assert_eq!(
        reported(&p),
        vec![(
            Some(1),
            vec!["auth0|1".into()],
            Situation::InactiveWithAccount,
            entry(Situation::InactiveWithAccount, PolicyAction::Report)
        )]
    );
    assert!(Policy::default()
        .clone()
        .set_action(Situation::InactiveWithAccount, PolicyAction::Ignore)
        .is_err());
}

#[test]
fn an_undecided_leaver_reported_by_policy_is_said_to_keep_the_login() {
    // Two accounts carry the leaver's id: a duplicate, both attributed.
    let e = emp(1, "Ann Lee", "ann@x.co", false);
    let mut a = synced("auth0|a", &e);
    let mut b = synced("auth0|b", &e);
    a.blocked = false;
    b.blocked = false;
    let p = plan(
        &[e],
        &[a, b],
        &[],
        &with(&[(Situation::InactiveWithAccount, PolicyAction::Report)]),
    );
    assert!(p.actions.is_empty());
    let dup = p
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::DuplicateAccount)
        .unwrap();
    assert!(dup.detail.contains("stay live"), "{}", dup.detail);
    assert_eq!(reported(&p).len(), 2);
}

#[test]
fn a_returned_employee_is_unblocked_reported_or_ignored() {
    let (e, mut a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.co", true));
    a.blocked = true;
    let p = plan(
        std::slice::from_ref(&e),
        std::slice::from_ref(&a),
        &[],
        &policy(),
    );
    assert_eq!(actions(&p), vec![act("unblock", 1, Some("auth0|1"))]);
    for (choice, findings) in [(PolicyAction::Report, 1), (PolicyAction::Ignore, 0)] {
        let p = plan(
            std::slice::from_ref(&e),
            std::slice::from_ref(&a),
            &[],
            &with(&[(Situation::Returned, choice)]),
        );
        assert!(p.actions.is_empty(), "{choice}");
        assert_eq!(reported(&p).len(), findings, "{choice}");
    }
}

#[test]
fn drift_is_updated_reported_or_ignored_and_counted_whatever_the_choice() {
    let (e, mut a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.co", true));
    a.app_metadata.department = Some("Elsewhere".into());
    a.name = Some("Ann Typo".into());
    for (choice, updates, findings) in [
        (PolicyAction::Update, 1, 0),
        (PolicyAction::Report, 0, 1),
        (PolicyAction::Ignore, 0, 0),
    ] {
        let p = plan(
            std::slice::from_ref(&e),
            std::slice::from_ref(&a),
            &[],
            &with(&[(Situation::Drifted, choice)]),
        );
        assert_eq!(p.actions.len(), updates, "{choice}");
        assert_eq!(reported(&p).len(), findings, "{choice}");
        assert_eq!(
            p.drift,
            BTreeMap::from([
                ("app_metadata.department".to_string(), 1),
                ("name".to_string(), 1)
            ]),
            "{choice}"
        );
    }
}

#[test]
fn orphans_are_reported_blocked_or_ignored_per_kind() {
    let mut created = synced("auth0|c", &emp(50, "Made Here", "made@x.co", true));
    created.app_metadata.employee_id = None;
    let carrying = synced("auth0|e", &emp(60, "Id Only", "id@x.co", true));
    let users = [created.clone(), carrying.clone()];

    let p = plan(&[], &users, &[], &policy());
    assert!(p.actions.is_empty());
    let situations: Vec<_> = p.findings.iter().map(|f| (f.kind, f.situation)).collect();
    assert_eq!(
        situations,
        vec![
            (FindingKind::Orphaned, Some(Situation::OrphanedCreated)),
            (FindingKind::Orphaned, Some(Situation::OrphanedEmployeeId)),
        ]
    );

    let p = plan(
        &[],
        &users,
        &[],
        &with(&[
            (Situation::OrphanedCreated, PolicyAction::Block),
            (Situation::OrphanedEmployeeId, PolicyAction::Block),
        ]),
    );
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    let blocks: Vec<_> = p
        .actions
        .iter()
        .map(|a| (a.action.clone(), a.situation))
        .collect();
    assert_eq!(
        blocks,
        vec![
            (
                Action::Block {
                    employee_id: None,
                    auth0_user_id: uid("auth0|c")
                },
                Situation::OrphanedCreated
            ),
            (
                Action::Block {
                    employee_id: Some(EmployeeId(60)),
                    auth0_user_id: uid("auth0|e")
                },
                Situation::OrphanedEmployeeId
            ),
        ]
    );

    // An orphan already blocked needs nothing; ignored ones are not said.
    created.blocked = true;
    let p = plan(
        &[],
        &[created, carrying],
        &[],
        &with(&[
            (Situation::OrphanedCreated, PolicyAction::Block),
            (Situation::OrphanedEmployeeId, PolicyAction::Ignore),
        ]),
    );
    assert!(p.actions.is_empty() && p.findings.is_empty());
    assert_eq!(p.stats.managed_accounts, 2);
}

#[test]
fn duplicate_and_conflicting_findings_are_reported_or_ignored_without_orphaning() {
    let e = emp(1, "Ann Lee", "ann@x.co", true);
    let dup = [synced("auth0|a", &e), synced("auth0|b", &e)];
    let p = plan(std::slice::from_ref(&e), &dup, &[], &policy());
    assert_eq!(p.findings.len(), 1);
    assert_eq!(p.findings[0].situation, Some(Situation::DuplicateAccounts));
    let p = plan(
        std::slice::from_ref(&e),
        &dup,
        &[],
        &with(&[(Situation::DuplicateAccounts, PolicyAction::Ignore)]),
    );
    assert!(
        p.findings.is_empty() && p.actions.is_empty(),
        "{:?}",
        p.findings
    );

    // The email points at an account carrying another employee's id.
    let other = synced("auth0|o", &emp(2, "Bo Ray", "ann@x.co", true));
    let p = plan(
        std::slice::from_ref(&e),
        std::slice::from_ref(&other),
        &[],
        &policy(),
    );
    assert_eq!(p.findings[0].kind, FindingKind::ConflictingEvidence);
    assert_eq!(
        p.findings[0].situation,
        Some(Situation::ConflictingEvidence)
    );
    let p = plan(
        &[e],
        &[other],
        &[],
        &with(&[(Situation::ConflictingEvidence, PolicyAction::Ignore)]),
    );
    assert!(
        p.findings.is_empty() && p.actions.is_empty(),
        "{:?}",
        p.findings
    );
}

#[test]
fn unmanaged_accounts_are_counted_and_reported_only_on_request() {
    let admin = account("auth0|admin", "admin@x.co", "Tenant Admin");
    let p = plan(&[], std::slice::from_ref(&admin), &[], &policy());
    assert!(p.findings.is_empty());
    assert_eq!(p.stats.unmanaged_accounts, 1);
    let p = plan(
        &[],
        &[admin],
        &[],
        &with(&[(Situation::Unmanaged, PolicyAction::Report)]),
    );
    assert_eq!(p.findings.len(), 1);
    assert_eq!(p.findings[0].kind, FindingKind::UnmanagedAccount);
    assert!(p.findings[0].detail.contains("admin@x.co"));
    assert!(p.actions.is_empty());
}

fn excluding_accounts(ids: &[&str]) -> PlanPolicy {
    let mut p = policy();
    for id in ids {
        p.excluded_accounts
            .insert(uid(id), "policy.exclude.account_ids".into());
    }
    p
}

#[test]
fn an_excluded_account_is_never_touched_even_carrying_an_employee_id() {
    // A tenant admin who is also employee 1, with drift, blocked, and found
    // by email and by id: nothing at all, and no second account.
    let (e, mut admin) = linked("auth0|admin", emp(1, "Ann Lee", "ann@x.co", true));
    admin.blocked = true;
    admin.name = Some("Admin".into());
    let p = plan(
        std::slice::from_ref(&e),
        std::slice::from_ref(&admin),
        &[],
        &excluding_accounts(&["auth0|admin"]),
    );
    assert!(p.actions.is_empty() && p.findings.is_empty(), "{p:?}");
    assert_eq!(p.stats.excluded_accounts, 1);
    assert_eq!(p.stats.managed_accounts, 0);

    // Nor when employee 1 has left.
    let mut left = e;
    left.is_active = false;
    admin.blocked = false;
    let p = plan(
        &[left],
        std::slice::from_ref(&admin),
        &[],
        &excluding_accounts(&["auth0|admin"]),
    );
    assert!(p.actions.is_empty() && p.findings.is_empty(), "{p:?}");

    // Nor as an invalid row that says the person left.
    let p = plan(
        &[],
        std::slice::from_ref(&admin),
        &[invalid_row(
            1,
            "employee 1: name is empty or NULL",
            true,
            Some("auth0|admin"),
        )],
        &excluding_accounts(&["auth0|admin"]),
    );
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert!(p.findings[0].auth0_user_ids.is_empty());

    // Nor as an orphan under a blocking policy.
    let mut p = excluding_accounts(&["auth0|admin"]);
    p.rules
        .set_action(Situation::OrphanedEmployeeId, PolicyAction::Block)
        .unwrap();
    let p = plan(&[], &[admin], &[], &p);
    assert!(p.actions.is_empty() && p.findings.is_empty(), "{p:?}");
}

#[test]
fn an_excluded_employee_is_never_provisioned_nor_blocked_and_their_account_is_not_an_orphan() {
    let mut pol = policy();
    pol.excluded_employees
        .insert(EmployeeId(1), "policy.exclude.employee_ids".into());
    pol.excluded_employees
        .insert(EmployeeId(2), "policy.exclude.employees_where".into());
    let new = emp(1, "Ann Lee", "ann@x.co", true);
    let (mut gone, acct) = linked("auth0|2", emp(2, "Bo Ray", "bo@x.co", true));
    gone.is_active = false;
    let mut acct = acct;
    acct.blocked = false;
    let p = plan(&[new, gone], &[acct], &[], &pol);
    assert!(p.actions.is_empty() && p.findings.is_empty(), "{p:?}");
    assert_eq!(p.stats.excluded_employees, 2);
    assert_eq!(p.stats.managed_accounts, 1);
}

#[test]
fn create_only_fields_are_set_at_creation_and_never_repaired_ignored_ones_never_set() {
    let pol = owning(&[
        (Field::UserFullName, Ownership::CreateOnly),
        (Field::AppDepartment, Ownership::Ignore),
        (Field::Name, Ownership::Ignore),
    ]);
    let e = emp(1, "Ann Lee", "ann@x.co", true);
    let p = plan(std::slice::from_ref(&e), &[], &[], &pol);
    let Action::Create {
        name,
        given_name,
        family_name,
        app_metadata,
        user_metadata,
        ..
    } = &p.actions[0].action
    else {
        panic!("{:?}", p.actions)
    };
    assert_eq!(
        (name.as_str(), given_name.as_str(), family_name.as_str()),
        ("", "", "")
    );
    assert_eq!(app_metadata.department, None);
    assert_eq!(user_metadata.full_name.as_deref(), Some("Ann Lee"));

    // Someone edits the full name, the department and the workspace in
    // Auth0: only the enforced workspace is repaired; all three are counted.
    let (e, mut a) = linked("auth0|1", e);
    a.user_metadata.full_name = Some("Annie".into());
    a.app_metadata.department = Some("Elsewhere".into());
    a.app_metadata.workspace = Some("NY".into());
    let p = plan(&[e], &[a], &[], &pol);
    let (patch, _, fields, _) = only_update(&p);
    assert_eq!(fields, vec!["app_metadata.workspace"]);
    assert!(patch.user_metadata.is_empty());
    assert_eq!(
        patch.app_metadata.keys().collect::<Vec<_>>(),
        vec!["workspace"]
    );
    assert_eq!(p.drift.len(), 3, "{:?}", p.drift);
}

#[test]
fn roles_owned_at_creation_only_are_not_changed_when_the_code_changes() {
    let pol = owning(&[(Field::Roles, Ownership::CreateOnly)]);
    let (mut e, a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.co", true));
    e.role_code = "lead".into();
    let p = plan(
        std::slice::from_ref(&e),
        std::slice::from_ref(&a),
        &[],
        &pol,
    );
    let (patch, role_change, _, _) = only_update(&p);
    assert_eq!(role_change, None);
    assert_eq!(patch.app_metadata["role_code"], json!("lead"));
    let p = plan(&[e], &[a], &[], &policy());
    assert!(only_update(&p).1.is_some());
}

#[test]
fn contradictory_entries_are_problems_naming_both_keys() {
    let mut p = Policy::default();
    assert!(p.problems().is_empty());
    p.set_owner(Field::AppRoleCode, Ownership::CreateOnly)
        .unwrap();
    let problems = p.problems();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("\"roles\"") && problems[0].contains("app_metadata.role_code"),
        "{problems:?}"
    );
    let mut p = Policy::default();
    p.set_owner(Field::Blocked, Ownership::Ignore).unwrap();
    let problems = p.problems().join("\n");
    assert!(
        problems.contains("policy.inactive_with_account = \"block\" (its default)"),
        "{problems}"
    );
    assert!(problems.contains("policy.returned"), "{problems}");
    p.set_action(Situation::InactiveWithAccount, PolicyAction::Report)
        .unwrap();
    p.set_action(Situation::Returned, PolicyAction::Report)
        .unwrap();
    assert!(p.problems().is_empty(), "{:?}", p.problems());
}

/// Employee 1 left (their account blocked); employee 2 is them rehired.
fn rehired(new_email: &str, workspace: &str) -> (Vec<Employee>, Auth0User) {
    let (old, mut a) = linked("auth0|old", emp(1, "Ann Lee", "ann@x.co", false));
    a.blocked = true;
    let mut new = emp(2, "Ann  Lee", new_email, true);
    new.workspace = workspace.into();
    (vec![old, new], a)
}

#[test]
fn a_rehire_under_a_new_id_is_reported_not_given_a_second_account() {
    for (email, by) in [
        ("ann@x.co", "same email"),
        ("ann.lee@x.co", "same name and workspace"),
    ] {
        let (employees, a) = rehired(email, "TX");
        let p = plan(&employees, std::slice::from_ref(&a), &[], &policy());
        assert!(p.actions.is_empty(), "{by}: {:?}", p.actions);
        assert_eq!(
            findings(&p),
            vec![fnd(FindingKind::PossibleRehire, Some(2), &["auth0|old"])],
            "{by}"
        );
        let f = &p.findings[0];
        assert!(
            f.detail.contains("employee 1 (Ann Lee, ann@x.co, TX)") && f.detail.contains(by),
            "{}",
            f.detail
        );
        assert!(f.detail.contains("no account is created"), "{}", f.detail);
        assert_eq!(f.situation, Some(Situation::PossibleRehire));
    }
    // Another workspace: another person with the same name.
    let (employees, a) = rehired("ann.lee@x.co", "MS");
    let p = plan(&employees, &[a], &[], &policy());
    assert_eq!(actions(&p), vec![act("create", 2, None)]);
}

#[test]
fn a_relinked_rehire_gets_the_old_account_moved_unblocked_and_brought_in_line() {
    let (mut employees, a) = rehired("ann@x.co", "TX");
    employees[1].department = "Packing".into();
    let pol = with(&[(Situation::PossibleRehire, PolicyAction::Relink)]);
    let p = plan(&employees, &[a], &[], &pol);
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    assert_eq!(
        actions(&p),
        vec![
            act("link", 2, Some("auth0|old")),
            act("unblock", 2, Some("auth0|old")),
            act("update", 2, Some("auth0|old")),
        ]
    );
    let Action::Link {
        evidence,
        previous_employee_id,
        ..
    } = &p.actions[0].action
    else {
        unreachable!()
    };
    assert_eq!(
        (*evidence, *previous_employee_id),
        (Evidence::Rehire, Some(EmployeeId(1)))
    );
    assert_eq!(p.actions[0].situation, Situation::PossibleRehire);
    let (patch, _, _, _) = only_update(&p);
    assert_eq!(patch.app_metadata["employee_id"], json!(2));
    assert_eq!(patch.app_metadata["department"], json!("Packing"));
}

#[test]
fn a_name_and_workspace_alone_never_move_an_account_even_under_relink() {
    // A namesake in the same workspace is not enough to hand them a
    // former employee's login.
    let (employees, a) = rehired("ann.lee@x.co", "TX");
    let pol = with(&[(Situation::PossibleRehire, PolicyAction::Relink)]);
    let p = plan(&employees, &[a], &[], &pol);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(p.findings[0].kind, FindingKind::PossibleRehire);
    assert!(
        p.findings[0]
            .detail
            .contains("only the same email moves an account"),
        "{}",
        p.findings[0].detail
    );
}

#[test]
fn an_acknowledged_possible_rehire_is_not_a_rehire_and_gets_an_account() {
    let (employees, a) = rehired("ann.lee@x.co", "TX");
    let p = plan(&employees, std::slice::from_ref(&a), &[], &policy());
    let mut pol = policy();
    pol.not_rehires.insert(p.findings[0].key());
    let p = plan(&employees, std::slice::from_ref(&a), &[], &pol);
    assert_eq!(actions(&p), vec![act("create", 2, None)]);
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    // A new candidate is a new question: asked again.
    let (mut other, mut b) = linked("auth0|other", emp(3, "Ann Lee", "ann.x@x.co", false));
    other.is_active = false;
    b.blocked = true;
    let mut more = employees.clone();
    more.push(other);
    let p = plan(&more, &[a, b], &[], &pol);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(p.findings[0].kind, FindingKind::PossibleRehire);
}

#[test]
fn a_rehire_with_two_possible_accounts_is_never_relinked() {
    let (mut employees, a) = rehired("ann.lee@x.co", "TX");
    let (mut twin, mut b) = linked("auth0|twin", emp(3, "Ann Lee", "ann.l@x.co", false));
    twin.is_active = false;
    b.blocked = true;
    employees.push(twin);
    let pol = with(&[(Situation::PossibleRehire, PolicyAction::Relink)]);
    let p = plan(&employees, &[a, b], &[], &pol);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::PossibleRehire,
            Some(2),
            &["auth0|old", "auth0|twin"]
        )]
    );
}

/// A tenant admin's account carrying employee 1's id and another email.
fn admin_of(e: &Employee) -> Auth0User {
    let mut admin = synced("auth0|admin", e);
    admin.email = Some(email("admin@x.co"));
    admin
}

#[test]
fn an_excluded_account_beside_a_leavers_own_account_never_keeps_the_own_one_live() {
    let excluding = excluding_accounts(&["auth0|admin"]);
    // The leaver's stored account, the admin carrying their id.
    let (mut e, mut own) = linked("auth0|own", emp(1, "Ann Lee", "ann@x.co", true));
    e.is_active = false;
    own.blocked = false;
    let admin = admin_of(&e);
    let p = plan(&[e.clone()], &[own.clone(), admin.clone()], &[], &excluding);
    assert_eq!(actions(&p), vec![act("block", 1, Some("auth0|own"))]);
    assert!(
        p.findings.iter().all(|f| f.kind != FindingKind::Orphaned),
        "{:?}",
        p.findings
    );

    // No stored id: the own account found by email beside the admin.
    let mut unstored = e.clone();
    unstored.auth0_user_id = None;
    let mut by_email = account("auth0|own", "ann@x.co", "Ann Lee");
    by_email.blocked = false;
    let p = plan(
        &[unstored.clone()],
        &[by_email, admin.clone()],
        &[],
        &excluding,
    );
    assert_eq!(
        actions(&p)[..],
        [
            act("link", 1, Some("auth0|own")),
            act("block", 1, Some("auth0|own"))
        ]
    );

    // An excluded social account sharing the leaver's email.
    let mut social = account("google-oauth2|1", "ann@x.co", "Ann");
    social.connection = Some("google-oauth2".into());
    let mut pol = policy();
    pol.excluded_accounts
        .insert(uid("google-oauth2|1"), "policy.exclude.connections".into());
    let p = plan(&[e.clone()], &[own.clone(), social], &[], &pol);
    assert_eq!(actions(&p), vec![act("block", 1, Some("auth0|own"))]);
}

#[test]
fn an_excluded_account_carrying_an_active_employees_id_never_orphans_their_own_account() {
    let (e, own) = linked("auth0|own", emp(1, "Ann Lee", "ann@x.co", true));
    let admin = admin_of(&e);
    let mut pol = excluding_accounts(&["auth0|admin"]);
    pol.rules
        .set_action(Situation::OrphanedEmployeeId, PolicyAction::Block)
        .unwrap();
    let p = plan(&[e], &[own, admin], &[], &pol);
    assert!(p.actions.is_empty() && p.findings.is_empty(), "{p:?}");
    assert_eq!(p.stats.managed_accounts, 1);
}

#[test]
fn no_orphan_is_blocked_while_some_employees_row_has_no_readable_id() {
    let orphan = synced("auth0|e", &emp(60, "Id Only", "id@x.co", true));
    let mut pol = with(&[(Situation::OrphanedEmployeeId, PolicyAction::Block)]);
    let p = plan(&[], std::slice::from_ref(&orphan), &[], &pol);
    assert_eq!(actions(&p), vec![act("block", 60, Some("auth0|e"))]);
    // Row 60 may be the one whose id could not be read: absence is not
    // departure.
    pol.unidentified_rows = 1;
    let p = plan(&[], &[orphan], &[], &pol);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(p.findings.len(), 1);
    assert!(
        p.findings[0].detail.contains("not blocked this run"),
        "{}",
        p.findings[0].detail
    );
    assert_eq!(p.findings[0].situation, Some(Situation::OrphanedEmployeeId));
}

#[test]
fn a_stale_leaver_account_blocked_by_policy_is_not_also_reported_as_left_live() {
    const NOW: i64 = 1_800_000_000;
    let (mut e, mut a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.co", true));
    e.is_active = false;
    a.blocked = false;
    a.last_login = Some(NOW - 200 * 86_400);
    let mut pol = with(&[
        (Situation::InactiveWithAccount, PolicyAction::Report),
        (Situation::StaleAccount, PolicyAction::Block),
    ]);
    pol.now = NOW;
    let p = plan(&[e], &[a], &[], &pol);
    assert_eq!(actions(&p), vec![act("block", 1, Some("auth0|1"))]);
    assert_eq!(p.actions[0].situation, Situation::StaleAccount);
    assert!(reported(&p).is_empty(), "{:?}", p.findings);
}

#[test]
fn an_account_moving_to_a_rehire_is_not_blocked_as_the_leavers_stale_one() {
    const NOW: i64 = 1_800_000_000;
    let (employees, mut a) = rehired("ann@x.co", "TX");
    a.blocked = false;
    a.last_login = Some(NOW - 200 * 86_400);
    let mut pol = with(&[
        (Situation::PossibleRehire, PolicyAction::Relink),
        (Situation::StaleAccount, PolicyAction::Block),
    ]);
    pol.now = NOW;
    let p = plan(&employees, &[a], &[], &pol);
    let kinds: Vec<_> = p.actions.iter().map(|x| x.action.kind()).collect();
    assert!(!kinds.contains(&ActionKind::Block), "{:?}", p.actions);
    assert_eq!(kinds[0], ActionKind::Link);
}

#[test]
fn a_scheduled_block_never_names_an_excluded_account() {
    let (mut e, own) = linked("auth0|own", emp(1, "Ann Lee", "ann@x.co", true));
    e.leaves_at = Some(2_000_000_000);
    let admin = admin_of(&e);
    let mut pol = excluding_accounts(&["auth0|admin"]);
    pol.now = 1_900_000_000;
    let p = plan(&[e], &[own, admin], &[], &pol);
    assert_eq!(p.scheduled.len(), 1);
    assert_eq!(p.scheduled[0].auth0_user_ids, vec![uid("auth0|own")]);
}

#[test]
fn a_stored_account_that_is_excluded_is_said_to_be_excluded_not_gone() {
    let e = stored(emp(1, "Ann Lee", "ann@x.co", true), "auth0|admin");
    let admin = admin_of(&e);
    let own = account("auth0|own", "ann@x.co", "Ann Lee");
    let p = plan(
        &[e],
        &[admin, own],
        &[],
        &excluding_accounts(&["auth0|admin"]),
    );
    assert_eq!(p.actions[0].action.kind(), ActionKind::Link);
    assert!(
        p.actions[0].reason.starts_with("stored account auth0|admin is excluded (policy.exclude); account auth0|own found by email"),
        "{}",
        p.actions[0].reason
    );
}
