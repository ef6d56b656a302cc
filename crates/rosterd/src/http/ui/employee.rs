//! One employee: the row, their Auth0 account(s), PodFactory links with
//! history, the mapping audit, recent actions, and credentials shown once.

use super::layout::{badge, csrf, when, Page};
use super::session::Viewer;
use super::{failed, internal, Decision, Flashed, UiState, SHOW_ONCE_WITHIN};
use crate::http::auth::Actor;
use crate::http::{ApiError, Issued};
use crate::model::{Auth0User, Auth0UserId};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use rand::RngCore;
use serde::Deserialize;
use std::time::Instant;

#[derive(Deserialize)]
pub(super) struct FindQuery {
    id: Option<String>,
}

/// The header's "Employee id" box.
pub(super) async fn find(
    viewer: Viewer,
    q: Result<Query<FindQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let raw = q.ok().and_then(|Query(q)| q.id).unwrap_or_default();
    match raw.trim().parse::<i64>() {
        Ok(id) => Redirect::to(&format!("/ui/employees/{id}")).into_response(),
        Err(_) => Page::new("Find an employee")
            .status(StatusCode::BAD_REQUEST)
            .error(format!("An employee id is a number, not {:?}.", raw.trim()))
            .render(Some(&viewer), html! {}),
    }
}

fn api_error_page(viewer: &Viewer, e: ApiError) -> Response {
    if e.status.is_server_error() && e.code == "internal" {
        return internal(viewer, &e.message);
    }
    Page::new("Employee")
        .status(e.status)
        .error(e.message)
        .render(Some(viewer), html! {})
}

pub(super) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    flashed: Flashed,
    Path(raw): Path<String>,
) -> Response {
    let Ok(id) = raw.parse::<i64>() else {
        return api_error_page(
            &viewer,
            ApiError::not_found(format!("There is no employee {raw:?}.")),
        );
    };
    let app = &state.app;
    let mut e = match crate::http::find_employee(app, id).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return api_error_page(&viewer, ApiError::not_found(format!("no employee {id}")))
        }
        Err(err) => return api_error_page(&viewer, err),
    };
    let store = &app.ctx.store;
    // Every account carrying the employee's id (asked once: it also tells
    // which is theirs without a write-back target), and the recorded one.
    let mut accounts: Vec<Auth0User> = Vec::new();
    let mut account_error = None;
    match app.ctx.auth0.users_with_employee_id(id).await {
        Ok(found) => accounts = found,
        Err(err) => account_error = Some(err.to_string()),
    }
    crate::http::link_found_account(app, &mut e, &accounts);
    if let Some(uid) = &e.auth0_user_id {
        if !accounts.iter().any(|a| &a.user_id.0 == uid) {
            match app.ctx.auth0.get_user(&Auth0UserId(uid.clone())).await {
                Ok(u) => accounts.insert(0, u),
                Err(err) => account_error = Some(format!("{uid}: {err}")),
            }
        }
    }
    let (links, audit, actions) = match tokio::try_join!(
        store.podfactory_link_history(id),
        store.employee_audit(id),
        store.employee_actions(id, 20),
    ) {
        Ok(x) => x,
        Err(err) => return internal(&viewer, err),
    };
    let name = e
        .full_name
        .clone()
        .unwrap_or_else(|| format!("Employee {id}"));
    let excluded = |a: &Auth0User| app.ctx.exclusions.reason(a);
    let employee_excluded = app.ctx.settings.policy.exclude.employee_ids.contains(&id);
    // No button for what policy.exclude leaves alone (the API refuses it).
    let recorded_excluded = accounts
        .iter()
        .any(|a| e.auth0_user_id.as_deref() == Some(a.user_id.0.as_str()) && excluded(a).is_some());
    let can_issue = !viewer.read_only
        && e.is_active
        && e.auth0_user_id.is_some()
        && !employee_excluded
        && !recorded_excluded;
    flashed.onto(Page::new(name)).render(
        Some(&viewer),
        html! {
            section #employee.card {
                h2 { "Employee " (id) }
                dl {
                    dt { "Name" } dd { (e.full_name.as_deref().unwrap_or("—")) }
                    dt { "Email" } dd { (e.email.as_deref().unwrap_or("—")) }
                    dt { "Department" } dd { (e.department.as_deref().unwrap_or("—")) }
                    dt { "Workspace" } dd { (e.workspace.as_deref().unwrap_or("—")) }
                    dt { "Role code" } dd { (e.role_code.as_deref().unwrap_or("—")) }
                    dt { "Active" } dd { @if e.is_active { "yes" } @else { "no (a leaver)" } }
                    dt { "Recorded Auth0 account" } dd { code { (e.auth0_user_id.as_deref().unwrap_or("none")) } }
                    @if employee_excluded {
                        dt { "Excluded" } dd { "yes: policy.exclude.employee_ids (never provisioned nor blocked)" }
                    }
                }
            }
            section #accounts.card {
                h2 { "Auth0 account(s) (" (accounts.len()) ")" }
                @if let Some(err) = &account_error { p.error { "Auth0 could not be asked: " (err) } }
                @if accounts.is_empty() && account_error.is_none() { p { "No account carries this employee's id." } }
                @if accounts.len() > 1 { p.flash.error { "More than one account: see the duplicate_account finding in " a href="/ui/triage?kind=duplicate_account" { "Triage" } "." } }
                @for a in &accounts { (account(a, excluded(a).as_deref())) }
                @if can_issue {
                    form #issue-credentials method="post" action={ "/ui/employees/" (id) "/credentials" } {
                        (csrf(&viewer))
                        p.hint { @if app.ctx.settings.serve.credentials == "ticket" {
                            "Issues a password-change ticket (a link) for this account, shown once."
                        } @else {
                            "Sets a new generated password on this account and shows it once; rosterd keeps no copy."
                        } }
                        label.check { input type="checkbox" name="confirm" value="yes" required; " Yes: replace "
                            (e.full_name.as_deref().unwrap_or("this employee")) "'s sign-in credentials now" }
                        button type="submit" { "Issue credentials" }
                    }
                }
            }
            section #podfactory.card {
                h2 { "PodFactory links (history, newest first)" }
                @if links.is_empty() { p { "No PodFactory user has been linked." } }
                @else {
                    div.scroll { table {
                        thead { tr { th { "PodFactory user" } th { "Name" } th { "Email" } th { "Matched by" } th.num { "Confidence" } th { "From" } th { "Until" } } }
                        tbody { @for l in &links { tr {
                            td { code { (l.podfactory_user_id) } }
                            td { (l.podfactory_name.as_deref().unwrap_or("")) }
                            td { (l.podfactory_email.as_deref().unwrap_or("")) }
                            td { (l.matched_by) }
                            td.num { (format!("{:.2}", l.confidence)) }
                            td { (when(l.created_at)) }
                            td { @match l.superseded_at { Some(t) => (when(t)), None => span.badge.good { "current" } } }
                        } } }
                    } }
                }
            }
            section #audit.card {
                h2 { "Mapping audit" }
                @if audit.is_empty() { p { "No audit rows." } }
                @else {
                    div.scroll { table {
                        thead { tr { th { "Auth0 account" } th { "Employee email" } th { "PodFactory email" } th { "Matched by" } th { "Matched" } th { "Last verified" } } }
                        tbody { @for a in &audit { tr {
                            td { code { (a.auth0_user_id) } }
                            td { (a.productivity_email.as_deref().unwrap_or("")) }
                            td { (a.podfactory_email.as_deref().unwrap_or("")) }
                            td { (a.matched_by) }
                            td { (when(a.matched_at)) }
                            td { (when(a.last_verified)) }
                        } } }
                    } }
                }
            }
            section #recent-actions.card {
                h2 { "Recent actions" }
                @if actions.is_empty() { p { "No action has been planned for this employee." } }
                @else {
                    div.scroll { table {
                        thead { tr { th { "Run" } th { "Action" } th { "Reason" } th { "Outcome" } th { "Error" } } }
                        tbody { @for (run, a) in &actions { tr {
                            td { a href={ "/ui/runs/" (run) } { (run) } }
                            td { (a.kind.as_str()) }
                            td { (a.reason) }
                            td { (badge(a.status.as_str())) }
                            td.error { (a.error.as_deref().unwrap_or("")) }
                        } } }
                    } }
                }
            }
        },
    )
}

/// An account; `excluded` is the `policy.exclude` rule that leaves it alone.
fn account(a: &Auth0User, excluded: Option<&str>) -> Markup {
    html! {
        dl.account {
            dt { "Account" } dd { code { (a.user_id.0) } " " @if a.blocked { (badge("blocked")) } @else { span.badge.good { "live" } } }
            @if let Some(rule) = excluded {
                dt { "Excluded" } dd { "yes, by " (rule) ": rosterd never touches nor reports it" }
            }
            dt { "Email" } dd { (a.email.as_ref().map_or("—", |e| e.as_str())) @if a.email_verified { " (verified)" } }
            dt { "Name" } dd { (a.name.as_deref().unwrap_or("—")) }
            dt { "Created by" } dd { (a.app_metadata.created_by.as_deref().unwrap_or("—")) }
        }
    }
}

pub(super) async fn credentials(
    State(state): State<UiState>,
    Path(raw): Path<String>,
    d: Decision,
) -> Response {
    // Parsed here, not by the extractor: its rejection would be the API's JSON.
    let Ok(id) = raw.parse::<i64>() else {
        return failed(&state, "/ui", format!("{raw:?} is not an id."));
    };
    let back = format!("/ui/employees/{id}");
    // A password reset locks the person out of their current one: asked
    // twice, in the form itself (no script needed).
    if d.text("confirm") != Some("yes") {
        return failed(
            &state,
            &back,
            "Tick the box to confirm: issuing credentials replaces the employee's current ones.",
        );
    }
    let actor = Actor(d.viewer.actor.clone());
    let (employee, uid, issued) = match crate::http::issue_credentials(&state.app, id, &actor).await
    {
        Ok(x) => x,
        Err(e) => return failed(&state, &back, e.message),
    };
    let mut slot = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut slot);
    let slot = hex::encode(slot);
    {
        let mut waiting = state
            .console
            .shown_once
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        waiting.retain(|_, w| w.until > now);
        waiting.insert(
            slot.clone(),
            super::ShowOnce {
                actor: d.viewer.actor.clone(),
                until: now + SHOW_ONCE_WITHIN,
                employee_id: id,
                name: employee
                    .full_name
                    .unwrap_or_else(|| format!("employee {id}")),
                email: employee.email,
                account: uid.0,
                issued,
            },
        );
    }
    Redirect::to(&format!("/ui/credentials/{slot}")).into_response()
}

/// The issued credentials, once, to the person who asked; never cached.
pub(super) async fn show_once(
    State(state): State<UiState>,
    viewer: Viewer,
    Path(slot): Path<String>,
) -> Response {
    let taken = {
        let mut waiting = state
            .console
            .shown_once
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match waiting.get(&slot) {
            Some(w) if w.actor == viewer.actor => waiting.remove(&slot),
            _ => None,
        }
    };
    let page = Page::new("Credentials");
    match taken.filter(|w| w.until > Instant::now()) {
        None => page
            .status(StatusCode::GONE)
            .error("These credentials were already shown (or expired): rosterd shows them once and keeps no copy. Issue new ones from the employee's page.")
            .render(Some(&viewer), html! {}),
        Some(w) => {
            let (what, value) = match &w.issued {
                Issued::Password(p) => ("Password", p.expose()),
                Issued::Ticket(t) => ("Password-change link", t.expose()),
            };
            page.render(
                Some(&viewer),
                html! {
                    section.card {
                        p { "For " strong { (w.name) } " (" a href={ "/ui/employees/" (w.employee_id) } { "employee " (w.employee_id) } "), account " code { (w.account) } "." }
                        p { (what) ":" }
                        @if let Some(email) = &w.email { p { "Signs in as " code #sign-in-name { (email) } "." } }
                        p.credential { code #credential { (value) } }
                        p.flash role="status" { "Shown once: copy it now. rosterd keeps no copy, and reloading this page will not show it again." }
                    }
                },
            )
        }
    }
}
