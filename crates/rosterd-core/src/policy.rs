//! Lifecycle policy: what rosterd does in each situation the planner
//! recognizes, and who owns each Auth0 field it writes. Pure data: the
//! configuration parses into it, the planner reads it, and every planned
//! action and finding names the entry that chose it.
//!
//! The defaults are rosterd's behaviour before the policy existed, so a
//! configuration without `[policy]` plans exactly what it always did. Some
//! choices are not offered at all: a leaver's live login is at least
//! reported (never `ignore`), and rosterd never deletes an account.

use std::collections::BTreeMap;

crate::vocabulary! {
    /// A situation the planner recognizes; its string is the `[policy]` key.
    #[derive(PartialOrd, Ord)]
    pub enum Situation("situation") {
        /// An active employee with no account.
        ActiveWithoutAccount => "active_without_account",
        /// An account found for an employee by `app_metadata.employee_id`
        /// or email, not yet recorded as theirs.
        AccountFound => "account_found",
        /// An inactive employee (or one whose last day has ended) whose
        /// account is live.
        InactiveWithAccount => "inactive_with_account",
        /// An active employee whose account is blocked: back after leaving.
        Returned => "returned",
        /// An account whose managed fields differ from its employee.
        Drifted => "drifted",
        /// An account rosterd created that no employee claims.
        OrphanedCreated => "orphaned_created",
        /// An account carrying an employee id that is in no employees row.
        OrphanedEmployeeId => "orphaned_employee_id",
        /// More than one account for one employee.
        DuplicateAccounts => "duplicate_accounts",
        /// The evidence for an employee's account points different ways.
        ConflictingEvidence => "conflicting_evidence",
        /// An account no employee claims and rosterd did not create.
        Unmanaged => "unmanaged",
        /// A leaver's account that looks like a new active employee's (same
        /// email, or same name and workspace): a rehire under a new id.
        PossibleRehire => "possible_rehire",
        /// A managed account never logged into long after its creation.
        NeverLoggedIn => "never_logged_in",
        /// A managed account not logged into for a long time.
        StaleAccount => "stale_account",
    }
}

crate::vocabulary! {
    /// What a policy entry may choose.
    #[derive(PartialOrd, Ord)]
    pub enum PolicyAction("policy action") {
        Create => "create",
        Link => "link",
        Block => "block",
        Unblock => "unblock",
        Update => "update",
        /// Move a leaver's account to the new employee id and unblock it.
        Relink => "relink",
        /// A finding for a person; nothing changes in Auth0.
        Report => "report",
        /// Neither act nor report (counted only).
        Ignore => "ignore",
    }
}

impl Situation {
    /// The actions that make sense here, the default first.
    pub fn allowed(self) -> &'static [PolicyAction] {
        use PolicyAction::*;
        match self {
            Situation::ActiveWithoutAccount => &[Create, Report, Ignore],
            Situation::AccountFound => &[Link, Report],
            // A leaver's live login is the worst case: at least reported.
            Situation::InactiveWithAccount => &[Block, Report],
            Situation::Returned => &[Unblock, Report, Ignore],
            Situation::Drifted => &[Update, Report, Ignore],
            Situation::OrphanedCreated => &[Report, Block, Ignore],
            Situation::OrphanedEmployeeId => &[Report, Block, Ignore],
            // Which of several accounts is the person's is for a person.
            Situation::DuplicateAccounts => &[Report, Ignore],
            Situation::ConflictingEvidence => &[Report, Ignore],
            Situation::Unmanaged => &[Ignore, Report],
            Situation::PossibleRehire => &[Report, Relink],
            Situation::NeverLoggedIn => &[Report, Ignore],
            // `block` blocks only accounts of inactive employees.
            Situation::StaleAccount => &[Report, Block, Ignore],
        }
    }

    pub fn default_action(self) -> PolicyAction {
        self.allowed()[0]
    }
}

crate::vocabulary! {
    /// An Auth0 field rosterd writes; its string is the `[policy.fields]` key.
    #[derive(PartialOrd, Ord)]
    pub enum Field("field") {
        /// `name`, with `given_name` and `family_name` (split from it).
        Name => "name",
        Email => "email",
        Blocked => "blocked",
        Roles => "roles",
        AppEmployeeId => "app_metadata.employee_id",
        AppDepartment => "app_metadata.department",
        AppRoleCode => "app_metadata.role_code",
        AppWorkspace => "app_metadata.workspace",
        AppPodfactorySync => "app_metadata.podfactory_sync",
        UserEmployeeId => "user_metadata.employee_id",
        UserFullName => "user_metadata.full_name",
        UserDepartment => "user_metadata.department",
    }
}

crate::vocabulary! {
    /// Who owns a field once the account exists.
    pub enum Ownership("ownership") {
        /// rosterd sets it and repairs drift.
        Enforce => "enforce",
        /// rosterd sets it at creation and never overwrites it.
        CreateOnly => "create_only",
        /// rosterd neither sets nor repairs it.
        Ignore => "ignore",
    }
}

impl Field {
    /// The ownerships that make sense for this field, the default first.
    pub fn allowed(self) -> &'static [Ownership] {
        use Ownership::*;
        match self {
            // Auth0 creates no database-connection user without an email.
            Field::Email => &[Enforce, CreateOnly],
            // rosterd finds its accounts again by their employee id: an
            // account naming another employee is a conflict every run.
            Field::AppEmployeeId => &[Enforce],
            // Every account is created unblocked: there is nothing to set.
            Field::Blocked => &[Enforce, Ignore],
            _ => &[Enforce, CreateOnly, Ignore],
        }
    }
}

/// When an account counts as never used or stale (days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsagePolicy {
    /// `never_logged_in`: no login this many days after creation.
    pub never_logged_in_days: u32,
    /// `stale_account`: no login for this many days.
    pub stale_days: u32,
}

impl Default for UsagePolicy {
    fn default() -> Self {
        UsagePolicy {
            never_logged_in_days: 30,
            stale_days: 90,
        }
    }
}

/// The whole policy: an action per situation and an ownership per field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Entries configured; the rest take their defaults.
    actions: BTreeMap<Situation, PolicyAction>,
    fields: BTreeMap<Field, Ownership>,
    pub usage: UsagePolicy,
}

/// A policy entry that makes no sense; the text names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {value:?} is not allowed here (allowed: {allowed})")]
pub struct NotAllowed {
    pub key: String,
    pub value: String,
    pub allowed: String,
}

impl Policy {
    pub fn action(&self, s: Situation) -> PolicyAction {
        self.actions
            .get(&s)
            .copied()
            .unwrap_or_else(|| s.default_action())
    }

    pub fn set_action(&mut self, s: Situation, a: PolicyAction) -> Result<(), NotAllowed> {
        if !s.allowed().contains(&a) {
            return Err(NotAllowed {
                key: format!("policy.{s}"),
                value: a.to_string(),
                allowed: join(s.allowed()),
            });
        }
        self.actions.insert(s, a);
        Ok(())
    }

    pub fn owner(&self, f: Field) -> Ownership {
        self.fields
            .get(&f)
            .copied()
            .unwrap_or_else(|| f.allowed()[0])
    }

    pub fn set_owner(&mut self, f: Field, o: Ownership) -> Result<(), NotAllowed> {
        if !f.allowed().contains(&o) {
            return Err(NotAllowed {
                key: format!("policy.fields.\"{f}\""),
                value: o.to_string(),
                allowed: join(f.allowed()),
            });
        }
        self.fields.insert(f, o);
        Ok(())
    }

    /// Entries that contradict each other, each naming both keys. Checked
    /// after every entry is set (`check-config`, start-up).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        // The role rosterd assigned is read back from app_metadata.role_code:
        // repairing roles while that key may differ would reassign forever.
        if self.owner(Field::Roles) == Ownership::Enforce
            && self.owner(Field::AppRoleCode) != Ownership::Enforce
        {
            out.push(format!(
                "policy.fields.\"roles\": \"enforce\" needs policy.fields.\"app_metadata.role_code\" = \"enforce\" too (rosterd reads the assigned role from it), not \"{}\"",
                self.owner(Field::AppRoleCode)
            ));
        }
        // `blocked = "ignore"` means rosterd never blocks nor unblocks: every
        // situation that would must say so too.
        if self.owner(Field::Blocked) == Ownership::Ignore {
            for s in Situation::ALL {
                let a = self.action(*s);
                if matches!(
                    a,
                    PolicyAction::Block | PolicyAction::Unblock | PolicyAction::Relink
                ) {
                    out.push(format!(
                        "policy.fields.\"blocked\" = \"ignore\" contradicts policy.{s} = \"{a}\"{} (set it to \"report\")",
                        if self.actions.contains_key(s) { "" } else { " (its default)" }
                    ));
                }
            }
        }
        out
    }

    /// The entry that chose what happens in `s`, as a person would find it
    /// in the configuration: `policy.orphaned_created = "block"`, with
    /// `(default)` when it was not configured.
    pub fn entry(&self, s: Situation) -> String {
        let chosen = self.action(s);
        let default = if self.actions.contains_key(&s) {
            ""
        } else {
            " (default)"
        };
        format!("policy.{s} = \"{chosen}\"{default}")
    }
}

fn join<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_first_allowed_and_an_unlisted_action_is_refused_by_key() {
        let mut p = Policy::default();
        assert_eq!(
            p.action(Situation::InactiveWithAccount),
            PolicyAction::Block
        );
        assert_eq!(p.action(Situation::OrphanedCreated), PolicyAction::Report);
        assert_eq!(p.action(Situation::Unmanaged), PolicyAction::Ignore);
        let err = p
            .set_action(Situation::InactiveWithAccount, PolicyAction::Ignore)
            .unwrap_err();
        assert_eq!(err.key, "policy.inactive_with_account");
        assert!(err.to_string().contains("allowed: block, report"), "{err}");
        p.set_action(Situation::OrphanedCreated, PolicyAction::Block)
            .unwrap();
        assert_eq!(
            p.entry(Situation::OrphanedCreated),
            "policy.orphaned_created = \"block\""
        );
        assert_eq!(
            p.entry(Situation::Drifted),
            "policy.drifted = \"update\" (default)"
        );
    }

    #[test]
    fn every_situation_and_field_has_a_default_among_its_allowed() {
        for s in Situation::ALL {
            assert!(s.allowed().contains(&s.default_action()));
        }
        let p = Policy::default();
        for f in Field::ALL {
            assert_eq!(p.owner(*f), Ownership::Enforce, "{f}");
        }
        let mut p = p;
        assert!(p.set_owner(Field::Email, Ownership::Ignore).is_err());
        assert!(p.set_owner(Field::Blocked, Ownership::CreateOnly).is_err());
        p.set_owner(Field::UserFullName, Ownership::CreateOnly)
            .unwrap();
        assert_eq!(p.owner(Field::UserFullName), Ownership::CreateOnly);
    }
}
