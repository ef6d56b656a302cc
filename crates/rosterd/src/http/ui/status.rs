//! Status, the console's home: how the last run went, what comes next, and
//! what waits for a person.

use super::layout::{badge, csrf, duration, employee_link, when, Page};
use super::{internal, Flashed, UiState};
use crate::driver::Current;
use crate::outcome::ActionStatus;
use crate::plan::{ActionKind, FindingKind};
use crate::run::RunStatus;
use crate::store::{ActionRecord, Pause, RunRecord};
use crate::triage::TriageError;
use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use std::collections::{BTreeMap, HashMap};

use super::session::Viewer;

pub(super) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    flashed: Flashed,
) -> Response {
    match load(&state).await {
        Ok(view) => flashed
            .onto(Page::new("Status"))
            .render(Some(&viewer), render(&viewer, &view)),
        Err(e) => internal(&viewer, e),
    }
}

struct View {
    /// Enforcement paused by a rollback: the banner.
    paused: Option<Pause>,
    last: Option<RunRecord>,
    running: Option<(i64, String)>,
    next_run: Option<chrono::DateTime<chrono::Utc>>,
    held: Vec<RunRecord>,
    planned: Option<RunRecord>,
    plan_error: Option<String>,
    /// Findings that are listings, not cases (employees without a
    /// PodFactory user).
    listings: usize,
    findings: BTreeMap<FindingKind, (usize, usize)>,
    unapplied: Vec<ActionRecord>,
    /// Employee names of the unapplied actions shown.
    names: HashMap<i64, String>,
    failures_run: Option<i64>,
    failures: Vec<super::runs::Cause>,
}

async fn load(state: &UiState) -> anyhow::Result<View> {
    let store = &state.app.ctx.store;
    let status = state.app.driver.status();
    let recent = store.list_runs(20).await?;
    let last = recent
        .iter()
        .find(|r| r.status != RunStatus::Running)
        .cloned();
    let running = match status.current {
        Current::Running { run_id, trigger } => Some((run_id, trigger.to_string())),
        // Another replica's run, as the lock table has it.
        Current::Idle => store
            .running_run()
            .await?
            .map(|r| (r.id, r.holder.unwrap_or_else(|| "another replica".into()))),
    };
    let held = store
        .list_runs_page(Some(RunStatus::Held), None, None, 50)
        .await?;
    // A plan this version cannot read (a newer one's, mid-upgrade) costs
    // the findings, not the page.
    let ctx = &state.app.ctx;
    let (items, planned, plan_error, listings) = match crate::triage::queue(ctx, None, true).await {
        Ok(q) => (q.items, q.run, None, q.listings),
        Err(e @ TriageError::UnreadablePlan { .. }) => (Vec::new(), None, Some(e.to_string()), 0),
        Err(e) => return Err(e.into()),
    };
    let mut findings: BTreeMap<FindingKind, (usize, usize)> = BTreeMap::new();
    for item in &items {
        let e = findings.entry(item.finding.kind).or_default();
        if item.acknowledged.is_some() {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    // What the latest plan wanted and did not get: accounts not created,
    // leavers not blocked (held, dry, observe, failed or cut short).
    let unapplied = match &planned {
        Some(r) => store
            .run_actions(r.id)
            .await?
            .into_iter()
            .filter(|a| {
                matches!(a.kind, ActionKind::Create | ActionKind::Block)
                    && a.status != ActionStatus::Succeeded
            })
            .collect(),
        None => Vec::new(),
    };
    // Named, for the ones shown; a lookup that fails leaves the id.
    let query = ctx.settings.database.employees_query.as_deref();
    let mut names = HashMap::new();
    for kind in [ActionKind::Create, ActionKind::Block] {
        let ids = unapplied
            .iter()
            .filter(|a| a.kind == kind)
            .filter_map(|a| a.employee_id);
        for id in ids.take(SHOWN) {
            if let Some(name) = store
                .employee(query, id)
                .await
                .ok()
                .flatten()
                .and_then(|e| e.full_name)
            {
                names.insert(id, name);
            }
        }
    }
    let failures_run = recent
        .iter()
        .find(|r| r.status != RunStatus::Running && r.actions_failed > 0)
        .map(|r| r.id);
    let failures = match failures_run {
        Some(id) => super::runs::causes(&store.run_actions(id).await?),
        None => Vec::new(),
    };
    Ok(View {
        paused: store.paused().await?,
        last,
        running,
        next_run: status.next_run,
        held,
        planned,
        plan_error,
        listings,
        findings,
        unapplied,
        names,
        failures_run,
        failures,
    })
}

fn render(viewer: &Viewer, v: &View) -> Markup {
    let creates: Vec<&ActionRecord> = v
        .unapplied
        .iter()
        .filter(|a| a.kind == ActionKind::Create)
        .collect();
    let blocks: Vec<&ActionRecord> = v
        .unapplied
        .iter()
        .filter(|a| a.kind == ActionKind::Block)
        .collect();
    html! {
        @if let Some(p) = &v.paused {
            div #paused.banner role="alert" {
                strong { "Enforcement paused" } " since " (when(p.paused_at)) " by " (p.paused_by) ": " (p.reason) ". "
                "Runs plan and record, and apply nothing, until " code { "rosterd resume" } " (or "
                code { "POST /api/v1/resume" } ")."
                @if let Some(run) = p.run_id { " " a href={ "/ui/runs/" (run) } { "The rollback run" } "." }
            }
        }
        div.grid {
            section #last-run.card {
                h2 { "Last run" }
                @match &v.last {
                    None => p { "No run yet." },
                    Some(r) => {
                        p.big { a href={ "/ui/runs/" (r.id) } { "Run " (r.id) } " " (badge(r.status.as_str()))
                            @if r.dry_run { " " span.badge.neutral { "dry run" } } }
                        dl {
                            dt { "Started" } dd { (when(r.started_at)) }
                            dt { "Trigger" } dd { (r.trigger) }
                            dt { "Duration" } dd { (duration(r.started_at, r.finished_at)) }
                            dt { "Employees / accounts" } dd { (opt(r.employees_seen)) " / " (opt(r.auth0_users_seen)) }
                            dt { "Actions" } dd { (r.actions_planned) " planned, " (r.actions_succeeded) " succeeded, " (r.actions_failed) " failed" }
                            dt { "Findings" } dd { (r.findings_count) }
                            @if let Some(e) = &r.error { dt { "Error" } dd.error { (e) } }
                            @if let Some(h) = &r.held_reason { dt { "Held because" } dd { (h) } }
                        }
                    }
                }
            }
            section #next-run.card {
                h2 { "Now and next" }
                @match &v.running {
                    Some((id, by)) => p { "Run " a href={ "/ui/runs/" (id) } { (id) } " is in progress (" (by) ")." },
                    None => p { "No run in progress." },
                }
                @match v.next_run {
                    Some(t) => p { "Next scheduled run: " (when(t)) },
                    None => p { "No scheduled run from this replica." },
                }
                @if !viewer.read_only {
                    div.actions {
                        form #run-now method="post" action="/ui/runs" {
                            (csrf(viewer))
                            input type="hidden" name="dry_run" value="false";
                            button type="submit" { "Run now" }
                        }
                        form #dry-run method="post" action="/ui/runs" {
                            (csrf(viewer))
                            input type="hidden" name="dry_run" value="true";
                            button.secondary type="submit" { "Dry run" }
                        }
                    }
                }
            }
        }
        section #held.card {
            h2 { "Held runs waiting for a decision (" (v.held.len()) ")" }
            @if v.held.is_empty() { p { "None." } }
            ul {
                @for r in &v.held {
                    li { a href={ "/ui/runs/" (r.id) } { "Run " (r.id) } ", " (when(r.started_at)) ": "
                        (r.held_reason.as_deref().unwrap_or("held")) }
                }
            }
        }
        section #findings.card {
            h2 { "Findings" @if let Some(r) = &v.planned { " of run " a href={ "/ui/runs/" (r.id) } { (r.id) } } }
            @if v.findings.is_empty() { p { "Nothing waits for a person." } }
            @if let Some(e) = &v.plan_error { p.error { (e) ": its findings cannot be shown by this version." } }
            @if v.listings > 0 {
                p.hint { (v.listings) " more findings are listings, not cases: "
                    a href="/ui/triage?kind=employee_without_podfactory_user" { "employees without a PodFactory user" } "." }
            }
            div.scroll { table {
                @if !v.findings.is_empty() {
                    thead { tr { th { "Kind" } th.num { "Open" } th.num { "Acknowledged" } } }
                }
                tbody {
                    @for (kind, (open, acked)) in &v.findings {
                        tr {
                            td { a href={ "/ui/triage?kind=" (kind.as_str()) } { (kind.as_str()) } }
                            td.num { (open) }
                            td.num { (acked) }
                        }
                    }
                }
            } }
        }
        div.grid {
            section #without-account.card {
                h2 { "Employees without an account (" (creates.len()) ")" }
                (action_list(&creates, &v.names, "None: every active employee has an account."))
            }
            section #inactive-live.card {
                h2 { "Inactive employees with a live account (" (blocks.len()) ")" }
                (action_list(&blocks, &v.names, "None: every leaver's account is blocked."))
            }
        }
        section #failures.card {
            h2 { "Recent failures" @if let Some(id) = v.failures_run { " (run " a href={ "/ui/runs/" (id) } { (id) } ")" } }
            @if v.failures.is_empty() { p { "No failed actions in the recent runs." } }
            (super::runs::causes_table(&v.failures))
        }
    }
}

/// Unapplied actions listed per kind; the rest are counted.
const SHOWN: usize = 50;

fn action_list(actions: &[&ActionRecord], names: &HashMap<i64, String>, empty: &str) -> Markup {
    html! {
        @if actions.is_empty() { p { (empty) } }
        ul {
            @for a in actions.iter().take(SHOWN) {
                li {
                    @if let Some(id) = a.employee_id {
                        @if let Some(name) = names.get(&id) { strong { (name) } " (" (employee_link(id)) ")" }
                        @else { (employee_link(id)) }
                    } @else { "?" }
                    ": " (a.reason) " " (badge(a.status.as_str()))
                    @if let Some(e) = &a.error { " " span.error { (e) } }
                }
            }
        }
        @if actions.len() > SHOWN { p { "… and " (actions.len() - SHOWN) " more." } }
    }
}

fn opt(n: Option<i64>) -> String {
    n.map_or_else(|| "—".into(), |n| n.to_string())
}
