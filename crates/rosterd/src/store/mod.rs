//! Storage: the employees table (read, and `auth0_user_id` written back) and
//! rosterd's own tables (runs, actions, mapping audit, PodFactory mapping,
//! leader lock).
//!
//! One narrow type, [`Store`], over one pool per backend. The SQL is written
//! once with `$N` placeholders, which PostgreSQL and SQLite both accept, and
//! [`with_pool!`] expands the same code for each pool, so the backends cannot
//! drift apart. MySQL/MariaDB takes `?` instead: where that is the only
//! difference and each `$N` appears once, in order, [`to_mysql`] rewrites the
//! text; a query that needs other syntax there (no `RETURNING`, no
//! `ON CONFLICT`) carries an explicit MySQL text next to the shared one.
//! Migrations are per backend under `migrations/`, because DDL is where the
//! dialects really differ.
//! Each backend is a cargo feature (`postgres`, `mysql`, `sqlite`, all on
//! by default): a variant, its `with_pool!` arm, its URL scheme and its
//! migrations exist only when it is built.
//!
//! One file per aggregate: `runs` (runs, actions, held decisions),
//! `stored_plan` (the plan as stored, versioned), `mappings` (mapping
//! audit, PodFactory links, manual mappings), `decisions` (PodFactory users
//! that are not employees, acknowledged findings), `admin` (the admin audit),
//! `employees` (the employees source), `changes` (the change feed),
//! `latency` (when applied actions were first planned), `pause` (paused
//! enforcement, and what a rollback may block) and `lock` (the leader
//! lock); `url` parses database URLs and `migrations`
//! applies `migrations/`. This file holds the type, connecting, errors and
//! the SQL helpers they share.

mod admin;
mod changes;
mod decisions;
mod employees;
mod latency;
mod lock;
mod mappings;
mod match_memo;
mod migrations;
mod pause;
mod runs;
mod sessions;
mod stored_plan;
mod url;

pub use changes::ChangeFeed;
pub use decisions::{FindingAck, NonEmployee};
#[cfg(feature = "mysql")]
pub(crate) use employees::read_only_mysql;
#[cfg(feature = "postgres")]
pub(crate) use employees::read_only_pg;
#[cfg(feature = "sqlite")]
pub(crate) use employees::read_only_sqlite;
pub use employees::{Loaded, PolicyCells, Unreadable, WriteBack, EMPLOYEES_QUERY};
pub use latency::AppliedAction;
pub use lock::{holder_name, LeaderLock, Leadership, LeadershipLost, RunningRun};
pub use mappings::{
    AuditRow, AuditState, CurrentLink, LinkChanges, LinkRow, ManualMapping, MappingAudit,
    PodFactoryLink, PodFactoryLinkHistory,
};
pub use pause::{CreatedAccount, Pause};
pub use runs::{ActionRecord, HeldDecision, RunEnd, RunRecord};
pub use stored_plan::{StoredPlan, StoredPlanError, CURRENT_VERSION as PLAN_VERSION};
pub(crate) use url::Options;
pub use url::{DbUrl, UrlError};

use crate::config::DatabaseSettings;
#[cfg(feature = "mysql")]
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgPool, PgPoolOptions};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::borrow::Cow;
use std::time::Duration;

#[cfg(not(any(feature = "postgres", feature = "mysql", feature = "sqlite")))]
compile_error!(
    "rosterd needs at least one database backend: the feature postgres, mysql or sqlite"
);

rosterd_core::vocabulary! {
    /// Which SQL dialect a store speaks.
    pub enum Backend("database backend") {
        Postgres => "PostgreSQL",
        Sqlite => "SQLite",
        /// MySQL and MariaDB.
        MySql => "MySQL/MariaDB",
    }
}

/// A pool of one of the backends built in (cargo features `postgres`,
/// `mysql`, `sqlite`).
#[derive(Debug, Clone)]
pub enum Store {
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    /// MySQL or MariaDB (`mysql://` or `mariadb://`).
    #[cfg(feature = "mysql")]
    MySql(MySqlPool),
}

/// Expand `$body` once per backend with `$pool` bound to that backend's pool.
///
/// The SQL is written with `$N` placeholders. In the `$pool, $q =>` form,
/// `$q(text)?` gives the text this pool takes: the text itself on PostgreSQL
/// and SQLite, `$N` → `?` on MySQL (see [`to_mysql`]: only for SQL whose
/// placeholders each appear once, in ascending order, else an error). A query that needs
/// different syntax on MySQL uses the `mysql $my =>` form: `$body` on
/// PostgreSQL and SQLite, `$mysql_body` (with its own explicit text) on MySQL.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr, mysql $my:ident => $mysql_body:expr) => {
        match $store {
            #[cfg(feature = "postgres")]
            $crate::store::Store::Postgres($pool) => $body,
            #[cfg(feature = "sqlite")]
            $crate::store::Store::Sqlite($pool) => $body,
            #[cfg(feature = "mysql")]
            $crate::store::Store::MySql($my) => $mysql_body,
        }
    };
    ($store:expr, $pool:ident, $q:ident => $body:expr) => {
        match $store {
            #[cfg(feature = "postgres")]
            $crate::store::Store::Postgres($pool) => {
                let $q = $crate::store::as_written;
                $body
            }
            #[cfg(feature = "sqlite")]
            $crate::store::Store::Sqlite($pool) => {
                let $q = $crate::store::as_written;
                $body
            }
            #[cfg(feature = "mysql")]
            $crate::store::Store::MySql($pool) => {
                let $q = $crate::store::to_mysql;
                $body
            }
        }
    };
    ($store:expr, $pool:ident => $body:expr) => {
        with_pool!($store, $pool, _q => $body)
    };
}
pub(crate) use with_pool;

/// A transaction that writes. On SQLite it takes the write lock at `BEGIN
/// IMMEDIATE`, waiting out another writer for the busy timeout: a deferred
/// transaction that read first fails at its first write, at once and
/// whatever the timeout ("database is locked"), when another connection
/// (the leader lock's renewal, an admin's decision) wrote in between.
pub(crate) async fn begin_write<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
) -> sqlx::Result<sqlx::Transaction<'static, DB>> {
    if DB::NAME == "SQLite" {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// SQL as written, `$N` placeholders and all (PostgreSQL, SQLite).
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) fn as_written(sql: &str) -> Result<Cow<'_, str>> {
    Ok(Cow::Borrowed(sql))
}

/// `$first, $first+1, …` (`n` of them).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($first, …), (…)`: `rows` rows of `cols` placeholders each.
pub(crate) fn row_placeholders(first: usize, rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(first + r * cols, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same SQL with `?` placeholders, for MySQL. `?` is positional, so this
/// is right only when `$1`, `$2`, … each appear once and in that order; a
/// query that reuses a placeholder binds the value again under a new number
/// or has an explicit MySQL text. Anything else is an error, in every build:
/// MySQL would bind the values to the wrong columns.
#[cfg(feature = "mysql")]
pub(crate) fn to_mysql(sql: &str) -> Result<Cow<'_, str>> {
    if !sql.contains('$') {
        return Ok(Cow::Borrowed(sql));
    }
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut found = 0u32;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                found = found.saturating_mul(10).saturating_add(d);
                chars.next();
            }
            if found != expected {
                return Err(StoreError::Placeholders(PlaceholderOrder {
                    expected,
                    found,
                    sql: sql.to_string(),
                }));
            }
            expected += 1;
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Ok(Cow::Owned(out))
}

/// A query MySQL's positional `?` would misbind: a `$N` out of order or
/// used twice. A bug in rosterd, named with its SQL (values are bound, never
/// in the text).
#[cfg(feature = "mysql")]
#[derive(Debug, thiserror::Error)]
#[error(
    "query for MySQL: placeholder ${found} where ${expected} was expected \
     (each $N must appear once, in order): {sql}"
)]
pub struct PlaceholderOrder {
    expected: u32,
    found: u32,
    sql: String,
}

/// Each variant's message carries its cause once and has no `source()`:
/// sqlx's own errors repeat their source in their text, so a chain printer
/// would say it two or three times.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {what}: {}{}", cause_text(.cause), migrate_hint(.cause))]
    Sql {
        what: &'static str,
        cause: sqlx::Error,
    },
    #[error("database connect to {target}: {}", cause_text(.cause))]
    Connect { target: String, cause: sqlx::Error },
    #[error("database migration failed: {cause}")]
    Migrate { cause: sqlx::migrate::MigrateError },
    #[error("{0}")]
    Url(UrlError),
    #[cfg(feature = "mysql")]
    #[error("{0}")]
    Placeholders(PlaceholderOrder),
    /// The employees source as configured cannot be read or written.
    #[error("{0}")]
    Source(String),
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(cause: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate { cause }
    }
}

fn sql(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |cause| StoreError::Sql { what, cause }
}

/// The connect error to show. A pool that could not open a connection within
/// its timeout says only "pool timed out"; one direct attempt tells why
/// (refused, unknown host, bad password).
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn connect_error<O>(url: &DbUrl, e: sqlx::Error, opts: O, timeout: Duration) -> StoreError
where
    O: sqlx::ConnectOptions,
    O::Connection: Sized,
{
    let cause = match e {
        sqlx::Error::PoolTimedOut => match tokio::time::timeout(timeout, opts.connect()).await {
            Ok(Err(direct)) => direct,
            _ => sqlx::Error::PoolTimedOut,
        },
        e => e,
    };
    StoreError::Connect {
        target: url.target().to_string(),
        cause,
    }
}

/// The database's own words, without sqlx's "error returned from database:"
/// wrapper.
fn cause_text(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) => io.to_string(),
        e => e.to_string(),
    }
}

/// rosterd's own tables (see migrations/): missing means not migrated.
const ROSTERD_TABLES: [&str; 14] = [
    "reconcile_runs",
    "reconcile_actions",
    "auth0_employee_mapping_audit",
    "employee_podfactory_mapping",
    "podfactory_manual_mappings",
    "admin_audit",
    "notification_log",
    "rosterd_change_marker",
    "rosterd_lock",
    "podfactory_non_employees",
    "finding_acks",
    "finding_first_seen",
    "console_signouts",
    "enforcement_pause",
];

/// "; run `rosterd migrate`" when the error is one of rosterd's tables
/// missing (PostgreSQL 42P01, MySQL 1146 = SQLSTATE 42S02, SQLite "no such
/// table").
fn migrate_hint(e: &sqlx::Error) -> &'static str {
    let ours = |db: &dyn sqlx::error::DatabaseError| {
        ROSTERD_TABLES.iter().any(|t| db.message().contains(t))
    };
    match e {
        sqlx::Error::Database(db) if table_missing(e) && ours(db.as_ref()) => {
            "; run `rosterd migrate`"
        }
        _ => "",
    }
}

/// The error says a table does not exist.
fn table_missing(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    matches!(db.code().as_deref(), Some("42P01") | Some("42S02"))
        || db.message().contains("no such table")
}

type Result<T> = std::result::Result<T, StoreError>;

impl Store {
    pub async fn connect(s: &DatabaseSettings) -> Result<Store> {
        Self::open(s, true).await
    }

    /// Connect without creating anything (a SQLite file must exist): for
    /// checks that must leave no trace.
    pub async fn connect_existing(s: &DatabaseSettings) -> Result<Store> {
        Self::open(s, false).await
    }

    // `create` is SQLite's alone (a server database is never created).
    #[cfg_attr(not(feature = "sqlite"), allow(unused_variables))]
    async fn open(s: &DatabaseSettings, create: bool) -> Result<Store> {
        let timeout = Duration::from_secs(s.connect_timeout_secs);
        let url =
            DbUrl::parse("database.url", &s.url, s.password.as_ref()).map_err(StoreError::Url)?;
        match url.options() {
            #[cfg(feature = "postgres")]
            Options::Postgres(opts) => {
                let pool = PgPoolOptions::new()
                    .max_connections(s.max_connections)
                    .acquire_timeout(timeout)
                    .connect_with(opts.clone())
                    .await;
                let pool = match pool {
                    Ok(pool) => pool,
                    Err(e) => return Err(connect_error(&url, e, opts.clone(), timeout).await),
                };
                Ok(Store::Postgres(pool))
            }
            #[cfg(feature = "sqlite")]
            Options::Sqlite(opts) => {
                let opts = opts
                    .clone()
                    .create_if_missing(create)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(timeout)
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(s.max_connections)
                    .acquire_timeout(timeout)
                    .connect_with(opts)
                    .await
                    .map_err(|cause| StoreError::Connect {
                        target: url.target().to_string(),
                        cause,
                    })?;
                Ok(Store::Sqlite(pool))
            }
            #[cfg(feature = "mysql")]
            Options::MySql(opts) => {
                let pool = MySqlPoolOptions::new()
                    .max_connections(s.max_connections)
                    .acquire_timeout(timeout)
                    .connect_with(opts.clone())
                    .await;
                let pool = match pool {
                    Ok(pool) => pool,
                    Err(e) => return Err(connect_error(&url, e, opts.clone(), timeout).await),
                };
                Ok(Store::MySql(pool))
            }
        }
    }

    /// Bind parameters per multi-row statement. PostgreSQL and MySQL take
    /// 65,535 and parse a long statement in linear time. SQLite allows
    /// 32,766, but its parser looks each `$N` up among the names seen so far
    /// (and sqlx asks each one's name back), so a statement costs the square
    /// of its parameters: 30,000 a statement made recording 100,000
    /// PodFactory links take a minute of CPU.
    pub(crate) fn max_binds(&self) -> usize {
        match self.backend() {
            Backend::Sqlite => 1_000,
            Backend::Postgres | Backend::MySql => 30_000,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "postgres")]
            Store::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "sqlite")]
            Store::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "mysql")]
            Store::MySql(_) => Backend::MySql,
        }
    }
}

impl Store {
    /// Is the database answering?
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await.map_err(sql("ping"))?;
        });
        Ok(())
    }
}

#[cfg(all(test, feature = "mysql"))]
mod tests {
    use super::*;

    #[test]
    fn to_mysql_turns_ordered_placeholders_into_question_marks() {
        assert_eq!(
            to_mysql(
                "UPDATE t SET a = $1, b = $2 WHERE id IN ($3, $4, $5, $6, $7, $8, $9, $10, $11)"
            )
            .unwrap(),
            "UPDATE t SET a = ?, b = ? WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        assert!(matches!(to_mysql("SELECT 1"), Ok(Cow::Borrowed(_))));
    }

    /// In every build, not only under debug assertions.
    #[test]
    fn to_mysql_refuses_a_reused_placeholder() {
        let e = to_mysql("SELECT * FROM t WHERE ($1 IS NULL OR a = $1)").unwrap_err();
        assert!(
            e.to_string().contains(
                "placeholder $1 where $2 was expected (each $N must appear once, in order)"
            ),
            "{e}"
        );
    }

    #[test]
    fn to_mysql_refuses_placeholders_out_of_order() {
        let e = to_mysql("UPDATE t SET a = $2 WHERE id = $1").unwrap_err();
        assert!(matches!(
            e,
            StoreError::Placeholders(PlaceholderOrder {
                expected: 1,
                found: 2,
                ..
            })
        ));
        assert!(to_mysql("SELECT $1, $2, $4").is_err());
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod write_transactions {
    /// A writing transaction that reads first, while another connection
    /// writes: with a deferred `BEGIN` its own write failed at once
    /// ("database is locked"); with [`super::begin_write`] the other waits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_transaction_that_reads_first_survives_another_writer() {
        let dir = tempfile::tempdir().unwrap();
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (who TEXT)")
            .execute(&pool)
            .await
            .unwrap();

        let mut tx = super::begin_write(&pool).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 0);
        let other = tokio::spawn({
            let pool = pool.clone();
            async move {
                sqlx::query("INSERT INTO t VALUES ('other')")
                    .execute(&pool)
                    .await
            }
        });
        // Let the other writer try while this transaction is open.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        sqlx::query("INSERT INTO t VALUES ('reader')")
            .execute(&mut *tx)
            .await
            .expect("the transaction's own write");
        tx.commit().await.unwrap();
        other.await.unwrap().expect("the other writer waited");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 2);
    }
}
