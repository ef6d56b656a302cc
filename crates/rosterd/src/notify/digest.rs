//! What a digest says, and how: pure functions from a stored run to the
//! items on-call should hear about, and from those items to the email's
//! subject, plain-text and HTML parts and the webhooks' JSON.
//!
//! Everything here is data in, text out (no I/O, no clock), so content,
//! escaping, links and dedup keys are unit-tested without a mail server.
//!
//! With `serve.public_url` set, every item links to the console page where
//! a person decides it, and the hints say where to decide; without it, the
//! hints name the API call instead.

use crate::outcome::ActionStatus;
use crate::plan::{ActionKind, Finding, FindingCandidate, FindingKind};
use crate::run::RunStatus;
use crate::store::{ActionRecord, RunRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

/// At most this many items of one section are spelled out in an email or a
/// Slack message (the rest are counted): a first run over a large tenant can
/// find thousands, and a digest must stay readable and under mail size limits.
pub const MAX_LISTED: usize = 100;

/// Employees named per failure cause; the rest are counted (every cause is
/// listed, and the webhook JSON carries every failed action).
const MAX_EMPLOYEES_PER_CAUSE: usize = 20;

/// Slack truncates messages past 40,000 characters; stay under it.
const SLACK_MAX_CHARS: usize = 39_000;

/// What a digest item is about: an event of the run, or a finding kind.
/// Each is a section of the digest, and a key `notify.recipients` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    HeldRun,
    Quarantine,
    FailedRun,
    ActionFailure,
    Finding(FindingKind),
}

/// How a section is named, and where it stands in a digest.
struct Section {
    /// Sections are listed by rank, most urgent first.
    rank: u8,
    one: &'static str,
    many: &'static str,
    /// A finding (something that persists and is "new") rather than an event.
    finding: bool,
}

const fn event(rank: u8, one: &'static str, many: &'static str) -> Option<Section> {
    Some(Section {
        rank,
        one,
        many,
        finding: false,
    })
}

const fn finding(rank: u8, one: &'static str, many: &'static str) -> Option<Section> {
    Some(Section {
        rank,
        one,
        many,
        finding: true,
    })
}

impl Topic {
    const EVENTS: [Topic; 4] = [
        Topic::HeldRun,
        Topic::Quarantine,
        Topic::FailedRun,
        Topic::ActionFailure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::HeldRun => "held_run",
            Topic::Quarantine => "quarantine",
            Topic::FailedRun => "failed_run",
            Topic::ActionFailure => "action_failure",
            Topic::Finding(kind) => kind.as_str(),
        }
    }

    /// Its section; `None` for a finding kind on-call is not told about.
    /// Exhaustive on purpose: a new finding kind does not compile until it
    /// is given a section here, or deliberately none.
    fn section(self) -> Option<Section> {
        match self {
            Topic::HeldRun => event(0, "held run", "held runs"),
            Topic::Quarantine => event(1, "quarantine", "quarantines"),
            Topic::FailedRun => event(2, "failed run", "failed runs"),
            Topic::ActionFailure => event(3, "failed action", "failed actions"),
            Topic::Finding(kind) => match kind {
                FindingKind::UnmatchedPodfactoryUser => {
                    finding(4, "unmatched PodFactory user", "unmatched PodFactory users")
                }
                FindingKind::AmbiguousPodfactoryUser => {
                    finding(5, "ambiguous PodFactory user", "ambiguous PodFactory users")
                }
                FindingKind::DuplicateAccount => {
                    finding(6, "duplicate account", "duplicate accounts")
                }
                FindingKind::Orphaned => finding(7, "orphaned account", "orphaned accounts"),
                FindingKind::ConflictingEvidence => {
                    finding(8, "conflicting evidence", "conflicting evidence")
                }
                FindingKind::DuplicateEmployeeEmail => {
                    finding(9, "duplicate employee email", "duplicate employee emails")
                }
                // Accounts going without a role: was a failed action per employee.
                FindingKind::UnmappedRoleCode => finding(
                    10,
                    "role code without an Auth0 role",
                    "role codes without an Auth0 role",
                ),
                FindingKind::InvalidEmployee => {
                    finding(11, "invalid employee row", "invalid employee rows")
                }
                FindingKind::PodfactorySourceUnavailable => finding(
                    12,
                    "unreadable PodFactory source",
                    "unreadable PodFactory sources",
                ),
                FindingKind::PossibleRehire => finding(13, "possible rehire", "possible rehires"),
                FindingKind::StaleAccount => finding(14, "stale account", "stale accounts"),
                FindingKind::NeverLoggedIn => finding(
                    15,
                    "account never logged into",
                    "accounts never logged into",
                ),
                FindingKind::InvalidPodfactoryRow => {
                    finding(18, "invalid PodFactory row", "invalid PodFactory rows")
                }
                FindingKind::ReportedByPolicy => finding(
                    17,
                    "change left to a person by policy",
                    "changes left to a person by policy",
                ),
                FindingKind::UnmanagedAccount => {
                    finding(16, "unmanaged account", "unmanaged accounts")
                }
                // One per active employee without a PodFactory login: a
                // metric and an API listing, not something to page anyone
                // about.
                FindingKind::EmployeeWithoutPodfactoryUser => None,
            },
        }
    }

    fn rank(self) -> u8 {
        self.section().map_or(u8::MAX, |s| s.rank)
    }
}

impl Serialize for Topic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

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

/// Every topic a digest can carry, in digest order.
pub fn topics() -> Vec<Topic> {
    let mut all: Vec<Topic> = Topic::EVENTS
        .into_iter()
        .chain(FindingKind::ALL.iter().map(|k| Topic::Finding(*k)))
        .filter(|t| t.section().is_some())
        .collect();
    all.sort_by_key(|t| t.rank());
    all
}

/// Every kind a digest can carry (and `notify.recipients` may name).
pub fn kinds() -> impl Iterator<Item = &'static str> {
    topics().into_iter().map(Topic::as_str)
}

/// One thing on-call is told about, with the identity used for dedup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Stable across runs for the same finding (`Finding::key`), so the
    /// cool-down can recognise it.
    pub key: String,
    pub kind: Topic,
    pub detail: String,
    /// A failed action's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub podfactory_user_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth0_user_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<FindingCandidate>,
    /// Its console page, when `serve.public_url` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Item {
    fn event(kind: Topic, key: String, detail: String) -> Item {
        Item {
            key,
            kind,
            detail,
            action: None,
            employee_id: None,
            podfactory_user_id: None,
            auth0_user_ids: Vec::new(),
            candidates: Vec::new(),
            link: None,
        }
    }

    fn from_finding(f: Finding) -> Option<Item> {
        let kind = Topic::Finding(f.kind);
        kind.section()?;
        let key = f.key();
        Some(Item {
            key,
            kind,
            action: None,
            employee_id: f.employee_id.map(|e| e.0),
            podfactory_user_id: f.podfactory_user_id,
            auth0_user_ids: f.auth0_user_ids.into_iter().map(|u| u.0).collect(),
            candidates: f.candidates,
            detail: f.detail,
            link: None,
        })
    }

    /// The console page (under `console`, the public URL) where this item
    /// is decided: a PodFactory user's entry on the triage page, a run's
    /// page for what happened in a run, an employee's page for a finding
    /// about one, the triage page for any other finding.
    fn console_page(&self, console: &str, run_id: i64) -> String {
        let triage = |kind: FindingKind| {
            format!(
                "{console}/ui/triage?kind={}#{}",
                kind.as_str(),
                crate::triage::anchor(&self.key)
            )
        };
        match self.kind {
            Topic::HeldRun | Topic::Quarantine | Topic::FailedRun | Topic::ActionFailure => {
                format!("{console}/ui/runs/{run_id}")
            }
            Topic::Finding(
                kind
                @ (FindingKind::UnmatchedPodfactoryUser | FindingKind::AmbiguousPodfactoryUser),
            ) => triage(kind),
            Topic::Finding(kind) => match self.employee_id {
                Some(e) => format!("{console}/ui/employees/{e}"),
                None => triage(kind),
            },
        }
    }
}

/// What people decided about findings: the keys acknowledged and the
/// PodFactory users marked not an employee. Their items are not sent.
#[derive(Debug, Clone, Default)]
pub struct Decided {
    pub acknowledged: HashSet<String>,
    pub not_employees: HashSet<String>,
}

impl Decided {
    /// Is `item` a finding someone already decided?
    pub fn covers(&self, item: &Item) -> bool {
        matches!(item.kind, Topic::Finding(_))
            && (self.acknowledged.contains(&item.key)
                || item
                    .podfactory_user_id
                    .as_ref()
                    .is_some_and(|pf| self.not_employees.contains(pf)))
    }
}

/// The part of a stored run summary a digest needs.
#[derive(Deserialize)]
struct StoredSummary {
    #[serde(default)]
    quarantined: bool,
}

/// A stored run a digest cannot read.
#[derive(Debug, thiserror::Error)]
pub enum UnreadableRun {
    #[error("the run's summary is not JSON")]
    Summary(#[source] serde_json::Error),
}

/// Everything in a finished run worth telling on-call, new or not, each key
/// once, in digest order. `plan` is its stored plan; `actions` are the run's recorded actions: every
/// failed one becomes an item (the run summary keeps only the first few).
pub fn items(
    run: &RunRecord,
    plan: Option<crate::plan::Plan>,
    actions: &[ActionRecord],
) -> Result<Vec<Item>, UnreadableRun> {
    let failed: Vec<&ActionRecord> = actions
        .iter()
        .filter(|a| a.status == ActionStatus::Failed)
        .collect();
    let mut out = Vec::new();
    match run.status {
        RunStatus::Held => out.push(Item::event(
            Topic::HeldRun,
            format!("{}|{}", Topic::HeldRun.as_str(), run.id),
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
        RunStatus::Failed | RunStatus::Interrupted if run.error.is_some() || failed.is_empty() => {
            out.push(Item::event(
                Topic::FailedRun,
                format!("{}|{}", Topic::FailedRun.as_str(), run.id),
                format!(
                    "run {} {}: {}",
                    run.id,
                    run.status,
                    run.error.as_deref().unwrap_or("no error recorded")
                ),
            ))
        }
        RunStatus::Running
        | RunStatus::Succeeded
        | RunStatus::Partial
        | RunStatus::Failed
        | RunStatus::Interrupted
        | RunStatus::Approved
        | RunStatus::Rejected => {}
    }
    // One key for the state, not per run: on-call hears once per cool-down
    // that rosterd slowed down, and again if it re-enters after a recovery.
    let summary: Option<StoredSummary> = run
        .summary
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(UnreadableRun::Summary)?;
    if summary.is_some_and(|s| s.quarantined) {
        out.push(Item::event(
            Topic::Quarantine,
            Topic::Quarantine.as_str().into(),
            "Auth0 failed the last runs: scheduled and change-triggered runs are slowed to one \
             every reconcile.quarantine_interval_secs until a run succeeds"
                .into(),
        ));
    }
    // Keyed by action and employee ("create for employee 12"), not by run:
    // the same action failing every run is one thing to fix.
    for a in failed {
        let what = match a.employee_id {
            Some(e) => format!("{} for employee {e}", a.kind),
            None => format!("{} #{}", a.kind, a.seq),
        };
        out.push(Item {
            action: Some(a.kind),
            employee_id: a.employee_id,
            auth0_user_ids: a.auth0_user_id.iter().cloned().collect(),
            ..Item::event(
                Topic::ActionFailure,
                format!("{}|{what}", Topic::ActionFailure.as_str()),
                a.error
                    .clone()
                    .unwrap_or_else(|| "no error recorded".into()),
            )
        });
    }
    if let Some(plan) = plan {
        out.extend(plan.findings.into_iter().filter_map(Item::from_finding));
    }
    let mut seen = HashSet::new();
    out.retain(|i| seen.insert(i.key.clone()));
    out.sort_by_key(|i| i.kind.rank());
    Ok(out)
}

/// The run a digest was made after.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub status: RunStatus,
    pub trigger: String,
    pub dry_run: bool,
    pub finished_at: Option<DateTime<Utc>>,
    /// All failed actions of the run, those already notified included.
    pub actions_failed: i64,
}

/// The new items of one run, ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub run: RunInfo,
    /// Hours before an item already sent is sent again (said in the text).
    pub cooldown_hours: u64,
    pub items: Vec<Item>,
    /// The console's base URL (`serve.public_url`), when set.
    #[serde(skip)]
    console: Option<String>,
}

impl Digest {
    pub fn new(run: &RunRecord, cooldown_hours: u64, mut items: Vec<Item>) -> Digest {
        items.sort_by_key(|i| i.kind.rank());
        Digest {
            run: RunInfo {
                id: run.id,
                status: run.status,
                trigger: run.trigger.clone(),
                dry_run: run.dry_run,
                finished_at: run.finished_at,
                actions_failed: run.actions_failed,
            },
            cooldown_hours,
            items,
            console: None,
        }
    }

    /// Link every item, and the hints, to the console under `console`
    /// (`serve.public_url`, as `ServeSettings::console_link("")` gives it).
    pub fn with_console(mut self, console: Option<String>) -> Digest {
        if let Some(base) = &console {
            for item in &mut self.items {
                item.link = Some(item.console_page(base, self.run.id));
            }
        }
        self.console = console;
        self
    }

    /// The console page at `path`, if there is a console to link to.
    fn console_link(&self, path: &str) -> Option<String> {
        self.console.as_ref().map(|base| format!("{base}{path}"))
    }

    /// The part of this digest a recipient of `kinds` gets; `None` if it
    /// would be empty.
    pub fn only(&self, kinds: &BTreeSet<String>) -> Option<Digest> {
        let items: Vec<Item> = self
            .items
            .iter()
            .filter(|i| kinds.contains(i.kind.as_str()))
            .cloned()
            .collect();
        (!items.is_empty()).then(|| Digest {
            items,
            ..self.clone()
        })
    }

    /// The sections present, in order, each with its items.
    fn sections(&self) -> impl Iterator<Item = (Topic, Section, Vec<&Item>)> + '_ {
        topics().into_iter().filter_map(|t| {
            let items: Vec<&Item> = self.items.iter().filter(|i| i.kind == t).collect();
            let section = t.section()?;
            (!items.is_empty()).then_some((t, section, items))
        })
    }

    /// E.g. `[rosterd] 1 held run, 3 new unmatched PodFactory users`; failed
    /// actions say how many causes, and the run's total when some were
    /// already notified.
    pub fn subject(&self) -> String {
        let parts: Vec<String> = self
            .sections()
            .map(|(topic, s, items)| {
                let n = items.len();
                let label = if n == 1 { s.one } else { s.many };
                let new = if s.finding { "new " } else { "" };
                let mut part = format!("{n} {new}{label}");
                if topic == Topic::ActionFailure {
                    let causes = causes(&items).len();
                    let total = self.run.actions_failed;
                    part.push_str(&match (causes, total > n as i64) {
                        (1, false) => " (1 cause)".to_string(),
                        (c, false) => format!(" ({c} causes)"),
                        (c, true) => format!(
                            " ({c} {}; {total} failed in the run)",
                            if c == 1 { "cause" } else { "causes" }
                        ),
                    });
                }
                part
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

    /// What to do about a section, in words (links or API paths, no data):
    /// where to decide in the console when there is one, else the API call.
    fn hint(&self, topic: Topic) -> Option<String> {
        let id = self.run.id;
        let run_page = self.console_link(&format!("/ui/runs/{id}"));
        let hint = match (topic, run_page) {
            (Topic::HeldRun, Some(page)) => format!(
                "Decide in the console: {page} (approve if the blocks are intended, \
                 otherwise reject it and fix the employees source)."
            ),
            (Topic::HeldRun, None) => format!(
                "Review the plan (GET /api/v1/runs/{id}), then POST /api/v1/runs/{id}/approve \
                 or /reject."
            ),
            (Topic::Quarantine, page) => format!(
                "Check Auth0 (status page, the M2M client's secret and scopes) and the run's \
                 errors ({}); the first healthy run ends the quarantine.",
                page.unwrap_or_else(|| "GET /api/v1/runs?status=failed".into())
            ),
            (Topic::ActionFailure, Some(page)) => {
                format!("Each failed action with its error: {page}")
            }
            (Topic::ActionFailure, None) => {
                format!("Each failed action with its error: GET /api/v1/runs/{id}.")
            }
            (Topic::FailedRun, _) => return None,
            // Fixed where they arise (the tenant's roles, the source): the
            // finding's own text says what is wrong.
            (
                Topic::Finding(
                    FindingKind::UnmappedRoleCode
                    | FindingKind::PodfactorySourceUnavailable
                    | FindingKind::InvalidPodfactoryRow
                    | FindingKind::EmployeeWithoutPodfactoryUser,
                ),
                _,
            ) => return None,
            (Topic::Finding(kind), _) => {
                let triage = self.console_link(&format!("/ui/triage?kind={}", kind.as_str()));
                match (kind, triage) {
                    (
                        FindingKind::UnmatchedPodfactoryUser | FindingKind::AmbiguousPodfactoryUser,
                        Some(page),
                    ) => format!(
                        "Decide in the console: {page} (link a candidate, or mark the user \
                         not an employee)."
                    ),
                    (
                        FindingKind::UnmatchedPodfactoryUser | FindingKind::AmbiguousPodfactoryUser,
                        None,
                    ) => "Link with POST /api/v1/mappings, or POST \
                          /api/v1/podfactory/non-employees for a login that is no employee."
                        .into(),
                    (_, Some(page)) => format!(
                        "Decide in the console: {page} (acknowledge what is known, so it is \
                         not sent again)."
                    ),
                    (_, None) => "Acknowledge what is known, so it is not sent again: \
                                  POST /api/v1/findings/acks (keys in GET /api/v1/triage)."
                        .into(),
                }
            }
        };
        Some(hint)
    }

    /// Where the items of a section cut short are listed.
    fn more(&self, topic: Topic) -> String {
        let kind = topic.as_str();
        self.console_link(&format!("/ui/triage?kind={kind}"))
            .unwrap_or_else(|| format!("GET /api/v1/triage?kind={kind}"))
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n{}\n", self.intro(), self.cooldown_note());
        for (topic, s, items) in self.sections() {
            let _ = write!(out, "\n== {} ({}) ==\n", s.heading(), items.len());
            let lines = if topic == Topic::ActionFailure {
                causes(&items).iter().map(Cause::line).collect()
            } else {
                Vec::new()
            };
            for line in &lines {
                let _ = writeln!(out, "- {line}");
            }
            for item in items.iter().take(MAX_LISTED).filter(|_| lines.is_empty()) {
                let _ = writeln!(out, "- {}", item_line(item));
                for c in &item.candidates {
                    let _ = writeln!(out, "    candidate: {}", candidate_line(c));
                }
                if let Some(link) = &item.link {
                    let _ = writeln!(out, "    {link}");
                }
            }
            if items.len() > MAX_LISTED && lines.is_empty() {
                let _ = writeln!(
                    out,
                    "- … and {} more: {}",
                    items.len() - MAX_LISTED,
                    self.more(topic)
                );
            }
            if let Some(hint) = self.hint(topic) {
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
        for (topic, s, items) in self.sections() {
            let _ = writeln!(
                out,
                "<h2>{} ({})</h2>\n<ul>",
                esc(&s.heading()),
                items.len()
            );
            let lines: Vec<String> = if topic == Topic::ActionFailure {
                causes(&items).iter().map(Cause::line).collect()
            } else {
                Vec::new()
            };
            // Every cause is of this run: its page has each failed action.
            let run_page = self.console_link(&format!("/ui/runs/{}", self.run.id));
            for line in &lines {
                let _ = writeln!(
                    out,
                    "<li>{}{}</li>",
                    esc(line),
                    open_link(run_page.as_deref())
                );
            }
            for item in items.iter().take(MAX_LISTED).filter(|_| lines.is_empty()) {
                let _ = write!(
                    out,
                    "<li>{}{}",
                    esc(&item_line(item)),
                    open_link(item.link.as_deref())
                );
                if !item.candidates.is_empty() {
                    out.push_str(
                        "\n<table border=\"1\" cellpadding=\"3\" style=\"border-collapse: collapse\">\
                         <tr><th>Employee</th><th>Department</th><th>Email</th><th>Score</th><th>Reason</th></tr>",
                    );
                    for c in &item.candidates {
                        let who = match (c.name.is_empty(), c.is_active) {
                            (true, _) => c.employee_id.to_string(),
                            (false, true) => format!("{} ({})", c.name, c.employee_id),
                            (false, false) => format!("{} ({}, inactive)", c.name, c.employee_id),
                        };
                        let _ = write!(
                            out,
                            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
                            esc(&who),
                            esc(&c.department),
                            esc(&c.email),
                            c.score,
                            esc(&c.reason)
                        );
                    }
                    out.push_str("</table>");
                }
                out.push_str("</li>\n");
            }
            if items.len() > MAX_LISTED && lines.is_empty() {
                let _ = writeln!(
                    out,
                    "<li>… and {} more: {}</li>",
                    items.len() - MAX_LISTED,
                    linkified(&self.more(topic))
                );
            }
            out.push_str("</ul>\n");
            if let Some(hint) = self.hint(topic) {
                let _ = writeln!(out, "<p><i>{}</i></p>", linkified(&hint));
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

/// Failed actions of one kind with one error.
struct Cause<'a> {
    action: Option<ActionKind>,
    error: &'a str,
    employees: Vec<i64>,
    count: usize,
}

impl Cause<'_> {
    /// `180 update actions failed: no Auth0 role named "X" (employees 1, 2, …)`.
    fn line(&self) -> String {
        let n = self.count;
        let mut line = format!(
            "{n} {} action{} failed: {}",
            self.action.map_or("unknown", ActionKind::as_str),
            if n == 1 { "" } else { "s" },
            self.error
        );
        if !self.employees.is_empty() {
            let shown: Vec<String> = self
                .employees
                .iter()
                .take(MAX_EMPLOYEES_PER_CAUSE)
                .map(i64::to_string)
                .collect();
            let more = self.employees.len().saturating_sub(shown.len());
            let _ = write!(
                line,
                " (employee{} {}{})",
                if self.employees.len() == 1 { "" } else { "s" },
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        line
    }
}

/// Failed actions grouped by kind and error, the largest group first: a
/// single cause (an unmapped role) can fail hundreds of actions, and every
/// cause must reach on-call, however many there are.
fn causes<'a>(items: &[&'a Item]) -> Vec<Cause<'a>> {
    let mut out: Vec<Cause<'a>> = Vec::new();
    for item in items {
        let action = item.action;
        let i = match out
            .iter()
            .position(|c| c.action == action && c.error == item.detail)
        {
            Some(i) => i,
            None => {
                out.push(Cause {
                    action,
                    error: &item.detail,
                    employees: Vec::new(),
                    count: 0,
                });
                out.len() - 1
            }
        };
        out[i].count += 1;
        out[i].employees.extend(item.employee_id);
    }
    // Stable: equal groups keep the order they first failed in.
    out.sort_by_key(|c| std::cmp::Reverse(c.count));
    out
}

/// A candidate employee as a person tells them apart: "Ruby Masoin
/// (Packing, ruby.masoin@printworks.com), employee 12, score 0.82: reason".
/// A plan stored before candidates carried the employee names the id only.
fn candidate_line(c: &FindingCandidate) -> String {
    let who = if c.name.is_empty() {
        format!("employee {}", c.employee_id)
    } else {
        format!(
            "{} ({}, {}), employee {}{}",
            c.name,
            c.department,
            c.email,
            c.employee_id,
            if c.is_active { "" } else { ", inactive" }
        )
    };
    format!("{who}, score {:.2}: {}", c.score, c.reason)
}

/// " (open in the console)" as a link, or nothing without a console.
fn open_link(link: Option<&str>) -> String {
    link.map(|l| format!(" (<a href=\"{}\">open in the console</a>)", esc(l)))
        .unwrap_or_default()
}

/// `text` escaped, with the console links in it (rosterd's own words and
/// URLs, never data) made clickable.
fn linkified(text: &str) -> String {
    let mut out = String::new();
    for (i, word) in esc(text).split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let body = word.trim_start_matches('(');
        let lead = &word[..word.len() - body.len()];
        let url = body.trim_end_matches(['.', ',', ')', ';']);
        if url.starts_with("https://") || url.starts_with("http://") {
            let tail = &body[url.len()..];
            let _ = write!(out, "{lead}<a href=\"{url}\">{url}</a>{tail}");
        } else {
            out.push_str(word);
        }
    }
    out
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

    fn failed(seq: i64, kind: &str, employee: i64, error: &str) -> ActionRecord {
        ActionRecord {
            seq,
            kind: kind.parse().unwrap(),
            employee_id: Some(employee),
            auth0_user_id: None,
            reason: String::new(),
            detail: String::new(),
            status: ActionStatus::Failed,
            error: Some(error.into()),
            finished_at: None,
        }
    }

    fn run(status: &str, summary: Option<&str>) -> RunRecord {
        RunRecord {
            id: 7,
            trigger: "schedule".into(),
            mode: "enforce".into(),
            dry_run: false,
            status: status.parse().unwrap(),
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            employees_seen: None,
            auth0_users_seen: None,
            actions_planned: 0,
            actions_succeeded: 0,
            actions_failed: 0,
            findings_count: 0,
            plan_digest: None,
            summary: summary.map(String::from),
            error: None,
            held_reason: Some("would block 30 accounts".into()),
            approved_at: None,
            approved_by: None,
            plan_dropped_at: None,
        }
    }

    fn pf(kind: FindingKind, id: &str, detail: &str) -> Finding {
        Finding {
            podfactory_user_id: Some(id.into()),
            candidates: vec![FindingCandidate {
                employee_id: EmployeeId(12),
                score: 0.8234,
                reason: "same <surname>".into(),
                name: "Ruby Masoin".into(),
                email: "ruby.masoin@printworks.com".into(),
                department: "Packing".into(),
                workspace: "TX".into(),
                is_active: true,
            }],
            ..Finding::new(kind, None, vec![], detail.into())
        }
    }

    #[test]
    fn a_quarantined_run_tells_on_call_once_per_cooldown() {
        let quarantined = run(
            "failed",
            Some(r#"{"quarantined": true, "status": "failed"}"#),
        );
        let got = items(&quarantined, None, &[]).unwrap();
        let q: Vec<&Item> = got
            .iter()
            .filter(|i| i.kind.as_str() == "quarantine")
            .collect();
        assert_eq!(q.len(), 1, "{got:?}");
        assert_eq!(q[0].key, "quarantine", "one key for the state, not per run");
        let healthy = run("succeeded", Some(r#"{"quarantined": false}"#));
        assert!(items(&healthy, None, &[]).unwrap().is_empty());
        let d = Digest::new(&quarantined, 24, got);
        assert!(d.subject().contains("1 quarantine"), "{}", d.subject());
        assert!(d.text().contains("reconcile.quarantine_interval_secs"));
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
        let held = items(&run("held", None), Some(plan.clone()), &[]).unwrap();
        let kinds: Vec<&str> = held.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["held_run", "unmatched_podfactory_user", "orphaned"]);
        assert_eq!(held[0].key, "held_run|7");
        assert_eq!(held[1].key, plan.findings[0].key());

        let actions = [
            failed(0, "create", 4, "500 boom"),
            failed(1, "block", 5, "429"),
        ];
        let failed = items(&run("failed", None), None, &actions).unwrap();
        let keys: Vec<&str> = failed.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "action_failure|create for employee 4",
                "action_failure|block for employee 5"
            ]
        );
        let mut whole = run("failed", None);
        whole.error = Some("auth0 down".into());
        assert_eq!(items(&whole, None, &[]).unwrap()[0].key, "failed_run|7");
    }

    #[test]
    fn every_topic_has_its_own_place_and_an_unreadable_podfactory_source_is_told() {
        let all = topics();
        let ranks: BTreeSet<u8> = all.iter().map(|t| t.rank()).collect();
        assert_eq!(ranks.len(), all.len(), "two sections share a rank");
        assert_eq!(kinds().next(), Some("held_run"));
        assert!(!kinds().any(|k| k == "employee_without_podfactory_user"));
        let plan = Plan {
            findings: vec![Finding::new(
                FindingKind::PodfactorySourceUnavailable,
                None,
                vec![],
                "connection refused".into(),
            )],
            ..Plan::default()
        };
        let r = run("succeeded", None);
        let d = Digest::new(&r, 24, items(&r, Some(plan.clone()), &[]).unwrap());
        assert_eq!(d.subject(), "[rosterd] 1 new unreadable PodFactory source");
        assert!(d.text().contains("- connection refused"), "{}", d.text());
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
            items(&run("succeeded", None), Some(plan.clone()), &[])
                .unwrap()
                .len(),
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
        let r = run("held", None);
        let d = Digest::new(&r, 24, items(&r, Some(plan.clone()), &[]).unwrap());
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
        assert!(
            text.contains(
                "candidate: Ruby Masoin (Packing, ruby.masoin@printworks.com), employee 12, \
                 score 0.82: same <surname>"
            ),
            "{text}"
        );
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
        let r = run("held", None);
        let plan = Plan {
            findings,
            ..Plan::default()
        };
        let d = Digest::new(&r, 24, items(&r, Some(plan), &[]).unwrap());
        let held = d.only(&BTreeSet::from(["held_run".to_string()])).unwrap();
        assert_eq!(held.items.len(), 1);
        assert!(d.only(&BTreeSet::from(["orphaned".to_string()])).is_none());
        assert!(d.text().contains("… and 5 more"));
        assert_eq!(
            d.webhook_json()["items"].as_array().unwrap().len(),
            MAX_LISTED + 6
        );
    }

    #[test]
    fn a_candidate_is_named_and_one_stored_before_names_by_its_id() {
        let mut c = pf(FindingKind::AmbiguousPodfactoryUser, "pf-1", "x").candidates[0].clone();
        c.is_active = false;
        assert_eq!(
            candidate_line(&c),
            "Ruby Masoin (Packing, ruby.masoin@printworks.com), employee 12, inactive, \
             score 0.82: same <surname>"
        );
        c.name.clear();
        assert_eq!(
            candidate_line(&c),
            "employee 12, score 0.82: same <surname>"
        );
    }

    #[test]
    fn with_a_console_every_item_links_to_where_it_is_decided() {
        let ambiguous = pf(FindingKind::AmbiguousPodfactoryUser, "pf-1", "amb");
        let duplicate = Finding::new(
            FindingKind::DuplicateAccount,
            Some(EmployeeId(5)),
            vec![Auth0UserId("auth0|a".into()), Auth0UserId("auth0|b".into())],
            "two accounts".into(),
        );
        let orphan = Finding::new(
            FindingKind::Orphaned,
            None,
            vec![Auth0UserId("auth0|x".into())],
            "orphan".into(),
        );
        let plan = Plan {
            findings: vec![ambiguous.clone(), duplicate, orphan.clone()],
            ..Plan::default()
        };
        let r = run("held", None);
        let all = items(
            &r,
            Some(plan.clone()),
            &[failed(0, "create", 4, "500 boom")],
        )
        .unwrap();
        let base = "https://rosterd.example.com";
        let d = Digest::new(&r, 24, all.clone()).with_console(Some(base.into()));
        let links: Vec<(&str, &str)> = d
            .items
            .iter()
            .map(|i| (i.kind.as_str(), i.link.as_deref().unwrap()))
            .collect();
        let triage = |f: &Finding| {
            format!(
                "{base}/ui/triage?kind={}#{}",
                f.kind.as_str(),
                crate::triage::anchor(&f.key())
            )
        };
        assert_eq!(
            links,
            [
                ("held_run", "https://rosterd.example.com/ui/runs/7"),
                ("action_failure", "https://rosterd.example.com/ui/runs/7"),
                ("ambiguous_podfactory_user", triage(&ambiguous).as_str()),
                (
                    "duplicate_account",
                    "https://rosterd.example.com/ui/employees/5"
                ),
                ("orphaned", triage(&orphan).as_str()),
            ]
        );
        assert_eq!(
            d.webhook_json()["items"][0]["link"],
            "https://rosterd.example.com/ui/runs/7"
        );
        let html = d.html();
        assert!(
            html.contains(
                "Decide in the console: <a href=\"https://rosterd.example.com/ui/runs/7\">\
             https://rosterd.example.com/ui/runs/7</a> (approve"
            ),
            "{html}"
        );

        // No console: no links, the API instead.
        let plain = Digest::new(&r, 24, all);
        assert!(plain.items.iter().all(|i| i.link.is_none()));
        assert!(plain.webhook_json()["items"][0].get("link").is_none());
        assert!(!plain.text().contains("/ui/") && !plain.html().contains("<a "));
        assert!(plain.text().contains("POST /api/v1/runs/7/approve"));
    }

    #[test]
    fn only_findings_people_decided_are_covered() {
        let plan = Plan {
            findings: vec![
                pf(FindingKind::UnmatchedPodfactoryUser, "pf-kiosk", "kiosk"),
                pf(FindingKind::UnmatchedPodfactoryUser, "pf-2", "someone"),
                Finding::new(
                    FindingKind::Orphaned,
                    None,
                    vec![Auth0UserId("auth0|x".into())],
                    "orphan".into(),
                ),
            ],
            ..Plan::default()
        };
        let all = items(&run("held", None), Some(plan.clone()), &[]).unwrap();
        let decided = Decided {
            acknowledged: HashSet::from([plan.findings[2].key(), "held_run|7".to_string()]),
            not_employees: HashSet::from(["pf-kiosk".to_string()]),
        };
        let kept: Vec<&str> = all
            .iter()
            .filter(|i| !decided.covers(i))
            .map(|i| i.key.as_str())
            .collect();
        assert_eq!(kept, ["held_run|7", "unmatched_podfactory_user||pf-2|"]);
    }

    #[test]
    fn only_urls_in_rosterd_s_own_words_become_links() {
        assert_eq!(
            linkified("See (https://r.example/ui/runs/7); or <b> & https://r.example/ui/x."),
            "See (<a href=\"https://r.example/ui/runs/7\">https://r.example/ui/runs/7</a>); \
             or &lt;b&gt; &amp; <a href=\"https://r.example/ui/x\">https://r.example/ui/x</a>."
        );
    }

    #[test]
    fn every_failed_action_is_told_grouped_by_cause() {
        let mut actions: Vec<ActionRecord> = (0..180)
            .map(|i| failed(i, "update", i + 1, "no Auth0 role named \"Heat Press\""))
            .collect();
        actions.push(failed(180, "create", 500, "HTTP 409: user exists"));
        let mut r = run("failed", None);
        r.actions_failed = 181;
        let all = items(&r, None, &actions).unwrap();
        assert_eq!(all.len(), 181);
        let d = Digest::new(&r, 24, all.clone());
        assert_eq!(d.subject(), "[rosterd] 181 failed actions (2 causes)");
        let text = d.text();
        assert!(
            text.contains(
                "- 180 update actions failed: no Auth0 role named \"Heat Press\" (employees 1, 2,"
            ),
            "{text}"
        );
        assert!(text.contains("and 160 more)"), "{text}");
        assert!(
            text.contains("- 1 create action failed: HTTP 409: user exists (employee 500)"),
            "{text}"
        );
        assert!(d
            .html()
            .contains("1 create action failed: HTTP 409: user exists"));

        // Some already sent: the subject still tells the run's total.
        let d = Digest::new(&r, 24, all[170..].to_vec());
        assert_eq!(
            d.subject(),
            "[rosterd] 11 failed actions (2 causes; 181 failed in the run)"
        );
    }
}
