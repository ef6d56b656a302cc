//! The console's sessions in a real browser: signing in, what a `:read`
//! session may do, CSRF, and sessions that are no longer good.

use crate::browser::*;
use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;

/// Employees 1–3, two PodFactory users the matcher cannot place (an
/// ambiguous "Sam Lee", a kiosk login) and one it can.
fn with_findings() -> Setup {
    Setup {
        employees: vec![
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(2, "Sam Lee", "sam.lee@example.com", true),
            employee(3, "Sam Lee", "samuel.lee@example.com", true),
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

/// `/ui/login?next=<path>`, as the console sends a visitor without a session.
fn sign_in_for(path: &str) -> String {
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    format!("/ui/login?next={next}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_the_admin_token_shows_the_status_page() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let w = Console::start(with_findings()).await;
    b.bind(&w);
    let api = w.admin_api();
    let first = api.trigger(false).await;
    assert_eq!(w.wait_run(first).await["status"], "succeeded");

    // No session: the sign-in page, which then leads back.
    b.goto("/ui").await;
    assert_eq!(b.path().await, sign_in_for("/ui"));
    assert_eq!(b.text("h1").await, "Sign in");
    assert_eq!(
        b.attr("form#login input#token", "type").await.as_deref(),
        Some("password")
    );
    assert!(b.session().await.is_none());

    // A wrong token: the sign-in page again, saying so, and no session.
    b.sign_in("not-a-token-of-rosterd").await;
    assert!(
        b.path().await.starts_with("/ui/login"),
        "{}",
        b.path().await
    );
    assert!(!b.text(".flash.error").await.is_empty());
    assert!(b.session().await.is_none());
    let http = w.http();
    let refused = http.sign_in("not-a-token-of-rosterd").await;
    refused.expect(401);
    assert!(set_cookie(&refused, SESSION_COOKIE).is_none());

    b.sign_in(ADMIN_TOKEN).await;
    assert_eq!(b.path().await, "/ui");
    assert_eq!(b.text("h1").await, "Status");
    let nav = b.attrs("nav a", "href").await;
    for page in ["/ui", "/ui/runs", "/ui/triage", "/ui/mappings"] {
        assert!(nav.iter().any(|h| h == page), "{page} not in {nav:?}");
    }
    assert!(b.has("form#sign-out").await);
    let last = b.text("#last-run").await;
    assert!(last.contains(&format!("Run {first}")), "{last}");
    assert!(last.contains("succeeded"), "{last}");
    assert!(last.contains("3 planned, 3 succeeded, 0 failed"), "{last}");
    assert!(!b.text("#next-run").await.is_empty());
    let kinds = b.attrs("#findings a", "href").await;
    for kind in ["ambiguous_podfactory_user", "unmatched_podfactory_user"] {
        assert!(
            kinds.contains(&format!("/ui/triage?kind={kind}")),
            "{kind} not linked from {kinds:?}"
        );
    }
    assert!(b.has("form#run-now").await && b.has("form#dry-run").await);
    b.screenshot("status").await;
    // Readable on a phone too.
    for page in [
        "/ui".to_string(),
        "/ui/triage".into(),
        format!("/ui/runs/{first}"),
        "/ui/employees/1".into(),
    ] {
        b.goto(&page).await;
        let wide = b.too_wide_for_a_phone().await;
        assert!(wide.is_none(), "{page} is wider than a phone: {wide:?}");
    }

    // The session cookie is out of the page's scripts' reach.
    let visible = b.script("return document.cookie").await;
    assert!(!visible
        .as_str()
        .unwrap_or_default()
        .contains(SESSION_COOKIE));
    let signed_in = http.sign_in(ADMIN_TOKEN).await;
    signed_in.expect(303);
    assert_eq!(signed_in.header("location"), Some("/ui"));
    let cookie = set_cookie_header(&signed_in, SESSION_COOKIE).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }

    // Dry run from the status page: the run's page, a dry run.
    b.goto("/ui").await;
    b.submit("form#dry-run").await;
    let dry: i64 = b
        .path()
        .await
        .strip_prefix("/ui/runs/")
        .and_then(|id| id.parse().ok())
        .expect("the run's page");
    assert!(!b.text(".flash").await.is_empty());
    let run = w.wait_run(dry).await;
    assert_eq!(
        (run["dry_run"].as_bool(), run["trigger"].as_str()),
        (Some(true), Some("http"))
    );

    // Signed out: the session is gone, even to someone who kept its cookie;
    // a sign-in never leads off the console.
    let kept = b.session().await.unwrap();
    b.submit("form#sign-out").await;
    assert!(b.path().await.starts_with("/ui/login"));
    assert!(b.session().await.is_none());
    http.get("/ui", &[(SESSION_COOKIE, &kept)])
        .await
        .expect(303);
    b.goto("/ui/runs").await;
    assert_eq!(b.path().await, sign_in_for("/ui/runs"));
    for away in ["https://evil.example/", "//evil.example/ui"] {
        b.goto(&sign_in_for(away)).await;
        b.sign_in(ADMIN_TOKEN).await;
        assert_eq!(b.path().await, "/ui", "next={away}");
        b.submit("form#sign-out").await;
    }
    w.finish(b).await;
}

/// A session cookie `payload.signature` re-signed with `key` after `edit`
/// changed its payload (the console signs `session\0<payload>`).
fn resign(cookie: &str, key: &str, edit: impl FnOnce(&mut Value)) -> String {
    let payload = cookie.split_once('.').expect("payload.signature").0;
    let mut session: Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
    edit(&mut session);
    let payload = serde_json::to_vec(&session).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(b"session\0");
    mac.update(&payload);
    format!(
        "{}.{}",
        B64.encode(&payload),
        B64.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_sessions_are_sent_to_sign_in_and_back() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let mut w = Console::start(Setup {
        employees: staff(2),
        ..Setup::default()
    })
    .await;
    b.bind(&w);
    let http = w.http();
    b.goto("/ui/login").await;
    b.sign_in(ADMIN_TOKEN).await;
    let good = b.session().await.expect("a session");
    let now = chrono::Utc::now().timestamp();

    // The same session re-signed as the console would: still good. (This
    // checks `resign` itself, so that the expired one below fails for its
    // expiry and nothing else.)
    let later = resign(&good, SESSION_KEY, |s| s["exp"] = (now + 600).into());
    http.get("/ui/runs", &[(SESSION_COOKIE, &later)])
        .await
        .expect(200);

    let flipped = {
        let (payload, sig) = good.split_once('.').unwrap();
        let first = if sig.starts_with('A') { 'B' } else { 'A' };
        format!("{payload}.{first}{}", &sig[1..])
    };
    let stale = [
        ("tampered", flipped),
        (
            "expired",
            resign(&good, SESSION_KEY, |s| s["exp"] = (now - 1).into()),
        ),
        (
            "signed with another key",
            resign(&good, "another-session-key-0123456789abcdef", |_| {}),
        ),
        ("not a session", "garbage".into()),
    ];
    for (what, cookie) in &stale {
        let r = http
            .get("/ui/runs?status=held", &[(SESSION_COOKIE, cookie)])
            .await;
        r.expect(303);
        assert_eq!(
            r.header("location"),
            Some(sign_in_for("/ui/runs?status=held").as_str()),
            "{what}"
        );
        // A change with a stale session is not made either.
        let csrf = b.csrf().await;
        let post = http
            .post(
                "/ui/runs",
                &[(SESSION_COOKIE, cookie)],
                &[("csrf", &csrf), ("dry_run", "false")],
            )
            .await;
        assert!(
            post.status == 303
                && post
                    .header("location")
                    .is_some_and(|l| l.starts_with("/ui/login")),
            "{what}: {} {:?}",
            post.status,
            post.header("location")
        );
    }
    assert!(w.admin_api().runs().await.is_empty(), "no run was started");

    // In the browser: a tampered cookie leads to sign-in, then back.
    b.set_session(&stale[0].1).await;
    b.goto("/ui/mappings").await;
    assert_eq!(b.path().await, sign_in_for("/ui/mappings"));
    b.sign_in(ADMIN_TOKEN).await;
    assert_eq!(b.path().await, "/ui/mappings");
    assert_eq!(b.text("h1").await, "Mappings");

    // rosterd restarted with another ROSTERD_SESSION_KEY: every session ended.
    w.restart("rotated-session-key-0123456789abcdef-0123");
    b.bind(&w);
    b.goto("/ui/triage").await;
    assert_eq!(b.path().await, sign_in_for("/ui/triage"));
    b.sign_in(ADMIN_TOKEN).await;
    assert_eq!(b.path().await, "/ui/triage");
    w.finish(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_session_sees_every_page_and_can_change_nothing() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let w = Console::start(with_findings()).await;
    b.bind(&w);
    let api = w.admin_api();
    let first = api.trigger(false).await;
    w.wait_run(first).await;

    b.goto("/ui/login").await;
    b.sign_in(READ_TOKEN).await;
    assert_eq!(b.path().await, "/ui");
    assert!(b.text("header").await.contains("read-only"));
    let pages = [
        "/ui".to_string(),
        "/ui/runs".into(),
        format!("/ui/runs/{first}"),
        "/ui/triage".into(),
        "/ui/triage?kind=ambiguous_podfactory_user".into(),
        "/ui/employees/1".into(),
        "/ui/mappings".into(),
    ];
    for page in &pages {
        b.goto(page).await;
        assert_eq!(&b.path().await, page);
        assert!(!b.text("h1").await.is_empty(), "{page}");
        // Sign-out is the one thing a read-only session may POST.
        assert_eq!(b.post_forms().await, 1, "{page} offers a change");
        assert!(b.has("form#sign-out").await, "{page}");
    }
    b.goto("/ui/triage").await;
    assert!(b.has("article.item .candidate").await, "the queue is shown");

    // A forged change with the session's own valid CSRF token: refused, 403.
    let cookie = b.session().await.unwrap();
    let csrf = b.csrf().await;
    let http = w.http();
    let forged: [(&str, Vec<(&str, &str)>); 4] = [
        ("/ui/runs", vec![("dry_run", "false")]),
        (
            "/ui/triage/link",
            vec![("podfactory_user_id", "pf2"), ("employee_id", "2")],
        ),
        (
            "/ui/triage/not-employee",
            vec![("podfactory_user_id", "kiosk3")],
        ),
        ("/ui/employees/1/credentials", vec![("confirm", "yes")]),
    ];
    for (path, mut form) in forged {
        form.push(("csrf", &csrf));
        let r = http.post(path, &[(SESSION_COOKIE, &cookie)], &form).await;
        r.expect(403);
        assert!(
            !html_texts(&r.text, ".flash.error").is_empty(),
            "{path}: {}",
            r.text
        );
        assert!(check_html(&r.text, &w.secrets).is_empty(), "{path}");
    }
    assert_eq!(api.runs().await.len(), 1, "no run was started");
    assert_eq!(
        api.get("/api/v1/mappings").await.json["mappings"],
        serde_json::json!([]),
        "no mapping was made"
    );
    assert_eq!(
        w.auth0.count("PATCH /api/v2/users/{id}", "200").await,
        0,
        "no password was set"
    );
    b.goto("/ui/mappings").await;
    assert!(b.text("#non-employees").await.contains("None"));
    w.finish(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_its_csrf_token_is_refused_and_changes_nothing() {
    let Some(mut b) = Browser::launch().await else {
        return;
    };
    let w = Console::start(with_findings()).await;
    b.bind(&w);
    let api = w.admin_api();
    let first = api.trigger(false).await;
    w.wait_run(first).await;
    b.goto("/ui/login").await;
    b.sign_in(ADMIN_TOKEN).await;
    let cookie = b.session().await.unwrap();
    let csrf = b.csrf().await;
    let http = w.http();
    // Another session's token is no better than none.
    let other = http.sign_in(READ_TOKEN).await;
    let other_cookie = set_cookie(&other, SESSION_COOKIE).unwrap();
    let page = http.get("/ui", &[(SESSION_COOKIE, &other_cookie)]).await;
    let other_csrf = html_attrs(&page.text, "form#sign-out input[name=csrf]", "value").remove(0);
    assert_ne!(other_csrf, csrf);

    for token in [
        None,
        Some(""),
        Some("0".repeat(32).as_str()),
        Some(&other_csrf),
    ] {
        let mut run = vec![("dry_run", "false")];
        let mut link = vec![("podfactory_user_id", "pf2"), ("employee_id", "2")];
        if let Some(t) = token {
            run.push(("csrf", t));
            link.push(("csrf", t));
        }
        for (path, form) in [("/ui/runs", &run), ("/ui/triage/link", &link)] {
            let r = http.post(path, &[(SESSION_COOKIE, &cookie)], form).await;
            r.expect(403);
            assert!(
                !html_texts(&r.text, ".flash.error").is_empty(),
                "{path} with {token:?}: {}",
                r.text
            );
        }
    }
    assert_eq!(api.runs().await.len(), 1, "no run was started");
    assert_eq!(
        api.get("/api/v1/mappings").await.json["mappings"],
        serde_json::json!([])
    );

    // The same request with the session's token is done: the refusals were
    // for the token, nothing else.
    let r = http
        .post(
            "/ui/runs",
            &[(SESSION_COOKIE, &cookie)],
            &[("csrf", &csrf), ("dry_run", "true")],
        )
        .await;
    r.expect(303);
    let id: i64 = r
        .header("location")
        .and_then(|l| l.strip_prefix("/ui/runs/"))
        .and_then(|id| id.parse().ok())
        .expect("the new run's page");
    w.wait_run(id).await;

    // The browser's own refusal page: a form with its token removed.
    b.goto("/ui/triage?kind=ambiguous_podfactory_user").await;
    b.script("document.querySelectorAll('form.link-candidate input[name=csrf]').forEach(i => i.remove())")
        .await;
    b.submit("form.link-candidate").await;
    assert!(b.text(".flash.error").await.contains("CSRF"));
    assert_eq!(
        api.get("/api/v1/mappings").await.json["mappings"],
        serde_json::json!([])
    );
    w.finish(b).await;
}

/// Every POST route of the console, read from its router, refuses a form
/// without the session's CSRF token, and one from a `:read` session even
/// with its own token; nothing is done (the admin audit stays empty). Only
/// sign-in (its own token) and sign-out (open to `:read`) differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_post_route_refuses_a_missing_token_and_a_read_session() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/ui/mod.rs"))
            .unwrap();
    let posts: Vec<String> = source
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(".route(\"") && l.contains("post("))
        .map(|l| l[8..].split('"').next().unwrap().replace("{id}", "1"))
        .filter(|p| p != "/login")
        .map(|p| format!("/ui{p}"))
        .collect();
    assert!(posts.len() >= 10, "the router's POST routes: {posts:?}");

    let w = Console::start(with_findings()).await;
    let http = w.http();
    let admin = set_cookie(&http.sign_in(ADMIN_TOKEN).await, SESSION_COOKIE).unwrap();
    let reader = set_cookie(&http.sign_in(READ_TOKEN).await, SESSION_COOKIE).unwrap();
    let page = http.get("/ui", &[(SESSION_COOKIE, &reader)]).await;
    let reader_csrf = html_attrs(&page.text, "form#sign-out input[name=csrf]", "value").remove(0);
    // Forms that would do something if allowed.
    let form = [
        ("dry_run", "true"),
        ("podfactory_user_id", "pf2"),
        ("employee_id", "2"),
        ("key", "ambiguous_podfactory_user||pf2|"),
        ("confirm", "yes"),
        ("reason", "no"),
    ];
    for path in &posts {
        let without = http.post(path, &[(SESSION_COOKIE, &admin)], &form).await;
        without.expect(403);
        if path == "/ui/logout" {
            continue;
        }
        let mut with_token = form.to_vec();
        with_token.push(("csrf", &reader_csrf));
        let read_only = http
            .post(path, &[(SESSION_COOKIE, &reader)], &with_token)
            .await;
        read_only.expect(403);
        assert!(
            html_texts(&read_only.text, ".flash.error")[0].contains("read-only"),
            "{path}: {}",
            read_only.text
        );
    }
    assert_eq!(admin_audit(&w.store).await, [], "nothing was done");
    // Still signed in: the refused sign-out did not sign anyone out.
    http.get("/ui", &[(SESSION_COOKIE, &admin)])
        .await
        .expect(200);
}

/// Operator findings: a form's address opened as a page is a console page
/// (not the API's JSON), a dry-run flag that is neither true nor false
/// starts nothing, and no console page is kept by the browser (Back after
/// signing out on a shared PC shows nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_requests_get_console_pages_and_nothing_is_cached() {
    let w = Console::start(with_findings()).await;
    let http = w.http();
    let admin = set_cookie(&http.sign_in(ADMIN_TOKEN).await, SESSION_COOKIE).unwrap();
    let cookies = [(SESSION_COOKIE, admin.as_str())];

    let page = http.get("/ui/triage/link", &cookies).await;
    page.expect(405);
    assert!(page
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("text/html")));
    assert!(html_texts(&page.text, ".flash.error")[0].contains("not a page"));

    let status = http.get("/ui", &cookies).await;
    let csrf = html_attrs(&status.text, "form#sign-out input[name=csrf]", "value").remove(0);
    let odd = http
        .post(
            "/ui/runs",
            &cookies,
            &[("csrf", &csrf), ("dry_run", "banana")],
        )
        .await;
    odd.expect(303);
    assert_eq!(odd.header("location"), Some("/ui"));
    assert_eq!(w.admin_api().runs().await.len(), 0, "no run was started");

    for path in [
        "/ui",
        "/ui/runs",
        "/ui/triage",
        "/ui/mappings",
        "/ui/employees/1",
    ] {
        let r = http.get(path, &cookies).await;
        r.expect(200);
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
}
