//! The OpenAPI 3.1 description of `/api/v1`, served at
//! `/api/v1/openapi.json`. Written out here rather than generated, so the
//! build needs no tool that downloads assets; a test checks it names every
//! route the router serves.

use crate::plan::FindingKind;
use crate::run::{RunStatus, Trigger};
use crate::triage::{MAX_KEY_CHARS, MAX_NOTE_CHARS, MAX_PODFACTORY_ID_CHARS};
use axum::Json;
use serde_json::{json, Value};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn id_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "integer", "format": "int64" } })
}

fn text_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" }, "description": description })
}

fn body(schema: &str) -> Value {
    json!({ "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

pub fn spec() -> Value {
    let obj = json!({ "type": "object" });
    let auth_errors = |extra: &[(&str, &str)]| {
        let mut m = serde_json::Map::new();
        m.insert(
            "400".into(),
            error_response("bad input (the message says what)"),
        );
        m.insert(
            "401".into(),
            error_response("missing or invalid bearer token"),
        );
        m.insert(
            "403".into(),
            error_response("the token may not do this (read-only)"),
        );
        m.insert(
            "503".into(),
            error_response("`timeout`: no answer within serve.request_timeout_secs"),
        );
        for (code, d) in extra {
            m.insert((*code).into(), error_response(d));
        }
        Value::Object(m)
    };
    let with = |mut responses: Value, code: &str, body: Value| {
        responses[code] = body;
        responses
    };
    json!({
        "openapi": "3.1.0",
        "info": { "title": "rosterd admin API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Trigger and inspect reconcile runs, approve or reject held runs, triage what waits for a person (link PodFactory users, mark them not employees, acknowledge findings), manage PodFactory mappings, issue onboarding credentials, see and end a rollback's pause of enforcement." },
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/runs": {
                "post": { "summary": "Start a run now", "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TriggerRun" } } } },
                          "responses": with(auth_errors(&[("409", "a run is in progress (run_id names it)"), ("503", "`shutting_down`, or `timeout`")]), "202", ok("started; Location names the run", obj.clone())) },
                "get": { "summary": "Runs, newest first",
                         "parameters": [
                            { "name": "status", "in": "query", "schema": { "type": "string", "enum": RunStatus::ALL } },
                            { "name": "trigger", "in": "query", "schema": { "type": "string", "enum": Trigger::ALL } },
                            { "name": "before", "in": "query", "schema": { "type": "integer" }, "description": "page: runs with a smaller id (next_before of the previous page)" },
                            { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 20 } }],
                         "responses": with(auth_errors(&[]), "200", ok("a page of runs", obj.clone())) }
            },
            "/api/v1/runs/{id}": { "get": { "summary": "One run: status, timings, counts, plan, actions with outcomes", "parameters": [id_param("id")],
                                            "responses": with(auth_errors(&[("404", "no such run")]), "200", ok("the run", obj.clone())) } },
            "/api/v1/runs/{id}/approve": { "post": { "summary": "Approve a held run: its plan is applied if nothing changed since, else re-planned", "parameters": [id_param("id")],
                                                     "responses": with(auth_errors(&[("404", "no such run"), ("409", "not a held run (`not_held`), a held rollback (`held_rollback`: `rosterd rollback --approve` applies it), enforcement paused (`paused`), or a run is in progress")]), "202", ok("the approval run started", obj.clone())) } },
            "/api/v1/runs/{id}/reject": { "post": { "summary": "Reject a held run: it is closed as rejected (with who and why); a later run with the same plan ends rejected too, without a new hold or notification, until the plan changes",
                                                    "parameters": [id_param("id")],
                                                    "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RejectRun" } } } },
                                                    "responses": with(auth_errors(&[("404", "no such run"), ("409", "not a held run awaiting a decision")]), "200", ok("the rejected run", obj.clone())) } },
            "/api/v1/findings": { "get": { "summary": "Findings of the latest planned run",
                                           "parameters": [{ "name": "kind", "in": "query", "schema": { "type": "string", "enum": FindingKind::ALL } }],
                                           "responses": with(auth_errors(&[]), "200", ok("findings", obj.clone())) } },
            "/api/v1/triage": { "get": { "summary": "What waits for a person: the latest planned run's findings (without PodFactory users marked not an employee or linked since, nor acknowledged findings unless asked) and the held runs awaiting a decision. Without kind, every kind that needs a decision (employee_without_podfactory_user only when asked for); each item has its key (for acknowledging) and its console anchor",
                                         "parameters": [{ "name": "kind", "in": "query", "schema": { "type": "string", "enum": FindingKind::ALL } },
                                                        { "name": "acknowledged", "in": "query", "schema": { "type": "boolean", "default": false }, "description": "include acknowledged findings (with who and when)" }],
                                         "responses": with(auth_errors(&[]), "200", ok("{run, items: [{key, anchor, finding, acknowledged}], held}", obj.clone())) } },
            "/api/v1/findings/acks": {
                "post": { "summary": "Acknowledge a finding of the latest planned run by its key: it is no longer sent to on-call nor listed as waiting", "requestBody": body("FindingAck"),
                          "responses": with(auth_errors(&[]), "201", ok("the acknowledgement", obj.clone())) },
                "get": { "summary": "Acknowledged findings, newest first", "responses": with(auth_errors(&[]), "200", ok("acks", obj.clone())) }
            },
            "/api/v1/findings/acks/{key}": { "delete": { "summary": "Undo an acknowledgement: the finding is sent and listed again", "parameters": [text_param("key", "the finding's key, URL-encoded")],
                                                         "responses": with(auth_errors(&[("404", "not acknowledged")]), "204", json!({ "description": "undone" })) } },
            "/api/v1/podfactory/non-employees": {
                "post": { "summary": "Mark a PodFactory user as not an employee (a kiosk login, a temp, a visitor): from the next run it is neither matched nor reported", "requestBody": body("NonEmployee"),
                          "responses": with(auth_errors(&[("409", "the user has a manual mapping: delete it first")]), "201", ok("the decision", obj.clone())) },
                "get": { "summary": "PodFactory users marked not an employee, newest first", "responses": with(auth_errors(&[]), "200", ok("non_employees", obj.clone())) }
            },
            "/api/v1/podfactory/non-employees/{id}": { "delete": { "summary": "Undo the mark: the next run matches and reports the user again", "parameters": [text_param("id", "the PodFactory user id, URL-encoded")],
                                                                   "responses": with(auth_errors(&[("404", "not marked")]), "204", json!({ "description": "undone" })) } },
            "/api/v1/mappings": {
                "post": { "summary": "Link a PodFactory user to an employee (matched_by manual)", "requestBody": body("Mapping"),
                          "responses": with(auth_errors(&[("409", "the user is marked not an employee: undo that first")]), "201", ok("the mapping", obj.clone())) },
                "get": { "summary": "Manual mappings", "responses": with(auth_errors(&[]), "200", ok("mappings", obj.clone())) }
            },
            "/api/v1/mappings/{id}": { "delete": { "summary": "Remove a manual mapping", "parameters": [id_param("id")],
                                                   "responses": with(auth_errors(&[("404", "no such mapping")]), "204", json!({ "description": "removed" })) } },
            "/api/v1/employees/{id}": { "get": { "summary": "An employee, its Auth0 account, PodFactory links and last actions", "parameters": [id_param("id")],
                                                 "responses": with(auth_errors(&[("404", "no such employee")]), "200", ok("the employee", obj.clone())) } },
            "/api/v1/employees/{id}/credentials": { "post": { "summary": "Onboarding credentials: a generated password shown once, or a password-change ticket",
                                                              "parameters": [id_param("id")],
                                                              "responses": with(auth_errors(&[("404", "no such employee"), ("409", "inactive, no account yet, or excluded by policy.exclude"), ("502", "Auth0 refused")]), "200", ok("credentials, never shown again", obj.clone())) } },
            "/api/v1/status": { "get": { "summary": "Whether enforcement is paused: `paused` is {paused_at, paused_by, reason, run_id} while a rollback holds it (runs plan and record, apply nothing), else null",
                                         "responses": with(auth_errors(&[]), "200", ok("{paused}", obj.clone())) } },
            "/api/v1/resume": { "post": { "summary": "End the pause a rollback started (`rosterd resume`): the next run applies its plan again; admin-audited. `resumed` is the pause ended, null when there was none",
                                          "responses": with(auth_errors(&[]), "200", ok("{resumed}", obj.clone())) } },
            "/api/v1/hooks/auth0": { "post": { "summary": "Inbound change webhook (Auth0 event/log streams); bearer secret or X-Rosterd-Signature HMAC", "security": [],
                                               "responses": { "202": ok("a run follows", obj.clone()), "401": error_response("bad signature"), "404": error_response("webhook not enabled") } } },
            "/api/v1/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": ok("OpenAPI 3.1", obj.clone()) } } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error", "message"], "properties": { "error": { "type": "string" }, "message": { "type": "string" } } },
                "RejectRun": { "type": "object", "properties": { "reason": { "type": "string", "maxLength": 1000 } }, "additionalProperties": false },
                "TriggerRun": { "type": "object", "properties": { "dry_run": { "type": "boolean", "default": false } }, "additionalProperties": false },
                "Mapping": { "type": "object", "required": ["podfactory_user_id", "employee_id"], "additionalProperties": false,
                             "properties": { "podfactory_user_id": { "type": "string", "minLength": 1, "maxLength": MAX_PODFACTORY_ID_CHARS }, "employee_id": { "type": "integer" } } },
                "NonEmployee": { "type": "object", "required": ["podfactory_user_id"], "additionalProperties": false,
                                 "properties": { "podfactory_user_id": { "type": "string", "minLength": 1, "maxLength": MAX_PODFACTORY_ID_CHARS },
                                                 "note": { "type": "string", "maxLength": MAX_NOTE_CHARS } } },
                "FindingAck": { "type": "object", "required": ["key"], "additionalProperties": false,
                                "properties": { "key": { "type": "string", "maxLength": MAX_KEY_CHARS, "description": "an item's key from GET /api/v1/triage" },
                                                "note": { "type": "string", "maxLength": MAX_NOTE_CHARS } } }
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
