//! On-call digests end to end: a real SMTP server (aiosmtpd, run by
//! `tests/smtp/capture.py`) receives what `Notifier::after_run` sends for
//! runs stored in a real store (SQLite; the dedup test on every backend),
//! and a small axum server receives the webhooks.
//!
//! Without `aiosmtpd` (`python3 -m pip install -r tests/smtp/requirements.txt`)
//! the SMTP tests print a notice and pass locally, and fail when `CI` is set.

use crate::common::{Db, TestDb};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{TimeDelta, Utc};
use rosterd::config::{DatabaseSettings, NotifySettings, Secret, ServeSettings};
use rosterd::metrics::Metrics;
use rosterd::model::{Auth0UserId, EmployeeId};
use rosterd::notify::Notifier;
use rosterd::plan::{Finding, FindingCandidate, FindingKind, Plan};
use rosterd::store::{ActionRecord, RunEnd, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- fixtures

/// True when the SMTP tests can run; otherwise says why (and fails in CI).
fn smtp_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let why = "python3 cannot import aiosmtpd; install it with \
                   `python3 -m pip install -r tests/smtp/requirements.txt`";
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
    }
    ok
}

/// One message as the SMTP server received it, decoded by Python's `email`.
#[derive(Debug, serde::Deserialize)]
struct Received {
    rcpt_tos: Vec<String>,
    subject: String,
    text: String,
    html: String,
    raw: String,
}

/// `tests/smtp/capture.py` running on 127.0.0.1.
struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start(port: u16, auth: Option<&str>) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/capture.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg("--dir")
            .arg(dir.path())
            .arg("--port")
            .arg(port.to_string());
        if let Some(auth) = auth {
            cmd.arg("--auth").arg(auth);
        }
        // stdin stays open while we live: the server exits when it closes.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("capture.py did not start");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("capture.py said {line:?}"));
        SmtpServer { child, port, dir }
    }

    /// Every message received so far, in order. The server writes each one
    /// before it answers 250, so this is complete once `after_run` returns.
    fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (free a moment ago).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A migrated SQLite store in a temp dir.
/// A migrated store on `kind`; the database goes when the `TestDb` drops.
async fn store_on(kind: Db) -> (Store, TestDb) {
    let db = TestDb::new(kind).await;
    let settings = DatabaseSettings {
        url: db.url.clone(),
        ..DatabaseSettings::default()
    };
    let store = Store::connect(&settings).await.unwrap();
    store.migrate().await.unwrap();
    (store, db)
}

fn settings(port: u16) -> NotifySettings {
    NotifySettings {
        email: true,
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_security: "plain".into(),
        from: "rosterd <rosterd@example.com>".into(),
        to: vec!["oncall@example.com".into()],
        cooldown_hours: 24,
        smtp_attempts: 2,
        smtp_timeout_secs: 2,
        ..NotifySettings::default()
    }
}

fn notifier(s: &NotifySettings, store: &Store) -> (Notifier, Arc<Metrics>) {
    notifier_with(s, &ServeSettings::default(), store)
}

/// A notifier that links to the console as `serve` says.
fn notifier_with(
    s: &NotifySettings,
    serve: &ServeSettings,
    store: &Store,
) -> (Notifier, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let n = Notifier::new(s, serve, store.clone(), metrics.clone())
        .unwrap()
        .expect("configured");
    (n, metrics)
}

fn count(m: &Metrics, channel: &str, outcome: &str) -> u64 {
    m.notifications.with_label_values(&[channel, outcome]).get()
}

/// How a stored run ended, for [`stored_run`].
#[derive(Default)]
struct Ending {
    status: &'static str,
    findings: Vec<Finding>,
    held_reason: Option<&'static str>,
    error: Option<&'static str>,
    /// Failed actions: (kind, employee id, error).
    failures: Vec<(&'static str, i64, String)>,
}

/// Store a finished run the way `run.rs` does (plan JSON, summary JSON).
async fn stored_run(store: &Store, end: Ending) -> i64 {
    let now = Utc::now();
    let id = store
        .start_run(rosterd::run::Trigger::Schedule, "enforce", false, now)
        .await
        .unwrap();
    let plan = Plan {
        findings: end.findings,
        ..Plan::default()
    };
    let actions: Vec<ActionRecord> = end
        .failures
        .iter()
        .enumerate()
        .map(|(seq, (kind, employee, _))| ActionRecord {
            seq: seq as i64,
            kind: kind.parse().unwrap(),
            employee_id: Some(*employee),
            auth0_user_id: None,
            reason: "test".into(),
            detail: "{}".into(),
            status: "planned".parse().unwrap(),
            error: None,
            finished_at: None,
        })
        .collect();
    store.insert_actions(id, &actions).await.unwrap();
    for (seq, (_, _, error)) in end.failures.iter().enumerate() {
        store
            .finish_action(
                id,
                seq as i64,
                "failed".parse().unwrap(),
                None,
                Some(error),
                now,
            )
            .await
            .unwrap();
    }
    let summary = serde_json::json!({ "run_id": id, "status": end.status });
    let record = RunEnd {
        status: if end.status.is_empty() {
            "succeeded"
        } else {
            end.status
        }
        .parse()
        .unwrap(),
        findings_count: plan.findings.len() as i64,
        actions_planned: end.failures.len() as i64,
        actions_failed: end.failures.len() as i64,
        plan: Some(serde_json::to_string(&plan).unwrap()),
        summary: Some(summary.to_string()),
        error: end.error.map(String::from),
        held_reason: end.held_reason.map(String::from),
        ..RunEnd::default()
    };
    store.set_run_holder(id, "test").await.unwrap();
    assert!(store
        .finish_held_run(id, "test", &record, now)
        .await
        .unwrap());
    id
}

/// A candidate employee as matching describes it: (name, email, department).
fn candidate(id: i64, score: f64, reason: &str, who: (&str, &str, &str)) -> FindingCandidate {
    FindingCandidate {
        employee_id: EmployeeId(id),
        score,
        reason: reason.into(),
        name: who.0.into(),
        email: who.1.into(),
        department: who.2.into(),
        workspace: "TX".into(),
        is_active: true,
    }
}

fn unmatched(pf: &str, detail: &str) -> Finding {
    Finding {
        podfactory_user_id: Some(pf.into()),
        candidates: vec![
            candidate(
                41,
                0.7712,
                "similar name \"Zoë O'Brien\"",
                ("Zoë O'Brien", "zoe.obrien@printworks.com", "Packing"),
            ),
            candidate(
                42,
                0.655,
                "same email local part",
                ("Zoe Brien", "zbrien@printworks.com", "Shipping"),
            ),
        ],
        ..Finding::new(
            FindingKind::UnmatchedPodfactoryUser,
            None,
            vec![],
            detail.into(),
        )
    }
}

fn ambiguous(pf: &str) -> Finding {
    Finding {
        podfactory_user_id: Some(pf.into()),
        candidates: vec![
            candidate(
                7,
                0.93,
                "same name, Packing",
                ("Sam Lee", "sam.lee@printworks.com", "Packing"),
            ),
            candidate(
                8,
                0.93,
                "same name, Shipping",
                ("Sam Lee", "samuel.lee@printworks.com", "Shipping"),
            ),
        ],
        ..Finding::new(
            FindingKind::AmbiguousPodfactoryUser,
            None,
            vec![],
            "PodFactory user \"Sam Lee\" matches two employees".into(),
        )
    }
}

fn orphan(id: &str) -> Finding {
    Finding::new(
        FindingKind::Orphaned,
        None,
        vec![Auth0UserId(id.into())],
        "account created by rosterd has no employee".into(),
    )
}

fn duplicate(employee: i64) -> Finding {
    Finding::new(
        FindingKind::DuplicateAccount,
        Some(EmployeeId(employee)),
        vec![
            Auth0UserId("auth0|dup-a".into()),
            Auth0UserId("auth0|dup-b".into()),
        ],
        "two accounts for one employee".into(),
    )
}

async fn logged_keys(store: &Store) -> Vec<String> {
    let rows: Vec<(String,)> = match store {
        Store::Sqlite(p) => {
            sqlx::query_as("SELECT finding_key FROM notification_log ORDER BY finding_key")
                .fetch_all(p)
                .await
        }
        #[cfg(feature = "postgres")]
        Store::Postgres(p) => {
            sqlx::query_as("SELECT finding_key FROM notification_log ORDER BY finding_key")
                .fetch_all(p)
                .await
        }
        #[cfg(feature = "mysql")]
        Store::MySql(p) => {
            sqlx::query_as("SELECT finding_key FROM notification_log ORDER BY finding_key")
                .fetch_all(p)
                .await
        }
    }
    .unwrap();
    rows.into_iter().map(|(k,)| k).collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn digest_has_text_and_html_parts_lists_candidates_and_escapes_data() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(Db::Sqlite).await;
    let (n, metrics) = notifier(&settings(smtp.port), &store);
    let run = stored_run(
        &store,
        Ending {
            findings: vec![
                unmatched(
                    "pf-1",
                    "PodFactory user <script>alert(1)</script> & \"Bob\"",
                ),
                ambiguous("pf-2"),
                orphan("auth0|orphan-1"),
                duplicate(5),
                // Not something to page anyone about: left out.
                Finding::new(
                    FindingKind::EmployeeWithoutPodfactoryUser,
                    Some(EmployeeId(9)),
                    vec![],
                    "no PodFactory login".into(),
                ),
            ],
            ..Ending::default()
        },
    )
    .await;

    n.after_run(run).await;

    let got = smtp.received();
    assert_eq!(got.len(), 1, "one digest");
    let m = &got[0];
    assert_eq!(m.rcpt_tos, ["oncall@example.com"]);
    assert_eq!(
        m.subject,
        "[rosterd] 1 new unmatched PodFactory user, 1 new ambiguous PodFactory user, \
         1 new duplicate account, 1 new orphaned account"
    );
    // Plain text: data as is, candidates with score and reason.
    assert!(m
        .text
        .contains(&format!("rosterd run {run} (succeeded, trigger schedule)")));
    assert!(m
        .text
        .contains("PodFactory user <script>alert(1)</script> & \"Bob\" [PodFactory user pf-1]"));
    // Candidates named as a person tells them apart, not by id only.
    assert!(
        m.text.contains(
            "candidate: Zoë O'Brien (Packing, zoe.obrien@printworks.com), employee 41, \
             score 0.77: similar name \"Zoë O'Brien\""
        ),
        "{}",
        m.text
    );
    assert!(m.text.contains(
        "candidate: Sam Lee (Shipping, samuel.lee@printworks.com), employee 8, score 0.93: \
         same name, Shipping"
    ));
    // No console: the API calls to decide with, and no links.
    assert!(m.text.contains("POST /api/v1/mappings"));
    assert!(m.text.contains("POST /api/v1/podfactory/non-employees"));
    assert!(m.text.contains("POST /api/v1/findings/acks"));
    assert!(!m.text.contains("/ui/") && !m.html.contains("<a "));
    assert!(m.text.contains("[accounts auth0|orphan-1]"));
    assert!(m
        .text
        .contains("[employee 5; accounts auth0|dup-a, auth0|dup-b]"));
    assert!(!m.text.contains("no PodFactory login"));
    // HTML: every piece of data escaped, nothing of it live.
    assert!(m
        .html
        .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Bob&quot;"));
    assert!(m.html.contains("similar name &quot;Zoë O&#39;Brien&quot;"));
    assert!(
        m.html.contains(
            "<td>Zoë O&#39;Brien (41)</td><td>Packing</td><td>zoe.obrien@printworks.com</td>\
             <td>0.77</td>"
        ),
        "{}",
        m.html
    );
    assert!(!m.html.contains("<script>"));
    assert!(m.html.contains("<h2>Unmatched PodFactory users (1)</h2>"));

    assert_eq!(logged_keys(&store).await.len(), 4);
    assert_eq!(count(&metrics, "email", "sent"), 1);
}

async fn same_findings_are_not_sent_again(kind: Db) {
    if !smtp_available() {
        return;
    }
    let (store, _db) = store_on(kind).await;
    dedup_scenario(&store).await;
}

on_every_backend!(
    same_findings_are_not_sent_again,
    findings_people_decided_are_not_sent_until_undone,
);

/// First run: a digest. Second run, same findings: nothing. Third run, one
/// more finding: a digest of just that one.
async fn dedup_scenario(store: &Store) {
    let smtp = SmtpServer::start(0, None);
    let (n, metrics) = notifier(&settings(smtp.port), store);
    let findings = || vec![unmatched("pf-1", "Ann"), orphan("auth0|o1")];

    let first = stored_run(
        store,
        Ending {
            findings: findings(),
            ..Ending::default()
        },
    )
    .await;
    n.after_run(first).await;
    assert_eq!(smtp.received().len(), 1);

    let second = stored_run(
        store,
        Ending {
            findings: findings(),
            ..Ending::default()
        },
    )
    .await;
    n.after_run(second).await;
    assert_eq!(smtp.received().len(), 1, "nothing new: no digest");
    assert_eq!(count(&metrics, "email", "suppressed"), 2);

    let mut more = findings();
    more.push(ambiguous("pf-9"));
    let third = stored_run(
        store,
        Ending {
            findings: more,
            ..Ending::default()
        },
    )
    .await;
    n.after_run(third).await;
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].subject, "[rosterd] 1 new ambiguous PodFactory user");
    assert!(!got[1].text.contains("pf-1"), "{}", got[1].text);
    assert_eq!(logged_keys(store).await.len(), 3);
    assert_eq!(count(&metrics, "email", "sent"), 2);
}

#[tokio::test]
async fn findings_are_sent_again_once_the_cooldown_is_over() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(Db::Sqlite).await;
    let s = NotifySettings {
        cooldown_hours: 6,
        ..settings(smtp.port)
    };
    let (n, _) = notifier(&s, &store);
    let ending = || Ending {
        findings: vec![orphan("auth0|o1"), orphan("auth0|o2")],
        ..Ending::default()
    };

    n.after_run(stored_run(&store, ending()).await).await;
    n.after_run(stored_run(&store, ending()).await).await;
    assert_eq!(smtp.received().len(), 1, "within the cool-down");

    // o1 was last sent 7 hours ago, o2 5 hours ago.
    #[allow(irrefutable_let_patterns)] // when SQLite is the only backend built
    let Store::Sqlite(pool) = &store
    else {
        unreachable!()
    };
    for (id, hours) in [("auth0|o1", 7), ("auth0|o2", 5)] {
        sqlx::query("UPDATE notification_log SET last_sent_at = $1 WHERE finding_key LIKE $2")
            .bind(Utc::now() - TimeDelta::hours(hours))
            .bind(format!("%{id}"))
            .execute(pool)
            .await
            .unwrap();
    }
    n.after_run(stored_run(&store, ending()).await).await;
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].subject, "[rosterd] 1 new orphaned account");
    assert!(got[1].text.contains("auth0|o1") && !got[1].text.contains("auth0|o2"));

    // cooldown_hours = 0: every run repeats everything.
    let (always, _) = notifier(
        &NotifySettings {
            cooldown_hours: 0,
            ..s
        },
        &store,
    );
    always.after_run(stored_run(&store, ending()).await).await;
    assert_eq!(
        smtp.received()[2].subject,
        "[rosterd] 2 new orphaned accounts"
    );
}

#[tokio::test]
async fn per_kind_recipients_get_only_their_sections() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(Db::Sqlite).await;
    let s = NotifySettings {
        recipients: BTreeMap::from([
            (
                "unmatched_podfactory_user".to_string(),
                vec![
                    "pf-team@example.com".to_string(),
                    "oncall@example.com".to_string(),
                ],
            ),
            (
                "ambiguous_podfactory_user".to_string(),
                vec!["pf-team@example.com".to_string()],
            ),
            (
                "held_run".to_string(),
                vec!["ops-lead@example.com".to_string()],
            ),
        ]),
        ..settings(smtp.port)
    };
    let (n, metrics) = notifier(&s, &store);
    let run = stored_run(
        &store,
        Ending {
            status: "held",
            held_reason: Some("the plan would block 40 of 120 managed accounts (max 25)"),
            findings: vec![
                unmatched("pf-1", "Ann"),
                ambiguous("pf-2"),
                orphan("auth0|o1"),
            ],
            ..Ending::default()
        },
    )
    .await;
    n.after_run(run).await;

    let got = smtp.received();
    assert_eq!(got.len(), 3);
    let to = |addr: &str| {
        got.iter()
            .find(|m| m.rcpt_tos == [addr])
            .unwrap_or_else(|| panic!("no message for {addr}"))
    };
    // `to` gets everything, once (also listed for a kind).
    assert_eq!(
        to("oncall@example.com").subject,
        "[rosterd] 1 held run, 1 new unmatched PodFactory user, \
         1 new ambiguous PodFactory user, 1 new orphaned account"
    );
    let pf = to("pf-team@example.com");
    assert_eq!(
        pf.subject,
        "[rosterd] 1 new unmatched PodFactory user, 1 new ambiguous PodFactory user"
    );
    assert!(!pf.text.contains("Held runs") && !pf.text.contains("Orphaned"));
    assert!(!pf.html.contains("Held runs") && !pf.html.contains("auth0|o1"));
    let lead = to("ops-lead@example.com");
    assert_eq!(lead.subject, "[rosterd] 1 held run");
    assert!(!lead.text.contains("pf-1"));
    assert_eq!(count(&metrics, "email", "sent"), 3);
}

#[tokio::test]
async fn items_nobody_receives_are_not_recorded_as_sent() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(Db::Sqlite).await;
    let s = NotifySettings {
        to: vec![],
        recipients: BTreeMap::from([("orphaned".to_string(), vec!["iam@example.com".to_string()])]),
        ..settings(smtp.port)
    };
    let (n, _) = notifier(&s, &store);
    let run = stored_run(
        &store,
        Ending {
            findings: vec![orphan("auth0|o1"), duplicate(5)],
            ..Ending::default()
        },
    )
    .await;
    n.after_run(run).await;
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "[rosterd] 1 new orphaned account");
    assert_eq!(logged_keys(&store).await, ["orphaned|||auth0|o1"]);
}

#[tokio::test]
async fn held_and_failed_runs_and_failed_actions_are_reported() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(Db::Sqlite).await;
    let (n, _) = notifier(&settings(smtp.port), &store);

    let held = stored_run(
        &store,
        Ending {
            status: "held",
            held_reason: Some("the plan would block 40 of 120 managed accounts (max 25)"),
            ..Ending::default()
        },
    )
    .await;
    n.after_run(held).await;
    let m = &smtp.received()[0];
    assert_eq!(m.subject, "[rosterd] 1 held run");
    assert!(m.text.contains(&format!(
        "run {held} was held: the plan would block 40 of 120 managed accounts (max 25)"
    )));
    assert!(m
        .text
        .contains(&format!("POST /api/v1/runs/{held}/approve")));

    let failed = stored_run(
        &store,
        Ending {
            status: "failed",
            error: Some("auth0: token request failed: 401"),
            ..Ending::default()
        },
    )
    .await;
    n.after_run(failed).await;
    let m = &smtp.received()[1];
    assert_eq!(m.subject, "[rosterd] 1 failed run");
    assert!(m.text.contains("auth0: token request failed: 401"));

    let actions = || Ending {
        status: "failed",
        failures: vec![
            ("create", 4, "Auth0 500".into()),
            ("block", 6, "Auth0 429".into()),
        ],
        ..Ending::default()
    };
    n.after_run(stored_run(&store, actions()).await).await;
    let m = &smtp.received()[2];
    assert_eq!(m.subject, "[rosterd] 2 failed actions (2 causes)");
    assert!(m
        .text
        .contains("- 1 create action failed: Auth0 500 (employee 4)"));
    // The same actions failing again are not news.
    n.after_run(stored_run(&store, actions()).await).await;
    assert_eq!(smtp.received().len(), 3);
}

#[tokio::test]
async fn smtp_down_is_bounded_records_nothing_and_sends_later() {
    if !smtp_available() {
        return;
    }
    let port = free_port();
    let (store, _db) = store_on(Db::Sqlite).await;
    let (n, metrics) = notifier(&settings(port), &store);
    let run = stored_run(
        &store,
        Ending {
            findings: vec![unmatched("pf-1", "Ann"), orphan("auth0|o1")],
            ..Ending::default()
        },
    )
    .await;

    let started = Instant::now();
    n.after_run(run).await;
    // 2 attempts of at most 2 s, 1 s apart.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(
        logged_keys(&store).await.is_empty(),
        "nothing recorded as sent"
    );
    assert_eq!(count(&metrics, "email", "failed"), 1);
    assert_eq!(count(&metrics, "email", "sent"), 0);

    // The server comes back: the next run's digest carries the findings.
    let smtp = SmtpServer::start(port, None);
    let next = stored_run(
        &store,
        Ending {
            findings: vec![unmatched("pf-1", "Ann"), orphan("auth0|o1")],
            ..Ending::default()
        },
    )
    .await;
    n.after_run(next).await;
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].text.contains("pf-1") && got[0].text.contains("auth0|o1"));
    assert_eq!(logged_keys(&store).await.len(), 2);
    assert_eq!(count(&metrics, "email", "sent"), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_is_cut_off_by_the_timeout() {
    // No aiosmtpd needed: a socket that accepts and stays silent.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = silent.accept().await {
            keep.lock().unwrap().push(sock);
        }
    });
    let (store, _db) = store_on(Db::Sqlite).await;
    let s = NotifySettings {
        smtp_attempts: 2,
        smtp_timeout_secs: 1,
        ..settings(port)
    };
    let (n, metrics) = notifier(&s, &store);
    let run = stored_run(
        &store,
        Ending {
            findings: vec![orphan("auth0|o1")],
            ..Ending::default()
        },
    )
    .await;
    let started = Instant::now();
    n.after_run(run).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(held.lock().unwrap().len() >= 2, "both attempts connected");
    assert!(logged_keys(&store).await.is_empty());
    assert_eq!(count(&metrics, "email", "failed"), 1);
}

#[tokio::test]
async fn smtp_auth_uses_the_password_from_settings_and_never_mails_it() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, Some("rosterd:s3cret-pw"));
    let (store, _db) = store_on(Db::Sqlite).await;
    let run = stored_run(
        &store,
        Ending {
            findings: vec![orphan("auth0|o1")],
            ..Ending::default()
        },
    )
    .await;

    // A wrong password is a permanent refusal: no retries, nothing recorded.
    let wrong = NotifySettings {
        smtp_username: "rosterd".into(),
        smtp_password: Some(Secret::new("nope")),
        smtp_attempts: 5,
        ..settings(smtp.port)
    };
    let (n, metrics) = notifier(&wrong, &store);
    let started = Instant::now();
    n.after_run(run).await;
    assert!(started.elapsed() < Duration::from_secs(3), "no retries");
    assert_eq!(count(&metrics, "email", "failed"), 1);
    assert!(smtp.received().is_empty());

    let right = NotifySettings {
        smtp_password: Some(Secret::new("s3cret-pw")),
        ..wrong
    };
    let (n, _) = notifier(&right, &store);
    n.after_run(run).await;
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert!(!got[0].raw.contains("s3cret-pw"));
}

/// What the webhook server received, by path.
#[derive(Clone, Default)]
struct Hooks {
    posts: Arc<Mutex<Vec<(String, Value)>>>,
    fail: Arc<AtomicBool>,
}

async fn hook(State(h): State<Hooks>, uri: axum::http::Uri, Json(body): Json<Value>) -> StatusCode {
    h.posts.lock().unwrap().push((uri.path().to_string(), body));
    if h.fail.load(Ordering::SeqCst) && uri.path() == "/generic" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

#[tokio::test]
async fn webhooks_get_the_digest_as_json_and_as_slack_text() {
    let hooks = Hooks::default();
    let app = Router::new()
        .route("/generic", post(hook))
        .route("/services/T0/B0/tok", post(hook))
        .with_state(hooks.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (store, _db) = store_on(Db::Sqlite).await;
    let s = NotifySettings {
        email: false,
        webhook_url: format!("http://{addr}/generic"),
        slack_webhook_url: format!("http://{addr}/services/T0/B0/tok"),
        smtp_attempts: 2,
        smtp_timeout_secs: 2,
        ..NotifySettings::default()
    };
    let (n, metrics) = notifier(&s, &store);
    let run = stored_run(
        &store,
        Ending {
            findings: vec![unmatched("pf-1", "<Ann & Co>"), orphan("auth0|o1")],
            ..Ending::default()
        },
    )
    .await;

    // The generic hook is down: Slack gets it, nothing is recorded, so
    // the next try posts again.
    hooks.fail.store(true, Ordering::SeqCst);
    n.after_run(run).await;
    assert_eq!(count(&metrics, "webhook", "failed"), 1);
    assert_eq!(count(&metrics, "webhook", "sent"), 1);
    assert!(logged_keys(&store).await.is_empty());

    hooks.fail.store(false, Ordering::SeqCst);
    hooks.posts.lock().unwrap().clear();
    n.after_run(run).await;
    let posts = hooks.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let body = |path: &str| {
        posts
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .unwrap()
    };

    let generic = body("/generic");
    assert_eq!(generic["source"], "rosterd");
    assert_eq!(generic["run"]["id"], run);
    assert_eq!(generic["run"]["status"], "succeeded");
    assert_eq!(
        generic["subject"],
        "[rosterd] 1 new unmatched PodFactory user, 1 new orphaned account"
    );
    let items = generic["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "unmatched_podfactory_user");
    assert_eq!(items[0]["podfactory_user_id"], "pf-1");
    assert_eq!(items[0]["detail"], "<Ann & Co>");
    assert_eq!(items[0]["candidates"][0]["employee_id"], 41);
    assert_eq!(items[1]["auth0_user_ids"][0], "auth0|o1");

    let slack = body("/services/T0/B0/tok");
    let text = slack["text"].as_str().unwrap();
    assert_eq!(
        slack.as_object().unwrap().len(),
        1,
        "Slack shape: only text"
    );
    assert!(text.starts_with("*[rosterd] 1 new unmatched PodFactory user"));
    assert!(text.contains("&lt;Ann &amp; Co&gt;") && !text.contains("<Ann"));
    assert!(text.contains("employee 41, score 0.77"), "{text}");

    assert_eq!(logged_keys(&store).await.len(), 2);
    assert_eq!(count(&metrics, "webhook", "sent"), 3);
}

#[tokio::test]
async fn no_notifier_without_email_or_webhooks_and_no_digest_without_news() {
    let (store, _db) = store_on(Db::Sqlite).await;
    let metrics = Arc::new(Metrics::new());
    let off = Notifier::new(
        &NotifySettings::default(),
        &ServeSettings::default(),
        store.clone(),
        metrics,
    )
    .unwrap();
    assert!(off.is_none());

    // A quiet run (only findings that are not paged about): nothing is sent,
    // so an unreachable server is never even tried.
    let (n, metrics) = notifier(&settings(free_port()), &store);
    let quiet = stored_run(
        &store,
        Ending {
            findings: vec![Finding::new(
                FindingKind::EmployeeWithoutPodfactoryUser,
                Some(EmployeeId(3)),
                vec![],
                "no PodFactory login".into(),
            )],
            ..Ending::default()
        },
    )
    .await;
    n.after_run(quiet).await;
    assert_eq!(count(&metrics, "email", "failed"), 0);
    assert_eq!(count(&metrics, "email", "sent"), 0);
}

/// Issue 9, defect 9: the digest kept the first 20 failures of a run, so a
/// 21st failing action (and its cause) never reached on-call. Every failure
/// is told, grouped by cause, and the subject says the true totals.
#[tokio::test]
async fn every_failed_action_reaches_on_call_grouped_by_cause() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(Db::Sqlite).await;
    let (n, _) = notifier(&settings(smtp.port), &store);

    // 24 updates fail for one cause, then three more causes, the last of
    // them the 28th failure of the run.
    let mut failures: Vec<(&'static str, i64, String)> = (1..=24)
        .map(|e| {
            (
                "update",
                e,
                "no Auth0 role named \"Heat Press\"".to_string(),
            )
        })
        .collect();
    failures.push(("create", 101, "Auth0 500: internal error".into()));
    failures.push(("create", 102, "Auth0 500: internal error".into()));
    failures.push(("block", 103, "Auth0 429: too many requests".into()));
    failures.push((
        "update",
        104,
        "The specified new email already exists".into(),
    ));
    let run = stored_run(
        &store,
        Ending {
            status: "failed",
            failures,
            ..Ending::default()
        },
    )
    .await;
    n.after_run(run).await;
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.subject, "[rosterd] 28 failed actions (4 causes)");
    for line in [
        "- 24 update actions failed: no Auth0 role named \"Heat Press\" (employees 1, 2, 3,",
        "- 2 create actions failed: Auth0 500: internal error (employees 101, 102)",
        "- 1 block action failed: Auth0 429: too many requests (employee 103)",
        "- 1 update action failed: The specified new email already exists (employee 104)",
    ] {
        assert!(m.text.contains(line), "missing {line:?} in:\n{}", m.text);
        assert!(
            m.html.contains(&line[2..].replace('"', "&quot;")),
            "{}",
            m.html
        );
    }
    assert!(m.text.contains("20 and 4 more)"), "{}", m.text);

    // The same failures with one new employee: only the new one is news,
    // and the subject says how many the run really had.
    let mut again: Vec<(&'static str, i64, String)> = (1..=25)
        .map(|e| {
            (
                "update",
                e,
                "no Auth0 role named \"Heat Press\"".to_string(),
            )
        })
        .collect();
    again.push((
        "update",
        104,
        "The specified new email already exists".into(),
    ));
    n.after_run(
        stored_run(
            &store,
            Ending {
                status: "failed",
                failures: again,
                ..Ending::default()
            },
        )
        .await,
    )
    .await;
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].subject,
        "[rosterd] 1 failed action (1 cause; 26 failed in the run)"
    );
    assert!(got[1]
        .text
        .contains("- 1 update action failed: no Auth0 role named \"Heat Press\" (employee 25)"));
}

/// A finding someone acknowledged, and one about a PodFactory user someone
/// marked not an employee, are not sent, however new; undone, they are.
async fn findings_people_decided_are_not_sent_until_undone(kind: Db) {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(kind).await;
    let (n, _) = notifier(&settings(smtp.port), &store);
    let now = Utc::now();
    store
        .mark_not_employee("pf-kiosk", Some("kiosk at dock 4"), "alice", now)
        .await
        .unwrap();
    let dup_key = duplicate(5).key();
    store
        .ack_finding(&dup_key, FindingKind::DuplicateAccount, None, "alice", now)
        .await
        .unwrap();
    let findings = || {
        vec![
            unmatched("pf-kiosk", "PodFactory user Kiosk Dock Four"),
            ambiguous("pf-2"),
            duplicate(5),
            orphan("auth0|o1"),
        ]
    };
    let told = |findings| {
        let store = &store;
        let n = &n;
        async move {
            n.after_run(
                stored_run(
                    store,
                    Ending {
                        findings,
                        ..Ending::default()
                    },
                )
                .await,
            )
            .await
        }
    };

    told(findings()).await;
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].subject,
        "[rosterd] 1 new ambiguous PodFactory user, 1 new orphaned account"
    );
    assert!(!got[0].text.contains("pf-kiosk") && !got[0].text.contains("auth0|dup-a"));
    let mut sent = vec![ambiguous("pf-2").key(), orphan("auth0|o1").key()];
    sent.sort();
    assert_eq!(
        logged_keys(&store).await,
        sent,
        "decided items are not logged as sent"
    );

    // Undone: the next run tells them (the others are within the cool-down).
    assert!(store.unmark_not_employee("pf-kiosk").await.unwrap());
    assert!(store.unack_finding(&dup_key).await.unwrap());
    told(findings()).await;
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].subject,
        "[rosterd] 1 new unmatched PodFactory user, 1 new duplicate account"
    );
}

/// With `serve.public_url`, each item links to the console page where it
/// is decided, and the hints point there instead of at the API.
#[tokio::test]
async fn with_a_public_url_each_item_links_to_its_console_page() {
    if !smtp_available() {
        return;
    }
    let smtp = SmtpServer::start(0, None);
    let (store, _db) = store_on(Db::Sqlite).await;
    let serve = ServeSettings {
        public_url: "https://rosterd.example.com/".into(),
        ..ServeSettings::default()
    };
    let (n, _) = notifier_with(&settings(smtp.port), &serve, &store);
    let held = stored_run(
        &store,
        Ending {
            status: "held",
            held_reason: Some("the plan would block 40 of 120 managed accounts (max 25)"),
            findings: vec![ambiguous("pf-2"), duplicate(5), orphan("auth0|o1")],
            ..Ending::default()
        },
    )
    .await;
    n.after_run(held).await;
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    let (text, html) = (&got[0].text, &got[0].html);
    let base = "https://rosterd.example.com";
    let anchor = |f: &Finding| rosterd::triage::anchor(&f.key());
    for link in [
        format!("{base}/ui/runs/{held}"),
        format!(
            "{base}/ui/triage?kind=ambiguous_podfactory_user#{}",
            anchor(&ambiguous("pf-2"))
        ),
        format!("{base}/ui/employees/5"),
        format!(
            "{base}/ui/triage?kind=orphaned#{}",
            anchor(&orphan("auth0|o1"))
        ),
    ] {
        assert!(text.contains(&link), "{link} not in:\n{text}");
        assert!(
            html.contains(&format!("<a href=\"{link}\">")),
            "{link} not linked in:\n{html}"
        );
    }
    assert!(text.contains(&format!(
        "Decide in the console: {base}/ui/triage?kind=ambiguous_podfactory_user (link a \
         candidate, or mark the user not an employee)."
    )));
    assert!(text.contains(&format!(
        "Decide in the console: {base}/ui/runs/{held} (approve"
    )));
    assert!(!text.contains("/api/v1/"), "no API calls to curl: {text}");

    // Failed actions: each cause links to the run's page.
    let failed = stored_run(
        &store,
        Ending {
            status: "partial",
            failures: vec![("create", 101, "Auth0 500: internal error".into())],
            ..Ending::default()
        },
    )
    .await;
    n.after_run(failed).await;
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    let run_page = format!("{base}/ui/runs/{failed}");
    assert!(got[1]
        .text
        .contains(&format!("Each failed action with its error: {run_page}")));
    assert!(got[1].html.contains(&format!(
        "1 create action failed: Auth0 500: internal error (employee 101) \
         (<a href=\"{run_page}\">open in the console</a>)"
    )));
}
