//! The plan as stored in `run_plans.plan`: a versioned type of its
//! own, so a held run stored by an older rosterd can still be read and
//! approved after the planner's structs change shape.
//!
//! The structure (plan, actions, patches, findings, stats) is mirrored here
//! and converted by destructuring, so a change to the planner's structs is a
//! compile error here instead of a held run that no longer reads. Values
//! whose text is already a public contract elsewhere (ids, emails, the
//! managed metadata Auth0 holds, evidence and finding kinds) are stored as
//! they are.
//!
//! Versions: 0 is `plan::Plan` serialized as is, as rosterd stored it before
//! the format had a version (no `version` field); 1 adds the field and is
//! otherwise the same shape; 2 adds what the lifecycle policy writes (each
//! action's situation and policy entry, a block naming no employee, a
//! relinked rehire's previous employee, scheduled blocks, drift, more
//! counts and finding kinds), all optional, so 0 and 1 read as they are. A
//! version this build does not know (written by a newer rosterd) is an
//! error, not a guess: an older rosterd refuses a version 2 plan cleanly
//! rather than misread it. A shape change is a new
//! version, with the old shape kept here and read into the new one.

use crate::model::{Auth0UserId, Email, EmployeeId, ManagedAppMetadata, ManagedUserMetadata};
use crate::plan::{
    Action, ActionKind, Evidence, Finding, FindingCandidate, FindingKind, FindingPodfactoryUser,
    Plan, PlanStats, PlannedAction, RoleChange, ScheduledBlock, UserPatch,
};
use crate::policy::Situation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version [`StoredPlan::write`] stores.
pub const CURRENT_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StoredPlanError {
    #[error("the stored plan is not one this rosterd can read")]
    Unreadable(#[source] serde_json::Error),
    #[error("the stored plan has version {0}, newer than this rosterd reads ({CURRENT_VERSION})")]
    NewerVersion(u32),
}

/// A plan as stored: versions 0, 1 and 2 (each the one before plus optional
/// fields).
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredPlan {
    /// Absent in version 0.
    #[serde(default)]
    pub version: u32,
    pub actions: Vec<StoredAction>,
    pub findings: Vec<StoredFinding>,
    pub stats: StoredStats,
    /// Absent in plans stored before end dates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled: Vec<StoredScheduledBlock>,
    /// Absent in plans stored before field ownership.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drift: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredScheduledBlock {
    pub employee_id: EmployeeId,
    pub at: i64,
    #[serde(default)]
    pub auth0_user_ids: Vec<Auth0UserId>,
}

impl StoredPlan {
    /// `plan` as the JSON the plan column holds.
    pub fn write(plan: &Plan) -> String {
        serde_json::to_string(&StoredPlan::from(plan)).expect("a stored plan has string keys only")
    }

    /// The planner's plan from the plan column, whichever known version
    /// stored it.
    pub fn read(json: &str) -> Result<Plan, StoredPlanError> {
        #[derive(Deserialize)]
        struct Version {
            #[serde(default)]
            version: u32,
        }
        // The version first: a newer shape need not parse as this one.
        let Version { version } =
            serde_json::from_str(json).map_err(StoredPlanError::Unreadable)?;
        if version > CURRENT_VERSION {
            return Err(StoredPlanError::NewerVersion(version));
        }
        let stored: StoredPlan = serde_json::from_str(json).map_err(StoredPlanError::Unreadable)?;
        Ok(stored.into())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredStats {
    pub employees: usize,
    pub active_employees: usize,
    pub auth0_users: usize,
    pub managed_accounts: usize,
    pub unmanaged_accounts: usize,
    /// Absent in plans stored before it was counted.
    #[serde(default)]
    pub managed_unverified_email: usize,
    /// These four are absent in plans stored before the lifecycle policy.
    #[serde(default)]
    pub excluded_accounts: usize,
    #[serde(default)]
    pub excluded_employees: usize,
    #[serde(default)]
    pub never_logged_in: usize,
    #[serde(default)]
    pub stale_accounts: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredAction {
    #[serde(flatten)]
    pub action: StoredActionKind,
    pub reason: String,
    /// Absent in plans stored before the lifecycle policy: read as the
    /// situation the action's kind always meant, and no policy entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub situation: Option<Situation>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredActionKind {
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
    Link {
        employee_id: EmployeeId,
        auth0_user_id: Auth0UserId,
        evidence: Evidence,
        role_code: String,
        /// Absent in plans stored before rehires.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_employee_id: Option<EmployeeId>,
    },
    /// `employee_id` absent or null: an account naming no employee.
    Block {
        #[serde(default)]
        employee_id: Option<EmployeeId>,
        auth0_user_id: Auth0UserId,
    },
    Unblock {
        employee_id: EmployeeId,
        auth0_user_id: Auth0UserId,
    },
    Update {
        employee_id: EmployeeId,
        auth0_user_id: Auth0UserId,
        patch: StoredPatch,
        role_change: Option<StoredRoleChange>,
        fields: Vec<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `Some(None)`: remove the family name (stored as `null`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "present"
    )]
    pub family_name: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
}

/// A field that is present reads as `Some`, `null` included (serde's default
/// reads `null` as absent), so `family_name: null` reads back as stored.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredRoleChange {
    pub from: Option<String>,
    pub to: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredFinding {
    pub kind: FindingKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<EmployeeId>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub auth0_user_ids: Vec<Auth0UserId>,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub podfactory_user_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub candidates: Vec<StoredCandidate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role_code: Option<String>,
    /// Absent in plans stored before findings carried the user.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub podfactory_user: Option<StoredPodfactoryUser>,
    /// Absent in plans stored before the lifecycle policy.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub situation: Option<Situation>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<String>,
}

/// The candidate's employee fields are absent in plans stored before them
/// (read as empty).
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredCandidate {
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

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredPodfactoryUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

impl From<&Plan> for StoredPlan {
    fn from(plan: &Plan) -> Self {
        let Plan {
            actions,
            findings,
            stats,
            scheduled,
            drift,
        } = plan.clone();
        StoredPlan {
            version: CURRENT_VERSION,
            actions: actions.into_iter().map(Into::into).collect(),
            findings: findings.into_iter().map(Into::into).collect(),
            stats: stats.into(),
            scheduled: scheduled
                .into_iter()
                .map(
                    |ScheduledBlock {
                         employee_id,
                         at,
                         auth0_user_ids,
                     }| StoredScheduledBlock {
                        employee_id,
                        at,
                        auth0_user_ids,
                    },
                )
                .collect(),
            drift,
        }
    }
}

impl From<StoredPlan> for Plan {
    fn from(stored: StoredPlan) -> Self {
        let StoredPlan {
            version: _,
            actions,
            findings,
            stats,
            scheduled,
            drift,
        } = stored;
        Plan {
            actions: actions.into_iter().map(Into::into).collect(),
            findings: findings.into_iter().map(Into::into).collect(),
            stats: stats.into(),
            scheduled: scheduled
                .into_iter()
                .map(
                    |StoredScheduledBlock {
                         employee_id,
                         at,
                         auth0_user_ids,
                     }| ScheduledBlock {
                        employee_id,
                        at,
                        auth0_user_ids,
                    },
                )
                .collect(),
            drift,
        }
    }
}

impl From<PlanStats> for StoredStats {
    fn from(s: PlanStats) -> Self {
        let PlanStats {
            employees,
            active_employees,
            auth0_users,
            managed_accounts,
            unmanaged_accounts,
            managed_unverified_email,
            excluded_accounts,
            excluded_employees,
            never_logged_in,
            stale_accounts,
        } = s;
        StoredStats {
            employees,
            active_employees,
            auth0_users,
            managed_accounts,
            unmanaged_accounts,
            managed_unverified_email,
            excluded_accounts,
            excluded_employees,
            never_logged_in,
            stale_accounts,
        }
    }
}

impl From<StoredStats> for PlanStats {
    fn from(s: StoredStats) -> Self {
        let StoredStats {
            employees,
            active_employees,
            auth0_users,
            managed_accounts,
            unmanaged_accounts,
            managed_unverified_email,
            excluded_accounts,
            excluded_employees,
            never_logged_in,
            stale_accounts,
        } = s;
        PlanStats {
            employees,
            active_employees,
            auth0_users,
            managed_accounts,
            unmanaged_accounts,
            managed_unverified_email,
            excluded_accounts,
            excluded_employees,
            never_logged_in,
            stale_accounts,
        }
    }
}

impl From<PlannedAction> for StoredAction {
    fn from(a: PlannedAction) -> Self {
        let PlannedAction {
            action,
            reason,
            situation,
            policy,
        } = a;
        let action = match action {
            Action::Create {
                employee_id,
                email,
                name,
                given_name,
                family_name,
                role_code,
                app_metadata,
                user_metadata,
            } => StoredActionKind::Create {
                employee_id,
                email,
                name,
                given_name,
                family_name,
                role_code,
                app_metadata,
                user_metadata,
            },
            Action::Link {
                employee_id,
                auth0_user_id,
                evidence,
                role_code,
                previous_employee_id,
            } => StoredActionKind::Link {
                employee_id,
                auth0_user_id,
                evidence,
                role_code,
                previous_employee_id,
            },
            Action::Block {
                employee_id,
                auth0_user_id,
            } => StoredActionKind::Block {
                employee_id,
                auth0_user_id,
            },
            Action::Unblock {
                employee_id,
                auth0_user_id,
            } => StoredActionKind::Unblock {
                employee_id,
                auth0_user_id,
            },
            Action::Update {
                employee_id,
                auth0_user_id,
                patch,
                role_change,
                fields,
            } => StoredActionKind::Update {
                employee_id,
                auth0_user_id,
                patch: patch.into(),
                role_change: role_change
                    .map(|RoleChange { from, to }| StoredRoleChange { from, to }),
                fields,
            },
        };
        StoredAction {
            action,
            reason,
            situation: Some(situation),
            policy,
        }
    }
}

impl From<StoredAction> for PlannedAction {
    fn from(a: StoredAction) -> Self {
        let StoredAction {
            action,
            reason,
            situation,
            policy,
        } = a;
        let action = match action {
            StoredActionKind::Create {
                employee_id,
                email,
                name,
                given_name,
                family_name,
                role_code,
                app_metadata,
                user_metadata,
            } => Action::Create {
                employee_id,
                email,
                name,
                given_name,
                family_name,
                role_code,
                app_metadata,
                user_metadata,
            },
            StoredActionKind::Link {
                employee_id,
                auth0_user_id,
                evidence,
                role_code,
                previous_employee_id,
            } => Action::Link {
                employee_id,
                auth0_user_id,
                evidence,
                role_code,
                previous_employee_id,
            },
            StoredActionKind::Block {
                employee_id,
                auth0_user_id,
            } => Action::Block {
                employee_id,
                auth0_user_id,
            },
            StoredActionKind::Unblock {
                employee_id,
                auth0_user_id,
            } => Action::Unblock {
                employee_id,
                auth0_user_id,
            },
            StoredActionKind::Update {
                employee_id,
                auth0_user_id,
                patch,
                role_change,
                fields,
            } => Action::Update {
                employee_id,
                auth0_user_id,
                patch: patch.into(),
                role_change: role_change
                    .map(|StoredRoleChange { from, to }| RoleChange { from, to }),
                fields,
            },
        };
        let situation = situation.unwrap_or(match action.kind() {
            ActionKind::Create => Situation::ActiveWithoutAccount,
            ActionKind::Link => Situation::AccountFound,
            ActionKind::Block => Situation::InactiveWithAccount,
            ActionKind::Unblock => Situation::Returned,
            ActionKind::Update => Situation::Drifted,
        });
        PlannedAction {
            action,
            reason,
            situation,
            policy,
        }
    }
}

impl From<UserPatch> for StoredPatch {
    fn from(p: UserPatch) -> Self {
        let UserPatch {
            name,
            given_name,
            family_name,
            email,
            email_verified,
            app_metadata,
            user_metadata,
        } = p;
        StoredPatch {
            name,
            given_name,
            family_name,
            email,
            email_verified,
            app_metadata,
            user_metadata,
        }
    }
}

impl From<StoredPatch> for UserPatch {
    fn from(p: StoredPatch) -> Self {
        let StoredPatch {
            name,
            given_name,
            family_name,
            email,
            email_verified,
            app_metadata,
            user_metadata,
        } = p;
        UserPatch {
            name,
            given_name,
            family_name,
            email,
            email_verified,
            app_metadata,
            user_metadata,
        }
    }
}

impl From<Finding> for StoredFinding {
    fn from(f: Finding) -> Self {
        let Finding {
            kind,
            employee_id,
            auth0_user_ids,
            detail,
            podfactory_user_id,
            candidates,
            role_code,
            podfactory_user,
            situation,
            policy,
        } = f;
        StoredFinding {
            kind,
            employee_id,
            auth0_user_ids,
            detail,
            podfactory_user_id,
            candidates: candidates.into_iter().map(Into::into).collect(),
            role_code,
            podfactory_user: podfactory_user.map(|FindingPodfactoryUser { name, email, role }| {
                StoredPodfactoryUser { name, email, role }
            }),
            situation,
            policy,
        }
    }
}

impl From<StoredFinding> for Finding {
    fn from(f: StoredFinding) -> Self {
        let StoredFinding {
            kind,
            employee_id,
            auth0_user_ids,
            detail,
            podfactory_user_id,
            candidates,
            role_code,
            podfactory_user,
            situation,
            policy,
        } = f;
        Finding {
            kind,
            employee_id,
            auth0_user_ids,
            detail,
            podfactory_user_id,
            candidates: candidates.into_iter().map(Into::into).collect(),
            role_code,
            podfactory_user: podfactory_user.map(|StoredPodfactoryUser { name, email, role }| {
                FindingPodfactoryUser { name, email, role }
            }),
            situation,
            policy,
        }
    }
}

impl From<FindingCandidate> for StoredCandidate {
    fn from(c: FindingCandidate) -> Self {
        let FindingCandidate {
            employee_id,
            score,
            reason,
            name,
            email,
            department,
            workspace,
            is_active,
        } = c;
        StoredCandidate {
            employee_id,
            score,
            reason,
            name,
            email,
            department,
            workspace,
            is_active,
        }
    }
}

impl From<StoredCandidate> for FindingCandidate {
    fn from(c: StoredCandidate) -> Self {
        let StoredCandidate {
            employee_id,
            score,
            reason,
            name,
            email,
            department,
            workspace,
            is_active,
        } = c;
        FindingCandidate {
            employee_id,
            score,
            reason,
            name,
            email,
            department,
            workspace,
            is_active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of the held run in `tests/fixtures/held_run_v0.json`, as the
    /// version before this one stored it.
    fn v0_json() -> String {
        let row: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/held_run_v0.json"))
                .unwrap();
        row["plan"].as_str().unwrap().to_string()
    }

    #[test]
    fn a_version_0_plan_reads_and_writes_back_the_same_plan_with_a_version() {
        let plan = StoredPlan::read(&v0_json()).unwrap();
        assert_eq!(plan.actions.len(), 9);
        assert_eq!(plan.findings.len(), 1);
        let written = StoredPlan::write(&plan);
        let mut v1: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(v1["version"], CURRENT_VERSION);
        v1.as_object_mut().unwrap().remove("version");
        // The current version is version 0 plus the field and what later
        // fields derive (each action's situation from its kind, zero counts): every
        // version 0 value written back as it was, and the same as the
        // planner's own serialization.
        let v0: serde_json::Value = serde_json::from_str(&v0_json()).unwrap();
        for (i, (a1, a0)) in v1["actions"]
            .as_array()
            .unwrap()
            .iter()
            .zip(v0["actions"].as_array().unwrap())
            .enumerate()
        {
            let mut a1 = a1.clone();
            assert!(a1.as_object_mut().unwrap().remove("situation").is_some());
            assert_eq!(&a1, a0, "action {i}");
        }
        assert_eq!(v1["findings"], v0["findings"]);
        for (key, value) in v0["stats"].as_object().unwrap() {
            assert_eq!(&v1["stats"][key], value, "stats.{key}");
        }
        assert_eq!(v1, serde_json::to_value(&plan).unwrap());
        assert_eq!(StoredPlan::read(&written).unwrap(), plan);
    }

    #[test]
    fn a_finding_stored_before_candidates_carried_the_employee_reads_with_empty_fields() {
        let old = r#"{"version": 1, "actions": [], "stats": {"employees": 1, "active_employees": 1,
            "auth0_users": 0, "managed_accounts": 0, "unmanaged_accounts": 0},
            "findings": [{"kind": "ambiguous_podfactory_user", "detail": "two Sam Lees",
                "podfactory_user_id": "pf5",
                "candidates": [{"employee_id": 4, "score": 0.91, "reason": "same name"}]}]}"#;
        let plan = StoredPlan::read(old).unwrap();
        let f = &plan.findings[0];
        assert_eq!(f.podfactory_user, None);
        let c = &f.candidates[0];
        assert_eq!(
            (c.employee_id, c.reason.as_str()),
            (EmployeeId(4), "same name")
        );
        assert_eq!(
            (c.name.as_str(), c.email.as_str(), c.is_active),
            ("", "", false)
        );
    }

    #[test]
    fn an_enriched_finding_reads_back_as_planned() {
        let mut f = Finding::new(
            FindingKind::AmbiguousPodfactoryUser,
            None,
            vec![],
            "PodFactory user pf5 Sam Lee: two employees".into(),
        );
        f.podfactory_user_id = Some("pf5".into());
        f.podfactory_user = Some(FindingPodfactoryUser {
            name: Some("Sam Lee".into()),
            email: None,
            role: Some("Packer".into()),
        });
        f.candidates = vec![FindingCandidate {
            employee_id: EmployeeId(4),
            score: 0.91,
            reason: "same name".into(),
            name: "Sam Lee".into(),
            email: "sam.lee@example.com".into(),
            department: "Packing".into(),
            workspace: "TX".into(),
            is_active: true,
        }];
        let key = f.key();
        let plan = Plan {
            findings: vec![f],
            ..Plan::default()
        };
        let back = StoredPlan::read(&StoredPlan::write(&plan)).unwrap();
        assert_eq!(back, plan);
        assert_eq!(back.findings[0].key(), key);
        assert_eq!(
            key, "ambiguous_podfactory_user||pf5|",
            "the key names the user only"
        );
    }

    #[test]
    fn a_newer_version_is_refused_not_guessed() {
        let err = StoredPlan::read(r#"{"version": 3, "steps": []}"#).unwrap_err();
        assert!(matches!(err, StoredPlanError::NewerVersion(3)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the stored plan has version 3, newer than this rosterd reads (2)"
        );
    }

    #[test]
    fn a_plan_of_another_shape_is_unreadable_with_its_cause() {
        let err = StoredPlan::read(r#"{"actions": 3}"#).unwrap_err();
        assert!(matches!(err, StoredPlanError::Unreadable(_)), "{err:?}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
