//! What an operator reads from the `rosterd` binary at 3 a.m. (issue 9):
//! config errors that name the key and line but never print a value,
//! check-config refusing what serve would refuse later, every error's cause
//! said once, and clean stderr (no colour codes when piped, no third-party
//! chatter at info).

use crate::common::*;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const SECRET: &str = "sk_live_7Hq2xR9vLmP4";

/// A valid configuration for `db` plus `extra` TOML appended.
fn config(dir: &Path, db_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("rosterd.toml");
    let text = format!(
        "[database]\nurl = \"{db_url}\"\n\n[auth0]\nbase_url = \"http://127.0.0.1:9\"\n\
         domain = \"test.rosterd.local\"\nclient_id = \"m2m-client\"\n{extra}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn rosterd(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rosterd"));
    cmd.arg("--config").arg(config).args(args);
    cmd.env("ROSTERD_AUTH0_CLIENT_SECRET", "client-secret-value");
    cmd.env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("rosterd runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// check-config on `extra`: it must fail, and say `needle`.
fn refused(extra: &str, env: &[(&str, &str)], needle: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "sqlite://x.db", extra);
    let out = rosterd(&cfg, &["check-config"], env);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "accepted {extra:?}: {err}");
    assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    err
}

#[test]
fn unknown_log_levels_are_refused_and_warning_means_warn() {
    refused(
        "[log]\nlevel = \"verbose\"\n",
        &[],
        "log.level (line 9): expected a level",
    );
    refused("", &[("RUST_LOG", "warnig")], "RUST_LOG: expected a level");
    let dir = tempfile::tempdir().unwrap();
    // A database check-config can open (an empty file is an empty SQLite
    // database): one it cannot reach is a problem too.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}", empty.display()),
        "[log]\nlevel = \"warning\"\n",
    );
    let out = rosterd(&cfg, &["check-config"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // "warning" used to enable only a target named "warning": nothing was
    // logged at all, not even a failed run. Auth0 is unreachable here.
    let db = dir.path().join("rosterd.db");
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}", db.display()),
        "max_attempts = 1\n[log]\nlevel = \"warning\"\n[serve]\nlisten = \"127.0.0.1:0\"\n",
    );
    let log = serve_until(&cfg, "run failed");
    assert!(log.contains("run failed"), "{log}");
    assert!(
        !log.contains("rosterd serving"),
        "info shown at warn:\n{log}"
    );
}

#[test]
fn config_errors_never_print_the_value() {
    // A secret pasted into the file, its closing quote lost: a syntax error.
    let err = refused(
        &format!("client_secret = \"{SECRET}\n"),
        &[],
        "TOML syntax error at line 8",
    );
    assert!(!err.contains(SECRET), "{err}");
    // The same value where a number belongs, in the file and from the
    // environment.
    let err = refused(
        &format!("timeout_secs = \"{SECRET}\"\n"),
        &[("ROSTERD_NOTIFY__SMTP_PORT", SECRET)],
        "auth0.timeout_secs (line 8): expected a whole number of 0 or more, found string",
    );
    assert!(
        err.contains("notify.smtp_port (set by ROSTERD_NOTIFY__SMTP_PORT): expected"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    let err = refused(
        &format!("[notify]\nwebhook_url = \"{SECRET}\"\n"),
        &[],
        "notify.webhook_url: expected an http:// or https:// URL",
    );
    assert!(!err.contains(SECRET), "{err}");
}

#[test]
fn check_config_refuses_what_serve_would_refuse() {
    refused(
        "[serve]\nschedule = \"61 * * * * *\"\n",
        &[],
        "serve.schedule: not a valid cron expression",
    );
    refused(
        "[notify]\nemail = true\nto = [\"oncall@example.com\"]\n[notify.recipients]\nunmatched = [\"a@example.com\"]\n",
        &[],
        "notify.recipients.unmatched: unknown kind",
    );
    refused(
        "",
        &[("ROSTERD_AUTH0__CLIENT_ID", "REPLACE_WITH_CLIENT_ID")],
        "auth0.client_id (set by ROSTERD_AUTH0__CLIENT_ID): still a placeholder",
    );
    refused(
        "",
        &[(
            "ROSTERD_AUTH0__BASE_URL",
            "https://acme.eu.auth0.com/api/v2/",
        )],
        "auth0.base_url (set by ROSTERD_AUTH0__BASE_URL): expected the tenant's root URL without /api/v2",
    );
    refused(
        "[podfactory]\nsource = \"csv\"\ncsv_path = \"/nonexistent/podfactory-users.csv\"\n",
        &[],
        "podfactory.csv_path: cannot read /nonexistent/podfactory-users.csv",
    );
}

/// A connection error names the database (host, port, name; no password)
/// and says its cause once.
#[cfg(feature = "postgres")]
#[test]
fn a_connect_error_names_the_database_and_says_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "postgres://rosterd@127.0.0.1:1/productivity",
        "",
    );
    let out = rosterd(
        &cfg,
        &["migrate"],
        &[
            ("ROSTERD_DATABASE_PASSWORD", "db-password-value"),
            ("ROSTERD_DATABASE__CONNECT_TIMEOUT_SECS", "2"),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: database connect to 127.0.0.1:1/productivity: "),
        "{err}"
    );
    assert_eq!(err.matches("refused").count(), 1, "{err}");
    assert!(!err.contains("db-password-value"), "{err}");
}

on_every_backend!(missing_tables_say_run_migrate);

async fn missing_tables_say_run_migrate(db: Db) {
    let db = TestDb::new(db).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &db.url, "");
    let out = rosterd(&cfg, &["run"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("run `rosterd migrate`"), "{err}");
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    // The database's message once, not wrapped and repeated by sqlx.
    assert!(!err.contains("error returned from database"), "{err}");
}

/// `rosterd serve` with stderr piped, stopped once a line says `until` (or
/// after 30 s); what it logged.
fn serve_until(cfg: &Path, until: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rosterd"))
        .arg("--config")
        .arg(cfg)
        .arg("serve")
        .env("ROSTERD_AUTH0_CLIENT_SECRET", "client-secret-value")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    // Reading blocks: a watchdog stops a child that never says `until`.
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    for line in lines.by_ref().map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(until) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    seen
}

#[test]
fn piped_logs_have_no_colour_codes_and_no_scheduler_chatter() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rosterd.db");
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}", db.display()),
        "[serve]\nlisten = \"127.0.0.1:0\"\nrun_at_start = false\n",
    );
    let log = serve_until(&cfg, "rosterd serving");
    assert!(log.contains("rosterd serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escape in piped logs:\n{log}");
    for noise in ["Uninited", "Job creator created"] {
        assert!(!log.contains(noise), "{noise:?} in:\n{log}");
    }
}

#[test]
fn an_address_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rosterd.db");
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}", db.display()),
        &format!("[serve]\nlisten = \"{addr}\"\nrun_at_start = false\n"),
    );
    let out = rosterd(&cfg, &["serve"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("error: serve.listen: cannot listen on {addr}: ")),
        "{err}"
    );
    assert_eq!(err.matches("in use").count(), 1, "{err}");
}

#[tokio::test]
async fn serve_refuses_an_employees_query_it_cannot_use_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hr.db").display());
    // HR's table, without the email column the query then leaves out.
    let db = rosterd::config::DatabaseSettings {
        url: url.clone(),
        ..Default::default()
    };
    let store = rosterd::store::Store::connect(&db).await.unwrap();
    exec(
        &store,
        "CREATE TABLE staff (id INTEGER, name TEXT, active INTEGER)",
    )
    .await;
    let cfg = config(
        dir.path(),
        &url,
        "[serve]\nlisten = \"127.0.0.1:0\"\nrun_at_start = false\n",
    );
    let mut serve = rosterd_command(&cfg, &["serve"])
        .env(
            "ROSTERD_DATABASE__EMPLOYEES_QUERY",
            "SELECT id, name AS full_name, active AS is_active FROM staff",
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It must refuse at once; a daemon that starts is stopped, and fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while serve.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = serve.kill();
    let out = serve.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("email"), "names the missing column: {err}");
    assert!(!err.contains("rosterd serving"), "{err}");
}

/// The README's order on a fresh database: `check-config`, then `migrate`.
/// Before the first migrate the built-in query's table does not exist yet:
/// that is the next step, not a bad setting.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn check_config_before_the_first_migrate_says_migrate_next() {
    let db = TestDb::new(Db::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &db.url, "");
    let before = rosterd(&cfg, &["check-config"], &[]);
    let said = String::from_utf8_lossy(&before.stdout).into_owned() + &stderr(&before);
    assert_eq!(before.status.code(), Some(0), "{said}");
    assert!(said.contains("run `rosterd migrate`"), "{said}");
    let migrated = rosterd(&cfg, &["migrate"], &[]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(
        !stderr(&migrated).contains("NOTICE") && !stderr(&migrated).contains("skipping"),
        "PostgreSQL's notices are not rosterd's news: {}",
        stderr(&migrated)
    );
    let after = rosterd(&cfg, &["check-config"], &[]);
    let said = String::from_utf8_lossy(&after.stdout).into_owned();
    assert_eq!(after.status.code(), Some(0), "{said}{}", stderr(&after));
    assert!(said.contains("employees query OK"), "{said}");
}

/// The same order on SQLite, where `migrate` also creates the file.
#[tokio::test]
async fn check_config_before_the_first_migrate_on_sqlite_says_migrate_next() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let cfg = config(dir.path(), &url, "");
    let before = rosterd(&cfg, &["check-config"], &[]);
    let said = String::from_utf8_lossy(&before.stdout).into_owned() + &stderr(&before);
    assert_eq!(before.status.code(), Some(0), "{said}");
    assert!(
        said.contains("no SQLite database at") && said.contains("run `rosterd migrate`"),
        "{said}"
    );
    // With a custom employees query the database should exist already: a
    // missing file is a wrong path, not a step to come.
    let custom = rosterd(
        &cfg,
        &["check-config"],
        &[("ROSTERD_DATABASE__EMPLOYEES_QUERY", "SELECT * FROM staff")],
    );
    assert_eq!(custom.status.code(), Some(1), "{}", stderr(&custom));
    let migrated = rosterd(&cfg, &["migrate"], &[]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let after = rosterd(&cfg, &["check-config"], &[]);
    let said = String::from_utf8_lossy(&after.stdout).into_owned();
    assert_eq!(after.status.code(), Some(0), "{said}{}", stderr(&after));
    assert!(said.contains("employees query OK"), "{said}");
}

/// A usage error is not a run status: clap's own 2 would read as "partial"
/// to a script checking `rosterd approve`'s exit status.
#[test]
fn a_command_line_typo_exits_64_not_a_run_status() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rosterd"))
        .args(["approve", "abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'abc'"));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_rosterd"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
}

/// check-config is what operators run before serve: a database that serve
/// could not open either is a problem (exit 1), named, not "OK".
#[test]
fn an_unreachable_database_fails_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("x.db");
    let cfg = config(dir.path(), &format!("sqlite://{}", missing.display()), "");
    let out = rosterd(&cfg, &["check-config"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("database"), "{}", stderr(&out));
}
