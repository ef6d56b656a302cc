//! `[policy]`: the lifecycle policy (what each situation does, who owns each
//! field), exclusions, end dates and account usage. Parsed by hand rather
//! than by serde, because its keys are the core's vocabularies: a situation
//! or field the planner does not know is an unknown key, and an action that
//! makes no sense for its situation is an error naming the key.

use super::at_line;
use crate::policy::{Field, Ownership, Policy, PolicyAction, Situation, UsagePolicy};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[policy]` as loaded.
#[derive(Debug, Clone, Default)]
pub struct PolicySettings {
    /// The situation → action table, the field ownerships and the usage
    /// thresholds, as the planner takes them.
    pub rules: Policy,
    pub exclude: ExcludeSettings,
    pub departures: DepartureSettings,
}

/// `[policy.exclude]`: what rosterd never touches nor reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExcludeSettings {
    /// Auth0 user ids, exactly.
    pub account_ids: Vec<String>,
    /// Regular expressions an account's email must match whole (anchored:
    /// `admin@.*` does not match `sysadmin@…`), case-insensitively.
    pub account_emails: Vec<String>,
    /// Auth0 connections (e.g. a social or enterprise connection of
    /// contractors).
    pub connections: Vec<String>,
    /// An `app_metadata` key that, set to `true` on an account, excludes it
    /// (empty: none).
    pub app_metadata_flag: String,
    /// Employee ids rosterd never provisions.
    pub employee_ids: Vec<i64>,
    /// An SQL condition on the employees source's columns (e.g.
    /// `department = 'Contractors'`): rows where it holds are never
    /// provisioned. Evaluated by the database, inside the read-only query.
    pub employees_where: String,
}

impl Default for ExcludeSettings {
    fn default() -> Self {
        ExcludeSettings {
            account_ids: Vec::new(),
            account_emails: Vec::new(),
            connections: Vec::new(),
            app_metadata_flag: "rosterd_ignore".into(),
            employee_ids: Vec::new(),
            employees_where: String::new(),
        }
    }
}

/// `[policy.departures]`: effective-dated leavers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DepartureSettings {
    /// The employees source's end date: a column or SQL expression giving
    /// the employee's last working day (a date, or a timestamp whose date
    /// is taken). Empty: no end dates; only `is_active` says who left.
    pub end_date: String,
    /// The time zone of a workspace without an entry in `zones` (IANA).
    pub default_zone: String,
    /// Workspace → IANA time zone, e.g. `TX = "America/Chicago"`.
    pub zones: BTreeMap<String, String>,
    /// The employees source's last-change column (e.g. `updated_at`), for
    /// lifecycle latency; empty: latency starts at the first run that saw
    /// the change.
    pub updated_at: String,
}

impl Default for DepartureSettings {
    fn default() -> Self {
        DepartureSettings {
            end_date: String::new(),
            default_zone: "UTC".into(),
            zones: BTreeMap::new(),
            updated_at: String::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct UsageSettings {
    never_logged_in_days: u32,
    stale_days: u32,
}

impl Default for UsageSettings {
    fn default() -> Self {
        let d = UsagePolicy::default();
        UsageSettings {
            never_logged_in_days: d.never_logged_in_days,
            stale_days: d.stale_days,
        }
    }
}

/// Parse `[policy]` into `slot`, naming every bad key in `problems`.
pub(super) fn parse(
    text: &str,
    value: toml::Value,
    slot: &mut PolicySettings,
    problems: &mut Vec<String>,
) {
    let toml::Value::Table(table) = value else {
        problems.push(format!(
            "policy{}: must be a table ([policy])",
            at_line(text, None, "policy")
        ));
        return;
    };
    for (key, value) in table {
        let at = at_line(text, Some("policy"), &key);
        match key.as_str() {
            "fields" => fields(text, value, &mut slot.rules, problems),
            "exclude" => super::section(text, "policy.exclude", value, &mut slot.exclude, problems),
            "departures" => super::section(
                text,
                "policy.departures",
                value,
                &mut slot.departures,
                problems,
            ),
            "usage" => {
                let mut usage = UsageSettings::default();
                super::section(text, "policy.usage", value, &mut usage, problems);
                slot.rules.usage = UsagePolicy {
                    never_logged_in_days: usage.never_logged_in_days,
                    stale_days: usage.stale_days,
                };
            }
            situation => {
                let Ok(s) = situation.parse::<Situation>() else {
                    problems.push(format!(
                        "policy.{key}{at}: unknown key (situations: {}; tables: fields, exclude, departures, usage)",
                        names(Situation::ALL)
                    ));
                    continue;
                };
                let action = value.as_str().map(str::parse::<PolicyAction>);
                match action {
                    Some(Ok(a)) => {
                        if let Err(e) = slot.rules.set_action(s, a) {
                            problems.push(format!("{}{at}: {}", e.key, reason(&e)));
                        }
                    }
                    _ => problems.push(format!(
                        "policy.{key}{at}: expected one of {}",
                        quoted(s.allowed())
                    )),
                }
            }
        }
    }
}

fn fields(text: &str, value: toml::Value, rules: &mut Policy, problems: &mut Vec<String>) {
    let toml::Value::Table(table) = value else {
        problems.push(format!(
            "policy.fields{}: must be a table ([policy.fields])",
            at_line(text, Some("policy"), "fields")
        ));
        return;
    };
    for (key, value) in table {
        let at = at_line(text, Some("policy.fields"), &format!("\"{key}\""));
        let Ok(field) = key.parse::<Field>() else {
            problems.push(format!(
                "policy.fields.\"{key}\"{at}: unknown field (fields: {})",
                names(Field::ALL)
            ));
            continue;
        };
        match value.as_str().map(str::parse::<Ownership>) {
            Some(Ok(o)) => {
                if let Err(e) = rules.set_owner(field, o) {
                    problems.push(format!("{}{at}: {}", e.key, reason(&e)));
                }
            }
            _ => problems.push(format!(
                "policy.fields.\"{key}\"{at}: expected one of {}",
                quoted(field.allowed())
            )),
        }
    }
}

/// The error's text without its key (said first by the caller, with the
/// line).
fn reason(e: &crate::policy::NotAllowed) -> String {
    format!(
        "\"{}\" is not allowed here (allowed: {})",
        e.value, e.allowed
    )
}

fn names<T: std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted<T: std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
