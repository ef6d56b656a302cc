//! Paused enforcement (`enforcement_pause`, migration `0007`): one row
//! while a rollback holds the tenant still, shared by every replica; and
//! the accounts a rollback may block, read from the runs that created them.

use super::{sql, with_pool, Result, Store};
use crate::outcome::ActionStatus;
use crate::plan::ActionKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Enforcement paused: runs plan and record, apply nothing, until resumed.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Pause {
    pub paused_at: DateTime<Utc>,
    pub paused_by: String,
    pub reason: String,
    /// The rollback run that paused it.
    pub run_id: Option<i64>,
}

/// An account a run created, as `reconcile_actions` recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CreatedAccount {
    pub run_id: i64,
    pub employee_id: Option<i64>,
    pub auth0_user_id: String,
}

impl Store {
    /// Pause enforcement (again: the latest who, when and why replace the
    /// earlier ones).
    pub async fn pause(&self, pause: &Pause) -> Result<()> {
        const WHAT: &str = "pause enforcement";
        with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(WHAT))?;
            sqlx::query("DELETE FROM enforcement_pause")
                .execute(&mut *tx)
                .await
                .map_err(sql(WHAT))?;
            sqlx::query(&q(
                "INSERT INTO enforcement_pause (id, paused_at, paused_by, reason, run_id) \
                 VALUES (1, $1, $2, $3, $4)",
            )?)
            .bind(pause.paused_at)
            .bind(&pause.paused_by)
            .bind(&pause.reason)
            .bind(pause.run_id)
            .execute(&mut *tx)
            .await
            .map_err(sql(WHAT))?;
            tx.commit().await.map_err(sql(WHAT))?;
        });
        Ok(())
    }

    /// The pause in force, if enforcement is paused.
    pub async fn paused(&self) -> Result<Option<Pause>> {
        with_pool!(self, pool => {
            sqlx::query_as("SELECT paused_at, paused_by, reason, run_id FROM enforcement_pause")
                .fetch_optional(pool)
                .await
                .map_err(sql("read the enforcement pause"))
        })
    }

    /// End the pause; the one it ended, if enforcement was paused.
    pub async fn resume(&self) -> Result<Option<Pause>> {
        const WHAT: &str = "resume enforcement";
        with_pool!(self, pool => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(WHAT))?;
            let pause: Option<Pause> = sqlx::query_as(
                "SELECT paused_at, paused_by, reason, run_id FROM enforcement_pause",
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(sql(WHAT))?;
            sqlx::query("DELETE FROM enforcement_pause")
                .execute(&mut *tx)
                .await
                .map_err(sql(WHAT))?;
            tx.commit().await.map_err(sql(WHAT))?;
            Ok(pause)
        })
    }

    /// The accounts created by applied `create` actions of real runs
    /// started in `[since, until)` (no `until`: up to now), oldest first.
    pub async fn accounts_created(
        &self,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<CreatedAccount>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(&q(
                "SELECT a.run_id, a.employee_id, a.auth0_user_id FROM reconcile_actions a \
                 JOIN reconcile_runs r ON r.id = a.run_id \
                 WHERE a.kind = $1 AND a.status = $2 AND a.auth0_user_id IS NOT NULL \
                 AND NOT r.dry_run AND r.started_at >= $3 AND ($4 IS NULL OR r.started_at < $5) \
                 ORDER BY a.run_id, a.seq",
            )?)
            .bind(ActionKind::Create.as_str())
            .bind(ActionStatus::Succeeded.as_str())
            .bind(since)
            .bind(until)
            .bind(until)
            .fetch_all(pool)
            .await
            .map_err(sql("read the accounts created in a window"))
        })
    }
}
