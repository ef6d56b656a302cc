//! Runs: the list, one run's plan and actions, and the decision on a held
//! run.

use super::layout::{badge, csrf, duration, employee_link, tone, when, Page};
use super::session::Viewer;
use super::{done, failed, internal, Decision, Flashed, UiState};
use crate::held::DecisionError;
use crate::outcome::ActionStatus;
use crate::plan::ActionKind;
use crate::run::{RunError, RunOptions, RunStatus, Trigger};
use crate::store::{ActionRecord, RunRecord};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

const PAGE_SIZE: i64 = 25;
/// Rows shown per action kind on a run's page; the rest are counted.
const ROWS_PER_KIND: usize = 500;
/// Employees a held run would block whose names are looked up.
const NAMED: usize = 200;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    trigger: Option<String>,
    before: Option<i64>,
}

pub(super) async fn list(
    State(state): State<UiState>,
    viewer: Viewer,
    flashed: Flashed,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let ListQuery {
        status: status_raw,
        trigger: trigger_raw,
        before,
    } = match super::query(q, &viewer, "Runs") {
        Ok(q) => q,
        Err(page) => return *page,
    };
    let status = match super::vocabulary_param::<RunStatus>(
        status_raw.as_deref(),
        "status",
        &viewer,
        "Runs",
    ) {
        Ok(s) => s,
        Err(page) => return *page,
    };
    let trigger = match super::vocabulary_param::<Trigger>(
        trigger_raw.as_deref(),
        "trigger",
        &viewer,
        "Runs",
    ) {
        Ok(t) => t,
        Err(page) => return *page,
    };
    let runs = match state
        .app
        .ctx
        .store
        .list_runs_page(status, trigger, before, PAGE_SIZE)
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(&viewer, e),
    };
    let older = (runs.len() as i64 == PAGE_SIZE)
        .then(|| runs.last().map(|r| r.id))
        .flatten();
    let filter = format!(
        "{}{}",
        status.map(|s| format!("&status={s}")).unwrap_or_default(),
        trigger.map(|t| format!("&trigger={t}")).unwrap_or_default()
    );
    flashed.onto(Page::new("Runs")).render(
        Some(&viewer),
        html! {
            form.filters method="get" action="/ui/runs" {
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" selected[status.is_none()] { "any" }
                    @for s in RunStatus::ALL {
                        option value=(s.as_str()) selected[status == Some(*s)] { (s.as_str()) }
                    }
                }
                label for="trigger" { "Trigger" }
                select #trigger name="trigger" {
                    option value="" selected[trigger.is_none()] { "any" }
                    @for t in Trigger::ALL {
                        option value=(t.as_str()) selected[trigger == Some(*t)] { (t.as_str()) }
                    }
                }
                button.secondary type="submit" { "Filter" }
            }
            @if runs.is_empty() { p { "No runs." } }
            @else {
                div.scroll {
                    table #runs {
                        thead { tr { th { "Run" } th { "Started" } th { "Trigger" } th { "Status" } th { "Duration" }
                            th.num { "Planned" } th.num { "Succeeded" } th.num { "Failed" } th.num { "Findings" } } }
                        tbody {
                            @for r in &runs {
                                tr {
                                    td { a href={ "/ui/runs/" (r.id) } { (r.id) } }
                                    td { (when(r.started_at)) }
                                    td { (r.trigger) @if r.dry_run { " (dry run)" } }
                                    td { (badge(r.status.as_str())) }
                                    td { (duration(r.started_at, r.finished_at)) }
                                    td.num { (r.actions_planned) }
                                    td.num { (r.actions_succeeded) }
                                    td.num { (r.actions_failed) }
                                    td.num { (r.findings_count) }
                                }
                            }
                        }
                    }
                }
            }
            p.pager {
                @if before.is_some() { a href={ "/ui/runs?" (filter.trim_start_matches('&')) } { "Newest" } " " }
                @if let Some(id) = older { a href={ "/ui/runs?before=" (id) (filter) } { "Older" } }
            }
        },
    )
}

pub(super) async fn detail(
    State(state): State<UiState>,
    viewer: Viewer,
    flashed: Flashed,
    Path(raw): Path<String>,
) -> Response {
    let Ok(id) = raw.parse::<i64>() else {
        return not_found(&viewer, &raw);
    };
    let store = &state.app.ctx.store;
    let run = match store.get_run(id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(&viewer, &raw),
        Err(e) => return internal(&viewer, e),
    };
    let actions = match store.run_actions(id).await {
        Ok(a) => a,
        Err(e) => return internal(&viewer, e),
    };
    let plan = match store.stored_plan(&run).await {
        Ok(plan) => plan,
        Err(e) => return internal(&viewer, e),
    };
    // Who a held run would block, by name: what the approver decides on
    // (looked up one by one, so for a page's worth).
    let mut names = HashMap::new();
    if was_held(&run) {
        let query = state.app.ctx.settings.database.employees_query.as_deref();
        let blocked = actions.iter().filter(|a| a.kind == ActionKind::Block);
        for id in blocked.filter_map(|a| a.employee_id).take(NAMED) {
            if let Ok(Some(e)) = store.employee(query, id).await {
                names.insert(
                    id,
                    (
                        e.full_name.unwrap_or_default(),
                        e.department.unwrap_or_default(),
                    ),
                );
            }
        }
    }
    // A run in progress: the page follows it, with no script.
    let mut page = flashed.onto(Page::new(format!("Run {id}")));
    if run.status == RunStatus::Running {
        page = page.refresh(3);
    }
    page.render(
        Some(&viewer),
        render_run(&viewer, &run, &actions, plan, &names),
    )
}

fn not_found(viewer: &Viewer, raw: &str) -> Response {
    Page::new("Run not found")
        .status(StatusCode::NOT_FOUND)
        .error(format!("There is no run {raw}."))
        .render(
            Some(viewer),
            html! { p { a href="/ui/runs" { "All runs" } } },
        )
}

/// Held when it ran (awaiting a decision, or decided since).
fn was_held(r: &RunRecord) -> bool {
    r.held_reason.is_some()
}

/// An approval run's held run, approver and note, from its summary.
fn approval_of(r: &RunRecord) -> Option<(i64, String, Option<String>)> {
    let summary: serde_json::Value = serde_json::from_str(r.summary.as_deref()?).ok()?;
    let a = &summary["approval"];
    Some((
        a["held_run_id"].as_i64()?,
        a["approved_by"].as_str()?.to_string(),
        summary["approval_note"].as_str().map(str::to_string),
    ))
}

fn render_run(
    viewer: &Viewer,
    r: &RunRecord,
    actions: &[ActionRecord],
    plan: Result<Option<crate::plan::Plan>, crate::store::StoredPlanError>,
    names: &HashMap<i64, (String, String)>,
) -> Markup {
    let awaiting = r.status == RunStatus::Held && !r.dry_run;
    let blocks: Vec<&ActionRecord> = actions
        .iter()
        .filter(|a| a.kind == ActionKind::Block)
        .collect();
    html! {
        section.card {
            p.big { "Status: " span #run-status class={ "badge " (tone(r.status.as_str())) } { (r.status.as_str()) }
                @if r.dry_run { " " span.badge.neutral { "dry run" } } }
            @if r.status == RunStatus::Running { p.hint { "In progress: this page reloads every 3 s until the run ends." } }
            dl {
                dt { "Trigger" } dd { (r.trigger) }
                dt { "Mode" } dd { (r.mode) @if r.dry_run { " (a dry run: nothing applied)" } }
                dt { "Started" } dd { (when(r.started_at)) }
                dt { "Duration" } dd { (duration(r.started_at, r.finished_at)) }
                dt { "Employees / accounts seen" } dd { (r.employees_seen.map_or("—".into(), |n| n.to_string())) " / " (r.auth0_users_seen.map_or("—".into(), |n| n.to_string())) }
                dt { "Actions" } dd { (r.actions_planned) " planned, " (r.actions_succeeded) " succeeded, " (r.actions_failed) " failed" }
                dt { "Findings" } dd { (r.findings_count) }
                @if let Some(e) = &r.error { dt { "Error" } dd.error { (e) } }
                @if let (Some(by), Some(at)) = (&r.approved_by, r.approved_at) {
                    dt { @if r.status == RunStatus::Rejected { "Rejected by" } @else { "Approved by" } }
                    dd { (by) ", " (when(at)) }
                }
                @if let Some((held, by, note)) = approval_of(r) {
                    dt { "Approval" }
                    dd #approval-of { "of held run " a href={ "/ui/runs/" (held) } { (held) } ", by " (by)
                        @if let Some(note) = note { "; " (note) } }
                }
            }
        }
        @if let Some(reason) = &r.held_reason {
            section.card.held {
                h2 { "Held" }
                p #held-reason { (reason) }
                h3 { "Accounts it would block (" (blocks.len()) ")" }
                @if blocks.is_empty() { p { "None." } }
                div.scroll {
                    table #would-block {
                        thead { tr { th { "Employee" } th { "Name" } th { "Department" } th { "Auth0 account" } th { "Why" } } }
                        tbody {
                            @for a in &blocks {
                                @let (name, department) = a.employee_id.and_then(|e| names.get(&e)).cloned().unwrap_or_default();
                                tr {
                                    td { @if let Some(e) = a.employee_id { (employee_link(e)) } }
                                    td { (name) }
                                    td { (department) }
                                    td { code { (a.auth0_user_id.as_deref().unwrap_or("")) } }
                                    td { (a.reason) }
                                }
                            }
                        }
                    }
                }
                @if awaiting && !viewer.read_only {
                    div.actions {
                        // A rollback's accounts are no plan a run recomputes.
                        @if r.trigger == Trigger::Rollback.as_str() {
                            p.hint #rollback-approve { "A held rollback is applied by running the same " code { "rosterd rollback" } " with " code { "--approve" } "." }
                        } @else {
                        form #approve method="post" action={ "/ui/runs/" (r.id) "/approve" } {
                            (csrf(viewer))
                            p.hint { "Approving applies this plan now if nothing changed since; otherwise the fresh plan faces the guard again." }
                            label.check { input type="checkbox" name="confirm" value="yes" required;
                                " Yes: apply " (r.actions_planned) " actions, blocking " (blocks.len()) " accounts" }
                            button type="submit" { "Approve and apply" }
                        }
                        }
                        form #reject method="post" action={ "/ui/runs/" (r.id) "/reject" } {
                            (csrf(viewer))
                            label for="reason" { "Reason (optional)" }
                            textarea #reason name="reason" rows="2" maxlength="1000" {}
                            p.hint { "Rejecting closes the run; the same plan is not held again until it changes." }
                            button.danger type="submit" { "Reject" }
                        }
                    }
                }
            }
        }
        section #actions.card {
            h2 { "Actions (" (actions.len()) ")" }
            @if actions.is_empty() { p { "This run planned no action." } }
            // What takes access away or changes it first; creates are many
            // and routine.
            @for kind in [ActionKind::Block, ActionKind::Unblock, ActionKind::Update, ActionKind::Link, ActionKind::Create] {
                @let of_kind: Vec<&ActionRecord> = actions.iter().filter(|a| a.kind == kind).collect();
                @if !of_kind.is_empty() {
                    details open[of_kind.len() <= 50] {
                    summary { h3 { (kind.as_str()) " (" (of_kind.len()) ")" } }
                    div.scroll {
                        table.action-list {
                            thead { tr { th.num { "#" } th { "Employee" } th { "Account" } th { "Reason" } th { "Outcome" } th { "Error" } } }
                            tbody {
                                @for a in of_kind.iter().take(ROWS_PER_KIND) {
                                    tr {
                                        td.num { (a.seq) }
                                        td { @if let Some(e) = a.employee_id { (employee_link(e)) } }
                                        td { code { (a.auth0_user_id.as_deref().unwrap_or("")) } }
                                        td { (a.reason) }
                                        td { (badge(a.status.as_str())) }
                                        td.error { (a.error.as_deref().unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                    @if of_kind.len() > ROWS_PER_KIND { p { "… and " (of_kind.len() - ROWS_PER_KIND) " more (the API has them all: GET /api/v1/runs/" (r.id) ")." } }
                    }
                }
            }
        }
        @let failures = causes(actions);
        @if !failures.is_empty() {
            section.card { h2 { "Failures by cause" } (causes_table(&failures)) }
        }
        section #plan-findings.card {
            h2 { "Findings" }
            @match &plan {
                Err(e) => p.error { "The stored plan cannot be read: " (e) },
                Ok(None) => @match r.plan_dropped_at {
                    Some(at) => p { "Not kept: only the newest runs keep their plan (" code { "reconcile.keep_plans" } "); this one's was dropped " (when(at)) "." },
                    None => p { "This run did not get as far as planning." },
                },
                Ok(Some(p)) if p.findings.is_empty() => p { "None." },
                Ok(Some(p)) => {
                    p { (p.findings.len()) " findings. The latest run's are in " a href="/ui/triage" { "Triage" } "." }
                    details {
                        summary { "Show them" }
                        ul { @for f in p.findings.iter().take(ROWS_PER_KIND) { li { code { (f.kind.as_str()) } ": " (f.detail) } } }
                    }
                }
            }
        }
    }
}

/// Failed actions of one kind and one error, the largest group first.
pub(super) struct Cause {
    pub kind: ActionKind,
    pub error: String,
    pub employees: Vec<i64>,
}

pub(super) fn causes(actions: &[ActionRecord]) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::new();
    for a in actions.iter().filter(|a| a.status == ActionStatus::Failed) {
        let error = a.error.as_deref().unwrap_or("(no error recorded)");
        let i = match out
            .iter()
            .position(|c| c.kind == a.kind && c.error == error)
        {
            Some(i) => i,
            None => {
                out.push(Cause {
                    kind: a.kind,
                    error: error.to_string(),
                    employees: Vec::new(),
                });
                out.len() - 1
            }
        };
        out[i].employees.extend(a.employee_id);
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.employees.len()));
    out
}

pub(super) fn causes_table(causes: &[Cause]) -> Markup {
    const NAMED: usize = 20;
    html! {
        @if !causes.is_empty() {
            div.scroll {
                table.causes {
                    thead { tr { th.num { "Failed" } th { "Action" } th { "Error" } th { "Employees" } } }
                    tbody {
                        @for c in causes {
                            tr {
                                td.num { (c.employees.len()) }
                                td { (c.kind.as_str()) }
                                td.error { (c.error) }
                                td {
                                    @for (i, e) in c.employees.iter().take(NAMED).enumerate() {
                                        @if i > 0 { ", " }
                                        a href={ "/ui/employees/" (e) } { (e) }
                                    }
                                    @if c.employees.len() > NAMED { ", … " (c.employees.len() - NAMED) " more" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) async fn trigger(State(state): State<UiState>, d: Decision) -> Response {
    let dry_run = match d.text("dry_run") {
        Some("true") => true,
        Some("false") | None => false,
        Some(other) => {
            return failed(
                &state,
                "/ui",
                format!("dry_run must be true or false, not {other:?}; no run was started."),
            )
        }
    };
    match state
        .app
        .driver
        .start(RunOptions::new(Trigger::Http, dry_run))
        .await
    {
        Ok(id) => {
            tracing::info!(actor = %d.viewer.actor, run_id = id, dry_run, "run triggered from the console");
            state
                .app
                .ctx
                .audit(&d.viewer.actor, "trigger_run", Some(&id.to_string()))
                .await;
            let what = if dry_run { "Dry run" } else { "Run" };
            // A held run still waits for a decision: say so.
            let waiting = state
                .app
                .ctx
                .store
                .list_runs_page(Some(RunStatus::Held), None, None, 5)
                .await
                .ok()
                .and_then(|r| r.into_iter().find(|r| !r.dry_run && r.id != id));
            let note = waiting
                .map(|r| format!(" Run {} is still held waiting for a decision.", r.id))
                .unwrap_or_default();
            done(
                &state,
                &format!("/ui/runs/{id}"),
                format!("{what} {id} started.{note}"),
            )
        }
        Err(e) => failed(&state, "/ui", start_failure(&e)),
    }
}

fn start_failure(e: &RunError) -> String {
    match e {
        RunError::AlreadyRunning(Some(r)) => format!(
            "Run {} is in progress; try again when it has finished.",
            r.id
        ),
        RunError::AlreadyRunning(None) => {
            "A run is in progress; try again when it has finished.".into()
        }
        RunError::ShuttingDown => "rosterd is shutting down.".into(),
        RunError::Decided { .. } => format!("{e}."),
        other => {
            tracing::error!(error = %crate::telemetry::error_chain(other), "console: run did not start");
            "The run did not start; the rosterd log says why.".into()
        }
    }
}

fn decision_failure(e: &DecisionError) -> String {
    match e {
        DecisionError::Store(_) => {
            tracing::error!(error = %crate::telemetry::error_chain(e), "console: decision failed");
            "The decision could not be recorded; the rosterd log says why.".into()
        }
        other => other.to_string(),
    }
}

pub(super) async fn approve(
    State(state): State<UiState>,
    Path(raw): Path<String>,
    d: Decision,
) -> Response {
    // Parsed here, not by the extractor: its rejection would be the API's JSON.
    let Ok(id) = raw.parse::<i64>() else {
        return failed(&state, "/ui/runs", format!("{raw:?} is not an id."));
    };
    let back = format!("/ui/runs/{id}");
    // A held plan blocks many at once: asked twice, in the form itself.
    if d.text("confirm") != Some("yes") {
        return failed(
            &state,
            &back,
            "Tick the box to confirm: approving applies every action of the plan.",
        );
    }
    let store = &state.app.ctx.store;
    let opts = match crate::held::approval(store, id, &d.viewer.actor).await {
        Ok(o) => o,
        Err(e) => return failed(&state, &back, decision_failure(&e)),
    };
    match state.app.driver.start(opts).await {
        // Recorded and audited as the run opens (`run::open_run`).
        Ok(run) => done(
            &state,
            &format!("/ui/runs/{run}"),
            format!(
                "Run {id} approved by {}; run {run} applies it.",
                d.viewer.actor
            ),
        ),
        Err(e) => failed(&state, &back, start_failure(&e)),
    }
}

pub(super) async fn reject(
    State(state): State<UiState>,
    Path(raw): Path<String>,
    d: Decision,
) -> Response {
    // Parsed here, not by the extractor: its rejection would be the API's JSON.
    let Ok(id) = raw.parse::<i64>() else {
        return failed(&state, "/ui/runs", format!("{raw:?} is not an id."));
    };
    let back = format!("/ui/runs/{id}");
    let reason = d.text("reason");
    if reason.is_some_and(|r| r.chars().count() > 1000) {
        return failed(&state, &back, "The reason must be at most 1000 characters.");
    }
    match crate::held::reject(&state.app.ctx.store, id, &d.viewer.actor, reason).await {
        Ok(rejection) => {
            tracing::warn!(actor = %d.viewer.actor, held_run = id, "held run rejected in the console");
            let note = &rejection.note;
            state.app.ctx.audit(&d.viewer.actor, "reject_run", Some(&format!("{id}: {note}"))).await;
            done(
                &state,
                &back,
                format!(
                    "Run {id} {note}{}. The same plan is not held again until it changes.",
                    rejection.also_text()
                ),
            )
        }
        Err(e) => failed(&state, &back, decision_failure(&e)),
    }
    .into_response()
}
