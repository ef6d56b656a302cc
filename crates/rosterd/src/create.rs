//! A run's creates: each account made by one call, or (a plan with at least
//! `auth0.bulk_import_threshold` creates) by users-import jobs; then roles
//! assigned in batches, one call per role and chunk of users; then each
//! link recorded.
//!
//! The order inside a create stays Auth0 create → role → record: an account
//! whose role or record a crash cut off is not linked yet, so the next run
//! plans its `link` (found by `app_metadata.employee_id`), which assigns
//! the role. An import job's accounts are found afterwards in one users
//! export, by email and employee id, never one call per user.

use crate::auth0::import::{import_entry, import_files, ImportError};
use crate::auth0::NewUser;
use crate::model::{Auth0User, Auth0UserId, Email, Employee, EmployeeId};
use crate::plan::{Action, Evidence, Plan, RoleResolver};
use crate::run::{name_employee, ActionError, Context, Outcome, RecordError, StopRequest};
use crate::store::AuditRow;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use std::time::Instant;

/// Users per `POST /api/v2/roles/{id}/users`. Auth0 documents no maximum
/// that we found; 500 keeps a body near 20 KB and a refused chunk small,
/// while 10,000 new accounts still take only 20 calls per role.
const ROLE_CHUNK: usize = 500;

/// How a run made its accounts when it used import jobs: the run report's
/// "created N accounts by M import jobs".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BulkReport {
    /// Import jobs posted.
    pub jobs: usize,
    /// Accounts the jobs created and this run found and linked (an account
    /// that already held the email and was linked instead is not counted).
    pub imported: usize,
    /// Creates that did not end with an account (refused by a job, a job
    /// that failed, or not found afterwards).
    pub failed: usize,
}

/// An account a create ended with, before its role and record.
#[derive(Debug, Clone)]
pub(crate) struct Creation {
    pub user: Auth0UserId,
    /// The audit's `matched_by`: `created`, or `email` for an account that
    /// already held the email.
    pub matched_by: &'static str,
}

/// Where a single-call create leaves its account for [`finish`].
pub(crate) type Slot = OnceLock<Creation>;

/// Whether this plan's creates go by import jobs.
pub(crate) fn use_import(ctx: &Context, creates: usize) -> bool {
    let threshold = ctx.settings.auth0.bulk_import_threshold;
    threshold > 0 && creates >= threshold
}

/// What a `Create` makes, for a single call and an import entry alike.
fn new_user(action: &Action) -> Option<NewUser<'_>> {
    let Action::Create {
        email,
        name,
        given_name,
        family_name,
        app_metadata,
        user_metadata,
        ..
    } = action
    else {
        return None;
    };
    Some(NewUser {
        email,
        name,
        given_name,
        family_name,
        app_metadata: json!(app_metadata),
        user_metadata: json!(user_metadata),
    })
}

/// One create by one call: the account, or on 409 the one that holds the
/// email (linked as [`adopt`] says). Its role and record come in
/// [`finish`], after every create of the run.
pub(crate) async fn create_one(
    ctx: &Context,
    action: &Action,
    slot: &Slot,
) -> Result<Option<Auth0UserId>, ActionError> {
    let Some(new) = new_user(action) else {
        return Ok(None);
    };
    let password = crate::password::generate();
    let creation = match ctx.fenced(ctx.auth0.create_user(&new, &password)).await? {
        Ok(user) => {
            crate::run::failpoint("after_auth0_create");
            Creation {
                user,
                matched_by: "created",
            }
        }
        // Created by an earlier attempt whose answer was lost, or not yet
        // visible in the export.
        Err(e) if e.status() == Some(409) => adopt(ctx, action).await?,
        Err(e) => return Err(e.into()),
    };
    let user = creation.user.clone();
    let _ = slot.set(creation);
    Ok(Some(user))
}

/// The account that already holds a create's email, when it is free to
/// link: given the employee's metadata (not `created_by`: it may not be
/// ours). A 409 to a create and an import's `DUPLICATED_USER` both end here.
async fn adopt(ctx: &Context, action: &Action) -> Result<Creation, ActionError> {
    let Action::Create {
        employee_id,
        email,
        name,
        app_metadata,
        user_metadata,
        ..
    } = action
    else {
        unreachable!("only creates are adopted");
    };
    let existing = crate::run::link_existing(ctx, *employee_id, email).await?;
    let mut fix = json!({ "app_metadata": app_metadata, "user_metadata": user_metadata });
    if !name.is_empty() {
        fix["name"] = json!(name);
    }
    let fix = crate::run::without_created_by(fix);
    ctx.fenced(ctx.auth0.patch_user(&existing, &fix)).await??;
    Ok(Creation {
        user: existing,
        matched_by: Evidence::Email.audit_name(),
    })
}

/// The creates at `seqs` by import jobs: files of at most
/// `auth0.import_file_bytes`, `auth0.import_concurrency` jobs at a time,
/// no job posted after a stop; then one export finds what they created.
/// The run's deadline bounds the waiting too: a job still running then is
/// left to Auth0, its creates cut short, and the next run's export finds
/// and links what it made (as after a crash).
/// Returns each create's account or its outcome, and the report.
pub(crate) async fn import(
    ctx: &Context,
    run_id: i64,
    plan: &Plan,
    seqs: &[usize],
    stop: &StopRequest,
    deadline: Instant,
) -> (Vec<(usize, Result<Creation, Outcome>)>, BulkReport) {
    let a = &ctx.settings.auth0;
    let actions: Vec<&Action> = seqs.iter().map(|&s| &plan.actions[s].action).collect();
    let entries: Vec<Value> = actions
        .iter()
        .filter_map(|a| new_user(a).map(|u| import_entry(&u)))
        .collect();
    let (files, too_large) = import_files(&entries, a.import_file_bytes);
    tracing::info!(
        creates = seqs.len(),
        jobs = files.len(),
        threshold = a.bulk_import_threshold,
        "creating accounts by users-import jobs"
    );
    let mut results: Vec<Option<Result<Creation, Outcome>>> =
        (0..seqs.len()).map(|_| None).collect();
    for i in too_large {
        results[i] = Some(Err(Outcome::Failed(ActionError::TooLargeToImport(
            a.import_file_bytes,
        ))));
    }
    let mut report = BulkReport::default();
    let connection = match ctx.fenced(ctx.auth0.connection_id()).await {
        Ok(Ok(id)) => id,
        Ok(Err(e)) => {
            return (
                fail_all(seqs, results, |_| ActionError::Auth0(e.clone())),
                report,
            )
        }
        Err(lost) => return (fail_all(seqs, results, |_| lost.clone().into()), report),
    };
    let external_id = format!("rosterd-run-{run_id}");

    // What each file's job came to: the users it refused, or why it did
    // not complete (the error), or why it was never posted.
    enum Job {
        Completed(Vec<ImportError>),
        Failed(crate::auth0::Auth0Error),
        Lost(crate::store::LeadershipLost),
        NotPosted(crate::outcome::Cut, String),
        /// Still running at the run's deadline.
        CutShort,
    }
    // Futures built up front, as in `run::apply_each`: a lazily mapped
    // stream over borrowed data trips the compiler's Send inference.
    let (connection, external_id) = (&connection, &external_id);
    let pending: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(n, file)| async move {
            if let Some((cut, why)) = crate::run::not_started(ctx, stop, deadline).await {
                return (n, Job::NotPosted(cut, why));
            }
            let run = async {
                let job = ctx.auth0.post_import(file, connection, external_id).await?;
                tracing::info!(job = %job.id, users = file.members.len(), "import job posted");
                let summary = ctx.auth0.wait_import(&job).await?;
                tracing::info!(job = %job.id, %summary, "import job completed");
                ctx.auth0.import_errors(&job).await
            };
            let job = match tokio::time::timeout_at(deadline.into(), ctx.fenced(run)).await {
                Ok(Ok(Ok(errors))) => Job::Completed(errors),
                Ok(Ok(Err(e))) => Job::Failed(e),
                Ok(Err(lost)) => Job::Lost(lost),
                Err(_) => Job::CutShort,
            };
            (n, job)
        })
        .collect();
    let jobs: Vec<(usize, Job)> = futures::stream::iter(pending)
        .buffer_unordered(a.import_concurrency)
        .collect()
        .await;

    // One export finds every account a posted job made, whatever its job
    // came to (a job may have run although its answer was lost).
    let posted = jobs
        .iter()
        .filter(|(_, j)| !matches!(j, Job::NotPosted(..)))
        .count();
    report.jobs = posted;
    // Past the deadline no export is started: the next run's finds them.
    // The export is bounded by the deadline too: cut short there, it finds
    // nothing, and what the jobs made is the next run's to link.
    let mut late = Instant::now() >= deadline;
    let secs = ctx.settings.reconcile.run_deadline_secs;
    let found: Result<HashMap<Email, Auth0User>, String> = if posted == 0 || late {
        Ok(HashMap::new())
    } else {
        let export = ctx.fenced(ctx.auth0.export_users());
        match tokio::time::timeout_at(deadline.into(), export).await {
            Ok(Ok(Ok(users))) => Ok(users
                .into_iter()
                .filter_map(|u| Some((u.email.clone()?, u)))
                .collect()),
            Ok(Ok(Err(e))) => Err(crate::telemetry::error_chain(&e)),
            Ok(Err(lost)) => Err(lost.to_string()),
            Err(_) => {
                late = true;
                Ok(HashMap::new())
            }
        }
    };

    for (n, job) in jobs {
        let refused: HashMap<&str, &ImportError> = match &job {
            Job::Completed(errors) => errors
                .iter()
                .filter_map(|e| Some((e.email.as_deref()?, e)))
                .collect(),
            _ => HashMap::new(),
        };
        for &i in &files[n].members {
            let action = actions[i];
            let Action::Create {
                employee_id, email, ..
            } = action
            else {
                continue;
            };
            let mine = found
                .as_ref()
                .ok()
                .and_then(|f| f.get(email))
                .filter(|u| u.app_metadata.employee_id == Some(employee_id.0));
            let failed = |e: ActionError| Err(Outcome::Failed(e));
            let result = match (&job, mine, refused.get(email.as_str())) {
                (Job::NotPosted(cut, why), ..) => Err(Outcome::NotStarted(*cut, why.clone())),
                (_, Some(user), _) => Ok(Creation {
                    user: user.user_id.clone(),
                    matched_by: "created",
                }),
                (Job::CutShort, None, _) => Err(Outcome::CutShort(secs)),
                // Linking an account that held the email is a call per
                // user: past the deadline, the next run's.
                (_, None, Some(e)) if e.duplicated() && late => Err(Outcome::CutShort(secs)),
                (_, None, Some(e)) if e.duplicated() => {
                    adopt(ctx, action).await.map_err(Outcome::Failed)
                }
                (_, None, Some(e)) => failed(ActionError::ImportRefused {
                    code: e.code.clone(),
                    message: e.message.clone(),
                }),
                (_, None, None) if late => Err(Outcome::CutShort(secs)),
                (Job::Failed(e), None, None) => failed(ActionError::Auth0(e.clone())),
                (Job::Lost(lost), None, None) => failed(lost.clone().into()),
                (Job::Completed(_), None, None) => {
                    let why = match &found {
                        Ok(_) => "the export after the job has no account with that email and employee id".into(),
                        Err(e) => format!("the export after the job failed: {e}"),
                    };
                    failed(ActionError::NotFoundAfterImport {
                        employee_id: *employee_id,
                        why,
                    })
                }
            };
            if matches!(&result, Ok(c) if c.matched_by == "created") {
                report.imported += 1;
            }
            results[i] = Some(result);
        }
    }
    let results = fail_all(seqs, results, |_| unreachable!("every create has a result"));
    report.failed = results
        .iter()
        .filter(|(_, r)| matches!(r, Err(Outcome::Failed(_))))
        .count();
    tracing::info!(
        jobs = report.jobs,
        imported = report.imported,
        failed = report.failed,
        "users-import jobs done"
    );
    (results, report)
}

/// Each create at `seqs` with its result; those without one yet get
/// `error`.
fn fail_all(
    seqs: &[usize],
    results: Vec<Option<Result<Creation, Outcome>>>,
    error: impl Fn(usize) -> ActionError,
) -> Vec<(usize, Result<Creation, Outcome>)> {
    seqs.iter()
        .zip(results)
        .map(|(&seq, r)| (seq, r.unwrap_or_else(|| Err(Outcome::Failed(error(seq))))))
        .collect()
}

/// Links recorded per transaction.
const RECORD_CHUNK: usize = 500;

/// After every create of the run: roles in batches, then the links
/// recorded, [`RECORD_CHUNK`] to a transaction. Returns each create's final
/// outcome.
pub(crate) async fn finish(
    ctx: &Context,
    plan: &Plan,
    employees: &BTreeMap<EmployeeId, &Employee>,
    roles: &RoleResolver,
    created: Vec<(usize, Creation)>,
) -> Vec<(usize, Outcome)> {
    let role_codes: Vec<&str> = created
        .iter()
        .map(|(seq, _)| match &plan.actions[*seq].action {
            Action::Create { role_code, .. } => role_code.as_str(),
            _ => "",
        })
        .collect();
    let mut role_errors = assign_roles(ctx, roles, &created, &role_codes).await;
    let mut out = Vec::with_capacity(created.len());
    for (n, chunk) in created.chunks(RECORD_CHUNK).enumerate() {
        let mut errors: HashMap<usize, ActionError> = HashMap::new();
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, (seq, c)) in chunk.iter().enumerate() {
            let Some(employee_id) = plan.actions[*seq].action.employee_id() else {
                continue;
            };
            // An account found by email may need the employee's id first.
            if let Err(e) = name_employee(ctx, employee_id, &c.user, c.matched_by).await {
                errors.insert(i, e);
                continue;
            }
            if let Some(e) = employees.get(&employee_id) {
                rows.push((
                    i,
                    AuditRow {
                        employee_id,
                        auth0_user_id: c.user.clone(),
                        productivity_email: e.email.to_string(),
                        podfactory_email: None,
                        matched_by: c.matched_by,
                        from_matcher: false,
                    },
                ));
            }
        }
        let audit: Vec<AuditRow> = rows.iter().map(|(_, r)| r.clone()).collect();
        let recorded = ctx.fenced(ctx.store.record_links(
            ctx.write_back.as_ref(),
            &audit,
            chrono::Utc::now(),
        ));
        match recorded.await {
            Ok(Ok(missing)) => {
                for (i, row) in &rows {
                    if missing.contains(&row.employee_id) {
                        let gone = ctx.write_back.as_ref().map_or_else(String::new, |t| {
                            format!(
                                "recording the account on {}: no row has {} = {}",
                                t.table, t.id_column, row.employee_id
                            )
                        });
                        errors.insert(*i, ActionError::Unrecorded(RecordError::Batch(gone)));
                    }
                }
            }
            Ok(Err(e)) => {
                let why = crate::telemetry::error_chain(&e);
                for (i, _) in &rows {
                    errors.insert(*i, ActionError::Unrecorded(RecordError::Batch(why.clone())));
                }
            }
            Err(lost) => {
                for (i, _) in &rows {
                    errors.insert(*i, ActionError::Unrecorded(lost.clone().into()));
                }
            }
        }
        for (i, (seq, c)) in chunk.iter().enumerate() {
            // Not recorded fails the run; a missing role only the action.
            let role_error = role_errors.remove(&(n * RECORD_CHUNK + i));
            let outcome = match (errors.remove(&i), role_error) {
                (Some(e), _) | (None, Some(e)) => Outcome::Failed(e),
                (None, None) => Outcome::Applied(Some(c.user.clone())),
            };
            out.push((*seq, outcome));
        }
    }
    out
}

/// Assign each created account its role, one call per role and chunk of
/// [`ROLE_CHUNK`] users. An account whose role was not assigned has its
/// `app_metadata.role_code` cleared, so the next run sees the drift and
/// assigns it (as a single assignment's failure does). Returns the errors
/// by index into `created`.
async fn assign_roles(
    ctx: &Context,
    roles: &RoleResolver,
    created: &[(usize, Creation)],
    role_codes: &[&str],
) -> HashMap<usize, ActionError> {
    let mut errors = HashMap::new();
    let mut by_role: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, code) in role_codes.iter().enumerate() {
        match roles.id(code) {
            Ok(None) => {}
            Ok(Some(id)) => by_role.entry(id).or_default().push(i),
            Err(e) => {
                errors.insert(i, ActionError::from(e));
            }
        }
    }
    let chunks: Vec<(&str, &[usize])> = by_role
        .iter()
        .flat_map(|(id, members)| members.chunks(ROLE_CHUNK).map(move |c| (*id, c)))
        .collect();
    type Refused = Result<crate::auth0::Auth0Error, crate::store::LeadershipLost>;
    let pending: Vec<_> = chunks
        .into_iter()
        .map(|(role, members)| async move {
            let users: Vec<Auth0UserId> =
                members.iter().map(|&i| created[i].1.user.clone()).collect();
            match ctx
                .fenced(ctx.auth0.assign_role_to_users(role, &users))
                .await
            {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some((members, Ok(e))),
                Err(lost) => Some((members, Err(lost))),
            }
        })
        .collect();
    let done: Vec<Option<(&[usize], Refused)>> = futures::stream::iter(pending)
        .buffer_unordered(ctx.settings.auth0.concurrency)
        .collect()
        .await;
    for (members, e) in done.into_iter().flatten() {
        for &i in members {
            let cause = match &e {
                Ok(refused) => ActionError::Auth0(refused.clone()),
                Err(lost) => ActionError::from(lost.clone()),
            };
            errors.insert(i, cause);
        }
    }
    // Clear what was not assigned: one call per account, on failure only.
    let clear = json!({ "app_metadata": { "role_code": null } });
    let mut out = HashMap::new();
    for (i, cause) in errors {
        if matches!(cause, ActionError::LeadershipLost(_)) {
            // Not ours to write any more, the clearing patch included.
            out.insert(i, cause);
            continue;
        }
        let user = &created[i].1.user;
        match ctx.fenced(ctx.auth0.patch_user(user, &clear)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(user = %user, error = %e, "could not clear role_code after a failed role assignment")
            }
            Err(lost) => {
                out.insert(i, lost.into());
                continue;
            }
        }
        out.insert(
            i,
            ActionError::Role {
                role_code: role_codes[i].to_string(),
                cause: Box::new(cause),
            },
        );
    }
    out
}
