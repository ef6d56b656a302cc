//! What a run's outcome means, decided in one place and kept pure so that the
//! CLI's exit status, the API's run status, the metrics and the alerts all
//! agree.
//!
//! - `succeeded`: every planned action was applied.
//! - `partial`: the run completed, some actions failed for their own reasons
//!   (Auth0 refused that employee's data, an account deleted by hand); their
//!   employees are retried by the next run. Counted as a completed sync
//!   (`rosterd_last_success_timestamp_seconds`): the failures page nobody at
//!   night, RosterdActionsFailing and RosterdAuth0CreationFailureRateHigh
//!   ticket them. Otherwise one employee Auth0 keeps refusing would make
//!   every run red, since a converged plan is made of exactly such actions.
//! - `failed`: the run as a whole could not do its work: a source could not
//!   be read or written (a link rosterd could not record fails the run at
//!   the `store` stage, however few: it is rosterd's failure, not the
//!   employee's, and it repeats on every run), or Auth0 did not answer most
//!   of its actions (timeouts, 5xx, 429 after every retry).
//! - `interrupted`: a shutdown or the run deadline stopped it before every
//!   action had run; the next run finishes the plan.
//! - `held` / `rejected`: the guard stopped the plan; nothing was applied.

use crate::run::RunStatus;

rosterd_core::vocabulary! {
    /// `reconcile_actions.status`, and the `outcome` label of
    /// `rosterd_actions_total` (`succeeded`, `failed`).
    pub enum ActionStatus("action status") {
        /// Recorded before applying; a run that ends leaves none behind.
        Planned => "planned",
        Succeeded => "succeeded",
        Failed => "failed",
        /// Not applied: a dry run, observe mode, a held plan, or a run
        /// stopped before the action started.
        Skipped => "skipped",
    }
}

rosterd_core::vocabulary! {
    /// Where a failed run stopped: the run summary's `failed_stage` and the
    /// `stage` label of `podfactory_sync_errors_total`.
    pub enum FailedStage("failed stage") {
        /// Reading or checking the sources (and anything not named below).
        Load => "load",
        /// Auth0 did not answer: the token, the export, most actions.
        Auth0 => "auth0",
        /// rosterd's own database.
        Store => "store",
        /// The leader lock was lost while applying.
        Apply => "apply",
    }
}

/// How the actions of an applied plan went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Actions that ran to an outcome (succeeded or failed).
    pub attempted: usize,
    pub failed: usize,
    /// Of the failed, those Auth0 did not answer usefully: transport errors,
    /// 5xx, 429 once retries ran out.
    pub unavailable: usize,
    /// Actions not started, or cut short, by a shutdown or the deadline.
    pub not_finished: usize,
    /// Of the failed, those whose Auth0 change was made but whose link
    /// rosterd could not record (write-back or audit), and the first error.
    pub unrecorded: usize,
    pub unrecorded_error: Option<String>,
}

/// Why a run stopped starting actions before the end of its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Shutdown,
    /// The run deadline, in seconds (`reconcile.run_deadline_secs`).
    Deadline(u64),
    /// Another replica may lead now: nothing more may be written.
    LeadershipLost,
}

/// The status of a run that applied its plan, with the error it records
/// (never `None` unless it succeeded) and the stage a failure is counted
/// under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: RunStatus,
    pub error: Option<String>,
    pub failed_stage: Option<FailedStage>,
}

pub fn applied(t: &Tally, cut: Option<Cut>) -> Verdict {
    let failures = if t.failed > 0 {
        format!("; {} of {} actions failed", t.failed, t.attempted)
    } else {
        String::new()
    };
    // Another replica may lead now: the run stopped, and it is its
    // successor, not a retry of this one, that finishes the plan.
    if cut == Some(Cut::LeadershipLost) {
        return Verdict {
            status: RunStatus::Failed,
            error: Some(format!(
                "leadership lost: {} actions not started or cut short{failures}; the next leader finishes the plan",
                t.not_finished
            )),
            failed_stage: Some(FailedStage::Apply),
        };
    }
    if t.unrecorded > 0 {
        return Verdict {
            status: RunStatus::Failed,
            error: Some(format!(
                "could not record {} links made in Auth0: {}{failures}",
                t.unrecorded,
                t.unrecorded_error.as_deref().unwrap_or("unknown error")
            )),
            failed_stage: Some(FailedStage::Store),
        };
    }
    let interrupted_by = match cut {
        Some(Cut::Shutdown) => Some("rosterd was shutting down".to_string()),
        Some(Cut::Deadline(secs)) => Some(format!(
            "the run deadline passed (reconcile.run_deadline_secs = {secs})"
        )),
        Some(Cut::LeadershipLost) | None => None,
    };
    if let (Some(why), true) = (interrupted_by, t.not_finished > 0) {
        return Verdict {
            status: RunStatus::Interrupted,
            error: Some(format!(
                "interrupted: {why}: {} actions not started or cut short{failures}; the next run finishes the plan",
                t.not_finished
            )),
            failed_stage: None,
        };
    }
    if t.failed == 0 {
        return Verdict {
            status: RunStatus::Succeeded,
            error: None,
            failed_stage: None,
        };
    }
    if t.unavailable * 2 > t.attempted {
        return Verdict {
            status: RunStatus::Failed,
            error: Some(format!(
                "Auth0 did not answer {} of {} actions (timeouts, 5xx, 429 after retries); the next run retries them",
                t.unavailable, t.attempted
            )),
            failed_stage: Some(FailedStage::Auth0),
        };
    }
    Verdict {
        status: RunStatus::Partial,
        error: Some(format!(
            "{} of {} actions failed; their employees are retried by the next run",
            t.failed, t.attempted
        )),
        failed_stage: None,
    }
}

/// A finished run as quarantine sees it: did Auth0 fail it?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastRun {
    pub auth0_failure: bool,
}

impl PastRun {
    /// From a stored run: failed at the `auth0` stage (the token endpoint or
    /// the export down, or most actions unanswered).
    pub fn of(status: RunStatus, failed_stage: Option<FailedStage>) -> PastRun {
        PastRun {
            auth0_failure: status == RunStatus::Failed && failed_stage == Some(FailedStage::Auth0),
        }
    }
}

/// Quarantine, as Entra provisioning does it: after `after_runs` consecutive
/// runs failed by Auth0, runs slow down to the quarantine cadence; the first
/// run that is not an Auth0 failure ends it. `recent` is newest first.
pub fn quarantined(recent: &[PastRun], after_runs: usize) -> bool {
    after_runs > 0
        && recent.len() >= after_runs
        && recent[..after_runs].iter().all(|r| r.auth0_failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(attempted: usize, failed: usize, unavailable: usize) -> Tally {
        Tally {
            attempted,
            failed,
            unavailable,
            ..Tally::default()
        }
    }

    #[test]
    fn a_link_not_recorded_fails_the_run_at_the_store_stage() {
        let mut t = tally(10, 1, 0);
        t.unrecorded = 1;
        t.unrecorded_error = Some("no row has id = 7".into());
        t.not_finished = 2;
        let v = applied(&t, Some(Cut::Shutdown));
        assert_eq!(v.status, RunStatus::Failed);
        assert_eq!(v.failed_stage, Some(FailedStage::Store));
        let e = v.error.unwrap();
        assert!(
            e.contains("could not record 1 links made in Auth0: no row has id = 7"),
            "{e}"
        );
    }

    #[test]
    fn every_action_applied_is_success() {
        let v = applied(&tally(40, 0, 0), None);
        assert_eq!(v.status, RunStatus::Succeeded);
        assert_eq!(v.error, None);
        assert_eq!(applied(&tally(0, 0, 0), None).status, RunStatus::Succeeded);
    }

    #[test]
    fn refused_actions_make_a_partial_run_even_when_they_are_all_that_is_left() {
        // A converged plan holds only the actions Auth0 keeps refusing.
        for (attempted, failed) in [(51, 21), (1, 1), (3, 3)] {
            let v = applied(&tally(attempted, failed, 0), None);
            assert_eq!(v.status, RunStatus::Partial, "{attempted}/{failed}");
            let error = v.error.expect("a partial run says what failed");
            assert!(
                error.contains(&format!("{failed} of {attempted}")),
                "{error}"
            );
            assert_eq!(v.failed_stage, None);
        }
    }

    #[test]
    fn auth0_not_answering_most_actions_fails_the_run() {
        let v = applied(&tally(10, 8, 6), None);
        assert_eq!(v.status, RunStatus::Failed);
        assert_eq!(v.failed_stage, Some(FailedStage::Auth0));
        assert!(v.error.unwrap().contains("6 of 10"));
        // Half is not most.
        assert_eq!(applied(&tally(10, 5, 5), None).status, RunStatus::Partial);
    }

    #[test]
    fn a_cut_run_is_interrupted_with_the_reason() {
        let mut t = tally(5, 1, 0);
        t.not_finished = 7;
        let v = applied(&t, Some(Cut::Deadline(60)));
        assert_eq!(v.status, RunStatus::Interrupted);
        let e = v.error.unwrap();
        assert!(e.contains("reconcile.run_deadline_secs = 60"), "{e}");
        assert!(e.contains("7 actions not started"), "{e}");
        assert!(e.contains("1 of 5 actions failed"), "{e}");
        let lost = applied(&t, Some(Cut::LeadershipLost));
        assert_eq!(lost.status, RunStatus::Failed);
        assert_eq!(lost.failed_stage, Some(FailedStage::Apply));
        assert!(lost
            .error
            .unwrap()
            .contains("the next leader finishes the plan"));
        let v = applied(&t, Some(Cut::Shutdown));
        assert!(v.error.unwrap().contains("shutting down"));
        // A cut that came after the last action changes nothing.
        t.not_finished = 0;
        assert_eq!(applied(&t, Some(Cut::Shutdown)).status, RunStatus::Partial);
    }

    #[test]
    fn quarantine_needs_consecutive_auth0_failures_and_ends_with_a_healthy_run() {
        let bad = PastRun::of(RunStatus::Failed, Some(FailedStage::Auth0));
        let load = PastRun::of(RunStatus::Failed, Some(FailedStage::Load));
        let ok = PastRun::of(RunStatus::Succeeded, None);
        let partial = PastRun::of(RunStatus::Partial, None);
        assert!(bad.auth0_failure && !load.auth0_failure && !partial.auth0_failure);
        assert!(!quarantined(&[bad, bad], 3), "two are not enough");
        assert!(quarantined(&[bad, bad, bad], 3));
        assert!(
            quarantined(&[bad, bad, bad, ok], 3),
            "older history is irrelevant"
        );
        assert!(
            !quarantined(&[ok, bad, bad, bad], 3),
            "a healthy run ends it"
        );
        assert!(!quarantined(&[partial, bad, bad, bad], 3));
        assert!(
            !quarantined(&[bad, load, bad], 3),
            "another stage breaks the streak"
        );
        assert!(!quarantined(&[bad, bad, bad], 0), "0 turns quarantine off");
    }
}
