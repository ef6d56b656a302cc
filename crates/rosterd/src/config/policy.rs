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
#[derive(Debug, Clone, Default, Deserialize)]
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
    /// (empty, the default: none). Off unless asked for: anyone who may
    /// write `app_metadata` could otherwise exempt a leaver, unreported.
    pub app_metadata_flag: String,
    /// Employee ids rosterd never provisions.
    pub employee_ids: Vec<i64>,
    /// An SQL condition on the employees source's columns (e.g.
    /// `department = 'Contractors'`): rows where it holds are never
    /// provisioned. Evaluated by the database, inside the read-only query.
    pub employees_where: String,
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

impl PolicySettings {
    pub(super) fn validate(&self, problems: &mut Vec<String>) {
        problems.extend(self.rules.problems());
        let usage = self.rules.usage;
        for (key, days) in [
            ("never_logged_in_days", usage.never_logged_in_days),
            ("stale_days", usage.stale_days),
        ] {
            if days == 0 {
                problems.push(format!("policy.usage.{key}: must be at least 1 (day)"));
            }
        }
        if let Err(e) = self.exclude.accounts() {
            problems.push(e);
        }
    }
}

/// `policy.exclude`'s account rules, compiled: which accounts rosterd
/// leaves alone, and why.
#[derive(Debug)]
pub struct AccountExclusions {
    ids: std::collections::HashSet<String>,
    emails: Vec<(String, regex::Regex)>,
    connections: Vec<String>,
    flag: String,
}

impl AccountExclusions {
    /// Why `u` is excluded (the rule that matched), or None.
    pub fn reason(&self, u: &crate::model::Auth0User) -> Option<String> {
        if self.ids.contains(&u.user_id.0) {
            return Some("policy.exclude.account_ids".into());
        }
        if let Some(email) = &u.email {
            if let Some((pattern, _)) = self
                .emails
                .iter()
                .find(|(_, re)| re.is_match(email.as_str()))
            {
                return Some(format!("policy.exclude.account_emails ({pattern})"));
            }
        }
        if let Some(c) = u
            .connection
            .as_deref()
            .filter(|c| self.connections.iter().any(|x| x == c))
        {
            return Some(format!("policy.exclude.connections ({c})"));
        }
        if !self.flag.is_empty() && u.app_metadata_flags.contains(&self.flag) {
            return Some(format!("app_metadata.{} is true", self.flag));
        }
        None
    }

    /// Every excluded account among `users`, with why.
    pub fn of(
        &self,
        users: &[crate::model::Auth0User],
    ) -> BTreeMap<crate::model::Auth0UserId, String> {
        users
            .iter()
            .filter_map(|u| Some((u.user_id.clone(), self.reason(u)?)))
            .collect()
    }
}

impl ExcludeSettings {
    /// The account rules compiled, or the first pattern that is no regular
    /// expression (named by its key and position).
    pub fn accounts(&self) -> Result<AccountExclusions, String> {
        let mut emails = Vec::new();
        for (i, pattern) in self.account_emails.iter().enumerate() {
            // Anchored: a pattern is the whole address, as people read it.
            let re = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
                .case_insensitive(true)
                .build()
                .map_err(|e| {
                    let why = e.to_string();
                    let why = why.lines().last().unwrap_or("").trim();
                    let why = why.strip_prefix("error: ").unwrap_or(why);
                    format!("policy.exclude.account_emails[{i}]: {pattern:?} is not a regular expression: {why}")
                })?;
            emails.push((pattern.clone(), re));
        }
        Ok(AccountExclusions {
            ids: self.account_ids.iter().cloned().collect(),
            emails,
            connections: self.connections.clone(),
            flag: self.app_metadata_flag.clone(),
        })
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
        // Dotted field names must be quoted in TOML; plain ones may be.
        let at = match at_line(text, Some("policy.fields"), &key) {
            at if at.is_empty() => at_line(text, Some("policy.fields"), &format!("\"{key}\"")),
            at => at,
        };
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

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use crate::policy::{Field, Ownership, PolicyAction, Situation};

    const BASE: &str = "[auth0]\ndomain = \"acme.eu.auth0.com\"\nclient_id = \"abc\"\n";

    fn load(policy: &str) -> Result<Settings, Vec<String>> {
        let env = [("ROSTERD_AUTH0_CLIENT_SECRET".to_string(), "s".to_string())];
        Settings::from_sources(&format!("{BASE}{policy}"), env).map_err(|e| e.problems)
    }

    #[test]
    fn entries_fields_and_tables_are_read() {
        let s = load(
            r#"
[policy]
orphaned_created = "block"
unmanaged = "report"
[policy.fields]
"user_metadata.full_name" = "create_only"
[policy.exclude]
account_emails = ["admin@.*", ".*@contractor\\.example"]
[policy.usage]
stale_days = 60
"#,
        )
        .unwrap();
        let r = &s.policy.rules;
        assert_eq!(r.action(Situation::OrphanedCreated), PolicyAction::Block);
        assert_eq!(r.action(Situation::Unmanaged), PolicyAction::Report);
        assert_eq!(r.action(Situation::Drifted), PolicyAction::Update);
        assert_eq!(r.owner(Field::UserFullName), Ownership::CreateOnly);
        assert_eq!(r.usage.stale_days, 60);
        assert_eq!(r.usage.never_logged_in_days, 30);
        assert_eq!(s.policy.exclude.app_metadata_flag, "", "off by default");
    }

    #[test]
    fn every_bad_entry_is_named_with_its_key_and_line() {
        let problems = load(
            r#"
[policy]
orphaned = "block"
inactive_with_account = "ignore"
drifted = 3
[policy.fields]
"user_metadata.nickname" = "enforce"
email = "ignore"
[policy.exclude]
account_emails = ["admin@(", "ok@x\\.co"]
accounts = ["auth0|1"]
"#,
        )
        .unwrap_err()
        .join("\n");
        for needle in [
            "policy.orphaned (line 6): unknown key (situations: active_without_account",
            "policy.inactive_with_account (line 7): \"ignore\" is not allowed here (allowed: block, report)",
            "policy.drifted (line 8): expected one of \"update\", \"report\", \"ignore\"",
            "policy.fields.\"user_metadata.nickname\" (line 10): unknown field",
            "policy.fields.\"email\" (line 11): \"ignore\" is not allowed here (allowed: enforce, create_only)",
            "policy.exclude.accounts (line 14): unknown key",
            "policy.exclude.account_emails[0]: \"admin@(\" is not a regular expression",
        ] {
            assert!(problems.contains(needle), "missing {needle:?} in:\n{problems}");
        }
    }

    #[test]
    fn contradictions_and_environment_overrides_are_checked_too() {
        let problems = load("[policy.fields]\nblocked = \"ignore\"\n")
            .unwrap_err()
            .join("\n");
        assert!(
            problems.contains("contradicts policy.inactive_with_account"),
            "{problems}"
        );
        let env = [
            ("ROSTERD_AUTH0_CLIENT_SECRET".to_string(), "s".to_string()),
            (
                "ROSTERD_POLICY__ORPHANED_CREATED".to_string(),
                "block".to_string(),
            ),
        ];
        let s = Settings::from_sources(BASE, env).unwrap();
        assert_eq!(
            s.policy.rules.action(Situation::OrphanedCreated),
            PolicyAction::Block
        );
    }

    #[test]
    fn exclusion_patterns_are_anchored_and_case_blind() {
        let s = load("[policy.exclude]\naccount_emails = [\"admin@.*\"]\nconnections = [\"google-oauth2\"]\napp_metadata_flag = \"rosterd_ignore\"\n").unwrap();
        let rules = s.policy.exclude.accounts().unwrap();
        let user =
            |email: &str, connection: Option<&str>, flags: &[&str]| crate::model::Auth0User {
                user_id: crate::model::Auth0UserId("auth0|x".into()),
                email: crate::model::Email::parse(email).ok(),
                name: None,
                email_verified: true,
                blocked: false,
                app_metadata: Default::default(),
                user_metadata: Default::default(),
                created_at: None,
                last_login: None,
                connection: connection.map(str::to_string),
                app_metadata_flags: flags.iter().map(|f| f.to_string()).collect(),
            };
        assert!(rules.reason(&user("Admin@acme.co", None, &[])).is_some());
        assert!(rules.reason(&user("sysadmin@acme.co", None, &[])).is_none());
        assert!(rules
            .reason(&user("a@acme.co", Some("google-oauth2"), &[]))
            .is_some());
        assert_eq!(
            rules
                .reason(&user("a@acme.co", None, &["rosterd_ignore"]))
                .as_deref(),
            Some("app_metadata.rosterd_ignore is true")
        );
        assert!(rules
            .reason(&user(
                "a@acme.co",
                Some("Username-Password-Authentication"),
                &["other"]
            ))
            .is_none());
    }
}
