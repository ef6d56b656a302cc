//! The admin audit: who did what through the CLI or the API.

use super::{sql, with_pool, Result, Store};
use chrono::{DateTime, Utc};

impl Store {
    /// Who did what, for admin actions (never with secrets in `target`).
    pub async fn audit_admin(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            sqlx::query(&q("INSERT INTO admin_audit (at, actor, action, target) VALUES ($1, $2, $3, $4)")?)
                .bind(now)
                .bind(actor)
                .bind(action)
                .bind(target)
                .execute(pool)
                .await
                .map_err(sql("audit admin action"))?;
        });
        Ok(())
    }
}
