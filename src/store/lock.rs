//! One leader at a time, across processes and replicas.
//!
//! PostgreSQL: a session advisory lock on a connection held for the whole
//! run; if the process dies the connection closes and the lock goes with it.
//! SQLite: a lease row with an expiry, since SQLite has no session locks; a
//! dead holder's lease lapses after [`LEASE`].
//! MySQL/MariaDB: `GET_LOCK` on a held connection, like PostgreSQL's
//! advisory lock. Its names are server-wide, so the name carries the
//! database's: rosterd instances on different databases do not contend.

use super::{sql, Result, Store};
use chrono::Utc;
use sqlx::pool::PoolConnection;
use sqlx::{MySql, Postgres};

/// Advisory lock key: "rosterd" in ASCII, so it is recognisable in pg_locks.
const PG_LOCK_KEY: i64 = 0x0072_6f73_7465_7264;
const LEASE_NAME: &str = "reconcile";
/// Longer than any run should take; a run that outlives it risks overlap.
const LEASE: i64 = 30 * 60;
/// The MySQL lock name: "rosterd:" and the database's name.
const MYSQL_LOCK_NAME: &str = "CONCAT('rosterd:', DATABASE())";

pub struct LeaderLock {
    inner: Inner,
}

enum Inner {
    Postgres(Option<PoolConnection<Postgres>>),
    MySql(Option<PoolConnection<MySql>>),
    Sqlite { store: Store, holder: String },
}

impl Store {
    /// Become the leader, or `None` if another run holds the lock.
    pub async fn try_lock(&self, holder: &str) -> Result<Option<LeaderLock>> {
        match self {
            Store::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(sql("acquire lock"))?;
                let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(PG_LOCK_KEY)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(sql("acquire lock"))?;
                Ok(got.then(|| LeaderLock {
                    inner: Inner::Postgres(Some(conn)),
                }))
            }
            Store::MySql(pool) => {
                let mut conn = pool.acquire().await.map_err(sql("acquire lock"))?;
                // 1: ours; 0: held elsewhere; NULL: an error.
                let (got,): (Option<i64>,) =
                    sqlx::query_as(&format!("SELECT GET_LOCK({MYSQL_LOCK_NAME}, 0)"))
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(sql("acquire lock"))?;
                Ok((got == Some(1)).then(|| LeaderLock {
                    inner: Inner::MySql(Some(conn)),
                }))
            }
            Store::Sqlite(pool) => {
                let now = Utc::now().timestamp();
                let done = sqlx::query(
                    "INSERT INTO rosterd_lock (name, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                     expires_at = excluded.expires_at WHERE rosterd_lock.expires_at < $4",
                )
                .bind(LEASE_NAME)
                .bind(holder)
                .bind(now + LEASE)
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
                        .bind(now + LEASE)
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
                Ok(got.then(|| LeaderLock {
                    inner: Inner::Sqlite {
                        store: self.clone(),
                        holder: holder.to_string(),
                    },
                }))
            }
        }
    }
}

/// Holders are `host:pid`. On Linux, a holder on our own host whose pid has
/// no `/proc` entry is dead; elsewhere we cannot tell and wait for the lease.
fn holder_is_dead(old: &str, me: &str) -> bool {
    let host = |h: &str| h.rsplit_once(':').map(|(host, _)| host.to_string());
    let Some((_, pid)) = old.rsplit_once(':') else {
        return false;
    };
    host(old) == host(me)
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl LeaderLock {
    pub async fn release(mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Postgres(conn) => {
                if let Some(mut c) = conn.take() {
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(PG_LOCK_KEY)
                        .execute(&mut *c)
                        .await
                        .map_err(sql("release lock"))?;
                }
            }
            Inner::MySql(conn) => {
                if let Some(mut c) = conn.take() {
                    sqlx::query(&format!("SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
                        .execute(&mut *c)
                        .await
                        .map_err(sql("release lock"))?;
                }
            }
            Inner::Sqlite { store, holder } => {
                if let Store::Sqlite(pool) = store {
                    sqlx::query("DELETE FROM rosterd_lock WHERE name = $1 AND holder = $2")
                        .bind(LEASE_NAME)
                        .bind(holder.as_str())
                        .execute(&*pool)
                        .await
                        .map_err(sql("release lock"))?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        // Not released (a panic or an early return): close the PostgreSQL
        // or MySQL connection rather than return it to the pool still
        // holding the lock. A SQLite lease lapses by itself.
        match &mut self.inner {
            Inner::Postgres(conn) => {
                if let Some(c) = conn.take() {
                    drop(c.detach());
                }
            }
            Inner::MySql(conn) => {
                if let Some(c) = conn.take() {
                    drop(c.detach());
                }
            }
            Inner::Sqlite { .. } => {}
        }
    }
}
