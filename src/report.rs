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
        (RunStatus::Failed, ..) => "FAILED",
        (RunStatus::Interrupted, ..) => "INTERRUPTED (the next run finishes it)",
        (RunStatus::Succeeded, true, _) => "succeeded (dry run: nothing applied)",
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
    let _ = writeln!(
        out,
        "  read:      {} employees ({} active), {} Auth0 accounts ({} managed, {} unmanaged, left alone)",
        s.employees, s.active_employees, s.auth0_users, s.managed_accounts, s.unmanaged_accounts
    );
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
    if let Some(pf) = &r.podfactory {
        let _ = writeln!(
            out,
            "  podfactory: {} users: {} matched ({} new links), {} ambiguous, {} unmatched",
            pf.users, pf.matched, pf.new_links, pf.ambiguous, pf.unmatched
        );
    }
    let _ = writeln!(out, "  findings:  {}", counts(&r.findings));
    for f in &r.failures {
        let _ = writeln!(out, "  ! {f}");
    }
    if let Some(h) = &r.held_reason {
        let _ = writeln!(out, "  held because {h}");
    }
    if let Some(h) = &r.would_hold {
        let _ = writeln!(out, "  enforce mode would hold this run: {h}");
    }
    if let Some(e) = &r.error {
        let _ = writeln!(out, "  error: {e}");
    }
    out
}
