//! Every metric rosterd exports, defined in one place on a registry of its
//! own (never the global one), rendered in the Prometheus text format.
//!
//! Names follow Prometheus conventions (base units, `_total` only on
//! counters, `_timestamp_seconds` for times). The `podfactory_*` and
//! `auth0_*` names are the ones the old sync's dashboards used, kept so
//! existing panels keep working. Labels are bounded sets (kinds, outcomes,
//! endpoint patterns, statuses), never ids or emails.

use crate::outcome::FailedStage;
use crate::plan::{ActionKind, Plan};
use crate::policy::Field;
use crate::run::RunStatus;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Runs last from seconds to tens of minutes.
const RUN_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0,
];
/// Auth0 calls take tens of milliseconds to seconds (export downloads).
const REQUEST_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// From an employee row's change to its Auth0 effect: a run's seconds when
/// the change feed triggers it, up to days while a run is held. 900 s is a
/// bound so the leaver promise (`RosterdLeaverBlockSlow`, 15 min) is exact.
const LIFECYCLE_BUCKETS: &[f64] = &[
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0,
    86400.0, 259200.0, 604800.0,
];

pub struct Metrics {
    registry: Registry,
    pub build_info: IntGaugeVec,
    pub runs: IntCounterVec,
    pub run_duration: Histogram,
    pub run_in_progress: IntGauge,
    pub last_run: Gauge,
    pub last_success: Gauge,
    pub held_runs: IntGauge,
    pub quarantined: IntGauge,
    pub sync_errors: IntCounterVec,
    pub actions: IntCounterVec,
    pub user_creation_failures: IntCounter,
    pub findings: IntGaugeVec,
    pub employees: IntGaugeVec,
    pub employees_without_account: IntGauge,
    pub accounts: IntGaugeVec,
    pub unverified_emails: IntGauge,
    pub podfactory_matched: IntCounter,
    pub podfactory_linked: IntGauge,
    pub podfactory_unmatched: IntGauge,
    pub podfactory_ambiguous: IntGauge,
    pub compatibility: Gauge,
    pub auth0_requests: IntCounterVec,
    pub auth0_request_duration: HistogramVec,
    pub auth0_retries: IntCounterVec,
    pub auth0_ratelimit_remaining: IntGauge,
    pub scheduler_skipped: IntCounter,
    pub schedule_interval: Gauge,
    pub notifications: IntCounterVec,
    // Lifecycle policy (issue 12): account usage, drift, latency.
    pub accounts_never_logged_in: IntGauge,
    pub accounts_stale: IntGauge,
    pub drift: IntCounterVec,
    pub lifecycle_latency: HistogramVec,
    // Paused enforcement (issue 12: rollback).
    pub enforcement_paused: IntGauge,
}

fn opts(name: &str, help: impl Into<String>) -> Opts {
    Opts::new(name, help)
}

/// How a finished run ends: never `running`, and `approved` is a later
/// decision on a stored run.
const RUN_OUTCOMES: &[RunStatus] = &[
    RunStatus::Succeeded,
    RunStatus::Partial,
    RunStatus::Failed,
    RunStatus::Held,
    RunStatus::Rejected,
    RunStatus::Interrupted,
];

/// A label's values for a help text, as the enum spells them.
fn list<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        macro_rules! reg {
            ($m:expr) => {{
                let m = $m.expect("metric definition");
                registry
                    .register(Box::new(m.clone()))
                    .expect("metric registered once");
                m
            }};
        }
        let m = Metrics {
            build_info: reg!(IntGaugeVec::new(
                opts("rosterd_build_info", "Always 1; the version label says which build runs."),
                &["version"]
            )),
            runs: reg!(IntCounterVec::new(
                opts("rosterd_runs_total", format!("Reconcile runs finished, by outcome ({}) and trigger.", list(RUN_OUTCOMES))),
                &["status", "trigger"]
            )),
            run_duration: reg!(Histogram::with_opts(
                HistogramOpts::new("podfactory_sync_duration_seconds", "Wall time of a reconcile run.")
                    .buckets(RUN_BUCKETS.to_vec())
            )),
            run_in_progress: reg!(IntGauge::new("rosterd_run_in_progress", "1 while a run is in progress.")),
            last_run: reg!(Gauge::new(
                "rosterd_last_run_timestamp_seconds",
                "When the last run finished (any outcome), UNIX seconds."
            )),
            last_success: reg!(Gauge::new(
                "rosterd_last_success_timestamp_seconds",
                "When the last run that completed its plan (succeeded or partial) finished, UNIX seconds."
            )),
            held_runs: reg!(IntGauge::new(
                "rosterd_held_runs",
                "1 while the latest run (not a dry run) is held by the deprovisioning guard, awaiting a decision; read from the database at each scrape."
            )),
            quarantined: reg!(IntGauge::new(
                "rosterd_quarantined",
                "1 while Auth0 failed the last reconcile.quarantine_after_runs runs: scheduled runs are slowed to reconcile.quarantine_interval_secs."
            )),
            sync_errors: reg!(IntCounterVec::new(
                opts("podfactory_sync_errors_total", format!("Runs that failed as a whole, by stage ({}).", list(FailedStage::ALL))),
                &["stage"]
            )),
            actions: reg!(IntCounterVec::new(
                opts("rosterd_actions_total", format!("Actions applied, by kind ({}) and outcome.", list(ActionKind::ALL))),
                &["kind", "outcome"]
            )),
            user_creation_failures: reg!(IntCounter::new(
                "auth0_user_creation_failures_total",
                "Auth0 account creations that failed."
            )),
            findings: reg!(IntGaugeVec::new(
                opts("rosterd_findings", "Findings of the last run, by kind."),
                &["kind"]
            )),
            employees: reg!(IntGaugeVec::new(
                opts("rosterd_employees", "Employees read by the last run, by state (active, inactive)."),
                &["state"]
            )),
            employees_without_account: reg!(IntGauge::new(
                "rosterd_employees_without_auth0_account",
                "Active employees without an Auth0 account after the last run."
            )),
            accounts: reg!(IntGaugeVec::new(
                opts("rosterd_auth0_accounts", "Auth0 accounts read by the last run, by whether rosterd manages them."),
                &["managed"]
            )),
            unverified_emails: reg!(IntGauge::new(
                "rosterd_auth0_unverified_emails",
                "Managed Auth0 accounts whose email is not verified, as the last run read them."
            )),
            podfactory_matched: reg!(IntCounter::new(
                "podfactory_users_matched_total",
                "PodFactory users newly linked to an employee."
            )),
            podfactory_linked: reg!(IntGauge::new(
                "podfactory_users_linked",
                "PodFactory users linked to an employee after the last run."
            )),
            podfactory_unmatched: reg!(IntGauge::new(
                "podfactory_users_unmatched",
                "PodFactory users the last run could not match."
            )),
            podfactory_ambiguous: reg!(IntGauge::new(
                "podfactory_users_ambiguous",
                "PodFactory users with more than one plausible employee in the last run."
            )),
            compatibility: reg!(Gauge::new(
                "auth0_podfactory_compatibility",
                "Share (0-1) of PodFactory users linked to an employee who has an Auth0 account."
            )),
            auth0_requests: reg!(IntCounterVec::new(
                opts("rosterd_auth0_requests_total", "Auth0 Management API requests, by endpoint pattern and HTTP status (or 'error')."),
                &["endpoint", "status"]
            )),
            auth0_request_duration: reg!(HistogramVec::new(
                HistogramOpts::new("rosterd_auth0_request_duration_seconds", "Auth0 request latency, by endpoint pattern.")
                    .buckets(REQUEST_BUCKETS.to_vec()),
                &["endpoint"]
            )),
            auth0_retries: reg!(IntCounterVec::new(
                opts("rosterd_auth0_retries_total", "Auth0 requests retried, by endpoint pattern and reason (rate_limited, server_error, transport)."),
                &["endpoint", "reason"]
            )),
            auth0_ratelimit_remaining: reg!(IntGauge::new(
                "rosterd_auth0_ratelimit_remaining",
                "x-ratelimit-remaining of the last Auth0 response."
            )),
            schedule_interval: reg!(Gauge::new(
                "rosterd_schedule_interval_seconds",
                "Seconds between two ticks of serve.schedule (for \"no success in two intervals\")."
            )),
            scheduler_skipped: reg!(IntCounter::new(
                "rosterd_scheduler_skipped_ticks_total",
                "Schedule ticks skipped because a run was still in progress."
            )),
            notifications: reg!(IntCounterVec::new(
                opts("rosterd_notifications_total", "Notifications sent, by channel (email, webhook) and outcome."),
                &["channel", "outcome"]
            )),
            accounts_never_logged_in: reg!(IntGauge::new(
                "rosterd_accounts_never_logged_in",
                "Managed, unblocked Auth0 accounts never logged into policy.usage.never_logged_in_days after their creation, as the last run saw them."
            )),
            accounts_stale: reg!(IntGauge::new(
                "rosterd_accounts_stale",
                "Managed, unblocked Auth0 accounts not logged into for policy.usage.stale_days, as the last run saw them."
            )),
            drift: reg!(IntCounterVec::new(
                opts("rosterd_drift_total", format!("Managed accounts seen drifted, by field ({}), counted once per run that is not a dry run: a drift left alone counts again each run.", list(Field::ALL))),
                &["field"]
            )),
            lifecycle_latency: reg!(HistogramVec::new(
                HistogramOpts::new(
                    "rosterd_lifecycle_latency_seconds",
                    format!("From an employee row's change (its updated_at column, else the start of the first run that planned the action) to the Auth0 call that applied it, by action ({}).", list(ActionKind::ALL))
                )
                .buckets(LIFECYCLE_BUCKETS.to_vec()),
                &["action"]
            )),
            // Paused enforcement (issue 12: rollback).
            enforcement_paused: reg!(IntGauge::new(
                "rosterd_enforcement_paused",
                "1 while enforcement is paused (by `rosterd rollback`, until `rosterd resume`): runs plan and record, apply nothing."
            )),
            registry,
        };
        // Every label present from the start, so rate() and alerts see 0s.
        for f in Field::ALL {
            m.drift.with_label_values(&[f.as_str()]);
        }
        for k in ActionKind::ALL {
            m.lifecycle_latency.with_label_values(&[k.as_str()]);
        }
        m.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        m
    }

    /// The text exposition format (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding never fails");
        String::from_utf8(buf).expect("the text format is UTF-8")
    }
}

impl Metrics {
    /// What a plan says about the tenant: account usage, and the drift it
    /// saw. A dry run sets the gauges (they describe the tenant as read) but
    /// counts no drift: asking "what would a run do" does not see drift
    /// happen again.
    pub fn observe_plan(&self, plan: &Plan, dry_run: bool) {
        self.accounts_never_logged_in
            .set(plan.stats.never_logged_in as i64);
        self.accounts_stale.set(plan.stats.stale_accounts as i64);
        if dry_run {
            return;
        }
        for (field, n) in &plan.drift {
            match field.parse::<Field>() {
                Ok(f) => self
                    .drift
                    .with_label_values(&[f.as_str()])
                    .inc_by(*n as u64),
                // The planner names fields by the vocabulary; anything else
                // would be an unbounded label.
                Err(_) => {
                    tracing::warn!(field, "drift on a field outside the vocabulary not counted")
                }
            }
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_help_and_type() {
        let m = Metrics::new();
        m.runs.with_label_values(&["succeeded", "cli"]).inc();
        m.sync_errors.with_label_values(&["load"]).inc();
        m.actions.with_label_values(&["create", "succeeded"]).inc();
        m.auth0_requests
            .with_label_values(&["POST /api/v2/users", "201"])
            .inc();
        let text = m.render();
        assert!(text.contains("# TYPE rosterd_runs_total counter"));
        assert!(text.contains("# TYPE podfactory_sync_duration_seconds histogram"));
        assert!(text.contains("rosterd_build_info{version=\""));
        assert!(text.contains(
            "rosterd_auth0_requests_total{endpoint=\"POST /api/v2/users\",status=\"201\"} 1"
        ));
        // Label values in the help texts come from the enums, spelled as before.
        for help in [
            "# HELP rosterd_runs_total Reconcile runs finished, by outcome (succeeded, partial, failed, held, rejected, interrupted) and trigger.",
            "# HELP podfactory_sync_errors_total Runs that failed as a whole, by stage (load, auth0, store, apply).",
            "# HELP rosterd_actions_total Actions applied, by kind (create, link, block, unblock, update) and outcome.",
        ] {
            assert!(text.contains(help), "{help}");
        }
    }

    #[test]
    fn a_plan_sets_the_usage_gauges_and_counts_drift_except_in_a_dry_run() {
        let m = Metrics::new();
        let mut plan = Plan::default();
        plan.stats.never_logged_in = 3;
        plan.stats.stale_accounts = 2;
        plan.drift.insert("user_metadata.full_name".into(), 4);
        plan.drift.insert("not a field".into(), 9);
        m.observe_plan(&plan, true);
        let text = m.render();
        assert!(
            text.contains("rosterd_accounts_never_logged_in 3"),
            "{text}"
        );
        assert!(text.contains("rosterd_accounts_stale 2"), "{text}");
        assert!(text.contains("rosterd_drift_total{field=\"user_metadata.full_name\"} 0"));
        m.observe_plan(&plan, false);
        m.observe_plan(&plan, false);
        let text = m.render();
        assert!(text.contains("rosterd_drift_total{field=\"user_metadata.full_name\"} 8"));
        assert!(text.contains("rosterd_drift_total{field=\"name\"} 0"));
        assert!(!text.contains("not a field"));
        assert!(text
            .contains("rosterd_lifecycle_latency_seconds_bucket{action=\"block\",le=\"900\"} 0"));
    }
}
