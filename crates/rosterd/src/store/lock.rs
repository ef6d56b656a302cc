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
//! is closed as abandoned only when its holder is provably dead (same boot
//! and PID namespace, pid gone: see [`holder_name`]) or its heartbeat is
//! older than [`STALE_AFTER`], which is longer than the time a holder needs
//! to notice a loss and stop ([`KEEPALIVE`] + [`CHECK_TIMEOUT`]).
//! Heartbeats are written and compared with the database's clock, so the
//! replicas' clocks may disagree. A holder only ever updates its run while
//! the run is still `running` and still its own: a run closed by a
//! successor stays as closed.

use super::{sql, with_pool, Result, Store};
use crate::outcome::ActionStatus;
use crate::run::RunStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::Connection;
#[cfg(feature = "mysql")]
use sqlx::MySqlConnection;
#[cfg(feature = "postgres")]
use sqlx::PgConnection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Advisory lock key: "rosterd" in ASCII, so it is recognisable in pg_locks.
#[cfg(feature = "postgres")]
const PG_LOCK_KEY: i64 = 0x0072_6f73_7465_7264;
/// Is the advisory lock [`PG_LOCK_KEY`] held by this session? (A bigint
/// key is stored as classid = high half, objid = low half, objsubid = 1.)
#[cfg(feature = "postgres")]
const PG_LOCK_HELD: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
     AND granted AND pid = pg_backend_pid() AND objsubid = 1 \
     AND ((classid::bigint << 32) | objid::bigint) = $1)";
#[cfg(feature = "sqlite")]
const LEASE_NAME: &str = "reconcile";
/// The MySQL lock name: "rosterd:" and the database's name.
#[cfg(feature = "mysql")]
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
    holder: String,
}

enum Probe {
    #[cfg(feature = "postgres")]
    Postgres(PgConnection),
    #[cfg(feature = "mysql")]
    MySql(MySqlConnection),
    #[cfg(feature = "sqlite")]
    Sqlite {
        pool: sqlx::SqlitePool,
        holder: String,
    },
}

impl Store {
    /// Become the leader, or `None` if another process holds the lock.
    pub async fn try_lock(&self, holder: &str) -> Result<Option<LeaderLock>> {
        let probe = match self {
            #[cfg(feature = "postgres")]
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
            #[cfg(feature = "mysql")]
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
            #[cfg(feature = "sqlite")]
            Store::Sqlite(pool) => {
                let now = self.db_now().await?.timestamp();
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
                    pool: pool.clone(),
                    holder: holder.to_string(),
                }
            }
        };
        let leadership = Leadership(Arc::new(Shared {
            probe: tokio::sync::Mutex::new(Some(probe)),
            lost: tokio::sync::watch::channel(None).0,
            run_id: std::sync::Mutex::new(None),
            holder: holder.to_string(),
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
        with_pool!(self, pool, q => {
            sqlx::query_as(&q(
                "SELECT id, holder, started_at, heartbeat_at FROM reconcile_runs \
                 WHERE status = $1 ORDER BY id",
            )?)
            .bind(RunStatus::Running.as_str())
            .fetch_all(pool)
            .await
            .map_err(sql("read running runs"))
        })
    }

    /// The database's clock: heartbeats are written and compared with it,
    /// so the replicas' own clocks may disagree.
    pub async fn db_now(&self) -> Result<DateTime<Utc>> {
        let what = "read the database clock";
        match self {
            #[cfg(feature = "postgres")]
            Store::Postgres(pool) => sqlx::query_scalar("SELECT now()")
                .fetch_one(pool)
                .await
                .map_err(sql(what)),
            // sqlx sets the session's time_zone to UTC.
            #[cfg(feature = "mysql")]
            Store::MySql(pool) => sqlx::query_scalar("SELECT CURRENT_TIMESTAMP(6)")
                .fetch_one(pool)
                .await
                .map_err(sql(what)),
            #[cfg(feature = "sqlite")]
            Store::Sqlite(pool) => sqlite_now(pool).await.map_err(sql(what)),
        }
    }

    /// Close the runs left `running` by a holder that can no longer write
    /// (see the module's invariant), or name the one whose holder still may:
    /// then no new run starts. Call only while holding the leader lock.
    ///
    /// A closed run gets its action counts from `reconcile_actions`, and the
    /// actions it never finished are marked skipped.
    pub async fn close_abandoned_runs(
        &self,
        me: &str,
    ) -> Result<std::result::Result<u64, RunningRun>> {
        let stale = chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
        let now = self.db_now().await?;
        let mut closed = 0;
        for run in self.running_runs().await? {
            // Our own (this very context, token and all): the caller holds
            // this process's run mutex, so it is a record a failed finish
            // left behind.
            let dead = run
                .holder
                .as_deref()
                .is_some_and(|h| h == me || holder_is_dead(h, me));
            let beat = run.heartbeat_at.unwrap_or(run.started_at);
            if !dead && now - beat <= stale {
                return Ok(Err(run));
            }
            with_pool!(self, pool, q => {
                let mut tx = crate::store::begin_write(pool).await.map_err(sql("close abandoned runs"))?;
                let done = sqlx::query(&q(
                    "UPDATE reconcile_runs SET status = $1, finished_at = $2, \
                     error = 'abandoned: the process running it stopped before it finished', \
                     actions_planned = (SELECT COUNT(*) FROM reconcile_actions WHERE run_id = $3), \
                     actions_succeeded = (SELECT COUNT(*) FROM reconcile_actions \
                       WHERE run_id = $4 AND status = $5), \
                     actions_failed = (SELECT COUNT(*) FROM reconcile_actions \
                       WHERE run_id = $6 AND status = $7) \
                     WHERE id = $8 AND status = $9",
                )?)
                .bind(RunStatus::Failed.as_str())
                .bind(now)
                .bind(run.id)
                .bind(run.id)
                .bind(ActionStatus::Succeeded.as_str())
                .bind(run.id)
                .bind(ActionStatus::Failed.as_str())
                .bind(run.id)
                .bind(RunStatus::Running.as_str())
                .execute(&mut *tx)
                .await
                .map_err(sql("close abandoned runs"))?;
                if done.rows_affected() == 1 {
                    sqlx::query(&q(
                        "UPDATE reconcile_actions SET status = $1, finished_at = $2, \
                         error = 'not finished: the process running it stopped' \
                         WHERE run_id = $3 AND status = $4",
                    )?)
                    .bind(ActionStatus::Skipped.as_str())
                    .bind(now)
                    .bind(run.id)
                    .bind(ActionStatus::Planned.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(sql("close abandoned runs"))?;
                }
                tx.commit().await.map_err(sql("close abandoned runs"))?;
            });
            closed += 1;
        }
        Ok(Ok(closed))
    }

    /// Record who runs `run_id`; its first heartbeat.
    pub async fn set_run_holder(&self, run_id: i64, holder: &str) -> Result<()> {
        let now = self.db_now().await?;
        with_pool!(self, pool, q => {
            sqlx::query(&q("UPDATE reconcile_runs SET holder = $1, heartbeat_at = $2 WHERE id = $3")?)
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

#[cfg(feature = "sqlite")]
async fn sqlite_now(pool: &sqlx::SqlitePool) -> std::result::Result<DateTime<Utc>, sqlx::Error> {
    let ms: i64 =
        sqlx::query_scalar("SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)")
            .fetch_one(pool)
            .await?;
    Ok(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

/// A holder's name for this process (and the `n`th context in it: tests
/// run several in one process, and each must tell its own lease from
/// another's): `host:pid#n`, for people, then what decides whether the
/// holder is alive: a random token of this process, the boot id and the
/// PID namespace. Replicas may share a hostname and a pid (cloned VMs,
/// containers with a fixed hostname), so a pid is only evidence within
/// the same boot and PID namespace.
pub fn holder_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static CONTEXTS: AtomicU64 = AtomicU64::new(0);
    static PROCESS: OnceLock<String> = OnceLock::new();
    let n = CONTEXTS.fetch_add(1, Ordering::Relaxed) + 1;
    let process = PROCESS.get_or_init(|| {
        let token: u64 = rand::random();
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|b| b.trim().to_string())
            .unwrap_or_default();
        let pidns = std::fs::read_link("/proc/self/ns/pid")
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default();
        let host: String = hostname().chars().take(64).collect();
        format!(
            "{host}:{} token={token:016x} boot={boot} pidns={pidns}",
            std::process::id()
        )
    });
    // `#n` goes after the pid, before the identity fields.
    match process.split_once(' ') {
        Some((who, rest)) => format!("{who}#{n} {rest}"),
        None => format!("{process}#{n}"),
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "rosterd".into())
}

/// The parts of a [`holder_name`] that decide liveness.
#[derive(Debug, PartialEq)]
struct Holder<'a> {
    pid: &'a str,
    token: &'a str,
    boot: &'a str,
    pidns: &'a str,
}

impl<'a> Holder<'a> {
    /// `None` for a name without the identity fields (an older rosterd's,
    /// or another tool's): its liveness cannot be told.
    fn parse(name: &'a str) -> Option<Holder<'a>> {
        let mut parts = name.split(' ');
        let who = parts.next()?.split('#').next()?;
        let (_, pid) = who.rsplit_once(':')?;
        let mut field = |key: &str| {
            parts
                .next()?
                .strip_prefix(key)
                .and_then(|v| v.strip_prefix('='))
                .filter(|v| !v.is_empty())
        };
        let h = Holder {
            pid,
            token: field("token")?,
            boot: field("boot")?,
            pidns: field("pidns")?,
        };
        h.pid.parse::<u32>().ok()?;
        Some(h)
    }
}

/// Is the process behind `old` provably gone? Only when it ran in our boot
/// and our PID namespace (its pid then means what ours does) and is not
/// this process (another token): its pid has no `/proc` entry, or is our
/// own pid. Anything else waits for the lease or the heartbeat.
fn holder_is_dead(old: &str, me: &str) -> bool {
    let (Some(old), Some(me)) = (Holder::parse(old), Holder::parse(me)) else {
        return false;
    };
    if old.token == me.token || old.boot != me.boot || old.pidns != me.pidns {
        return false;
    }
    old.pid == me.pid
        || (std::path::Path::new("/proc/self").exists()
            && !std::path::Path::new(&format!("/proc/{}", old.pid)).exists())
}

/// Verify the lock and beat the heart every [`KEEPALIVE`] until a loss.
async fn keep_alive(l: Leadership) {
    loop {
        tokio::time::sleep(KEEPALIVE).await;
        if l.heartbeat().await.is_err() {
            return;
        }
    }
}

impl Probe {
    /// Is the lock still ours? With `beat` (the keep-alive: the run and its
    /// holder), also renew the SQLite lease and write the run's heartbeat,
    /// on the lock's own connection where there is one. A heartbeat that
    /// finds its run no longer `running` as ours (a successor closed it) is
    /// a loss too.
    async fn check(&mut self, beat: Option<(i64, &str)>) -> std::result::Result<bool, sqlx::Error> {
        #[cfg(feature = "sqlite")]
        const BEAT: &str = "UPDATE reconcile_runs SET heartbeat_at = $1 \
             WHERE id = $2 AND status = $3 AND holder = $4";
        match self {
            #[cfg(feature = "postgres")]
            Probe::Postgres(conn) => {
                let (ours,): (bool,) = sqlx::query_as(PG_LOCK_HELD)
                    .bind(PG_LOCK_KEY)
                    .fetch_one(&mut *conn)
                    .await?;
                match (ours, beat) {
                    (true, Some((id, holder))) => Ok(sqlx::query(
                        "UPDATE reconcile_runs SET heartbeat_at = now() \
                         WHERE id = $1 AND status = $2 AND holder = $3",
                    )
                    .bind(id)
                    .bind(RunStatus::Running.as_str())
                    .bind(holder)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
                        == 1),
                    _ => Ok(ours),
                }
            }
            #[cfg(feature = "mysql")]
            Probe::MySql(conn) => {
                let (ours,): (Option<i64>,) = sqlx::query_as(&format!(
                    "SELECT IS_USED_LOCK({MYSQL_LOCK_NAME}) = CONNECTION_ID()"
                ))
                .fetch_one(&mut *conn)
                .await?;
                match (ours == Some(1), beat) {
                    // sqlx asks MySQL for matched rows (FOUND_ROWS), so a
                    // heartbeat in the same microsecond still counts.
                    (true, Some((id, holder))) => Ok(sqlx::query(
                        "UPDATE reconcile_runs SET heartbeat_at = CURRENT_TIMESTAMP(6) \
                         WHERE id = ? AND status = ? AND holder = ?",
                    )
                    .bind(id)
                    .bind(RunStatus::Running.as_str())
                    .bind(holder)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
                        == 1),
                    (ours, _) => Ok(ours),
                }
            }
            #[cfg(feature = "sqlite")]
            Probe::Sqlite { pool, holder } => {
                let pool = &*pool;
                if beat.is_none() {
                    // Before a write: a read, which never waits on writers.
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM rosterd_lock WHERE name = $1 AND holder = $2",
                    )
                    .bind(LEASE_NAME)
                    .bind(holder.as_str())
                    .fetch_one(pool)
                    .await?;
                    return Ok(n == 1);
                }
                let now = sqlite_now(pool).await?;
                // Renewal only as the holder: a lease another process took
                // over is not ours to extend.
                let renewed = sqlx::query(
                    "UPDATE rosterd_lock SET expires_at = $1 WHERE name = $2 AND holder = $3",
                )
                .bind(now.timestamp() + STALE_AFTER.as_secs() as i64)
                .bind(LEASE_NAME)
                .bind(holder.as_str())
                .execute(pool)
                .await?
                .rows_affected()
                    == 1;
                match (renewed, beat) {
                    (true, Some((id, run_holder))) => Ok(sqlx::query(BEAT)
                        .bind(now)
                        .bind(id)
                        .bind(RunStatus::Running.as_str())
                        .bind(run_holder)
                        .execute(pool)
                        .await?
                        .rows_affected()
                        == 1),
                    _ => Ok(renewed),
                }
            }
        }
    }

    async fn release(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Probe::Postgres(mut conn) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_LOCK_KEY)
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            #[cfg(feature = "mysql")]
            Probe::MySql(mut conn) => {
                sqlx::query(&format!("SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            }
            #[cfg(feature = "sqlite")]
            Probe::Sqlite { pool, holder } => {
                sqlx::query("DELETE FROM rosterd_lock WHERE name = $1 AND holder = $2")
                    .bind(LEASE_NAME)
                    .bind(holder)
                    .execute(&pool)
                    .await?;
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

    /// Check the lock and write the attached run's heartbeat (what the
    /// keep-alive does every [`KEEPALIVE`]).
    pub async fn heartbeat(&self) -> std::result::Result<(), LeadershipLost> {
        self.check(true).await
    }

    /// The run is about to be closed: no heartbeat is written for it from
    /// now on, once one in flight is done. A heartbeat after the close would
    /// find the run no longer `running` and take that for a lost lock.
    pub async fn end_heartbeat(&self) {
        let _probe = self.0.probe.lock().await;
        *self.0.run_id.lock().unwrap_or_else(|p| p.into_inner()) = None;
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
        // The run is read with the probe held, so that `end_heartbeat`
        // (which takes it) leaves no heartbeat in flight for a closed run.
        let mut probe = self.0.probe.lock().await;
        let run_id = beat
            .then(|| *self.0.run_id.lock().unwrap_or_else(|p| p.into_inner()))
            .flatten();
        let beat = run_id.map(|id| (id, self.0.holder.as_str()));
        let Some(p) = probe.as_mut() else {
            return Err(self.lose("the lock was released".into()));
        };
        let why = match tokio::time::timeout(CHECK_TIMEOUT, p.check(beat)).await {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => "the lock, or its run, is no longer held by this process".to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: &str = "8d6f0a4e-1c1b-4d3a-9f57-0a5c2b7e9d11";

    fn name(pid: u32, n: u32, token: &str, pidns: &str) -> String {
        format!("web:{pid}#{n} token={token} boot={BOOT} pidns={pidns}")
    }

    #[test]
    fn a_pid_is_evidence_only_in_the_same_boot_and_namespace() {
        let gone = u32::MAX - 1; // no such pid
        let me = name(std::process::id(), 1, "aaaa", "pid:[1]");
        // Another namespace or boot (a clone, a container): never dead.
        assert!(!holder_is_dead(&name(gone, 1, "bbbb", "pid:[2]"), &me));
        let other_boot = name(gone, 1, "bbbb", "pid:[1]").replace(BOOT, "other");
        assert!(!holder_is_dead(&other_boot, &me));
        // Same boot and namespace, pid gone: dead.
        assert!(holder_is_dead(&name(gone, 1, "bbbb", "pid:[1]"), &me));
        // Our pid under another token: an earlier process, gone.
        assert!(holder_is_dead(
            &name(std::process::id(), 1, "bbbb", "pid:[1]"),
            &me
        ));
        // This process (our token, another context): alive.
        assert!(!holder_is_dead(
            &name(std::process::id(), 2, "aaaa", "pid:[1]"),
            &me
        ));
        // Names without the identity fields cannot be told.
        assert!(!holder_is_dead(&format!("web:{gone}#1"), &me));
        assert!(!holder_is_dead(
            &format!("web:{gone}#1"),
            &format!("web:{}#1", std::process::id())
        ));
    }

    #[test]
    fn holder_names_differ_per_context_and_parse() {
        let (a, b) = (holder_name(), holder_name());
        assert_ne!(a, b);
        let (pa, pb) = (Holder::parse(&a).unwrap(), Holder::parse(&b).unwrap());
        assert_eq!(pa, pb, "one process: the same identity");
        assert_eq!(pa.pid, std::process::id().to_string());
    }
}
