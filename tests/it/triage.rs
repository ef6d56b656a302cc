//! People's decisions (`store::decisions`, `triage`): PodFactory users that
//! are not employees, acknowledged findings, links, and the queue of what
//! still waits for a person, on every backend.

use crate::common::*;
use crate::podfactory_run::csv_world;
use chrono::{TimeZone, Utc};
use rosterd::model::{Auth0UserId, EmployeeId};
use rosterd::plan::FindingKind;
use rosterd::store::{AuditRow, Store};
use rosterd::triage::{self, TriageError};

on_every_backend!(
    decisions_are_kept_replaced_listed_and_undone,
    the_queue_shows_what_waits_and_decisions_leave_it_at_once,
    a_persons_undo_ends_the_link_it_made,
    the_queue_is_newest_first_and_a_finding_that_comes_back_is_new,
);

async fn migrated_store(db: &TestDb) -> Store {
    let s = rosterd::config::DatabaseSettings {
        url: db.url.clone(),
        ..Default::default()
    };
    let store = Store::connect(&s).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn decisions_are_kept_replaced_listed_and_undone(db: Db) {
    let db = TestDb::new(db).await;
    let store = migrated_store(&db).await;
    let t1 = Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap();
    let t2 = Utc.with_ymd_and_hms(2025, 3, 2, 9, 30, 0).unwrap();

    // Not an employee: kept with who, when and why; deciding again replaces.
    assert!(store.non_employees().await.unwrap().is_empty());
    let kiosk = store
        .mark_not_employee("pf-kiosk", Some("kiosk at dock 4"), "alice", t1)
        .await
        .unwrap();
    assert_eq!(
        (kiosk.podfactory_user_id.as_str(), kiosk.note.as_deref()),
        ("pf-kiosk", Some("kiosk at dock 4"))
    );
    assert_eq!((kiosk.decided_by.as_str(), kiosk.decided_at), ("alice", t1));
    store
        .mark_not_employee("pf-temp", None, "alice", t1)
        .await
        .unwrap();
    let again = store
        .mark_not_employee("pf-kiosk", None, "bob", t2)
        .await
        .unwrap();
    assert_eq!(
        (again.note, again.decided_by.as_str(), again.decided_at),
        (None, "bob", t2)
    );
    let listed: Vec<(String, String)> = store
        .non_employees()
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.podfactory_user_id, n.decided_by))
        .collect();
    assert_eq!(
        listed,
        [
            ("pf-kiosk".to_string(), "bob".to_string()),
            ("pf-temp".to_string(), "alice".to_string())
        ],
        "one row per user, newest decision first"
    );
    assert!(store.unmark_not_employee("pf-kiosk").await.unwrap());
    assert!(!store.unmark_not_employee("pf-kiosk").await.unwrap());
    assert_eq!(store.non_employees().await.unwrap().len(), 1);

    // Acknowledged findings, the same way.
    let key = "duplicate_account|7||auth0|a,auth0|b";
    let ack = store
        .ack_finding(
            key,
            FindingKind::DuplicateAccount,
            Some("HR merges them"),
            "alice",
            t1,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            ack.finding_key.as_str(),
            ack.kind.as_str(),
            ack.note.as_deref()
        ),
        (key, "duplicate_account", Some("HR merges them"))
    );
    let again = store
        .ack_finding(key, FindingKind::DuplicateAccount, None, "bob", t2)
        .await
        .unwrap();
    assert_eq!(
        (
            again.acked_by.as_str(),
            again.acked_at,
            again.note.as_deref()
        ),
        ("bob", t2, None)
    );
    assert_eq!(store.finding_acks().await.unwrap(), vec![again]);
    assert!(store.unack_finding(key).await.unwrap());
    assert!(!store.unack_finding(key).await.unwrap());
    assert!(store.finding_acks().await.unwrap().is_empty());

    // The mapping audit of one employee, not of the others.
    for (employee, account) in [(1, "auth0|one"), (2, "auth0|two"), (1, "auth0|uno")] {
        let row = AuditRow {
            employee_id: EmployeeId(employee),
            auth0_user_id: Auth0UserId(account.into()),
            productivity_email: format!("e{employee}@example.com"),
            podfactory_email: None,
            matched_by: "created",
            from_matcher: false,
        };
        store.upsert_audit(&row, t1).await.unwrap();
    }
    let audit = store.employee_audit(1).await.unwrap();
    let accounts: Vec<&str> = audit.iter().map(|a| a.auth0_user_id.as_str()).collect();
    assert_eq!(accounts, ["auth0|one", "auth0|uno"]);
    assert_eq!(
        (audit[0].matched_by.as_str(), audit[0].matched_at),
        ("created", t1)
    );
    assert!(store.employee_audit(3).await.unwrap().is_empty());
}

const PODFACTORY: &str = "id,name,email,user_role\n\
    pf1,Ana Perez,ana.perez@example.com,Picker\n\
    pf5,Sam Lee,,Packer\n\
    pf9,Kiosk Dock Four,,Kiosk\n";

/// `(kind, PodFactory user)` of every item.
fn shape(q: &triage::Queue) -> Vec<(String, Option<String>)> {
    let mut out: Vec<_> = q
        .items
        .iter()
        .map(|i| {
            (
                i.finding.kind.to_string(),
                i.finding.podfactory_user_id.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

fn item(kind: &str, pf: Option<&str>) -> (String, Option<String>) {
    (kind.to_string(), pf.map(String::from))
}

async fn the_queue_shows_what_waits_and_decisions_leave_it_at_once(db: Db) {
    let w = csv_world(
        db,
        PODFACTORY,
        &[
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(4, "Sam Lee", "sam.lee@example.com", true),
            employee(5, "Sam Lee", "samuel.lee@example.com", false),
            employee(6, "Office Only", "office@example.com", true),
        ],
        |_| {},
    )
    .await;
    // An account rosterd made for an employee no longer in the table.
    let ghost = employee(99, "Ghost Worker", "ghost@example.com", true);
    SimClient::new(&w.sim)
        .seed(vec![managed_account(
            "auth0|0000000000000000000000ff",
            &ghost,
        )])
        .await;
    let ctx = &w.ctx;

    let empty = triage::queue(ctx, None, false).await.unwrap();
    assert!(empty.run.is_none() && empty.items.is_empty() && empty.held.is_empty());

    let first = run(ctx).await;
    let q = triage::queue(ctx, None, false).await.unwrap();
    assert_eq!(q.run.as_ref().map(|r| r.id), Some(first.run_id));
    assert_eq!(
        shape(&q),
        [
            item("ambiguous_podfactory_user", Some("pf5")),
            item("orphaned", None),
            item("unmatched_podfactory_user", Some("pf9")),
        ],
        "employees without a PodFactory user wait for no one"
    );
    assert_eq!(q.listings, 2, "but are counted: employees 4 and 6");
    let without = triage::queue(ctx, Some(FindingKind::EmployeeWithoutPodfactoryUser), false)
        .await
        .unwrap();
    assert_eq!(
        without.items.len(),
        2,
        "asked for by kind: employees 4 and 6"
    );

    // Each candidate comes with who the employee is, the user as PodFactory has it.
    let sam = q
        .items
        .iter()
        .find(|i| i.finding.podfactory_user_id.as_deref() == Some("pf5"))
        .unwrap();
    let user = sam.finding.podfactory_user.as_ref().expect("the user");
    assert_eq!(
        (
            user.name.as_deref(),
            user.email.as_deref(),
            user.role.as_deref()
        ),
        (Some("Sam Lee"), None, Some("Packer"))
    );
    let mut candidates: Vec<_> = sam
        .finding
        .candidates
        .iter()
        .map(|c| {
            (
                c.employee_id.0,
                c.name.as_str(),
                c.email.as_str(),
                c.department.as_str(),
                c.workspace.as_str(),
                c.is_active,
            )
        })
        .collect();
    candidates.sort();
    assert_eq!(
        candidates,
        [
            (4, "Sam Lee", "sam.lee@example.com", "Picking", "TX", true),
            (
                5,
                "Sam Lee",
                "samuel.lee@example.com",
                "Picking",
                "TX",
                false
            ),
        ]
    );
    assert_eq!(sam.key, "ambiguous_podfactory_user||pf5|");
    assert_eq!(sam.anchor, triage::anchor(&sam.key));
    let orphan_key = q
        .items
        .iter()
        .find(|i| i.finding.kind == FindingKind::Orphaned)
        .unwrap()
        .key
        .clone();

    // Bad decisions are refused, naming what is wrong, and change nothing.
    let err = triage::link(ctx, "pf5", 777, "alice").await.unwrap_err();
    assert!(matches!(err, TriageError::NoEmployee(777)), "{err:?}");
    assert_eq!(err.to_string(), "no employee 777");
    let err = triage::acknowledge(ctx, "orphaned||nobody|", None, "alice")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TriageError::BadInput(m) if m.starts_with("no current finding with key \"orphaned||nobody|\"")),
        "{err:?}"
    );
    let long = "x".repeat(1001);
    let err = triage::not_employee(ctx, "pf9", Some(&long), "alice")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "note must be at most 1000 characters");
    assert!(triage::not_employee(ctx, " ", None, "alice").await.is_err());
    assert!(admin_audit(&ctx.store).await.is_empty());

    // Each decision leaves the queue at once, before any run.
    triage::not_employee(ctx, " pf9 ", Some("kiosk at dock 4"), "alice")
        .await
        .unwrap();
    let ack = triage::acknowledge(ctx, &orphan_key, Some("kept for the auditors"), "alice")
        .await
        .unwrap();
    assert_eq!(
        (ack.kind.as_str(), ack.acked_by.as_str()),
        ("orphaned", "alice")
    );
    let mapping = triage::link(ctx, "pf5", 4, "alice").await.unwrap();
    assert_eq!(
        (mapping.employee_id, mapping.created_by.as_str()),
        (4, "alice")
    );
    // One PodFactory user per employee.
    let err = triage::link(ctx, "pf-station-2", 4, "alice")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "employee 4 already has PodFactory user pf5 (a manual mapping by alice); delete that mapping first"
    );
    assert!(triage::queue(ctx, None, false)
        .await
        .unwrap()
        .items
        .is_empty());
    let with_acks = triage::queue(ctx, None, true).await.unwrap();
    assert_eq!(shape(&with_acks), [item("orphaned", None)]);
    assert_eq!(
        with_acks.items[0]
            .acknowledged
            .as_ref()
            .and_then(|a| a.note.as_deref()),
        Some("kept for the auditors")
    );

    // Contradicting decisions are refused with what to undo first.
    let err = triage::link(ctx, "pf9", 6, "alice").await.unwrap_err();
    assert!(matches!(err, TriageError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("marked not an employee"), "{err}");
    let err = triage::not_employee(ctx, "pf5", None, "alice")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("delete that mapping first"),
        "{err}"
    );

    // Every decision is in the admin audit with its actor.
    assert_eq!(
        admin_audit(&ctx.store).await,
        [
            ("alice".into(), "not_employee".into(), "pf9".into()),
            (
                "alice".into(),
                "acknowledge_finding".into(),
                orphan_key.clone()
            ),
            ("alice".into(), "create_mapping".into(), "pf5 -> 4".into()),
        ]
    );

    // The next run honours them: the kiosk login is neither matched nor
    // reported (counted as excluded), the link is made.
    let second = run(ctx).await;
    let pf = second.podfactory.clone().expect("matching ran");
    assert_eq!(
        (
            pf.users,
            pf.matched,
            pf.ambiguous,
            pf.unmatched,
            pf.excluded
        ),
        (3, 2, 0, 0, 1),
        "{second:#?}"
    );
    assert_eq!(second.findings.get("unmatched_podfactory_user"), None);
    assert_eq!(second.findings.get("ambiguous_podfactory_user"), None);
    let links = ctx.store.current_podfactory_links().await.unwrap();
    assert_eq!(links.get("pf5"), Some(&4));
    assert_eq!(links.get("pf9"), None);
    assert!(rosterd::report::human(&second).contains("0 unmatched, 1 marked not an employee"));

    // Undone: back in the queue at once.
    assert!(triage::unacknowledge(ctx, &orphan_key, "bob")
        .await
        .unwrap());
    assert!(!triage::unacknowledge(ctx, &orphan_key, "bob")
        .await
        .unwrap());
    assert_eq!(
        shape(&triage::queue(ctx, None, false).await.unwrap()),
        [item("orphaned", None)]
    );
    assert!(triage::undo_not_employee(ctx, "pf9", "bob").await.unwrap());
    assert!(!triage::undo_not_employee(ctx, "pf9", "bob").await.unwrap());
    let audit = admin_audit(&ctx.store).await;
    assert_eq!(
        audit[3..],
        [
            ("bob".into(), "unacknowledge_finding".into(), orphan_key),
            ("bob".into(), "undo_not_employee".into(), "pf9".into()),
        ],
        "an undo that undid nothing is not recorded"
    );
    // And the next run reports the user again.
    let third = run(ctx).await;
    let pf = third.podfactory.clone().expect("matching ran");
    assert_eq!((pf.unmatched, pf.excluded), (1, 0), "{third:#?}");
    assert_eq!(
        shape(&triage::queue(ctx, None, false).await.unwrap()),
        [
            item("orphaned", None),
            item("unmatched_podfactory_user", Some("pf9")),
        ]
    );
}

/// Deleting a manual mapping, or marking a linked user not an employee,
/// ends the link at the next run (kept as history), where before the link
/// stayed current for ever.
async fn a_persons_undo_ends_the_link_it_made(db: Db) {
    let w = csv_world(
        db,
        PODFACTORY,
        &[
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(4, "Sam Lee", "sam.lee@example.com", true),
            employee(5, "Sam Lee", "samuel.lee@example.com", false),
        ],
        |_| {},
    )
    .await;
    let ctx = &w.ctx;
    let store = &ctx.store;
    run(ctx).await;
    assert_eq!(
        store.current_podfactory_links().await.unwrap().get("pf1"),
        Some(&1)
    );
    let mapping = triage::link(ctx, "pf5", 4, "alice").await.unwrap();
    run(ctx).await;
    assert_eq!(
        store.current_podfactory_links().await.unwrap().get("pf5"),
        Some(&4)
    );

    assert!(store.delete_manual_mapping(mapping.id).await.unwrap());
    triage::not_employee(ctx, "pf1", Some("a shared station login"), "alice")
        .await
        .unwrap();
    let third = run(ctx).await;
    let links = store.current_podfactory_links().await.unwrap();
    assert_eq!(links.get("pf5"), None, "the deleted mapping's link ended");
    assert_eq!(links.get("pf1"), None, "the non-employee's link ended");
    assert_eq!(
        third.findings.get("ambiguous_podfactory_user"),
        Some(&1),
        "pf5 is a case again"
    );
    for (employee, user) in [(4, "pf5"), (1, "pf1")] {
        let history = store.podfactory_link_history(employee).await.unwrap();
        assert_eq!(history.len(), 1, "{history:?}");
        assert_eq!(history[0].podfactory_user_id, user);
        assert!(history[0].superseded_at.is_some(), "{history:?}");
    }
}

/// The queue puts the newest findings first, by when a run first saw them;
/// one that goes away and comes back is new again.
async fn the_queue_is_newest_first_and_a_finding_that_comes_back_is_new(db: Db) {
    let w = csv_world(
        db,
        "id,name,email,user_role\npf7,Kiosk One,,Kiosk\n",
        &[employee(1, "Ana Pérez", "ana.perez@example.com", true)],
        |_| {},
    )
    .await;
    let ctx = &w.ctx;
    let order = |q: &triage::Queue| -> Vec<String> {
        q.items
            .iter()
            .map(|i| i.finding.podfactory_user_id.clone().unwrap_or_default())
            .collect()
    };
    run(ctx).await;
    let first = triage::queue(ctx, None, false).await.unwrap();
    assert_eq!(order(&first), ["pf7"]);
    let pf7_seen = first.items[0].first_seen_at.expect("first seen");

    std::fs::write(
        &w.csv,
        "id,name,email,user_role\npf7,Kiosk One,,Kiosk\npf8,Kiosk Two,,Kiosk\n",
    )
    .unwrap();
    run(ctx).await;
    let second = triage::queue(ctx, None, false).await.unwrap();
    assert_eq!(order(&second), ["pf8", "pf7"], "newest first");
    assert_eq!(
        second.items[1].first_seen_at,
        Some(pf7_seen),
        "pf7 keeps its first sighting"
    );
    assert!(second.items[0].first_seen_at > Some(pf7_seen));

    // PodFactory unreadable for a run: its cases are not forgotten.
    let csv = std::fs::read_to_string(&w.csv).unwrap();
    std::fs::remove_file(&w.csv).unwrap();
    let outage = run(ctx).await;
    assert!(outage.podfactory_error.is_some(), "{outage:#?}");
    std::fs::write(&w.csv, csv).unwrap();
    run(ctx).await;
    let after = triage::queue(ctx, None, false).await.unwrap();
    assert_eq!(order(&after), ["pf8", "pf7"]);
    assert_eq!(
        after.items[1].first_seen_at,
        Some(pf7_seen),
        "kept through the outage"
    );

    // pf7 leaves PodFactory, then comes back: new again, so first.
    std::fs::write(&w.csv, "id,name,email,user_role\npf8,Kiosk Two,,Kiosk\n").unwrap();
    run(ctx).await;
    std::fs::write(
        &w.csv,
        "id,name,email,user_role\npf7,Kiosk One,,Kiosk\npf8,Kiosk Two,,Kiosk\n",
    )
    .unwrap();
    run(ctx).await;
    let fourth = triage::queue(ctx, None, false).await.unwrap();
    assert_eq!(order(&fourth), ["pf7", "pf8"]);
    assert!(fourth.items[0].first_seen_at > second.items[0].first_seen_at);
}
