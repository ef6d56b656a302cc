//! What on-call was already told (`notification_log`), so the same finding
//! is not re-sent every run.
//!
//! The SQL is written once with `$N` placeholders and run through the
//! store's `with_pool!` (MySQL gets `?`); MySQL has its own upsert text (no
//! `ON CONFLICT` there). Times are compared in Rust, not
//! in SQL, because SQLite stores them as text whose format the driver chooses.

use crate::store::{with_pool, Backend, Store};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// Keys per `IN (…)` list: well under SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 500;

/// The keys among `keys` last sent after `since`.
pub async fn recently_sent(
    store: &Store,
    keys: &[String],
    since: DateTime<Utc>,
) -> anyhow::Result<HashSet<String>> {
    let mut sent = HashSet::new();
    for chunk in keys.chunks(CHUNK) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT finding_key, last_sent_at FROM notification_log WHERE finding_key IN ({})",
            list.join(", ")
        );
        let rows: Vec<(String, DateTime<Utc>)> = with_pool!(store, pool, q => {
            let sql = q(&sql)?;
            let mut q = sqlx::query_as(&sql);
            for k in chunk {
                q = q.bind(k);
            }
            q.fetch_all(pool).await
        })
        .context("read notification_log")?;
        sent.extend(
            rows.into_iter()
                .filter(|(_, at)| *at > since)
                .map(|(k, _)| k),
        );
    }
    Ok(sent)
}

/// Record `(key, kind)` pairs as sent at `now` (first_sent_at kept).
pub async fn record_sent(
    store: &Store,
    sent: &[(String, &str)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    const UPSERT: &str = "INSERT INTO notification_log (finding_key, kind, first_sent_at, last_sent_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (finding_key) DO UPDATE SET kind = excluded.kind, last_sent_at = excluded.last_sent_at";
    const UPSERT_MYSQL: &str =
        "INSERT INTO notification_log (finding_key, kind, first_sent_at, last_sent_at) \
         VALUES (?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE kind = VALUES(kind), last_sent_at = VALUES(last_sent_at)";
    let upsert = match store.backend() {
        Backend::MySql => UPSERT_MYSQL,
        Backend::Postgres | Backend::Sqlite => UPSERT,
    };
    with_pool!(store, pool => {
        let mut tx = crate::store::begin_write(pool).await.context("record notifications")?;
        for (key, kind) in sent {
            sqlx::query(upsert)
                .bind(key)
                .bind(kind)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .context("record notifications")?;
        }
        tx.commit().await.context("record notifications")?;
    });
    Ok(())
}
