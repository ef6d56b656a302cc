//! People's decisions on what rosterd leaves to them, other than links
//! (`mappings`) and held runs (`runs`): PodFactory users that are not
//! employees (`podfactory_non_employees`) and acknowledged findings
//! (`finding_acks`), and when each finding waiting for them was first seen
//! (`finding_first_seen`). Each decision is an upsert (deciding again records the latest
//! who, when and note) and reversible by deleting its row.

use super::{sql, with_pool, Result, Store};
use crate::plan::FindingKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A PodFactory user someone said is not an employee (a kiosk login, a
/// temp, a visitor): left out of matching.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct NonEmployee {
    pub podfactory_user_id: String,
    pub note: Option<String>,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// A finding someone acknowledged: no longer sent to on-call nor waiting
/// in the triage queue. `kind` is stored as text, so an acknowledgement of
/// a kind a later rosterd dropped still reads.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FindingAck {
    pub finding_key: String,
    pub kind: String,
    pub note: Option<String>,
    pub acked_by: String,
    pub acked_at: DateTime<Utc>,
}

impl Store {
    /// Mark a PodFactory user as not an employee (again: the latest note,
    /// who and when replace the earlier ones).
    pub async fn mark_not_employee(
        &self,
        podfactory_user_id: &str,
        note: Option<&str>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<NonEmployee> {
        const WHAT: &str = "mark a PodFactory user not an employee";
        with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO podfactory_non_employees (podfactory_user_id, note, decided_by, decided_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (podfactory_user_id) DO UPDATE SET \
                 note = excluded.note, decided_by = excluded.decided_by, decided_at = excluded.decided_at \
                 RETURNING podfactory_user_id, note, decided_by, decided_at",
            )
            .bind(podfactory_user_id)
            .bind(note)
            .bind(by)
            .bind(at)
            .fetch_one(pool)
            .await
            .map_err(sql(WHAT))
        }, mysql pool => {
            // No ON CONFLICT nor RETURNING: upsert, then read the row back.
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(WHAT))?;
            sqlx::query(
                "INSERT INTO podfactory_non_employees (podfactory_user_id, note, decided_by, decided_at) \
                 VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
                 note = VALUES(note), decided_by = VALUES(decided_by), decided_at = VALUES(decided_at)",
            )
            .bind(podfactory_user_id)
            .bind(note)
            .bind(by)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(sql(WHAT))?;
            let row = sqlx::query_as(
                "SELECT podfactory_user_id, note, decided_by, decided_at \
                 FROM podfactory_non_employees WHERE podfactory_user_id = ?",
            )
            .bind(podfactory_user_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql(WHAT))?;
            tx.commit().await.map_err(sql(WHAT))?;
            Ok(row)
        })
    }

    /// Remove the mark; false if the user was not marked.
    pub async fn unmark_not_employee(&self, podfactory_user_id: &str) -> Result<bool> {
        with_pool!(self, pool, q => {
            let done = sqlx::query(&q("DELETE FROM podfactory_non_employees WHERE podfactory_user_id = $1")?)
                .bind(podfactory_user_id)
                .execute(pool)
                .await
                .map_err(sql("unmark a PodFactory user"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Every PodFactory user marked not an employee, newest decision first.
    pub async fn non_employees(&self) -> Result<Vec<NonEmployee>> {
        let mut rows: Vec<NonEmployee> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT podfactory_user_id, note, decided_by, decided_at FROM podfactory_non_employees",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read PodFactory non-employees"))?
        });
        // Ordered here: SQLite holds times as text in a format of the driver's.
        rows.sort_by(|a, b| {
            (b.decided_at, &a.podfactory_user_id).cmp(&(a.decided_at, &b.podfactory_user_id))
        });
        Ok(rows)
    }

    /// Acknowledge the finding with key `key` (again: the latest note, who
    /// and when replace the earlier ones).
    pub async fn ack_finding(
        &self,
        key: &str,
        kind: FindingKind,
        note: Option<&str>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<FindingAck> {
        const WHAT: &str = "acknowledge a finding";
        with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO finding_acks (finding_key, kind, note, acked_by, acked_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (finding_key) DO UPDATE SET \
                 kind = excluded.kind, note = excluded.note, acked_by = excluded.acked_by, \
                 acked_at = excluded.acked_at \
                 RETURNING finding_key, kind, note, acked_by, acked_at",
            )
            .bind(key)
            .bind(kind.as_str())
            .bind(note)
            .bind(by)
            .bind(at)
            .fetch_one(pool)
            .await
            .map_err(sql(WHAT))
        }, mysql pool => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(WHAT))?;
            sqlx::query(
                "INSERT INTO finding_acks (finding_key, kind, note, acked_by, acked_at) \
                 VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
                 kind = VALUES(kind), note = VALUES(note), acked_by = VALUES(acked_by), \
                 acked_at = VALUES(acked_at)",
            )
            .bind(key)
            .bind(kind.as_str())
            .bind(note)
            .bind(by)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(sql(WHAT))?;
            let row = sqlx::query_as(
                "SELECT finding_key, kind, note, acked_by, acked_at FROM finding_acks WHERE finding_key = ?",
            )
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql(WHAT))?;
            tx.commit().await.map_err(sql(WHAT))?;
            Ok(row)
        })
    }

    /// Remove an acknowledgement; false if there was none for `key`.
    pub async fn unack_finding(&self, key: &str) -> Result<bool> {
        with_pool!(self, pool, q => {
            let done = sqlx::query(&q("DELETE FROM finding_acks WHERE finding_key = $1")?)
                .bind(key)
                .execute(pool)
                .await
                .map_err(sql("remove a finding acknowledgement"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Every acknowledged finding, newest first.
    pub async fn finding_acks(&self) -> Result<Vec<FindingAck>> {
        let mut rows: Vec<FindingAck> = with_pool!(self, pool => {
            sqlx::query_as("SELECT finding_key, kind, note, acked_by, acked_at FROM finding_acks")
                .fetch_all(pool)
                .await
                .map_err(sql("read finding acknowledgements"))?
        });
        rows.sort_by(|a, b| (b.acked_at, &a.finding_key).cmp(&(a.acked_at, &b.finding_key)));
        Ok(rows)
    }

    /// Record which findings a run saw at `now`: keys not seen before get
    /// `now` as their first sighting; with `forget_gone`, keys no longer
    /// seen are forgotten (a finding that comes back is new again). A run
    /// that could not look (the PodFactory source was down) forgets none.
    pub async fn record_findings_seen(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        forget_gone: bool,
    ) -> Result<()> {
        const WHAT: &str = "record when findings were first seen";
        let current: std::collections::HashSet<String> = keys.iter().map(|k| seen_id(k)).collect();
        let known = self.seen_ids().await?;
        let new: Vec<&String> = current.iter().filter(|k| !known.contains_key(*k)).collect();
        let gone: Vec<&String> = if forget_gone {
            known.keys().filter(|k| !current.contains(*k)).collect()
        } else {
            Vec::new()
        };
        if new.is_empty() && gone.is_empty() {
            return Ok(());
        }
        // Idempotent, so a replica racing this one cannot fail it.
        let insert = match self.backend() {
            super::Backend::MySql => {
                "INSERT IGNORE INTO finding_first_seen (finding_hash, first_seen_at) VALUES"
            }
            super::Backend::Postgres | super::Backend::Sqlite => {
                "INSERT INTO finding_first_seen (finding_hash, first_seen_at) VALUES"
            }
        };
        let conflict = match self.backend() {
            super::Backend::MySql => "",
            super::Backend::Postgres | super::Backend::Sqlite => {
                " ON CONFLICT (finding_hash) DO NOTHING"
            }
        };
        with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(WHAT))?;
            for chunk in gone.chunks(500) {
                let list = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let text = format!("DELETE FROM finding_first_seen WHERE finding_hash IN ({list})");
                let text = q(&text)?;
                let mut query = sqlx::query(&text);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *tx).await.map_err(sql(WHAT))?;
            }
            // Several rows per statement: a first run can see thousands.
            for chunk in new.chunks(200) {
                let rows = (0..chunk.len())
                    .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let text = format!("{insert} {rows}{conflict}");
                let text = q(&text)?;
                let mut query = sqlx::query(&text);
                for id in chunk {
                    query = query.bind(*id).bind(now);
                }
                query.execute(&mut *tx).await.map_err(sql(WHAT))?;
            }
            tx.commit().await.map_err(sql(WHAT))?;
        });
        Ok(())
    }

    /// When each of `keys` was first seen, for those still remembered.
    pub async fn findings_first_seen(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        let seen = self.seen_ids().await?;
        Ok(keys
            .iter()
            .filter_map(|k| seen.get(&seen_id(k)).map(|at| (k.clone(), *at)))
            .collect())
    }

    async fn seen_ids(&self) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        with_pool!(self, pool => {
            let rows: Vec<(String, DateTime<Utc>)> =
                sqlx::query_as("SELECT finding_hash, first_seen_at FROM finding_first_seen")
                    .fetch_all(pool)
                    .await
                    .map_err(sql("read when findings were first seen"))?;
            Ok(rows.into_iter().collect())
        })
    }
}

/// A finding key as `finding_first_seen` holds it: its SHA-256, hex.
fn seen_id(key: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}
