//! The planner: employees + Auth0 accounts → a plan. Pure: no I/O, no clock,
//! no randomness, so the same inputs always give the same plan and every
//! decision can be unit-tested and benchmarked.
//!
//! Why it looks like this:
//! - A run accepts no hints about what changed. It reads everything and
//!   decides afresh, so the path that heals a crash or a missed event is the
//!   path every run takes, and a second run after a successful one plans
//!   nothing (convergence).
//! - Each employee is linked to at most one account by evidence, strongest
//!   first: the id rosterd recorded (`employees.auth0_user_id`), then
//!   `app_metadata.employee_id`, then the email. When sources disagree the
//!   plan records a finding and does nothing for that employee: a wrong link
//!   would hand one person's login to another, a missing one only delays.
//! - Accounts that no employee claims and rosterd did not create are
//!   *unmanaged* (tenant admins, contractors, test users): counted, never
//!   touched.
//! - Actions are independent: each names its own target, so applying them in
//!   any order, or losing some to failures, leaves a state the next plan
//!   can finish from.

mod decide;
mod departures;
pub mod guard;
mod usage;

use decide::Out;

use crate::model::{
    Auth0User, Auth0UserId, Email, Employee, EmployeeId, InvalidRow, ManagedAppMetadata,
    ManagedUserMetadata, PodFactorySync,
};
use crate::policy::{Field, Ownership, Policy, PolicyAction, Situation};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// Settings the planner needs, taken from the configuration by the shell.
#[derive(Debug, Clone, Default)]
pub struct PlanPolicy {
    /// `app_metadata.created_by` of accounts rosterd creates.
    pub created_by: String,
    /// `Some` when `podfactory.rich_metadata` is on: the PodFactory link of
    /// every matched employee. An account whose employee is not in it loses
    /// a stale block; `None` leaves `app_metadata.podfactory_sync` alone.
    pub podfactory_sync: Option<BTreeMap<EmployeeId, PodFactorySync>>,
    /// The tenant's roles, when known: a role code without one is a
    /// finding and the account is created or updated without the role.
    /// `None` takes every role code as mapped.
    pub roles: Option<RoleResolver>,
    /// "Now" (UNIX seconds, UTC), as the shell read it: the planner reads
    /// no clock, so end dates and account ages are tested with fixed ones.
    pub now: i64,
    /// What each situation does and who owns each field (`[policy]`).
    pub rules: Policy,
    /// Accounts rosterd never touches nor reports, with why (the shell
    /// evaluates `policy.exclude`: ids, email patterns, connections, flags).
    pub excluded_accounts: BTreeMap<Auth0UserId, String>,
    /// Employees rosterd never provisions, with why.
    pub excluded_employees: BTreeMap<EmployeeId, String>,
    /// The keys of `possible_rehire` findings a person acknowledged: "not
    /// a rehire", so that employee gets an account of their own.
    pub not_rehires: BTreeSet<String>,
    /// Employees rows whose id could not be read this run: their people's
    /// accounts look like orphans, so no orphan is blocked (absence is not
    /// departure); they are reported instead.
    pub unidentified_rows: usize,
}

/// Resolves employee role codes to the tenant's Auth0 role ids.
///
/// One rule for case: role codes compare case-insensitively (ASCII)
/// everywhere, `auth0.roles` keys and employees' values alike, and so do
/// Auth0 role names. An unmapped code is looked up as a role name itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleResolver {
    /// `auth0.roles`: role code → Auth0 role name.
    names: BTreeMap<String, String>,
    /// The tenant's roles as (name, id).
    roles: Vec<(String, String)>,
}

impl RoleResolver {
    pub fn new(names: &BTreeMap<String, String>, roles: Vec<(String, String)>) -> Self {
        RoleResolver {
            names: names.clone(),
            roles,
        }
    }

    /// The role id for `role_code` (None for an empty code), or why there
    /// is none.
    pub fn id(&self, role_code: &str) -> Result<Option<&str>, UnmappedRole> {
        if role_code.is_empty() {
            return Ok(None);
        }
        let name = self
            .names
            .iter()
            .find(|(code, _)| code.eq_ignore_ascii_case(role_code))
            .map_or(role_code, |(_, name)| name.as_str());
        self.roles
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, id)| Some(id.as_str()))
            .ok_or_else(|| UnmappedRole {
                name: name.to_string(),
                role_code: role_code.to_string(),
            })
    }
}

/// A role code whose Auth0 role the tenant does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Auth0 role named {name:?} for role_code {role_code:?} (map it in auth0.roles)")]
pub struct UnmappedRole {
    pub name: String,
    pub role_code: String,
}

/// What the planner decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub actions: Vec<PlannedAction>,
    pub findings: Vec<Finding>,
    pub stats: PlanStats,
    /// Leavers whose last day has not ended yet: blocked when it does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled: Vec<ScheduledBlock>,
    /// Managed accounts seen drifted, per field (whatever its ownership:
    /// this is how ops see who else writes the tenant).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drift: BTreeMap<String, usize>,
}

/// A block planned for later: the employee's last day ends at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledBlock {
    pub employee_id: EmployeeId,
    /// UNIX seconds, UTC.
    pub at: i64,
    pub auth0_user_ids: Vec<Auth0UserId>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStats {
    pub employees: usize,
    pub active_employees: usize,
    pub auth0_users: usize,
    /// Accounts linked to an employee, or created by rosterd.
    pub managed_accounts: usize,
    pub unmanaged_accounts: usize,
    /// Managed accounts whose email Auth0 holds as not verified.
    #[serde(default)]
    pub managed_unverified_email: usize,
    /// Accounts left alone by `policy.exclude`.
    #[serde(default)]
    pub excluded_accounts: usize,
    /// Employees left alone by `policy.exclude`.
    #[serde(default)]
    pub excluded_employees: usize,
    /// Managed accounts never logged into (`never_logged_in`).
    #[serde(default)]
    pub never_logged_in: usize,
    /// Managed accounts not logged into for `policy.usage.stale_days`.
    #[serde(default)]
    pub stale_accounts: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    #[serde(flatten)]
    pub action: Action,
    pub reason: String,
    /// The situation the planner recognized.
    pub situation: Situation,
    /// The policy entry that chose this action (`Policy::entry`); empty in
    /// plans stored before the policy existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy: String,
}

/// How an employee was tied to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    StoredId,
    EmployeeIdMetadata,
    Email,
    /// A leaver's account moved to their new employee id
    /// (`policy.possible_rehire = "relink"`).
    Rehire,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A new account for an active employee that has none.
    Create {
        employee_id: EmployeeId,
        email: Email,
        name: String,
        given_name: String,
        family_name: String,
        role_code: String,
        app_metadata: ManagedAppMetadata,
        user_metadata: ManagedUserMetadata,
    },
    /// Record an existing account as the employee's (and make sure its role
    /// is assigned: a crash may have come between creating and assigning).
    Link {
        employee_id: EmployeeId,
        auth0_user_id: Auth0UserId,
        evidence: Evidence,
        role_code: String,
        /// A relinked rehire: the leaver's row whose link to this account
        /// is cleared, so that one row claims it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_employee_id: Option<EmployeeId>,
    },
    /// `employee_id` is None for an account that names no employee (an
    /// orphan rosterd created, blocked by policy).
    Block {
        employee_id: Option<EmployeeId>,
        auth0_user_id: Auth0UserId,
    },
    Unblock {
        employee_id: EmployeeId,
        auth0_user_id: Auth0UserId,
    },
    /// Bring a drifted account back in line with its employee.
    Update {
        employee_id: EmployeeId,
        auth0_user_id: Auth0UserId,
        patch: UserPatch,
        /// Set when the role changed: the old role is removed, the new one assigned.
        role_change: Option<RoleChange>,
        /// Field names that drifted, for people reading the plan.
        fields: Vec<String>,
    },
}

crate::vocabulary! {
    /// What an action does, without its data: `reconcile_actions.kind`, the
    /// `kind` label of `rosterd_actions_total`, and the `kind` tag of a
    /// serialized [`Action`].
    pub enum ActionKind("action kind") {
        Create => "create",
        Link => "link",
        Block => "block",
        Unblock => "unblock",
        Update => "update",
    }
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Create { .. } => ActionKind::Create,
            Action::Link { .. } => ActionKind::Link,
            Action::Block { .. } => ActionKind::Block,
            Action::Unblock { .. } => ActionKind::Unblock,
            Action::Update { .. } => ActionKind::Update,
        }
    }
    /// The employee the action is for; None only for a policy block of an
    /// account that names no employee.
    pub fn employee_id(&self) -> Option<EmployeeId> {
        match self {
            Action::Create { employee_id, .. }
            | Action::Link { employee_id, .. }
            | Action::Unblock { employee_id, .. }
            | Action::Update { employee_id, .. } => Some(*employee_id),
            Action::Block { employee_id, .. } => *employee_id,
        }
    }
    pub fn auth0_user_id(&self) -> Option<&Auth0UserId> {
        match self {
            Action::Create { .. } => None,
            Action::Link { auth0_user_id, .. }
            | Action::Block { auth0_user_id, .. }
            | Action::Unblock { auth0_user_id, .. }
            | Action::Update { auth0_user_id, .. } => Some(auth0_user_id),
        }
    }
}

/// The body of a `PATCH /api/v2/users/{id}`: only what changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `Some(None)` sends `null`, removing the family name: a one-word
    /// name has none, and Auth0 refuses `""`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "present"
    )]
    pub family_name: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Set with `email`: the HR record is the verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Merged one level deep by Auth0; keys rosterd does not own survive.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
}

/// A field that is present deserializes to `Some`, `null` included (serde's
/// default reads `null` as absent), so a stored plan reads back as planned.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChange {
    pub from: Option<String>,
    pub to: String,
}

/// Something a person should look at; never acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<EmployeeId>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub auth0_user_ids: Vec<Auth0UserId>,
    pub detail: String,
    /// The PodFactory user a matching finding is about.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub podfactory_user_id: Option<String>,
    /// The best employees for an unmatched or ambiguous PodFactory user, so
    /// on-call can fix it with a manual mapping.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub candidates: Vec<FindingCandidate>,
    /// The role code an `unmapped_role_code` finding is about.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role_code: Option<String>,
    /// The PodFactory user an unmatched or ambiguous finding is about, as
    /// PodFactory knows them: what a person compares the candidates with.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub podfactory_user: Option<FindingPodfactoryUser>,
    /// The situation, for findings the policy chose to report (not for
    /// source problems such as an invalid row).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub situation: Option<Situation>,
    /// The policy entry that chose to report it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<String>,
}

/// An employee a PodFactory user may be, with what a person needs to tell
/// (plans stored before these fields read them as empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingCandidate {
    pub employee_id: EmployeeId,
    pub score: f64,
    pub reason: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub workspace: String,
    #[serde(default)]
    pub is_active: bool,
}

/// A PodFactory user as its source gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingPodfactoryUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

impl Eq for FindingCandidate {}

impl Finding {
    /// A finding about employees and accounts (not PodFactory users).
    pub fn new(
        kind: FindingKind,
        employee_id: Option<EmployeeId>,
        auth0_user_ids: Vec<Auth0UserId>,
        detail: String,
    ) -> Self {
        Finding {
            kind,
            employee_id,
            auth0_user_ids,
            detail,
            podfactory_user_id: None,
            candidates: Vec::new(),
            role_code: None,
            podfactory_user: None,
            situation: None,
            policy: None,
        }
    }

    /// A stable identity for "the same finding" across runs (the digest's
    /// dedup, acknowledgements, triage): its kind and what it names, never
    /// its wording; except a finding naming no employee, PodFactory user or
    /// account (an employees row whose id cannot be read), told apart by
    /// its text, or every such finding would share one key.
    pub fn key(&self) -> String {
        let names_nothing = self.employee_id.is_none()
            && self.podfactory_user_id.is_none()
            && self.auth0_user_ids.is_empty();
        if names_nothing {
            return format!("{}|detail|{}", self.kind.as_str(), self.detail);
        }
        let ids: Vec<&str> = self.auth0_user_ids.iter().map(|u| u.0.as_str()).collect();
        format!(
            "{}|{}|{}|{}{}",
            self.kind.as_str(),
            self.employee_id.map(|e| e.to_string()).unwrap_or_default(),
            self.podfactory_user_id.as_deref().unwrap_or(""),
            ids.join(","),
            self.role_code
                .as_deref()
                .map(|c| format!("|{c}"))
                .unwrap_or_default()
        )
    }
}

crate::vocabulary! {
    #[derive(PartialOrd, Ord)]
    pub enum FindingKind("finding kind") {
        /// An account rosterd created (or one carrying an employee id) that no
        /// employee claims.
        Orphaned => "orphaned",
        /// More than one account for one employee.
        DuplicateAccount => "duplicate_account",
        /// The evidence for an employee's account points different ways.
        ConflictingEvidence => "conflicting_evidence",
        /// Two employees share one email address.
        DuplicateEmployeeEmail => "duplicate_employee_email",
        /// An employees row that cannot be used (NULL name, invalid email, …).
        InvalidEmployee => "invalid_employee",
        /// A PodFactory user no employee matches.
        UnmatchedPodfactoryUser => "unmatched_podfactory_user",
        /// A PodFactory user with several plausible employees; never linked.
        AmbiguousPodfactoryUser => "ambiguous_podfactory_user",
        /// An active employee with no PodFactory user.
        EmployeeWithoutPodfactoryUser => "employee_without_podfactory_user",
        /// The PodFactory source could not be read: matching was skipped.
        PodfactorySourceUnavailable => "podfactory_source_unavailable",
        /// A PodFactory row that cannot be used (no id, a duplicated id, an
        /// unreadable value): skipped, the other users matched.
        InvalidPodfactoryRow => "invalid_podfactory_row",
        /// A role code with no Auth0 role: one finding per code, naming the
        /// employees it affects.
        UnmappedRoleCode => "unmapped_role_code",
        /// A leaver's account that looks like a new active employee's.
        PossibleRehire => "possible_rehire",
        /// A managed account never logged into long after its creation.
        NeverLoggedIn => "never_logged_in",
        /// A managed account not logged into for a long time.
        StaleAccount => "stale_account",
        /// An account no employee claims and rosterd did not create, when
        /// `policy.unmanaged = "report"`.
        UnmanagedAccount => "unmanaged_account",
        /// What rosterd would do, not done because the situation's policy
        /// entry says `report` (the finding names the entry).
        ReportedByPolicy => "reported_by_policy",
    }
}

/// Where an employee's resolution landed.
enum Resolution<'a> {
    Account(&'a Auth0User, Evidence),
    NoAccount,
    /// A finding was recorded; do nothing for this employee.
    Undecided,
    /// The evidence names an excluded account: nothing is done for this
    /// employee, and nothing is said (`policy.exclude`).
    Excluded,
}

pub use crate::model::split_name;

/// The managed `app_metadata` an employee's account should carry.
/// `created_by` and `previous_names` are history, not drift, and are handled
/// apart.
fn desired_app_metadata(e: &Employee, role: &DesiredRole) -> ManagedAppMetadata {
    ManagedAppMetadata {
        employee_id: Some(e.id.0),
        department: Some(e.department.clone()),
        role_code: role.metadata.map(str::to_string),
        workspace: Some(e.workspace.clone()),
        created_by: None,
        previous_names: Vec::new(),
        podfactory_sync: None,
    }
}

/// The `podfactory_sync` block `e`'s account should carry (`Some(None)`:
/// none), or `None` when rosterd does not manage the key.
fn desired_sync(e: &Employee, policy: &PlanPolicy) -> Option<Option<serde_json::Value>> {
    let links = policy.podfactory_sync.as_ref()?;
    Some(
        links
            .get(&e.id)
            .map(|s| serde_json::to_value(s).expect("a struct of strings serializes")),
    )
}

fn desired_user_metadata(e: &Employee) -> ManagedUserMetadata {
    ManagedUserMetadata {
        employee_id: Some(e.id.0),
        full_name: Some(e.full_name.clone()),
        department: Some(e.department.clone()),
    }
}

/// The values filed under one key, in the order they were added. Nearly
/// every key has one: a `Vec` each would be an allocation per employee or
/// account, a large part of a 100,000-employee plan's time.
#[derive(Debug, Clone)]
enum Group<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Copy> Group<T> {
    fn push(&mut self, v: T) {
        match self {
            Group::One(first) => *self = Group::Many(vec![*first, v]),
            Group::Many(all) => all.push(v),
        }
    }

    fn as_slice(&self) -> &[T] {
        match self {
            Group::One(v) => std::slice::from_ref(v),
            Group::Many(all) => all,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Group::One(v) => std::slice::from_mut(v),
            Group::Many(all) => all,
        }
    }
}

/// File `v` under `k`.
fn file<K: std::hash::Hash + Eq, T: Copy>(map: &mut FxHashMap<K, Group<T>>, k: K, v: T) {
    map.entry(k)
        .and_modify(|g| g.push(v))
        .or_insert(Group::One(v));
}

/// File `v` in a per-account slot.
fn claim<T: Copy>(slot: &mut Option<Group<T>>, v: T) {
    match slot {
        Some(g) => g.push(v),
        None => *slot = Some(Group::One(v)),
    }
}

/// The values under `k`, none when absent.
fn filed<'m, K, Q, T>(map: &'m FxHashMap<K, Group<T>>, k: &Q) -> &'m [T]
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
    T: Copy,
{
    map.get(k).map_or(&[], Group::as_slice)
}

/// The index's accounts carrying employee ids, walked beside employees
/// taken in increasing id order.
struct Carrying<'s, 'a> {
    ids: &'s [i64],
    accounts: &'s [&'a Auth0User],
}

impl<'s, 'a> Carrying<'s, 'a> {
    fn new(idx: &'s Index<'a>) -> Self {
        Carrying {
            ids: &idx.carrying_ids,
            accounts: &idx.carrying,
        }
    }

    /// The accounts carrying `id`, which must be no smaller than the last
    /// id asked for.
    fn of(&mut self, id: i64) -> &'s [&'a Auth0User] {
        let passed = self.ids.iter().take_while(|k| **k < id).count();
        self.ids = &self.ids[passed..];
        self.accounts = &self.accounts[passed..];
        let n = self.ids.iter().take_while(|k| **k == id).count();
        &self.accounts[..n]
    }
}

/// What [`Index::evidence`] found for an employee.
struct Found<'s, 'a> {
    stored: Option<&'a Auth0User>,
    /// Accounts carrying the employee id.
    carrying: &'s [&'a Auth0User],
    by_email: &'s [&'a Auth0User],
}

/// An email's accounts, and how many employees have it.
#[derive(Default)]
struct EmailUse<'a> {
    accounts: Option<Group<&'a Auth0User>>,
    employees: u32,
}

struct Index<'a> {
    /// The accounts as given, and the slot of each: accounts sharing a
    /// user id share one, so that facts about accounts are kept in vectors
    /// of `slots` (a lookup per employee in a map keyed by id was the
    /// larger part of a big plan's time).
    users: &'a [Auth0User],
    slot_of: Vec<u32>,
    slots: usize,
    by_id: FxHashMap<&'a str, &'a Auth0User>,
    /// The accounts carrying an employee id, ordered by it (then by user
    /// id), beside the ids: employees planned in id order find theirs by
    /// walking the list once (`Carrying`), not by a lookup each.
    carrying_ids: Vec<i64>,
    carrying: Vec<&'a Auth0User>,
    /// Every email an account or employee has, numbered once: an
    /// employee's email is hashed once, both to find its accounts and to
    /// tell whether another employee shares it.
    email_number: FxHashMap<&'a str, u32>,
    emails: Vec<EmailUse<'a>>,
    /// `policy.exclude`: indexed like the rest (they are evidence that an
    /// employee's account exists), never acted on nor reported.
    excluded: &'a BTreeMap<Auth0UserId, String>,
}

impl<'a> Index<'a> {
    fn new(users: &'a [Auth0User], excluded: &'a BTreeMap<Auth0UserId, String>) -> Self {
        let mut idx = Index {
            users,
            slot_of: vec![0; users.len()],
            slots: 0,
            by_id: FxHashMap::with_capacity_and_hasher(users.len(), Default::default()),
            carrying_ids: Vec::new(),
            carrying: Vec::new(),
            email_number: FxHashMap::with_capacity_and_hasher(users.len(), Default::default()),
            emails: Vec::with_capacity(users.len()),
            excluded,
        };
        let mut carrying: Vec<(i64, &'a Auth0User)> = Vec::with_capacity(users.len());
        for (at, u) in users.iter().enumerate() {
            idx.slot_of[at] = match idx.by_id.insert(u.user_id.0.as_str(), u) {
                Some(same) => idx.slot_of[idx.position(same)],
                None => {
                    idx.slots += 1;
                    (idx.slots - 1) as u32
                }
            };
            if let Some(id) = u.app_metadata.employee_id {
                carrying.push((id, u));
            }
            if let Some(email) = &u.email {
                let n = idx.number(email.as_str());
                claim(&mut idx.emails[n].accounts, u);
            }
        }
        // Input order is whatever the export returned: lists of more than
        // one account are sorted by user id (stably), so that every list
        // built from the index (and every finding naming it) is stable.
        carrying.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.user_id.cmp(&b.1.user_id)));
        (idx.carrying_ids, idx.carrying) = carrying.into_iter().unzip();
        for email in &mut idx.emails {
            if let Some(Group::Many(all)) = &mut email.accounts {
                all.sort_by(|a, b| a.user_id.cmp(&b.user_id));
            }
        }
        idx
    }

    /// `email`'s number, a new one if it has none yet.
    fn number(&mut self, email: &'a str) -> usize {
        let next = self.emails.len() as u32;
        let n = *self.email_number.entry(email).or_insert(next);
        if n == next {
            self.emails.push(EmailUse::default());
        }
        n as usize
    }

    /// Numbers the employees' emails (each employee's, in order) and
    /// returns those two or more employees share.
    fn file_employees(&mut self, employees: &[&'a Employee]) -> (Vec<u32>, FxHashSet<&'a str>) {
        let mut shared = FxHashSet::default();
        let numbers = employees
            .iter()
            .map(|e| {
                let n = self.number(e.email.as_str());
                self.emails[n].employees += 1;
                if self.emails[n].employees == 2 {
                    shared.insert(e.email.as_str());
                }
                n as u32
            })
            .collect();
        (numbers, shared)
    }

    /// The accounts using `email`.
    fn by_email(&self, email: &str) -> &[&'a Auth0User] {
        self.email_number
            .get(email)
            .and_then(|n| self.emails[*n as usize].accounts.as_ref())
            .map_or(&[], Group::as_slice)
    }

    /// The accounts carrying employee id `id`.
    fn carrying(&self, id: i64) -> &[&'a Auth0User] {
        let from = self.carrying_ids.partition_point(|k| *k < id);
        let to = from + self.carrying_ids[from..].partition_point(|k| *k == id);
        &self.carrying[from..to]
    }

    fn excluded(&self, u: &Auth0User) -> bool {
        self.excluded.contains_key(&u.user_id)
    }

    /// Where `u` is in `users`: every account the planner handles is one of
    /// them, so its address says.
    fn position(&self, u: &Auth0User) -> usize {
        let at = (u as *const Auth0User as usize).wrapping_sub(self.users.as_ptr() as usize)
            / std::mem::size_of::<Auth0User>();
        assert!(
            self.users.get(at).is_some_and(|v| std::ptr::eq(v, u)),
            "account {} is not one the index was built from",
            u.user_id
        );
        at
    }

    fn slot(&self, u: &Auth0User) -> usize {
        self.slot_of[self.position(u)] as usize
    }

    /// The accounts `e` may be tied to, by each kind of evidence (none by
    /// an email `e` shares with another employee); `email` is the number
    /// of `e`'s email, `carrying` walks the index beside the employees.
    fn evidence<'s>(
        &'s self,
        e: &Employee,
        email: u32,
        carrying: &mut Carrying<'s, 'a>,
    ) -> Found<'s, 'a> {
        let email = &self.emails[email as usize];
        Found {
            stored: e
                .auth0_user_id
                .as_ref()
                .and_then(|id| self.by_id.get(id.0.as_str()).copied()),
            carrying: carrying.of(e.id.0),
            by_email: match (email.employees > 1, &email.accounts) {
                (false, Some(accounts)) => accounts.as_slice(),
                _ => &[],
            },
        }
    }

    /// A fact per account slot, none yet.
    fn per_account<T: Clone>(&self) -> Vec<Option<T>> {
        vec![None; self.slots]
    }
}

/// Compute the plan. `invalid_rows` are the rows the loader could not use,
/// already described; they become findings so nothing is dropped silently,
/// and a row that says its person left still gets their accounts blocked.
pub fn plan(
    employees: &[Employee],
    auth0_users: &[Auth0User],
    invalid_rows: &[InvalidRow],
    policy: &PlanPolicy,
) -> Plan {
    // End dates first: whoever's last day has ended is a leaver from here on.
    let (employees, scheduled) = departures::effective(employees, auth0_users, policy);
    let employees: &[Employee] = &employees;
    let mut idx = Index::new(auth0_users, &policy.excluded_accounts);
    // About one action per employee at most, nearly always.
    let mut out = Out::new(&policy.rules, employees.len());
    let excluded_employee = |id: &EmployeeId| policy.excluded_employees.contains_key(id);

    let mut sorted: Vec<&Employee> = employees.iter().collect();
    sorted.sort_by_key(|e| e.id);

    // An email shared by two employees cannot be evidence for either.
    // Nearly always none is: the index counts each email's employees, and
    // only a shared email's owners are listed.
    let (email_numbers, shared) = idx.file_employees(&sorted);
    // Complete: from here on only read.
    let idx = idx;
    let shared_email = |e: &Employee| !shared.is_empty() && shared.contains(e.email.as_str());
    let mut email_owners: FxHashMap<&str, Group<EmployeeId>> = FxHashMap::default();
    for e in sorted.iter().filter(|e| shared_email(e)) {
        file(&mut email_owners, e.email.as_str(), e.id);
    }
    for (email, owners) in &email_owners {
        let owners = owners.as_slice();
        for id in owners.iter().filter(|id| !excluded_employee(id)) {
            out.findings.push(Finding::new(
                FindingKind::DuplicateEmployeeEmail,
                Some(*id),
                vec![],
                format!(
                    "email {email} belongs to employees {}",
                    owners
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }

    // Phase 1: resolve each employee to an account (or none, or undecided).
    // An excluded employee is resolved too, so that their accounts are
    // theirs (not orphans), but what it finds is never reported.
    // The evidence is looked up first, in a loop of nothing else: the
    // lookups miss the cache, and there the processor overlaps them.
    let mut carrying = Carrying::new(&idx);
    let found: Vec<Found> = sorted
        .iter()
        .zip(&email_numbers)
        .map(|(e, email)| idx.evidence(e, *email, &mut carrying))
        .collect();
    drop(email_numbers);
    let mut resolved: Vec<(&Employee, Resolution)> = Vec::with_capacity(sorted.len());
    let mut quiet: Vec<Finding> = Vec::new();
    for (e, found) in sorted.iter().zip(&found) {
        let into = if excluded_employee(&e.id) {
            &mut quiet
        } else {
            &mut out.findings
        };
        resolved.push((e, resolve(e, &idx, found, into)));
    }

    // Phase 2: an account claimed by two employees is a conflict for both.
    let mut claims: Vec<Option<Group<&Employee>>> = idx.per_account();
    for (e, r) in &resolved {
        if let Resolution::Account(u, _) = r {
            claim(&mut claims[idx.slot(u)], *e);
        }
    }
    // A stored id is a claim even when its employee ended undecided: the
    // account must not go to someone else on weaker evidence.
    for (e, r) in &resolved {
        if let (Resolution::Undecided, Some(id)) = (r, &e.auth0_user_id) {
            let slot = idx.by_id.get(id.0.as_str()).map(|u| idx.slot(u));
            if let Some(owners) = slot.and_then(|s| claims[s].as_mut()) {
                owners.push(e);
                owners.as_mut_slice().sort_by_key(|o| o.id);
            }
        }
    }
    for (e, r) in resolved.iter_mut() {
        if let Resolution::Account(u, _) = r {
            let owners = claims[idx.slot(u)]
                .as_ref()
                .map_or(&[][..], Group::as_slice);
            if owners.len() > 1 {
                let into = if excluded_employee(&e.id) {
                    &mut quiet
                } else {
                    &mut out.findings
                };
                into.push(Finding::new(
                    FindingKind::ConflictingEvidence,
                    Some(e.id),
                    vec![u.user_id.clone()],
                    format!(
                        "account {} is claimed by employees {}",
                        u.user_id,
                        owners
                            .iter()
                            .map(|o| o.id.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                *r = Resolution::Undecided;
            }
        }
    }

    // Accounts an active employee has any claim on (stored id, metadata,
    // resolution): a leaver's evidence never blocks those.
    let mut active_claims: Vec<Option<Group<EmployeeId>>> = idx.per_account();
    let mut mine: Vec<usize> = Vec::new();
    for ((e, r), found) in resolved.iter().zip(&found) {
        if !e.is_active {
            continue;
        }
        mine.clear();
        mine.extend(found.carrying.iter().map(|u| idx.slot(u)));
        // A stored id of no account is never looked up; one found by its
        // stored id is the resolution's own account.
        let stored = match (r, &e.auth0_user_id) {
            (Resolution::Account(_, Evidence::StoredId), _) | (_, None) => None,
            (_, Some(id)) => idx.by_id.get(id.0.as_str()).map(|u| idx.slot(u)),
        };
        mine.extend(stored);
        if let Resolution::Account(u, _) = r {
            mine.push(idx.slot(u));
        }
        mine.sort_unstable();
        mine.dedup();
        for slot in &mine {
            claim(&mut active_claims[*slot], e.id);
        }
    }
    // Freed as soon as it is done with, so that the actions reuse its
    // memory: new memory costs a page fault every 4 KiB, a large part of a
    // 100,000-employee plan's time.
    drop(found);

    // Rehires under a new id: decided before phase 3, since the leaver's
    // account may have to move rather than be blocked.
    let rehires = Rehires::find(&resolved, &email_owners, policy);
    out.findings.retain(|f| !rehires.explains(f));

    // Phase 3: actions, each through its situation's policy entry.
    let mut roles = RoleCheck::default();
    let mut drift_seen: BTreeMap<String, usize> = BTreeMap::new();
    // Every account a leaver must lose, even when which account is "theirs"
    // is undecided: a live login of a person who left is the worst case.
    let mut leavers = Leavers::new(&idx);
    for (e, r) in &resolved {
        if excluded_employee(&e.id) {
            continue;
        }
        if let Some(candidates) = rehires.of_new.get(&e.id) {
            let role = roles.desired(e, policy);
            let mut ctx = AccountContext {
                evidence: Evidence::Rehire,
                role: &role,
                email_shared: shared_email(e),
                policy,
                drift_seen: &mut drift_seen,
            };
            rehires.plan(e, candidates, &mut ctx, &mut out);
            continue;
        }
        match r {
            Resolution::Account(u, _) if rehires.moving.contains(&u.user_id) => {
                // The account moves to the rehire: never blocked as a leaver's.
                leavers.mark(u, &idx);
            }
            Resolution::Account(u, evidence) => {
                let role = roles.desired(e, policy);
                let mut ctx = AccountContext {
                    evidence: *evidence,
                    role: &role,
                    email_shared: shared_email(e),
                    policy,
                    drift_seen: &mut drift_seen,
                };
                account_actions(e, u, &mut ctx, &mut out);
                if !e.is_active {
                    leavers.mark(u, &idx);
                }
            }
            Resolution::NoAccount if e.is_active && !shared_email(e) => {
                let role = roles.desired(e, policy);
                let (action, reason) = create_action(e, &role, policy);
                out.act(Situation::ActiveWithoutAccount, action, reason);
            }
            Resolution::Undecided if !e.is_active => {
                let by_email = if shared_email(e) {
                    &[][..]
                } else {
                    idx.by_email(e.email.as_str())
                };
                let attributed = leaver_accounts(
                    e.id,
                    e.auth0_user_id.as_ref(),
                    by_email,
                    &idx,
                    &active_claims,
                );
                leavers.block(e.id, attributed, &idx, &mut out);
            }
            Resolution::NoAccount | Resolution::Undecided | Resolution::Excluded => {}
        }
    }
    // Rows the loader could not use: a leaver's id and stored account are
    // still theirs, and their accounts are named in the row's finding.
    let leaving = out.acts(Situation::InactiveWithAccount);
    for row in invalid_rows {
        if excluded_employee(&row.employee_id) {
            continue;
        }
        let attributed = leaver_accounts(
            row.employee_id,
            row.auth0_user_id.as_ref(),
            &[],
            &idx,
            &active_claims,
        );
        let ids: Vec<Auth0UserId> = attributed.iter().map(|u| u.user_id.clone()).collect();
        let mut detail = row.detail.clone();
        if row.left {
            leavers.block(row.employee_id, attributed, &idx, &mut out);
        }
        if row.left && !ids.is_empty() {
            detail.push_str(&format!(
                "; the employee has left (is_active = false), so account{} {} {}",
                if ids.len() > 1 { "s" } else { "" },
                join_ids(&ids),
                leaver_fate(ids.len(), leaving)
            ));
        }
        out.findings.push(Finding::new(
            FindingKind::InvalidEmployee,
            Some(row.employee_id),
            ids,
            detail,
        ));
    }
    // Say in a leaver's findings that the person has left and their
    // accounts are blocked: the finding alone must not read "nothing to do".
    for f in out.findings.iter_mut() {
        let Some(id) = f.employee_id else { continue };
        let skip = matches!(
            f.kind,
            FindingKind::InvalidEmployee | FindingKind::ReportedByPolicy
        );
        if skip || !leavers.by_employee.contains_key(&id) {
            continue;
        }
        let blocked = &leavers.by_employee[&id];
        f.detail.push_str(&format!(
            "; employee {id} has left (is_active = false), so account{} {} {}",
            if blocked.len() > 1 { "s" } else { "" },
            join_ids(blocked),
            leaver_fate(blocked.len(), leaving)
        ));
    }
    out.findings.extend(roles.findings());

    // Accounts nobody claims: orphans if rosterd made them or they carry an
    // employee id, unmanaged otherwise. (Accounts in `claims` are managed,
    // and so are those an undecided employee's finding already names.)
    let mut stats = PlanStats::default();
    let named_in_findings: FxHashSet<Auth0UserId> = out
        .findings
        .iter()
        .chain(&quiet)
        .flat_map(|f| f.auth0_user_ids.iter().cloned())
        .collect();
    let mut managed_accounts = Vec::new();
    for (u, slot) in auth0_users.iter().zip(&idx.slot_of) {
        if idx.excluded(u) {
            stats.excluded_accounts += 1;
            continue;
        }
        let claimed = claims[*slot as usize].as_ref().map(Group::as_slice);
        if claimed.is_none() && !named_in_findings.contains(&u.user_id) {
            let Some((situation, orphan)) = orphan_finding(u, policy) else {
                stats.unmanaged_accounts += 1;
                unmanaged(u, &mut out);
                continue;
            };
            if out.acts(situation) && policy.unidentified_rows > 0 {
                let mut orphan = orphan;
                orphan.detail.push_str(&format!(
                    "; not blocked this run: {} employees row(s) have no readable id, and this may be one of their people's",
                    policy.unidentified_rows
                ));
                orphan.situation = Some(situation);
                orphan.policy = Some(policy.rules.entry(situation));
                out.findings.push(orphan);
            } else if out.acts(situation) {
                if !u.blocked {
                    let action = Action::Block {
                        employee_id: u.app_metadata.employee_id.map(EmployeeId),
                        auth0_user_id: u.user_id.clone(),
                    };
                    out.act(situation, action, orphan.detail);
                }
            } else {
                out.report(situation, orphan);
            }
        }
        stats.managed_accounts += 1;
        if !u.email_verified {
            stats.managed_unverified_email += 1;
        }
        let owner = match claimed {
            Some([one]) => Some(*one),
            _ => None,
        };
        managed_accounts.push((u, owner));
    }
    let usage = usage::review(&managed_accounts, &out.actions, policy);
    // A leaver's account the review blocks as stale is not "left live".
    let stale_blocks: FxHashSet<&Auth0UserId> = usage
        .actions
        .iter()
        .filter_map(|a| a.action.auth0_user_id())
        .collect();
    out.findings.retain(|f| {
        let reported_leaver = f.kind == FindingKind::ReportedByPolicy
            && f.situation == Some(Situation::InactiveWithAccount);
        !(reported_leaver && f.auth0_user_ids.iter().any(|u| stale_blocks.contains(u)))
    });
    out.findings.extend(usage.findings);
    out.actions.extend(usage.actions);
    stats.never_logged_in = usage.never_logged_in;
    stats.stale_accounts = usage.stale;
    // Findings whose situation their kind says: named, or dropped when the
    // policy ignores it.
    let rules = &policy.rules;
    let mut findings: Vec<Finding> = std::mem::take(&mut out.findings)
        .into_iter()
        .filter_map(|f| match (f.situation, decide::situation_of(f.kind)) {
            (None, Some(s)) => decide::situate(rules, s, f),
            _ => Some(f),
        })
        .collect();
    findings.sort_by(|a, b| {
        (a.kind, a.employee_id, &a.auth0_user_ids, &a.role_code).cmp(&(
            b.kind,
            b.employee_id,
            &b.auth0_user_ids,
            &b.role_code,
        ))
    });

    stats.employees = employees.len();
    stats.active_employees = employees.iter().filter(|e| e.is_active).count();
    stats.auth0_users = auth0_users.len();
    stats.excluded_employees = employees
        .iter()
        .map(|e| e.id)
        .chain(invalid_rows.iter().map(|r| r.employee_id))
        .filter(excluded_employee)
        .count();
    Plan {
        actions: out.actions,
        findings,
        stats,
        scheduled,
        drift: drift_seen,
    }
}

/// A rehire found by the same email: the only evidence that moves an
/// account (a name and workspace can be a namesake's).
const BY_EMAIL: &str = "email";

/// A leaver whose account may be a new active employee's: the same person
/// rehired under a new employee id.
struct RehireCandidate<'a> {
    leaver: &'a Employee,
    account: &'a Auth0User,
    /// What the two rows share: "email" or "name and workspace".
    by: &'static str,
}

/// `possible_rehire` (SPEC: a rehire must not silently get a second
/// account): an active employee without an account whose email, or name and
/// workspace, is that of a leaver with an account.
#[derive(Default)]
struct Rehires<'a> {
    of_new: BTreeMap<EmployeeId, Vec<RehireCandidate<'a>>>,
    /// Accounts the policy moves to their rehire (`relink`).
    moving: FxHashSet<Auth0UserId>,
}

impl<'a> Rehires<'a> {
    fn find(
        resolved: &[(&'a Employee, Resolution<'a>)],
        // The owners of each shared email.
        email_owners: &FxHashMap<&str, Group<EmployeeId>>,
        policy: &PlanPolicy,
    ) -> Self {
        let excluded = |e: &Employee| policy.excluded_employees.contains_key(&e.id);
        let mut leavers: FxHashMap<EmployeeId, (&'a Employee, &'a Auth0User)> =
            FxHashMap::default();
        let mut by_name: FxHashMap<String, Group<EmployeeId>> = FxHashMap::default();
        // One string is reused for every key (a copy of its final size is
        // what a leaver's entry keeps).
        let mut key = String::new();
        for (e, r) in resolved {
            if let (false, false, Resolution::Account(u, _)) = (e.is_active, excluded(e), r) {
                leavers.insert(e.id, (*e, *u));
                name_key(e, &mut key);
                file(&mut by_name, key.clone(), e.id);
            }
        }
        let mut found = Rehires::default();
        if leavers.is_empty() {
            return found;
        }
        for (e, r) in resolved {
            if !e.is_active || excluded(e) || !matches!(r, Resolution::NoAccount) {
                continue;
            }
            let mut candidates: Vec<RehireCandidate> = Vec::new();
            let same_email = filed(email_owners, e.email.as_str())
                .iter()
                .filter(|o| **o != e.id);
            for o in same_email {
                if let Some((leaver, account)) = leavers.get(o) {
                    candidates.push(RehireCandidate {
                        leaver,
                        account,
                        by: BY_EMAIL,
                    });
                }
            }
            name_key(e, &mut key);
            for o in filed(&by_name, key.as_str()) {
                if candidates.iter().all(|c| c.leaver.id != *o) {
                    let (leaver, account) = leavers[o];
                    let by = "name and workspace";
                    candidates.push(RehireCandidate {
                        leaver,
                        account,
                        by,
                    });
                }
            }
            let decided = || {
                let finding_key = Rehires::finding(e, &candidates, String::new()).key();
                policy.not_rehires.contains(&finding_key)
            };
            if !candidates.is_empty() && !decided() {
                found.of_new.insert(e.id, candidates);
            }
        }
        // An account moves only to the one rehire it can be: a single
        // candidate, wanted by no other new employee.
        if policy.rules.action(Situation::PossibleRehire) == PolicyAction::Relink {
            let mut wanted: FxHashMap<&Auth0UserId, usize> = FxHashMap::default();
            for c in found.of_new.values().flatten() {
                *wanted.entry(&c.account.user_id).or_default() += 1;
            }
            let moving: Vec<Auth0UserId> = found
                .of_new
                .values()
                .filter(|cs| {
                    cs.len() == 1 && cs[0].by == BY_EMAIL && wanted[&cs[0].account.user_id] == 1
                })
                .map(|cs| cs[0].account.user_id.clone())
                .collect();
            found.moving.extend(moving);
        }
        found
    }

    /// The duplicate-email findings a rehire explains (its own finding says
    /// more).
    fn explains(&self, f: &Finding) -> bool {
        f.kind == FindingKind::DuplicateEmployeeEmail
            && f.employee_id.is_some_and(|id| {
                self.of_new.contains_key(&id)
                    || self
                        .of_new
                        .values()
                        .flatten()
                        .any(|c| c.by == BY_EMAIL && c.leaver.id == id)
            })
    }

    /// A new employee with rehire candidates: the account moves to them
    /// (relink: link, unblock, bring in line), or a finding says who they
    /// may be; either way no second account is created.
    fn plan(
        &self,
        e: &Employee,
        candidates: &[RehireCandidate],
        cx: &mut AccountContext,
        out: &mut Out,
    ) {
        let describe = |c: &RehireCandidate| {
            format!(
                "employee {} ({}, {}, {}), who left, has account {} (same {})",
                c.leaver.id,
                c.leaver.full_name,
                c.leaver.email,
                c.leaver.workspace,
                c.account.user_id,
                c.by
            )
        };
        let about = format!(
            "active employee {} ({}, {}, {}) may be a rehire: {}",
            e.id,
            e.full_name,
            e.email,
            e.workspace,
            candidates
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join("; ")
        );
        match candidates {
            [c] if self.moving.contains(&c.account.user_id) => {
                let u = c.account;
                let roles_owned = cx.policy.rules.owner(Field::Roles) == Ownership::Enforce;
                out.act(
                    Situation::PossibleRehire,
                    Action::Link {
                        employee_id: e.id,
                        auth0_user_id: u.user_id.clone(),
                        evidence: Evidence::Rehire,
                        role_code: if roles_owned {
                            cx.role.assign.to_string()
                        } else {
                            String::new()
                        },
                        previous_employee_id: Some(c.leaver.id),
                    },
                    format!("{about}; the account moves to employee {}", e.id),
                );
                if u.blocked {
                    out.act(
                        Situation::PossibleRehire,
                        Action::Unblock {
                            employee_id: e.id,
                            auth0_user_id: u.user_id.clone(),
                        },
                        format!("employee {} is employee {} rehired", e.id, c.leaver.id),
                    );
                }
                if let Some((action, reason)) = drift(e, u, cx) {
                    out.act(Situation::Drifted, action, reason);
                }
            }
            _ => {
                let not_moved = match candidates {
                    _ if out.rules.action(Situation::PossibleRehire) != PolicyAction::Relink => "",
                    [c] if c.by != BY_EMAIL => "; not moved: only the same email moves an account",
                    _ => "; not moved: more than one account could be theirs",
                };
                // Two rows sharing an email get no account either way (the
                // duplicate_employee_email rule): acknowledging helps only a
                // namesake.
                let ack = if candidates.iter().any(|c| c.by == BY_EMAIL) {
                    ""
                } else {
                    " (acknowledged: not a rehire, and they get their own)"
                };
                let detail = format!(
                    "{about}{not_moved}; no account is created for employee {} until a person decides{ack}",
                    e.id
                );
                out.report(
                    Situation::PossibleRehire,
                    Rehires::finding(e, candidates, detail),
                );
            }
        }
    }

    /// The `possible_rehire` finding about `e` (its key is what a person
    /// acknowledges).
    fn finding(e: &Employee, candidates: &[RehireCandidate], detail: String) -> Finding {
        Finding::new(
            FindingKind::PossibleRehire,
            Some(e.id),
            candidates
                .iter()
                .map(|c| c.account.user_id.clone())
                .collect(),
            detail,
        )
    }
}

/// `e`'s name (whitespace collapsed) and workspace (trimmed), lowercased,
/// in `key`: equal for a leaver and a rehire of the same name and place.
/// A newline parts them (the name has none left), so one string is the key.
fn name_key(e: &Employee, key: &mut String) {
    key.clear();
    for (i, word) in e.full_name.split_whitespace().enumerate() {
        if i > 0 {
            key.push(' ');
        }
        key.push_str(word);
    }
    key.push('\n');
    key.push_str(e.workspace.trim());
    // An ASCII key is lowercased in place, not copied.
    if key.is_ascii() {
        key.make_ascii_lowercase();
    } else {
        *key = key.to_lowercase();
    }
}

/// What becomes of a leaver's accounts, as their findings say it.
fn leaver_fate(n: usize, blocking: bool) -> &'static str {
    match (n > 1, blocking) {
        (true, true) => "are blocked",
        (false, true) => "is blocked",
        (true, false) => "stay live (policy.inactive_with_account = \"report\")",
        (false, false) => "stays live (policy.inactive_with_account = \"report\")",
    }
}

/// An account no employee claims and rosterd did not create: counted, and
/// a finding when the policy reports them.
fn unmanaged(u: &Auth0User, out: &mut Out) {
    let f = Finding::new(
        FindingKind::UnmanagedAccount,
        None,
        vec![u.user_id.clone()],
        format!(
            "account {}{} is claimed by no employee and was not created by rosterd",
            u.user_id,
            u.email
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ),
    );
    out.report(Situation::Unmanaged, f);
}

fn join_ids(ids: &[Auth0UserId]) -> String {
    ids.iter()
        .map(|u| u.0.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The accounts a leaver can be held to: the stored one, those carrying
/// their employee id, and those with their (unshared) email unless the
/// account names another employee. Accounts an active employee claims are
/// left to that employee's finding.
fn leaver_accounts<'a>(
    id: EmployeeId,
    stored: Option<&Auth0UserId>,
    by_email: &[&'a Auth0User],
    idx: &Index<'a>,
    active_claims: &[Option<Group<EmployeeId>>],
) -> Vec<&'a Auth0User> {
    let mut out: Vec<&'a Auth0User> = stored
        .and_then(|s| idx.by_id.get(s.0.as_str()).copied())
        .into_iter()
        .chain(idx.carrying(id.0).iter().copied())
        .chain(
            by_email
                .iter()
                .copied()
                .filter(|u| u.app_metadata.employee_id.is_none_or(|o| o == id.0)),
        )
        .filter(|u| {
            !idx.excluded(u)
                && active_claims[idx.slot(u)]
                    .as_ref()
                    .is_none_or(|owners| owners.as_slice().iter().all(|o| *o == id))
        })
        .collect();
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    out.dedup_by(|a, b| a.user_id == b.user_id);
    out
}

/// Blocks planned for leavers whose account is undecided, once per account.
struct Leavers {
    /// By account slot: already planned blocked (or linked to a leaver).
    planned: Vec<bool>,
    /// Leaver → the accounts attributed to them, for their findings.
    by_employee: FxHashMap<EmployeeId, Vec<Auth0UserId>>,
}

impl Leavers {
    fn new(idx: &Index) -> Self {
        Leavers {
            planned: vec![false; idx.slots],
            by_employee: FxHashMap::default(),
        }
    }

    /// Marks `u` planned blocked (or linked to a leaver); false if it
    /// already was.
    fn mark(&mut self, u: &Auth0User, idx: &Index) -> bool {
        !std::mem::replace(&mut self.planned[idx.slot(u)], true)
    }

    fn block(&mut self, id: EmployeeId, accounts: Vec<&Auth0User>, idx: &Index, out: &mut Out) {
        if accounts.is_empty() {
            return;
        }
        for u in &accounts {
            if !u.blocked && self.mark(u, idx) {
                out.act(
                    Situation::InactiveWithAccount,
                    Action::Block {
                        employee_id: Some(id),
                        auth0_user_id: u.user_id.clone(),
                    },
                    format!(
                        "employee {id} has left; account {} is attributed to them",
                        u.user_id
                    ),
                );
            }
        }
        self.by_employee
            .insert(id, accounts.iter().map(|u| u.user_id.clone()).collect());
    }
}

/// The role an employee's account should carry, as the planner decided it.
struct DesiredRole<'e> {
    /// `app_metadata.role_code`: None while the code has no Auth0 role, so
    /// that mapping it later shows up as drift and the role gets assigned.
    metadata: Option<&'e str>,
    /// The code to assign (empty: none).
    assign: &'e str,
}

/// Role codes checked against the tenant's roles, collecting one finding per
/// code that has none.
#[derive(Default)]
struct RoleCheck {
    unmapped: BTreeMap<String, (String, Vec<EmployeeId>)>,
}

impl RoleCheck {
    fn desired<'e>(&mut self, e: &'e Employee, policy: &PlanPolicy) -> DesiredRole<'e> {
        let mapped = |code: &str| match &policy.roles {
            None => Ok(()),
            Some(r) => r.id(code).map(|_| ()),
        };
        match mapped(&e.role_code) {
            Ok(()) => DesiredRole {
                metadata: Some(&e.role_code),
                assign: &e.role_code,
            },
            Err(why) => {
                // Only active employees get roles; a leaver's code is moot.
                if e.is_active {
                    self.unmapped
                        .entry(e.role_code.to_ascii_uppercase())
                        .or_insert_with(|| (why.to_string(), Vec::new()))
                        .1
                        .push(e.id);
                }
                DesiredRole {
                    metadata: None,
                    assign: "",
                }
            }
        }
    }

    fn findings(self) -> impl Iterator<Item = Finding> {
        self.unmapped.into_iter().map(|(code, (why, ids))| {
            let mut f = Finding::new(
                FindingKind::UnmappedRoleCode,
                None,
                vec![],
                format!(
                    "{why}; accounts are created and updated without it: employee{} {}",
                    if ids.len() > 1 { "s" } else { "" },
                    ids.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            f.role_code = Some(code);
            f
        })
    }
}

/// An account no employee claims is an orphan if rosterd made it or it
/// carries an employee id; otherwise it is unmanaged (None).
fn orphan_finding(u: &Auth0User, policy: &PlanPolicy) -> Option<(Situation, Finding)> {
    let ours = u.app_metadata.created_by.as_deref() == Some(policy.created_by.as_str());
    let (situation, detail) = match u.app_metadata.employee_id {
        // Every account carrying an existing employee's id is claimed or
        // already named in that employee's finding, so this id is unknown.
        Some(i) => (
            Situation::OrphanedEmployeeId,
            format!(
                "account {} carries employee_id {i}, which is not in the employees table",
                u.user_id
            ),
        ),
        None if ours => (
            Situation::OrphanedCreated,
            format!(
                "account {} was created by {} but no employee claims it",
                u.user_id, policy.created_by
            ),
        ),
        None => return None,
    };
    let f = Finding::new(FindingKind::Orphaned, None, vec![u.user_id.clone()], detail);
    Some((situation, f))
}

/// `accounts` less the excluded ones: borrowed when none is (nearly
/// always), so that resolving allocates nothing.
fn usable<'s, 'a>(
    idx: &Index<'a>,
    accounts: &'s [&'a Auth0User],
    saw_excluded: &mut bool,
) -> Cow<'s, [&'a Auth0User]> {
    if !accounts.iter().any(|u| idx.excluded(u)) {
        return Cow::Borrowed(accounts);
    }
    *saw_excluded = true;
    Cow::Owned(
        accounts
            .iter()
            .copied()
            .filter(|u| !idx.excluded(u))
            .collect(),
    )
}

fn resolve<'a>(
    e: &Employee,
    idx: &Index<'a>,
    found: &Found<'_, 'a>,
    findings: &mut Vec<Finding>,
) -> Resolution<'a> {
    let mut conflict = |detail: String, ids: Vec<&Auth0User>, kind: FindingKind| {
        findings.push(Finding::new(
            kind,
            Some(e.id),
            ids.iter().map(|u| u.user_id.clone()).collect(),
            detail,
        ));
        Resolution::Undecided
    };

    // Excluded accounts are no evidence: the employee is resolved on the
    // rest, so their own accounts are still theirs (a leaver's blocked, never
    // taken for orphans). Only an employee whose evidence is nothing but
    // excluded accounts is left alone: a second account would touch what the
    // tenant said rosterd must not (same email, same employee id).
    let mut saw_excluded = false;
    let stored = found.stored.filter(|u| {
        let excluded = idx.excluded(u);
        saw_excluded |= excluded;
        !excluded
    });
    let by_meta = usable(idx, found.carrying, &mut saw_excluded);
    let by_email = usable(idx, found.by_email, &mut saw_excluded);
    let by_meta = &by_meta[..];
    if saw_excluded && stored.is_none() && by_meta.is_empty() && by_email.is_empty() {
        return Resolution::Excluded;
    }
    if by_meta.len() > 1 && stored.is_none() {
        return conflict(
            format!("{} accounts carry employee_id {}", by_meta.len(), e.id),
            by_meta.to_vec(),
            FindingKind::DuplicateAccount,
        );
    }
    let (chosen, evidence) = match (stored, by_meta.first()) {
        (Some(s), _) => (s, Evidence::StoredId),
        (None, Some(m)) => (*m, Evidence::EmployeeIdMetadata),
        (None, None) => match &by_email[..] {
            [] => return Resolution::NoAccount,
            [one] => (*one, Evidence::Email),
            many => {
                return conflict(
                    format!("{} accounts use email {}", many.len(), e.email),
                    many.to_vec(),
                    FindingKind::DuplicateAccount,
                )
            }
        },
    };

    // The chosen account must not belong to someone else by its metadata…
    if let Some(other) = chosen.app_metadata.employee_id {
        if other != e.id.0 {
            return conflict(
                format!(
                    "account {} (found by {}) carries employee_id {other}",
                    chosen.user_id,
                    evidence_name(evidence)
                ),
                vec![chosen],
                FindingKind::ConflictingEvidence,
            );
        }
    }
    // …and weaker evidence must not point at a different account.
    let mut others: Vec<&Auth0User> = by_meta
        .iter()
        .chain(by_email.iter())
        .copied()
        // The same account (nearly always) needs no reading of its id.
        .filter(|u| !std::ptr::eq(*u, chosen) && u.user_id != chosen.user_id)
        .collect();
    others.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    others.dedup_by(|a, b| a.user_id == b.user_id);
    if !others.is_empty() {
        let mut ids = vec![chosen];
        ids.extend(others.iter().copied());
        let kind = if others
            .iter()
            .any(|u| u.app_metadata.employee_id == Some(e.id.0))
        {
            FindingKind::DuplicateAccount
        } else {
            FindingKind::ConflictingEvidence
        };
        return conflict(
            format!(
                "employee {} resolves to account {} by {} but also to {}",
                e.id,
                chosen.user_id,
                evidence_name(evidence),
                others
                    .iter()
                    .map(|u| u.user_id.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ids,
            kind,
        );
    }
    Resolution::Account(chosen, evidence)
}

impl Evidence {
    /// `auth0_employee_mapping_audit.matched_by` for a link made by this
    /// evidence.
    pub fn audit_name(&self) -> &'static str {
        match self {
            Evidence::StoredId => "stored_id",
            Evidence::EmployeeIdMetadata => "employee_id",
            Evidence::Email => "email",
            Evidence::Rehire => "rehire",
        }
    }
}

fn evidence_name(e: Evidence) -> &'static str {
    match e {
        Evidence::StoredId => "the stored auth0_user_id",
        Evidence::EmployeeIdMetadata => "app_metadata.employee_id",
        Evidence::Email => "email",
        Evidence::Rehire => "a rehire under a new employee id",
    }
}

/// The create for an active employee without an account, and why. Fields
/// the policy ignores are not set (the shell sends no empty name).
fn create_action(e: &Employee, role: &DesiredRole, policy: &PlanPolicy) -> (Action, String) {
    let rules = &policy.rules;
    let set = |f: Field| rules.owner(f) != Ownership::Ignore;
    let (given_name, family_name) = split_name(&e.full_name);
    let (name, given_name, family_name) = if set(Field::Name) {
        (e.full_name.clone(), given_name, family_name)
    } else {
        Default::default()
    };
    let mut app_metadata = desired_app_metadata(e, role);
    app_metadata.created_by = Some(policy.created_by.clone());
    app_metadata.podfactory_sync = desired_sync(e, policy).flatten();
    let mut user_metadata = desired_user_metadata(e);
    for (field, slot) in [
        (Field::AppDepartment, &mut app_metadata.department),
        (Field::AppWorkspace, &mut app_metadata.workspace),
        (Field::AppRoleCode, &mut app_metadata.role_code),
        (Field::UserFullName, &mut user_metadata.full_name),
        (Field::UserDepartment, &mut user_metadata.department),
    ] {
        if !set(field) {
            *slot = None;
        }
    }
    if !set(Field::AppPodfactorySync) {
        app_metadata.podfactory_sync = None;
    }
    if !set(Field::UserEmployeeId) {
        user_metadata.employee_id = None;
    }
    let role_code = if set(Field::Roles) {
        role.assign.to_string()
    } else {
        String::new()
    };
    (
        Action::Create {
            employee_id: e.id,
            email: e.email.clone(),
            name,
            given_name,
            family_name,
            role_code,
            app_metadata,
            user_metadata,
        },
        format!("active employee {} has no Auth0 account", e.id),
    )
}

/// What `account_actions` needs besides the employee and the account.
struct AccountContext<'a> {
    evidence: Evidence,
    role: &'a DesiredRole<'a>,
    email_shared: bool,
    policy: &'a PlanPolicy,
    /// Drift seen per field, whatever its ownership.
    drift_seen: &'a mut BTreeMap<String, usize>,
}

fn account_actions(e: &Employee, u: &Auth0User, cx: &mut AccountContext, out: &mut Out) {
    let evidence = cx.evidence;
    if evidence != Evidence::StoredId {
        let roles_owned = cx.policy.rules.owner(Field::Roles) == Ownership::Enforce;
        out.act(
            Situation::AccountFound,
            Action::Link {
                employee_id: e.id,
                auth0_user_id: u.user_id.clone(),
                evidence,
                previous_employee_id: None,
                // A leaver's account is linked to be blocked, not given a role.
                role_code: if e.is_active && roles_owned {
                    cx.role.assign.to_string()
                } else {
                    String::new()
                },
            },
            match &e.auth0_user_id {
                Some(old) if cx.policy.excluded_accounts.contains_key(old) => format!(
                    "stored account {old} is excluded (policy.exclude); account {} found by {}",
                    u.user_id,
                    evidence_name(evidence)
                ),
                Some(old) => format!(
                    "stored account {old} no longer exists; account {} found by {}",
                    u.user_id,
                    evidence_name(evidence)
                ),
                None => format!(
                    "existing account {} found by {}",
                    u.user_id,
                    evidence_name(evidence)
                ),
            },
        );
        // Until a person or the policy links it, an active employee's
        // found account is not theirs to change; a leaver's is still
        // blocked (a live login of a person who left is the worst case).
        if e.is_active && !out.acts(Situation::AccountFound) {
            return;
        }
    }
    if !e.is_active {
        if !u.blocked {
            out.act(
                Situation::InactiveWithAccount,
                Action::Block {
                    employee_id: Some(e.id),
                    auth0_user_id: u.user_id.clone(),
                },
                match e.leaves_at.filter(|t| *t <= cx.policy.now) {
                    Some(_) => format!("employee {}'s last day has ended", e.id),
                    None => format!("employee {} is inactive", e.id),
                },
            );
        }
        return;
    }
    if u.blocked {
        out.act(
            Situation::Returned,
            Action::Unblock {
                employee_id: e.id,
                auth0_user_id: u.user_id.clone(),
            },
            format!("employee {} is active again", e.id),
        );
    }
    if let Some((action, reason)) = drift(e, u, cx) {
        out.act(Situation::Drifted, action, reason);
    }
}

/// The `previous_names` of `e`'s account once its rename is applied: the
/// account's current name joins them (it is how PodFactory may still know
/// the person). None when the name did not change or was no name.
pub fn renamed_previous_names(e: &Employee, u: &Auth0User) -> Option<Vec<String>> {
    let old = u
        .name
        .as_deref()
        .filter(|n| !n.is_empty() && !n.contains('@') && *n != e.full_name)?;
    let mut previous = u.app_metadata.previous_names.clone();
    if !previous.iter().any(|p| p == old) {
        previous.push(old.to_string());
    }
    Some(previous)
}

/// The update that brings `u` in line with `e`, if anything drifted.
///
/// An email shared with another employee is never patched in: Auth0 would
/// refuse it on every run ("The specified new email already exists"), and
/// the `duplicate_employee_email` finding already says why.
fn drift(e: &Employee, u: &Auth0User, cx: &mut AccountContext) -> Option<(Action, String)> {
    // Compared borrowed, field by field, before anything is built: nearly
    // every account is in sync, and then this allocates nothing.
    type Want<'v> = &'v dyn Fn() -> serde_json::Value;
    let name_differs = u.name.as_deref() != Some(e.full_name.as_str());
    let email_differs = u.email.as_ref() != Some(&e.email) && !cx.email_shared;
    let have = &u.app_metadata;
    let want_role = cx.role.metadata;
    let app: [(Field, &str, Want, bool); 4] = [
        (
            Field::AppEmployeeId,
            "employee_id",
            &|| e.id.0.into(),
            have.employee_id != Some(e.id.0),
        ),
        (
            Field::AppDepartment,
            "department",
            &|| e.department.as_str().into(),
            have.department.as_deref() != Some(e.department.as_str()),
        ),
        (
            Field::AppWorkspace,
            "workspace",
            &|| e.workspace.as_str().into(),
            have.workspace.as_deref() != Some(e.workspace.as_str()),
        ),
        (
            Field::AppRoleCode,
            "role_code",
            &|| want_role.into(),
            have.role_code.as_deref() != want_role,
        ),
    ];
    let sync = desired_sync(e, cx.policy).filter(|w| *w != have.podfactory_sync);
    let have_user = &u.user_metadata;
    let user: [(Field, &str, Want, bool); 3] = [
        (
            Field::UserEmployeeId,
            "employee_id",
            &|| e.id.0.into(),
            have_user.employee_id != Some(e.id.0),
        ),
        (
            Field::UserFullName,
            "full_name",
            &|| e.full_name.as_str().into(),
            have_user.full_name.as_deref() != Some(e.full_name.as_str()),
        ),
        (
            Field::UserDepartment,
            "department",
            &|| e.department.as_str().into(),
            have_user.department.as_deref() != Some(e.department.as_str()),
        ),
    ];
    let in_sync = !name_differs
        && !email_differs
        && sync.is_none()
        && app.iter().chain(&user).all(|(.., differs)| !differs);
    if in_sync {
        return None;
    }

    let rules = &cx.policy.rules;
    let mut patch = UserPatch::default();
    let mut fields = Vec::new();
    // Every drift is counted (it shows who else writes the tenant); only a
    // field rosterd enforces is repaired.
    let mut drifted = |field: Field| {
        *cx.drift_seen.entry(field.to_string()).or_insert(0) += 1;
        let enforce = rules.owner(field) == Ownership::Enforce;
        if enforce {
            fields.push(field.to_string());
        }
        enforce
    };

    if name_differs && drifted(Field::Name) {
        let (given, family) = split_name(&e.full_name);
        patch.name = Some(e.full_name.clone());
        patch.given_name = Some(given);
        patch.family_name = Some(Some(family).filter(|f| !f.is_empty()));
        if let Some(previous) = renamed_previous_names(e, u) {
            patch
                .app_metadata
                .insert("previous_names".into(), serde_json::json!(previous));
        }
    }
    if email_differs && drifted(Field::Email) {
        patch.email = Some(e.email.clone());
        patch.email_verified = Some(true);
    }
    for (field, key, value, differs) in app {
        if differs && drifted(field) {
            patch.app_metadata.insert(key.to_string(), value());
        }
    }
    if let Some(want) = sync {
        if drifted(Field::AppPodfactorySync) {
            // Auth0 merges app_metadata at the top level; null removes the key.
            patch.app_metadata.insert(
                "podfactory_sync".into(),
                want.unwrap_or(serde_json::Value::Null),
            );
        }
    }
    for (field, key, value, differs) in user {
        if differs && drifted(field) {
            patch.user_metadata.insert(key.to_string(), value());
        }
    }

    if fields.is_empty() {
        return None;
    }
    // The role follows app_metadata.role_code (config requires both
    // enforced for `roles = "enforce"`). Role codes compare
    // case-insensitively: a case-only change rewrites the metadata but is
    // the same role.
    let role_differs = !have
        .role_code
        .as_deref()
        .unwrap_or("")
        .eq_ignore_ascii_case(want_role.unwrap_or(""));
    let role_change =
        (role_differs && rules.owner(Field::Roles) == Ownership::Enforce).then(|| RoleChange {
            from: u.app_metadata.role_code.clone().filter(|r| !r.is_empty()),
            to: cx.role.assign.to_string(),
        });
    let reason = format!(
        "account drifted from employee {}: {}",
        e.id,
        fields.join(", ")
    );
    Some((
        Action::Update {
            employee_id: e.id,
            auth0_user_id: u.user_id.clone(),
            patch,
            role_change,
            fields,
        },
        reason,
    ))
}

/// Whether two lists plan the same changes for the same reasons. The
/// situation and policy entry explain an action and are left out: a held
/// plan stored before they existed (or before a policy edit that chose the
/// same actions) is still the plan a person approved.
pub fn same_actions(a: &[PlannedAction], b: &[PlannedAction]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.action == y.action && x.reason == y.reason)
}

/// Counts of findings by kind, in a stable order, for summaries.
pub fn finding_counts(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for f in &plan.findings {
        *m.entry(f.kind.as_str()).or_insert(0) += 1;
    }
    m
}

/// Counts of actions by kind, in a stable order, for summaries.
pub fn action_counts(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for a in &plan.actions {
        *m.entry(a.action.kind().as_str()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests;
