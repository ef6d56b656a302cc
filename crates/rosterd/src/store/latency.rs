//! When the actions a run applied were first planned: the start of the
//! lifecycle latency (`rosterd_lifecycle_latency_seconds`).

use super::{sql, with_pool, Result, Store};
use crate::outcome::ActionStatus;
use crate::plan::ActionKind;
use chrono::{DateTime, Utc};

/// An action a run applied, with when it was first planned.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedAction {
    pub kind: ActionKind,
    pub employee_id: i64,
    /// When the Auth0 call succeeded (the action's `finished_at`).
    pub applied_at: DateTime<Utc>,
    /// The start of the first run whose plan held an action of this kind
    /// for this employee since the last one applied before this run (dry
    /// runs and held runs included: they saw the change too).
    pub first_planned_at: DateTime<Utc>,
    /// The start of the run before that one, which did not plan it.
    pub unplanned_before: Option<DateTime<Utc>>,
}

impl AppliedAction {
    /// When the change this action answers happened: the employee row's
    /// `updated_at` (`changed_at`, UNIX seconds) when the row changed after
    /// the last run that did not plan the action, else the first run that
    /// planned it. A row changed long before (the action answers an edit in
    /// Auth0, or a policy change) is not the cause.
    pub fn started_at(&self, changed_at: Option<i64>) -> DateTime<Utc> {
        let changed = changed_at.and_then(|t| DateTime::from_timestamp(t, 0));
        match changed {
            Some(c)
                if c <= self.first_planned_at && self.unplanned_before.is_none_or(|b| c > b) =>
            {
                c
            }
            _ => self.first_planned_at,
        }
    }
}

type Row = (
    String,
    i64,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

impl Store {
    /// The actions run `run_id` applied, each with when it was first
    /// planned. Reads only this run's succeeded actions and their history,
    /// so it is called only when a run applied something.
    pub async fn applied_since_planned(&self, run_id: i64) -> Result<Vec<AppliedAction>> {
        const WHAT: &str = "read when applied actions were first planned";
        // The runs since this employee's last applied action of this kind
        // that planned one again; written once per use for MySQL's `?`.
        let since = |n: u8| {
            format!(
                "FROM reconcile_actions p WHERE p.employee_id = a.employee_id AND p.kind = a.kind \
                   AND p.run_id <= a.run_id \
                   AND p.run_id > COALESCE((SELECT MAX(d.run_id) FROM reconcile_actions d \
                        WHERE d.employee_id = a.employee_id AND d.kind = a.kind \
                          AND d.status = ${n} AND d.run_id < a.run_id), 0)"
            )
        };
        let text = format!(
            "SELECT a.kind, a.employee_id, a.finished_at, \
               (SELECT MIN(r.started_at) FROM reconcile_runs r WHERE r.id = \
                  (SELECT MIN(p.run_id) {}) ), \
               (SELECT MAX(b.started_at) FROM reconcile_runs b WHERE b.id < \
                  (SELECT MIN(p.run_id) {}) ) \
             FROM reconcile_actions a \
             WHERE a.run_id = $3 AND a.status = $4 AND a.employee_id IS NOT NULL",
            since(1),
            since(2)
        );
        let succeeded = ActionStatus::Succeeded.as_str();
        let rows: Vec<Row> = with_pool!(self, pool, q => {
            sqlx::query_as(&q(&text)?)
                .bind(succeeded)
                .bind(succeeded)
                .bind(run_id)
                .bind(succeeded)
                .fetch_all(pool)
                .await
                .map_err(sql(WHAT))
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, employee_id, applied_at, first, before)| {
                Some(AppliedAction {
                    // A kind this build cannot name was written by another
                    // version: not this run's.
                    kind: kind.parse().ok()?,
                    employee_id,
                    applied_at: applied_at?,
                    first_planned_at: first?,
                    unplanned_before: before,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    #[test]
    fn the_row_change_starts_the_clock_only_when_it_came_after_the_last_run_that_did_not_plan() {
        let a = AppliedAction {
            kind: ActionKind::Block,
            employee_id: 1,
            applied_at: at(5_000),
            first_planned_at: at(1_000),
            unplanned_before: Some(at(400)),
        };
        // Changed between the runs: the change is the start.
        assert_eq!(a.started_at(Some(700)), at(700));
        // Unknown, or changed before a run that planned nothing (an edit in
        // Auth0 caused this), or after planning: the first planning run.
        assert_eq!(a.started_at(None), at(1_000));
        assert_eq!(a.started_at(Some(300)), at(1_000));
        assert_eq!(a.started_at(Some(1_200)), at(1_000));
        // The very first run: nothing before it.
        let first = AppliedAction {
            unplanned_before: None,
            ..a
        };
        assert_eq!(first.started_at(Some(10)), at(10));
    }
}
