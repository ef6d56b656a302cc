//! Runs and their actions in `reconcile_runs` and `reconcile_actions`, and
//! a person's decision on a held run.

use super::{sql, with_pool, Result, Store, StoredPlan, StoredPlanError};
use crate::model::Auth0UserId;
use crate::outcome::ActionStatus;
use crate::plan::{ActionKind, Plan};
use crate::run::{RunStatus, Trigger};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// A run as stored in `reconcile_runs`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RunRecord {
    pub id: i64,
    /// As stored: a `Trigger`'s string, or one an earlier version wrote
    /// (a row rosterd cannot name must not hide the others).
    pub trigger: String,
    pub mode: String,
    pub dry_run: bool,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub employees_seen: Option<i64>,
    pub auth0_users_seen: Option<i64>,
    pub actions_planned: i64,
    pub actions_succeeded: i64,
    pub actions_failed: i64,
    pub findings_count: i64,
    /// The SHA-256 of its stored plan's JSON, the plan's key in `run_plans`
    /// (`None`: never planned, or not kept).
    pub plan_digest: Option<String>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub held_reason: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    /// When its plan was dropped, only the newest runs keeping theirs
    /// (`reconcile.keep_plans`).
    pub plan_dropped_at: Option<DateTime<Utc>>,
}

/// A person's decision on a held run.
#[derive(Debug, Clone, Copy)]
pub enum HeldDecision<'a> {
    Approved,
    /// The sentence recorded as the run's error.
    Rejected {
        note: &'a str,
    },
}

/// How a run ended, written once at its end.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    pub status: RunStatus,
    pub employees_seen: Option<i64>,
    pub auth0_users_seen: Option<i64>,
    pub actions_planned: i64,
    pub actions_succeeded: i64,
    pub actions_failed: i64,
    pub findings_count: i64,
    /// The plan's JSON ([`StoredPlan::write`]).
    pub plan: Option<String>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub held_reason: Option<String>,
}

/// One planned action, as stored in `reconcile_actions`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ActionRecord {
    pub seq: i64,
    #[sqlx(try_from = "String")]
    pub kind: ActionKind,
    pub employee_id: Option<i64>,
    pub auth0_user_id: Option<String>,
    pub reason: String,
    /// The action as JSON (no password: the plan never holds one).
    pub detail: String,
    #[sqlx(try_from = "String")]
    pub status: ActionStatus,
    pub error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An action's outcome, only while its run is `running`: the actions of a
/// run a successor closed as abandoned stay as it recorded them.
const FINISH_ACTION: &str =
    "UPDATE reconcile_actions SET status = $1, error = $2, finished_at = $3, \
     auth0_user_id = COALESCE($4, auth0_user_id) WHERE seq = $5 AND run_id = \
     (SELECT id FROM reconcile_runs WHERE id = $6 AND status = $7)";

impl Store {
    /// How many employees rows the last successful run read (a rollback
    /// reads none: it is no baseline).
    pub async fn last_successful_employee_count(&self) -> Result<Option<i64>> {
        with_pool!(self, pool, q => {
            let row: Option<(Option<i64>,)> = sqlx::query_as(&q(
                "SELECT employees_seen FROM reconcile_runs WHERE status IN ($1, $2) \
                 AND employees_seen IS NOT NULL ORDER BY id DESC LIMIT 1",
            )?)
            .bind(RunStatus::Succeeded.as_str())
            .bind(RunStatus::Partial.as_str())
            .fetch_optional(pool)
            .await
            .map_err(sql("read last run"))?;
            Ok(row.and_then(|r| r.0))
        })
    }

    pub async fn start_run(
        &self,
        trigger: Trigger,
        mode: &str,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        with_pool!(self, pool => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO reconcile_runs (trigger, mode, dry_run, status, started_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(trigger.as_str())
            .bind(mode)
            .bind(dry_run)
            .bind(RunStatus::Running.as_str())
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(sql("start run"))?;
            Ok(id)
        }, mysql pool => {
            // No RETURNING on MySQL 8; `trigger` is a reserved word there.
            let done = sqlx::query(
                "INSERT INTO reconcile_runs (`trigger`, mode, dry_run, status, started_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(trigger.as_str())
            .bind(mode)
            .bind(dry_run)
            .bind(RunStatus::Running.as_str())
            .bind(now)
            .execute(pool)
            .await
            .map_err(sql("start run"))?;
            Ok(done.last_insert_id() as i64)
        })
    }

    /// Close a run with its outcome, by its holder: only while the run is
    /// still `running` and still `holder`'s (a run a successor closed as
    /// abandoned stays as closed). `false` if it was not. Its plan is
    /// stored once per distinct plan: a run that plans what an earlier run
    /// planned names that run's copy, and writes no plan of its own.
    pub async fn finish_held_run(
        &self,
        id: i64,
        holder: &str,
        end: &RunEnd,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let what = "finish run";
        let text = "UPDATE reconcile_runs SET status = $1, finished_at = $2, employees_seen = $3, \
             auth0_users_seen = $4, actions_planned = $5, actions_succeeded = $6, \
             actions_failed = $7, findings_count = $8, plan_digest = $9, summary = $10, error = $11, \
             held_reason = $12 WHERE id = $13 AND status = $14 AND holder = $15";
        let insert_plan = match self.backend() {
            super::Backend::MySql => "INSERT IGNORE INTO run_plans (digest, plan) VALUES ($1, $2)",
            super::Backend::Postgres | super::Backend::Sqlite => {
                "INSERT INTO run_plans (digest, plan) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING"
            }
        };
        let digest = end.plan.as_deref().map(plan_digest);
        Ok(with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(what))?;
            if let (Some(plan), Some(digest)) = (&end.plan, &digest) {
                let stored: i64 = sqlx::query_scalar(&q("SELECT COUNT(*) FROM run_plans WHERE digest = $1")?)
                    .bind(digest)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(sql(what))?;
                if stored == 0 {
                    sqlx::query(&q(insert_plan)?)
                        .bind(digest)
                        .bind(plan)
                        .execute(&mut *tx)
                        .await
                        .map_err(sql(what))?;
                }
            }
            let closed = sqlx::query(&q(text)?)
                .bind(end.status.as_str())
                .bind(now)
                .bind(end.employees_seen)
                .bind(end.auth0_users_seen)
                .bind(end.actions_planned)
                .bind(end.actions_succeeded)
                .bind(end.actions_failed)
                .bind(end.findings_count)
                .bind(&digest)
                .bind(&end.summary)
                .bind(&end.error)
                .bind(&end.held_reason)
                .bind(id)
                .bind(RunStatus::Running.as_str())
                .bind(holder)
                .execute(&mut *tx)
                .await
                .map_err(sql(what))?
                .rows_affected()
                == 1;
            // A run no longer its holder's stores no plan either.
            if closed {
                tx.commit().await.map_err(sql(what))?;
            } else {
                tx.rollback().await.map_err(sql(what))?;
            }
            closed
        }))
    }

    /// A run's stored plan, whichever version stored it: `Ok(None)` when the
    /// run never got as far as planning or its plan was not kept; the inner
    /// error when the plan is there but this rosterd cannot read it.
    pub async fn stored_plan(
        &self,
        run: &RunRecord,
    ) -> Result<std::result::Result<Option<Plan>, StoredPlanError>> {
        let Some(digest) = &run.plan_digest else {
            return Ok(Ok(None));
        };
        let text: Option<String> = with_pool!(self, pool, q => {
            sqlx::query_scalar(&q("SELECT plan FROM run_plans WHERE digest = $1")?)
                .bind(digest)
                .fetch_optional(pool)
                .await
                .map_err(sql("read a run's plan"))?
        });
        Ok(text.as_deref().map(StoredPlan::read).transpose())
    }

    /// Did `run` plan exactly `actions`? A plan that is missing or cannot be
    /// read is not the same.
    pub async fn planned(
        &self,
        run: &RunRecord,
        actions: &[crate::plan::PlannedAction],
    ) -> Result<bool> {
        let plan = self.stored_plan(run).await?.ok().flatten();
        Ok(plan.is_some_and(|plan| crate::plan::same_actions(&plan.actions, actions)))
    }

    /// Drop the stored plans of all but the newest `keep` runs that have
    /// one, except held runs (an approval applies the plan as held) and the
    /// latest rejected run (its plan is not held again until it changes),
    /// then the plans no run names any more. Their rows, summaries and
    /// actions stay. Returns how many runs' plans were dropped.
    pub async fn drop_old_plans(&self, keep: usize, now: DateTime<Utc>) -> Result<u64> {
        // The oldest plan kept, found first: MariaDB cannot read the table
        // an UPDATE writes in the same statement's subquery.
        let oldest_kept: Option<i64> = with_pool!(self, pool, q => {
            sqlx::query_scalar(&q(
                "SELECT id FROM reconcile_runs WHERE plan_digest IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET $1",
            )?)
            .bind(keep.saturating_sub(1) as i64)
            .fetch_optional(pool)
            .await
            .map_err(sql("find the oldest plan kept"))?
        });
        let Some(oldest_kept) = oldest_kept else {
            return Ok(0);
        };
        let latest_rejected: Option<i64> = with_pool!(self, pool, q => {
            sqlx::query_scalar(&q("SELECT MAX(id) FROM reconcile_runs WHERE status = $1")?)
                .bind(RunStatus::Rejected.as_str())
                .fetch_one(pool)
                .await
                .map_err(sql("find the latest rejected run"))?
        });
        Ok(with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql("drop old plans"))?;
            let dropped = sqlx::query(&q(
                "UPDATE reconcile_runs SET plan_digest = NULL, plan_dropped_at = $1 \
                 WHERE id < $2 AND plan_digest IS NOT NULL AND status <> $3 AND id <> $4",
            )?)
            .bind(now)
            .bind(oldest_kept)
            .bind(RunStatus::Held.as_str())
            .bind(latest_rejected.unwrap_or(0))
            .execute(&mut *tx)
            .await
            .map_err(sql("drop old plans"))?
            .rows_affected();
            sqlx::query(
                "DELETE FROM run_plans WHERE digest NOT IN \
                 (SELECT plan_digest FROM reconcile_runs WHERE plan_digest IS NOT NULL)",
            )
            .execute(&mut *tx)
            .await
            .map_err(sql("drop old plans"))?;
            tx.commit().await.map_err(sql("drop old plans"))?;
            dropped
        }))
    }

    /// Store a run's planned actions in one transaction.
    pub async fn insert_actions(&self, run_id: i64, actions: &[ActionRecord]) -> Result<()> {
        with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql("record actions"))?;
            for a in actions {
                sqlx::query(
                    &q("INSERT INTO reconcile_actions (run_id, seq, kind, employee_id, auth0_user_id, \
                     reason, detail, status, error, finished_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")?,
                )
                .bind(run_id)
                .bind(a.seq)
                .bind(a.kind.as_str())
                .bind(a.employee_id)
                .bind(&a.auth0_user_id)
                .bind(&a.reason)
                .bind(&a.detail)
                .bind(a.status.as_str())
                .bind(&a.error)
                .bind(a.finished_at)
                .execute(&mut *tx)
                .await
                .map_err(sql("record actions"))?;
            }
            tx.commit().await.map_err(sql("record actions"))?;
        });
        Ok(())
    }

    /// [`finish_action`](Self::finish_action) for many actions of a run,
    /// in one transaction (a run's creates: one commit, not one each).
    pub async fn finish_actions(
        &self,
        run_id: i64,
        outcomes: &[(i64, ActionStatus, Option<&Auth0UserId>, Option<&str>)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            let text = q(FINISH_ACTION)?;
            let mut tx = crate::store::begin_write(pool).await.map_err(sql("record action outcomes"))?;
            for (seq, status, user, error) in outcomes {
                sqlx::query(&text)
                    .bind(status.as_str())
                    .bind(error)
                    .bind(now)
                    .bind(user.map(|u| u.0.as_str()))
                    .bind(seq)
                    .bind(run_id)
                    .bind(RunStatus::Running.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(sql("record action outcomes"))?;
            }
            tx.commit().await.map_err(sql("record action outcomes"))?;
        });
        Ok(())
    }

    /// Record one action's outcome (and the account it ended up with).
    pub async fn finish_action(
        &self,
        run_id: i64,
        seq: i64,
        status: ActionStatus,
        auth0_user_id: Option<&Auth0UserId>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            sqlx::query(&q(FINISH_ACTION)?)
            .bind(status.as_str())
            .bind(error)
            .bind(now)
            .bind(auth0_user_id.map(|u| u.0.as_str()))
            .bind(seq)
            .bind(run_id)
            .bind(RunStatus::Running.as_str())
            .execute(pool)
            .await
            .map_err(sql("record action outcome"))?;
        });
        Ok(())
    }

    /// One run's record.
    pub async fn get_run(&self, id: i64) -> Result<Option<RunRecord>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(&q("SELECT * FROM reconcile_runs WHERE id = $1")?)
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(sql("read run"))
        })
    }

    /// The newest runs first.
    /// The newest `limit` runs, whatever they are.
    pub async fn list_runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        self.list_runs_page(None, None, None, limit).await
    }

    pub async fn run_actions(&self, run_id: i64) -> Result<Vec<ActionRecord>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(
                &q("SELECT seq, kind, employee_id, auth0_user_id, reason, detail, status, error, finished_at \
                 FROM reconcile_actions WHERE run_id = $1 ORDER BY seq")?,
            )
            .bind(run_id)
            .fetch_all(pool)
            .await
            .map_err(sql("read actions"))
        })
    }

    /// Record a person's decision on a held run: `approved` or `rejected`
    /// (then `note` is the run's error), with who and when, in
    /// `approved_at`/`approved_by`. Conditional, so of two concurrent
    /// decisions exactly one wins; `false` when the run is not a held,
    /// undecided, real (not dry) run.
    pub async fn decide_held_run(
        &self,
        id: i64,
        decision: HeldDecision<'_>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (status, note) = match decision {
            HeldDecision::Approved => (RunStatus::Approved, None),
            HeldDecision::Rejected { note } => (RunStatus::Rejected, Some(note)),
        };
        with_pool!(self, pool, q => {
            let done = sqlx::query(&q(
                "UPDATE reconcile_runs SET status = $1, approved_at = $2, approved_by = $3, \
                 error = COALESCE($4, error) \
                 WHERE id = $5 AND status = $6 AND approved_at IS NULL AND dry_run = $7",
            )?)
            .bind(status.as_str())
            .bind(now)
            .bind(by)
            .bind(note)
            .bind(id)
            .bind(RunStatus::Held.as_str())
            .bind(false)
            .execute(pool)
            .await
            .map_err(sql("decide held run"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Put back to `held` a run approved by `by` whose approval run applied
    /// nothing (it stopped before its plan was checked). Conditional, so a
    /// run decided otherwise since is left alone.
    pub async fn undo_approval(&self, id: i64, by: &str) -> Result<bool> {
        with_pool!(self, pool, q => {
            let done = sqlx::query(&q(
                "UPDATE reconcile_runs SET status = $1, approved_at = NULL, approved_by = NULL \
                 WHERE id = $2 AND status = $3 AND approved_by = $4",
            )?)
            .bind(RunStatus::Held.as_str())
            .bind(id)
            .bind(RunStatus::Approved.as_str())
            .bind(by)
            .execute(pool)
            .await
            .map_err(sql("undo approval"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// `(status, summary)` of the last `limit` finished runs that were not
    /// dry runs, newest first.
    pub async fn recent_run_outcomes(
        &self,
        limit: i64,
    ) -> Result<Vec<(RunStatus, Option<String>)>> {
        let rows: Vec<(String, Option<String>)> = with_pool!(self, pool, q => {
            sqlx::query_as(&q(
                "SELECT status, summary FROM reconcile_runs WHERE status <> $1 AND NOT dry_run \
                 ORDER BY id DESC LIMIT $2",
            )?)
            .bind(RunStatus::Running.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(sql("read recent runs"))?
        });
        rows.into_iter()
            .map(|(status, summary)| Ok((status_of(status)?, summary)))
            .collect()
    }

    /// Runs, newest first, optionally only those with `status`, only those
    /// started by `trigger`, only those with an id below `before` (paging).
    pub async fn list_runs_page(
        &self,
        status: Option<RunStatus>,
        trigger: Option<Trigger>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RunRecord>> {
        let status = status.map(RunStatus::as_str);
        let trigger = trigger.map(Trigger::as_str);
        // `trigger` is a reserved word in MySQL and a keyword in SQLite.
        let column = match self.backend() {
            super::Backend::MySql => "`trigger`",
            super::Backend::Postgres | super::Backend::Sqlite => "\"trigger\"",
        };
        let text = format!(
            "SELECT * FROM reconcile_runs WHERE ($1 IS NULL OR status = $2) AND ($3 IS NULL OR {column} = $4) \
             AND ($5 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7"
        );
        // Each value bound twice, so each placeholder appears once (MySQL).
        with_pool!(self, pool, q => {
            sqlx::query_as(&q(&text)?)
            .bind(status)
            .bind(status)
            .bind(trigger)
            .bind(trigger)
            .bind(before)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(sql("list runs"))
        })
    }

    /// Is the newest finished real (not dry) run held and awaiting a
    /// decision? What `rosterd_held_runs` says until the next run.
    pub async fn latest_run_is_held(&self) -> Result<bool> {
        let row: Option<(String, Option<DateTime<Utc>>)> = with_pool!(self, pool, q => {
            sqlx::query_as(&q(
                "SELECT status, approved_at FROM reconcile_runs \
                 WHERE status <> $1 AND NOT dry_run ORDER BY id DESC LIMIT 1",
            )?)
            .bind(RunStatus::Running.as_str())
            .fetch_optional(pool)
            .await
            .map_err(sql("read the latest run"))?
        });
        match row {
            Some((status, approved)) => {
                Ok(status_of(status)? == RunStatus::Held && approved.is_none())
            }
            None => Ok(false),
        }
    }

    /// The newest run that got as far as planning.
    pub async fn latest_planned_run(&self) -> Result<Option<RunRecord>> {
        with_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM reconcile_runs WHERE plan_digest IS NOT NULL ORDER BY id DESC LIMIT 1")
                .fetch_optional(pool)
                .await
                .map_err(sql("read latest run"))
        })
    }

    /// When the last run (any outcome) and the last successful run finished.
    pub async fn last_run_times(&self) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
        with_pool!(self, pool, q => {
            let last: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
                "SELECT finished_at FROM reconcile_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .map_err(sql("read run times"))?;
            let ok: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(&q(
                "SELECT finished_at FROM reconcile_runs WHERE status IN ($1, $2) AND NOT dry_run ORDER BY id DESC LIMIT 1",
            )?)
            .bind(RunStatus::Succeeded.as_str())
            .bind(RunStatus::Partial.as_str())
            .fetch_optional(pool)
            .await
            .map_err(sql("read run times"))?;
            Ok((last.and_then(|r| r.0), ok.and_then(|r| r.0)))
        })
    }

    /// The newest actions concerning one employee, across runs.
    pub async fn employee_actions(
        &self,
        employee_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, ActionRecord)>> {
        with_pool!(self, pool, q => {
            let rows = sqlx::query(
                &q("SELECT run_id, seq, kind, employee_id, auth0_user_id, reason, detail, status, error, finished_at \
                 FROM reconcile_actions WHERE employee_id = $1 ORDER BY id DESC LIMIT $2")?,
            )
            .bind(employee_id)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(sql("read employee actions"))?;
            rows.iter()
                .map(|r| Ok((r.try_get("run_id")?, <ActionRecord as sqlx::FromRow<_>>::from_row(r)?)))
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
                .map_err(sql("read employee actions"))
        })
    }
}

/// A stored run status, read back.
fn status_of(stored: String) -> Result<RunStatus> {
    stored
        .parse()
        .map_err(|e| sql("read a run status")(sqlx::Error::Decode(Box::new(e))))
}

/// The key of a plan in `run_plans`: the SHA-256 of its JSON, in hex.
fn plan_digest(plan: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(plan.as_bytes()))
}
