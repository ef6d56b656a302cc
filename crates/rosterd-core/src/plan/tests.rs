//! Unit tests for the pure planner and the guard.
//!
//! Fixtures are built small and explicit: `emp` makes an employee with the
//! usual department/workspace/role, `account` a bare Auth0 account (what a
//! tenant admin or a hand-made account looks like), `synced` the account
//! rosterd would have created for an employee and kept in step.

use super::guard::{check_plan, check_source, GuardPolicy};
use super::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

const CREATED_BY: &str = "productivity_system";

// ---------------------------------------------------------------- fixtures

/// Today's defaults: no clock, no exclusions, every role code mapped.
fn policy() -> PlanPolicy {
    PlanPolicy {
        created_by: CREATED_BY.into(),
        ..PlanPolicy::default()
    }
}

fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

fn uid(id: &str) -> Auth0UserId {
    Auth0UserId(id.into())
}

/// An employee in Printing, TX, role `operator`, with no stored account.
fn emp(id: i64, name: &str, mail: &str, active: bool) -> Employee {
    Employee {
        leaves_at: None,
        changed_at: None,
        id: EmployeeId(id),
        full_name: name.into(),
        email: email(mail),
        department: "Printing".into(),
        workspace: "TX".into(),
        role_code: "operator".into(),
        is_active: active,
        auth0_user_id: None,
    }
}

/// The employee with `employees.auth0_user_id` set.
fn stored(mut e: Employee, id: &str) -> Employee {
    e.auth0_user_id = Some(uid(id));
    e
}

/// An account carrying nothing rosterd manages.
fn account(id: &str, mail: &str, name: &str) -> Auth0User {
    Auth0User {
        created_at: None,
        last_login: None,
        connection: None,
        app_metadata_flags: Vec::new(),
        user_id: uid(id),
        email: Some(email(mail)),
        name: Some(name.into()),
        email_verified: true,
        blocked: false,
        app_metadata: ManagedAppMetadata::default(),
        user_metadata: ManagedUserMetadata::default(),
    }
}

/// The account rosterd created for `e`, in step with it: same email and name,
/// blocked exactly when the employee is inactive, full metadata.
fn synced(id: &str, e: &Employee) -> Auth0User {
    Auth0User {
        created_at: None,
        last_login: None,
        connection: None,
        app_metadata_flags: Vec::new(),
        user_id: uid(id),
        email: Some(e.email.clone()),
        name: Some(e.full_name.clone()),
        email_verified: true,
        blocked: !e.is_active,
        app_metadata: ManagedAppMetadata {
            employee_id: Some(e.id.0),
            department: Some(e.department.clone()),
            role_code: Some(e.role_code.clone()),
            workspace: Some(e.workspace.clone()),
            created_by: Some(CREATED_BY.into()),
            previous_names: vec![],
            podfactory_sync: None,
        },
        user_metadata: ManagedUserMetadata {
            employee_id: Some(e.id.0),
            full_name: Some(e.full_name.clone()),
            department: Some(e.department.clone()),
        },
    }
}

/// An employee with a stored id and its in-sync account.
fn linked(id: &str, e: Employee) -> (Employee, Auth0User) {
    let a = synced(id, &e);
    (stored(e, id), a)
}

/// A row the loader could not use.
fn invalid_row(id: i64, detail: &str, left: bool, stored_id: Option<&str>) -> InvalidRow {
    InvalidRow {
        employee_id: EmployeeId(id),
        detail: detail.into(),
        left,
        auth0_user_id: stored_id.map(uid),
    }
}

fn run(employees: &[Employee], accounts: &[Auth0User]) -> Plan {
    plan(employees, accounts, &[], &policy())
}

/// (kind, employee id, target account) for every action, in plan order.
fn actions(p: &Plan) -> Vec<(&'static str, i64, Option<String>)> {
    p.actions
        .iter()
        .map(|a| {
            (
                a.action.kind().as_str(),
                a.action.employee_id().map_or(0, |e| e.0),
                a.action.auth0_user_id().map(|u| u.0.clone()),
            )
        })
        .collect()
}

fn act(kind: &'static str, emp: i64, target: Option<&str>) -> (&'static str, i64, Option<String>) {
    (kind, emp, target.map(str::to_string))
}

/// (kind, employee id, named accounts sorted) for every finding, in plan order.
fn findings(p: &Plan) -> Vec<(FindingKind, Option<i64>, Vec<String>)> {
    p.findings
        .iter()
        .map(|f| {
            let mut ids: Vec<String> = f.auth0_user_ids.iter().map(|u| u.0.clone()).collect();
            ids.sort();
            (f.kind, f.employee_id.map(|e| e.0), ids)
        })
        .collect()
}

fn fnd(
    kind: FindingKind,
    emp: Option<i64>,
    ids: &[&str],
) -> (FindingKind, Option<i64>, Vec<String>) {
    (kind, emp, ids.iter().map(|s| s.to_string()).collect())
}

fn actions_for(p: &Plan, emp: i64) -> Vec<&PlannedAction> {
    p.actions
        .iter()
        .filter(|a| a.action.employee_id() == Some(EmployeeId(emp)))
        .collect()
}

/// The plan's only update: (patch, role change, drifted fields, reason).
fn only_update(p: &Plan) -> (&UserPatch, Option<&RoleChange>, Vec<&str>, &str) {
    let updates: Vec<_> = p
        .actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Update {
                patch,
                role_change,
                fields,
                ..
            } => Some((
                patch,
                role_change.as_ref(),
                fields.iter().map(String::as_str).collect(),
                a.reason.as_str(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates.len(),
        1,
        "expected exactly one update in {:#?}",
        p.actions
    );
    updates.into_iter().next().unwrap()
}

fn obj(m: &serde_json::Map<String, Value>) -> Value {
    Value::Object(m.clone())
}

/// Does the plan mention this account anywhere (targets, finding ids, text)?
fn mentions(p: &Plan, id: &str) -> bool {
    p.actions.iter().any(|a| {
        a.action.auth0_user_id().map(|u| u.0.as_str()) == Some(id) || a.reason.contains(id)
    }) || p
        .findings
        .iter()
        .any(|f| f.auth0_user_ids.iter().any(|u| u.0 == id) || f.detail.contains(id))
}

/// A policy that manages `app_metadata.podfactory_sync`, with these links.
fn rich(links: &[(i64, &str, &str)]) -> PlanPolicy {
    PlanPolicy {
        podfactory_sync: Some(
            links
                .iter()
                .map(|&(emp, pf_id, pf_email)| {
                    (
                        EmployeeId(emp),
                        PodFactorySync {
                            podfactory_user_id: pf_id.into(),
                            podfactory_email: Some(pf_email.into()),
                            matched_by: "email_suffix".into(),
                            email_variations: vec![pf_email.into()],
                        },
                    )
                })
                .collect(),
        ),
        ..policy()
    }
}

/// The plan for one employee and one account.
fn plan_one(e: &Employee, a: &Auth0User, policy: &PlanPolicy) -> Plan {
    plan(
        std::slice::from_ref(e),
        std::slice::from_ref(a),
        &[],
        policy,
    )
}

// ------------------------------------------------------------------ create

#[test]
fn create_for_active_employee_without_account_carries_full_metadata() {
    let mut e = emp(1, "Mary Ann Smith", "Mary.Smith@Example.com", true);
    e.department = "Shipping".into();
    e.workspace = "MS".into();
    e.role_code = "lead".into();
    let pol = PlanPolicy {
        created_by: "ps-staging".into(),
        ..policy()
    };
    let p = plan(&[e], &[], &[], &pol);

    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    let pa = &p.actions[0];
    assert!(
        pa.reason.contains("active employee 1") && pa.reason.contains("no Auth0 account"),
        "{}",
        pa.reason
    );
    assert_eq!(
        pa.action,
        Action::Create {
            employee_id: EmployeeId(1),
            email: email("mary.smith@example.com"),
            name: "Mary Ann Smith".into(),
            given_name: "Mary Ann".into(),
            family_name: "Smith".into(),
            role_code: "lead".into(),
            app_metadata: ManagedAppMetadata {
                employee_id: Some(1),
                department: Some("Shipping".into()),
                role_code: Some("lead".into()),
                workspace: Some("MS".into()),
                created_by: Some("ps-staging".into()),
                previous_names: vec![],
                podfactory_sync: None,
            },
            user_metadata: ManagedUserMetadata {
                employee_id: Some(1),
                full_name: Some("Mary Ann Smith".into()),
                department: Some("Shipping".into()),
            },
        }
    );
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(
        p.stats,
        PlanStats {
            excluded_accounts: 0,
            excluded_employees: 0,
            never_logged_in: 0,
            stale_accounts: 0,
            employees: 1,
            active_employees: 1,
            auth0_users: 0,
            managed_accounts: 0,
            unmanaged_accounts: 0,
            managed_unverified_email: 0,
        }
    );
}

#[test]
fn create_gives_a_single_word_name_as_given_name_only() {
    let p = run(&[emp(2, "Cher", "cher@example.com", true)], &[]);
    match &p.actions[..] {
        [PlannedAction {
            action:
                Action::Create {
                    name,
                    given_name,
                    family_name,
                    ..
                },
            ..
        }] => {
            assert_eq!(
                (name.as_str(), given_name.as_str(), family_name.as_str()),
                ("Cher", "Cher", "")
            );
        }
        other => panic!("expected one create, got {other:#?}"),
    }
}

#[test]
fn split_name_takes_last_word_as_family_name_and_collapses_spaces() {
    assert_eq!(
        split_name("Mary Ann Smith"),
        ("Mary Ann".into(), "Smith".into())
    );
    assert_eq!(
        split_name("  Mary   Ann  Smith "),
        ("Mary Ann".into(), "Smith".into())
    );
    assert_eq!(split_name("John Doe"), ("John".into(), "Doe".into()));
    assert_eq!(split_name("Cher"), ("Cher".into(), String::new()));
}

#[test]
fn no_create_for_inactive_employee_without_account() {
    let p = run(&[emp(3, "Gone Person", "gone@example.com", false)], &[]);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!((p.stats.employees, p.stats.active_employees), (1, 0));
}

#[test]
fn stale_stored_id_with_no_other_evidence_creates_for_active_employee() {
    let e = stored(emp(4, "Ann Lee", "ann@example.com", true), "auth0|gone");
    let p = run(&[e], &[]);
    assert_eq!(actions(&p), vec![act("create", 4, None)]);
}

// -------------------------------------------------------------------- link

#[test]
fn account_left_by_a_crash_is_linked_by_employee_id_metadata_not_recreated() {
    // Created by rosterd with employee_id, but the run crashed before the id
    // was written back on the employee row.
    let e = emp(5, "Ravi Patel", "ravi@example.com", true);
    let a = synced("auth0|a5", &e);
    let p = run(&[e], &[a]);

    assert_eq!(actions(&p), vec![act("link", 5, Some("auth0|a5"))]);
    assert_eq!(
        p.actions[0].action,
        Action::Link {
            previous_employee_id: None,
            employee_id: EmployeeId(5),
            auth0_user_id: uid("auth0|a5"),
            evidence: Evidence::EmployeeIdMetadata,
            role_code: "operator".into(),
        }
    );
    let reason = &p.actions[0].reason;
    assert!(
        reason.contains("auth0|a5") && reason.contains("app_metadata.employee_id"),
        "{reason}"
    );
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (1, 0)
    );
}

#[test]
fn metadata_beats_email_when_both_point_at_the_same_account() {
    let e = emp(5, "Ravi Patel", "ravi@example.com", true);
    let a = synced("auth0|a5", &e); // same email and employee_id
    let p = run(&[e], &[a]);
    match &p.actions[0].action {
        Action::Link { evidence, .. } => assert_eq!(*evidence, Evidence::EmployeeIdMetadata),
        other => panic!("expected link, got {other:?}"),
    }
}

#[test]
fn account_is_linked_by_email_case_insensitively() {
    // HR typed the address in mixed case; Auth0 stores it lowercased.
    let e = emp(6, "John Doe", "John.Doe@Example.COM", true);
    let a = account("auth0|a6", "john.doe@example.com", "John Doe");
    let p = run(&[e], &[a]);

    assert_eq!(
        actions(&p),
        vec![
            act("link", 6, Some("auth0|a6")),
            act("update", 6, Some("auth0|a6"))
        ]
    );
    assert_eq!(
        p.actions[0].action,
        Action::Link {
            previous_employee_id: None,
            employee_id: EmployeeId(6),
            auth0_user_id: uid("auth0|a6"),
            evidence: Evidence::Email,
            role_code: "operator".into(),
        }
    );
    let reason = &p.actions[0].reason;
    assert!(
        reason.contains("auth0|a6") && reason.contains("email"),
        "{reason}"
    );

    // The same plan stamps rosterd's metadata on the linked account.
    let (patch, role, fields, _) = only_update(&p);
    assert_eq!(
        fields,
        vec![
            "app_metadata.employee_id",
            "app_metadata.department",
            "app_metadata.workspace",
            "app_metadata.role_code",
            "user_metadata.employee_id",
            "user_metadata.full_name",
            "user_metadata.department",
        ]
    );
    assert_eq!(
        obj(&patch.app_metadata),
        json!({"employee_id": 6, "department": "Printing", "workspace": "TX", "role_code": "operator"})
    );
    assert_eq!(
        obj(&patch.user_metadata),
        json!({"employee_id": 6, "full_name": "John Doe", "department": "Printing"})
    );
    assert_eq!(
        (&patch.name, &patch.email, patch.email_verified),
        (&None, &None, None)
    );
    assert_eq!(
        role,
        Some(&RoleChange {
            from: None,
            to: "operator".into()
        })
    );
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (1, 0)
    );
}

#[test]
fn stale_stored_id_falls_back_to_metadata_and_reason_names_the_stale_id() {
    let e = emp(7, "Lin Wu", "lin@example.com", true);
    let a = synced("auth0|a7", &e);
    let p = run(&[stored(e, "auth0|deleted7")], &[a]);

    assert_eq!(actions(&p), vec![act("link", 7, Some("auth0|a7"))]);
    match &p.actions[0].action {
        Action::Link { evidence, .. } => assert_eq!(*evidence, Evidence::EmployeeIdMetadata),
        other => panic!("expected link, got {other:?}"),
    }
    let reason = &p.actions[0].reason;
    assert!(
        reason.contains("auth0|deleted7")
            && reason.contains("no longer exists")
            && reason.contains("auth0|a7"),
        "{reason}"
    );
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
}

#[test]
fn stale_stored_id_falls_back_to_email() {
    let e = stored(
        emp(8, "Omar Ali", "Omar@Example.com", true),
        "auth0|deleted8",
    );
    let a = account("auth0|a8", "omar@example.com", "Omar Ali");
    let p = run(&[e], &[a]);

    assert_eq!(
        actions(&p),
        vec![
            act("link", 8, Some("auth0|a8")),
            act("update", 8, Some("auth0|a8"))
        ]
    );
    match &p.actions[0].action {
        Action::Link { evidence, .. } => assert_eq!(*evidence, Evidence::Email),
        other => panic!("expected link, got {other:?}"),
    }
    let reason = &p.actions[0].reason;
    assert!(
        reason.contains("auth0|deleted8") && reason.contains("no longer exists"),
        "{reason}"
    );
}

#[test]
fn stored_id_present_plans_no_link() {
    let (e, a) = linked("auth0|a9", emp(9, "Eve Stone", "eve@example.com", true));
    let p = run(&[e], &[a]);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (1, 0)
    );
}

#[test]
fn stored_id_is_enough_even_without_rosterd_metadata_or_created_by() {
    // An account linked by hand: no created_by, but rosterd's keys in step.
    let (e, mut a) = linked("auth0|a10", emp(10, "Kim Park", "kim@example.com", true));
    a.app_metadata.created_by = None;
    let p = run(&[e], &[a]);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(p.stats.managed_accounts, 1);
}

// --------------------------------------------------------- block / unblock

#[test]
fn inactive_employees_unblocked_account_is_blocked() {
    let (e, mut a) = linked("auth0|a11", emp(11, "Sam Ford", "sam@example.com", false));
    a.blocked = false;
    let p = run(&[e], &[a]);
    assert_eq!(actions(&p), vec![act("block", 11, Some("auth0|a11"))]);
    assert!(
        p.actions[0].reason.contains("inactive"),
        "{}",
        p.actions[0].reason
    );
}

#[test]
fn inactive_employees_blocked_account_is_left_alone() {
    let (e, a) = linked("auth0|a12", emp(12, "Sam Ford", "sam@example.com", false));
    assert!(a.blocked);
    let p = run(&[e], &[a]);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
}

#[test]
fn inactive_employee_is_only_blocked_not_updated() {
    let (mut e, mut a) = linked("auth0|a13", emp(13, "Sam Ford", "sam@example.com", false));
    a.blocked = false;
    e.department = "Shipping".into();
    e.full_name = "Samuel Ford".into();
    let p = run(&[e], &[a]);
    assert_eq!(actions(&p), vec![act("block", 13, Some("auth0|a13"))]);
}

#[test]
fn reactivated_employees_blocked_account_is_unblocked() {
    let (e, mut a) = linked("auth0|a14", emp(14, "Pat Kay", "pat@example.com", true));
    a.blocked = true;
    let p = run(&[e], &[a]);
    assert_eq!(actions(&p), vec![act("unblock", 14, Some("auth0|a14"))]);
    assert!(
        p.actions[0].reason.contains("active again"),
        "{}",
        p.actions[0].reason
    );
}

#[test]
fn reactivated_and_drifted_account_is_unblocked_and_updated() {
    let (mut e, mut a) = linked("auth0|a15", emp(15, "Pat Kay", "pat@example.com", true));
    a.blocked = true;
    e.workspace = "MS".into();
    let p = run(&[e], &[a]);
    assert_eq!(
        actions(&p),
        vec![
            act("unblock", 15, Some("auth0|a15")),
            act("update", 15, Some("auth0|a15"))
        ]
    );
    assert_eq!(only_update(&p).2, vec!["app_metadata.workspace"]);
}

#[test]
fn inactive_employee_found_by_metadata_is_linked_then_blocked() {
    let e = emp(16, "Lee Roy", "lee@example.com", false);
    let mut a = synced("auth0|a16", &e);
    a.blocked = false;
    let p = run(&[e], &[a]);
    assert_eq!(
        actions(&p),
        vec![
            act("link", 16, Some("auth0|a16")),
            act("block", 16, Some("auth0|a16"))
        ]
    );
}

// ------------------------------------------------------------------ update

#[test]
fn name_change_patches_names_and_keeps_old_name_in_previous_names() {
    let (mut e, a) = linked("auth0|a17", emp(17, "Mary Smith", "mary@example.com", true));
    e.full_name = "Mary Ann Jones".into();
    let p = run(&[e], &[a]);

    assert_eq!(actions(&p), vec![act("update", 17, Some("auth0|a17"))]);
    let (patch, role, fields, reason) = only_update(&p);
    assert_eq!(fields, vec!["name", "user_metadata.full_name"]);
    assert!(
        reason.contains("drifted") && reason.contains("name"),
        "{reason}"
    );
    assert_eq!(patch.name.as_deref(), Some("Mary Ann Jones"));
    assert_eq!(patch.given_name.as_deref(), Some("Mary Ann"));
    assert_eq!(
        patch.family_name.clone().flatten().as_deref(),
        Some("Jones")
    );
    assert_eq!(
        obj(&patch.app_metadata),
        json!({"previous_names": ["Mary Smith"]})
    );
    assert_eq!(
        obj(&patch.user_metadata),
        json!({"full_name": "Mary Ann Jones"})
    );
    assert_eq!((&patch.email, patch.email_verified), (&None, None));
    assert_eq!(role, None);
}

#[test]
fn name_change_appends_to_existing_previous_names() {
    let (mut e, mut a) = linked("auth0|a18", emp(18, "Mary Smith", "mary@example.com", true));
    a.app_metadata.previous_names = vec!["Mary Brown".into()];
    e.full_name = "Mary Jones".into();
    let p = run(&[e], &[a]);
    let (patch, ..) = only_update(&p);
    assert_eq!(
        obj(&patch.app_metadata),
        json!({"previous_names": ["Mary Brown", "Mary Smith"]})
    );
}

#[test]
fn name_change_does_not_duplicate_a_known_previous_name() {
    // Changed back to an earlier name, then forward again.
    let (mut e, mut a) = linked("auth0|a19", emp(19, "Mary Smith", "mary@example.com", true));
    a.app_metadata.previous_names = vec!["Mary Smith".into(), "Mary Brown".into()];
    e.full_name = "Mary Brown".into();
    let p = run(&[e], &[a]);
    let (patch, ..) = only_update(&p);
    assert_eq!(
        obj(&patch.app_metadata),
        json!({"previous_names": ["Mary Smith", "Mary Brown"]})
    );
}

#[test]
fn name_that_was_an_email_or_missing_is_not_kept_as_previous_name() {
    // Auth0 defaults `name` to the email address.
    let (e, mut a) = linked("auth0|a20", emp(20, "Tom Hale", "tom@example.com", true));
    a.name = Some("tom@example.com".into());
    let p = run(std::slice::from_ref(&e), std::slice::from_ref(&a));
    let (patch, _, fields, _) = only_update(&p);
    assert_eq!(fields, vec!["name"]);
    assert_eq!(patch.name.as_deref(), Some("Tom Hale"));
    assert!(patch.app_metadata.is_empty(), "{:?}", patch.app_metadata);

    a.name = None;
    let p = run(&[e], &[a]);
    let (patch, _, fields, _) = only_update(&p);
    assert_eq!(fields, vec!["name"]);
    assert!(patch.app_metadata.is_empty(), "{:?}", patch.app_metadata);
}

#[test]
fn email_change_patches_email_and_marks_it_verified() {
    let (mut e, a) = linked("auth0|a21", emp(21, "Nia Cole", "nia@example.com", true));
    e.email = email("Nia.Cole@Example.com");
    let p = run(&[e], &[a]);

    assert_eq!(actions(&p), vec![act("update", 21, Some("auth0|a21"))]);
    let (patch, role, fields, reason) = only_update(&p);
    assert_eq!(fields, vec!["email"]);
    assert!(reason.contains("email"), "{reason}");
    assert_eq!(
        patch,
        &UserPatch {
            email: Some(email("nia.cole@example.com")),
            email_verified: Some(true),
            ..UserPatch::default()
        }
    );
    assert_eq!(role, None);
}

#[test]
fn account_without_usable_email_gets_the_employees_email() {
    let (e, mut a) = linked("auth0|a22", emp(22, "Ola Berg", "ola@example.com", true));
    a.email = None;
    let p = run(&[e], &[a]);
    let (patch, _, fields, _) = only_update(&p);
    assert_eq!(fields, vec!["email"]);
    assert_eq!(patch.email, Some(email("ola@example.com")));
    assert_eq!(patch.email_verified, Some(true));
}

#[test]
fn department_and_workspace_drift_patch_both_metadata() {
    let (mut e, a) = linked("auth0|a23", emp(23, "Ida Moss", "ida@example.com", true));
    e.department = "Shipping".into();
    e.workspace = "MS".into();
    let p = run(&[e], &[a]);

    let (patch, role, fields, reason) = only_update(&p);
    assert_eq!(
        fields,
        vec![
            "app_metadata.department",
            "app_metadata.workspace",
            "user_metadata.department"
        ]
    );
    assert!(
        reason.contains("department") && reason.contains("workspace"),
        "{reason}"
    );
    assert_eq!(
        obj(&patch.app_metadata),
        json!({"department": "Shipping", "workspace": "MS"})
    );
    assert_eq!(obj(&patch.user_metadata), json!({"department": "Shipping"}));
    assert_eq!((&patch.name, &patch.email), (&None, &None));
    assert_eq!(role, None);
}

#[test]
fn role_drift_patches_role_code_and_plans_role_change() {
    let (mut e, a) = linked("auth0|a24", emp(24, "Bo Dahl", "bo@example.com", true));
    e.role_code = "lead".into();
    let p = run(&[e], &[a]);

    let (patch, role, fields, reason) = only_update(&p);
    assert_eq!(fields, vec!["app_metadata.role_code"]);
    assert!(reason.contains("role_code"), "{reason}");
    assert_eq!(obj(&patch.app_metadata), json!({"role_code": "lead"}));
    assert!(patch.user_metadata.is_empty());
    assert_eq!(
        role,
        Some(&RoleChange {
            from: Some("operator".into()),
            to: "lead".into()
        })
    );
}

#[test]
fn empty_role_on_account_is_a_role_change_from_none() {
    let (mut e, mut a) = linked("auth0|a25", emp(25, "Bo Dahl", "bo@example.com", true));
    a.app_metadata.role_code = Some(String::new());
    e.role_code = "lead".into();
    let p = run(&[e], &[a]);
    let (_, role, ..) = only_update(&p);
    assert_eq!(
        role,
        Some(&RoleChange {
            from: None,
            to: "lead".into()
        })
    );
}

#[test]
fn user_metadata_drift_is_patched() {
    let (e, mut a) = linked("auth0|a26", emp(26, "Uma Rao", "uma@example.com", true));
    a.user_metadata = ManagedUserMetadata {
        employee_id: None,
        full_name: Some("Uma R.".into()),
        department: Some("Printing".into()),
    };
    let p = run(&[e], &[a]);

    let (patch, role, fields, _) = only_update(&p);
    assert_eq!(
        fields,
        vec!["user_metadata.employee_id", "user_metadata.full_name"]
    );
    assert_eq!(
        obj(&patch.user_metadata),
        json!({"employee_id": 26, "full_name": "Uma Rao"})
    );
    assert!(patch.app_metadata.is_empty());
    assert_eq!(patch.name, None);
    assert_eq!(role, None);
}

#[test]
fn in_sync_accounts_yield_no_actions_at_all() {
    let pairs = [
        linked("auth0|s1", emp(1, "Al One", "al@example.com", true)),
        linked("auth0|s2", emp(2, "Bea Two", "bea@example.com", false)),
        linked("auth0|s3", emp(3, "Cy Three", "cy@example.com", true)),
    ];
    let (employees, accounts): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    let p = run(&employees, &accounts);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(
        p.stats,
        PlanStats {
            excluded_accounts: 0,
            excluded_employees: 0,
            never_logged_in: 0,
            stale_accounts: 0,
            employees: 3,
            active_employees: 2,
            auth0_users: 3,
            managed_accounts: 3,
            unmanaged_accounts: 0,
            managed_unverified_email: 0,
        }
    );
    assert!(action_counts(&p).is_empty());
}

// ---------------------------------------------------------------- findings

#[test]
fn rosterd_account_with_no_employee_is_orphaned() {
    let mut a = account("auth0|o1", "left@example.com", "Left Behind");
    a.app_metadata.created_by = Some(CREATED_BY.into());
    let p = run(&[], &[a]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![fnd(FindingKind::Orphaned, None, &["auth0|o1"])]
    );
    assert!(
        p.findings[0].detail.contains("no employee claims it"),
        "{}",
        p.findings[0].detail
    );
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (1, 0)
    );
}

#[test]
fn account_carrying_an_unknown_employee_id_is_orphaned() {
    let mut a = account("auth0|o2", "who@example.com", "Who Knows");
    a.app_metadata.employee_id = Some(4242);
    let e = emp(1, "Someone Else", "else@example.com", true);
    let p = run(&[e], &[a]);

    assert_eq!(actions(&p), vec![act("create", 1, None)]);
    assert_eq!(
        findings(&p),
        vec![fnd(FindingKind::Orphaned, None, &["auth0|o2"])]
    );
    let d = &p.findings[0].detail;
    assert!(
        d.contains("4242") && d.contains("not in the employees table"),
        "{d}"
    );
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (1, 0)
    );
}

#[test]
fn two_accounts_with_the_same_employee_id_are_a_duplicate_and_nothing_is_done() {
    let e = emp(30, "Dup Licate", "dup@example.com", true);
    let a1 = synced("auth0|d1", &e);
    let mut a2 = synced("auth0|d2", &e);
    a2.email = Some(email("dup2@example.com"));
    let p = run(&[e], &[a1, a2]);

    assert!(
        p.actions.is_empty(),
        "no link and no create: {:#?}",
        p.actions
    );
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::DuplicateAccount,
            Some(30),
            &["auth0|d1", "auth0|d2"]
        )]
    );
    assert!(
        p.findings[0]
            .detail
            .contains("2 accounts carry employee_id 30"),
        "{}",
        p.findings[0].detail
    );
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (2, 0)
    );
}

#[test]
fn second_account_carrying_the_id_of_a_linked_employee_is_a_duplicate() {
    let (e, a1) = linked("auth0|d3", emp(31, "Dup Licate", "dup@example.com", true));
    let mut a2 = synced("auth0|d4", &e);
    a2.email = Some(email("dup-again@example.com"));
    let p = run(&[e], &[a1, a2]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::DuplicateAccount,
            Some(31),
            &["auth0|d3", "auth0|d4"]
        )]
    );
}

#[test]
fn two_accounts_with_the_employees_email_are_a_duplicate() {
    // Two connections (say database and passwordless) with one address.
    let e = emp(32, "Two Ways", "two@example.com", true);
    let a1 = account("auth0|e1", "two@example.com", "Two Ways");
    let a2 = account("email|e2", "two@example.com", "two@example.com");
    let p = run(&[e], &[a1, a2]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::DuplicateAccount,
            Some(32),
            &["auth0|e1", "email|e2"]
        )]
    );
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (2, 0)
    );
}

#[test]
fn account_found_by_email_carrying_another_employees_id_is_conflicting() {
    let e = emp(40, "Jo March", "jo@example.com", true);
    let mut a = account("auth0|c1", "jo@example.com", "Jo March");
    a.app_metadata.employee_id = Some(41); // employee 41 is not in the table
    let p = run(&[e], &[a]);

    assert!(
        actions_for(&p, 40).is_empty(),
        "no link, no create: {:#?}",
        p.actions
    );
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::ConflictingEvidence,
            Some(40),
            &["auth0|c1"]
        )]
    );
    let d = &p.findings[0].detail;
    assert!(
        d.contains("auth0|c1") && d.contains("email") && d.contains("41"),
        "{d}"
    );
    // Named in a finding, so managed, and not reported a second time as an orphan.
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (1, 0)
    );
}

// Employee 41's stored id and metadata agree on c2, so 41 keeps it; only the
// email side (40) is undecided. What 41's plan does is not asserted here.
#[test]
fn account_found_by_email_carrying_a_present_employees_id_is_conflicting_for_the_email_side() {
    let jo = emp(40, "Jo March", "jo@example.com", true);
    let (amy, mut a) = linked("auth0|c2", emp(41, "Amy March", "amy@example.com", true));
    a.email = Some(email("jo@example.com"));
    let p = run(&[jo, amy], &[a]);

    assert!(actions_for(&p, 40).is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::ConflictingEvidence,
            Some(40),
            &["auth0|c2"]
        )]
    );
}

#[test]
fn stored_id_and_email_pointing_to_different_accounts_is_conflicting() {
    let (e, mut mine) = linked("auth0|c3", emp(42, "Rex Hall", "rex@example.com", true));
    mine.email = Some(email("rex.old@example.com"));
    let other = account("auth0|c4", "rex@example.com", "Rex Hall");
    let p = run(&[e], &[mine, other]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::ConflictingEvidence,
            Some(42),
            &["auth0|c3", "auth0|c4"]
        )]
    );
    let d = &p.findings[0].detail;
    assert!(
        d.contains("auth0|c3") && d.contains("auth0|c4") && d.contains("stored"),
        "{d}"
    );
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (2, 0)
    );
}

#[test]
fn one_account_claimed_by_two_employees_stored_ids_leaves_both_undecided() {
    let a = account("auth0|c5", "shared.login@example.com", "Shared Login");
    let e1 = stored(emp(43, "Ann One", "ann1@example.com", true), "auth0|c5");
    let e2 = stored(emp(44, "Ann Two", "ann2@example.com", false), "auth0|c5");
    let p = run(&[e2, e1], &[a]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![
            fnd(FindingKind::ConflictingEvidence, Some(43), &["auth0|c5"]),
            fnd(FindingKind::ConflictingEvidence, Some(44), &["auth0|c5"]),
        ]
    );
    for f in &p.findings {
        assert!(
            f.detail.contains("claimed by employees 43, 44"),
            "{}",
            f.detail
        );
    }
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (1, 0)
    );
}

#[test]
fn account_claimed_by_stored_id_and_by_email_of_another_employee_leaves_both_undecided() {
    let a = account("auth0|c6", "bob@example.com", "Bob Old");
    let e1 = stored(emp(45, "Rob New", "rob@example.com", true), "auth0|c6");
    let e2 = emp(46, "Bob Ray", "bob@example.com", true);
    let p = run(&[e1, e2], &[a]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![
            fnd(FindingKind::ConflictingEvidence, Some(45), &["auth0|c6"]),
            fnd(FindingKind::ConflictingEvidence, Some(46), &["auth0|c6"]),
        ]
    );
}

// A stored id is a claim even when its employee ends undecided: the account
// must not go to another employee on weaker (metadata) evidence.
#[test]
fn account_named_by_one_employees_stored_id_and_anothers_metadata_leaves_both_undecided() {
    let ann = stored(emp(60, "Ann Stored", "ann@example.com", true), "auth0|k1");
    let ben = emp(61, "Ben Meta", "ben@example.com", true);
    let mut k1 = account("auth0|k1", "ann@example.com", "Ann Stored");
    k1.app_metadata.employee_id = Some(61);
    let p = run(&[ann, ben], &[k1]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![
            fnd(FindingKind::ConflictingEvidence, Some(60), &["auth0|k1"]),
            fnd(FindingKind::ConflictingEvidence, Some(61), &["auth0|k1"]),
        ]
    );
}

// An account found both by employee_id and by email is named once.
#[test]
fn conflict_finding_names_each_account_once() {
    // The stored account, plus a second account found both by employee_id
    // and by email, plus a third by employee_id only.
    let (e, mut mine) = linked("auth0|c7", emp(47, "Tia Nash", "tia@example.com", true));
    mine.email = Some(email("tia.old@example.com"));
    let both = synced("auth0|c8", &e);
    let mut meta_only = synced("auth0|c9", &e);
    meta_only.email = Some(email("tia.other@example.com"));
    let p = run(&[e], &[mine, both, meta_only]);

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![fnd(
            FindingKind::DuplicateAccount,
            Some(47),
            &["auth0|c7", "auth0|c8", "auth0|c9"]
        )]
    );
}

#[test]
fn shared_employee_email_is_a_finding_for_both_and_never_evidence() {
    let e1 = emp(50, "Kai Lund", "team@example.com", true);
    let e2 = emp(51, "Kai Lund Jr", "Team@Example.com", true);
    let bare = account("auth0|x1", "team@example.com", "Team Inbox");
    let p = run(&[e1, e2], &[bare]);

    assert!(
        p.actions.is_empty(),
        "no link-by-email and no create: {:#?}",
        p.actions
    );
    assert_eq!(
        findings(&p),
        vec![
            fnd(FindingKind::DuplicateEmployeeEmail, Some(50), &[]),
            fnd(FindingKind::DuplicateEmployeeEmail, Some(51), &[]),
        ]
    );
    for f in &p.findings {
        assert!(
            f.detail.contains("team@example.com") && f.detail.contains("50, 51"),
            "{}",
            f.detail
        );
    }
    // The account with that address is nobody's: unmanaged.
    assert_eq!(
        (p.stats.managed_accounts, p.stats.unmanaged_accounts),
        (0, 1)
    );
}

#[test]
fn shared_employee_email_without_any_account_creates_nothing() {
    // Two creates with one address: the second 409s, and a 409 is resolved
    // by linking, which would hand the first person's login to the second.
    let e1 = emp(52, "Kai Lund", "team@example.com", true);
    let e2 = emp(53, "Kai Lund Jr", "team@example.com", true);
    let p = run(&[e1, e2], &[]);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![
            fnd(FindingKind::DuplicateEmployeeEmail, Some(52), &[]),
            fnd(FindingKind::DuplicateEmployeeEmail, Some(53), &[]),
        ]
    );
}

#[test]
fn shared_employee_email_does_not_disturb_an_employee_linked_by_stored_id() {
    let (e1, a1) = linked("auth0|x2", emp(54, "Kai Lund", "team@example.com", true));
    let e2 = emp(55, "Kai Lund Jr", "team@example.com", true);
    let p = run(&[e1, e2], &[a1]);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![
            fnd(FindingKind::DuplicateEmployeeEmail, Some(54), &[]),
            fnd(FindingKind::DuplicateEmployeeEmail, Some(55), &[]),
        ]
    );
    assert_eq!(p.stats.managed_accounts, 1);
}

#[test]
fn invalid_rows_become_invalid_employee_findings() {
    let invalid = vec![
        invalid_row(7, "employee 7: name is empty or NULL", true, None),
        invalid_row(8, "employee 8: invalid email \"nope\": no @", true, None),
    ];
    let (e, a) = linked("auth0|v1", emp(1, "Val Id", "val@example.com", true));
    let p = plan(&[e], &[a], &invalid, &policy());

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert_eq!(
        findings(&p),
        vec![
            fnd(FindingKind::InvalidEmployee, Some(7), &[]),
            fnd(FindingKind::InvalidEmployee, Some(8), &[]),
        ]
    );
    let details: Vec<&str> = p.findings.iter().map(|f| f.detail.as_str()).collect();
    assert_eq!(
        details,
        vec![invalid[0].detail.as_str(), invalid[1].detail.as_str()]
    );
    // Invalid rows are not employees, and are never read as departures.
    assert_eq!(p.stats.employees, 1);
}

#[test]
fn finding_kinds_have_stable_names() {
    assert_eq!(FindingKind::Orphaned.as_str(), "orphaned");
    assert_eq!(FindingKind::DuplicateAccount.as_str(), "duplicate_account");
    assert_eq!(
        FindingKind::ConflictingEvidence.as_str(),
        "conflicting_evidence"
    );
    assert_eq!(
        FindingKind::DuplicateEmployeeEmail.as_str(),
        "duplicate_employee_email"
    );
    assert_eq!(FindingKind::InvalidEmployee.as_str(), "invalid_employee");
}

// --------------------------------------------------------------- unmanaged

#[test]
fn unmanaged_accounts_are_counted_and_never_touched() {
    let admin = account("auth0|admin", "admin@example.com", "Tenant Admin");
    let mut contractor = account("google-oauth2|contractor", "c@contractor.io", "Con Tractor");
    contractor.blocked = true;
    let mut other_tool = account("auth0|othertool", "bot@example.com", "Bot");
    other_tool.app_metadata.created_by = Some("some_other_tool".into());
    let mut no_email = account("auth0|noemail", "x@example.com", "No Email");
    no_email.email = None;
    let (e, a) = linked("auth0|m1", emp(1, "Real Person", "real@example.com", false));
    let inactive_no_account = emp(2, "Left Long Ago", "left@example.com", false);
    let unmanaged = [
        "auth0|admin",
        "google-oauth2|contractor",
        "auth0|othertool",
        "auth0|noemail",
    ];

    let p = run(
        &[e, inactive_no_account],
        &[admin, contractor, other_tool, no_email, a],
    );

    assert!(p.actions.is_empty(), "{:#?}", p.actions);
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    for id in unmanaged {
        assert!(!mentions(&p, id), "{id} must not appear in the plan");
    }
    assert_eq!(
        p.stats,
        PlanStats {
            excluded_accounts: 0,
            excluded_employees: 0,
            never_logged_in: 0,
            stale_accounts: 0,
            employees: 2,
            active_employees: 0,
            auth0_users: 5,
            managed_accounts: 1,
            unmanaged_accounts: 4,
            managed_unverified_email: 0,
        }
    );
}

// ------------------------------------------------------------- convergence

fn employee_mut(employees: &mut [Employee], id: EmployeeId) -> &mut Employee {
    employees
        .iter_mut()
        .find(|e| e.id == id)
        .expect("action names a known employee")
}

fn account_mut<'a>(accounts: &'a mut [Auth0User], id: &Auth0UserId) -> &'a mut Auth0User {
    accounts
        .iter_mut()
        .find(|a| &a.user_id == id)
        .expect("action names an existing account")
}

/// Auth0's top-level merge of a metadata object (a null value removes the key).
fn merge<T: Serialize + DeserializeOwned>(have: &T, patch: &serde_json::Map<String, Value>) -> T {
    let mut v = serde_json::to_value(have).unwrap();
    let o = v.as_object_mut().unwrap();
    for (k, val) in patch {
        if val.is_null() {
            o.remove(k);
        } else {
            o.insert(k.clone(), val.clone());
        }
    }
    serde_json::from_value(v).unwrap()
}

/// What Auth0 plus the shell's recording would do with a plan: every action
/// succeeds, creates get a fresh id that is written back on the employee.
fn apply(p: &Plan, employees: &mut [Employee], accounts: &mut Vec<Auth0User>) {
    for (n, pa) in p.actions.iter().enumerate() {
        match &pa.action {
            Action::Create {
                employee_id,
                email,
                name,
                app_metadata,
                user_metadata,
                ..
            } => {
                let id = Auth0UserId(format!("auth0|new{}-{n}", accounts.len()));
                assert!(accounts.iter().all(|a| a.user_id != id));
                accounts.push(Auth0User {
                    created_at: None,
                    last_login: None,
                    connection: None,
                    app_metadata_flags: Vec::new(),
                    user_id: id.clone(),
                    email: Some(email.clone()),
                    name: Some(name.clone()),
                    email_verified: true,
                    blocked: false,
                    app_metadata: app_metadata.clone(),
                    user_metadata: user_metadata.clone(),
                });
                employee_mut(employees, *employee_id).auth0_user_id = Some(id);
            }
            Action::Link {
                employee_id,
                auth0_user_id,
                ..
            } => {
                account_mut(accounts, auth0_user_id);
                employee_mut(employees, *employee_id).auth0_user_id = Some(auth0_user_id.clone());
            }
            Action::Block { auth0_user_id, .. } => {
                account_mut(accounts, auth0_user_id).blocked = true
            }
            Action::Unblock { auth0_user_id, .. } => {
                account_mut(accounts, auth0_user_id).blocked = false
            }
            Action::Update {
                auth0_user_id,
                patch,
                ..
            } => {
                let a = account_mut(accounts, auth0_user_id);
                if let Some(name) = &patch.name {
                    a.name = Some(name.clone());
                }
                if let Some(email) = &patch.email {
                    a.email = Some(email.clone());
                }
                a.app_metadata = merge(&a.app_metadata, &patch.app_metadata);
                a.user_metadata = merge(&a.user_metadata, &patch.user_metadata);
            }
        }
    }
}

/// About thirty employees with every kind of drift, plus orphans and
/// unmanaged accounts.
fn mixed_scenario() -> (Vec<Employee>, Vec<Auth0User>) {
    let mut es = Vec::new();
    let mut us = Vec::new();
    fn pair((e, a): (Employee, Auth0User), es: &mut Vec<Employee>, us: &mut Vec<Auth0User>) {
        es.push(e);
        us.push(a);
    }

    // 1, 2: in sync (active; inactive and blocked).
    pair(
        linked("auth0|u01", emp(1, "Al One", "al@example.com", true)),
        &mut es,
        &mut us,
    );
    pair(
        linked("auth0|u02", emp(2, "Bea Two", "bea@example.com", false)),
        &mut es,
        &mut us,
    );
    // 3: new; 4: new but inactive.
    es.push(emp(3, "Cy Three", "Cy.Three@Example.com", true));
    es.push(emp(4, "Di Four", "di@example.com", false));
    // 5: crash between create and record.
    let e5 = emp(5, "Ed Five", "ed@example.com", true);
    us.push(synced("auth0|u05", &e5));
    es.push(e5);
    // 6: existing account found by mixed-case email.
    es.push(emp(6, "Dana Lee", "Dana.Lee@Example.com", true));
    us.push(account("auth0|u06", "dana.lee@example.com", "Dana Lee"));
    // 7, 8: stale stored ids, found by metadata and by email.
    let e7 = emp(7, "Flo Seven", "flo@example.com", true);
    us.push(synced("auth0|u07", &e7));
    es.push(stored(e7, "auth0|gone7"));
    es.push(stored(
        emp(8, "Gus Eight", "gus@example.com", true),
        "auth0|gone8",
    ));
    us.push(account("auth0|u08", "gus@example.com", "Gus Eight"));
    // 9: deactivated; 10: reactivated.
    let (e, mut a) = linked("auth0|u09", emp(9, "Hal Nine", "hal@example.com", false));
    a.blocked = false;
    pair((e, a), &mut es, &mut us);
    let (e, mut a) = linked("auth0|u10", emp(10, "Ivy Ten", "ivy@example.com", true));
    a.blocked = true;
    pair((e, a), &mut es, &mut us);
    // 11..16: name, email, department, workspace, role, user_metadata drift.
    let (mut e, a) = linked("auth0|u11", emp(11, "Mary Smith", "mary@example.com", true));
    e.full_name = "Mary Ann Jones".into();
    pair((e, a), &mut es, &mut us);
    let (mut e, a) = linked("auth0|u12", emp(12, "Ned Twelve", "ned@example.com", true));
    e.email = email("Ned.T@Example.com");
    pair((e, a), &mut es, &mut us);
    let (mut e, a) = linked("auth0|u13", emp(13, "Oz Thirteen", "oz@example.com", true));
    e.department = "Shipping".into();
    pair((e, a), &mut es, &mut us);
    let (mut e, a) = linked(
        "auth0|u14",
        emp(14, "Pia Fourteen", "pia@example.com", true),
    );
    e.workspace = "MS".into();
    pair((e, a), &mut es, &mut us);
    let (mut e, a) = linked(
        "auth0|u15",
        emp(15, "Quin Fifteen", "quin@example.com", true),
    );
    e.role_code = "lead".into();
    pair((e, a), &mut es, &mut us);
    let (e, mut a) = linked("auth0|u16", emp(16, "Rae Sixteen", "rae@example.com", true));
    a.user_metadata = ManagedUserMetadata::default();
    pair((e, a), &mut es, &mut us);
    // 17: reactivated and drifted.
    let (mut e, mut a) = linked(
        "auth0|u17",
        emp(17, "Sol Seventeen", "sol@example.com", true),
    );
    a.blocked = true;
    e.department = "Packing".into();
    pair((e, a), &mut es, &mut us);
    // 18: inactive, found by metadata, not yet blocked.
    let e18 = emp(18, "Tom Eighteen", "tom@example.com", false);
    let mut a18 = synced("auth0|u18", &e18);
    a18.blocked = false;
    us.push(a18);
    es.push(e18);
    // 19: two accounts carry its id.
    let e19 = emp(19, "Uli Nineteen", "uli@example.com", true);
    let mut a19b = synced("auth0|u19b", &e19);
    a19b.email = Some(email("uli.2@example.com"));
    us.push(synced("auth0|u19a", &e19));
    us.push(a19b);
    es.push(e19);
    // 20: its email's account carries an unknown employee id.
    es.push(emp(20, "Vic Twenty", "vic@example.com", true));
    let mut a20 = account("auth0|u20", "vic@example.com", "Vic Twenty");
    a20.app_metadata.employee_id = Some(9020);
    us.push(a20);
    // 21: stored id and email disagree.
    let (e, mut a) = linked(
        "auth0|u21",
        emp(21, "Wes TwentyOne", "wes@example.com", true),
    );
    a.email = Some(email("wes.old@example.com"));
    pair((e, a), &mut es, &mut us);
    us.push(account("auth0|u21x", "wes@example.com", "Wes"));
    // 22, 23: one account, two stored ids.
    us.push(account("auth0|u22", "kiosk@example.com", "Kiosk"));
    es.push(stored(
        emp(22, "Xia TwentyTwo", "xia@example.com", true),
        "auth0|u22",
    ));
    es.push(stored(
        emp(23, "Yul TwentyThree", "yul@example.com", true),
        "auth0|u22",
    ));
    // 24, 25: a shared address.
    es.push(emp(24, "Zed TwentyFour", "front.desk@example.com", true));
    es.push(emp(25, "Zoe TwentyFive", "Front.Desk@example.com", true));
    // 26: a known previous name and a name change.
    let (mut e, mut a) = linked("auth0|u26", emp(26, "Ana Moreno", "ana@example.com", true));
    a.app_metadata.previous_names = vec!["Ana Garcia".into()];
    e.full_name = "Ana Garcia".into();
    pair((e, a), &mut es, &mut us);
    // 27: everything at once.
    let (mut e, a) = linked("auth0|u27", emp(27, "Ben Old", "ben@example.com", true));
    e.full_name = "Ben New".into();
    e.email = email("ben.new@example.com");
    e.department = "Shipping".into();
    e.workspace = "MS".into();
    e.role_code = "supervisor".into();
    pair((e, a), &mut es, &mut us);
    // 28: name missing; 29: email missing.
    let (e, mut a) = linked(
        "auth0|u28",
        emp(28, "Cat TwentyEight", "cat@example.com", true),
    );
    a.name = None;
    pair((e, a), &mut es, &mut us);
    let (e, mut a) = linked(
        "auth0|u29",
        emp(29, "Dov TwentyNine", "dov@example.com", true),
    );
    a.email = None;
    pair((e, a), &mut es, &mut us);
    // 30: stale stored id and nothing else: created anew.
    es.push(stored(
        emp(30, "Eli Thirty", "eli@example.com", true),
        "auth0|gone30",
    ));
    // 31: account by email, blocked, no metadata: link, unblock, update.
    es.push(emp(31, "Fay ThirtyOne", "fay@example.com", true));
    let mut a31 = account("auth0|u31", "fay@example.com", "Fay");
    a31.blocked = true;
    us.push(a31);

    // 32: its stored account, plus two more carrying its id.
    let (e, a) = linked(
        "auth0|u32",
        emp(32, "Gil ThirtyTwo", "gil@example.com", true),
    );
    pair((e.clone(), a), &mut es, &mut us);
    for (id, mail) in [
        ("auth0|u32c", "gil.c@example.com"),
        ("auth0|u32b", "gil.b@example.com"),
    ] {
        let mut extra = synced(id, &e);
        extra.email = Some(email(mail));
        us.push(extra);
    }

    // Orphans and unmanaged accounts.
    let mut orphan = account("auth0|orphan", "left@example.com", "Left Behind");
    orphan.app_metadata.created_by = Some(CREATED_BY.into());
    us.push(orphan);
    let mut unknown = account("auth0|unknown", "unknown@example.com", "Unknown");
    unknown.app_metadata.employee_id = Some(4242);
    us.push(unknown);
    us.push(account("auth0|admin", "admin@example.com", "Tenant Admin"));
    let mut contractor = account("google-oauth2|con", "con@contractor.io", "Con");
    contractor.blocked = true;
    us.push(contractor);
    // An address no employee has any more; no metadata: unmanaged.
    us.push(account(
        "auth0|test",
        "front.desk@example.com",
        "Front Desk",
    ));

    (es, us)
}

/// The stored plan tags each action with its kind: the same strings as
/// `reconcile_actions.kind`, so the two never drift apart.
#[test]
fn an_actions_serde_tag_is_its_kinds_string() {
    let (employees, accounts) = mixed_scenario();
    let p = run(&employees, &accounts);
    let mut seen = std::collections::BTreeSet::new();
    for a in &p.actions {
        let tag = serde_json::to_value(&a.action).unwrap()["kind"].clone();
        assert_eq!(tag, a.action.kind().as_str());
        assert_eq!(a.action.kind().as_str().parse(), Ok(a.action.kind()));
        seen.insert(a.action.kind().as_str());
    }
    assert_eq!(seen.len(), ActionKind::ALL.len(), "{seen:?}");
    for k in FindingKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        assert_eq!(
            serde_json::from_value::<FindingKind>(json!(k.as_str())).unwrap(),
            *k
        );
    }
    assert!("orphan".parse::<FindingKind>().is_err());
}

#[test]
fn second_plan_after_applying_the_first_plans_nothing() {
    let (mut employees, mut accounts) = mixed_scenario();
    let first = run(&employees, &accounts);

    // The first plan exercises every action and finding kind.
    let counts = action_counts(&first);
    for kind in ["create", "link", "block", "unblock", "update"] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} in {counts:?}"
        );
    }
    assert_eq!(counts["create"], 2, "{:#?}", actions(&first)); // employees 3 and 30
    assert_eq!(counts["block"], 2); // 9 and 18
    assert_eq!(counts["unblock"], 3); // 10, 17, 31
    assert_eq!(
        findings(&first),
        vec![
            fnd(FindingKind::Orphaned, None, &["auth0|orphan"]),
            fnd(FindingKind::Orphaned, None, &["auth0|unknown"]),
            fnd(
                FindingKind::DuplicateAccount,
                Some(19),
                &["auth0|u19a", "auth0|u19b"]
            ),
            fnd(
                FindingKind::DuplicateAccount,
                Some(32),
                &["auth0|u32", "auth0|u32b", "auth0|u32c"]
            ),
            fnd(FindingKind::ConflictingEvidence, Some(20), &["auth0|u20"]),
            fnd(
                FindingKind::ConflictingEvidence,
                Some(21),
                &["auth0|u21", "auth0|u21x"]
            ),
            fnd(FindingKind::ConflictingEvidence, Some(22), &["auth0|u22"]),
            fnd(FindingKind::ConflictingEvidence, Some(23), &["auth0|u22"]),
            fnd(FindingKind::DuplicateEmployeeEmail, Some(24), &[]),
            fnd(FindingKind::DuplicateEmployeeEmail, Some(25), &[]),
        ]
    );
    for undecided in [19, 20, 21, 22, 23, 24, 25, 32] {
        assert!(
            actions_for(&first, undecided).is_empty(),
            "employee {undecided}"
        );
    }
    for id in ["auth0|admin", "google-oauth2|con", "auth0|test"] {
        assert!(!mentions(&first, id), "{id}");
    }
    assert_eq!(first.stats.unmanaged_accounts, 3);

    apply(&first, &mut employees, &mut accounts);
    let second = run(&employees, &accounts);
    assert!(
        second.actions.is_empty(),
        "not converged: {:#?}",
        second.actions
    );
    assert_eq!(second.findings, first.findings);
    assert_eq!(second.stats.auth0_users, first.stats.auth0_users + 2);
    assert_eq!(
        second.stats.managed_accounts,
        first.stats.managed_accounts + 2
    );
    assert_eq!(second.stats.unmanaged_accounts, 3);

    // Previous names were kept, once.
    let u11 = accounts
        .iter()
        .find(|a| a.user_id.0 == "auth0|u11")
        .unwrap();
    assert_eq!(
        u11.app_metadata.previous_names,
        vec!["Mary Smith".to_string()]
    );
    let u26 = accounts
        .iter()
        .find(|a| a.user_id.0 == "auth0|u26")
        .unwrap();
    assert_eq!(
        u26.app_metadata.previous_names,
        vec!["Ana Garcia".to_string(), "Ana Moreno".to_string()]
    );
}

#[test]
fn partially_applied_plan_is_finished_by_the_next_one() {
    // Losing every other action (failures, a crash) leaves a state the next
    // plan finishes from, and then there is nothing left to do.
    let (mut employees, mut accounts) = mixed_scenario();
    let mut first = run(&employees, &accounts);
    let mut i = 0;
    first.actions.retain(|_| {
        i += 1;
        i % 2 == 0
    });
    apply(&first, &mut employees, &mut accounts);
    let second = run(&employees, &accounts);
    assert!(!second.actions.is_empty());
    apply(&second, &mut employees, &mut accounts);
    let third = run(&employees, &accounts);
    assert!(
        third.actions.is_empty(),
        "not converged: {:#?}",
        third.actions
    );
}

// ------------------------------------------------------------- determinism

// The plan does not depend on the order Auth0 returns users in: findings
// are stored and compared across runs.
#[test]
fn plan_is_the_same_for_shuffled_inputs() {
    let (employees, accounts) = mixed_scenario();
    let invalid = vec![invalid_row(99, "employee 99: email is NULL", true, None)];
    let expected = plan(&employees, &accounts, &invalid, &policy());
    for seed in 0..20 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut es = employees.clone();
        let mut us = accounts.clone();
        es.shuffle(&mut rng);
        us.shuffle(&mut rng);
        let again = plan(&es, &us, &invalid, &policy());
        assert_eq!(
            again.actions, expected.actions,
            "actions differ, seed {seed}"
        );
        assert_eq!(
            again.findings, expected.findings,
            "findings differ, seed {seed}"
        );
        assert_eq!(again.stats, expected.stats, "stats differ, seed {seed}");
        assert_eq!(again, expected, "seed {seed}");
    }
}

// ------------------------------------------------------------------- guard

fn guard(max_block_count: usize, max_block_share: f64, min_employee_share: f64) -> GuardPolicy {
    GuardPolicy {
        max_block_count,
        max_block_share,
        max_unblock_count: 1000,
        max_unblock_share: 1.0,
        max_email_change_count: 1000,
        max_email_change_share: 1.0,
        min_employee_share,
    }
}

/// A plan over `managed` employees with linked accounts, of whom the first
/// `blocks` just left, plus `new_hires` active employees with no account yet.
fn plan_with_blocks(managed: i64, blocks: i64, new_hires: i64) -> Plan {
    let mut es = Vec::new();
    let mut us = Vec::new();
    for i in 1..=managed {
        let active = i > blocks;
        let (e, mut a) = linked(
            &format!("auth0|g{i}"),
            emp(i, "Gee Person", &format!("g{i}@example.com"), active),
        );
        a.blocked = false;
        es.push(e);
        us.push(a);
    }
    for i in managed + 1..=managed + new_hires {
        es.push(emp(i, "New Person", &format!("new{i}@example.com"), true));
    }
    let p = run(&es, &us);
    let counts = action_counts(&p);
    assert_eq!(counts.get("block").copied().unwrap_or(0), blocks as usize);
    assert_eq!(
        counts.get("create").copied().unwrap_or(0),
        new_hires as usize
    );
    assert_eq!(p.stats.managed_accounts, managed as usize);
    p
}

#[test]
fn check_source_refuses_zero_rows() {
    let g = guard(10, 0.1, 0.5);
    for previous in [None, Some(0), Some(1000)] {
        let err = check_source(0, 0, previous, &g).unwrap_err().to_string();
        assert!(err.contains("no rows"), "{err}");
    }
}

#[test]
fn check_source_refuses_a_collapse_below_min_share_of_the_previous_run() {
    let g = guard(10, 0.1, 0.5);
    let err = check_source(499, 499, Some(1000), &g)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("499") && err.contains("1000") && err.contains("50%"),
        "{err}"
    );
    let err = check_source(1, 1, Some(1000), &g).unwrap_err().to_string();
    assert!(err.contains("refusing"), "{err}");
}

#[test]
fn check_source_accepts_at_or_above_the_floor_and_without_a_previous_run() {
    let g = guard(10, 0.1, 0.5);
    assert_eq!(check_source(500, 500, Some(1000), &g), Ok(()));
    assert_eq!(check_source(999, 999, Some(1000), &g), Ok(()));
    assert_eq!(check_source(5000, 5000, Some(1000), &g), Ok(()));
    assert_eq!(check_source(1, 1, None, &g), Ok(()));
    // Odd counts round the floor up: 51 of 101 is the least that passes.
    assert!(check_source(50, 50, Some(101), &g).is_err());
    assert_eq!(check_source(51, 51, Some(101), &g), Ok(()));
}

#[test]
fn check_source_accepts_exactly_the_min_share() {
    // 0.55 * 100 is 55.000000000000007 in binary floating point; exactly 55%
    // of the previous count is not "fewer than 55%".
    for (share, prev, rows) in [
        (0.55, 100, 55),
        (0.07, 100, 7),
        (0.14, 5000, 700),
        (0.5, 1000, 500),
    ] {
        let g = guard(10, 0.1, share);
        assert_eq!(
            check_source(rows, rows, Some(prev), &g),
            Ok(()),
            "{rows} of {prev} at {share}"
        );
        assert!(
            check_source(rows - 1, rows - 1, Some(prev), &g).is_err(),
            "{} of {prev} at {share}",
            rows - 1
        );
    }
}

#[test]
fn check_plan_holds_when_blocks_exceed_max_block_count() {
    let p = plan_with_blocks(100, 3, 0);
    let reason = check_plan(&p, &guard(2, 1.0, 0.5))
        .expect("held")
        .to_string();
    assert!(
        reason.contains("blocks 3 accounts") && reason.contains("max_block_count = 2"),
        "{reason}"
    );
}

#[test]
fn check_plan_holds_when_share_of_managed_accounts_exceeds_max_block_share() {
    let p = plan_with_blocks(10, 3, 0);
    let reason = check_plan(&p, &guard(100, 0.2, 0.5))
        .expect("held")
        .to_string();
    assert!(
        reason.contains("3 of 10") && reason.contains("max_block_share"),
        "{reason}"
    );
}

#[test]
fn check_plan_passes_within_limits_and_with_zero_blocks() {
    // Exactly at both limits is not over them.
    let p = plan_with_blocks(10, 2, 0);
    assert_eq!(check_plan(&p, &guard(2, 0.2, 0.5)), None);
    let p = plan_with_blocks(100, 3, 0);
    assert_eq!(check_plan(&p, &guard(5, 0.05, 0.5)), None);
    // Creates, updates and the like are never held, whatever the limits.
    let p = plan_with_blocks(10, 0, 3);
    assert_eq!(check_plan(&p, &guard(0, 0.0, 0.5)), None);
    assert_eq!(check_plan(&Plan::default(), &guard(0, 0.0, 0.5)), None);
}

#[test]
fn check_plan_share_is_of_employees_when_few_accounts_are_linked_yet() {
    // First install: 2 accounts linked, 98 employees still to create. One
    // leaver is 1 of 100, not half of everything.
    let p = plan_with_blocks(2, 1, 98);
    assert_eq!(check_plan(&p, &guard(10, 0.05, 0.5)), None);
    // With nothing else to compare against, the managed count still rules.
    let p = plan_with_blocks(2, 1, 0);
    let reason = check_plan(&p, &guard(10, 0.05, 0.5))
        .expect("held")
        .to_string();
    assert!(reason.contains("1 of 2"), "{reason}");
}

// ------------------------------------------------------------------- scale

#[test]
fn twenty_thousand_employees_in_sync_plan_nothing() {
    const N: i64 = 20_000;
    let mut es = Vec::with_capacity(N as usize);
    let mut us = Vec::with_capacity(N as usize);
    for i in 1..=N {
        let mut e = emp(
            i,
            &format!("Person Number{i}"),
            &format!("p{i}@example.com"),
            i % 10 != 0,
        );
        e.workspace = if i % 2 == 0 { "TX" } else { "MS" }.into();
        let (e, a) = linked(&format!("auth0|{i:024x}"), e);
        es.push(e);
        us.push(a);
    }
    let p = run(&es, &us);
    assert!(
        p.actions.is_empty(),
        "{} actions, first {:?}",
        p.actions.len(),
        p.actions.first()
    );
    assert!(p.findings.is_empty(), "{} findings", p.findings.len());
    assert_eq!(
        p.stats,
        PlanStats {
            excluded_accounts: 0,
            excluded_employees: 0,
            never_logged_in: 0,
            stale_accounts: 0,
            employees: N as usize,
            active_employees: (N - N / 10) as usize,
            auth0_users: N as usize,
            managed_accounts: N as usize,
            unmanaged_accounts: 0,
            managed_unverified_email: 0,
        }
    );
}

// ------------------------------------------------- podfactory_sync (Option B)

#[test]
fn rich_metadata_create_carries_the_podfactory_link() {
    let e = emp(1, "Ann Lee", "ann@x.com", true);
    let p = plan(&[e], &[], &[], &rich(&[(1, "pf-7", "ann.shp@x.com")]));
    let Action::Create { app_metadata, .. } = &p.actions[0].action else {
        panic!("{:#?}", p.actions)
    };
    assert_eq!(
        app_metadata.podfactory_sync,
        Some(json!({
            "podfactory_user_id": "pf-7",
            "podfactory_email": "ann.shp@x.com",
            "matched_by": "email_suffix",
            "email_variations": ["ann.shp@x.com"],
        }))
    );
}

#[test]
fn rich_metadata_missing_or_changed_link_is_drift_and_a_written_one_converges() {
    let (e, mut a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.com", true));
    let pol = rich(&[(1, "pf-7", "ann.shp@x.com")]);
    let p = plan_one(&e, &a, &pol);
    let (patch, role, fields, _) = only_update(&p);
    assert_eq!(fields, vec!["app_metadata.podfactory_sync"]);
    assert!(role.is_none());
    assert_eq!(
        patch.app_metadata["podfactory_sync"]["podfactory_user_id"],
        "pf-7"
    );

    // What Auth0 holds after the patch plans nothing more.
    a.app_metadata.podfactory_sync = Some(patch.app_metadata["podfactory_sync"].clone());
    let again = plan_one(&e, &a, &pol);
    assert!(again.actions.is_empty(), "{:#?}", again.actions);

    // PodFactory now links another user to the employee: the block follows.
    let moved = rich(&[(1, "pf-9", "ann.hp@x.com")]);
    let p = plan_one(&e, &a, &moved);
    let (patch, _, fields, _) = only_update(&p);
    assert_eq!(fields, vec!["app_metadata.podfactory_sync"]);
    assert_eq!(
        patch.app_metadata["podfactory_sync"]["podfactory_user_id"],
        "pf-9"
    );
}

#[test]
fn rich_metadata_stale_link_is_removed_but_left_alone_when_off() {
    let (e, mut a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.com", true));
    a.app_metadata.podfactory_sync = Some(json!({"podfactory_user_id": "pf-7"}));

    // On, and the employee no longer matches anyone: null removes the key.
    let p = plan_one(&e, &a, &rich(&[]));
    let (patch, _, fields, _) = only_update(&p);
    assert_eq!(fields, vec!["app_metadata.podfactory_sync"]);
    assert_eq!(patch.app_metadata["podfactory_sync"], Value::Null);

    // Off: rosterd does not own the key, whatever it holds.
    let p = run(&[e], &[a]);
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
}

#[test]
fn rich_metadata_never_touches_an_inactive_employees_account_beyond_blocking() {
    let (e, a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.com", false));
    let p = plan_one(&e, &a, &rich(&[(1, "pf-7", "ann.shp@x.com")]));
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
}

#[test]
fn unverified_emails_are_counted_among_managed_accounts_only() {
    let (e, mut a) = linked("auth0|1", emp(1, "Ann Lee", "ann@x.com", true));
    a.email_verified = false;
    let mut orphan = account("auth0|2", "gone@x.com", "Gone");
    orphan.app_metadata.created_by = Some(CREATED_BY.into());
    orphan.email_verified = false;
    let mut admin = account("auth0|3", "admin@x.com", "Admin");
    admin.email_verified = false;
    let p = run(&[e], &[a, orphan, admin]);
    assert_eq!(
        (
            p.stats.managed_accounts,
            p.stats.unmanaged_accounts,
            p.stats.managed_unverified_email
        ),
        (2, 1, 2)
    );
    // Reporting only: an unverified email plans nothing.
    assert!(p.actions.is_empty(), "{:#?}", p.actions);
}

// ------------------------------------------------------- issue 9: leavers

#[test]
fn leaver_with_two_accounts_carrying_their_id_has_both_blocked() {
    let e = emp(1, "Ana Ruiz", "ana.ruiz@example.com", false);
    let mut a = account("auth0|a", "ana.ruiz@example.com", "Ana Ruiz");
    let mut b = account("auth0|b", "ana.ruiz+dup@example.com", "Ana Ruiz");
    a.app_metadata.employee_id = Some(1);
    b.app_metadata.employee_id = Some(1);
    let p = run(&[e], &[a, b]);
    assert_eq!(
        actions(&p),
        vec![
            act("block", 1, Some("auth0|a")),
            act("block", 1, Some("auth0|b")),
        ]
    );
    let f = &p.findings[0];
    assert_eq!(f.kind, FindingKind::DuplicateAccount);
    assert!(
        f.detail.contains("has left") && f.detail.contains("auth0|a, auth0|b"),
        "{}",
        f.detail
    );
}

#[test]
fn leaver_undecided_between_stored_and_email_accounts_has_both_blocked() {
    let e = stored(emp(1, "Ana Ruiz", "ana@example.com", false), "auth0|s");
    let s = synced("auth0|s", &emp(1, "Ana Ruiz", "old@example.com", true));
    let other = account("auth0|m", "ana@example.com", "Ana R");
    let p = run(&[e], &[s, other]);
    assert_eq!(
        actions(&p),
        vec![
            act("block", 1, Some("auth0|m")),
            act("block", 1, Some("auth0|s")),
        ]
    );
}

#[test]
fn leaver_never_blocks_an_account_an_active_employee_claims() {
    // The leaver's email account carries an active colleague's id, and the
    // leaver's stored id points at the colleague's linked account.
    let (colleague, theirs) = linked("auth0|c", emp(2, "Cole League", "cole@example.com", true));
    let leaver = stored(emp(1, "Lee Ver", "lee@example.com", false), "auth0|c");
    let mut by_mail = account("auth0|x", "lee@example.com", "Lee Ver");
    by_mail.app_metadata.employee_id = Some(2);
    let p = run(&[leaver, colleague], &[theirs, by_mail]);
    assert!(
        actions(&p).iter().all(|(kind, ..)| *kind != "block"),
        "{:#?}",
        p.actions
    );
}

#[test]
fn leaver_linked_account_is_blocked_once_even_if_another_leaver_names_it() {
    let (e1, a1) = linked("auth0|1", emp(1, "One Left", "one@example.com", false));
    let mut a1 = a1;
    a1.blocked = false;
    let e2 = stored(emp(2, "Two Left", "two@example.com", false), "auth0|1");
    let p = run(&[e1, e2], &[a1]);
    let blocks: Vec<_> = actions(&p)
        .into_iter()
        .filter(|(k, ..)| *k == "block")
        .collect();
    assert_eq!(blocks.len(), 1, "{:#?}", p.actions);
}

#[test]
fn invalid_row_of_a_leaver_blocks_their_accounts_and_names_them() {
    let (_, mut a) = linked("auth0|e5", emp(5, "Eve Left", "eve@example.com", true));
    a.blocked = false;
    let rows = [invalid_row(
        5,
        "employee 5: email is NULL",
        true,
        Some("auth0|e5"),
    )];
    let p = plan(&[], &[a], &rows, &policy());
    assert_eq!(actions(&p), vec![act("block", 5, Some("auth0|e5"))]);
    assert_eq!(
        findings(&p),
        vec![fnd(FindingKind::InvalidEmployee, Some(5), &["auth0|e5"])]
    );
    let detail = &p.findings[0].detail;
    assert!(
        detail.contains("has left") && !detail.contains("not in the employees table"),
        "{detail}"
    );
}

#[test]
fn invalid_row_of_an_active_or_duplicated_employee_blocks_nothing_and_is_no_orphan() {
    let (_, a) = linked("auth0|e6", emp(6, "Ivy Valid", "ivy@example.com", true));
    for row in [
        invalid_row(6, "employee 6: email is NULL", false, Some("auth0|e6")),
        invalid_row(6, "employee 6: id appears 2 times", false, None),
    ] {
        let p = plan(&[], std::slice::from_ref(&a), &[row], &policy());
        assert!(p.actions.is_empty(), "{:#?}", p.actions);
        assert_eq!(
            findings(&p),
            vec![fnd(FindingKind::InvalidEmployee, Some(6), &["auth0|e6"])]
        );
    }
}

#[test]
fn check_source_refuses_rows_without_one_valid_employee() {
    let g = guard(10, 0.1, 0.5);
    let err = check_source(906, 0, None, &g).unwrap_err().to_string();
    assert!(err.contains("906") && err.contains("valid"), "{err}");
    // The floor is of valid employees, not rows: 906 rows of 302 people.
    assert!(check_source(906, 302, Some(302), &g).is_ok());
    assert!(check_source(906, 100, Some(302), &g).is_err());
}

// ------------------------------------------- issue 9: what Auth0 refuses

#[test]
fn one_word_rename_removes_the_family_name_instead_of_sending_empty() {
    let (e, a) = linked(
        "auth0|c",
        emp(1, "Cher Sarkisian", "cher@example.com", true),
    );
    let mut e = e;
    e.full_name = "Cher".into();
    let p = run(&[e], &[a]);
    let (patch, ..) = only_update(&p);
    assert_eq!(patch.given_name.as_deref(), Some("Cher"));
    assert_eq!(patch.family_name, Some(None));
    let body = serde_json::to_value(patch).unwrap();
    assert_eq!(body["family_name"], Value::Null);
    assert!(body.as_object().unwrap().contains_key("family_name"));
    // A stored plan reads back as planned, or an approval never matches.
    let back: UserPatch = serde_json::from_value(body).unwrap();
    assert_eq!(&back, patch);
}

#[test]
fn email_changed_to_another_employees_email_is_not_patched() {
    let (e1, a1) = linked("auth0|1", emp(1, "One Person", "one@example.com", true));
    let (e2, a2) = linked("auth0|2", emp(2, "Two Person", "two@example.com", true));
    let mut e1 = e1;
    e1.email = email("two@example.com");
    let p = run(&[e1, e2], &[a1, a2]);
    assert!(
        p.actions.iter().all(|a| !matches!(
            &a.action,
            Action::Update { patch, .. } if patch.email.is_some()
        )),
        "{:#?}",
        p.actions
    );
    assert_eq!(finding_counts(&p).get("duplicate_employee_email"), Some(&2));
}

// ------------------------------------------------ issue 9: role codes

fn tenant_roles() -> RoleResolver {
    let names = [
        ("HEAT_PRESS", "Heat Press Operator"),
        ("operator", "Operator"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    RoleResolver::new(
        &names,
        vec![
            ("Heat Press Operator".into(), "rol_heat".into()),
            ("Operator".into(), "rol_op".into()),
            ("Picker".into(), "rol_pick".into()),
        ],
    )
}

fn with_roles() -> PlanPolicy {
    PlanPolicy {
        roles: Some(tenant_roles()),
        ..policy()
    }
}

#[test]
fn role_codes_resolve_case_insensitively() {
    let r = tenant_roles();
    assert_eq!(r.id("heat_press"), Ok(Some("rol_heat")));
    assert_eq!(r.id("HEAT_PRESS"), Ok(Some("rol_heat")));
    assert_eq!(r.id("OPERATOR"), Ok(Some("rol_op")));
    // Not in the map: the code is a role name itself.
    assert_eq!(r.id("PICKER"), Ok(Some("rol_pick")));
    assert_eq!(r.id(""), Ok(None));
    assert!(r.id("NOPE").unwrap_err().to_string().contains("NOPE"));
}

#[test]
fn unmapped_role_code_is_one_finding_and_accounts_are_created_without_it() {
    let mut es = vec![
        emp(1, "Ann One", "ann@example.com", true),
        emp(2, "Bob Two", "bob@example.com", true),
        emp(3, "Cy Three", "cy@example.com", true),
    ];
    es[0].role_code = "NOPE".into();
    es[1].role_code = "nope".into();
    let p = plan(&es, &[], &[], &with_roles());
    assert_eq!(p.actions.len(), 3);
    let unmapped: Vec<&Finding> = p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::UnmappedRoleCode)
        .collect();
    assert_eq!(unmapped.len(), 1, "{:#?}", p.findings);
    assert!(
        unmapped[0].detail.contains("1, 2"),
        "{}",
        unmapped[0].detail
    );
    assert_eq!(unmapped[0].role_code.as_deref(), Some("NOPE"));
    for a in &p.actions[..2] {
        let Action::Create {
            role_code,
            app_metadata,
            ..
        } = &a.action
        else {
            panic!("{a:?}")
        };
        assert_eq!(role_code, "");
        assert_eq!(app_metadata.role_code, None);
    }

    // Applied, the next plan is quiet; once the code is mapped, the role is
    // assigned by the update that follows.
    let mut us = Vec::new();
    apply(&p, &mut es, &mut us);
    let again = plan(&es, &us, &[], &with_roles());
    assert!(again.actions.is_empty(), "{:#?}", again.actions);
    let mapped = RoleResolver::new(
        &[("nope".to_string(), "Picker".to_string())]
            .into_iter()
            .collect(),
        vec![
            ("Picker".into(), "rol_pick".into()),
            ("Operator".into(), "rol_op".into()),
        ],
    );
    let p = plan(
        &es,
        &us,
        &[],
        &PlanPolicy {
            roles: Some(mapped),
            ..policy()
        },
    );
    let changes: Vec<_> = p
        .actions
        .iter()
        .filter_map(|a| match &a.action {
            Action::Update { role_change, .. } => role_change.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(changes.len(), 2, "{:#?}", p.actions);
    assert!(changes.iter().all(|c| c.from.is_none()));
}

#[test]
fn role_change_to_an_unmapped_code_removes_the_old_role_and_does_not_fail() {
    let (mut e, a) = linked("auth0|r", emp(1, "Rae Role", "rae@example.com", true));
    e.role_code = "NOPE".into();
    let p = plan_one(&e, &a, &with_roles());
    let (patch, change, ..) = only_update(&p);
    assert_eq!(
        change,
        Some(&RoleChange {
            from: Some("operator".into()),
            to: String::new()
        })
    );
    assert_eq!(patch.app_metadata.get("role_code"), Some(&Value::Null));
}

#[test]
fn role_code_case_change_rewrites_metadata_but_keeps_the_role() {
    let (mut e, a) = linked("auth0|r", emp(1, "Rae Role", "rae@example.com", true));
    e.role_code = "OPERATOR".into();
    let p = plan_one(&e, &a, &with_roles());
    let (patch, change, ..) = only_update(&p);
    assert_eq!(change, None);
    assert_eq!(
        patch.app_metadata.get("role_code"),
        Some(&json!("OPERATOR"))
    );
}

// --------------------------------------------- issue 9: two-sided guard

#[test]
fn check_plan_holds_a_mass_unblock_and_a_mass_email_rewrite() {
    let mut es = Vec::new();
    let mut us = Vec::new();
    for i in 1..=10 {
        let (e, mut a) = linked(
            &format!("auth0|g{i}"),
            emp(i, "Gee Person", &format!("g{i}@example.com"), true),
        );
        a.blocked = i <= 4;
        es.push(e);
        us.push(a);
    }
    let g = GuardPolicy {
        max_unblock_count: 3,
        max_email_change_count: 3,
        ..guard(100, 1.0, 0.5)
    };
    let reason = check_plan(&run(&es, &us), &g).expect("held").to_string();
    assert!(
        reason.contains("unblocks 4") && reason.contains("max_unblock_count = 3"),
        "{reason}"
    );
    let shares = GuardPolicy {
        max_unblock_share: 0.3,
        ..guard(100, 1.0, 0.5)
    };
    let reason = check_plan(&run(&es, &us), &shares)
        .expect("held")
        .to_string();
    assert!(reason.contains("max_unblock_share"), "{reason}");

    for u in us.iter_mut() {
        u.blocked = false;
    }
    for e in es.iter_mut().take(5) {
        e.email = email(&format!("g{}@exmaple.com", e.id));
    }
    let reason = check_plan(&run(&es, &us), &g).expect("held").to_string();
    assert!(
        reason.contains("changes the email of 5") && reason.contains("max_email_change_count"),
        "{reason}"
    );
    assert_eq!(
        check_plan(
            &run(&es, &us),
            &GuardPolicy {
                max_email_change_count: 5,
                max_email_change_share: 0.5,
                ..g
            }
        ),
        None
    );
}

// ------------------------------------------------- issue 9: properties

mod properties {
    use super::*;
    use proptest::prelude::*;

    const NAMES: [&str; 4] = ["Ana Ruiz", "Cher", "Bo Li", "Mary Ann Smith"];
    const ROLES: [&str; 3] = ["operator", "NOPE", ""];

    fn mail(i: usize) -> Email {
        email(&format!("p{i}@example.com"))
    }

    prop_compose! {
        fn employee_strategy(n_accounts: usize)(
            name in 0..NAMES.len(),
            mail_n in 0..6usize,
            active in any::<bool>(),
            role in 0..ROLES.len(),
            stored in proptest::option::of(0..n_accounts.max(1)),
        ) -> (String, usize, bool, &'static str, Option<usize>) {
            (NAMES[name].to_string(), mail_n, active, ROLES[role], stored.filter(|_| n_accounts > 0))
        }
    }

    prop_compose! {
        fn account_strategy()(
            mail_n in proptest::option::of(0..8usize),
            name in 0..NAMES.len(),
            blocked in any::<bool>(),
            employee_id in proptest::option::of(1..10i64),
            ours in any::<bool>(),
            role in 0..ROLES.len(),
        ) -> (Option<usize>, String, bool, Option<i64>, bool, &'static str) {
            (mail_n, NAMES[name].to_string(), blocked, employee_id, ours, ROLES[role])
        }
    }

    prop_compose! {
        fn world()(n_accounts in 0..8usize)(
            accounts in proptest::collection::vec(account_strategy(), n_accounts),
            employees in proptest::collection::vec(employee_strategy(n_accounts), 0..7),
            invalid in proptest::collection::vec(
                (any::<bool>(), proptest::option::of(0..n_accounts.max(1))), 0..3),
            roles in any::<bool>(),
        ) -> (Vec<Employee>, Vec<Auth0User>, Vec<InvalidRow>, PlanPolicy) {
            let us: Vec<Auth0User> = accounts
                .into_iter()
                .enumerate()
                .map(|(i, (m, name, blocked, eid, ours, role))| {
                    let mut a = account(&format!("auth0|a{i}"), "x@example.com", &name);
                    a.email = m.map(mail);
                    a.blocked = blocked;
                    a.app_metadata.employee_id = eid;
                    a.app_metadata.role_code = Some(role.to_string());
                    if ours {
                        a.app_metadata.created_by = Some(CREATED_BY.into());
                    }
                    a
                })
                .collect();
            let n = us.len();
            let es: Vec<Employee> = employees
                .into_iter()
                .enumerate()
                .map(|(i, (name, m, active, role, stored))| {
                    let mut e = emp(i as i64 + 1, &name, mail(m).as_str(), active);
                    e.role_code = role.into();
                    e.auth0_user_id = stored.filter(|s| *s < n).map(|s| uid(&format!("auth0|a{s}")));
                    e
                })
                .collect();
            // Invalid rows take the ids after the valid ones.
            let first = es.len() as i64 + 1;
            let bad: Vec<InvalidRow> = invalid
                .into_iter()
                .enumerate()
                .map(|(i, (left, stored))| {
                    let id = first + i as i64;
                    invalid_row(
                        id,
                        &format!("employee {id}: email is NULL"),
                        left,
                        stored.filter(|s| *s < n).map(|s| format!("auth0|a{s}")).as_deref(),
                    )
                })
                .collect();
            let policy = PlanPolicy {
                roles: roles.then(tenant_roles),
                ..policy()
            };
            (es, us, bad, policy)
        }
    }

    /// Accounts some active employee could be using: named by their stored
    /// id, carrying their id, or with their (unshared) email.
    fn claimed_by_active(es: &[Employee], u: &Auth0User) -> bool {
        es.iter().filter(|o| o.is_active).any(|o| {
            o.auth0_user_id.as_ref() == Some(&u.user_id)
                || u.app_metadata.employee_id == Some(o.id.0)
                || u.email.as_ref() == Some(&o.email)
        })
    }

    /// The accounts a leaver (valid or invalid row) is attributable to.
    fn leavers_accounts<'a>(
        es: &[Employee],
        bad: &[InvalidRow],
        us: &'a [Auth0User],
    ) -> Vec<&'a Auth0User> {
        let shared = |m: &Email| es.iter().filter(|o| &o.email == m).count() > 1;
        us.iter()
            .filter(|u| {
                let valid = es.iter().filter(|e| !e.is_active).any(|e| {
                    e.auth0_user_id.as_ref() == Some(&u.user_id)
                        || u.app_metadata.employee_id == Some(e.id.0)
                        || (u.email.as_ref() == Some(&e.email)
                            && !shared(&e.email)
                            && u.app_metadata.employee_id.is_none())
                });
                let invalid = bad.iter().filter(|r| r.left).any(|r| {
                    r.auth0_user_id.as_ref() == Some(&u.user_id)
                        || u.app_metadata.employee_id == Some(r.employee_id.0)
                });
                (valid || invalid) && !claimed_by_active(es, u)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn leavers_blocked_plans_converge_and_unmanaged_accounts_untouched(
            (es, us, bad, policy) in world()
        ) {
            let p = plan(&es, &us, &bad, &policy);
            let targets: std::collections::HashSet<&str> = p
                .actions
                .iter()
                .filter_map(|a| a.action.auth0_user_id().map(|u| u.0.as_str()))
                .collect();

            // (a) Every account attributable to a leaver ends blocked.
            for u in leavers_accounts(&es, &bad, &us) {
                let planned = p.actions.iter().any(|a| matches!(
                    &a.action,
                    Action::Block { auth0_user_id, .. } if *auth0_user_id == u.user_id
                ));
                prop_assert!(u.blocked || planned, "{} not blocked: {:#?}", u.user_id, p);
            }

            // (c) Unmanaged accounts are never touched.
            for u in &us {
                let known = u.app_metadata.employee_id.is_some()
                    || u.app_metadata.created_by.as_deref() == Some(CREATED_BY)
                    || es.iter().any(|e| {
                        e.auth0_user_id.as_ref() == Some(&u.user_id)
                            || u.email.as_ref() == Some(&e.email)
                    })
                    || bad.iter().any(|r| r.auth0_user_id.as_ref() == Some(&u.user_id));
                prop_assert!(known || !targets.contains(u.user_id.0.as_str()),
                    "unmanaged {} touched: {:#?}", u.user_id, p.actions);
            }

            // Auth0 refuses an email another account holds.
            for a in &p.actions {
                if let Action::Update { auth0_user_id, patch: UserPatch { email: Some(m), .. }, .. } = &a.action {
                    prop_assert!(
                        us.iter().all(|u| u.user_id == *auth0_user_id || u.email.as_ref() != Some(m)),
                        "{a:?}"
                    );
                }
            }

            // (b) Applied, a plan is never planned again (the "same action
            // every run" failure), and planning settles: an employee whose
            // evidence conflicted with an account this plan moved to its
            // owner (an email update) is decided a run later, after which
            // nothing is planned.
            let (mut es2, mut us2) = (es.clone(), us.clone());
            let mut previous = p.clone();
            for round in 1..=3 {
                apply(&previous, &mut es2, &mut us2);
                let next = plan(&es2, &us2, &bad, &policy);
                for a in &next.actions {
                    prop_assert!(!previous.actions.contains(a), "planned again: {a:#?}");
                }
                if next.actions.is_empty() {
                    break;
                }
                prop_assert!(round < 3, "not converged: {:#?}", next.actions);
                previous = next;
            }
        }
    }
}

#[test]
fn a_finding_key_names_what_it_is_about_and_rows_naming_nothing_by_their_text() {
    let dup = Finding::new(
        FindingKind::DuplicateAccount,
        Some(EmployeeId(7)),
        vec![Auth0UserId("auth0|a".into()), Auth0UserId("auth0|b".into())],
        "two accounts".into(),
    );
    assert_eq!(dup.key(), "duplicate_account|7||auth0|a,auth0|b");
    let row =
        |detail: &str| Finding::new(FindingKind::InvalidEmployee, None, vec![], detail.into());
    assert_eq!(
        row("row 3: id is NULL").key(),
        "invalid_employee|detail|row 3: id is NULL"
    );
    assert_ne!(
        row("row 3: id is NULL").key(),
        row("row 4: id is NULL").key()
    );
}

mod policy;
