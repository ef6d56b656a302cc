//! The PodFactory source: its users, read-only, from the vendor's database
//! (a configurable query) or from a CSV export.
//!
//! rosterd never writes to PodFactory. The query must return `id, name,
//! email, user_role`; ids may be integers or text (read as text). A row
//! that cannot be used (no id; in the database, an id on several rows, as
//! the query's order decides nothing) is skipped and becomes an
//! `invalid_podfactory_row` finding: the rest are matched. A column of a
//! type rosterd cannot read is the query's problem, not each row's: the
//! source is unavailable for the run, and `check-config` says so.

use crate::config::PodFactorySettings;
use crate::matching::PodFactoryUser;
use crate::store::{DbUrl, Options, UrlError};
use sqlx::{Column, Row};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Shown, not chained: sqlx's own text already repeats its cause.
    #[error("podfactory source: {0}")]
    Database(sqlx::Error),
    #[error("podfactory source: the query returns no {0:?} column (it must return id, name, email, user_role)")]
    MissingColumn(&'static str),
    #[error("podfactory source: column {column:?} is {found}, neither text nor an integer; cast it in podfactory.query")]
    ColumnType { column: &'static str, found: String },
    #[error("podfactory csv: {path}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("podfactory csv")]
    Csv(#[source] crate::match_csv::CsvError),
    #[error("podfactory source")]
    Url(#[source] UrlError),
    #[error("podfactory source: the query did not finish within podfactory.statement_timeout_secs ({0} s)")]
    TimedOut(u64),
    #[error("podfactory source: the query returns more than podfactory.max_rows ({0}) rows; narrow the query or raise the limit")]
    TooManyRows(usize),
}

/// What the PodFactory source gave: the users to match, and the rows that
/// could not be used.
#[derive(Debug, Default)]
pub struct Loaded {
    pub users: Vec<PodFactoryUser>,
    pub skipped: Vec<SkippedRow>,
}

/// A source row that could not be used: why, and its user id when it has
/// one (so its finding keeps one key from run to run, wherever the row is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub podfactory_user_id: Option<String>,
    pub why: String,
}

/// The users, or `None` when matching is off (`source = "none"`).
pub async fn load(s: &PodFactorySettings) -> Result<Option<Loaded>, SourceError> {
    match s.source.as_str() {
        "database" => load_database(s).await.map(Some),
        "csv" => {
            let file = std::fs::File::open(&s.csv_path).map_err(|source| SourceError::Open {
                path: s.csv_path.clone(),
                source,
            })?;
            let read =
                crate::match_csv::read_podfactory(std::io::BufReader::new(file), &s.csv_path)
                    .map_err(SourceError::Csv)?;
            Ok(Some(Loaded {
                users: read.rows,
                skipped: read
                    .skipped
                    .iter()
                    .map(|e| SkippedRow {
                        podfactory_user_id: None,
                        why: e.to_string(),
                    })
                    .collect(),
            }))
        }
        _ => Ok(None),
    }
}

/// `check-config`'s look at the PodFactory source: for `database`, the
/// query run (read-only, within the timeout) for one row, its columns
/// checked; what it found, or the error a run would hit.
pub async fn check(s: &PodFactorySettings) -> Result<Option<String>, SourceError> {
    if s.source != "database" {
        return Ok(None);
    }
    let rows = fetch(s, 0).await?;
    Ok(Some(match rows.first() {
        Some(Err(why)) => format!(
            "podfactory query OK (id, name, email, user_role); its first row would be skipped: it has {why}"
        ),
        Some(Ok(_)) => "podfactory query OK (id, name, email, user_role)".to_string(),
        None => {
            "podfactory query OK, but it returns no rows (its columns are checked on the first row)"
                .to_string()
        }
    }))
}

async fn load_database(s: &PodFactorySettings) -> Result<Loaded, SourceError> {
    let rows = fetch(s, s.max_rows).await?;
    if rows.len() > s.max_rows {
        return Err(SourceError::TooManyRows(s.max_rows));
    }
    // An id on several rows: which one is the user depends on an order the
    // query need not have, so none is used.
    let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (id, ..) in rows.iter().flatten() {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let repeated: std::collections::HashMap<String, usize> = count
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, n)| (id.to_string(), n))
        .collect();
    let mut reported = std::collections::HashSet::new();
    let mut loaded = Loaded::default();
    for row in rows {
        let (id, name, email, user_role) = match row {
            Ok(row) => row,
            Err(why) => {
                loaded.skipped.push(SkippedRow {
                    podfactory_user_id: None,
                    why: format!("podfactory source: a row with {why}"),
                });
                continue;
            }
        };
        if let Some(n) = repeated.get(&id) {
            if reported.insert(id.clone()) {
                loaded.skipped.push(SkippedRow {
                    why: format!(
                        "podfactory source: user id \"{id}\" is on {n} rows; none is used until one is left"
                    ),
                    podfactory_user_id: Some(id),
                });
            }
            continue;
        }
        loaded.users.push(PodFactoryUser {
            id,
            name,
            email,
            user_role,
        });
    }
    Ok(loaded)
}

/// The query's rows, at most `max_rows + 1` of them (one past the limit
/// says it was passed), each as four texts or why it cannot be read.
async fn fetch(
    s: &PodFactorySettings,
    max_rows: usize,
) -> Result<Vec<Result<Row4, String>>, SourceError> {
    let url =
        DbUrl::parse("podfactory.url", &s.url, s.password.as_ref()).map_err(SourceError::Url)?;
    let secs = s.statement_timeout_secs;
    let db = |e: sqlx::Error| {
        if is_statement_timeout(&e) {
            SourceError::TimedOut(secs)
        } else {
            SourceError::Database(e)
        }
    };
    // The same fetch for each driver's pool type, read-only like the
    // employees query (rosterd never writes to PodFactory), one row past
    // the limit at most.
    macro_rules! fetch {
        ($pool:expr, $opts:expr, $read_only:path) => {{
            let pool = $pool
                .max_connections(1)
                .connect_with($opts)
                .await
                .map_err(db)?;
            // Each row read as it comes: the driver's rows are not all
            // held at once.
            let rows = $read_only(&pool, &s.query, None, Some(max_rows), |r| read_row(&r))
                .await
                .map_err(db)?;
            pool.close().await;
            rows.into_iter().collect::<Result<Vec<_>, _>>()?
        }};
    }
    let read = async {
        Ok::<Vec<Result<Row4, String>>, SourceError>(match url.options() {
            // The server cancels the statement itself: nothing keeps running
            // on PodFactory's database after rosterd gave up.
            #[cfg(feature = "postgres")]
            Options::Postgres(opts) => fetch!(
                sqlx::postgres::PgPoolOptions::new(),
                opts.clone()
                    .options([("statement_timeout", format!("{}s", secs))]),
                crate::store::read_only_pg
            ),
            #[cfg(feature = "mysql")]
            Options::MySql(opts) => fetch!(
                sqlx::mysql::MySqlPoolOptions::new().after_connect(move |conn, _| {
                    Box::pin(async move {
                        use sqlx::Executor;
                        // MariaDB's variable (seconds), else MySQL's (ms,
                        // SELECT only).
                        let mariadb = format!("SET SESSION max_statement_time = {secs}");
                        if conn.execute(mariadb.as_str()).await.is_err() {
                            let mysql = format!("SET SESSION max_execution_time = {}", secs * 1000);
                            conn.execute(mysql.as_str()).await?;
                        }
                        Ok(())
                    })
                }),
                opts.clone(),
                crate::store::read_only_mysql
            ),
            #[cfg(feature = "sqlite")]
            Options::Sqlite(opts) => fetch!(
                sqlx::sqlite::SqlitePoolOptions::new(),
                opts.clone().read_only(true),
                crate::store::read_only_sqlite
            ),
        })
    };
    // SQLite has no statement timeout; on the servers this is a backstop
    // (connecting included) a little after theirs.
    tokio::time::timeout(std::time::Duration::from_secs(secs + 2), read)
        .await
        .map_err(|_| SourceError::TimedOut(secs))?
}

/// PostgreSQL's `statement_timeout` (57014, query_canceled), MariaDB's
/// `max_statement_time` (70100) or MySQL's `max_execution_time` (3024).
fn is_statement_timeout(e: &sqlx::Error) -> bool {
    let Some(d) = e.as_database_error() else {
        return false;
    };
    matches!(d.code().as_deref(), Some("57014" | "70100"))
        || d.message()
            .contains("maximum statement execution time exceeded")
}

type Row4 = (String, Option<String>, Option<String>, Option<String>);

/// One row as four texts, whatever the driver's column types; an integer id
/// becomes its decimal text. A missing column, or one of a type that is
/// neither text nor an integer, fails the source (the query is wrong); a
/// row without an id is the row's own problem (the inner error).
fn read_row<R: Row>(row: &R) -> Result<Result<Row4, String>, SourceError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let index = |name: &'static str| {
        row.columns()
            .iter()
            .position(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or(SourceError::MissingColumn(name))
    };
    let columns = [
        index("id")?,
        index("name")?,
        index("email")?,
        index("user_role")?,
    ];
    const NAMES: [&str; 4] = ["id", "name", "email", "user_role"];
    let text = |n: usize| -> Result<Option<String>, SourceError> {
        let i = columns[n];
        if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            return Ok(v);
        }
        if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            return Ok(v.map(|n| n.to_string()));
        }
        row.try_get::<Option<i32>, _>(i)
            .map(|v| v.map(|n| n.to_string()))
            .map_err(|_| SourceError::ColumnType {
                column: NAMES[n],
                found: row.columns()[i].type_info().to_string(),
            })
    };
    let (id, name, email, role) = (text(0)?, text(1)?, text(2)?, text(3)?);
    let Some(id) = id.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
        // What the row does say, so a person can find it.
        let who: Vec<&str> = [name.as_deref(), email.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        return Ok(Err(match who.is_empty() {
            true => "a NULL or empty id".to_string(),
            false => format!("a NULL or empty id ({})", who.join(", ")),
        }));
    };
    Ok(Ok((id, name, email, role)))
}

/// What matching produced in one run.
pub struct Matching {
    /// The users matched: the source's, without those marked not an
    /// employee.
    pub users: Vec<PodFactoryUser>,
    /// The match made now, stored when the run records; `None` when the
    /// results are the last match's (its inputs were these).
    pub fresh: Option<crate::match_memo::Fresh>,
    /// Users left out because someone marked them not an employee.
    pub excluded: usize,
    /// Source rows that could not be used, each with why.
    pub skipped: Vec<SkippedRow>,
    /// Users matched by keeping an earlier run's link (see [`keep_links`]).
    pub kept_links: usize,
    /// Their ids: a link one of them had ends.
    pub excluded_ids: Vec<String>,
    /// Users with a manual mapping: a manual link without one ends.
    pub mapped: std::collections::HashSet<String>,
    pub results: Vec<crate::matching::MatchResult>,
    /// Active employees no PodFactory user matched.
    pub without_user: Vec<crate::model::EmployeeId>,
    /// With `rich_metadata`: each matched employee's `podfactory_sync`.
    pub sync:
        Option<std::collections::BTreeMap<crate::model::EmployeeId, crate::model::PodFactorySync>>,
}

/// Counts for the run report and metrics.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// Users the source returned: matched, ambiguous, unmatched or excluded.
    pub users: usize,
    pub matched: usize,
    pub ambiguous: usize,
    pub unmatched: usize,
    /// Marked not an employee (kiosk logins, temps, visitors): not matched.
    pub excluded: usize,
    /// Rows of the source that could not be used (findings say why).
    pub skipped_rows: usize,
    /// Of `matched`: links an earlier run made, kept though the evidence
    /// now also points at a newer namesake.
    pub kept_links: usize,
    /// Links made or changed by this run.
    pub new_links: usize,
    /// Employees, users, mappings and settings were what the last match
    /// was made from: its results were read back, not matched again.
    pub reused_match: bool,
    /// Matched users whose employee has an Auth0 account.
    pub with_auth0_account: usize,
}

/// Match the users [`load`] read (the matcher itself is pure); `None` when
/// matching is off. Users a person marked not an employee are left out: no
/// link, no finding.
pub async fn match_users(
    s: &PodFactorySettings,
    loaded: Option<Loaded>,
    store: &crate::store::Store,
    employees: &[crate::model::Employee],
    auth0_users: &[crate::model::Auth0User],
    current: &std::collections::HashMap<String, crate::store::CurrentLink>,
) -> anyhow::Result<Option<Matching>> {
    use crate::matching::{self, ManualMapping, MatchEmployee};
    let Some(Loaded { users, skipped }) = loaded else {
        return Ok(None);
    };
    let not_employees: std::collections::HashSet<String> = store
        .non_employees()
        .await?
        .into_iter()
        .map(|n| n.podfactory_user_id)
        .collect();
    // In id order, as the employees below: a query's rows come in no set
    // order (PostgreSQL's synchronized and parallel scans start anywhere),
    // and the same rows must match, and fingerprint, the same.
    let mut users = users;
    users.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let (users, excluded_users): (Vec<PodFactoryUser>, Vec<PodFactoryUser>) = users
        .into_iter()
        .partition(|u| !not_employees.contains(&u.id));
    let excluded = excluded_users.len();
    let excluded_ids = excluded_users.into_iter().map(|u| u.id).collect();
    // Previous names live on the linked account (rosterd keeps them there
    // on every rename): evidence for users still named the old way. A
    // rename this run's plan applies counts already, or the match (and
    // `podfactory_sync`) would lag a run behind it.
    let by_id: std::collections::HashMap<i64, &crate::model::Employee> =
        employees.iter().map(|e| (e.id.0, e)).collect();
    // Of several accounts carrying one employee id (an old one beside a
    // rehire's), the employee's linked account speaks, else the lowest id:
    // the export's order is no order, and the names must not flip.
    let mut previous: std::collections::HashMap<i64, (bool, &str, Vec<String>)> =
        std::collections::HashMap::new();
    for u in auth0_users {
        let Some(id) = u.app_metadata.employee_id else {
            continue;
        };
        let employee = by_id.get(&id);
        let linked = employee.is_some_and(|e| e.auth0_user_id.as_ref() == Some(&u.user_id));
        let rank = (!linked, u.user_id.0.as_str());
        if previous
            .get(&id)
            .is_some_and(|(l, uid, _)| (!*l, *uid) <= rank)
        {
            continue;
        }
        let names = employee
            .and_then(|e| crate::plan::renamed_previous_names(e, u))
            .unwrap_or_else(|| u.app_metadata.previous_names.clone());
        previous.insert(id, (linked, u.user_id.0.as_str(), names));
    }
    let mut match_employees: Vec<MatchEmployee> = employees
        .iter()
        .map(|e| {
            let names = previous.get(&e.id.0).map_or(&[][..], |p| p.2.as_slice());
            MatchEmployee::from_employee(e, names)
        })
        .collect();
    match_employees.sort_by_key(|e| e.id);
    let manual: Vec<ManualMapping> = store
        .manual_mappings()
        .await?
        .into_iter()
        .map(|m| ManualMapping {
            podfactory_user_id: m.podfactory_user_id,
            employee_id: crate::model::EmployeeId(m.employee_id),
        })
        .collect();
    let settings = s.match_settings();
    let (mut results, fresh) =
        crate::match_memo::results(store, &match_employees, &users, &manual, &settings).await;
    let kept_links = keep_links(&mut results, current);
    let mapped = manual.into_iter().map(|m| m.podfactory_user_id).collect();
    let without_user = matching::employees_without_user(&match_employees, &results);
    let sync = s
        .rich_metadata
        .then(|| matching::sync_metadata(&match_employees, &users, &results, &settings));
    Ok(Some(Matching {
        users,
        fresh,
        excluded,
        skipped,
        kept_links,
        excluded_ids,
        mapped,
        results,
        without_user,
        sync,
    }))
}

/// A user the matcher linked in an earlier run and now finds ambiguous
/// between that employee and others (a namesake joined since) keeps the
/// link: the evidence that made it is still there, only a candidate came,
/// and the PodFactory user existed before the newcomer did. Not when
/// another user is linked to that employee this run (it lost the employee
/// to stronger evidence, which is no namesake's doing). Turned into a
/// match (saying so, with the matcher's confidence), it is not also a case
/// for a person, and the report's matched count is the links kept current.
/// Returns how many.
fn keep_links(
    results: &mut [crate::matching::MatchResult],
    current: &std::collections::HashMap<String, crate::store::CurrentLink>,
) -> usize {
    use crate::matching::{MatchStatus, MatchedBy};
    let mut taken: std::collections::HashSet<crate::model::EmployeeId> =
        results.iter().filter_map(|r| r.employee_id).collect();
    let mut kept = 0;
    for r in results
        .iter_mut()
        .filter(|r| r.status == MatchStatus::Ambiguous)
    {
        let Some(link) = current.get(&r.podfactory_id).filter(|l| !l.manual()) else {
            continue;
        };
        let Some(c) = r
            .candidates
            .iter()
            .find(|c| c.employee_id.0 == link.employee_id && !taken.contains(&c.employee_id))
        else {
            continue;
        };
        taken.insert(c.employee_id);
        r.status = MatchStatus::Matched;
        r.employee_id = Some(c.employee_id);
        r.matched_by = MatchedBy::parse(&link.matched_by).or(Some(MatchedBy::Name));
        r.explanation = format!(
            "kept the link to employee {} an earlier run made; now {}",
            c.employee_id, r.explanation
        );
        kept += 1;
    }
    kept
}

impl Matching {
    /// Findings for everything the matcher would not decide, each user and
    /// candidate described from the source and `employees` (the run's), so
    /// a person can decide without looking anyone up.
    pub fn findings(&self, employees: &[crate::model::Employee]) -> Vec<crate::plan::Finding> {
        use crate::matching::MatchStatus;
        use crate::plan::{Finding, FindingCandidate, FindingKind, FindingPodfactoryUser};
        let by_id: std::collections::HashMap<crate::model::EmployeeId, &crate::model::Employee> =
            employees.iter().map(|e| (e.id, e)).collect();
        let mut out = Vec::new();
        for (u, r) in self.users.iter().zip(&self.results) {
            let kind = match r.status {
                MatchStatus::Matched => continue,
                MatchStatus::Ambiguous => FindingKind::AmbiguousPodfactoryUser,
                MatchStatus::Unmatched => FindingKind::UnmatchedPodfactoryUser,
            };
            let who = match (&u.name, &u.email) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (Some(n), None) => n.clone(),
                (None, Some(e)) => e.clone(),
                (None, None) => "(no name or email)".into(),
            };
            let mut f = Finding::new(
                kind,
                None,
                vec![],
                format!("PodFactory user {} {who}: {}", u.id, r.explanation),
            );
            f.podfactory_user_id = Some(u.id.clone());
            f.podfactory_user = Some(FindingPodfactoryUser {
                name: u.name.clone(),
                email: u.email.clone(),
                role: u.user_role.clone(),
            });
            f.candidates = r
                .candidates
                .iter()
                .map(|c| {
                    let e = by_id.get(&c.employee_id);
                    let text = |field: fn(&crate::model::Employee) -> &str| {
                        e.map(|e| field(e).to_string()).unwrap_or_default()
                    };
                    FindingCandidate {
                        employee_id: c.employee_id,
                        score: c.score,
                        reason: c.reason.clone(),
                        name: text(|e| &e.full_name),
                        email: text(|e| e.email.as_str()),
                        department: text(|e| &e.department),
                        workspace: text(|e| &e.workspace),
                        is_active: e.is_some_and(|e| e.is_active),
                    }
                })
                .collect();
            out.push(f);
        }
        for row in &self.skipped {
            let mut f = Finding::new(
                FindingKind::InvalidPodfactoryRow,
                None,
                vec![],
                format!("{}; the row was skipped, the other users matched", row.why),
            );
            f.podfactory_user_id = row.podfactory_user_id.clone();
            out.push(f);
        }
        for id in &self.without_user {
            out.push(Finding::new(
                FindingKind::EmployeeWithoutPodfactoryUser,
                Some(*id),
                vec![],
                format!("active employee {id} has no PodFactory user"),
            ));
        }
        out
    }

    pub fn summary(&self) -> Summary {
        use crate::matching::MatchStatus;
        let count = |s: MatchStatus| self.results.iter().filter(|r| r.status == s).count();
        Summary {
            users: self.users.len() + self.excluded,
            matched: count(MatchStatus::Matched),
            ambiguous: count(MatchStatus::Ambiguous),
            unmatched: count(MatchStatus::Unmatched),
            excluded: self.excluded,
            skipped_rows: self.skipped.len(),
            kept_links: self.kept_links,
            reused_match: self.fresh.is_none(),
            ..Summary::default()
        }
    }

    /// Record the links (new and changed as rows, the rest as verified) and
    /// the mapping audit for employees with an Auth0 account (`accounts`:
    /// employee id → (account id, employee email)), compared with the
    /// `current` links and `audit` (both as the run read them): only what
    /// differs is written.
    pub async fn record(
        &self,
        store: &crate::store::Store,
        accounts: &std::collections::HashMap<i64, (String, String)>,
        audit: &std::collections::HashMap<(i64, String), crate::store::AuditState>,
        current: &std::collections::HashMap<String, crate::store::CurrentLink>,
        summary: &mut Summary,
    ) -> anyhow::Result<()> {
        use crate::store::{AuditRow, LinkChanges, LinkRow};
        let now = chrono::Utc::now();
        let mut links = LinkChanges::default();
        let mut audit_rows = Vec::new();
        // Users whose current link this run verified or replaced.
        let mut handled: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut verified: std::collections::HashSet<&str> = std::collections::HashSet::new();
        // Each linked employee, with the lowest id among their users. The
        // audit has one row per employee and account, naming that user as
        // `podfactory_sync` does (each user in turn would rewrite it every
        // run). And a person's undo ends the link it made: a user marked
        // not an employee, or a manual link whose mapping was deleted and
        // that the matcher did not make again. A mapping still there (its
        // employee invalid this run, say) keeps its link; a link the
        // matcher made stays while the user is only ambiguous for a while,
        // unless its employee is linked to another user now (stronger
        // evidence took it, as the matcher decides).
        let mut linked: std::collections::HashMap<i64, &str> = std::collections::HashMap::new();
        for (u, r) in self.users.iter().zip(&self.results) {
            if let (Some(emp), Some(_)) = (r.employee_id, r.matched_by) {
                let id = linked.entry(emp.0).or_insert(u.id.as_str());
                *id = (*id).min(u.id.as_str());
            }
        }
        for id in &self.excluded_ids {
            if current.contains_key(id) && handled.insert(id.as_str()) {
                links.ended.push(id.clone());
            }
        }
        for (u, r) in self.users.iter().zip(&self.results) {
            let (Some(emp), Some(by)) = (r.employee_id, r.matched_by) else {
                let ends = current.get(&u.id).is_some_and(|l| match l.manual() {
                    true => !self.mapped.contains(&u.id),
                    false => linked.contains_key(&l.employee_id),
                });
                if ends && handled.insert(u.id.as_str()) {
                    links.ended.push(u.id.clone());
                }
                continue;
            };
            match current.get(&u.id) {
                Some(link) if link.employee_id == emp.0 => {
                    verified.insert(u.id.as_str());
                    if !link.seen_by_latest_run {
                        links.newly_seen.push(link.id);
                    }
                }
                _ => links.changed.push(LinkRow {
                    podfactory_user_id: u.id.clone(),
                    employee_id: emp.0,
                    podfactory_email: u.email.clone(),
                    podfactory_name: u.name.clone(),
                    matched_by: by.as_str().to_string(),
                    confidence: r.confidence,
                }),
            }
            // The audit ties employee, Auth0 account and PodFactory email.
            let Some((account, email)) = accounts.get(&emp.0) else {
                continue;
            };
            summary.with_auth0_account += 1;
            if linked.get(&emp.0) != Some(&u.id.as_str()) {
                continue;
            }
            // Up to date: same kind, and the same email (a user without one
            // keeps the email already known).
            let up_to_date = audit.get(&(emp.0, account.clone())).is_some_and(|a| {
                a.matched_by == by.audit_kind()
                    && (u.email.is_none() || a.podfactory_email == u.email)
            });
            if !up_to_date {
                audit_rows.push(AuditRow {
                    employee_id: emp,
                    auth0_user_id: crate::model::Auth0UserId(account.clone()),
                    productivity_email: email.to_lowercase(),
                    podfactory_email: u.email.clone(),
                    matched_by: by.audit_kind(),
                    from_matcher: true,
                });
            }
        }
        // Current links this run did not verify stop counting as seen:
        // ended, replaced, or left current (the user ambiguous for a while,
        // say).
        links.unseen = current
            .iter()
            .filter(|(id, l)| l.seen_by_latest_run && !verified.contains(id.as_str()))
            .map(|(_, l)| l.id)
            .collect();
        summary.new_links = links.changed.len();
        if !links.ended.is_empty() {
            tracing::info!(
                count = links.ended.len(),
                "podfactory: links ended (taken back by a person, or their employee now linked to another user)"
            );
        }
        store.record_podfactory_links(&links, now).await?;
        store.upsert_audits(&audit_rows, now).await?;
        if let Some(fresh) = &self.fresh {
            crate::match_memo::keep(store, fresh).await;
        }
        Ok(())
    }
}
