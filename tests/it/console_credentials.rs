//! Credentials in a real browser: issued from the employee's page, shown
//! once, never cached, never kept.

use crate::browser::*;
use crate::common::*;

/// Three of lower case, upper case, digits and symbols, and long.
fn strong(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    password.len() >= 16 && classes.iter().filter(|&&c| c).count() >= 3
}

/// Passwords Auth0 (the simulator, which enforces the policy) accepted.
async fn patches(w: &Console) -> u64 {
    w.auth0.count("PATCH /api/v2/users/{id}", "200").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_shown_once_and_a_reload_does_not_show_them_again() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let (employees, accounts) = linked_staff(2, 0);
    let mut w = Console::start(Setup {
        employees,
        accounts,
        ..Setup::default()
    })
    .await;
    b.bind(&w);
    b.goto("/ui/employees/1").await;
    b.sign_in(ADMIN_TOKEN).await;
    assert_eq!(b.path().await, "/ui/employees/1");
    assert_eq!(b.text("h1").await, "Worker Number1");
    assert!(b
        .text("#accounts")
        .await
        .contains(&format!("auth0|{:024x}", 1)));

    // Asked twice: the form names the person and wants a tick.
    let confirm = "form#issue-credentials input[name=confirm]";
    assert!(b
        .text("form#issue-credentials")
        .await
        .contains("Worker Number1"));
    b.tick(confirm).await;
    b.submit_show_once("form#issue-credentials").await;
    let page = b.path().await;
    assert!(page.starts_with("/ui/credentials/"), "{page}");
    let password = b.text("#credential").await;
    assert!(strong(&password), "weak password {password:?}");
    assert_eq!(patches(&w).await, 1, "Auth0 took the password");
    // From here on no page may show it.
    b.secret(&password);
    w.secrets.push(password.clone());

    b.reload().await;
    assert_eq!(b.path().await, page);
    assert!(!b.has("#credential").await);
    assert!(b.text(".flash.error").await.contains("already shown"));
    assert_eq!(patches(&w).await, 1, "a reload sets no new password");
    b.goto("/ui/employees/1").await;
    b.goto("/ui/runs").await;

    // The same flow over HTTP, for the headers a browser does not expose.
    b.goto("/ui/employees/1").await;
    let csrf = b.csrf().await;
    let cookie = b.session().await.unwrap();
    let http = w.http();
    // Not confirmed: back to the employee, saying so, nothing set.
    let unconfirmed = http
        .post(
            "/ui/employees/1/credentials",
            &[(SESSION_COOKIE, &cookie)],
            &[("csrf", &csrf)],
        )
        .await;
    unconfirmed.expect(303);
    assert_eq!(unconfirmed.header("location"), Some("/ui/employees/1"));
    assert_eq!(patches(&w).await, 1);
    let confirmed = [("csrf", csrf.as_str()), ("confirm", "yes")];
    let issued = http
        .post(
            "/ui/employees/1/credentials",
            &[(SESSION_COOKIE, &cookie)],
            &confirmed,
        )
        .await;
    issued.expect(303);
    let slot = issued
        .header("location")
        .expect("where they are shown")
        .to_string();
    assert!(slot.starts_with("/ui/credentials/"), "{slot}");
    assert!(!issued.text.contains(&password));
    let shown = http.get(&slot, &[(SESSION_COOKIE, &cookie)]).await;
    shown.expect(200);
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    let fresh = html_texts(&shown.text, "#credential").remove(0);
    assert!(
        strong(&fresh) && fresh != password,
        "a fresh password each time"
    );
    w.secrets.push(fresh.clone());
    let again = http.get(&slot, &[(SESSION_COOKIE, &cookie)]).await;
    assert!(html_texts(&again.text, "#credential").is_empty());
    assert!(!again.text.contains(&fresh));
    assert_eq!(again.header("cache-control"), Some("no-store"));
    assert_eq!(patches(&w).await, 2);
    // Shown to the person who asked only: another session gets nothing.
    let reader = set_cookie(&http.sign_in(READ_TOKEN).await, SESSION_COOKIE).unwrap();
    let issued = http
        .post(
            "/ui/employees/2/credentials",
            &[(SESSION_COOKIE, &cookie)],
            &confirmed,
        )
        .await;
    let slot = issued.header("location").unwrap().to_string();
    let peek = http.get(&slot, &[(SESSION_COOKIE, &reader)]).await;
    assert!(html_texts(&peek.text, "#credential").is_empty());
    let mine = http.get(&slot, &[(SESSION_COOKIE, &cookie)]).await;
    w.secrets.extend(html_texts(&mine.text, "#credential"));
    assert_eq!(html_texts(&mine.text, "#credential").len(), 1);

    // The audit says who asked, never what was given.
    let audit = admin_audit(&w.store).await;
    assert_eq!(
        audit
            .iter()
            .filter(|(who, what, _)| who == ADMIN_NAME && what == "credentials")
            .count(),
        3,
        "{audit:?}"
    );
    w.finish(b).await;
}
