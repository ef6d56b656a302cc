//! The dashboards (`dashboards/`) and alert rules (`alerts/`) query only
//! metrics rosterd exports. This renders rosterd's real registry with every
//! family given at least one series (vec metrics only appear once a label set
//! is used), writes it where `tests/observability/` can read it, and — when
//! `python3` and `promtool` are installed (CI installs them) — runs
//! `tests/observability/check_dashboards.py` on it. A renamed metric in
//! `src/metrics.rs` therefore fails `cargo test`, not a dashboard at 3 a.m.

use rosterd::metrics::Metrics;
use std::path::PathBuf;
use std::process::Command;

/// Every family with one or more series, labels from the documented sets.
fn full_exposition() -> String {
    let m = Metrics::new();
    for status in ["succeeded", "partial", "failed", "held", "rejected"] {
        m.runs.with_label_values(&[status, "schedule"]).inc();
    }
    m.run_duration.observe(12.0);
    m.run_in_progress.set(0);
    m.last_run.set(1_700_000_000.0);
    m.last_success.set(1_700_000_000.0);
    m.held_runs.set(0);
    m.quarantined.set(0);
    for stage in ["load", "auth0", "store", "apply"] {
        m.sync_errors.with_label_values(&[stage]).inc();
    }
    for kind in ["create", "link", "block", "unblock", "update"] {
        for outcome in ["succeeded", "failed"] {
            m.actions.with_label_values(&[kind, outcome]).inc();
        }
    }
    m.user_creation_failures.inc();
    for kind in [
        "orphaned",
        "duplicate_account",
        "conflicting_evidence",
        "duplicate_employee_email",
        "invalid_employee",
        "unmatched_podfactory_user",
        "ambiguous_podfactory_user",
        "employee_without_podfactory_user",
    ] {
        m.findings.with_label_values(&[kind]).set(1);
    }
    m.employees.with_label_values(&["active"]).set(280);
    m.employees.with_label_values(&["inactive"]).set(20);
    m.employees_without_account.set(0);
    m.accounts.with_label_values(&["true"]).set(285);
    m.accounts.with_label_values(&["false"]).set(2);
    m.podfactory_matched.inc();
    m.podfactory_linked.set(250);
    m.podfactory_unmatched.set(3);
    m.podfactory_ambiguous.set(1);
    m.compatibility.set(0.97);
    for status in ["201", "429", "error"] {
        m.auth0_requests
            .with_label_values(&["POST /api/v2/users", status])
            .inc();
    }
    m.auth0_request_duration
        .with_label_values(&["POST /api/v2/users"])
        .observe(0.08);
    for reason in ["rate_limited", "server_error", "transport"] {
        m.auth0_retries
            .with_label_values(&["POST /api/v2/users", reason])
            .inc();
    }
    m.auth0_ratelimit_remaining.set(40);
    m.scheduler_skipped.inc();
    for channel in ["email", "webhook"] {
        for outcome in ["sent", "failed", "suppressed"] {
            m.notifications.with_label_values(&[channel, outcome]).inc();
        }
    }
    m.render()
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn dashboards_and_alerts_query_only_exported_metrics() {
    let text = full_exposition();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("observability");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("metrics-all-families.txt");
    std::fs::write(&file, &text).unwrap();

    let ci = std::env::var_os("CI").is_some();
    if !(on_path("python3") && on_path("promtool")) {
        assert!(
            !ci,
            "CI needs python3 and promtool (Debian package `prometheus`) for this test"
        );
        eprintln!("skipped: python3 or promtool not installed (apt-get install prometheus)");
        return;
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new("python3")
        .arg(format!("{root}/tests/observability/check_dashboards.py"))
        .arg(&file)
        .current_dir(root)
        .output()
        .expect("run check_dashboards.py");
    assert!(
        out.status.success(),
        "check_dashboards.py failed on {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
