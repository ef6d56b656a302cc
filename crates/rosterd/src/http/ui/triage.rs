//! Triage: one queue of everything waiting for a person, and the decisions
//! on it (link a PodFactory user, mark one not an employee, acknowledge a
//! finding). The decisions are `crate::triage`'s, shared with the API.

use super::layout::{badge, csrf, employee_link, when, Page};
use super::session::Viewer;
use super::{done, failed, internal, Decision, Flashed, UiState};
use crate::plan::{Finding, FindingKind};
use crate::triage::{QueueItem, TriageError};
use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

/// Items shown per page of one kind (the rest are counted).
const SHOWN: usize = 200;

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    kind: Option<String>,
    acknowledged: Option<String>,
}

pub(super) async fn queue(
    State(state): State<UiState>,
    viewer: Viewer,
    flashed: Flashed,
    q: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let QueueQuery {
        kind: kind_raw,
        acknowledged: acked_raw,
    } = match super::query(q, &viewer, "Triage") {
        Ok(q) => q,
        Err(page) => return *page,
    };
    let kind = match super::vocabulary_param::<FindingKind>(
        kind_raw.as_deref(),
        "kind",
        &viewer,
        "Triage",
    ) {
        Ok(k) => k,
        Err(page) => return *page,
    };
    let show_acked = acked_raw.as_deref() == Some("true");
    // Decisions come back to this same view (its filter kept).
    let mut here = String::from("/ui/triage");
    let mut sep = '?';
    if let Some(k) = kind {
        here.push_str(&format!("{sep}kind={k}"));
        sep = '&';
    }
    if show_acked {
        here.push_str(&format!("{sep}acknowledged=true"));
    }
    let all = match crate::triage::queue(&state.app.ctx, None, true).await {
        Ok(q) => q,
        Err(e @ TriageError::UnreadablePlan { .. }) => {
            return Page::new("Triage")
                .error(format!(
                    "{e}: this version cannot show its findings (a newer rosterd stored it?)."
                ))
                .render(Some(&viewer), html! { p { a href="/ui/runs" { "Runs" } } })
        }
        Err(e) => return internal(&viewer, e),
    };
    let open = |i: &&QueueItem| show_acked || i.acknowledged.is_none();
    let mut counts: Vec<(FindingKind, usize)> = FindingKind::ALL
        .iter()
        .map(|k| {
            (
                *k,
                all.items
                    .iter()
                    .filter(open)
                    .filter(|i| i.finding.kind == *k)
                    .count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    counts.sort_by_key(|(k, _)| *k);
    let mut items: Vec<&QueueItem> = all
        .items
        .iter()
        .filter(open)
        .filter(|i| kind.is_none_or(|k| i.finding.kind == k))
        .collect();
    // Newest first (the queue's order); of those seen at the same moment
    // (a first run), the cases a click can settle (a candidate to link).
    items.sort_by_key(|i| {
        (
            std::cmp::Reverse(i.first_seen_at),
            i.finding.candidates.is_empty(),
        )
    });
    let acked_total = all
        .items
        .iter()
        .filter(|i| i.acknowledged.is_some())
        .count();
    let kind_q = kind.map(|k| format!("kind={k}&")).unwrap_or_default();
    flashed.onto(Page::new("Triage")).render(
        Some(&viewer),
        html! {
            p.hint {
                "Everything rosterd will not decide by itself"
                @if let Some(r) = &all.run { ", from " a href={ "/ui/runs/" (r.id) } { "run " (r.id) } " (" (when(r.started_at)) ")" }
                ". A decision takes effect on the next run."
            }
            @if !viewer.read_only {
                form #run-now.inline method="post" action="/ui/runs" {
                    (csrf(&viewer))
                    input type="hidden" name="dry_run" value="false";
                    button type="submit" { "Run now" }
                }
            }
            nav.kinds aria-label="Filter by kind" {
                a href={ "/ui/triage" @if show_acked { "?acknowledged=true" } } class=[kind.is_none().then_some("current")] { "All" }
                @if !all.held.is_empty() { a href="#held-runs" { "held runs (" (all.held.len()) ")" } }
                @for (k, n) in &counts {
                    a href={ "/ui/triage?kind=" (k.as_str()) @if show_acked { "&acknowledged=true" } }
                        class=[(kind == Some(*k)).then_some("current")] { (k.as_str()) " (" (n) ")" }
                }
                @if show_acked { a href={ "/ui/triage?" (kind_q) } { "Hide acknowledged" } }
                @else if acked_total > 0 { a href={ "/ui/triage?" (kind_q) "acknowledged=true" } { "Show acknowledged (" (acked_total) ")" } }
            }
            @if kind.is_none() && !all.held.is_empty() {
                section #held-runs {
                    h2 { "Held runs" }
                    @for r in &all.held {
                        article.item data-kind="held_run" {
                            p { (badge("held")) " " a href={ "/ui/runs/" (r.id) } { "Run " (r.id) } ", " (when(r.started_at)) }
                            p { (r.held_reason.as_deref().unwrap_or("")) }
                            p { a href={ "/ui/runs/" (r.id) } { "See what it would do, then approve or reject" } }
                        }
                    }
                }
            }
            @if items.is_empty() { p { "Nothing waits for a person." } }
            @for item in items.iter().take(SHOWN) { (render_item(&viewer, item, &here)) }
            @if items.len() > SHOWN { p { "… and " (items.len() - SHOWN) " more: filter by kind, or decide these first." } }
        },
    )
}

fn render_item(viewer: &Viewer, item: &QueueItem, here: &str) -> Markup {
    let f = &item.finding;
    html! {
        article.item id=(item.anchor) data-kind=(f.kind.as_str()) {
            p.kind { span.badge.neutral { (f.kind.as_str()) }
                @if let Some(t) = item.first_seen_at { " " span.hint { "first seen " (when(t)) } } }
            p.detail { (f.detail) }
            @if let Some(pf) = &f.podfactory_user_id {
                (podfactory_item(viewer, pf, f, here))
            } @else {
                (other_item(viewer, item, here))
            }
        }
    }
}

fn podfactory_item(viewer: &Viewer, pf: &str, f: &Finding, here: &str) -> Markup {
    let user = f.podfactory_user.as_ref();
    html! {
        div.pair {
            div.pf-user {
                h3 { "PodFactory user" }
                dl {
                    dt { "Id" } dd { code { (pf) } }
                    dt { "Name" } dd { (user.and_then(|u| u.name.as_deref()).unwrap_or("—")) }
                    dt { "Email" } dd { (user.and_then(|u| u.email.as_deref()).unwrap_or("—")) }
                    dt { "Role" } dd { (user.and_then(|u| u.role.as_deref()).unwrap_or("—")) }
                }
            }
            div.candidates {
                h3 { "Candidate employees (" (f.candidates.len()) ")" }
                @if f.candidates.is_empty() { p { "The matcher found no plausible employee." } }
                @for c in &f.candidates {
                    div.candidate {
                        // A plan stored before candidates carried who they
                        // are has only the id: say unknown, not "a leaver".
                        @let known = !c.name.is_empty();
                        p { strong { @if known { (c.name) } @else { "(name not recorded)" } } " · " (employee_link(c.employee_id.0)) }
                        dl {
                            dt { "Email" } dd { (or_dash(&c.email)) }
                            dt { "Department" } dd { (or_dash(&c.department)) }
                            dt { "Workspace" } dd { (or_dash(&c.workspace)) }
                            dt { "Active" } dd { @if !known { "—" } @else if c.is_active { "yes" } @else { "no (a leaver)" } }
                            dt { "Score" } dd { (format!("{:.2}", c.score)) }
                            dt { "Why" } dd { (c.reason) }
                        }
                        @if !viewer.read_only {
                            form.link-candidate method="post" action="/ui/triage/link" {
                                (csrf(viewer))
                                input type="hidden" name="back" value=(here);
                                input type="hidden" name="podfactory_user_id" value=(pf);
                                input type="hidden" name="employee_id" value=(c.employee_id.0);
                                button type="submit" { "Link" }
                            }
                        }
                    }
                }
            }
        }
        @if !viewer.read_only {
            div.actions {
                form.link-other method="post" action="/ui/triage/link" {
                    (csrf(viewer))
                                input type="hidden" name="back" value=(here);
                    input type="hidden" name="podfactory_user_id" value=(pf);
                    label { "Another employee id " input name="employee_id" type="number" min="1" required; }
                    button.secondary type="submit" { "Link" }
                }
                form.not-employee method="post" action="/ui/triage/not-employee" {
                    (csrf(viewer))
                                input type="hidden" name="back" value=(here);
                    input type="hidden" name="podfactory_user_id" value=(pf);
                    label { "Note " textarea name="note" rows="1" maxlength="1000" placeholder="e.g. packing-line kiosk" {} }
                    button.secondary type="submit" { "Not an employee" }
                }
            }
        }
    }
}

fn other_item(viewer: &Viewer, item: &QueueItem, here: &str) -> Markup {
    let f = &item.finding;
    html! {
        div.pair {
            div {
                h3 { "Employee" }
                p { @match f.employee_id { Some(e) => (employee_link(e.0)), None => "—" } }
            }
            div {
                h3 { "Auth0 account(s)" }
                @if f.auth0_user_ids.is_empty() { p { "—" } }
                ul { @for a in &f.auth0_user_ids { li { code { (a.0) } } } }
            }
        }
        p.fix { strong { "The fix: " } (fix(f.kind)) }
        @match &item.acknowledged {
            Some(ack) => {
                p.acked { "Acknowledged by " (ack.acked_by) ", " (when(ack.acked_at))
                    @if let Some(n) = &ack.note { ": " (n) } }
                @if !viewer.read_only {
                    form.unacknowledge method="post" action="/ui/triage/unacknowledge" {
                        (csrf(viewer))
                                input type="hidden" name="back" value=(here);
                        input type="hidden" name="key" value=(item.key);
                        button.secondary type="submit" { "Unacknowledge" }
                    }
                }
            }
            None => {
                @if !viewer.read_only {
                    form.acknowledge method="post" action="/ui/triage/acknowledge" {
                        (csrf(viewer))
                                input type="hidden" name="back" value=(here);
                        input type="hidden" name="key" value=(item.key);
                        label { "Note " textarea name="note" rows="1" maxlength="1000" placeholder="what was done, or why it stays" {} }
                        button.secondary type="submit" { "Acknowledge" }
                    }
                }
            }
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "—"
    } else {
        s
    }
}

/// What a person does about each kind of finding.
fn fix(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Orphaned => "if nobody uses the account, block or delete it in Auth0; if it is someone's, record it on their employee row (auth0_user_id).",
        FindingKind::DuplicateAccount => "keep one account: block the others in Auth0 (or clear their app_metadata.employee_id); the next run links the one left.",
        FindingKind::ConflictingEvidence => "make the evidence agree: the employee row's auth0_user_id, the account's app_metadata.employee_id and the email must name the same account.",
        FindingKind::DuplicateEmployeeEmail => "give each employee their own email in the Productivity System.",
        FindingKind::InvalidEmployee => "fix the row in the Productivity System (the detail says what is wrong); until then rosterd leaves that employee alone.",
        FindingKind::UnmatchedPodfactoryUser | FindingKind::AmbiguousPodfactoryUser => "link the user to an employee, or mark it not an employee.",
        FindingKind::EmployeeWithoutPodfactoryUser => "nothing, if they do not work on the floor; otherwise create their PodFactory user.",
        FindingKind::PodfactorySourceUnavailable => "check the PodFactory source (podfactory.url, podfactory.query, the network); matching is skipped until it answers.",
        FindingKind::InvalidPodfactoryRow => "fix the row in PodFactory or in podfactory.query (the detail says which row and what is wrong); until then that user is not matched.",
        FindingKind::UnmappedRoleCode => "create the Auth0 role for this code, or map the code to an existing role in the config.",
        FindingKind::PossibleRehire => "if it is not the same person, acknowledge: the next run gives them an account of their own. If it is, with the same email policy.possible_rehire = \"relink\" moves the account to the new id; otherwise move it by hand (clear auth0_user_id on the old row, set it on the new one and the account's app_metadata.employee_id to the new id), and think of a password reset.",
        FindingKind::NeverLoggedIn => "ask whether the person needs the login; if not, mark them inactive in the Productivity System.",
        FindingKind::StaleAccount => "ask whether the person still needs the login; an inactive employee's stale account can be blocked by policy (policy.stale_account = \"block\").",
        FindingKind::ReportedByPolicy => "do it by hand in Auth0 if it is right (the detail says what rosterd would do), or change the policy entry the detail names.",
        FindingKind::UnmanagedAccount => "nothing, if the account is meant to exist outside rosterd (exclude it under policy.exclude); otherwise record it on its employee's row.",
    }
}

fn triage_failure(e: &TriageError) -> String {
    match e {
        TriageError::Store(_) => {
            tracing::error!(error = %crate::telemetry::error_chain(e), "console: triage decision failed");
            "The decision could not be recorded; the rosterd log says why.".into()
        }
        other => other.to_string(),
    }
}

/// Where to go back to: the triage page the form was on, or the page it names.
fn back(d: &Decision) -> String {
    d.text("back")
        .filter(|b| super::is_console_path(b))
        .unwrap_or("/ui/triage")
        .to_string()
}

pub(super) async fn link(State(state): State<UiState>, d: Decision) -> Response {
    let to = back(&d);
    let Some(pf) = d.text("podfactory_user_id") else {
        return failed(&state, &to, "podfactory_user_id is missing");
    };
    let employee = match d.id("employee_id") {
        Ok(id) => id,
        Err(e) => return failed(&state, &to, e),
    };
    match crate::triage::link(&state.app.ctx, pf, employee, &d.viewer.actor).await {
        Ok(_) => done(&state, &to, format!("PodFactory user {pf} linked to employee {employee} by {}. The next run records the link.", d.viewer.actor)),
        Err(e) => failed(&state, &to, triage_failure(&e)),
    }
}

pub(super) async fn not_employee(State(state): State<UiState>, d: Decision) -> Response {
    let to = back(&d);
    let Some(pf) = d.text("podfactory_user_id") else {
        return failed(&state, &to, "podfactory_user_id is missing");
    };
    match crate::triage::not_employee(&state.app.ctx, pf, d.text("note"), &d.viewer.actor).await {
        Ok(_) => done(&state, &to, format!("PodFactory user {pf} marked not an employee: no longer matched, reported or emailed. Undo it under Mappings.")),
        Err(e) => failed(&state, &to, triage_failure(&e)),
    }
}

pub(super) async fn undo_not_employee(State(state): State<UiState>, d: Decision) -> Response {
    let to = back(&d);
    let Some(pf) = d.text("podfactory_user_id") else {
        return failed(&state, &to, "podfactory_user_id is missing");
    };
    match crate::triage::undo_not_employee(&state.app.ctx, pf, &d.viewer.actor).await {
        Ok(true) => done(
            &state,
            &to,
            format!("PodFactory user {pf} is matched again from the next run."),
        ),
        Ok(false) => failed(
            &state,
            &to,
            format!("PodFactory user {pf} was not marked not an employee."),
        ),
        Err(e) => failed(&state, &to, triage_failure(&e)),
    }
}

pub(super) async fn acknowledge(State(state): State<UiState>, d: Decision) -> Response {
    let to = back(&d);
    let Some(key) = d.text("key") else {
        return failed(&state, &to, "key is missing");
    };
    match crate::triage::acknowledge(&state.app.ctx, key, d.text("note"), &d.viewer.actor).await {
        Ok(_) => done(&state, &to, "Acknowledged: it stays out of the queue and the digest until you undo it (Show acknowledged)."),
        Err(e) => failed(&state, &to, triage_failure(&e)),
    }
}

pub(super) async fn unacknowledge(State(state): State<UiState>, d: Decision) -> Response {
    let to = back(&d);
    let Some(key) = d.text("key") else {
        return failed(&state, &to, "key is missing");
    };
    match crate::triage::unacknowledge(&state.app.ctx, key, &d.viewer.actor).await {
        Ok(true) => done(
            &state,
            &to,
            "No longer acknowledged: it is back in the queue and the next digest.",
        ),
        Ok(false) => failed(&state, &to, "That finding was not acknowledged."),
        Err(e) => failed(&state, &to, triage_failure(&e)),
    }
}
