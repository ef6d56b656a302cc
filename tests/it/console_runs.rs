//! Held runs in a real browser: what a held run would block and why, one
//! rejected, another approved and applied.

use crate::browser::*;
use crate::common::*;
use std::collections::BTreeSet;

/// The run page the browser is on: its id.
async fn run_id(b: &Browser) -> i64 {
    let path = b.path().await;
    path.strip_prefix("/ui/runs/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{path} is not a run's page"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_held_run_is_rejected_and_another_approved_and_applied() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    // 30 of 40 employees left at once: more blocks than the guard allows.
    let (employees, accounts) = linked_staff(40, 30);
    let w = Console::start(Setup {
        employees,
        accounts,
        ..Setup::default()
    })
    .await;
    b.bind(&w);
    let api = w.admin_api();
    b.goto("/ui").await;
    b.sign_in(ADMIN_TOKEN).await;

    // Run now: held, showing which accounts it would block and why.
    b.submit("form#run-now").await;
    let rejected = run_id(&b).await;
    assert_eq!(w.wait_run(rejected).await["status"], "held");
    b.reload().await;
    assert_eq!(b.text("h1").await, format!("Run {rejected}"));
    assert_eq!(b.text("#run-status").await, "held");
    let reason = b.text("#held-reason").await;
    assert!(reason.contains("30"), "{reason}");
    let blocked = b.texts("#would-block tbody tr").await;
    assert_eq!(blocked.len(), 30, "{blocked:#?}");
    assert!(blocked
        .iter()
        .any(|r| r.contains(&format!("auth0|{:024x}", 1))));
    assert!(!blocked
        .iter()
        .any(|r| r.contains(&format!("auth0|{:024x}", 31))));
    b.screenshot("run").await;

    // Rejected, with a reason: closed, nothing blocked.
    b.fill("form#reject textarea[name=reason]", "HR import error")
        .await;
    b.submit("form#reject").await;
    assert_eq!(b.path().await, format!("/ui/runs/{rejected}"));
    assert!(!b.has(".flash.error").await, "{}", b.text(".flash").await);
    assert_eq!(b.text("#run-status").await, "rejected");
    assert!(!b.has("form#approve").await && !b.has("form#reject").await);
    let record = api.get(&format!("/api/v1/runs/{rejected}")).await;
    assert_eq!(record.json["rejected_by"], ADMIN_NAME, "{:#}", record.json);
    assert_eq!(w.auth0.count("PATCH /api/v2/users/{id}", "200").await, 0);

    // The plan changes (one more leaver): held again, a new decision.
    exec(
        &w.store,
        "UPDATE employees SET is_active = false WHERE id = 31",
    )
    .await;
    let again = api.trigger_after_change().await;
    assert_eq!(w.wait_run(again).await["status"], "held");

    // From the status page's list of held runs to the newest one.
    b.goto("/ui").await;
    let held = b.attrs("#held a", "href").await;
    assert!(held.contains(&format!("/ui/runs/{again}")), "{held:?}");
    assert!(!held.contains(&format!("/ui/runs/{rejected}")), "{held:?}");
    b.follow(&format!("#held a[href='/ui/runs/{again}']")).await;
    assert_eq!(b.text("#run-status").await, "held");
    assert!(b.text("#held-reason").await.contains("31"));
    assert_eq!(b.texts("#would-block tbody tr").await.len(), 31);

    // Approved, after the confirming tick that names what it does: a new
    // run applies it, and the held one says who decided.
    assert!(b
        .text("form#approve label")
        .await
        .contains("blocking 31 accounts"));
    b.tick("form#approve input[name=confirm]").await;
    b.submit("form#approve").await;
    let applied = run_id(&b).await;
    assert_ne!(applied, again);
    let run = w.wait_run(applied).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["trigger"], "approval");
    b.reload().await;
    assert_eq!(b.text("#run-status").await, "succeeded");
    let approval = b.text("#approval-of").await;
    assert!(
        approval.contains(&format!("of held run {again}, by {ADMIN_NAME}")),
        "{approval}"
    );
    let users = w.auth0.users().await;
    let blocked: BTreeSet<&str> = users
        .iter()
        .filter(|u| u["blocked"] == true)
        .filter_map(|u| u["user_id"].as_str())
        .collect();
    let leavers: Vec<String> = (1..=31).map(|i| format!("auth0|{i:024x}")).collect();
    assert_eq!(
        blocked,
        leavers.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    b.goto(&format!("/ui/runs/{again}")).await;
    assert_eq!(b.text("#run-status").await, "approved");
    assert!(b.text("body").await.contains(ADMIN_NAME));
    b.goto(&format!("/ui/runs/{rejected}")).await;
    assert_eq!(b.text("#run-status").await, "rejected");
    b.goto("/ui").await;
    assert!(b.attrs("#held a", "href").await.is_empty(), "nothing waits");
    w.finish(b).await;
}
