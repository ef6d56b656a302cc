//! Links between people and accounts: the Auth0 mapping audit
//! (`auth0_employee_mapping_audit`), the PodFactory links the matcher
//! records (`employee_podfactory_mapping`, history kept) and an admin's
//! manual PodFactory mappings.

use super::{placeholders, row_placeholders, sql, with_pool, Result, Store};
use crate::model::{Auth0UserId, EmployeeId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// Bind parameters per statement, under the smallest limit of the three
/// backends (SQLite's 32,766; PostgreSQL and MySQL take 65,535).
/// A table of links whose `last_verified` is kept set-based (migration
/// 0009). "Last verified" means "the latest run that checked these links
/// saw this one". Rewriting every row on every run made a no-change run
/// write the whole table (and PostgreSQL keep a dead copy of each row);
/// instead the rows the latest verifying run saw are listed in `link_seen`
/// and that run's time is in `link_verification` (one row per table, moved
/// once per run). A listed row was verified at that time (or at its own
/// `last_verified`, if written since), any other at its own. A run writes
/// only the rows it sees for the first time (listed) and those it no longer
/// sees (unlisted, `last_verified` set to the time of the run before, the
/// last that saw them): a run that changes nothing writes one row.
#[derive(Debug, Clone, Copy)]
enum LinkTable {
    /// `auth0_employee_mapping_audit`: verified by runs that apply.
    Audit,
    /// `employee_podfactory_mapping`: verified by runs that record matching.
    PodFactory,
}

impl LinkTable {
    fn key(self) -> &'static str {
        match self {
            LinkTable::Audit => "auth0_audit",
            LinkTable::PodFactory => "podfactory_links",
        }
    }

    fn table(self) -> &'static str {
        match self {
            LinkTable::Audit => "auth0_employee_mapping_audit",
            LinkTable::PodFactory => "employee_podfactory_mapping",
        }
    }

    fn upsert_marker(self, backend: super::Backend) -> &'static str {
        match backend {
            super::Backend::MySql => {
                "INSERT INTO link_verification (links, verified_at) VALUES ($1, $2) \
                 ON DUPLICATE KEY UPDATE verified_at = VALUES(verified_at)"
            }
            _ => {
                "INSERT INTO link_verification (links, verified_at) VALUES ($1, $2) \
                 ON CONFLICT (links) DO UPDATE SET verified_at = excluded.verified_at"
            }
        }
    }
}

/// id, employee, account, PodFactory email, matched_by, listed as seen.
type AuditStateRow = (i64, i64, String, Option<String>, String, Option<i64>);

/// An audit row as a run compares it: its id, what the matcher wrote, and
/// whether the latest verifying run saw it.
#[derive(Debug, Clone)]
pub struct AuditState {
    pub id: i64,
    pub podfactory_email: Option<String>,
    pub matched_by: String,
    pub seen_by_latest_run: bool,
}

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

/// What one run's matching does to the PodFactory links: new and changed
/// links (a changed one supersedes the current row, kept as history), the
/// links a person's undo ends (by PodFactory user), and the current rows
/// it verified for the first time (`newly_seen`) or no longer verified
/// (`unseen`: ended, replaced, or left current unverified), by row id.
#[derive(Debug, Default)]
pub struct LinkChanges {
    pub changed: Vec<LinkRow>,
    pub ended: Vec<String>,
    pub newly_seen: Vec<i64>,
    pub unseen: Vec<i64>,
}

/// A current PodFactory link as a run compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentLink {
    /// Its row.
    pub id: i64,
    pub employee_id: i64,
    /// How it was made (`MatchedBy::as_str`); `manual` when a person made
    /// it (a manual mapping).
    pub matched_by: String,
    pub seen_by_latest_run: bool,
}

impl CurrentLink {
    pub fn manual(&self) -> bool {
        self.matched_by == crate::matching::MatchedBy::Manual.as_str()
    }
}

/// Insert or refresh `rows` mapping audit rows (`upsert_audits`,
/// `record_links`): `matched_at` keeps its first value, `last_verified`
/// moves, a missing PodFactory email keeps the known one; the matcher's
/// verdict (`from_matcher`) replaces `matched_by`, an Auth0 link leaves it.
/// Bound by [`bind_audit`], eight values a row, `$N` (MySQL: `?`).
fn audit_upsert_sql(rows: usize, from_matcher: bool, mysql: bool) -> String {
    let values = row_placeholders(1, rows, 8);
    let insert = format!(
        "INSERT INTO auth0_employee_mapping_audit (employee_id, auth0_user_id, \
         productivity_email, podfactory_email, matched_by, matched_at, last_verified, created_at) \
         VALUES {values}"
    );
    if mysql {
        let matched_by = if from_matcher {
            "VALUES(matched_by)"
        } else {
            "matched_by"
        };
        format!(
            "{insert} ON DUPLICATE KEY UPDATE \
             productivity_email = VALUES(productivity_email), \
             podfactory_email = COALESCE(VALUES(podfactory_email), podfactory_email), \
             matched_by = {matched_by}, \
             last_verified = VALUES(last_verified)"
        )
    } else {
        let matched_by = if from_matcher {
            "excluded.matched_by"
        } else {
            "auth0_employee_mapping_audit.matched_by"
        };
        format!(
            "{insert} ON CONFLICT (employee_id, auth0_user_id) DO UPDATE SET \
             productivity_email = excluded.productivity_email, \
             podfactory_email = COALESCE(excluded.podfactory_email, auth0_employee_mapping_audit.podfactory_email), \
             matched_by = {matched_by}, \
             last_verified = excluded.last_verified"
        )
    }
}

/// One audit row's eight values, as [`audit_upsert_sql`] wants them.
fn bind_audit<'q, DB: sqlx::Database>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    r: &'q AuditRow,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(r.employee_id.0)
        .bind(&r.auth0_user_id.0)
        .bind(&r.productivity_email)
        .bind(&r.podfactory_email)
        .bind(r.matched_by)
        .bind(now)
        .bind(now)
        .bind(now)
}

impl Store {
    fn is_mysql(&self) -> bool {
        #[cfg(feature = "mysql")]
        return matches!(self, Store::MySql(_));
        #[cfg(not(feature = "mysql"))]
        false
    }

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
        let mysql = self.is_mysql();
        with_pool!(self, pool, q => {
            let update = update.as_deref().map(q).transpose()?;
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(WHAT))?;
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
                let text = audit_upsert_sql(1, row.from_matcher, mysql);
                let text = q(&text)?;
                bind_audit(sqlx::query(&text), row, now)
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
        self.upsert_audits(std::slice::from_ref(row), now).await
    }

    /// [`Store::upsert_audit`] for many rows, in multi-row statements.
    pub async fn upsert_audits(&self, rows: &[AuditRow], now: DateTime<Utc>) -> Result<()> {
        // One statement may not touch a row twice (PostgreSQL refuses):
        // the last row for a link wins, as it would one statement at a time.
        let mut unique: HashMap<(i64, &str), &AuditRow> = HashMap::new();
        for r in rows {
            unique.insert((r.employee_id.0, r.auth0_user_id.0.as_str()), r);
        }
        for from_matcher in [false, true] {
            let batch: Vec<&AuditRow> = unique
                .values()
                .copied()
                .filter(|r| r.from_matcher == from_matcher)
                .collect();
            for chunk in batch.chunks(self.max_binds() / 8) {
                let text = audit_upsert_sql(chunk.len(), from_matcher, self.is_mysql());
                with_pool!(self, pool, q => {
                    let text = q(&text)?;
                    let mut query = sqlx::query(&text);
                    for r in chunk {
                        query = bind_audit(query, r, now);
                    }
                    query
                        .execute(pool)
                        .await
                        .map_err(sql("record mapping audit"))?;
                });
            }
        }
        Ok(())
    }

    /// The mapping audit as it stands, in one read: what a run compares its
    /// links with before writing only those that changed.
    pub async fn audit_state(&self) -> Result<HashMap<(i64, String), AuditState>> {
        with_pool!(self, pool => {
            let rows: Vec<AuditStateRow> = sqlx::query_as(
                "SELECT a.id, a.employee_id, a.auth0_user_id, a.podfactory_email, a.matched_by, s.row_id \
                 FROM auth0_employee_mapping_audit a \
                 LEFT JOIN link_seen s ON s.links = 'auth0_audit' AND s.row_id = a.id",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read mapping audit"))?;
            Ok(rows
                .into_iter()
                .map(|(id, e, a, podfactory_email, matched_by, seen)| {
                    let seen_by_latest_run = seen.is_some();
                    let state = AuditState { id, podfactory_email, matched_by, seen_by_latest_run };
                    ((e, a), state)
                })
                .collect())
        })
    }

    /// A verifying run saw the audit's links `seen` (their row ids, from
    /// [`Store::audit_state`]) and no others: see [`LinkTable`]. Writes
    /// only the rows whose state changes, and the run's time once.
    pub async fn verify_audit(
        &self,
        state: &HashMap<(i64, String), AuditState>,
        seen: &std::collections::HashSet<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (mut newly_seen, mut unseen) = (Vec::new(), Vec::new());
        for row in state.values() {
            match (row.seen_by_latest_run, seen.contains(&row.id)) {
                (false, true) => newly_seen.push(row.id),
                (true, false) => unseen.push(row.id),
                _ => {}
            }
        }
        self.verify_links(LinkTable::Audit, &newly_seen, &unseen, now)
            .await
    }

    /// Record that a verifying run saw the rows `newly_seen` for the first
    /// time, no longer saw `unseen`, and saw the others listed as before
    /// (see [`LinkTable`]).
    async fn verify_links(
        &self,
        links: LinkTable,
        newly_seen: &[i64],
        unseen: &[i64],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let what = "verify links";
        let table = links.table();
        with_pool!(self, pool, q => {
            // Read before the transaction, which then only writes: on SQLite
            // a transaction that reads first and writes later fails at once
            // ("database is locked") when another connection (the leader
            // lock's renewal) wrote in between. The leader lock keeps other
            // runs out meanwhile.
            let select = q("SELECT verified_at FROM link_verification WHERE links = $1")?;
            let prev: Option<DateTime<Utc>> = sqlx::query_scalar(&select)
                .bind(links.key())
                .fetch_optional(pool)
                .await
                .map_err(sql(what))?;
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(what))?;
            for chunk in unseen.chunks(self.max_binds()) {
                // Unseen now: verified last by the run before (unless
                // written since).
                if let Some(prev) = prev {
                    let text = format!(
                        "UPDATE {table} SET last_verified = CASE WHEN last_verified < $1 THEN $2 \
                         ELSE last_verified END WHERE id IN ({})",
                        placeholders(3, chunk.len())
                    );
                    let text = q(&text)?;
                    let mut query = sqlx::query(&text).bind(prev).bind(prev);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    query.execute(&mut *tx).await.map_err(sql(what))?;
                }
                let text = format!(
                    "DELETE FROM link_seen WHERE links = $1 AND row_id IN ({})",
                    placeholders(2, chunk.len())
                );
                let text = q(&text)?;
                let mut query = sqlx::query(&text).bind(links.key());
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *tx).await.map_err(sql(what))?;
            }
            for chunk in newly_seen.chunks(self.max_binds() / 2) {
                let text = format!(
                    "INSERT INTO link_seen (links, row_id) VALUES {}",
                    row_placeholders(1, chunk.len(), 2)
                );
                let text = q(&text)?;
                let mut query = sqlx::query(&text);
                for id in chunk {
                    query = query.bind(links.key()).bind(id);
                }
                query.execute(&mut *tx).await.map_err(sql(what))?;
            }
            let mark = q(links.upsert_marker(self.backend()))?;
            sqlx::query(&mark)
                .bind(links.key())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(sql(what))?;
            tx.commit().await.map_err(sql(what))?;
        });
        Ok(())
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
                &q("SELECT a.employee_id, a.auth0_user_id, a.productivity_email, a.podfactory_email, a.matched_by, \
                 a.matched_at, CASE WHEN s.row_id IS NOT NULL AND v.verified_at > a.last_verified \
                 THEN v.verified_at ELSE a.last_verified END AS last_verified \
                 FROM auth0_employee_mapping_audit a \
                 LEFT JOIN link_seen s ON s.links = 'auth0_audit' AND s.row_id = a.id \
                 LEFT JOIN link_verification v ON v.links = 'auth0_audit' \
                 WHERE a.employee_id = $1 ORDER BY a.id")?,
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
            let mut tx = crate::store::begin_write(pool).await.map_err(sql("write manual mapping"))?;
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

    /// The current PodFactory links as a run compares them, in one read.
    pub async fn podfactory_link_state(&self) -> Result<HashMap<String, CurrentLink>> {
        with_pool!(self, pool => {
            let rows: Vec<(i64, String, i64, String, Option<i64>)> = sqlx::query_as(
                "SELECT m.id, m.podfactory_user_id, m.employee_id, m.matched_by, s.row_id \
                 FROM employee_podfactory_mapping m \
                 LEFT JOIN link_seen s ON s.links = 'podfactory_links' AND s.row_id = m.id \
                 WHERE m.superseded_at IS NULL",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read podfactory links"))?;
            Ok(rows
                .into_iter()
                .map(|(id, user, employee_id, matched_by, seen)| {
                    let link = CurrentLink {
                        id,
                        employee_id,
                        matched_by,
                        seen_by_latest_run: seen.is_some(),
                    };
                    (user, link)
                })
                .collect())
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

    /// Record what a run's matching found (see [`LinkChanges`]) in one
    /// transaction of a few multi-row statements however many users, then
    /// that it verified the links now.
    pub async fn record_podfactory_links(
        &self,
        links: &LinkChanges,
        now: DateTime<Utc>,
    ) -> Result<()> {
        // One current row per user: the last change for a user wins, as it
        // did one statement at a time.
        let mut changed: HashMap<&str, &LinkRow> = HashMap::new();
        for l in &links.changed {
            changed.insert(&l.podfactory_user_id, l);
        }
        let changed: Vec<&LinkRow> = changed.into_values().collect();
        // Ended, or replaced by a changed link: the row stays as history.
        let ending: Vec<&str> = links
            .ended
            .iter()
            .map(String::as_str)
            .chain(changed.iter().map(|l| l.podfactory_user_id.as_str()))
            .collect();
        let what = "record podfactory links";
        with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(what))?;
            for chunk in ending.chunks(self.max_binds()) {
                let text = format!(
                    "UPDATE employee_podfactory_mapping SET superseded_at = $1 \
                     WHERE superseded_at IS NULL AND podfactory_user_id IN ({})",
                    placeholders(2, chunk.len())
                );
                let text = q(&text)?;
                let mut query = sqlx::query(&text).bind(now);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx).await.map_err(sql(what))?;
            }
            for chunk in changed.chunks(self.max_binds() / 9) {
                let text = format!(
                    "INSERT INTO employee_podfactory_mapping (employee_id, podfactory_user_id, podfactory_email, \
                     podfactory_name, matched_by, confidence, created_at, updated_at, last_verified) VALUES {}",
                    row_placeholders(1, chunk.len(), 9)
                );
                let text = q(&text)?;
                let mut query = sqlx::query(&text);
                for l in chunk {
                    query = query
                        .bind(l.employee_id)
                        .bind(&l.podfactory_user_id)
                        .bind(&l.podfactory_email)
                        .bind(&l.podfactory_name)
                        .bind(&l.matched_by)
                        .bind(l.confidence)
                        .bind(now)
                        .bind(now)
                        .bind(now);
                }
                query.execute(&mut *tx).await.map_err(sql(what))?;
            }
            // A link made now is seen by this run: listed now, or the next
            // run, changing nothing, would list every one of them.
            for chunk in changed.chunks(self.max_binds() - 1) {
                let text = format!(
                    "INSERT INTO link_seen (links, row_id) SELECT $1, id FROM employee_podfactory_mapping \
                     WHERE superseded_at IS NULL AND podfactory_user_id IN ({})",
                    placeholders(2, chunk.len())
                );
                let text = q(&text)?;
                let mut query = sqlx::query(&text).bind(LinkTable::PodFactory.key());
                for l in chunk {
                    query = query.bind(&l.podfactory_user_id);
                }
                query.execute(&mut *tx).await.map_err(sql(what))?;
            }
            tx.commit().await.map_err(sql(what))?;
        });
        self.verify_links(LinkTable::PodFactory, &links.newly_seen, &links.unseen, now)
            .await
    }
}
