//! The lifecycle policy as the console shows it, in a real browser.

use crate::browser::*;
use crate::common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_employee_page_says_which_accounts_are_excluded_and_why() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let (employees, mut accounts) = linked_staff(2, 0);
    // Employee 1 is also the tenant admin: a second account carries their id.
    let mut admin = managed_account("auth0|0000000000000000000000ad", &employees[0]);
    admin["email"] = json!("admin@example.com");
    accounts.push(admin);
    let w = Console::start(Setup {
        employees,
        accounts,
        config: "\n[policy.exclude]\naccount_emails = [\"admin@.*\"]\nemployee_ids = [2]\n".into(),
        ..Setup::default()
    })
    .await;
    b.bind(&w);
    b.goto("/ui/employees/1").await;
    b.sign_in(ADMIN_TOKEN).await;
    let accounts = b.texts("#accounts dl.account").await;
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    let (admin, own): (Vec<&String>, Vec<&String>) = accounts
        .iter()
        .partition(|a| a.contains("auth0|0000000000000000000000ad"));
    assert!(
        admin[0].contains("Excluded")
            && admin[0].contains("policy.exclude.account_emails (admin@.*)"),
        "{admin:?}"
    );
    assert!(!own[0].contains("Excluded"), "{own:?}");
    assert!(!b.text("#employee").await.contains("Excluded"));
    assert!(
        b.has("form#issue-credentials").await,
        "their own account may get credentials"
    );

    b.goto("/ui/employees/2").await;
    assert!(b
        .text("#employee")
        .await
        .contains("policy.exclude.employee_ids"));
    assert!(
        !b.has("form#issue-credentials").await,
        "no credentials for an excluded employee"
    );
    w.finish(b).await;
}
