//! What a digest says, and how: pure functions from a stored run to the
//! items on-call should hear about, and from those items to the email's
//! subject, plain-text and HTML parts and the webhooks' JSON.
//!
//! Everything here is data in, text out (no I/O, no clock), so content,
//! escaping and dedup keys are unit-tested without a mail server.

use crate::plan::{Finding, FindingCandidate, FindingKind};
use crate::store::RunRecord;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

/// At most this many items of one section are spelled out in an email or a
/// Slack message (the rest are counted): a first run over a large tenant can
/// find thousands, and a digest must stay readable and under mail size limits.
pub const MAX_LISTED: usize = 100;

/// Slack truncates messages past 40,000 characters; stay under it.
const SLACK_MAX_CHARS: usize = 39_000;

/// One digest section: an item kind with how it is named.
struct Section {
    kind: &'static str,
    one: &'static str,
    many: &'static str,
    /// A finding (something that persists and is "new") rather than an event.
    finding: bool,
}

const fn event(kind: &'static str, one: &'static str, many: &'static str) -> Section {
    Section {
        kind,
        one,
        many,
        finding: false,
    }
}

const fn finding(kind: &'static str, one: &'static str, many: &'static str) -> Section {
    Section {
        kind,
        one,
        many,
        finding: true,
    }
}

/// The sections in the order a digest lists them, most urgent first. Their
/// kinds are also the keys `notify.recipients` accepts.
const SECTIONS: &[Section] = &[
    event("held_run", "held run", "held runs"),
    event("failed_run", "failed run", "failed runs"),
    event("action_failure", "failed action", "failed actions"),
    finding(
        "unmatched_podfactory_user",
        "unmatched PodFactory user",
        "unmatched PodFactory users",
    ),
    finding(
        "ambiguous_podfactory_user",
        "ambiguous PodFactory user",
        "ambiguous PodFactory users",
    ),
    finding(
        "duplicate_account",
        "duplicate account",
        "duplicate accounts",
    ),
    finding("orphaned", "orphaned account", "orphaned accounts"),
    finding(
        "conflicting_evidence",
        "conflicting evidence",
        "conflicting evidence",
    ),
    finding(
        "duplicate_employee_email",
        "duplicate employee email",
        "duplicate employee emails",
    ),
    // Accounts going without a role: was a failed action per employee.
    finding(
        "unmapped_role_code",
        "role code without an Auth0 role",
        "role codes without an Auth0 role",
    ),
    finding(
        "invalid_employee",
        "invalid employee row",
        "invalid employee rows",
    ),
];

impl Section {
    /// "Unmatched PodFactory users".
    fn heading(&self) -> String {
        let mut chars = self.many.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }
}

/// Every kind a digest can carry (and `notify.recipients` may name).
pub fn kinds() -> impl Iterator<Item = &'static str> {
    SECTIONS.iter().map(|s| s.kind)
}

fn section_index(kind: &str) -> usize {
    SECTIONS
        .iter()
        .position(|s| s.kind == kind)
        .unwrap_or(SECTIONS.len())
}

/// One thing on-call is told about, with the identity used for dedup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Stable across runs for the same finding (`Finding::key`), so the
    /// cool-down can recognise it.
    pub key: String,
    pub kind: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub podfactory_user_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth0_user_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<FindingCandidate>,
}

impl Item {
    fn event(kind: &'static str, key: String, detail: String) -> Item {
        Item {
            key,
            kind,
            detail,
            employee_id: None,
            podfactory_user_id: None,
            auth0_user_ids: Vec::new(),
            candidates: Vec::new(),
        }
    }

    fn from_finding(f: Finding) -> Option<Item> {
        let kind = match f.kind {
            // One per active employee without a PodFactory login: a metric
            // and an API listing, not something to page anyone about.
            FindingKind::EmployeeWithoutPodfactoryUser => return None,
            k => k.as_str(),
        };
        // A finding naming nothing (an invalid employees row) is told apart
        // by its text; every such finding would otherwise share one key.
        let names_nothing = f.employee_id.is_none()
            && f.podfactory_user_id.is_none()
            && f.auth0_user_ids.is_empty();
        let key = if names_nothing {
            format!("{kind}|detail|{}", f.detail)
        } else {
            f.key()
        };
        Some(Item {
            key,
            kind,
            employee_id: f.employee_id.map(|e| e.0),
            podfactory_user_id: f.podfactory_user_id,
            auth0_user_ids: f.auth0_user_ids.into_iter().map(|u| u.0).collect(),
            candidates: f.candidates,
            detail: f.detail,
        })
    }
}

/// The parts of a stored plan a digest needs; the rest is ignored.
#[derive(Deserialize)]
struct StoredPlan {
    #[serde(default)]
    findings: Vec<Finding>,
}

/// The parts of a stored run summary (`RunReport`) a digest needs.
#[derive(Deserialize)]
struct StoredSummary {
    #[serde(default)]
    failures: Vec<String>,
}

/// Everything in a finished run worth telling on-call, new or not, each key
/// once, in digest order.
pub fn items(run: &RunRecord) -> Result<Vec<Item>, serde_json::Error> {
    let failures = match &run.summary {
        Some(s) => serde_json::from_str::<StoredSummary>(s)?.failures,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    match run.status.as_str() {
        "held" => out.push(Item::event(
            "held_run",
            format!("held_run|{}", run.id),
            format!(
                "run {} was held: {}",
                run.id,
                run.held_reason
                    .as_deref()
                    .unwrap_or("the deprovisioning guard stopped it")
            ),
        )),
        // A run whose actions failed says so through its failures; one that
        // failed as a whole (or says nothing) gets its own item.
        "failed" | "interrupted" if run.error.is_some() || failures.is_empty() => {
            out.push(Item::event(
                "failed_run",
                format!("failed_run|{}", run.id),
                format!(
                    "run {} {}: {}",
                    run.id,
                    run.status,
                    run.error.as_deref().unwrap_or("no error recorded")
                ),
            ))
        }
        _ => {}
    }
    // Keyed by action and employee ("create for employee 12"), not by run:
    // the same action failing every run is one thing to fix.
    for failure in failures {
        let what = failure
            .split_once(": ")
            .map_or(failure.as_str(), |(w, _)| w);
        out.push(Item::event(
            "action_failure",
            format!("action_failure|{what}"),
            failure.clone(),
        ));
    }
    if let Some(plan) = &run.plan {
        let plan: StoredPlan = serde_json::from_str(plan)?;
        out.extend(plan.findings.into_iter().filter_map(Item::from_finding));
    }
    let mut seen = HashSet::new();
    out.retain(|i| seen.insert(i.key.clone()));
    out.sort_by_key(|i| section_index(i.kind));
    Ok(out)
}

/// The run a digest was made after.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub status: String,
    pub trigger: String,
    pub dry_run: bool,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The new items of one run, ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub run: RunInfo,
    /// Hours before an item already sent is sent again (said in the text).
    pub cooldown_hours: u64,
    pub items: Vec<Item>,
}

impl Digest {
    pub fn new(run: &RunRecord, cooldown_hours: u64, mut items: Vec<Item>) -> Digest {
        items.sort_by_key(|i| section_index(i.kind));
        Digest {
            run: RunInfo {
                id: run.id,
                status: run.status.clone(),
                trigger: run.trigger.clone(),
                dry_run: run.dry_run,
                finished_at: run.finished_at,
            },
            cooldown_hours,
            items,
        }
    }

    /// The part of this digest a recipient of `kinds` gets; `None` if it
    /// would be empty.
    pub fn only(&self, kinds: &BTreeSet<String>) -> Option<Digest> {
        let items: Vec<Item> = self
            .items
            .iter()
            .filter(|i| kinds.contains(i.kind))
            .cloned()
            .collect();
        (!items.is_empty()).then(|| Digest {
            items,
            ..self.clone()
        })
    }

    /// The sections present, in order, each with its items.
    fn sections(&self) -> impl Iterator<Item = (&'static Section, Vec<&Item>)> + '_ {
        SECTIONS.iter().filter_map(|s| {
            let items: Vec<&Item> = self.items.iter().filter(|i| i.kind == s.kind).collect();
            (!items.is_empty()).then_some((s, items))
        })
    }

    /// E.g. `[rosterd] 1 held run, 3 new unmatched PodFactory users`.
    pub fn subject(&self) -> String {
        let parts: Vec<String> = self
            .sections()
            .map(|(s, items)| {
                let n = items.len();
                let label = if n == 1 { s.one } else { s.many };
                let new = if s.finding { "new " } else { "" };
                format!("{n} {new}{label}")
            })
            .collect();
        format!("[rosterd] {}", parts.join(", "))
    }

    fn intro(&self) -> String {
        let r = &self.run;
        let when = r
            .finished_at
            .map(|t| format!(" finished {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
            .unwrap_or_default();
        format!(
            "rosterd run {} ({}{}, trigger {}){when}.",
            r.id,
            r.status,
            if r.dry_run { ", dry run" } else { "" },
            r.trigger,
        )
    }

    fn cooldown_note(&self) -> String {
        format!(
            "Only what is new is listed: the same item is not sent again within {} hours.",
            self.cooldown_hours
        )
    }

    /// What to do about a section, in words (API paths, no data).
    fn hint(&self, kind: &str) -> Option<String> {
        let id = self.run.id;
        match kind {
            "held_run" => Some(format!(
                "Review the plan (GET /api/v1/runs/{id}); if the blocks are intended, approve it \
                 (POST /api/v1/runs/{id}/approve), otherwise fix the employees source."
            )),
            "unmatched_podfactory_user" | "ambiguous_podfactory_user" => Some(
                "Fix with a manual mapping: POST /api/v1/mappings \
                 {\"podfactory_user_id\": \"…\", \"employee_id\": …}."
                    .into(),
            ),
            _ => None,
        }
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n{}\n", self.intro(), self.cooldown_note());
        for (s, items) in self.sections() {
            let _ = write!(out, "\n== {} ({}) ==\n", s.heading(), items.len());
            for item in items.iter().take(MAX_LISTED) {
                let _ = writeln!(out, "- {}", item_line(item));
                for c in &item.candidates {
                    let _ = writeln!(
                        out,
                        "    candidate: employee {} (score {:.2}): {}",
                        c.employee_id, c.score, c.reason
                    );
                }
            }
            if items.len() > MAX_LISTED {
                let _ = writeln!(
                    out,
                    "- … and {} more (GET /api/v1/findings)",
                    items.len() - MAX_LISTED
                );
            }
            if let Some(hint) = self.hint(s.kind) {
                let _ = writeln!(out, "{hint}");
            }
        }
        out
    }

    /// The HTML part; every piece of data is escaped.
    pub fn html(&self) -> String {
        let mut out = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
             <body style=\"font-family: sans-serif\">\n",
        );
        let _ = writeln!(
            out,
            "<p>{}<br><small>{}</small></p>",
            esc(&self.intro()),
            esc(&self.cooldown_note())
        );
        for (s, items) in self.sections() {
            let _ = writeln!(
                out,
                "<h2>{} ({})</h2>\n<ul>",
                esc(&s.heading()),
                items.len()
            );
            for item in items.iter().take(MAX_LISTED) {
                let _ = write!(out, "<li>{}", esc(&item_line(item)));
                if !item.candidates.is_empty() {
                    out.push_str(
                        "\n<table border=\"1\" cellpadding=\"3\" style=\"border-collapse: collapse\">\
                         <tr><th>Employee</th><th>Score</th><th>Reason</th></tr>",
                    );
                    for c in &item.candidates {
                        let _ = write!(
                            out,
                            "<tr><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
                            c.employee_id,
                            c.score,
                            esc(&c.reason)
                        );
                    }
                    out.push_str("</table>");
                }
                out.push_str("</li>\n");
            }
            if items.len() > MAX_LISTED {
                let _ = writeln!(
                    out,
                    "<li>… and {} more (GET /api/v1/findings)</li>",
                    items.len() - MAX_LISTED
                );
            }
            out.push_str("</ul>\n");
            if let Some(hint) = self.hint(s.kind) {
                let _ = writeln!(out, "<p><i>{}</i></p>", esc(&hint));
            }
        }
        out.push_str("</body></html>\n");
        out
    }

    /// The generic webhook's body: the digest as data, every item listed.
    pub fn webhook_json(&self) -> Value {
        json!({
            "source": "rosterd",
            "subject": self.subject(),
            "run": self.run,
            "cooldown_hours": self.cooldown_hours,
            "items": self.items,
            "text": self.text(),
        })
    }

    /// A Slack incoming-webhook body (`{"text": …}`), escaped for Slack's
    /// markup so that data cannot form links or mentions.
    pub fn slack_json(&self) -> Value {
        let mut text = slack_escape(&format!("*{}*\n{}", self.subject(), self.text()));
        if text.chars().count() > SLACK_MAX_CHARS {
            text = text.chars().take(SLACK_MAX_CHARS).collect();
            text.push_str("\n… (truncated)");
        }
        json!({ "text": text })
    }
}

/// One line naming an item and what it is about.
fn item_line(item: &Item) -> String {
    let mut about = Vec::new();
    if let Some(pf) = &item.podfactory_user_id {
        about.push(format!("PodFactory user {pf}"));
    }
    if let Some(e) = item.employee_id {
        about.push(format!("employee {e}"));
    }
    if !item.auth0_user_ids.is_empty() {
        about.push(format!("accounts {}", item.auth0_user_ids.join(", ")));
    }
    if about.is_empty() {
        item.detail.clone()
    } else {
        format!("{} [{}]", item.detail, about.join("; "))
    }
}

/// HTML-escape text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Slack's three control characters (its `<…>` links and mentions).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Auth0UserId, EmployeeId};
    use crate::plan::Plan;

    fn run(status: &str, plan: Option<&Plan>, summary: Option<&str>) -> RunRecord {
        RunRecord {
            id: 7,
            trigger: "schedule".into(),
            mode: "enforce".into(),
            dry_run: false,
            status: status.into(),
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            employees_seen: None,
            auth0_users_seen: None,
            actions_planned: 0,
            actions_succeeded: 0,
            actions_failed: 0,
            findings_count: 0,
            plan: plan.map(|p| serde_json::to_string(p).unwrap()),
            summary: summary.map(String::from),
            error: None,
            held_reason: Some("would block 30 accounts".into()),
            approved_at: None,
            approved_by: None,
        }
    }

    fn pf(kind: FindingKind, id: &str, detail: &str) -> Finding {
        Finding {
            podfactory_user_id: Some(id.into()),
            candidates: vec![FindingCandidate {
                employee_id: EmployeeId(12),
                score: 0.8234,
                reason: "same <surname>".into(),
            }],
            ..Finding::new(kind, None, vec![], detail.into())
        }
    }

    #[test]
    fn items_cover_findings_held_runs_and_failures_in_section_order() {
        let plan = Plan {
            findings: vec![
                pf(FindingKind::UnmatchedPodfactoryUser, "pf-1", "Zoë <b>"),
                Finding::new(
                    FindingKind::EmployeeWithoutPodfactoryUser,
                    Some(EmployeeId(3)),
                    vec![],
                    "no login".into(),
                ),
                Finding::new(
                    FindingKind::Orphaned,
                    None,
                    vec![Auth0UserId("auth0|x".into())],
                    "orphan".into(),
                ),
            ],
            ..Plan::default()
        };
        let held = items(&run("held", Some(&plan), None)).unwrap();
        let kinds: Vec<&str> = held.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, ["held_run", "unmatched_podfactory_user", "orphaned"]);
        assert_eq!(held[0].key, "held_run|7");
        assert_eq!(held[1].key, plan.findings[0].key());

        let summary =
            r#"{"failures":["create for employee 4: 500 boom","block for employee 5: 429"]}"#;
        let failed = items(&run("failed", None, Some(summary))).unwrap();
        let keys: Vec<&str> = failed.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "action_failure|create for employee 4",
                "action_failure|block for employee 5"
            ]
        );
        let mut whole = run("failed", None, None);
        whole.error = Some("auth0 down".into());
        assert_eq!(items(&whole).unwrap()[0].key, "failed_run|7");
    }

    #[test]
    fn findings_naming_nothing_are_told_apart_by_their_text() {
        let plan = Plan {
            findings: vec![
                Finding::new(
                    FindingKind::InvalidEmployee,
                    None,
                    vec![],
                    "employee 1: email is NULL".into(),
                ),
                Finding::new(
                    FindingKind::InvalidEmployee,
                    None,
                    vec![],
                    "employee 2: email is NULL".into(),
                ),
            ],
            ..Plan::default()
        };
        assert_eq!(
            items(&run("succeeded", Some(&plan), None)).unwrap().len(),
            2
        );
    }

    #[test]
    fn subject_counts_and_html_escapes_every_piece_of_data() {
        let plan = Plan {
            findings: vec![
                pf(
                    FindingKind::UnmatchedPodfactoryUser,
                    "pf-1",
                    "O'Brien & <Sons>",
                ),
                pf(FindingKind::UnmatchedPodfactoryUser, "pf-\"2\"", "x"),
            ],
            ..Plan::default()
        };
        let r = run("held", Some(&plan), None);
        let d = Digest::new(&r, 24, items(&r).unwrap());
        assert_eq!(
            d.subject(),
            "[rosterd] 1 held run, 2 new unmatched PodFactory users"
        );
        let html = d.html();
        assert!(html.contains("O&#39;Brien &amp; &lt;Sons&gt;"), "{html}");
        assert!(html.contains("pf-&quot;2&quot;"));
        assert!(html.contains("same &lt;surname&gt;"));
        assert!(!html.contains("<Sons>") && !html.contains("<surname>"));
        let text = d.text();
        assert!(
            text.contains("O'Brien & <Sons> [PodFactory user pf-1]"),
            "{text}"
        );
        assert!(text.contains("candidate: employee 12 (score 0.82): same <surname>"));
        let slack = d.slack_json()["text"].as_str().unwrap().to_string();
        assert!(slack.contains("&lt;Sons&gt;") && !slack.contains("<Sons>"));
    }

    #[test]
    fn only_keeps_the_subscribed_sections_and_long_sections_are_cut() {
        let findings = (0..MAX_LISTED + 5)
            .map(|i| {
                pf(
                    FindingKind::AmbiguousPodfactoryUser,
                    &format!("pf-{i}"),
                    "amb",
                )
            })
            .collect();
        let r = run(
            "held",
            Some(&Plan {
                findings,
                ..Plan::default()
            }),
            None,
        );
        let d = Digest::new(&r, 24, items(&r).unwrap());
        let held = d.only(&BTreeSet::from(["held_run".to_string()])).unwrap();
        assert_eq!(held.items.len(), 1);
        assert!(d.only(&BTreeSet::from(["orphaned".to_string()])).is_none());
        assert!(d.text().contains("… and 5 more"));
        assert_eq!(
            d.webhook_json()["items"].as_array().unwrap().len(),
            MAX_LISTED + 6
        );
    }
}
