//! Links between people and accounts: the Auth0 mapping audit
//! (`auth0_employee_mapping_audit`), the PodFactory links the matcher
//! records (`employee_podfactory_mapping`, history kept) and an admin's
//! manual PodFactory mappings.

use super::{sql, with_pool, Result, Store};
use crate::model::{Auth0UserId, EmployeeId};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A row for `auth0_employee_mapping_audit`.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub employee_id: EmployeeId,
    pub auth0_user_id: Auth0UserId,
    pub productivity_email: String,
    pub podfactory_email: Option<String>,
    /// `name`, `email`, `manual` (the matcher), `created`, `stored_id` or
    /// `employee_id` (Auth0 links): the table's check constraint.
    pub matched_by: &'static str,
    /// The PodFactory matcher's verdict replaces `matched_by`; an Auth0
    /// link (create, link) leaves an existing one alone.
    pub from_matcher: bool,
}

/// A row of `auth0_employee_mapping_audit` as stored: how an employee was
/// tied to an Auth0 account (and its PodFactory email), since when.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct MappingAudit {
    pub employee_id: i64,
    pub auth0_user_id: String,
    pub productivity_email: Option<String>,
    pub podfactory_email: Option<String>,
    pub matched_by: String,
    pub matched_at: DateTime<Utc>,
    pub last_verified: DateTime<Utc>,
}

/// An admin's manual PodFactory mapping.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ManualMapping {
    pub id: i64,
    pub podfactory_user_id: String,
    pub employee_id: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A PodFactory link as the last run recorded it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PodFactoryLink {
    pub podfactory_user_id: String,
    pub podfactory_email: Option<String>,
    pub podfactory_name: Option<String>,
    pub matched_by: String,
    pub confidence: f64,
    pub updated_at: DateTime<Utc>,
}

/// A PodFactory link as it was: when it was made and, once ended, when.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PodFactoryLinkHistory {
    pub podfactory_user_id: String,
    pub podfactory_email: Option<String>,
    pub podfactory_name: Option<String>,
    pub matched_by: String,
    pub confidence: f64,
    pub created_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
}

/// A PodFactory link to record (new, or replacing the current one).
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub podfactory_user_id: String,
    pub employee_id: i64,
    pub podfactory_email: Option<String>,
    pub podfactory_name: Option<String>,
    pub matched_by: String,
    pub confidence: f64,
}

/// Insert or refresh a mapping audit row (`upsert_audit`, `record_links`).
const AUDIT_UPSERT: &str = "INSERT INTO auth0_employee_mapping_audit (employee_id, auth0_user_id, \
     productivity_email, podfactory_email, matched_by, matched_at, last_verified, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6, $6) \
     ON CONFLICT (employee_id, auth0_user_id) DO UPDATE SET \
     productivity_email = excluded.productivity_email, \
     podfactory_email = COALESCE(excluded.podfactory_email, auth0_employee_mapping_audit.podfactory_email), \
     matched_by = CASE WHEN $7 THEN excluded.matched_by ELSE auth0_employee_mapping_audit.matched_by END, \
     last_verified = excluded.last_verified";

#[cfg(feature = "mysql")]
const AUDIT_UPSERT_MYSQL: &str =
    "INSERT INTO auth0_employee_mapping_audit (employee_id, auth0_user_id, \
     productivity_email, podfactory_email, matched_by, matched_at, last_verified, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE \
     productivity_email = VALUES(productivity_email), \
     podfactory_email = COALESCE(VALUES(podfactory_email), podfactory_email), \
     matched_by = IF(?, VALUES(matched_by), matched_by), \
     last_verified = VALUES(last_verified)";

#[cfg(feature = "mysql")]
fn mysql_audit_upsert() -> &'static str {
    AUDIT_UPSERT_MYSQL
}

#[cfg(not(feature = "mysql"))]
fn mysql_audit_upsert() -> &'static str {
    unreachable!("no MySQL store in this build")
}

impl Store {
    /// Record many Auth0 links at once (a run's creates), in one
    /// transaction: the account on each employee row (with a write-back
    /// target) and its audit row. Returns the employees whose row the
    /// write-back found no longer there; their audit rows are not written.
    pub async fn record_links(
        &self,
        target: Option<&super::WriteBack>,
        rows: &[AuditRow],
        now: DateTime<Utc>,
    ) -> Result<Vec<EmployeeId>> {
        const WHAT: &str = "record links";
        let update = target.map(super::WriteBack::update_sql);
        let mut missing = Vec::new();
        with_pool!(self, pool, q => {
            let update = update.as_deref().map(q).transpose()?;
            let mut tx = pool.begin().await.map_err(sql(WHAT))?;
            for row in rows {
                if let Some(update) = &update {
                    let done = sqlx::query(update)
                        .bind(&row.auth0_user_id.0)
                        .bind(now)
                        .bind(row.employee_id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(sql(WHAT))?
                        .rows_affected();
                    if done == 0 {
                        missing.push(row.employee_id);
                        continue;
                    }
                }
                // MySQL's text takes `now` three times, as `?`s.
                #[cfg(feature = "mysql")]
                let mysql = matches!(self, Store::MySql(_));
                #[cfg(not(feature = "mysql"))]
                let mysql = false;
                let audit = if mysql { mysql_audit_upsert() } else { AUDIT_UPSERT };
                let query = sqlx::query(audit)
                    .bind(row.employee_id.0)
                    .bind(&row.auth0_user_id.0)
                    .bind(&row.productivity_email)
                    .bind(&row.podfactory_email)
                    .bind(row.matched_by)
                    .bind(now);
                let query = if mysql { query.bind(now).bind(now) } else { query };
                query
                    .bind(row.from_matcher)
                    .execute(&mut *tx)
                    .await
                    .map_err(sql(WHAT))?;
            }
            tx.commit().await.map_err(sql(WHAT))?;
        });
        Ok(missing)
    }

    /// Insert or refresh a mapping audit row: `matched_at` keeps its first
    /// value, `last_verified` moves, a missing PodFactory email keeps the
    /// known one.
    pub async fn upsert_audit(&self, row: &AuditRow, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(AUDIT_UPSERT)
            .bind(row.employee_id.0)
            .bind(&row.auth0_user_id.0)
            .bind(&row.productivity_email)
            .bind(&row.podfactory_email)
            .bind(row.matched_by)
            .bind(now)
            .bind(row.from_matcher)
            .execute(pool)
            .await
            .map_err(sql("record mapping audit"))?;
        }, mysql pool => {
            sqlx::query(AUDIT_UPSERT_MYSQL)
            .bind(row.employee_id.0)
            .bind(&row.auth0_user_id.0)
            .bind(&row.productivity_email)
            .bind(&row.podfactory_email)
            .bind(row.matched_by)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(row.from_matcher)
            .execute(pool)
            .await
            .map_err(sql("record mapping audit"))?;
        });
        Ok(())
    }

    /// Mark the audit rows of these links (employee id, account) as
    /// verified now, a few statements however many employees.
    pub async fn touch_verified_audit(
        &self,
        links: &[(i64, String)],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut touched = 0;
        for chunk in links.chunks(250) {
            let pairs = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(employee_id = ${} AND auth0_user_id = ${})",
                        2 * i + 2,
                        2 * i + 3
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let text =
                format!("UPDATE auth0_employee_mapping_audit SET last_verified = $1 WHERE {pairs}");
            touched += with_pool!(self, pool, q => {
                let text = q(&text)?;
                let mut query = sqlx::query(&text).bind(now);
                for (employee, account) in chunk {
                    query = query.bind(employee).bind(account);
                }
                query.execute(pool).await.map_err(sql("verify mapping audit"))?.rows_affected()
            });
        }
        Ok(touched)
    }

    pub async fn podfactory_links(&self, employee_id: i64) -> Result<Vec<PodFactoryLink>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(
                &q("SELECT podfactory_user_id, podfactory_email, podfactory_name, matched_by, confidence, updated_at \
                 FROM employee_podfactory_mapping WHERE employee_id = $1 AND superseded_at IS NULL \
                 ORDER BY podfactory_user_id")?,
            )
            .bind(employee_id)
            .fetch_all(pool)
            .await
            .map_err(sql("read podfactory links"))
        })
    }

    /// The mapping audit of one employee (one row per account it was tied
    /// to), oldest first.
    pub async fn employee_audit(&self, employee_id: i64) -> Result<Vec<MappingAudit>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(
                &q("SELECT employee_id, auth0_user_id, productivity_email, podfactory_email, matched_by, \
                 matched_at, last_verified FROM auth0_employee_mapping_audit WHERE employee_id = $1 ORDER BY id")?,
            )
            .bind(employee_id)
            .fetch_all(pool)
            .await
            .map_err(sql("read mapping audit"))
        })
    }

    pub async fn manual_mappings(&self) -> Result<Vec<ManualMapping>> {
        with_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM podfactory_manual_mappings ORDER BY id")
                .fetch_all(pool)
                .await
                .map_err(sql("read manual mappings"))
        })
    }

    /// Add (or re-point) the manual mapping of a PodFactory user.
    pub async fn upsert_manual_mapping(
        &self,
        podfactory_user_id: &str,
        employee_id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ManualMapping> {
        with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO podfactory_manual_mappings (podfactory_user_id, employee_id, created_by, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (podfactory_user_id) DO UPDATE SET \
                 employee_id = excluded.employee_id, created_by = excluded.created_by, created_at = excluded.created_at \
                 RETURNING *",
            )
            .bind(podfactory_user_id)
            .bind(employee_id)
            .bind(by)
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(sql("write manual mapping"))
        }, mysql pool => {
            // No ON CONFLICT nor RETURNING: upsert, then read the row back.
            let mut tx = pool.begin().await.map_err(sql("write manual mapping"))?;
            sqlx::query(
                "INSERT INTO podfactory_manual_mappings (podfactory_user_id, employee_id, created_by, created_at) \
                 VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
                 employee_id = VALUES(employee_id), created_by = VALUES(created_by), created_at = VALUES(created_at)",
            )
            .bind(podfactory_user_id)
            .bind(employee_id)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(sql("write manual mapping"))?;
            let row = sqlx::query_as("SELECT * FROM podfactory_manual_mappings WHERE podfactory_user_id = ?")
                .bind(podfactory_user_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(sql("write manual mapping"))?;
            tx.commit().await.map_err(sql("write manual mapping"))?;
            Ok(row)
        })
    }

    /// Remove a manual mapping; false if there was none with that id.
    pub async fn delete_manual_mapping(&self, id: i64) -> Result<bool> {
        with_pool!(self, pool, q => {
            let done = sqlx::query(&q("DELETE FROM podfactory_manual_mappings WHERE id = $1")?)
                .bind(id)
                .execute(pool)
                .await
                .map_err(sql("delete manual mapping"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Current PodFactory links: PodFactory user id → employee id.
    pub async fn current_podfactory_links(&self) -> Result<std::collections::HashMap<String, i64>> {
        with_pool!(self, pool => {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT podfactory_user_id, employee_id FROM employee_podfactory_mapping WHERE superseded_at IS NULL",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read podfactory links"))?;
            Ok(rows.into_iter().collect())
        })
    }

    /// The PodFactory users whose current link a person made (a manual
    /// mapping).
    pub async fn manual_podfactory_links(&self) -> Result<std::collections::HashSet<String>> {
        with_pool!(self, pool => {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT podfactory_user_id FROM employee_podfactory_mapping \
                 WHERE superseded_at IS NULL AND matched_by = 'manual'",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read podfactory links"))?;
            Ok(rows.into_iter().map(|(id,)| id).collect())
        })
    }

    /// One employee's PodFactory links, current and ended, newest first.
    pub async fn podfactory_link_history(
        &self,
        employee_id: i64,
    ) -> Result<Vec<PodFactoryLinkHistory>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(
                &q("SELECT podfactory_user_id, podfactory_email, podfactory_name, matched_by, confidence, \
                 created_at, superseded_at FROM employee_podfactory_mapping WHERE employee_id = $1 \
                 ORDER BY created_at DESC, id DESC")?,
            )
            .bind(employee_id)
            .fetch_all(pool)
            .await
            .map_err(sql("read podfactory link history"))
        })
    }

    /// Write new and changed links (a changed link supersedes the current
    /// row, keeping it as history) and mark `verified` links as seen now.
    pub async fn record_podfactory_links(
        &self,
        changed: &[LinkRow],
        verified: &[String],
        ended: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            let mut tx = pool.begin().await.map_err(sql("record podfactory links"))?;
            for l in changed {
                sqlx::query(&q(
                    "UPDATE employee_podfactory_mapping SET superseded_at = $1 \
                     WHERE podfactory_user_id = $2 AND superseded_at IS NULL",
                )?)
                .bind(now)
                .bind(&l.podfactory_user_id)
                .execute(&mut *tx)
                .await
                .map_err(sql("record podfactory links"))?;
                sqlx::query(&q(
                    "INSERT INTO employee_podfactory_mapping (employee_id, podfactory_user_id, podfactory_email, \
                     podfactory_name, matched_by, confidence, created_at, updated_at, last_verified) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )?)
                .bind(l.employee_id)
                .bind(&l.podfactory_user_id)
                .bind(&l.podfactory_email)
                .bind(&l.podfactory_name)
                .bind(&l.matched_by)
                .bind(l.confidence)
                .bind(now)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(sql("record podfactory links"))?;
            }
            // Links a person took back end (the row stays as history); the
            // others are verified. A few statements however many users: ids
            // in chunks.
            for (ids, column, what) in [
                (ended, "superseded_at", "end podfactory links"),
                (verified, "last_verified", "verify podfactory links"),
            ] {
                for chunk in ids.chunks(500) {
                    let list = (2..chunk.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                    let text = format!(
                        "UPDATE employee_podfactory_mapping SET {column} = $1 \
                         WHERE superseded_at IS NULL AND podfactory_user_id IN ({list})"
                    );
                    let text = q(&text)?;
                    let mut query = sqlx::query(&text).bind(now);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    query.execute(&mut *tx).await.map_err(sql(what))?;
                }
            }
            tx.commit().await.map_err(sql("record podfactory links"))?;
        });
        Ok(())
    }

    /// Audit rows as they stand: (employee_id, auth0_user_id) → (podfactory_email, matched_by).
    pub async fn audit_rows(
        &self,
    ) -> Result<std::collections::HashMap<(i64, String), (Option<String>, String)>> {
        with_pool!(self, pool => {
            let rows: Vec<(i64, String, Option<String>, String)> = sqlx::query_as(
                "SELECT employee_id, auth0_user_id, podfactory_email, matched_by FROM auth0_employee_mapping_audit",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read mapping audit"))?;
            Ok(rows.into_iter().map(|(e, a, p, m)| ((e, a), (p, m))).collect())
        })
    }
}
