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

mod changes;
mod employees;
mod lock;

pub use changes::ChangeFeed;
pub(crate) use employees::{read_only_mysql, read_only_pg, read_only_sqlite};
pub use employees::{Loaded, Unreadable, WriteBack};
pub use lock::{holder_name, LeaderLock, Leadership, LeadershipLost, RunningRun};

use crate::config::DatabaseSettings;
use crate::model::{Auth0UserId, EmployeeId, RawEmployee};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Executor, MySqlPool, PgPool, Row, SqlitePool};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
    MySql,
}

#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
    /// MySQL or MariaDB (`mysql://` or `mariadb://`).
    MySql(MySqlPool),
}

/// Expand `$body` once per backend with `$pool` bound to that backend's pool.
///
/// The SQL is written with `$N` placeholders. In the `$pool, $q =>` form,
/// `$q(text)` gives the text this pool takes: the text itself on PostgreSQL
/// and SQLite, `$N` → `?` on MySQL (see [`to_mysql`]: only for SQL whose
/// placeholders each appear once, in ascending order). A query that needs
/// different syntax on MySQL uses the `mysql $my =>` form: `$body` on
/// PostgreSQL and SQLite, `$mysql_body` (with its own explicit text) on MySQL.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr, mysql $my:ident => $mysql_body:expr) => {
        match $store {
            $crate::store::Store::Postgres($pool) => $body,
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::MySql($my) => $mysql_body,
        }
    };
    ($store:expr, $pool:ident, $q:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Postgres($pool) => {
                let $q = $crate::store::as_written;
                $body
            }
            $crate::store::Store::Sqlite($pool) => {
                let $q = $crate::store::as_written;
                $body
            }
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

/// SQL as written, `$N` placeholders and all (PostgreSQL, SQLite).
pub(crate) fn as_written(sql: &str) -> Cow<'_, str> {
    Cow::Borrowed(sql)
}

/// The same SQL with `?` placeholders, for MySQL. `?` is positional, so this
/// is right only when `$1`, `$2`, … each appear once and in that order; a
/// query that reuses a placeholder binds the value again under a new number
/// or has an explicit MySQL text. Checked in debug builds (and so by every
/// test run on MySQL).
pub(crate) fn to_mysql(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut n = 0u32;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d;
                chars.next();
            }
            debug_assert_eq!(
                n, expected,
                "to_mysql: placeholders must each appear once, in order: {sql}"
            );
            expected += 1;
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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
    #[error("database url: {0}")]
    Url(String),
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
async fn connect_error<O>(url: &str, e: sqlx::Error, opts: O, timeout: Duration) -> StoreError
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
        target: connect_target(url),
        cause,
    }
}

/// `host:port/database` of a database URL: no user, no password, no options.
fn connect_target(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or("");
    match rest.rsplit_once('@') {
        Some((_, host)) => host.to_string(),
        None => rest.to_string(),
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
const ROSTERD_TABLES: [&str; 9] = [
    "reconcile_runs",
    "reconcile_actions",
    "auth0_employee_mapping_audit",
    "employee_podfactory_mapping",
    "podfactory_manual_mappings",
    "admin_audit",
    "notification_log",
    "rosterd_change_marker",
    "rosterd_lock",
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

/// The default employees query; `database.employees_query` replaces it for
/// a table whose columns are named otherwise (alias them to these names).
pub const EMPLOYEES_QUERY: &str = "SELECT id, full_name, email, department, workspace, role_code, \
     is_active, auth0_user_id FROM employees";

/// A run as stored in `reconcile_runs`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RunRecord {
    pub id: i64,
    pub trigger: String,
    pub mode: String,
    pub dry_run: bool,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub employees_seen: Option<i64>,
    pub auth0_users_seen: Option<i64>,
    pub actions_planned: i64,
    pub actions_succeeded: i64,
    pub actions_failed: i64,
    pub findings_count: i64,
    pub plan: Option<String>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub held_reason: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
}

/// A person's decision on a held run.
#[derive(Debug, Clone, Copy)]
pub enum HeldDecision<'a> {
    Approved,
    /// The sentence recorded as the run's error.
    Rejected {
        note: &'a str,
    },
}

/// How a run ended, written once at its end.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    pub status: String,
    pub employees_seen: Option<i64>,
    pub auth0_users_seen: Option<i64>,
    pub actions_planned: i64,
    pub actions_succeeded: i64,
    pub actions_failed: i64,
    pub findings_count: i64,
    pub plan: Option<String>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub held_reason: Option<String>,
}

/// One planned action, as stored in `reconcile_actions`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ActionRecord {
    pub seq: i64,
    pub kind: String,
    pub employee_id: Option<i64>,
    pub auth0_user_id: Option<String>,
    pub reason: String,
    /// The action as JSON (no password: the plan never holds one).
    pub detail: String,
    /// `planned`, `succeeded`, `failed` or `skipped`.
    pub status: String,
    pub error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A row for `auth0_employee_mapping_audit`.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub employee_id: EmployeeId,
    pub auth0_user_id: Auth0UserId,
    pub productivity_email: String,
    pub podfactory_email: Option<String>,
    /// `name`, `email`, `manual` (the matcher), `created`, `stored_id` or
    /// `employee_id` (Auth0 links): the table's check constraint.
    pub matched_by: &'static str,
    /// The PodFactory matcher's verdict replaces `matched_by`; an Auth0
    /// link (create, link) leaves an existing one alone.
    pub from_matcher: bool,
}

impl Store {
    pub async fn connect(s: &DatabaseSettings) -> Result<Store> {
        Self::open(s, true).await
    }

    /// Connect without creating anything (a SQLite file must exist): for
    /// checks that must leave no trace.
    pub async fn connect_existing(s: &DatabaseSettings) -> Result<Store> {
        Self::open(s, false).await
    }

    async fn open(s: &DatabaseSettings, create: bool) -> Result<Store> {
        let timeout = Duration::from_secs(s.connect_timeout_secs);
        let scheme = s.url.split("://").next().unwrap_or("");
        match scheme {
            "postgres" | "postgresql" => {
                let mut opts = PgConnectOptions::from_str(&s.url)
                    .map_err(|e| StoreError::Url(e.to_string()))?;
                if let Some(p) = &s.password {
                    opts = opts.password(p.expose());
                }
                let pool = PgPoolOptions::new()
                    .max_connections(s.max_connections)
                    .acquire_timeout(timeout)
                    .connect_with(opts.clone())
                    .await;
                let pool = match pool {
                    Ok(pool) => pool,
                    Err(e) => return Err(connect_error(&s.url, e, opts, timeout).await),
                };
                Ok(Store::Postgres(pool))
            }
            "sqlite" => {
                let opts = SqliteConnectOptions::from_str(&s.url)
                    .map_err(|e| StoreError::Url(e.to_string()))?
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
                        target: connect_target(&s.url),
                        cause,
                    })?;
                Ok(Store::Sqlite(pool))
            }
            "mysql" | "mariadb" => {
                let url = s.url.replacen("mariadb://", "mysql://", 1);
                let mut opts = MySqlConnectOptions::from_str(&url)
                    .map_err(|e| StoreError::Url(e.to_string()))?;
                if let Some(p) = &s.password {
                    opts = opts.password(p.expose());
                }
                let pool = MySqlPoolOptions::new()
                    .max_connections(s.max_connections)
                    .acquire_timeout(timeout)
                    .connect_with(opts.clone())
                    .await;
                let pool = match pool {
                    Ok(pool) => pool,
                    Err(e) => return Err(connect_error(&s.url, e, opts, timeout).await),
                };
                Ok(Store::MySql(pool))
            }
            other => Err(StoreError::Url(format!(
                "unsupported scheme {other:?} (use postgres://, mysql://, mariadb:// or sqlite://)"
            ))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Postgres(_) => Backend::Postgres,
            Store::Sqlite(_) => Backend::Sqlite,
            Store::MySql(_) => Backend::MySql,
        }
    }

    /// Apply the migrations for this backend (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Postgres(pool) => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                add_missing_sqlite_employee_columns(pool).await?;
                sqlx::migrate!("../../migrations/sqlite").run(pool).await?
            }
            Store::MySql(pool) => sqlx::migrate!("../../migrations/mysql").run(pool).await?,
        }
        Ok(())
    }

    /// Migrate for these settings: with a custom `employees_query` the
    /// `employees` table is neither created nor altered (rosterd does not
    /// read it; a write-back table is the operator's to extend).
    pub async fn migrate_for(&self, db: &DatabaseSettings) -> Result<()> {
        if db.employees_query.is_none() {
            return self.migrate().await;
        }
        fn rosterd_only(mut m: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
            // The checksums stay those of the shipped files, which are what
            // the history records either way.
            for migration in m.migrations.to_mut() {
                migration.sql = employees::without_employees_table(&migration.sql).into();
            }
            m
        }
        match self {
            Store::Postgres(pool) => {
                rosterd_only(sqlx::migrate!("../../migrations/postgres"))
                    .run(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                rosterd_only(sqlx::migrate!("../../migrations/sqlite"))
                    .run(pool)
                    .await?
            }
            Store::MySql(pool) => {
                rosterd_only(sqlx::migrate!("../../migrations/mysql"))
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Every employees row the query returns, read-only, after checking its
    /// columns. Rows that cannot be read are described, not fatal; the
    /// caller validates the rest.
    pub async fn load_employee_rows(
        &self,
        query: Option<&str>,
        write_back: Option<&WriteBack>,
    ) -> Result<Loaded> {
        self.read_employees(query, write_back, None).await
    }

    /// The rows of the employees query, all of them or those with one id.
    async fn read_employees(
        &self,
        query: Option<&str>,
        write_back: Option<&WriteBack>,
        id: Option<i64>,
    ) -> Result<Loaded> {
        let q = query.unwrap_or(EMPLOYEES_QUERY);
        employees::check_columns(self, q, write_back.is_some())
            .await
            .map_err(StoreError::Source)?;
        let one;
        let q = match id {
            Some(_) => {
                one = employees::one_employee(q, self.backend());
                one.as_str()
            }
            None => q,
        };
        let load = sql("load employees");
        Ok(match self {
            Store::Postgres(p) => Loaded::from_rows(
                &employees::read_only_pg(p, q, id).await.map_err(load)?,
                employees::pg_cell,
            ),
            Store::MySql(p) => Loaded::from_rows(
                &employees::read_only_mysql(p, q, id).await.map_err(load)?,
                employees::mysql_cell,
            ),
            Store::Sqlite(p) => Loaded::from_rows(
                &employees::read_only_sqlite(p, q, id).await.map_err(load)?,
                employees::sqlite_cell,
            ),
        })
    }

    /// Every employees row; a row that cannot be read is an error (tools and
    /// tests; runs use [`Store::load_employee_rows`]).
    pub async fn load_employees(&self, query: Option<&str>) -> Result<Vec<RawEmployee>> {
        let loaded = self.load_employee_rows(query, None).await?;
        match loaded.unreadable.first() {
            Some(why) => Err(StoreError::Source(why.detail.clone())),
            None => Ok(loaded.rows),
        }
    }

    /// Have rosterd's migrations run on this database?
    pub async fn is_migrated(&self) -> Result<bool> {
        let probe = "SELECT 1 FROM _sqlx_migrations LIMIT 1";
        let answer = with_pool!(self, pool => {
            sqlx::query(probe).fetch_optional(pool).await.map(drop)
        });
        match answer {
            Ok(()) => Ok(true),
            Err(e) if table_missing(&e) => Ok(false),
            Err(e) => Err(sql("read migrations")(e)),
        }
    }

    /// Check the employees source without reading it: the query's columns,
    /// and the write-back target's. Says what will be written where.
    pub async fn check_employees_source(
        &self,
        db: &DatabaseSettings,
    ) -> std::result::Result<String, String> {
        let write_back = WriteBack::from_settings(db)?;
        let q = db.employees_query.as_deref().unwrap_or(EMPLOYEES_QUERY);
        employees::check_columns(self, q, write_back.is_some()).await?;
        let Some(w) = write_back else {
            return Ok("links are not written back (no database.employees_table): \
                 an account's app_metadata.employee_id is the link"
                .into());
        };
        let probe = w.probe_sql();
        let prepared = match self {
            Store::Postgres(p) => p.describe(&probe).await.map(drop),
            Store::MySql(p) => p.describe(&probe).await.map(drop),
            Store::Sqlite(p) => p.describe(&probe).await.map(drop),
        };
        prepared.map_err(|e| {
            format!(
                "database.employees_table: {}.{} with columns auth0_user_id and auth0_linked_at \
                 is where links are written, but it does not prepare: {e}",
                w.table, w.id_column
            )
        })?;
        Ok(format!(
            "links are written to {}.auth0_user_id and auth0_linked_at, by {}",
            w.table, w.id_column
        ))
    }

    /// Insert employees rows. Production never writes employees (beyond the
    /// auth0 columns); the demo, benchmarks and tests fill tables with it.
    pub async fn insert_employees(&self, rows: &[RawEmployee]) -> Result<()> {
        with_pool!(self, pool, q => {
            let mut tx = pool.begin().await.map_err(sql("insert employees"))?;
            for e in rows {
                sqlx::query(
                    &q("INSERT INTO employees (id, full_name, email, department, workspace, role_code, \
                     is_active, auth0_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                )
                .bind(e.id)
                .bind(&e.full_name)
                .bind(&e.email)
                .bind(&e.department)
                .bind(&e.workspace)
                .bind(&e.role_code)
                .bind(e.is_active)
                .bind(&e.auth0_user_id)
                .execute(&mut *tx)
                .await
                .map_err(sql("insert employees"))?;
            }
            tx.commit().await.map_err(sql("insert employees"))?;
        });
        Ok(())
    }

    /// Write the employee's Auth0 account back on its row. A write that
    /// touches no row is an error: the next run would not see the link.
    pub async fn set_employee_auth0_id(
        &self,
        target: &WriteBack,
        id: EmployeeId,
        user: &Auth0UserId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let text = target.update_sql();
        let done = with_pool!(self, pool, q => {
            sqlx::query(&q(&text))
                .bind(&user.0)
                .bind(now)
                .bind(id.0)
                .execute(pool)
                .await
                .map_err(sql("record auth0_user_id"))?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::Source(format!(
                "recording the account on {}: no row has {} = {id}",
                target.table, target.id_column
            )));
        }
        Ok(())
    }

    /// How many employees rows the last successful run read.
    pub async fn last_successful_employee_count(&self) -> Result<Option<i64>> {
        with_pool!(self, pool => {
            let row: Option<(Option<i64>,)> = sqlx::query_as(
                "SELECT employees_seen FROM reconcile_runs WHERE status IN ('succeeded', 'partial') ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .map_err(sql("read last run"))?;
            Ok(row.and_then(|r| r.0))
        })
    }

    pub async fn start_run(
        &self,
        trigger: &str,
        mode: &str,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        with_pool!(self, pool => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO reconcile_runs (trigger, mode, dry_run, status, started_at) \
                 VALUES ($1, $2, $3, 'running', $4) RETURNING id",
            )
            .bind(trigger)
            .bind(mode)
            .bind(dry_run)
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(sql("start run"))?;
            Ok(id)
        }, mysql pool => {
            // No RETURNING on MySQL 8; `trigger` is a reserved word there.
            let done = sqlx::query(
                "INSERT INTO reconcile_runs (`trigger`, mode, dry_run, status, started_at) \
                 VALUES (?, ?, ?, 'running', ?)",
            )
            .bind(trigger)
            .bind(mode)
            .bind(dry_run)
            .bind(now)
            .execute(pool)
            .await
            .map_err(sql("start run"))?;
            Ok(done.last_insert_id() as i64)
        })
    }

    /// Close a run with its outcome, by its holder: only while the run is
    /// still `running` and still `holder`'s (a run a successor closed as
    /// abandoned stays as closed). `false` if it was not.
    pub async fn finish_held_run(
        &self,
        id: i64,
        holder: &str,
        end: &RunEnd,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let text = "UPDATE reconcile_runs SET status = $1, finished_at = $2, employees_seen = $3, \
             auth0_users_seen = $4, actions_planned = $5, actions_succeeded = $6, \
             actions_failed = $7, findings_count = $8, plan = $9, summary = $10, error = $11, \
             held_reason = $12 WHERE id = $13 AND status = 'running' AND holder = $14";
        Ok(with_pool!(self, pool, q => {
            sqlx::query(&q(text))
                .bind(&end.status)
                .bind(now)
                .bind(end.employees_seen)
                .bind(end.auth0_users_seen)
                .bind(end.actions_planned)
                .bind(end.actions_succeeded)
                .bind(end.actions_failed)
                .bind(end.findings_count)
                .bind(&end.plan)
                .bind(&end.summary)
                .bind(&end.error)
                .bind(&end.held_reason)
                .bind(id)
                .bind(holder)
                .execute(pool)
                .await
                .map_err(sql("finish run"))?
                .rows_affected()
                == 1
        }))
    }

    /// Store a run's planned actions in one transaction.
    pub async fn insert_actions(&self, run_id: i64, actions: &[ActionRecord]) -> Result<()> {
        with_pool!(self, pool, q => {
            let mut tx = pool.begin().await.map_err(sql("record actions"))?;
            for a in actions {
                sqlx::query(
                    &q("INSERT INTO reconcile_actions (run_id, seq, kind, employee_id, auth0_user_id, \
                     reason, detail, status, error, finished_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
                )
                .bind(run_id)
                .bind(a.seq)
                .bind(&a.kind)
                .bind(a.employee_id)
                .bind(&a.auth0_user_id)
                .bind(&a.reason)
                .bind(&a.detail)
                .bind(&a.status)
                .bind(&a.error)
                .bind(a.finished_at)
                .execute(&mut *tx)
                .await
                .map_err(sql("record actions"))?;
            }
            tx.commit().await.map_err(sql("record actions"))?;
        });
        Ok(())
    }

    /// Record one action's outcome (and the account it ended up with).
    pub async fn finish_action(
        &self,
        run_id: i64,
        seq: i64,
        status: &str,
        auth0_user_id: Option<&Auth0UserId>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            sqlx::query(
                // Only while the run is `running`: the actions of a run a
                // successor closed as abandoned stay as it recorded them.
                &q("UPDATE reconcile_actions SET status = $1, error = $2, finished_at = $3, \
                 auth0_user_id = COALESCE($4, auth0_user_id) WHERE seq = $5 AND run_id = \
                 (SELECT id FROM reconcile_runs WHERE id = $6 AND status = 'running')"),
            )
            .bind(status)
            .bind(error)
            .bind(now)
            .bind(auth0_user_id.map(|u| u.0.as_str()))
            .bind(seq)
            .bind(run_id)
            .execute(pool)
            .await
            .map_err(sql("record action outcome"))?;
        });
        Ok(())
    }

    /// Insert or refresh a mapping audit row: `matched_at` keeps its first
    /// value, `last_verified` moves, a missing PodFactory email keeps the
    /// known one.
    pub async fn upsert_audit(&self, row: &AuditRow, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO auth0_employee_mapping_audit (employee_id, auth0_user_id, \
                 productivity_email, podfactory_email, matched_by, matched_at, last_verified, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $6) \
                 ON CONFLICT (employee_id, auth0_user_id) DO UPDATE SET \
                 productivity_email = excluded.productivity_email, \
                 podfactory_email = COALESCE(excluded.podfactory_email, auth0_employee_mapping_audit.podfactory_email), \
                 matched_by = CASE WHEN $7 THEN excluded.matched_by ELSE auth0_employee_mapping_audit.matched_by END, \
                 last_verified = excluded.last_verified",
            )
            .bind(row.employee_id.0)
            .bind(&row.auth0_user_id.0)
            .bind(&row.productivity_email)
            .bind(&row.podfactory_email)
            .bind(row.matched_by)
            .bind(now)
            .bind(row.from_matcher)
            .execute(pool)
            .await
            .map_err(sql("record mapping audit"))?;
        }, mysql pool => {
            sqlx::query(
                "INSERT INTO auth0_employee_mapping_audit (employee_id, auth0_user_id, \
                 productivity_email, podfactory_email, matched_by, matched_at, last_verified, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE \
                 productivity_email = VALUES(productivity_email), \
                 podfactory_email = COALESCE(VALUES(podfactory_email), podfactory_email), \
                 matched_by = IF(?, VALUES(matched_by), matched_by), \
                 last_verified = VALUES(last_verified)",
            )
            .bind(row.employee_id.0)
            .bind(&row.auth0_user_id.0)
            .bind(&row.productivity_email)
            .bind(&row.podfactory_email)
            .bind(row.matched_by)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(row.from_matcher)
            .execute(pool)
            .await
            .map_err(sql("record mapping audit"))?;
        });
        Ok(())
    }

    /// Mark the audit rows of these links (employee id, account) as
    /// verified now, a few statements however many employees.
    pub async fn touch_verified_audit(
        &self,
        links: &[(i64, String)],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut touched = 0;
        for chunk in links.chunks(250) {
            let pairs = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(employee_id = ${} AND auth0_user_id = ${})",
                        2 * i + 2,
                        2 * i + 3
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let text =
                format!("UPDATE auth0_employee_mapping_audit SET last_verified = $1 WHERE {pairs}");
            touched += with_pool!(self, pool, q => {
                let text = q(&text);
                let mut query = sqlx::query(&text).bind(now);
                for (employee, account) in chunk {
                    query = query.bind(employee).bind(account);
                }
                query.execute(pool).await.map_err(sql("verify mapping audit"))?.rows_affected()
            });
        }
        Ok(touched)
    }

    /// Mark a held run as approved (its plan was applied by a later run).
    pub async fn get_run(&self, id: i64) -> Result<Option<RunRecord>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(&q("SELECT * FROM reconcile_runs WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(sql("read run"))
        })
    }

    /// The newest runs first.
    pub async fn list_runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(&q("SELECT * FROM reconcile_runs ORDER BY id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(sql("list runs"))
        })
    }

    pub async fn run_actions(&self, run_id: i64) -> Result<Vec<ActionRecord>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(
                &q("SELECT seq, kind, employee_id, auth0_user_id, reason, detail, status, error, finished_at \
                 FROM reconcile_actions WHERE run_id = $1 ORDER BY seq"),
            )
            .bind(run_id)
            .fetch_all(pool)
            .await
            .map_err(sql("read actions"))
        })
    }
}

impl Store {
    /// Record a person's decision on a held run: `approved` or `rejected`
    /// (then `note` is the run's error), with who and when, in
    /// `approved_at`/`approved_by`. Conditional, so of two concurrent
    /// decisions exactly one wins; `false` when the run is not a held,
    /// undecided, real (not dry) run.
    pub async fn decide_held_run(
        &self,
        id: i64,
        decision: HeldDecision<'_>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (status, note) = match decision {
            HeldDecision::Approved => ("approved", None),
            HeldDecision::Rejected { note } => ("rejected", Some(note)),
        };
        with_pool!(self, pool, q => {
            let done = sqlx::query(&q(
                "UPDATE reconcile_runs SET status = $1, approved_at = $2, approved_by = $3, \
                 error = COALESCE($4, error) \
                 WHERE id = $5 AND status = 'held' AND approved_at IS NULL AND dry_run = $6",
            ))
            .bind(status)
            .bind(now)
            .bind(by)
            .bind(note)
            .bind(id)
            .bind(false)
            .execute(pool)
            .await
            .map_err(sql("decide held run"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// `(status, summary)` of the last `limit` finished runs that were not
    /// dry runs, newest first.
    pub async fn recent_run_outcomes(&self, limit: i64) -> Result<Vec<(String, Option<String>)>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(&q(
                "SELECT status, summary FROM reconcile_runs WHERE status <> 'running' AND NOT dry_run \
                 ORDER BY id DESC LIMIT $1",
            ))
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(sql("read recent runs"))
        })
    }
}

/// An admin's manual PodFactory mapping.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ManualMapping {
    pub id: i64,
    pub podfactory_user_id: String,
    pub employee_id: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A PodFactory link as the last run recorded it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PodFactoryLink {
    pub podfactory_user_id: String,
    pub podfactory_email: Option<String>,
    pub podfactory_name: Option<String>,
    pub matched_by: String,
    pub confidence: f64,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Is the database answering?
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await.map_err(sql("ping"))?;
        });
        Ok(())
    }

    /// Runs, newest first, optionally only those with `status`, only those
    /// with an id below `before` (for paging).
    pub async fn list_runs_page(
        &self,
        status: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RunRecord>> {
        // Each value bound twice, so each placeholder appears once (MySQL).
        with_pool!(self, pool, q => {
            sqlx::query_as(&q(
                "SELECT * FROM reconcile_runs WHERE ($1 IS NULL OR status = $2) AND ($3 IS NULL OR id < $4) \
                 ORDER BY id DESC LIMIT $5",
            ))
            .bind(status)
            .bind(status)
            .bind(before)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(sql("list runs"))
        })
    }

    /// Is the newest finished real (not dry) run held and awaiting a
    /// decision? What `rosterd_held_runs` says until the next run.
    pub async fn latest_run_is_held(&self) -> Result<bool> {
        with_pool!(self, pool => {
            let row: Option<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT status, approved_at FROM reconcile_runs \
                 WHERE status <> 'running' AND NOT dry_run ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .map_err(sql("read the latest run"))?;
            Ok(row.is_some_and(|(status, approved)| status == "held" && approved.is_none()))
        })
    }

    /// The newest run that got as far as planning.
    pub async fn latest_planned_run(&self) -> Result<Option<RunRecord>> {
        with_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM reconcile_runs WHERE plan IS NOT NULL ORDER BY id DESC LIMIT 1")
                .fetch_optional(pool)
                .await
                .map_err(sql("read latest run"))
        })
    }

    /// When the last run (any outcome) and the last successful run finished.
    pub async fn last_run_times(&self) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
        with_pool!(self, pool => {
            let last: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
                "SELECT finished_at FROM reconcile_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .map_err(sql("read run times"))?;
            let ok: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
                "SELECT finished_at FROM reconcile_runs WHERE status IN ('succeeded', 'partial') AND NOT dry_run ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .map_err(sql("read run times"))?;
            Ok((last.and_then(|r| r.0), ok.and_then(|r| r.0)))
        })
    }

    /// One employee, through the same query (and checks) the runs use,
    /// narrowed to its id rather than reading the whole table.
    pub async fn employee(&self, query: Option<&str>, id: i64) -> Result<Option<RawEmployee>> {
        let loaded = self.read_employees(query, None, Some(id)).await?;
        Ok(loaded.rows.into_iter().find(|e| e.id == id))
    }

    /// The newest actions concerning one employee, across runs.
    pub async fn employee_actions(
        &self,
        employee_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, ActionRecord)>> {
        with_pool!(self, pool, q => {
            let rows = sqlx::query(
                &q("SELECT run_id, seq, kind, employee_id, auth0_user_id, reason, detail, status, error, finished_at \
                 FROM reconcile_actions WHERE employee_id = $1 ORDER BY id DESC LIMIT $2"),
            )
            .bind(employee_id)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(sql("read employee actions"))?;
            rows.iter()
                .map(|r| Ok((r.try_get("run_id")?, <ActionRecord as sqlx::FromRow<_>>::from_row(r)?)))
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
                .map_err(sql("read employee actions"))
        })
    }

    pub async fn podfactory_links(&self, employee_id: i64) -> Result<Vec<PodFactoryLink>> {
        with_pool!(self, pool, q => {
            sqlx::query_as(
                &q("SELECT podfactory_user_id, podfactory_email, podfactory_name, matched_by, confidence, updated_at \
                 FROM employee_podfactory_mapping WHERE employee_id = $1 AND superseded_at IS NULL \
                 ORDER BY podfactory_user_id"),
            )
            .bind(employee_id)
            .fetch_all(pool)
            .await
            .map_err(sql("read podfactory links"))
        })
    }

    pub async fn manual_mappings(&self) -> Result<Vec<ManualMapping>> {
        with_pool!(self, pool => {
            sqlx::query_as("SELECT * FROM podfactory_manual_mappings ORDER BY id")
                .fetch_all(pool)
                .await
                .map_err(sql("read manual mappings"))
        })
    }

    /// Add (or re-point) the manual mapping of a PodFactory user.
    pub async fn upsert_manual_mapping(
        &self,
        podfactory_user_id: &str,
        employee_id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<ManualMapping> {
        with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO podfactory_manual_mappings (podfactory_user_id, employee_id, created_by, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (podfactory_user_id) DO UPDATE SET \
                 employee_id = excluded.employee_id, created_by = excluded.created_by, created_at = excluded.created_at \
                 RETURNING *",
            )
            .bind(podfactory_user_id)
            .bind(employee_id)
            .bind(by)
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(sql("write manual mapping"))
        }, mysql pool => {
            // No ON CONFLICT nor RETURNING: upsert, then read the row back.
            let mut tx = pool.begin().await.map_err(sql("write manual mapping"))?;
            sqlx::query(
                "INSERT INTO podfactory_manual_mappings (podfactory_user_id, employee_id, created_by, created_at) \
                 VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
                 employee_id = VALUES(employee_id), created_by = VALUES(created_by), created_at = VALUES(created_at)",
            )
            .bind(podfactory_user_id)
            .bind(employee_id)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(sql("write manual mapping"))?;
            let row = sqlx::query_as("SELECT * FROM podfactory_manual_mappings WHERE podfactory_user_id = ?")
                .bind(podfactory_user_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(sql("write manual mapping"))?;
            tx.commit().await.map_err(sql("write manual mapping"))?;
            Ok(row)
        })
    }

    /// Remove a manual mapping; false if there was none with that id.
    pub async fn delete_manual_mapping(&self, id: i64) -> Result<bool> {
        with_pool!(self, pool, q => {
            let done = sqlx::query(&q("DELETE FROM podfactory_manual_mappings WHERE id = $1"))
                .bind(id)
                .execute(pool)
                .await
                .map_err(sql("delete manual mapping"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Who did what, for admin actions (never with secrets in `target`).
    pub async fn audit_admin(
        &self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            sqlx::query(&q("INSERT INTO admin_audit (at, actor, action, target) VALUES ($1, $2, $3, $4)"))
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

/// A PodFactory link to record (new, or replacing the current one).
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub podfactory_user_id: String,
    pub employee_id: i64,
    pub podfactory_email: Option<String>,
    pub podfactory_name: Option<String>,
    pub matched_by: String,
    pub confidence: f64,
}

impl Store {
    /// Current PodFactory links: PodFactory user id → employee id.
    pub async fn current_podfactory_links(&self) -> Result<std::collections::HashMap<String, i64>> {
        with_pool!(self, pool => {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT podfactory_user_id, employee_id FROM employee_podfactory_mapping WHERE superseded_at IS NULL",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read podfactory links"))?;
            Ok(rows.into_iter().collect())
        })
    }

    /// Write new and changed links (a changed link supersedes the current
    /// row, keeping it as history) and mark `verified` links as seen now.
    pub async fn record_podfactory_links(
        &self,
        changed: &[LinkRow],
        verified: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool, q => {
            let mut tx = pool.begin().await.map_err(sql("record podfactory links"))?;
            for l in changed {
                sqlx::query(&q(
                    "UPDATE employee_podfactory_mapping SET superseded_at = $1 \
                     WHERE podfactory_user_id = $2 AND superseded_at IS NULL",
                ))
                .bind(now)
                .bind(&l.podfactory_user_id)
                .execute(&mut *tx)
                .await
                .map_err(sql("record podfactory links"))?;
                sqlx::query(&q(
                    "INSERT INTO employee_podfactory_mapping (employee_id, podfactory_user_id, podfactory_email, \
                     podfactory_name, matched_by, confidence, created_at, updated_at, last_verified) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                ))
                .bind(l.employee_id)
                .bind(&l.podfactory_user_id)
                .bind(&l.podfactory_email)
                .bind(&l.podfactory_name)
                .bind(&l.matched_by)
                .bind(l.confidence)
                .bind(now)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(sql("record podfactory links"))?;
            }
            // A few statements however many users: ids in chunks.
            for chunk in verified.chunks(500) {
                let list = (2..chunk.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let text = format!(
                    "UPDATE employee_podfactory_mapping SET last_verified = $1 \
                     WHERE superseded_at IS NULL AND podfactory_user_id IN ({list})"
                );
                let text = q(&text);
                let mut query = sqlx::query(&text).bind(now);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *tx).await.map_err(sql("verify podfactory links"))?;
            }
            tx.commit().await.map_err(sql("record podfactory links"))?;
        });
        Ok(())
    }

    /// Audit rows as they stand: (employee_id, auth0_user_id) → (podfactory_email, matched_by).
    pub async fn audit_rows(
        &self,
    ) -> Result<std::collections::HashMap<(i64, String), (Option<String>, String)>> {
        with_pool!(self, pool => {
            let rows: Vec<(i64, String, Option<String>, String)> = sqlx::query_as(
                "SELECT employee_id, auth0_user_id, podfactory_email, matched_by FROM auth0_employee_mapping_audit",
            )
            .fetch_all(pool)
            .await
            .map_err(sql("read mapping audit"))?;
            Ok(rows.into_iter().map(|(e, a, p, m)| ((e, a), (p, m))).collect())
        })
    }
}

/// An `employees` table made before rosterd lacks its columns; SQLite cannot
/// `ADD COLUMN IF NOT EXISTS`, so look first.
async fn add_missing_sqlite_employee_columns(pool: &SqlitePool) -> Result<()> {
    let cols: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info('employees')")
        .fetch_all(pool)
        .await
        .map_err(sql("inspect employees"))?;
    if cols.is_empty() {
        return Ok(()); // no table yet: the migration creates it whole
    }
    for col in ["auth0_user_id", "auth0_linked_at"] {
        if !cols.iter().any(|(c,)| c == col) {
            sqlx::query(&format!("ALTER TABLE employees ADD COLUMN {col} TEXT"))
                .execute(pool)
                .await
                .map_err(sql("add auth0 columns to employees"))?;
        }
    }
    Ok(())
}

/// A database URL fit for logs: any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_mysql_turns_ordered_placeholders_into_question_marks() {
        assert_eq!(
            to_mysql(
                "UPDATE t SET a = $1, b = $2 WHERE id IN ($3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            "UPDATE t SET a = ?, b = ? WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        assert!(matches!(to_mysql("SELECT 1"), Cow::Borrowed(_)));
        assert_eq!(as_written("x = $1"), "x = $1");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "each appear once, in order")]
    fn to_mysql_rejects_a_reused_placeholder() {
        let _ = to_mysql("SELECT * FROM t WHERE ($1 IS NULL OR a = $1)");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "each appear once, in order")]
    fn to_mysql_rejects_placeholders_out_of_order() {
        let _ = to_mysql("UPDATE t SET a = $2 WHERE id = $1");
    }
}
