//! The employees change feed: a wake-up for every change to what rosterd
//! reads, however the backend tells it. PostgreSQL notifies (LISTEN/NOTIFY,
//! a trigger installed by the migrations); SQLite and MySQL bump a change
//! marker (also by triggers) that is polled.
//!
//! A lost connection is retried with backoff, and the marker tells whether
//! a change happened while nobody listened: only then is a wake-up due (a
//! server that drops idle sessions every few seconds must not cause a full
//! run every few seconds).

use super::{sql, with_pool, Result, Store};
use crate::backoff::Backoff;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

#[cfg(feature = "postgres")]
const PG_CHANNEL: &str = "rosterd_employees";

/// Wake-ups for employee changes; several changes not yet taken come as
/// one. Dropping the feed stops its watcher.
pub struct ChangeFeed {
    changes: mpsc::Receiver<()>,
    watcher: JoinHandle<()>,
}

impl ChangeFeed {
    /// Wait for the next change.
    pub async fn changed(&mut self) {
        // The watcher only ends when the feed is dropped; never yield a
        // wake-up that is not a change.
        if self.changes.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl Store {
    /// Watch the employees for changes; `poll` is how often the change
    /// marker is read where the backend does not notify (and the first
    /// reconnect delay where it does).
    pub fn change_feed(&self, poll: Duration) -> ChangeFeed {
        // One slot: a change while one is waiting to be taken is the same
        // wake-up.
        let (tx, changes) = mpsc::channel(1);
        let changed = move || {
            let _ = tx.try_send(());
        };
        let store = self.clone();
        let poll = poll.max(Duration::from_millis(100));
        let watcher = tokio::spawn(async move {
            match &store {
                #[cfg(feature = "postgres")]
                Store::Postgres(pool) => listen(&store, pool, poll, changed).await,
                #[allow(unreachable_patterns)]
                _ => poll_marker(&store, poll, changed).await,
            }
        });
        ChangeFeed { changes, watcher }
    }

    /// The change marker, bumped by triggers on every change to what
    /// rosterd reads (see the migrations). SQLite and MySQL poll it;
    /// PostgreSQL, which notifies, reads it to tell whether a change may have
    /// been missed while its listener was disconnected.
    pub async fn change_marker(&self) -> Result<i64> {
        const MARKER: &str = "SELECT version FROM rosterd_change_marker WHERE id = 1";
        with_pool!(self, pool => {
            let (v,): (i64,) = sqlx::query_as(MARKER)
                .fetch_one(pool)
                .await
                .map_err(sql("read change marker"))?;
            Ok(v)
        })
    }
}

#[cfg(feature = "postgres")]
async fn listen(store: &Store, pool: &sqlx::PgPool, poll: Duration, changed: impl Fn()) {
    let mut retry = Backoff::new(poll, Duration::from_secs(30));
    // The marker as of the last change this listener delivered (or of its
    // start): a later value is a change it may have missed.
    let mut seen = store.change_marker().await.ok();
    loop {
        let connected = std::time::Instant::now();
        match sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(mut listener) => match listener.listen(PG_CHANNEL).await {
                Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
                Ok(()) => {
                    // Read after LISTEN, so nothing falls between.
                    let now = store.change_marker().await.ok();
                    if now.is_none() || now != seen {
                        changed();
                    }
                    seen = now;
                    // Not `recv`, which reconnects by itself and so hides
                    // the gap: `Ok(None)` says the connection was lost.
                    while let Ok(Some(_n)) = listener.try_recv().await {
                        changed();
                        seen = store.change_marker().await.ok();
                    }
                    tracing::warn!("change listener lost its connection; reconnecting");
                }
            },
            Err(e) => tracing::warn!(error = %e, "change listener cannot connect; retrying"),
        }
        tokio::time::sleep(retry.after(connected.elapsed())).await;
    }
}

async fn poll_marker(store: &Store, poll: Duration, changed: impl Fn()) {
    let mut retry = Backoff::new(poll, Duration::from_secs(30));
    let mut last = store.change_marker().await.ok();
    loop {
        match store.change_marker().await {
            Ok(now) => {
                if last != Some(now) {
                    last = Some(now);
                    changed();
                }
                retry.reset();
                tokio::time::sleep(poll).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "change poll failed");
                tokio::time::sleep(retry.after(Duration::ZERO)).await;
            }
        }
    }
}
