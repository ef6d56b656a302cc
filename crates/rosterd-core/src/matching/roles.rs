//! What a PodFactory role says about who a user is, learned from the
//! users already linked on strong evidence.
//!
//! Two employees with one name (namesakes) leave a user with that name
//! ambiguous. The user's PodFactory role may tell them apart: `lead` is
//! rarely an operator in HR. How PodFactory roles relate to HR role codes
//! and departments is this organisation's own (one floor's `viewer` is
//! office staff, another's `packer` a department), so it is not written
//! down here but counted: among the users pass 1 linked by a manual
//! mapping, an email, or a name at least 0.991 likely (each employee once,
//! and only when one user claims it), how often each PodFactory role goes
//! with each employee's (role code, department).
//!
//! A tie is broken only when the role is commoner among employees like
//! the chosen namesake than among all linked users, and the counts make
//! that namesake at least [`DECISIVE`] likely (the probability of each
//! given the role, the namesakes equally likely beforehand). The link then
//! shows no more than
//! [`calibration::TIE_BROKEN`](super::calibration::TIE_BROKEN).
//! An `operator`, found among every role code, breaks no tie; a `lead`
//! against an operator namesake does. With few linked users the counts
//! stay near the overall share of each role, and nothing is decided.

use rustc_hash::FxHashMap;

/// The least probability, read off the counts, that breaks a tie. It
/// assumes the namesakes equally likely and the counts the whole truth, so
/// it runs high: on the FEBRL-style corpus, ties it broke at 0.95–0.99
/// were right 94% of the time; from 0.99, 99.6% (holdout and FEBRL-style,
/// with and without emails).
pub const DECISIVE: f64 = 0.99;

/// The least probability, read off the counts, at which a department/role
/// hint (`shipper` for Shipping) breaks a tie the counts alone do not: a
/// hint is evidence only where the linked users bear it out. Without this,
/// hints were wrong 10 times in 95 on the FEBRL-style set (seeds 1–2),
/// whose stations' users work in many departments; with it, 1 in 66.
pub const HINT_BORNE_OUT: f64 = 0.9;

/// The least number of linked users with the role among employees like
/// the chosen namesake (same role code and department): the role must have
/// been seen there, not only missed elsewhere (one linked lead beside 600
/// operators proves little about leads).
pub const MIN_SUPPORT: u32 = 5;

/// Pseudo-counts drawn from the coarser estimate: a handful of linked
/// users outweighs it, none leaves it.
const PRIOR_WEIGHT: f64 = 2.0;

/// How often each PodFactory role goes with each employee attribute, over
/// the users linked on strong evidence.
#[derive(Debug, Default)]
pub struct RoleModel {
    role: FxHashMap<String, u32>,
    /// (role, role code), (role, department), (role, both) and the totals
    /// of each attribute, keyed by [`Key`].
    pair: FxHashMap<(String, Key), u32>,
    attr: FxHashMap<Key, u32>,
    total: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Code(String),
    Department(String),
    Both(String, String),
}

/// A PodFactory role or an HR attribute as compared: trimmed, lowercase.
pub fn normal(text: &str) -> String {
    text.trim().to_lowercase()
}

impl RoleModel {
    /// Counts one user linked on strong evidence to an employee with this
    /// role code and department; users without a role count for nothing.
    pub fn add(&mut self, role: &str, code: &str, department: &str) {
        let role = normal(role);
        if role.is_empty() {
            return;
        }
        *self.role.entry(role.clone()).or_default() += 1;
        self.total += 1;
        for key in keys(code, department) {
            *self.attr.entry(key.clone()).or_default() += 1;
            *self.pair.entry((role.clone(), key)).or_default() += 1;
        }
    }

    /// The users counted so far.
    pub fn linked(&self) -> u32 {
        self.total
    }

    /// The share of linked users with this role among those whose employee
    /// has `key`, drawn towards `prior` when there are few.
    fn share(&self, role: &str, key: &Key, prior: f64) -> f64 {
        let with = self.attr.get(key).copied().unwrap_or(0) as f64;
        let both = self
            .pair
            .get(&(role.to_string(), key.clone()))
            .copied()
            .unwrap_or(0) as f64;
        (both + PRIOR_WEIGHT * prior) / (with + PRIOR_WEIGHT)
    }

    /// P(role | the employee's role code and department): the pair's own
    /// share, drawn towards the mean of the role code's and the
    /// department's, each drawn towards the role's overall share.
    pub fn likelihood(&self, role: &str, code: &str, department: &str) -> f64 {
        let role = normal(role);
        let overall = self.overall(&role);
        let [code_key, department_key, both_key] = keys(code, department);
        let coarse = (self.share(&role, &code_key, overall)
            + self.share(&role, &department_key, overall))
            / 2.0;
        self.share(&role, &both_key, coarse)
    }

    /// The role's share among all linked users (one more is counted, so an
    /// unseen role is rare but possible).
    fn overall(&self, role: &str) -> f64 {
        (self.role.get(role).copied().unwrap_or(0) as f64 + 1.0)
            / (self.total as f64 + self.role.len() as f64 + 1.0)
    }

    /// The linked users with this role among those whose employee has this
    /// role code and department, and all of those: for explanations.
    pub fn counts(&self, role: &str, code: &str, department: &str) -> (u32, u32) {
        let [_, _, key] = keys(code, department);
        let with = self.attr.get(&key).copied().unwrap_or(0);
        let both = self.pair.get(&(normal(role), key)).copied().unwrap_or(0);
        (both, with)
    }
}

fn keys(code: &str, department: &str) -> [Key; 3] {
    let (code, department) = (normal(code), normal(department));
    [
        Key::Code(code.clone()),
        Key::Department(department.clone()),
        Key::Both(code, department),
    ]
}

/// The namesake a role points to and the probability it is the one:
/// `attrs` are each namesake's (role code, department), equally likely
/// before the role is read. `None` when the role says nothing, is no
/// commoner among employees like the likeliest namesake than overall
/// (none of them fits: the user may be someone else), or was seen fewer
/// than [`MIN_SUPPORT`] times among employees like it.
pub fn point(model: &RoleModel, role: &str, attrs: &[(&str, &str)]) -> Option<(usize, f64)> {
    let role = normal(role);
    if attrs.len() < 2 {
        return None;
    }
    let (likelihoods, total) = likelihoods(model, &role, attrs)?;
    let (best, &top) = likelihoods
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let (code, department) = attrs[best];
    let seen = model.counts(&role, code, department).0;
    (top > model.overall(&role) && seen >= MIN_SUPPORT).then_some((best, top / total))
}

/// The probability of namesake `i` given the role, by the counts alone
/// (the namesakes equally likely before): `None` for no role.
pub fn posterior(model: &RoleModel, role: &str, attrs: &[(&str, &str)], i: usize) -> Option<f64> {
    let (likelihoods, total) = likelihoods(model, &normal(role), attrs)?;
    Some(likelihoods[i] / total)
}

/// P(role | namesake) for each of `attrs` and their sum, when the role
/// (normalized) is one and says something.
fn likelihoods(model: &RoleModel, role: &str, attrs: &[(&str, &str)]) -> Option<(Vec<f64>, f64)> {
    if role.is_empty() {
        return None;
    }
    let likelihoods: Vec<f64> = attrs
        .iter()
        .map(|(code, department)| model.likelihood(role, code, department))
        .collect();
    let total: f64 = likelihoods.iter().sum();
    (total > 0.0).then_some((likelihoods, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor() -> RoleModel {
        let mut m = RoleModel::default();
        for _ in 0..400 {
            m.add("operator", "OP", "Printing");
        }
        for _ in 0..40 {
            m.add("lead", "LEAD", "Printing");
        }
        for _ in 0..6 {
            m.add("operator", "LEAD", "Printing");
        }
        m
    }

    #[test]
    fn a_role_seen_only_with_one_code_points_to_that_namesake() {
        let (i, p) = point(
            &floor(),
            "Lead",
            &[("OP", "Printing"), ("LEAD", "Printing")],
        )
        .unwrap();
        assert_eq!(i, 1);
        assert!(p >= DECISIVE, "{p}");
    }

    #[test]
    fn a_role_found_with_every_code_decides_nothing() {
        let (i, p) = point(
            &floor(),
            "operator",
            &[("OP", "Printing"), ("LEAD", "Printing")],
        )
        .unwrap();
        assert_eq!(i, 0);
        assert!(p < DECISIVE, "{p}");
    }

    #[test]
    fn without_linked_users_nothing_stands_out() {
        let m = RoleModel::default();
        assert_eq!(
            point(&m, "lead", &[("OP", "Printing"), ("LEAD", "Printing")]),
            None
        );
        // One linked lead beside many operators: leads seen too rarely.
        let mut few = RoleModel::default();
        few.add("lead", "LEAD", "Printing");
        for _ in 0..600 {
            few.add("operator", "OP", "Printing");
        }
        assert_eq!(
            point(&few, "lead", &[("OP", "Printing"), ("LEAD", "Printing")]),
            None
        );
        // Nor a role code never seen, on its department's say-so.
        assert_eq!(
            point(
                &floor(),
                "lead",
                &[("SUPERVISOR", "Printing"), ("OP", "Packing")]
            ),
            None
        );
    }

    #[test]
    fn a_role_that_fits_none_of_them_points_nowhere() {
        let mut m = floor();
        for _ in 0..30 {
            m.add("maintenance", "MT", "Maintenance");
        }
        // Against an operator and a lead, "maintenance" fits the operator
        // a little less badly; it is still no evidence for either.
        assert_eq!(
            point(
                &m,
                "maintenance",
                &[("OP", "Printing"), ("LEAD", "Printing")]
            ),
            None
        );
    }

    #[test]
    fn the_same_attributes_tell_no_one_apart() {
        let (_, p) = point(
            &floor(),
            "lead",
            &[("LEAD", "Printing"), ("LEAD", "Printing")],
        )
        .unwrap();
        assert!((p - 0.5).abs() < 1e-9, "{p}");
        assert!(point(&floor(), "  ", &[("OP", "x"), ("LEAD", "x")]).is_none());
    }
}
