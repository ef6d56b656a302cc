//! Console sessions ended before their time (`console_signouts`). A
//! session is a signed cookie, not a row: this is the one thing about it
//! the replicas must share, so that a kept copy of a signed-out session's
//! cookie is refused everywhere. Expiry is UNIX seconds, compared in SQL
//! the same way on every backend.

use super::{sql, with_pool, Result, Store};

impl Store {
    /// Record session `id` as signed out until `expires_at` (when it would
    /// have expired anyway), and forget those past theirs.
    pub async fn end_session(&self, id: &str, expires_at: i64, now: i64) -> Result<()> {
        const WHAT: &str = "record a sign-out";
        let insert = match self.backend() {
            super::Backend::MySql => {
                "INSERT IGNORE INTO console_signouts (session_id, expires_at) VALUES ($1, $2)"
            }
            super::Backend::Postgres | super::Backend::Sqlite => {
                "INSERT INTO console_signouts (session_id, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (session_id) DO NOTHING"
            }
        };
        with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql(WHAT))?;
            sqlx::query(&q("DELETE FROM console_signouts WHERE expires_at <= $1")?)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(sql(WHAT))?;
            // Idempotent: two tabs signing out at once both succeed.
            sqlx::query(&q(insert)?)
                .bind(id)
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(sql(WHAT))?;
            tx.commit().await.map_err(sql(WHAT))?;
        });
        Ok(())
    }

    /// Was session `id` signed out?
    pub async fn session_ended(&self, id: &str) -> Result<bool> {
        let row: Option<(i64,)> = with_pool!(self, pool, q => {
            sqlx::query_as(&q("SELECT expires_at FROM console_signouts WHERE session_id = $1")?)
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(sql("read sign-outs"))
        })?;
        Ok(row.is_some())
    }
}
