//! Triage in a real browser: an ambiguous PodFactory user resolved with one
//! click, and a kiosk login marked not an employee (gone from the queue
//! and the digest, and back after an undo).

use crate::browser::*;
use crate::common::*;
use serde_json::Value;

/// Two "Sam Lee"s the matcher cannot tell apart (PodFactory user `pf2`, no
/// email), a kiosk login nobody matches (`kiosk3`), one clean match.
fn floor() -> Setup {
    let mut sam3 = employee(3, "Sam Lee", "samuel.lee@example.com", true);
    sam3.workspace = Some("NV".into());
    Setup {
        employees: vec![
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(2, "Sam Lee", "sam.lee@example.com", true),
            sam3,
        ],
        podfactory: Some(
            "id,name,email,user_role\n\
             pf1,Ana Perez,ana.perez@example.com,Picker\n\
             pf2,Sam Lee,,Packer\n\
             kiosk3,Dock Kiosk 3,kiosk3@floor.example,Kiosk\n"
                .into(),
        ),
        ..Setup::default()
    }
}

/// The PodFactory user ids the triage page shows (each item's `.pf-user`).
async fn queued_users(b: &Browser) -> Vec<String> {
    b.texts("article.item .pf-user code").await
}

/// Press "Run now" on the page the browser is on; wait for the run; its id.
async fn run_now(b: &Browser, w: &Console) -> i64 {
    b.submit("form#run-now").await;
    let path = b.path().await;
    let id = path
        .strip_prefix("/ui/runs/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("Run now led to {path}, not the run's page"));
    let run = w.wait_run(id).await;
    assert_eq!(run["trigger"], "http", "{run:#}");
    b.reload().await;
    assert_eq!(b.text("#run-status").await, run["status"].as_str().unwrap());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_user_is_linked_by_clicking_a_candidate_and_the_next_run_records_it() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let w = Console::start(floor()).await;
    b.bind(&w);
    let api = w.admin_api();
    let first = api.trigger(false).await;
    assert_eq!(w.wait_run(first).await["status"], "succeeded");

    b.goto("/ui/triage").await;
    b.sign_in(ADMIN_TOKEN).await;
    assert_eq!(b.path().await, "/ui/triage");
    let mut users = queued_users(&b).await;
    users.sort();
    assert_eq!(
        users,
        ["kiosk3", "pf2"],
        "the queue: both users the matcher left"
    );
    b.screenshot("triage").await;

    // The user beside each candidate, with what a person decides by.
    let item = "article.item[data-kind=ambiguous_podfactory_user]";
    let user = b.text(&format!("{item} .pf-user")).await;
    for shown in ["pf2", "Sam Lee", "Packer"] {
        assert!(user.contains(shown), "{shown:?} not in {user}");
    }
    let candidates = b.texts(&format!("{item} .candidate")).await;
    assert_eq!(candidates.len(), 2, "{candidates:#?}");
    let (two, three) = if candidates[0].contains("sam.lee@") {
        (&candidates[0], &candidates[1])
    } else {
        (&candidates[1], &candidates[0])
    };
    for shown in ["Sam Lee", "sam.lee@example.com", "Picking", "TX", "yes"] {
        assert!(two.contains(shown), "{shown:?} not in {two}");
    }
    for shown in ["samuel.lee@example.com", "Picking", "NV"] {
        assert!(three.contains(shown), "{shown:?} not in {three}");
    }
    assert!(two.contains("employee 2") && three.contains("employee 3"));

    // One click: employee 3.
    b.submit(&format!(
        "{item} form.link-candidate:has(input[name=employee_id][value='3'])"
    ))
    .await;
    assert!(
        b.path().await.starts_with("/ui/triage"),
        "{}",
        b.path().await
    );
    let flash = b.text(".flash").await;
    assert!(!b.has(".flash.error").await, "{flash}");
    assert!(flash.contains("pf2") && flash.contains('3'), "{flash}");
    let mappings = api.get("/api/v1/mappings").await;
    assert_eq!(mappings.json["mappings"][0]["podfactory_user_id"], "pf2");
    assert_eq!(mappings.json["mappings"][0]["employee_id"], 3);
    assert_eq!(mappings.json["mappings"][0]["created_by"], ADMIN_NAME);

    // Run now; afterwards the link is recorded, made by a person.
    run_now(&b, &w).await;
    assert_eq!(b.text("#run-status").await, "succeeded");
    b.goto("/ui/employees/3").await;
    assert_eq!(b.text("h1").await, "Sam Lee");
    let links = b.text("#podfactory").await;
    assert!(links.contains("pf2") && links.contains("manual"), "{links}");
    let e3 = api.get("/api/v1/employees/3").await;
    let linked: Vec<(&str, &str)> = e3.json["podfactory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["podfactory_user_id"].as_str().unwrap(),
                l["matched_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(linked[0], ("pf2", "manual"), "{:#}", e3.json);
    let e2 = api.get("/api/v1/employees/2").await;
    assert_eq!(
        e2.json["podfactory"],
        Value::Array(vec![]),
        "not the other Sam Lee"
    );

    // It has left the queue; the kiosk login has not.
    b.goto("/ui/triage").await;
    assert_eq!(queued_users(&b).await, ["kiosk3"]);

    // The mapping is listed with who made it, and can be deleted.
    b.goto("/ui/mappings").await;
    let listed = b.text("#mappings").await;
    assert!(
        listed.contains("pf2") && listed.contains(ADMIN_NAME),
        "{listed}"
    );
    b.submit("form.delete-mapping").await;
    assert!(!b.has(".flash.error").await, "{}", b.text(".flash").await);
    assert_eq!(
        api.get("/api/v1/mappings").await.json["mappings"],
        Value::Array(vec![])
    );
    w.finish(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_login_marked_not_an_employee_leaves_the_queue_and_the_digest_until_undone() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let w = Console::start(Setup {
        digest: true,
        ..floor()
    })
    .await;
    b.bind(&w);
    let smtp = w.smtp.as_ref().unwrap();
    let api = w.admin_api();
    let first = api.trigger(false).await;
    w.wait_run(first).await;
    // Before: the digest names the kiosk login (so its absence below means something).
    let before = smtp.nth(1).await;
    assert!(before.text.contains("kiosk3"), "{}", before.text);

    b.goto("/ui/triage?kind=unmatched_podfactory_user").await;
    b.sign_in(ADMIN_TOKEN).await;
    assert_eq!(queued_users(&b).await, ["kiosk3"]);
    let item = "article.item[data-kind=unmatched_podfactory_user]";
    assert!(b
        .text(&format!("{item} .pf-user"))
        .await
        .contains("Dock Kiosk 3"));
    b.fill(
        &format!("{item} form.not-employee textarea[name=note]"),
        "dock 3 kiosk",
    )
    .await;
    b.submit(&format!("{item} form.not-employee")).await;
    assert!(!b.has(".flash.error").await, "{}", b.text(".flash").await);
    assert!(b.text(".flash").await.contains("kiosk3"));

    // Out of the queue at once, listed with who decided and the note.
    b.goto("/ui/triage").await;
    assert_eq!(queued_users(&b).await, ["pf2"]);
    b.goto("/ui/mappings").await;
    let listed = b.text("#non-employees").await;
    for shown in ["kiosk3", "dock 3 kiosk", ADMIN_NAME] {
        assert!(listed.contains(shown), "{shown:?} not in {listed}");
    }

    // The next run's digest still goes out, without the kiosk login.
    b.goto("/ui").await;
    run_now(&b, &w).await;
    let after = smtp.nth(2).await;
    assert!(
        after.text.contains("pf2"),
        "the digest is sent: {}",
        after.text
    );
    for body in [&after.subject, &after.text, &after.html] {
        assert!(!body.contains("kiosk3"), "{body}");
        assert!(!body.contains("Dock Kiosk"), "{body}");
    }
    b.goto("/ui/triage").await;
    assert_eq!(queued_users(&b).await, ["pf2"], "not back after a run");

    // Reversible: undone, it is matched and reported again.
    b.goto("/ui/mappings").await;
    b.submit("form.undo-not-employee").await;
    assert!(!b.has(".flash.error").await, "{}", b.text(".flash").await);
    assert!(b.text("#non-employees").await.contains("None"));
    b.goto("/ui").await;
    run_now(&b, &w).await;
    let undone = smtp.nth(3).await;
    assert!(undone.text.contains("kiosk3"), "{}", undone.text);
    b.goto("/ui/triage").await;
    let mut users = queued_users(&b).await;
    users.sort();
    assert_eq!(users, ["kiosk3", "pf2"]);
    w.finish(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphaned_account_acknowledged_with_a_note_is_no_longer_sent() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    // Two accounts naming employees that are not in the table.
    let orphan = |id: i64| {
        let gone = employee(id, "Gone Person", &format!("gone{id}@example.com"), true);
        managed_account(&format!("auth0|{id:024x}"), &gone)
    };
    let (acked, kept) = (format!("auth0|{:024x}", 98), format!("auth0|{:024x}", 99));
    let w = Console::start(Setup {
        employees: staff(1),
        accounts: vec![orphan(98), orphan(99)],
        digest: true,
        ..Setup::default()
    })
    .await;
    b.bind(&w);
    let smtp = w.smtp.as_ref().unwrap();
    let first = w.admin_api().trigger(false).await;
    w.wait_run(first).await;
    assert!(smtp.nth(1).await.text.contains(&acked));

    b.goto("/ui/triage?kind=orphaned").await;
    b.sign_in(ADMIN_TOKEN).await;
    let items = b.texts("article.item[data-kind=orphaned]").await;
    assert_eq!(items.len(), 2, "{items:#?}");
    // The account, and what the fix would be.
    let one = items
        .iter()
        .find(|t| t.contains(&acked))
        .expect("the account");
    assert!(one.contains("The fix"), "{one}");
    let form = format!(
        "article.item[data-kind=orphaned]:has(input[name=key][value*='{acked}']) form.acknowledge"
    );
    b.fill(
        &format!("{form} textarea[name=note]"),
        "test account, kept on purpose",
    )
    .await;
    b.submit(&form).await;
    assert!(!b.has(".flash.error").await, "{}", b.text(".flash").await);

    // Out of the open queue; shown with who and why among the acknowledged.
    b.goto("/ui/triage?kind=orphaned").await;
    let open = b.texts("article.item[data-kind=orphaned]").await;
    assert_eq!(open.len(), 1);
    assert!(open[0].contains(&kept));
    b.goto("/ui/triage?kind=orphaned&acknowledged=true").await;
    let acks = b.texts("article.item[data-kind=orphaned] .acked").await;
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert!(acks[0].contains(ADMIN_NAME) && acks[0].contains("kept on purpose"));

    // The next digest has the other one only.
    b.goto("/ui").await;
    run_now(&b, &w).await;
    let after = smtp.nth(2).await;
    assert!(after.text.contains(&kept), "{}", after.text);
    assert!(!after.text.contains(&acked), "{}", after.text);
    assert!(!after.html.contains(&acked));
    w.finish(b).await;
}
