//! Reading the employees source as a real table holds it, and writing the
//! link back where the reads come from.
//!
//! - The query's columns are checked (present, of a type rosterd can read)
//!   before it runs, so a wrong query fails once with the column and type it
//!   found, at `check-config` and at the start of every run.
//! - Each row is decoded column by column: ids in any integer type (and
//!   numeric ids without a fraction), `is_active` in the boolean forms real
//!   tables use. A row that cannot be read is described (its id, else its
//!   position, and the column) instead of failing the run for everyone.
//! - The query runs read-only on every backend: it is configuration, and a
//!   `DELETE … RETURNING` there must not delete anything.
//! - `[policy]`'s SQL (`departures.end_date`, `departures.updated_at`,
//!   `exclude.employees_where`) is evaluated by the database in the same
//!   query, over the employees query's columns (the whole `employees` table
//!   with the built-in query); each is checked on its own first, so a bad
//!   one is named by its key.

use super::{sql, with_pool, Store, StoreError};
use crate::config::{DatabaseSettings, PolicySettings};
use crate::departures::EndDate;
use crate::model::{Auth0UserId, EmployeeId, RawEmployee};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
#[cfg(feature = "mysql")]
use sqlx::mysql::{MySqlPool, MySqlRow};
#[cfg(any(feature = "mysql", feature = "sqlite"))]
use sqlx::pool::PoolConnection;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgPool, PgRow};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Column, Executor, Row, TypeInfo, ValueRef};
use std::collections::BTreeMap;

/// The default employees query; `database.employees_query` replaces it for
/// a table whose columns are named otherwise (alias them to these names).
pub const EMPLOYEES_QUERY: &str = "SELECT id, full_name, email, department, workspace, role_code, \
     is_active, auth0_user_id FROM employees";

/// A value as rosterd reads it, whatever the column's type was.
pub(crate) enum Cell {
    Null,
    Int(i64),
    // SQLite stores booleans as integers.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    Bool(bool),
    Text(String),
    // Only SQLite reports a column's value as REAL.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Real(f64),
    // SQLite has no date types (its dates are text).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    Date(NaiveDate),
    /// A timestamp without a zone (`timestamp`, `DATETIME`).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    Timestamp(NaiveDateTime),
    /// An instant (`timestamptz`, MySQL's `TIMESTAMP`).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    Instant(DateTime<Utc>),
}

/// What a column must hold.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Id,
    Flag,
    Text,
    /// A date or timestamp, or text holding one.
    When,
}

/// The columns of an employees query: name, kind, required.
pub(crate) const COLUMNS: [(&str, Kind, bool); 8] = [
    ("id", Kind::Id, true),
    ("full_name", Kind::Text, true),
    ("email", Kind::Text, true),
    ("department", Kind::Text, true),
    ("workspace", Kind::Text, true),
    ("role_code", Kind::Text, true),
    ("is_active", Kind::Flag, true),
    // Only where rosterd writes the link back (the reads must see it).
    ("auth0_user_id", Kind::Text, false),
];

/// Text types, as sqlx names them once upper-cased (a type an extension
/// defines, such as `citext`, comes by its own lower-case name; `CHAR` is
/// PostgreSQL's `character(n)`, `bpchar`).
const PG_TEXT: [&str; 5] = ["TEXT", "VARCHAR", "CHAR", "NAME", "CITEXT"];
const MYSQL_TEXT: [&str; 7] = [
    "VARCHAR",
    "CHAR",
    "TEXT",
    "TINYTEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "ENUM",
];

/// Column types each backend's decoder reads, by kind (type names as sqlx
/// reports them, compared case-insensitively). SQLite types values, not
/// columns: see [`sqlite_accepts`].
fn accepts(backend: super::Backend, kind: Kind, ty: &str) -> bool {
    use super::Backend::*;
    let ty = ty.to_ascii_uppercase();
    let ty = ty.as_str();
    let int = match backend {
        Postgres => matches!(ty, "INT2" | "INT4" | "INT8" | "NUMERIC"),
        MySql => {
            matches!(
                ty.trim_end_matches(" UNSIGNED"),
                "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "DECIMAL"
            )
        }
        Sqlite => return sqlite_accepts(ty),
    };
    let text = match backend {
        Postgres => PG_TEXT.contains(&ty),
        _ => MYSQL_TEXT.contains(&ty),
    };
    // MySQL's BOOLEAN is TINYINT(1); BIT(1) is the other flag real tables use.
    let boolean = match backend {
        Postgres => ty == "BOOL",
        _ => matches!(ty, "BOOLEAN" | "BIT"),
    };
    let when = match backend {
        Postgres => matches!(ty, "DATE" | "TIMESTAMP" | "TIMESTAMPTZ"),
        _ => matches!(ty, "DATE" | "DATETIME" | "TIMESTAMP"),
    };
    match kind {
        Kind::Id => int,
        Kind::Flag => boolean || int || text,
        Kind::Text => text || int,
        Kind::When => when || text,
    }
}

/// SQLite's declared types bind nothing (each value has its own); only a
/// blob is never readable. An expression has no declared type (`NULL`).
fn sqlite_accepts(ty: &str) -> bool {
    !ty.eq_ignore_ascii_case("BLOB")
}

/// Check an employees query's columns without running it: every required
/// column present (and `auth0_user_id` when the link is written back), each
/// of a type rosterd reads. The error names the column and the type found.
pub(crate) async fn check_columns(
    store: &super::Store,
    query: &str,
    needs_auth0_user_id: bool,
) -> Result<(), String> {
    let backend = store.backend();
    let describe_err = |e: sqlx::Error| format!("database.employees_query does not prepare: {e}");
    let columns: Vec<(String, String)> = match store {
        #[cfg(feature = "postgres")]
        super::Store::Postgres(p) => {
            names(p.describe(query).await.map_err(describe_err)?.columns())
        }
        #[cfg(feature = "mysql")]
        super::Store::MySql(p) => names(p.describe(query).await.map_err(describe_err)?.columns()),
        #[cfg(feature = "sqlite")]
        super::Store::Sqlite(p) => names(p.describe(query).await.map_err(describe_err)?.columns()),
    };
    let mut problems = Vec::new();
    for (name, kind, required) in COLUMNS {
        let found = columns.iter().find(|(c, _)| c.eq_ignore_ascii_case(name));
        match found {
            None if required || (name == "auth0_user_id" && needs_auth0_user_id) => {
                problems.push(format!("no column {name:?}"))
            }
            None => {}
            Some((_, ty)) if !accepts(backend, kind, ty) => problems.push(format!(
                "column {name:?} is {ty}, which rosterd cannot read as {}",
                what(kind)
            )),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "database.employees_query: {} (it must return id, full_name, email, department, \
             workspace, role_code, is_active{})",
            problems.join("; "),
            if needs_auth0_user_id {
                ", auth0_user_id"
            } else {
                ""
            }
        ))
    }
}

fn what(kind: Kind) -> &'static str {
    match kind {
        Kind::Id => "an integer id",
        Kind::Flag => "a boolean",
        Kind::Text => "text",
        Kind::When => "a date or timestamp",
    }
}

/// `[policy]`'s SQL read with each employee: the column it is read as, its
/// key, and what it must give.
const POLICY_COLUMNS: [(&str, &str, Kind); 3] = [
    ("rosterd_end_date", "policy.departures.end_date", Kind::When),
    (
        "rosterd_updated_at",
        "policy.departures.updated_at",
        Kind::When,
    ),
    (
        "rosterd_excluded",
        "policy.exclude.employees_where",
        Kind::Flag,
    ),
];

/// The employees query with `[policy]`'s SQL as columns of its own, and
/// the statements that check each piece of that SQL alone. Without any,
/// the query is read as it is.
struct SourceQuery {
    sql: String,
    /// (key, statement, column, kind): each prepares only if its SQL does.
    checks: Vec<(&'static str, String, &'static str, Kind)>,
}

impl SourceQuery {
    fn new(query: Option<&str>, policy: &PolicySettings) -> SourceQuery {
        let base = query.unwrap_or(EMPLOYEES_QUERY);
        let exprs = [
            policy.departures.end_date.trim(),
            policy.departures.updated_at.trim(),
            policy.exclude.employees_where.trim(),
        ];
        if exprs.iter().all(|e| e.is_empty()) {
            return SourceQuery {
                sql: base.to_string(),
                checks: Vec::new(),
            };
        }
        // The built-in query names its columns; the expressions may name
        // any of the table's.
        let inner = match query {
            Some(q) => q.trim().trim_end_matches(';'),
            None => "SELECT * FROM employees",
        };
        let mut columns = Vec::new();
        let mut checks = Vec::new();
        for (expr, (column, key, kind)) in exprs.into_iter().zip(POLICY_COLUMNS) {
            if expr.is_empty() {
                continue;
            }
            let value = match kind {
                Kind::Flag => format!("CASE WHEN ({expr}) THEN 1 ELSE 0 END"),
                _ => format!("({expr})"),
            };
            checks.push((
                key,
                format!("SELECT {value} AS {column} FROM ({inner}) q"),
                column,
                kind,
            ));
            columns.push(format!("{value} AS {column}"));
        }
        SourceQuery {
            sql: format!("SELECT q.*, {} FROM ({inner}) q", columns.join(", ")),
            checks,
        }
    }

    /// Check each piece of `[policy]`'s SQL on its own: it prepares over
    /// the employees query, and gives a type rosterd reads. The error names
    /// the key.
    async fn check_policy(&self, store: &Store) -> Result<(), String> {
        for (key, statement, column, kind) in &self.checks {
            let described = match store {
                #[cfg(feature = "postgres")]
                Store::Postgres(p) => p.describe(statement).await.map(|d| names(d.columns())),
                #[cfg(feature = "mysql")]
                Store::MySql(p) => p.describe(statement).await.map(|d| names(d.columns())),
                #[cfg(feature = "sqlite")]
                Store::Sqlite(p) => p.describe(statement).await.map(|d| names(d.columns())),
            };
            let columns = described.map_err(|e| {
                format!("{key}: does not prepare over the employees query's columns: {e}")
            })?;
            if let Some((_, ty)) = columns.iter().find(|(c, _)| c.eq_ignore_ascii_case(column)) {
                if !accepts(store.backend(), *kind, ty) {
                    return Err(format!(
                        "{key}: gives {ty}, which rosterd cannot read as {}",
                        what(*kind)
                    ));
                }
            }
        }
        Ok(())
    }
}

fn names<C: Column>(columns: &[C]) -> Vec<(String, String)> {
    columns
        .iter()
        .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
        .collect()
}

/// The rows of a query, each as `each` reads it when it arrives (holding
/// every driver row until the last came doubled a large read's memory),
/// at most `max_rows + 1` of them: one more than the limit tells the
/// caller the source is over it without reading it all.
async fn at_most<R, T>(
    rows: impl futures::Stream<Item = sqlx::Result<R>>,
    max_rows: Option<usize>,
    mut each: impl FnMut(R) -> T,
) -> sqlx::Result<Vec<T>> {
    use futures::TryStreamExt;
    let mut rows = std::pin::pin!(rows);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(each(row));
        if max_rows.is_some_and(|max| out.len() > max) {
            break;
        }
    }
    Ok(out)
}

/// Run `sql` (with `id` bound, if any) in a read-only transaction
/// (PostgreSQL), reading at most `max_rows + 1` rows. A dropped future
/// leaves nothing behind: sqlx rolls back a transaction dropped unfinished.
#[cfg(feature = "postgres")]
pub(crate) async fn read_only_pg<T>(
    pool: &PgPool,
    sql: &str,
    id: Option<i64>,
    max_rows: Option<usize>,
    each: impl FnMut(PgRow) -> T,
) -> sqlx::Result<Vec<T>> {
    let mut tx = pool.begin().await?;
    tx.execute("SET TRANSACTION READ ONLY").await?;
    let rows = at_most(bound(sqlx::query(sql), id).fetch(&mut *tx), max_rows, each).await?;
    tx.rollback().await?;
    Ok(rows)
}

/// `query` with the id bound, when there is one.
fn bound<'q, DB: sqlx::Database>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    id: Option<i64>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    match id {
        Some(id) => query.bind(id),
        None => query,
    }
}

/// A pooled connection made read-only: closed when dropped, not returned to
/// the pool, unless its read succeeded and its state was reset. A future
/// dropped mid-read (an HTTP request timing out, a client going away) must
/// not leave a read-only connection for rosterd's own writes; nor is one
/// whose query failed (a bad column, a timeout) trusted back: sqlx-mysql was
/// seen to panic decoding the next query on such a connection.
#[cfg(any(feature = "mysql", feature = "sqlite"))]
struct ReadOnlyConnection<DB: sqlx::Database> {
    conn: PoolConnection<DB>,
    reset: bool,
}

#[cfg(any(feature = "mysql", feature = "sqlite"))]
impl<DB: sqlx::Database> ReadOnlyConnection<DB> {
    async fn acquire(pool: &sqlx::Pool<DB>) -> sqlx::Result<Self> {
        Ok(ReadOnlyConnection {
            conn: pool.acquire().await?,
            reset: false,
        })
    }
}

#[cfg(any(feature = "mysql", feature = "sqlite"))]
impl<DB: sqlx::Database> Drop for ReadOnlyConnection<DB> {
    fn drop(&mut self) {
        if !self.reset {
            self.conn.close_on_drop();
        }
    }
}

/// Run `sql` in a read-only transaction (MySQL/MariaDB: `BEGIN` cannot be
/// made read-only after the fact, so the connection starts its own).
#[cfg(feature = "mysql")]
pub(crate) async fn read_only_mysql<T>(
    pool: &MySqlPool,
    sql: &str,
    id: Option<i64>,
    max_rows: Option<usize>,
    each: impl FnMut(MySqlRow) -> T,
) -> sqlx::Result<Vec<T>> {
    let mut c = ReadOnlyConnection::acquire(pool).await?;
    c.conn.execute("START TRANSACTION READ ONLY").await?;
    let rows = at_most(
        bound(sqlx::query(sql), id).fetch(&mut *c.conn),
        max_rows,
        each,
    )
    .await;
    c.reset = rows.is_ok() && c.conn.execute("ROLLBACK").await.is_ok();
    rows
}

/// Run `sql` with `PRAGMA query_only` on its connection (SQLite has no
/// read-only transaction), reset after.
#[cfg(feature = "sqlite")]
pub(crate) async fn read_only_sqlite<T>(
    pool: &SqlitePool,
    sql: &str,
    id: Option<i64>,
    max_rows: Option<usize>,
    each: impl FnMut(SqliteRow) -> T,
) -> sqlx::Result<Vec<T>> {
    let mut c = ReadOnlyConnection::acquire(pool).await?;
    c.conn.execute("PRAGMA query_only = ON").await?;
    let rows = at_most(
        bound(sqlx::query(sql), id).fetch(&mut *c.conn),
        max_rows,
        each,
    )
    .await;
    c.reset = rows.is_ok() && c.conn.execute("PRAGMA query_only = OFF").await.is_ok();
    rows
}

/// The employees query narrowed to one id (bound as the first parameter).
pub(crate) fn one_employee(query: &str, backend: super::Backend) -> String {
    let placeholder = match backend {
        super::Backend::MySql => "?",
        _ => "$1",
    };
    format!(
        "SELECT * FROM ({}) q WHERE q.id = {placeholder}",
        query.trim().trim_end_matches(';')
    )
}

/// The rows read, and each row that could not be.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rows: Vec<RawEmployee>,
    pub unreadable: Vec<Unreadable>,
    /// What `[policy]`'s SQL said of each readable row, by id (rows with
    /// none of it configured, or nothing to say, are absent).
    pub policy: BTreeMap<i64, PolicyCells>,
}

/// `[policy]`'s SQL on one employees row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyCells {
    /// `policy.departures.end_date`.
    pub end_date: Option<EndDate>,
    /// `policy.departures.updated_at`.
    pub updated_at: Option<DateTime<Utc>>,
    /// `policy.exclude.employees_where` holds.
    pub excluded: bool,
}

/// A row that could not be read: what of it could be (its id, whether the
/// person is active, their stored account), and what is wrong, naming the
/// row. A leaver's row with one bad cell must still get their accounts
/// blocked, so what was read is kept.
#[derive(Debug)]
pub struct Unreadable {
    pub id: Option<i64>,
    pub is_active: Option<bool>,
    pub auth0_user_id: Option<String>,
    pub detail: String,
}

impl Loaded {
    pub(crate) fn from_rows(rows: Vec<Result<(RawEmployee, PolicyCells), Unreadable>>) -> Self {
        let mut out = Loaded::default();
        for (i, row) in rows.into_iter().enumerate() {
            match row {
                Ok((e, policy)) => {
                    if policy != PolicyCells::default() {
                        out.policy.insert(e.id, policy);
                    }
                    out.rows.push(e)
                }
                Err(mut u) => {
                    u.detail = match u.id {
                        Some(id) => format!("employee {id} (row {}): {}", i + 1, u.detail),
                        None => format!("row {} (id unreadable): {}", i + 1, u.detail),
                    };
                    out.unreadable.push(u)
                }
            }
        }
        out
    }
}

/// One row, or what of it could be read and what is wrong, column by column.
fn read_row<R: Row>(
    row: &R,
    cell: fn(&R, usize) -> Result<Cell, String>,
) -> Result<(RawEmployee, PolicyCells), Unreadable>
where
    usize: sqlx::ColumnIndex<R>,
{
    let mut problems = Vec::new();
    // A column the query lacks reads as NULL (only `auth0_user_id` may be
    // missing: the columns were checked before the query ran).
    fn field<R: Row, T>(
        row: &R,
        cell: fn(&R, usize) -> Result<Cell, String>,
        problems: &mut Vec<String>,
        name: &str,
        read: fn(Cell) -> Result<T, String>,
    ) -> Option<T>
    where
        usize: sqlx::ColumnIndex<R>,
    {
        let value = match row
            .columns()
            .iter()
            .position(|c| c.name().eq_ignore_ascii_case(name))
        {
            Some(i) => cell(row, i),
            None => Ok(Cell::Null),
        };
        match value.and_then(read) {
            Ok(v) => Some(v),
            Err(why) => {
                problems.push(format!("{name} {why}"));
                None
            }
        }
    }
    let p = &mut problems;
    let id = field(row, cell, p, "id", as_id);
    let is_active = field(row, cell, p, "is_active", as_flag);
    let full_name = field(row, cell, p, "full_name", as_text);
    let email = field(row, cell, p, "email", as_text);
    let department = field(row, cell, p, "department", as_text);
    let workspace = field(row, cell, p, "workspace", as_text);
    let role_code = field(row, cell, p, "role_code", as_text);
    let auth0_user_id = field(row, cell, p, "auth0_user_id", as_text);
    let mut found = Vec::new();
    let [end, updated, excluded] = POLICY_COLUMNS.map(|(column, ..)| column);
    let end_date = field(row, cell, &mut found, end, as_end_date).flatten();
    let updated_at = field(row, cell, &mut found, updated, as_instant).flatten();
    let excluded = field(row, cell, &mut found, excluded, as_excluded) == Some(true);
    // Named by their keys: these columns are rosterd's, not the table's.
    for problem in &mut found {
        if let Some((column, key, _)) = POLICY_COLUMNS.iter().find(|(c, ..)| problem.starts_with(c))
        {
            *problem = problem.replacen(column, key, 1);
        }
    }
    problems.extend(found);
    match (id, is_active) {
        (Some(id), Some(is_active)) if problems.is_empty() => Ok((
            RawEmployee {
                id,
                full_name: full_name.flatten(),
                email: email.flatten(),
                department: department.flatten(),
                workspace: workspace.flatten(),
                role_code: role_code.flatten(),
                is_active,
                auth0_user_id: auth0_user_id.flatten(),
            },
            PolicyCells {
                end_date,
                updated_at,
                excluded,
            },
        )),
        (id, is_active) => Err(Unreadable {
            id,
            is_active,
            auth0_user_id: auth0_user_id.flatten(),
            detail: problems.join("; "),
        }),
    }
}

fn as_id(c: Cell) -> Result<i64, String> {
    match c {
        Cell::Int(n) => Ok(n),
        Cell::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        Cell::Text(s) => integer_text(&s),
        Cell::Null => Err("is NULL".into()),
        Cell::Bool(_) => Err("is a boolean, not an integer".into()),
        Cell::Real(_) => Err("has a fraction".into()),
        Cell::Date(_) | Cell::Timestamp(_) | Cell::Instant(_) => {
            Err("is a date, not an integer".into())
        }
    }
}

/// NULL `is_active` says nothing: neither active nor a leaver.
fn as_flag(c: Cell) -> Result<bool, String> {
    match c {
        Cell::Bool(b) => Ok(b),
        Cell::Int(0) => Ok(false),
        Cell::Int(1) => Ok(true),
        Cell::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Ok(true),
            "false" | "f" | "no" | "n" | "0" => Ok(false),
            _ => Err("is text that is not a boolean (true/false, t/f, yes/no, 1/0)".into()),
        },
        Cell::Null => Err("is NULL (neither active nor inactive)".into()),
        Cell::Int(_) | Cell::Real(_) => Err("is a number other than 0 or 1".into()),
        Cell::Date(_) | Cell::Timestamp(_) | Cell::Instant(_) => {
            Err("is a date, not a boolean".into())
        }
    }
}

fn as_text(c: Cell) -> Result<Option<String>, String> {
    match c {
        Cell::Null => Ok(None),
        Cell::Text(s) => Ok(Some(s)),
        Cell::Int(n) => Ok(Some(n.to_string())),
        _ => Err("is not text".into()),
    }
}

/// The condition held; NULL (a column the query lacks) did not.
fn as_excluded(c: Cell) -> Result<bool, String> {
    match c {
        Cell::Null => Ok(false),
        c => as_flag(c),
    }
}

/// NULL: no end date (still employed, or a rehire cleared it).
fn as_end_date(c: Cell) -> Result<Option<EndDate>, String> {
    match c {
        Cell::Null => Ok(None),
        Cell::Date(d) => Ok(Some(EndDate::Day(d))),
        Cell::Timestamp(t) => Ok(Some(EndDate::Day(t.date()))),
        Cell::Instant(t) => Ok(Some(EndDate::At(t))),
        Cell::Text(s) if s.trim().is_empty() => Ok(None),
        Cell::Text(s) => EndDate::parse(&s).map(Some),
        _ => Err("is not a date".into()),
    }
}

/// A last change: an instant, or a timestamp without a zone taken as UTC
/// (the database's clock), or a date's start in UTC.
fn as_instant(c: Cell) -> Result<Option<DateTime<Utc>>, String> {
    match c {
        Cell::Null => Ok(None),
        Cell::Instant(t) => Ok(Some(t)),
        Cell::Timestamp(t) => Ok(Some(t.and_utc())),
        Cell::Date(d) => Ok(Some(d.and_time(chrono::NaiveTime::MIN).and_utc())),
        Cell::Text(s) => {
            let t = s.trim();
            let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok());
            match (naive, EndDate::parse(t)) {
                (Some(n), _) => Ok(Some(n.and_utc())),
                (None, Ok(EndDate::At(at))) => Ok(Some(at)),
                (None, Ok(EndDate::Day(d))) => {
                    Ok(Some(d.and_time(chrono::NaiveTime::MIN).and_utc()))
                }
                (None, Err(_)) => Err(format!("is {t:?}, not a timestamp (YYYY-MM-DD HH:MM:SS)")),
            }
        }
        _ => Err("is not a timestamp".into()),
    }
}

/// An integer written as decimal text, with at most a zero fraction
/// (`12`, `12.00`).
fn integer_text(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if !fraction.bytes().all(|b| b == b'0') {
        return Err("has a fraction".into());
    }
    whole.parse().map_err(|_| "is not an integer".to_string())
}

fn unreadable(ty: &str) -> String {
    format!("is of type {ty}, which rosterd cannot read")
}

#[cfg(feature = "postgres")]
pub(crate) fn pg_cell(row: &PgRow, i: usize) -> Result<Cell, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let ty = raw.type_info().name().to_ascii_uppercase();
    let bad = |e: sqlx::Error| format!("could not be read as {ty}: {e}");
    Ok(match ty.as_str() {
        // Every text type is sent as its UTF-8 text (an extension's
        // `citext` included, which the checked decode does not recognise).
        t if PG_TEXT.contains(&t) => Cell::Text(
            row.try_get_unchecked::<String, _>(i)
                .map_err(|_| "is not valid UTF-8 text".to_string())?,
        ),
        "INT2" => Cell::Int(row.try_get::<i16, _>(i).map_err(bad)?.into()),
        "INT4" => Cell::Int(row.try_get::<i32, _>(i).map_err(bad)?.into()),
        "INT8" => Cell::Int(row.try_get::<i64, _>(i).map_err(bad)?),
        "BOOL" => Cell::Bool(row.try_get::<bool, _>(i).map_err(bad)?),
        "NUMERIC" => Cell::Int(pg_numeric(raw.as_bytes().map_err(|e| e.to_string())?)?),
        "DATE" => Cell::Date(row.try_get(i).map_err(bad)?),
        "TIMESTAMP" => Cell::Timestamp(row.try_get(i).map_err(bad)?),
        "TIMESTAMPTZ" => Cell::Instant(row.try_get(i).map_err(bad)?),
        _ => return Err(unreadable(&ty)),
    })
}

#[cfg(feature = "postgres")]
/// A PostgreSQL `numeric` in its binary form, as an integer: base-10000
/// digits with a weight; a non-zero fraction, NaN or an overflow is an error.
fn pg_numeric(b: &[u8]) -> Result<i64, String> {
    let word = |at: usize| -> Result<i16, String> {
        b.get(at..at + 2)
            .map(|w| i16::from_be_bytes([w[0], w[1]]))
            .ok_or_else(|| "is a truncated numeric".to_string())
    };
    let (ndigits, weight, sign) = (word(0)?, word(2)?, word(4)? as u16);
    if sign == 0xC000 {
        return Err("is NaN".into());
    }
    let mut value: i128 = 0;
    for k in 0..ndigits.max(0) as usize {
        let digit = i128::from(word(8 + 2 * k)?);
        let power = i32::from(weight) - k as i32;
        if power < 0 {
            if digit != 0 {
                return Err("has a fraction".into());
            }
            continue;
        }
        value = 10_000i128
            .checked_pow(power as u32)
            .and_then(|p| p.checked_mul(digit))
            .and_then(|d| value.checked_add(d))
            .ok_or("is too large for an id")?;
    }
    if sign == 0x4000 {
        value = -value;
    }
    i64::try_from(value).map_err(|_| "is too large for an id".to_string())
}

#[cfg(feature = "mysql")]
pub(crate) fn mysql_cell(row: &MySqlRow, i: usize) -> Result<Cell, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let ty = raw.type_info().name().to_ascii_uppercase();
    let bad = |e: sqlx::Error| format!("could not be read as {ty}: {e}");
    Ok(match ty.as_str() {
        t if MYSQL_TEXT.contains(&t) => Cell::Text(row.try_get::<String, _>(i).map_err(bad)?),
        // BIT(n) as its number: BIT(1) is a flag, 0 or 1.
        "BIT" => Cell::Int(
            i64::try_from(row.try_get::<u64, _>(i).map_err(bad)?)
                .map_err(|_| "is too large".to_string())?,
        ),
        "BOOLEAN" => Cell::Bool(row.try_get::<bool, _>(i).map_err(bad)?),
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => {
            Cell::Int(row.try_get::<i64, _>(i).map_err(bad)?)
        }
        t if t.ends_with(" UNSIGNED") => {
            let n = row.try_get::<u64, _>(i).map_err(bad)?;
            Cell::Int(i64::try_from(n).map_err(|_| "is too large for an id".to_string())?)
        }
        // The binary protocol sends a DECIMAL as its decimal text.
        "DECIMAL" => Cell::Int(integer_text(
            &row.try_get_unchecked::<String, _>(i).map_err(bad)?,
        )?),
        "DATE" => Cell::Date(row.try_get(i).map_err(bad)?),
        "DATETIME" => Cell::Timestamp(row.try_get(i).map_err(bad)?),
        // Sent in the session's zone, which sqlx sets to UTC.
        "TIMESTAMP" => Cell::Instant(row.try_get(i).map_err(bad)?),
        _ => return Err(unreadable(&ty)),
    })
}

#[cfg(feature = "sqlite")]
/// SQLite: by the value's own type (a column may hold any).
pub(crate) fn sqlite_cell(row: &SqliteRow, i: usize) -> Result<Cell, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let ty = raw.type_info().name().to_string();
    Ok(match ty.as_str() {
        "INTEGER" => Cell::Int(
            row.try_get_unchecked::<i64, _>(i)
                .map_err(|e| e.to_string())?,
        ),
        "REAL" => Cell::Real(
            row.try_get_unchecked::<f64, _>(i)
                .map_err(|e| e.to_string())?,
        ),
        "TEXT" => Cell::Text(
            row.try_get_unchecked::<String, _>(i)
                .map_err(|_| "is not valid UTF-8 text".to_string())?,
        ),
        _ => return Err(unreadable(&ty)),
    })
}

/// Where rosterd writes an employee's Auth0 account: a table and its id
/// column (`auth0_user_id` and `auth0_linked_at` are written there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBack {
    pub table: String,
    pub id_column: String,
}

impl WriteBack {
    /// The target the settings give: `employees.id` with the built-in query;
    /// with a custom query, `database.employees_table` (and
    /// `employees_id_column`, default `id`) or none at all (then the link
    /// is `app_metadata.employee_id` alone).
    pub fn from_settings(db: &DatabaseSettings) -> Result<Option<WriteBack>, String> {
        let table = match (&db.employees_table, &db.employees_query) {
            (Some(t), _) => t.clone(),
            (None, None) => "employees".into(),
            (None, Some(_)) => {
                if db.employees_id_column.is_some() {
                    return Err(
                        "database.employees_id_column: set database.employees_table too (the table it belongs to)"
                            .into(),
                    );
                }
                return Ok(None);
            }
        };
        let id_column = db
            .employees_id_column
            .clone()
            .unwrap_or_else(|| "id".into());
        for (key, value) in [
            ("database.employees_table", &table),
            ("database.employees_id_column", &id_column),
        ] {
            let plain = |part: &str| {
                part.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            };
            let parts: Vec<&str> = value.split('.').collect();
            let max = if key.ends_with("table") { 2 } else { 1 };
            if parts.len() > max || !parts.iter().all(|p| plain(p)) {
                return Err(format!(
                    "{key}: must be a plain SQL name (letters, digits, _{})",
                    if max == 2 {
                        "; schema.table allowed"
                    } else {
                        ""
                    }
                ));
            }
        }
        Ok(Some(WriteBack { table, id_column }))
    }

    pub(crate) fn update_sql(&self) -> String {
        format!(
            "UPDATE {} SET auth0_user_id = $1, auth0_linked_at = $2 WHERE {} = $3",
            self.table, self.id_column
        )
    }

    /// A statement that prepares only if the target has the columns written.
    pub(crate) fn probe_sql(&self) -> String {
        format!(
            "SELECT {}, auth0_user_id, auth0_linked_at FROM {} WHERE 1 = 0",
            self.id_column, self.table
        )
    }
}

/// A shipped migration without its statements on the `employees` table, for
/// a database whose employees come from a custom query (rosterd must not
/// create or alter a table it does not read). The migration files are
/// frozen by their checksums, so statements are found by their first line.
pub(crate) fn without_employees_table(sql: &str) -> String {
    let starts = |l: &str| {
        let l = l.trim_start();
        l.starts_with("CREATE TABLE IF NOT EXISTS employees ")
            || l.starts_with("ALTER TABLE employees ")
            || l.starts_with("CREATE INDEX IF NOT EXISTS employees_")
            || l.starts_with("DROP TRIGGER IF EXISTS rosterd_employees_")
            || (l.starts_with("CREATE TRIGGER") && l.contains("rosterd_employees_"))
    };
    let mut out = String::with_capacity(sql.len());
    let mut skipping = false;
    for line in sql.lines() {
        if !skipping && starts(line) {
            skipping = true;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
        if skipping && line.trim_end().ends_with(';') {
            skipping = false;
        }
    }
    out
}

impl Store {
    /// Every employees row the query returns, with what `policy`'s SQL says
    /// of it, read-only, after checking its columns and that SQL. Rows that
    /// cannot be read are described, not fatal; the caller validates the
    /// rest.
    pub async fn load_employee_rows(
        &self,
        query: Option<&str>,
        write_back: Option<&WriteBack>,
        policy: &PolicySettings,
    ) -> super::Result<Loaded> {
        self.read_employees(query, write_back, policy, None).await
    }

    /// The rows of the employees query, all of them or those with one id.
    async fn read_employees(
        &self,
        query: Option<&str>,
        write_back: Option<&WriteBack>,
        policy: &PolicySettings,
        id: Option<i64>,
    ) -> super::Result<Loaded> {
        let source = SourceQuery::new(query, policy);
        source
            .check_policy(self)
            .await
            .map_err(StoreError::Source)?;
        let q = source.sql.as_str();
        check_columns(self, q, write_back.is_some())
            .await
            .map_err(StoreError::Source)?;
        let one;
        let q = match id {
            Some(_) => {
                one = one_employee(q, self.backend());
                one.as_str()
            }
            None => q,
        };
        let load = sql("load employees");
        Ok(match self {
            #[cfg(feature = "postgres")]
            Store::Postgres(p) => Loaded::from_rows(
                read_only_pg(p, q, id, None, |r| read_row(&r, pg_cell))
                    .await
                    .map_err(load)?,
            ),
            #[cfg(feature = "mysql")]
            Store::MySql(p) => Loaded::from_rows(
                read_only_mysql(p, q, id, None, |r| read_row(&r, mysql_cell))
                    .await
                    .map_err(load)?,
            ),
            #[cfg(feature = "sqlite")]
            Store::Sqlite(p) => Loaded::from_rows(
                read_only_sqlite(p, q, id, None, |r| read_row(&r, sqlite_cell))
                    .await
                    .map_err(load)?,
            ),
        })
    }

    /// Every employees row; a row that cannot be read is an error (tools and
    /// tests; runs use [`Store::load_employee_rows`]).
    pub async fn load_employees(&self, query: Option<&str>) -> super::Result<Vec<RawEmployee>> {
        let loaded = self
            .load_employee_rows(query, None, &PolicySettings::default())
            .await?;
        match loaded.unreadable.first() {
            Some(why) => Err(StoreError::Source(why.detail.clone())),
            None => Ok(loaded.rows),
        }
    }

    /// Check the employees source without reading it: the query's columns,
    /// `policy`'s SQL over them, and the write-back target's. Says what will
    /// be written where.
    pub async fn check_employees_source(
        &self,
        db: &DatabaseSettings,
        policy: &PolicySettings,
    ) -> std::result::Result<String, String> {
        let write_back = WriteBack::from_settings(db)?;
        let source = SourceQuery::new(db.employees_query.as_deref(), policy);
        source.check_policy(self).await?;
        check_columns(self, &source.sql, write_back.is_some()).await?;
        let Some(w) = write_back else {
            return Ok("links are not written back (no database.employees_table): \
                 an account's app_metadata.employee_id is the link"
                .into());
        };
        let probe = w.probe_sql();
        let prepared = match self {
            #[cfg(feature = "postgres")]
            Store::Postgres(p) => p.describe(&probe).await.map(drop),
            #[cfg(feature = "mysql")]
            Store::MySql(p) => p.describe(&probe).await.map(drop),
            #[cfg(feature = "sqlite")]
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
    pub async fn insert_employees(&self, rows: &[RawEmployee]) -> super::Result<()> {
        const COLS: usize = 8;
        with_pool!(self, pool, q => {
            let mut tx = crate::store::begin_write(pool).await.map_err(sql("insert employees"))?;
            for chunk in rows.chunks(self.max_binds() / COLS) {
                let text = format!(
                    "INSERT INTO employees (id, full_name, email, department, workspace, role_code, \
                     is_active, auth0_user_id) VALUES {}",
                    super::row_placeholders(1, chunk.len(), COLS)
                );
                let text = q(&text)?;
                let mut query = sqlx::query(&text);
                for e in chunk {
                    query = query
                        .bind(e.id)
                        .bind(&e.full_name)
                        .bind(&e.email)
                        .bind(&e.department)
                        .bind(&e.workspace)
                        .bind(&e.role_code)
                        .bind(e.is_active)
                        .bind(&e.auth0_user_id);
                }
                query.execute(&mut *tx).await.map_err(sql("insert employees"))?;
            }
            tx.commit().await.map_err(sql("insert employees"))?;
        });
        Ok(())
    }

    /// Write the employee's Auth0 account back on its row. A write that
    /// touches no row is an error: the next run would not see the link.
    /// Record `user` as employee `id`'s account, or clear the link (None:
    /// a relinked rehire's old row).
    pub async fn set_employee_auth0_id(
        &self,
        target: &WriteBack,
        id: EmployeeId,
        user: Option<&Auth0UserId>,
        now: DateTime<Utc>,
    ) -> super::Result<()> {
        let text = target.update_sql();
        let user = user.map(|u| u.0.as_str());
        let done = with_pool!(self, pool, q => {
            sqlx::query(&q(&text)?)
                .bind(user)
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

    /// One employee, through the same query (and checks) the runs use,
    /// narrowed to its id rather than reading the whole table.
    pub async fn employee(
        &self,
        query: Option<&str>,
        id: i64,
    ) -> super::Result<Option<RawEmployee>> {
        let loaded = self
            .read_employees(query, None, &PolicySettings::default(), Some(id))
            .await?;
        Ok(loaded.rows.into_iter().find(|e| e.id == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "postgres")]
    fn numeric_ids_read_without_a_fraction_only() {
        // 12345678 = digits [1234, 5678], weight 1.
        let enc = |digits: &[i16], weight: i16, sign: u16, dscale: u16| {
            let mut b = Vec::new();
            for w in [digits.len() as i16, weight, sign as i16, dscale as i16] {
                b.extend(w.to_be_bytes());
            }
            for d in digits {
                b.extend(d.to_be_bytes());
            }
            b
        };
        assert_eq!(pg_numeric(&enc(&[1234, 5678], 1, 0, 0)), Ok(12_345_678));
        assert_eq!(pg_numeric(&enc(&[7], 0, 0x4000, 0)), Ok(-7));
        assert_eq!(pg_numeric(&enc(&[7, 0], 0, 0, 2)), Ok(7));
        assert_eq!(pg_numeric(&enc(&[1], 2, 0, 0)), Ok(100_000_000));
        assert!(pg_numeric(&enc(&[7, 5000], 0, 0, 1)).is_err());
        assert!(pg_numeric(&enc(&[], 0, 0xC000, 0)).is_err());
        assert_eq!(integer_text("12.000"), Ok(12));
        assert!(integer_text("12.5").is_err());
    }

    #[test]
    fn boolean_forms() {
        for (c, want) in [
            (Cell::Bool(true), true),
            (Cell::Int(0), false),
            (Cell::Text(" T ".into()), true),
            (Cell::Text("no".into()), false),
        ] {
            assert_eq!(as_flag(c), Ok(want));
        }
        assert!(as_flag(Cell::Null).unwrap_err().contains("NULL"));
        assert!(as_flag(Cell::Int(2)).is_err());
    }

    #[test]
    fn migrations_without_the_employees_table_keep_everything_else() {
        for (sql, cut) in [
            (
                include_str!("../../../../migrations/postgres/0001_rosterd.sql"),
                4,
            ),
            (
                include_str!("../../../../migrations/postgres/0002_daemon.sql"),
                2,
            ),
            (
                include_str!("../../../../migrations/mysql/0001_rosterd.sql"),
                1,
            ),
            (
                include_str!("../../../../migrations/mysql/0002_daemon.sql"),
                3,
            ),
            (
                include_str!("../../../../migrations/sqlite/0001_rosterd.sql"),
                2,
            ),
            (
                include_str!("../../../../migrations/sqlite/0002_daemon.sql"),
                3,
            ),
        ] {
            let out = without_employees_table(sql);
            let statements = |s: &str| s.lines().filter(|l| l.trim_end().ends_with(';')).count();
            assert_eq!(statements(sql) - statements(&out), cut, "{sql}");
            for line in out.lines().filter(|l| !l.trim_start().starts_with("--")) {
                let rest = line
                    .replace("rosterd_employees", "")
                    .replace("employees_seen", "");
                assert!(!rest.contains("employees"), "{line}");
            }
        }
    }

    #[test]
    fn write_back_target_follows_the_query() {
        let mut db = DatabaseSettings::default();
        assert_eq!(
            WriteBack::from_settings(&db).unwrap().unwrap().table,
            "employees"
        );
        db.employees_query = Some("SELECT … FROM staff".into());
        assert_eq!(WriteBack::from_settings(&db), Ok(None));
        db.employees_table = Some("hr.staff".into());
        db.employees_id_column = Some("staff_id".into());
        let w = WriteBack::from_settings(&db).unwrap().unwrap();
        assert_eq!(
            w.update_sql(),
            "UPDATE hr.staff SET auth0_user_id = $1, auth0_linked_at = $2 WHERE staff_id = $3"
        );
        db.employees_table = Some("staff; DROP TABLE x".into());
        assert!(WriteBack::from_settings(&db)
            .unwrap_err()
            .contains("database.employees_table"));
    }
}
