//! The last match (`podfactory_match_memo`, migration `0010`): one row,
//! read by fingerprint, replaced by a run that matched (`match_memo`).

use super::{sql, with_pool, Result, Store};
use chrono::{DateTime, Utc};

impl Store {
    /// The stored results, if they were made from inputs with this
    /// fingerprint (the bytes are not read otherwise).
    pub async fn match_memo(&self, fingerprint: &str) -> Result<Option<Vec<u8>>> {
        with_pool!(self, pool, q => {
            let text = q("SELECT results FROM podfactory_match_memo WHERE id = 1 AND fingerprint = $1")?;
            let row: Option<(Vec<u8>,)> = sqlx::query_as(&text)
                .bind(fingerprint)
                .fetch_optional(pool)
                .await
                .map_err(sql("read the stored match"))?;
            Ok(row.map(|(bytes,)| bytes))
        })
    }

    /// Store `results` as the match made from inputs with `fingerprint`,
    /// in place of the last.
    pub async fn put_match_memo(
        &self,
        fingerprint: &str,
        results: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let upsert = match self.backend() {
            super::Backend::MySql => {
                "INSERT INTO podfactory_match_memo (id, fingerprint, made_at, results) \
                 VALUES (1, $1, $2, $3) ON DUPLICATE KEY UPDATE fingerprint = VALUES(fingerprint), \
                 made_at = VALUES(made_at), results = VALUES(results)"
            }
            _ => {
                "INSERT INTO podfactory_match_memo (id, fingerprint, made_at, results) \
                 VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET \
                 fingerprint = excluded.fingerprint, made_at = excluded.made_at, \
                 results = excluded.results"
            }
        };
        with_pool!(self, pool, q => {
            let text = q(upsert)?;
            sqlx::query(&text)
                .bind(fingerprint)
                .bind(now)
                .bind(results)
                .execute(pool)
                .await
                .map_err(sql("store the match"))?;
            Ok(())
        })
    }
}
