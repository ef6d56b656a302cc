//! One leader at a time, across processes and replicas, and fenced: a
//! holder that loses the lock stops writing before anyone else can lead.
//!
//! PostgreSQL: a session advisory lock on a connection of its own (not from
//! the pool); if the process dies the connection closes and the lock goes
//! with it. MySQL/MariaDB: `GET_LOCK` the same way. Its names are
//! server-wide, so the name carries the database's: rosterd instances on
//! different databases do not contend. SQLite: a lease row with an expiry,
//! since SQLite has no session locks, renewed while the run lives.
//!
//! A connection can die under a live run (`pg_terminate_backend`,
//! `idle_session_timeout`, `KILL CONNECTION`), and the lock with it. So a
//! keep-alive task checks every [`KEEPALIVE`] that the lock is still ours
//! (PostgreSQL: `pg_locks` for our backend; MySQL: `IS_USED_LOCK` is our
//! `CONNECTION_ID()`; SQLite: renewing the lease as its holder) and writes
//! the run's `heartbeat_at`; every write of a run checks it again first (see
//! [`Leadership::fenced`]). A failed, wrong or late check is a loss: the
//! run stops writing at once and cancels the Auth0 calls in flight.
//!
//! Invariant: a run stays `running` while its holder may still write, and
//! is closed as abandoned only when its holder is provably dead (same host,
//! pid gone) or its heartbeat is older than [`STALE_AFTER`], which is longer
//! than the time a holder needs to notice a loss and stop
//! ([`KEEPALIVE`] + [`CHECK_TIMEOUT`]).

use super::{sql, with_pool, Result, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Connection, MySqlConnection, PgConnection};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Advisory lock key: "rosterd" in ASCII, so it is recognisable in pg_locks.
const PG_LOCK_KEY: i64 = 0x0072_6f73_7465_7264;
/// Is the advisory lock [`PG_LOCK_KEY`] held by this session? (A bigint
/// key is stored as classid = high half, objid = low half, objsubid = 1.)
const PG_LOCK_HELD: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
     AND granted AND pid = pg_backend_pid() AND objsubid = 1 \
     AND ((classid::bigint << 32) | objid::bigint) = $1)";
const LEASE_NAME: &str = "reconcile";
/// The MySQL lock name: "rosterd:" and the database's name.
const MYSQL_LOCK_NAME: &str = "CONCAT('rosterd:', DATABASE())";

/// How often the keep-alive checks the lock and writes the heartbeat.
pub const KEEPALIVE: Duration = Duration::from_secs(1);
/// A check that takes longer counts as a loss.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// A `running` run whose heartbeat is older than this is abandoned; also the
/// SQLite lease. Well above [`KEEPALIVE`] + [`CHECK_TIMEOUT`], the longest a
/// holder writes after losing the lock, leaving room for clock skew.
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// Why this process no longer leads.
#[derive(Debug, Clone, thiserror::Error)]
#[error("leadership lost: {0}")]
pub struct LeadershipLost(pub String);

/// A `running` row of `reconcile_runs`: who runs it, since when, and when
/// its holder last proved it still held the lock.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RunningRun {
    pub id: i64,
    pub holder: Option<String>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: Option<DateTime<Utc>>,
}

/// The held lock; [`LeaderLock::release`] it when the run ends.
pub struct LeaderLock {
    leadership: Leadership,
    keepalive: tokio::task::JoinHandle<()>,
}

/// What the run's write paths check: a cheap handle on the lock's state.
#[derive(Clone)]
pub struct Leadership(Arc<Shared>);

struct Shared {
    /// `None` once released or lost (a lost connection is closed).
    probe: tokio::sync::Mutex<Option<Probe>>,
    lost: tokio::sync::watch::Sender<Option<String>>,
    run_id: std::sync::Mutex<Option<i64>>,
}

enum Probe {
    Postgres(PgConnection),
    MySql(MySqlConnection),
    Sqlite { store: Store, holder: String },
}

impl Store {
    /// Become the leader, or `None` if another process holds the lock.
    pub async fn try_lock(&self, holder: &str) -> Result<Option<LeaderLock>> {
        let probe = match self {
            Store::Postgres(pool) => {
                let mut conn = PgConnection::connect_with(&pool.connect_options())
                    .await
                    .map_err(sql("connect for the leader lock"))?;
                let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(PG_LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(sql("acquire lock"))?;
                if !got {
                    let _ = conn.close().await;
                    return Ok(None);
                }
                Probe::Postgres(conn)
            }
            Store::MySql(pool) => {
                let mut conn = MySqlConnection::connect_with(&pool.connect_options())
                    .await
                    .map_err(sql("connect for the leader lock"))?;
                // 1: ours; 0: held elsewhere; NULL: an error.
                let (got,): (Option<i64>,) =
                    sqlx::query_as(&format!("SELECT GET_LOCK({MYSQL_LOCK_NAME}, 0)"))
                        .fetch_one(&mut conn)
                        .await
                        .map_err(sql("acquire lock"))?;
                if got != Some(1) {
                    let _ = conn.close().await;
                    return Ok(None);
                }
                Probe::MySql(conn)
            }
            Store::Sqlite(pool) => {
                let now = Utc::now().timestamp();
                let lease = STALE_AFTER.as_secs() as i64;
                let done = sqlx::query(
                    "INSERT INTO rosterd_lock (name, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                     expires_at = excluded.expires_at WHERE rosterd_lock.expires_at < $4",
                )
                .bind(LEASE_NAME)
                .bind(holder)
                .bind(now + lease)
                .bind(now)
                .execute(pool)
                .await
                .map_err(sql("acquire lock"))?;
                let mut got = done.rows_affected() == 1;
                if !got {
                    // A holder on this host whose process is gone (it crashed)
                    // need not be waited out.
                    let current: Option<(String,)> =
                        sqlx::query_as("SELECT holder FROM rosterd_lock WHERE name = $1")
                            .bind(LEASE_NAME)
                            .fetch_optional(pool)
                            .await
                            .map_err(sql("acquire lock"))?;
                    if let Some((old,)) = current.filter(|(old,)| holder_is_dead(old, holder)) {
                        let taken = sqlx::query(
                            "UPDATE rosterd_lock SET holder = $1, expires_at = $2 WHERE name = $3 AND holder = $4",
                        )
                        .bind(holder)
                        .bind(now + lease)
                        .bind(LEASE_NAME)
                        .bind(&old)
                        .execute(pool)
                        .await
                        .map_err(sql("acquire lock"))?;
                        got = taken.rows_affected() == 1;
                        if got {
                            tracing::warn!(previous = %old, "took over the lease of a process that died");
                        }
                    }
                }
                if !got {
                    return Ok(None);
                }
                Probe::Sqlite {
                    store: self.clone(),
                    holder: holder.to_string(),
                }
            }
        };
        let leadership = Leadership(Arc::new(Shared {
            probe: tokio::sync::Mutex::new(Some(probe)),
            lost: tokio::sync::watch::channel(None).0,
            run_id: std::sync::Mutex::new(None),
        }));
        let keepalive = tokio::spawn(keep_alive(leadership.clone()));
        Ok(Some(LeaderLock {
            leadership,
            keepalive,
        }))
    }

    /// The newest `running` run, for "another run is in progress".
    pub async fn running_run(&self) -> Result<Option<RunningRun>> {
        Ok(self.running_runs().await?.pop())
    }

    async fn running_runs(&self) -> Result<Vec<RunningRun>> {
        with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, holder, started_at, heartbeat_at FROM reconcile_runs \
                 WHERE status = 'running' ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read running runs"))
        })
    }

    /// Close the runs left `running` by a holder that can no longer write
    /// (see the module's invariant), or name the one whose holder still may:
    /// then no new run starts. Call only while holding the leader lock.
    pub async fn close_abandoned_runs(
        &self,
        me: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<u64, RunningRun>> {
        let stale = chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
        let mut closed = 0;
        for run in self.running_runs().await? {
            // Our own: the caller holds this process's run mutex, so it is
            // a record a failed finish left behind.
            let dead = run
                .holder
                .as_deref()
                .is_some_and(|h| h == me || holder_is_dead(h, me));
            let beat = run.heartbeat_at.unwrap_or(run.started_at);
            if !dead && now - beat <= stale {
                return Ok(Err(run));
            }
            with_pool!(self, pool, q => {
                sqlx::query(
                    &q("UPDATE reconcile_runs SET status = 'failed', finished_at = $1, \
                     error = 'abandoned: the process running it stopped before it finished' \
                     WHERE id = $2 AND status = 'running'"),
                )
                .bind(now)
                .bind(run.id)
                .execute(pool)
                .await
                .map_err(sql("close abandoned runs"))?;
            });
            closed += 1;
        }
        Ok(Ok(closed))
    }

    /// Record who runs `run_id`; its first heartbeat.
    pub async fn set_run_holder(
        &self,
        run_id: i64,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            sqlx::query(&q("UPDATE reconcile_runs SET holder = $1, heartbeat_at = $2 WHERE id = $3"))
                .bind(holder)
                .bind(now)
                .bind(run_id)
                .execute(pool)
                .await
                .map_err(sql("record the run's holder"))?;
        });
        Ok(())
    }
}

/// Holders are `host:pid`, optionally followed by `#instance`. On Linux, a
/// holder on our own host whose pid has no `/proc` entry is dead; elsewhere
/// we cannot tell and wait for the lease or the heartbeat.
fn holder_is_dead(old: &str, me: &str) -> bool {
    let split = |h: &str| {
        let h = h.split('#').next().unwrap_or(h);
        h.rsplit_once(':')
            .map(|(host, pid)| (host.to_string(), pid.to_string()))
    };
    let (Some((old_host, pid)), Some((my_host, _))) = (split(old), split(me)) else {
        return false;
    };
    old_host == my_host
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Verify the lock and beat the heart every [`KEEPALIVE`] until a loss.
async fn keep_alive(l: Leadership) {
    loop {
        tokio::time::sleep(KEEPALIVE).await;
        if l.check(true).await.is_err() {
            return;
        }
    }
}

impl Probe {
    /// Is the lock still ours? With `beat` (the keep-alive), also renew the
    /// SQLite lease and write the run's heartbeat, on the lock's own
    /// connection where there is one.
    async fn check(&mut self, beat: Option<i64>) -> std::result::Result<bool, sqlx::Error> {
        let now = Utc::now();
        const BEAT: &str = "UPDATE reconcile_runs SET heartbeat_at = $1 WHERE id = $2";
        match self {
            Probe::Postgres(conn) => {
                let (ours,): (bool,) = sqlx::query_as(PG_LOCK_HELD)
                    .bind(PG_LOCK_KEY)
                    .fetch_one(&mut *conn)
                    .await?;
                if let (true, Some(id)) = (ours, beat) {
                    sqlx::query(BEAT)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(ours)
            }
            Probe::MySql(conn) => {
                let (ours,): (Option<i64>,) = sqlx::query_as(&format!(
                    "SELECT IS_USED_LOCK({MYSQL_LOCK_NAME}) = CONNECTION_ID()"
                ))
                .fetch_one(&mut *conn)
                .await?;
                let ours = ours == Some(1);
                if let (true, Some(id)) = (ours, beat) {
                    sqlx::query(&super::to_mysql(BEAT))
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(ours)
            }
            Probe::Sqlite { store, holder } => {
                let Store::Sqlite(pool) = store else {
                    unreachable!("a SQLite lease on a SQLite store")
                };
                if beat.is_none() {
                    // Before a write: a read, which never waits on writers.
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM rosterd_lock WHERE name = $1 AND holder = $2",
                    )
                    .bind(LEASE_NAME)
                    .bind(holder.as_str())
                    .fetch_one(&*pool)
                    .await?;
                    return Ok(n == 1);
                }
                // Renewal only as the holder: a lease another process took
                // over is not ours to extend.
                let renewed = sqlx::query(
                    "UPDATE rosterd_lock SET expires_at = $1 WHERE name = $2 AND holder = $3",
                )
                .bind(now.timestamp() + STALE_AFTER.as_secs() as i64)
                .bind(LEASE_NAME)
                .bind(holder.as_str())
                .execute(&*pool)
                .await?
                .rows_affected()
                    == 1;
                if let (true, Some(id)) = (renewed, beat) {
                    sqlx::query(BEAT).bind(now).bind(id).execute(&*pool).await?;
                }
                Ok(renewed)
            }
        }
    }

    async fn release(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            Probe::Postgres(mut conn) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_LOCK_KEY)
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            Probe::MySql(mut conn) => {
                sqlx::query(&format!("SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            Probe::Sqlite { store, holder } => {
                if let Store::Sqlite(pool) = store {
                    sqlx::query("DELETE FROM rosterd_lock WHERE name = $1 AND holder = $2")
                        .bind(LEASE_NAME)
                        .bind(holder)
                        .execute(&pool)
                        .await?;
                }
                Ok(())
            }
        }
    }
}

impl Leadership {
    /// Why leadership was lost, if it was.
    pub fn lost_reason(&self) -> Option<String> {
        self.0.lost.borrow().clone()
    }

    /// Check on the lock's connection that the lock is still ours.
    pub async fn verify(&self) -> std::result::Result<(), LeadershipLost> {
        self.check(false).await
    }

    /// Run `write` only if the lock is still ours, and give it up (cancel
    /// it) the moment the lock is lost.
    pub async fn fenced<F: Future>(
        &self,
        write: F,
    ) -> std::result::Result<F::Output, LeadershipLost> {
        self.verify().await?;
        let mut lost = self.0.lost.subscribe();
        tokio::select! {
            biased;
            why = lost.wait_for(Option::is_some) => Err(LeadershipLost(
                why.ok().and_then(|w| w.clone()).unwrap_or_default(),
            )),
            out = write => Ok(out),
        }
    }

    async fn check(&self, beat: bool) -> std::result::Result<(), LeadershipLost> {
        if let Some(why) = self.lost_reason() {
            return Err(LeadershipLost(why));
        }
        let run_id = beat
            .then(|| *self.0.run_id.lock().unwrap_or_else(|p| p.into_inner()))
            .flatten();
        let mut probe = self.0.probe.lock().await;
        let Some(p) = probe.as_mut() else {
            return Err(self.lose("the lock was released".into()));
        };
        let why = match tokio::time::timeout(CHECK_TIMEOUT, p.check(run_id)).await {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => "the lock is no longer held by this process".to_string(),
            Ok(Err(e)) => format!("the lock's database connection failed: {e}"),
            Err(_) => {
                format!("the lock's database connection did not answer within {CHECK_TIMEOUT:?}")
            }
        };
        // Closing a connection we gave up on frees whatever it still holds.
        *probe = None;
        Err(self.lose(why))
    }

    fn lose(&self, why: String) -> LeadershipLost {
        let first = self.0.lost.send_if_modified(|l| {
            let first = l.is_none();
            if first {
                *l = Some(why.clone());
            }
            first
        });
        if first {
            tracing::error!(reason = %why, "leadership lost: this run stops writing");
        }
        LeadershipLost(self.lost_reason().unwrap_or(why))
    }
}

impl LeaderLock {
    /// The handle the run's writes check.
    pub fn leadership(&self) -> Leadership {
        self.leadership.clone()
    }

    /// The run this lock covers: its heartbeat is written from now on.
    pub fn attach_run(&self, run_id: i64) {
        *self
            .leadership
            .0
            .run_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(run_id);
    }

    /// Give the lock up. Nothing to do if it was already lost.
    pub async fn release(self) -> Result<()> {
        self.keepalive.abort();
        let probe = self.leadership.0.probe.lock().await.take();
        if let Some(p) = probe {
            p.release().await.map_err(sql("release lock"))?;
        }
        Ok(())
    }
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        // Not released (a panic or an early return): close the connection
        // now so the server frees the lock, even if a `Leadership` handle
        // outlives this. A SQLite lease lapses by itself.
        self.keepalive.abort();
        if let Ok(mut probe) = self.leadership.0.probe.try_lock() {
            drop(probe.take());
        }
    }
}
