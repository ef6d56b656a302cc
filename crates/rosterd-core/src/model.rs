//! The domain values every other module speaks in.
//!
//! Newtypes keep apart the things rosterd must never confuse: an employee's
//! id and an Auth0 user id are both "ids", an email typed by HR and the one
//! Auth0 stores differ in case. A value of these types is valid by
//! construction; parsing is where bad input gets its error.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The Productivity System's primary key for an employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmployeeId(pub i64);

impl fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An Auth0 user id such as `auth0|5f7c8ec7c33c6c004bbafe82`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Auth0UserId(pub String);

impl fmt::Display for Auth0UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed and lowercased (Auth0 stores database-connection
/// emails lowercased, so comparisons are made on this form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email {value:?}: {why}")]
pub struct InvalidEmail {
    pub value: String,
    pub why: &'static str,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let value = raw.trim().to_lowercase();
        let bad = |why| {
            Err(InvalidEmail {
                value: raw.to_string(),
                why,
            })
        };
        if value.is_empty() {
            return bad("empty");
        }
        if value.len() > 254 {
            return bad("longer than 254 characters");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("contains whitespace");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return bad("no @");
        };
        if local.is_empty() || local.contains('@') {
            return bad("bad local part");
        }
        // Auth0 refuses what RFC 5321 does: a local part over 64 octets.
        if local.len() > 64 {
            return bad("local part longer than 64 characters");
        }
        if domain.len() < 3 || !domain.contains('.') {
            return bad("bad domain");
        }
        // DNS labels: 1-63 letters, digits or hyphens, no hyphen at either end.
        let bad_label = |l: &str| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if domain.split('.').any(bad_label) {
            return bad("bad domain");
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidEmail;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which of the two sites an employee works at.
pub type Workspace = String;

/// A row of the Productivity System's `employees` table, as loaded.
///
/// Rows that cannot be used (no name, an invalid email) are kept as
/// [`RawEmployee`] by the loader and reported as findings, never dropped
/// silently and never read as "this employee left".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Employee {
    pub id: EmployeeId,
    pub full_name: String,
    pub email: Email,
    pub department: String,
    pub workspace: String,
    pub role_code: String,
    pub is_active: bool,
    /// The Auth0 account rosterd recorded for this employee, if any.
    pub auth0_user_id: Option<Auth0UserId>,
    /// When the employee's last day ends (UNIX seconds, UTC): the end of
    /// their end date in their workspace's time zone, computed by the shell.
    /// From then on they are a leaver whatever `is_active` says.
    #[serde(default)]
    pub leaves_at: Option<i64>,
    /// When the row last changed (UNIX seconds, UTC), where the source has
    /// an `updated_at` column: the start of the lifecycle latency.
    #[serde(default)]
    pub changed_at: Option<i64>,
}

/// Auth0's limits on the profile fields rosterd sends (characters).
pub const MAX_NAME_CHARS: usize = 300;
pub const MAX_GIVEN_FAMILY_CHARS: usize = 150;

/// Split "Mary Ann Smith" into ("Mary Ann", "Smith"); a single word is a
/// given name and an empty family name, which is sent as no family name
/// (Auth0 refuses `""`). The one split used by validation, create and update.
pub fn split_name(full: &str) -> (String, String) {
    let mut words = full.split_whitespace();
    let Some(last) = words.next_back() else {
        return (String::new(), String::new());
    };
    let mut given = String::new();
    for word in words {
        if !given.is_empty() {
            given.push(' ');
        }
        given.push_str(word);
    }
    match given.is_empty() {
        true => (last.to_string(), String::new()),
        false => (given, last.to_string()),
    }
}

/// Why Auth0 would refuse `full` as an account's names, if it would.
fn name_problem(full: &str) -> Option<EmployeeProblem> {
    let too_long = |field, chars, max| EmployeeProblem::TooLong { field, chars, max };
    let n = full.chars().count();
    if n > MAX_NAME_CHARS {
        return Some(too_long("name", n, MAX_NAME_CHARS));
    }
    let (given, family) = split_name(full);
    for (field, part) in [("given name", given), ("family name", family)] {
        let n = part.chars().count();
        if n > MAX_GIVEN_FAMILY_CHARS {
            return Some(too_long(field, n, MAX_GIVEN_FAMILY_CHARS));
        }
    }
    None
}

/// Why an `employees` row cannot be used; the text names the employee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("employee {id}: {problem}")]
pub struct InvalidEmployee {
    pub id: i64,
    pub problem: EmployeeProblem,
}

/// What is wrong with a row. Each is a fact about the row's values, said
/// whole here (an invalid email is part of the description, not a cause).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmployeeProblem {
    #[error("name is empty or NULL")]
    NoName,
    /// Longer than Auth0 accepts: `field` is the name, given or family name.
    #[error("{field} is {chars} characters, more than Auth0's {max}")]
    TooLong {
        field: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("email is NULL")]
    NoEmail,
    #[error("{0}")]
    Email(InvalidEmail),
}

/// An `employees` row exactly as the database returned it, before validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEmployee {
    pub id: i64,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub workspace: Option<String>,
    pub role_code: Option<String>,
    pub is_active: bool,
    pub auth0_user_id: Option<String>,
}

impl RawEmployee {
    /// Validate a row; the error names the employee and what is wrong.
    pub fn validate(self) -> Result<Employee, InvalidEmployee> {
        let invalid = |problem| InvalidEmployee {
            id: self.id,
            problem,
        };
        let full_name = self
            .full_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid(EmployeeProblem::NoName))?
            .to_string();
        if let Some(problem) = name_problem(&full_name) {
            return Err(invalid(problem));
        }
        let email = match self.email.as_deref() {
            None => return Err(invalid(EmployeeProblem::NoEmail)),
            Some(e) => Email::parse(e).map_err(|e| invalid(EmployeeProblem::Email(e)))?,
        };
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).unwrap_or_default();
        Ok(Employee {
            id: EmployeeId(self.id),
            full_name,
            email,
            department: text(self.department),
            workspace: text(self.workspace),
            role_code: text(self.role_code),
            is_active: self.is_active,
            auth0_user_id: self
                .auth0_user_id
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(Auth0UserId),
            leaves_at: None,
            changed_at: None,
        })
    }
}

/// An `employees` row the loader could not use, as the planner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvalidRow {
    /// The row's id, so its accounts are named in its finding rather than
    /// reported as belonging to nobody.
    pub employee_id: EmployeeId,
    /// What is wrong, naming the employee.
    pub detail: String,
    /// The row says the person left (`is_active = false`) and the id is
    /// theirs alone: evidence enough to block their accounts, whatever else
    /// is wrong with the row.
    pub left: bool,
    pub auth0_user_id: Option<Auth0UserId>,
}

impl InvalidRow {
    pub fn new(raw: &RawEmployee, detail: String, trusted: bool) -> Self {
        InvalidRow {
            employee_id: EmployeeId(raw.id),
            detail,
            left: trusted && !raw.is_active,
            auth0_user_id: raw
                .auth0_user_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Auth0UserId(s.to_string())),
        }
    }
}

/// The keys rosterd owns inside an account's `app_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedAppMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_names: Vec<String>,
    /// The PodFactory link (`podfactory.rich_metadata`), as the tenant holds
    /// it: kept as JSON so a hand-edited block reads as drift, not an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub podfactory_sync: Option<serde_json::Value>,
}

/// `app_metadata.podfactory_sync` (SPEC "Option B", off by default): which
/// PodFactory user an employee is, by what evidence, and every email the
/// person is known by, so Auth0 rules and searches can use them. Nothing in
/// it changes from run to run unless the link does (no timestamps), so a
/// run after a run plans nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodFactorySync {
    pub podfactory_user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub podfactory_email: Option<String>,
    /// The matcher's evidence: `manual`, `email`, `email_suffix`,
    /// `previous_name`, `name` or `fuzzy_name`.
    pub matched_by: String,
    /// The employee's email, the PodFactory email and that email with its
    /// station suffix removed: deduplicated, sorted.
    pub email_variations: Vec<String>,
}

/// An Auth0 account as rosterd sees it (the fields it exports and plans on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Auth0User {
    pub user_id: Auth0UserId,
    /// None for accounts without an email or with one rosterd cannot parse.
    pub email: Option<Email>,
    pub name: Option<String>,
    /// Auth0's `email_verified`; rosterd only reports it.
    pub email_verified: bool,
    pub blocked: bool,
    pub app_metadata: ManagedAppMetadata,
    /// The user_metadata keys rosterd manages; others are left alone.
    pub user_metadata: ManagedUserMetadata,
    /// When Auth0 created the account (UNIX seconds, UTC).
    #[serde(default)]
    pub created_at: Option<i64>,
    /// The last login (UNIX seconds, UTC); None: never logged in.
    #[serde(default)]
    pub last_login: Option<i64>,
    /// The connection of the account's first identity.
    #[serde(default)]
    pub connection: Option<String>,
    /// The top-level `app_metadata` keys whose value is `true` (an
    /// exclusion flag such as `rosterd_ignore` is one of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_metadata_flags: Vec<String>,
}

/// The keys rosterd owns inside an account's `user_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedUserMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lowercased_and_trimmed() {
        let e = Email::parse("  John.Doe@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "john.doe@example.com");
        assert_eq!(e.local_part(), "john.doe");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn bad_emails_are_rejected_with_a_reason() {
        for (raw, why) in [
            ("", "empty"),
            ("john", "no @"),
            ("@example.com", "bad local part"),
            ("john@localhost", "bad domain"),
            ("john@exa..mple.com", "bad domain"),
            ("jo hn@example.com", "contains whitespace"),
        ] {
            let err = Email::parse(raw).unwrap_err();
            assert_eq!(err.why, why, "{raw}");
        }
    }

    #[test]
    fn emails_auth0_refuses_are_rejected_at_load() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        for raw in [
            long_local.as_str(),
            long_label.as_str(),
            "a@-example.com",
            "a@example-.com",
            "a@ex_ample.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
        let ok_local = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&ok_local).is_ok());
        assert!(Email::parse("a@my-example.co.uk").is_ok());
    }

    fn named(name: &str) -> RawEmployee {
        RawEmployee {
            id: 9,
            full_name: Some(name.into()),
            email: Some("a@b.co".into()),
            department: None,
            workspace: None,
            role_code: None,
            is_active: true,
            auth0_user_id: None,
        }
    }

    #[test]
    fn names_auth0_refuses_are_rejected_at_load() {
        for (name, what) in [
            ("N".repeat(301), "name is 301"),
            (format!("{} Smith", "G".repeat(151)), "given name is 151"),
            (format!("Al {}", "F".repeat(151)), "family name is 151"),
        ] {
            let err = named(&name).validate().unwrap_err().to_string();
            assert!(err.contains("employee 9") && err.contains(what), "{err}");
        }
        // At the limits, and a one-word name (no family name), are fine.
        for name in [
            format!("{} {}", "G".repeat(149), "F".repeat(150)),
            "Cher".to_string(),
        ] {
            assert!(named(&name).validate().is_ok(), "{name}");
        }
    }

    #[test]
    fn raw_employee_validation_names_the_row() {
        let raw = RawEmployee {
            id: 7,
            full_name: None,
            email: Some("a@b.co".into()),
            department: None,
            workspace: None,
            role_code: None,
            is_active: true,
            auth0_user_id: None,
        };
        let err = raw.validate().unwrap_err().to_string();
        assert!(err.contains("employee 7") && err.contains("name"), "{err}");
    }
}
