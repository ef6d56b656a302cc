//! A run's report as people read it at a terminal.

use crate::run::{RunReport, RunStatus};
use std::collections::BTreeMap;
use std::fmt::Write;

fn counts(m: &BTreeMap<&'static str, usize>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn human(r: &RunReport) -> String {
    let mut out = String::new();
    let how = match (r.status, r.dry_run, r.applied) {
        (RunStatus::Held, ..) => "HELD (nothing applied)",
        (RunStatus::Rejected, ..) => "REJECTED (nothing applied)",
        (RunStatus::Partial, ..) => "PARTIAL (some actions failed; the next run retries them)",
        (RunStatus::Failed, ..) => "FAILED",
        (RunStatus::Interrupted, ..) => "INTERRUPTED (the next run finishes it)",
        // Statuses of a stored run, never of a finished run's report.
        (RunStatus::Running, ..) => "RUNNING",
        (RunStatus::Approved, ..) => "APPROVED (a later run applied it)",
        (RunStatus::Succeeded, true, _) => "succeeded (dry run: nothing applied)",
        (RunStatus::Succeeded, false, false) if r.paused.is_some() => {
            "succeeded (enforcement paused: nothing applied)"
        }
        (RunStatus::Succeeded, false, false) => "succeeded (observe mode: nothing applied)",
        (RunStatus::Succeeded, false, true) => "succeeded",
    };
    let _ = writeln!(
        out,
        "run {} {how} in {:.1}s",
        r.run_id,
        r.duration_ms as f64 / 1000.0
    );
    let s = &r.stats;
    if let Some(rollback) = &r.rollback {
        // A rollback reads no employees: what it chose is its report.
        rolled_back(&mut out, rollback);
    } else if *s == crate::plan::PlanStats::default() && r.status == RunStatus::Failed {
        // Stopped before planning: zeros here would read as an empty source.
        let _ = writeln!(
            out,
            "  read:      nothing usable: the run stopped before planning"
        );
    } else {
        let _ = writeln!(
            out,
            "  read:      {} employees ({} active), {} Auth0 accounts ({} managed, {} unmanaged, left alone)",
            s.employees, s.active_employees, s.auth0_users, s.managed_accounts, s.unmanaged_accounts
        );
    }
    if s.excluded_accounts + s.excluded_employees > 0 {
        let _ = writeln!(
            out,
            "  excluded:  {} Auth0 accounts, {} employees (policy.exclude: never touched nor reported)",
            s.excluded_accounts, s.excluded_employees
        );
    }
    if s.managed_unverified_email > 0 {
        let _ = writeln!(
            out,
            "  note:      {} managed accounts have an unverified email",
            s.managed_unverified_email
        );
    }
    let _ = writeln!(out, "  planned:   {}", counts(&r.planned));
    if r.applied {
        let _ = writeln!(out, "  applied:   {}", counts(&r.succeeded));
        if !r.failed.is_empty() {
            let _ = writeln!(out, "  failed:    {}", counts(&r.failed));
        }
    }
    if let Some(b) = &r.bulk {
        let _ = writeln!(
            out,
            "  bulk:      created {} accounts by {} import job{}{}",
            b.imported,
            b.jobs,
            if b.jobs == 1 { "" } else { "s" },
            match b.failed {
                0 => String::new(),
                n => format!(" ({n} not created)"),
            }
        );
    }
    if let Some(pf) = &r.podfactory {
        let _ = writeln!(
            out,
            "  podfactory: {} users: {} matched ({} new links{}), {} ambiguous, {} unmatched{}{}{}",
            pf.users,
            pf.matched,
            pf.new_links,
            match pf.kept_links {
                0 => String::new(),
                n => format!(", {n} kept though a namesake came"),
            },
            pf.ambiguous,
            pf.unmatched,
            match pf.excluded {
                0 => String::new(),
                n => format!(", {n} marked not an employee"),
            },
            match pf.skipped_rows {
                0 => String::new(),
                1 => ", 1 row skipped".to_string(),
                n => format!(", {n} rows skipped"),
            },
            match pf.reused_match {
                true => "; inputs unchanged, the last match reused",
                false => "",
            }
        );
    }
    let _ = writeln!(out, "  findings:  {}", counts(&r.findings));
    for e in &r.finding_examples {
        let _ = writeln!(out, "    e.g. {e}");
    }
    for (kind, n) in r.findings.iter().filter(|(_, n)| **n > EXAMPLES_PER_KIND) {
        let _ = writeln!(
            out,
            "    … and {} more {kind} (GET /api/v1/findings?kind={kind})",
            n - EXAMPLES_PER_KIND
        );
    }
    for b in &r.scheduled {
        let _ = writeln!(
            out,
            "  block scheduled for {} ({}) for employee {}",
            b.local_time, b.zone, b.employee_id
        );
    }
    for f in &r.failures {
        let _ = writeln!(out, "  ! {f}");
    }
    if let Some(h) = &r.held_reason {
        // A rejected run's plan is one an admin refused: not held again.
        let what = match r.status {
            RunStatus::Rejected => "not applied:",
            _ => "held because",
        };
        let _ = writeln!(out, "  {what} {h}");
    }
    if let Some(a) = &r.approval {
        let _ = writeln!(
            out,
            "  approval:  of held run {}, by {}",
            a.held_run_id, a.approved_by
        );
    }
    // An approval that could not be used as given says why (re-planned).
    if let Some(note) = &r.approval_note {
        let _ = writeln!(out, "  approval:  {note}");
    }
    if r.status == RunStatus::Held && r.rollback.is_none() {
        let id = r.run_id;
        let _ = writeln!(
            out,
            "  to apply it:  rosterd approve {id}   (or POST /api/v1/runs/{id}/approve)\n  \
             to refuse it: rosterd reject {id} --reason TEXT   (or POST /api/v1/runs/{id}/reject)"
        );
    }
    match (&r.would_reject, &r.would_hold) {
        (Some(rejected), Some(h)) => {
            let _ = writeln!(
                out,
                "  enforce mode would reject this run: {rejected} (the guard: {h})"
            );
        }
        (_, Some(h)) => {
            let _ = writeln!(out, "  enforce mode would hold this run: {h}");
        }
        _ => {}
    }
    if let Some(e) = &r.error {
        let _ = writeln!(out, "  error: {e}");
    }
    if let Some(p) = &r.paused {
        let _ = writeln!(
            out,
            "  PAUSED:    enforcement paused since {} by {} ({}): runs plan and apply nothing until `rosterd resume`",
            p.paused_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            p.paused_by,
            p.reason
        );
    }
    if r.quarantined {
        let _ = writeln!(
            out,
            "  quarantined: Auth0 failed the last runs; scheduled runs are slowed down until one is not"
        );
    }
    out
}

/// What a rollback run chose, account by account, and what it left alone.
fn rolled_back(out: &mut String, r: &crate::rollback::Summary) {
    use crate::rollback::Target;
    let time =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (verb, what) = match &r.target {
        Target::Window { since, until } => (
            "block",
            format!(
                "the accounts created by runs started from {}{}",
                time(since),
                until
                    .as_ref()
                    .map_or_else(String::new, |u| format!(" until {}", time(u)))
            ),
        ),
        Target::Undo { run_id } => ("unblock", format!("what rollback run {run_id} blocked")),
    };
    let _ = writeln!(
        out,
        "  rollback:  {verb} {what}: {} accounts, {} left alone",
        r.accounts.len(),
        r.skipped.len()
    );
    for a in &r.accounts {
        let employee = a
            .employee_id
            .map_or_else(String::new, |e| format!("employee {e}, "));
        let _ = writeln!(
            out,
            "    {verb} {} ({employee}run {})",
            a.auth0_user_id, a.run_id
        );
    }
    for s in &r.skipped {
        let _ = writeln!(out, "    left alone {}: {}", s.auth0_user_id, s.why);
    }
}

/// Findings shown per kind in a report.
const EXAMPLES_PER_KIND: usize = 3;

/// The first [`EXAMPLES_PER_KIND`] findings of each kind, as `kind: detail`.
pub fn finding_examples(findings: &[crate::plan::Finding]) -> Vec<String> {
    let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
    findings
        .iter()
        .filter(|f| {
            let n = shown.entry(f.kind.as_str()).or_insert(0);
            *n += 1;
            *n <= EXAMPLES_PER_KIND
        })
        .map(|f| format!("{}: {}", f.kind.as_str(), f.detail))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;

    fn report(status: RunStatus) -> RunReport {
        RunReport {
            run_id: 7,
            status,
            dry_run: false,
            mode: Mode::Enforce,
            applied: status != RunStatus::Held,
            stats: Default::default(),
            planned: BTreeMap::new(),
            succeeded: BTreeMap::new(),
            failed: BTreeMap::from([("update", 2)]),
            findings: BTreeMap::new(),
            finding_examples: Vec::new(),
            failures: Vec::new(),
            held_reason: None,
            would_hold: None,
            would_reject: None,
            error: Some("2 of 9 actions failed".into()),
            podfactory: None,
            podfactory_error: None,
            scheduled: Vec::new(),
            approval: None,
            approval_note: None,
            failed_stage: None,
            quarantined: false,
            paused: None,
            rollback: None,
            bulk: None,
            leadership_lost: false,
            approval_used: false,
            plan: None,
            duration_ms: 1200,
            timings: Default::default(),
        }
    }

    #[test]
    fn a_run_that_stopped_before_planning_does_not_report_an_empty_source() {
        let mut r = report(RunStatus::Failed);
        r.error = Some("auth0 token: 401 access_denied".into());
        let text = human(&r);
        assert!(text.contains("the run stopped before planning"), "{text}");
        assert!(!text.contains("0 employees"), "{text}");
    }

    #[test]
    fn a_scheduled_block_is_said_in_the_workspace_time() {
        let mut r = report(RunStatus::Succeeded);
        r.scheduled.push(crate::run::ScheduledReport {
            employee_id: crate::model::EmployeeId(42),
            at: "2026-03-09T05:00:00Z".parse().unwrap(),
            local_time: "2026-03-09 00:00 CDT".into(),
            zone: "America/Chicago".into(),
            auth0_user_ids: Vec::new(),
        });
        let text = human(&r);
        assert!(
            text.contains(
                "block scheduled for 2026-03-09 00:00 CDT (America/Chicago) for employee 42"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_partial_run_says_so_and_a_held_run_says_how_to_decide_it() {
        let text = human(&report(RunStatus::Partial));
        assert!(text.starts_with("run 7 PARTIAL"), "{text}");
        assert!(text.contains("error: 2 of 9 actions failed"), "{text}");
        let text = human(&report(RunStatus::Held));
        assert!(text.contains("rosterd approve 7"), "{text}");
        assert!(text.contains("rosterd reject 7 --reason"), "{text}");
        assert!(text.contains("POST /api/v1/runs/7/reject"), "{text}");
    }

    #[test]
    fn a_rejected_run_is_not_called_held_and_an_approval_says_how_it_was_used() {
        let mut r = report(RunStatus::Rejected);
        r.held_reason = Some("plan blocks 30 accounts".into());
        r.error = Some("rejected: the same plan as run 5".into());
        r.approval_note = Some("the plan changed since run 6 was held; re-planned".into());
        let text = human(&r);
        assert!(!text.contains("held because"), "{text}");
        assert!(text.contains("not applied: plan blocks 30"), "{text}");
        assert!(!text.contains("rosterd approve 7"), "{text}");
        assert!(
            text.contains("approval:  the plan changed since run 6"),
            "{text}"
        );
        // A dry run of that plan: the enforce run would reject it.
        let mut r = report(RunStatus::Succeeded);
        r.would_reject = Some(format!("{}run 5", crate::run::SAME_AS_REJECTED.0));
        r.would_hold = Some("plan blocks 30 accounts".into());
        let text = human(&r);
        assert!(
            text.contains("enforce mode would reject this run: rejected: the same plan as run 5"),
            "{text}"
        );
        assert!(
            text.contains("(the guard: plan blocks 30 accounts)"),
            "{text}"
        );
        r.would_reject = None;
        let text = human(&r);
        assert!(
            text.contains("enforce mode would hold this run: plan blocks 30"),
            "{text}"
        );
    }

    #[test]
    fn findings_come_with_a_few_examples_each() {
        use crate::plan::{Finding, FindingKind};
        let findings: Vec<Finding> = (1..=5)
            .map(|i| {
                Finding::new(
                    FindingKind::InvalidEmployee,
                    None,
                    vec![],
                    format!("employee {i}: name is empty or NULL"),
                )
            })
            .collect();
        let mut r = report(RunStatus::Succeeded);
        r.findings = BTreeMap::from([("invalid_employee", 5)]);
        r.finding_examples = finding_examples(&findings);
        let text = human(&r);
        assert!(text.contains("    e.g. invalid_employee: employee 1: name is empty or NULL"));
        assert!(text.contains("e.g. invalid_employee: employee 3:"));
        assert!(!text.contains("employee 4:"), "{text}");
        assert!(text.contains("… and 2 more invalid_employee"), "{text}");
    }
}
