//! Where the policy meets the planner. Every action the planner would take
//! and every finding it would raise about a situation goes through [`Out`],
//! which applies the situation's `[policy]` entry and names it on what it
//! keeps, so a plan says why each line is there.

use super::{Action, Finding, FindingKind, PlannedAction};
use crate::policy::{Policy, PolicyAction, Situation};

pub(super) struct Out<'p> {
    pub rules: &'p Policy,
    pub actions: Vec<PlannedAction>,
    pub findings: Vec<Finding>,
    /// Each situation's entry, written once rather than for every action
    /// (formatting it was ~7% of a large plan's instructions).
    entries: Vec<String>,
}

impl<'p> Out<'p> {
    /// `room`: actions to make room for up front. Growing the list would
    /// copy it into fresh memory at each doubling (a page fault every
    /// 4 KiB); room never used is never touched.
    pub fn new(rules: &'p Policy, room: usize) -> Self {
        Out {
            rules,
            actions: Vec::with_capacity(room),
            findings: Vec::new(),
            entries: Situation::ALL.iter().map(|s| rules.entry(*s)).collect(),
        }
    }

    /// `Policy::entry` for `s`.
    fn entry(&self, s: Situation) -> String {
        // `ALL` lists the situations in declaration order.
        self.entries[s as usize].clone()
    }

    /// Whether the policy acts in `s` (rather than report or ignore).
    pub fn acts(&self, s: Situation) -> bool {
        !matches!(
            self.rules.action(s),
            PolicyAction::Report | PolicyAction::Ignore
        )
    }

    /// Plan `action`, the situation's acting choice, unless the policy
    /// reports it (a `reported_by_policy` finding saying what was not done)
    /// or ignores it.
    pub fn act(&mut self, situation: Situation, action: Action, reason: String) {
        let policy = self.entry(situation);
        match self.rules.action(situation) {
            PolicyAction::Ignore => {}
            PolicyAction::Report => {
                let mut f = Finding::new(
                    FindingKind::ReportedByPolicy,
                    action.employee_id(),
                    action.auth0_user_id().cloned().into_iter().collect(),
                    format!(
                        "{reason}: would {} {}; not done, as {policy} says",
                        action.kind(),
                        action
                            .auth0_user_id()
                            .map_or_else(|| "an account".to_string(), |u| format!("account {u}"))
                    ),
                );
                f.situation = Some(situation);
                f.policy = Some(policy);
                self.findings.push(f);
            }
            _ => self.actions.push(PlannedAction {
                action,
                reason,
                situation,
                policy,
            }),
        }
    }

    /// Raise `f` about `situation` unless the policy ignores it.
    pub fn report(&mut self, situation: Situation, f: Finding) {
        if let Some(f) = situate(self.rules, situation, f) {
            self.findings.push(f);
        }
    }
}

/// `f` named with its situation and policy entry, or None when the policy
/// ignores the situation.
pub(super) fn situate(rules: &Policy, situation: Situation, mut f: Finding) -> Option<Finding> {
    if rules.action(situation) == PolicyAction::Ignore {
        return None;
    }
    f.situation = Some(situation);
    f.policy = Some(rules.entry(situation));
    Some(f)
}

/// The situation a finding of `kind` is always about; None for source
/// problems (an invalid row, PodFactory, a role code) and for kinds whose
/// situation depends on the finding (orphans, named where they are raised).
pub(super) fn situation_of(kind: FindingKind) -> Option<Situation> {
    match kind {
        FindingKind::DuplicateAccount => Some(Situation::DuplicateAccounts),
        FindingKind::ConflictingEvidence => Some(Situation::ConflictingEvidence),
        FindingKind::UnmanagedAccount => Some(Situation::Unmanaged),
        FindingKind::PossibleRehire => Some(Situation::PossibleRehire),
        FindingKind::NeverLoggedIn => Some(Situation::NeverLoggedIn),
        FindingKind::StaleAccount => Some(Situation::StaleAccount),
        FindingKind::Orphaned
        | FindingKind::ReportedByPolicy
        | FindingKind::DuplicateEmployeeEmail
        | FindingKind::InvalidEmployee
        | FindingKind::UnmatchedPodfactoryUser
        | FindingKind::AmbiguousPodfactoryUser
        | FindingKind::EmployeeWithoutPodfactoryUser
        | FindingKind::PodfactorySourceUnavailable
        | FindingKind::InvalidPodfactoryRow
        | FindingKind::UnmappedRoleCode => None,
    }
}
