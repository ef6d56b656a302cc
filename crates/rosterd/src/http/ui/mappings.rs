//! Manual mappings (PodFactory user → employee, made by a person) and the
//! PodFactory users marked not an employee: who decided, when; undo.

use super::layout::{csrf, when, Page};
use super::session::Viewer;
use super::{done, failed, internal, Decision, Flashed, UiState};
use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use std::collections::HashMap;

/// Mappings whose names are looked up.
const NAMED: usize = 200;

pub(super) async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    flashed: Flashed,
) -> Response {
    let store = &state.app.ctx.store;
    let (mappings, non_employees) =
        match tokio::try_join!(store.manual_mappings(), store.non_employees()) {
            Ok(x) => x,
            Err(e) => return internal(&viewer, e),
        };
    // Names beside the ids: the employee as the employees query has them,
    // the PodFactory user as its link recorded it (looked up one by one,
    // so only for a page's worth).
    let query = state.app.ctx.settings.database.employees_query.as_deref();
    let mut names: HashMap<i64, (Option<String>, Option<String>)> = HashMap::new();
    for m in mappings.iter().take(NAMED) {
        let employee = store
            .employee(query, m.employee_id)
            .await
            .ok()
            .flatten()
            .and_then(|e| e.full_name);
        let user = store
            .podfactory_links(m.employee_id)
            .await
            .ok()
            .and_then(|links| {
                links
                    .into_iter()
                    .find(|l| l.podfactory_user_id == m.podfactory_user_id)
            })
            .and_then(|l| l.podfactory_name);
        names.insert(m.id, (employee, user));
    }
    flashed.onto(Page::new("Mappings")).render(
        Some(&viewer),
        html! {
            section.card {
                h2 { "Manual mappings (" (mappings.len()) ")" }
                p.hint { "A manual mapping links a PodFactory user to an employee whatever the matcher thinks; the next run records the link. Make one from " a href="/ui/triage" { "Triage" } "." }
                @if mappings.is_empty() { p { "None." } }
                @else {
                    div.scroll { table #mappings {
                        thead { tr { th { "PodFactory user" } th { "Employee" } th { "By" } th { "When" } @if !viewer.read_only { th {} } } }
                        tbody { @for m in &mappings { tr {
                            @let (employee, user) = names.get(&m.id).cloned().unwrap_or_default();
                            td { code { (m.podfactory_user_id) } @if let Some(u) = user { " " (u) } }
                            td { a href={ "/ui/employees/" (m.employee_id) } { (employee.unwrap_or_else(|| format!("employee {}", m.employee_id))) } }
                            td { (m.created_by) }
                            td { (when(m.created_at)) }
                            @if !viewer.read_only {
                                td { form.delete-mapping.inline method="post" action={ "/ui/mappings/" (m.id) "/delete" } {
                                    (csrf(&viewer))
                                    button.danger type="submit" { "Delete" }
                                } }
                            }
                        } } }
                    } }
                }
            }
            section #non-employees.card {
                h2 { "Not employees (" (non_employees.len()) ")" }
                p.hint { "PodFactory users a person marked as not an employee (kiosk logins, temps, visitors): never matched, reported or emailed." }
                @if non_employees.is_empty() { p { "None." } }
                @else {
                    div.scroll { table {
                        thead { tr { th { "PodFactory user" } th { "Note" } th { "By" } th { "When" } @if !viewer.read_only { th {} } } }
                        tbody { @for n in &non_employees { tr {
                            td { code { (n.podfactory_user_id) } }
                            td { (n.note.as_deref().unwrap_or("")) }
                            td { (n.decided_by) }
                            td { (when(n.decided_at)) }
                            @if !viewer.read_only {
                                td { form.undo-not-employee.inline method="post" action="/ui/triage/undo-not-employee" {
                                    (csrf(&viewer))
                                    input type="hidden" name="podfactory_user_id" value=(n.podfactory_user_id);
                                    input type="hidden" name="back" value="/ui/mappings";
                                    button.secondary type="submit" { "Undo" }
                                } }
                            }
                        } } }
                    } }
                }
            }
        },
    )
}

pub(super) async fn delete(
    State(state): State<UiState>,
    Path(raw): Path<String>,
    d: Decision,
) -> Response {
    let Ok(id) = raw.parse::<i64>() else {
        return failed(
            &state,
            "/ui/mappings",
            format!("There is no mapping {raw:?}."),
        );
    };
    match crate::triage::unlink(&state.app.ctx, id, &d.viewer.actor).await {
        Ok(true) => done(
            &state,
            "/ui/mappings",
            format!("Mapping {id} deleted; the next run matches that PodFactory user again."),
        ),
        Ok(false) => failed(
            &state,
            "/ui/mappings",
            format!("There is no mapping {id} (already deleted?)."),
        ),
        Err(e) => {
            tracing::error!(error = %crate::telemetry::error_chain(&e), "console: delete mapping failed");
            failed(
                &state,
                "/ui/mappings",
                "The mapping could not be deleted; the rosterd log says why.",
            )
        }
    }
}
