//! PodFactory user ↔ employee matching (SPEC step 3).
//!
//! The old sync linked on names alone and took the first hit, so every
//! repeated name was a coin toss. Here a link is made only on evidence that
//! singles out one employee, and every result says which evidence and why;
//! anything weaker is `ambiguous` (with its candidates) or `unmatched`.
//!
//! Evidence, strongest first — the first level that names anyone decides:
//! 1. a stored manual mapping (wins outright, even over email);
//! 2. the same email, case-insensitively;
//! 3. the email with a `+tag` or a station suffix (`.shp`, `.pack`, …)
//!    removed from its local part;
//! 4. names: current and previous names of every employee (and the name HR
//!    says they go by, `Phong "Kevin" Huynh`), normalized
//!    ([`normalize`]), scored part by part ([`fuzzy`]) against only the
//!    employees sharing a blocking key ([`blocking`]), so the cost grows
//!    with the users, not with users × employees.
//!
//! Decisions ([`assign`]): a name link needs a score of at least
//! `accept_threshold` *and* a lead of `margin` over the runner-up; when
//! several candidates are within the margin, a surname the user wrote that
//! only one of them has singles it out; so may, in a second pass, what the
//! PodFactory `user_role` means here, counted over the users the first
//! pass linked on strong evidence ([`roles`]), and last the station a role
//! names (against the employee's department and role code) where those
//! counts bear it out; otherwise the user is ambiguous. An email link is
//! overruled (ambiguous) when the names share nothing at all (a shared
//! station login). Then the links are made one-to-one: an employee claimed
//! by several users goes to the one with clearly stronger evidence, the
//! others become ambiguous; the email-linked or manually mapped owner of an
//! employee keeps it against name claims. One exception: users whose
//! different emails are all the employee's mailbox, as it is or without a
//! station suffix (`jdoe@…`, `jdoe.shp@…`), are one person's several
//! PodFactory logins, and all are linked.
//!
//! Activity is not evidence: PodFactory lists leavers too, so inactive
//! employees are candidates like any other, and an active and an inactive
//! namesake stay ambiguous unless other evidence separates them (preferring
//! the active one would link a leaver's PodFactory user to the wrong person).
//!
//! The engine is pure (no I/O, no clock): the same input gives the same
//! output, in input order. The offline matcher (`rosterd match`) is the
//! daemon's `match_csv`; the synthetic workforce, its scores and the timings
//! are in the `rosterd-lab` crate.

mod assign;
mod blocking;
pub mod calibration;
mod fuzzy;
mod normalize;
mod roles;

use crate::model::{Email, EmployeeId};
use blocking::BlockIndex;
use fuzzy::{Detail, Vocab};
use normalize::NameForm;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A user of PodFactory, as its database or CSV export gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFactoryUser {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub user_role: Option<String>,
}

/// An employee as the matcher needs it (borrowed from the run's data).
#[derive(Debug, Clone, Copy)]
pub struct MatchEmployee<'a> {
    pub id: EmployeeId,
    pub full_name: &'a str,
    pub email: &'a Email,
    pub department: &'a str,
    pub role_code: &'a str,
    pub is_active: bool,
    /// Names the employee had before (a marriage), oldest or newest first.
    pub previous_names: &'a [String],
}

impl<'a> MatchEmployee<'a> {
    pub fn from_employee(e: &'a crate::model::Employee, previous_names: &'a [String]) -> Self {
        MatchEmployee {
            id: e.id,
            full_name: &e.full_name,
            email: &e.email,
            department: &e.department,
            role_code: &e.role_code,
            is_active: e.is_active,
            previous_names,
        }
    }
}

/// An employee owned (read from a CSV file or generated).
#[derive(Debug, Clone, PartialEq)]
pub struct EmployeeRecord {
    pub id: EmployeeId,
    pub full_name: String,
    pub email: Email,
    pub department: String,
    pub role_code: String,
    pub is_active: bool,
    pub previous_names: Vec<String>,
}

impl EmployeeRecord {
    pub fn as_match(&self) -> MatchEmployee<'_> {
        MatchEmployee {
            id: self.id,
            full_name: &self.full_name,
            email: &self.email,
            department: &self.department,
            role_code: &self.role_code,
            is_active: self.is_active,
            previous_names: &self.previous_names,
        }
    }
}

/// A stored manual mapping (an admin's decision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualMapping {
    pub podfactory_user_id: String,
    pub employee_id: EmployeeId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchSettings {
    /// Station suffixes removed from an email's local part (`shp` strips
    /// `.shp`, `_shp`, `-shp`).
    pub station_suffixes: Vec<String>,
    /// Lowest probability of being right ([`calibration`]) a name link
    /// needs.
    pub accept_threshold: f64,
    /// Lead a name link needs over the runner-up (and a name claim over a
    /// competing claim on the same employee).
    pub margin: f64,
    /// Lowest name score listed as a candidate (a user whose best is between
    /// this and the threshold is ambiguous, below it unmatched).
    pub candidate_floor: f64,
    /// Candidates listed per result.
    pub max_candidates: usize,
    /// Largest blocking block scored (see [`blocking`]).
    pub max_block: usize,
}

impl Default for MatchSettings {
    fn default() -> Self {
        MatchSettings {
            station_suffixes: ["shp", "ship", "pack", "pick", "hp"]
                .map(String::from)
                .to_vec(),
            accept_threshold: 0.95,
            margin: 0.05,
            // An initial with a middle name dropped (`J. Smith` for John
            // Paul Smith: 0.80 × 0.98) is still a candidate to review.
            candidate_floor: 0.78,
            max_candidates: 5,
            max_block: 2000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    Matched,
    Ambiguous,
    Unmatched,
}

impl MatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchStatus::Matched => "matched",
            MatchStatus::Ambiguous => "ambiguous",
            MatchStatus::Unmatched => "unmatched",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Manual,
    Email,
    EmailSuffix,
    PreviousName,
    Name,
    FuzzyName,
}

impl MatchedBy {
    /// Every kind, for reading one back from its stored string.
    pub const ALL: [MatchedBy; 6] = [
        MatchedBy::Manual,
        MatchedBy::Email,
        MatchedBy::EmailSuffix,
        MatchedBy::PreviousName,
        MatchedBy::Name,
        MatchedBy::FuzzyName,
    ];

    /// The kind [`MatchedBy::as_str`] wrote.
    pub fn parse(s: &str) -> Option<MatchedBy> {
        MatchedBy::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// `auth0_employee_mapping_audit.matched_by`: `manual`, `email` or `name`.
    pub fn audit_kind(&self) -> &'static str {
        match self {
            MatchedBy::Manual => "manual",
            MatchedBy::Email | MatchedBy::EmailSuffix => "email",
            MatchedBy::PreviousName | MatchedBy::Name | MatchedBy::FuzzyName => "name",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            MatchedBy::Manual => "manual",
            MatchedBy::Email => "email",
            MatchedBy::EmailSuffix => "email_suffix",
            MatchedBy::PreviousName => "previous_name",
            MatchedBy::Name => "name",
            MatchedBy::FuzzyName => "fuzzy_name",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub employee_id: EmployeeId,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchResult {
    pub podfactory_id: String,
    pub status: MatchStatus,
    /// Set exactly when `status` is `Matched`.
    pub employee_id: Option<EmployeeId>,
    pub matched_by: Option<MatchedBy>,
    /// The probability that the link (or, unlinked, the best candidate)
    /// is right ([`calibration`]); 0 for an unmatched user.
    pub confidence: f64,
    /// The employees considered, best first (the linked one included).
    pub candidates: Vec<Candidate>,
    pub explanation: String,
    /// What speaks for the link or the best candidate.
    pub evidence_for: Vec<String>,
    /// What speaks against it, or kept it from being linked.
    pub evidence_against: Vec<String>,
    /// The best candidate other than the link (unlinked: than the best).
    pub runner_up: Option<Candidate>,
}

/// Counters of one matching pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchStats {
    /// Name pairs scored after blocking (the quadratic cost avoided is
    /// employees × users).
    pub pairs_scored: u64,
}

/// Match every PodFactory user to at most one employee: one result per
/// user, in input order. Deterministic.
pub fn match_users(
    employees: &[MatchEmployee],
    users: &[PodFactoryUser],
    manual: &[ManualMapping],
    settings: &MatchSettings,
) -> Vec<MatchResult> {
    Engine::new(employees, settings).run(users, manual).0
}

/// Active employees that no result links (the "no PodFactory user" finding).
pub fn employees_without_user(
    employees: &[MatchEmployee],
    results: &[MatchResult],
) -> Vec<EmployeeId> {
    let linked: rustc_hash::FxHashSet<EmployeeId> =
        results.iter().filter_map(|r| r.employee_id).collect();
    employees
        .iter()
        .filter(|e| e.is_active && !linked.contains(&e.id))
        .map(|e| e.id)
        .collect()
}

/// `app_metadata.podfactory_sync` for every matched employee (SPEC
/// "Option B"). A PodFactory email that does not parse is kept as given
/// but adds no variation.
pub fn sync_metadata(
    employees: &[MatchEmployee],
    users: &[PodFactoryUser],
    results: &[MatchResult],
    settings: &MatchSettings,
) -> std::collections::BTreeMap<EmployeeId, crate::model::PodFactorySync> {
    let emails: FxHashMap<EmployeeId, &Email> = employees.iter().map(|e| (e.id, e.email)).collect();
    let mut out = std::collections::BTreeMap::new();
    for (u, r) in users.iter().zip(results) {
        let (Some(id), Some(by)) = (r.employee_id, r.matched_by) else {
            continue;
        };
        let Some(own) = emails.get(&id) else {
            continue;
        };
        // Several manual mappings may name one employee: the block names
        // the lowest user id, whatever order the source returned them in.
        if out
            .get(&id)
            .is_some_and(|s: &crate::model::PodFactorySync| s.podfactory_user_id <= u.id)
        {
            continue;
        }
        let mut variations = vec![own.to_string()];
        let pf_email = u.email.as_deref().and_then(|e| Email::parse(e).ok());
        if let Some(pf) = &pf_email {
            variations.push(pf.to_string());
            if let Some((stripped, _)) = normalize::strip_station(pf, &settings.station_suffixes) {
                variations.push(stripped);
            }
        }
        variations.sort();
        variations.dedup();
        out.insert(
            id,
            crate::model::PodFactorySync {
                podfactory_user_id: u.id.clone(),
                podfactory_email: u
                    .email
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(|e| pf_email.map_or_else(|| e.to_string(), |p| p.to_string())),
                matched_by: by.as_str().to_string(),
                email_variations: variations,
            },
        );
    }
    out
}

/// `f` over the two halves of `items` at once, one on a thread of its own,
/// the outputs joined in input order: each user is decided alone, so the
/// result is the same as in one pass, in about half the time on the two
/// cores a run gets. Small inputs are not worth a thread.
fn on_two_threads<T: Send, R: Send>(
    mut items: Vec<T>,
    f: impl Fn(Vec<T>) -> Vec<R> + Sync,
) -> Vec<R> {
    if items.len() < 4096 {
        return f(items);
    }
    let second = items.split_off(items.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| f(second));
        let mut out = f(items);
        out.extend(other.join().expect("a matching thread panicked"));
        out
    })
}

/// An employee's names and hint, prepared once.
struct Prepared {
    /// (spelling, index into `previous_names` + 1, or 0 for the current name)
    forms: Vec<(NameForm, usize)>,
    hints: Vec<&'static str>,
}

/// The employees, indexed for matching. Building it is the "build" phase
/// of the benchmark; [`Engine::run`] is the rest.
pub struct Engine<'e, 's> {
    employees: &'e [MatchEmployee<'e>],
    settings: &'s MatchSettings,
    prepared: Vec<Prepared>,
    pub(crate) vocab: Vocab,
    blocks: BlockIndex,
    by_email: FxHashMap<&'e str, Vec<u32>>,
    by_id: FxHashMap<EmployeeId, u32>,
    /// Domains of employee emails: a mailbox there that is no employee's is
    /// someone else's.
    domains: rustc_hash::FxHashSet<&'e str>,
    /// Employees by each token of their names (current and previous), for
    /// a user whose name is only part of one (see [`Engine::partial_name`]).
    by_token: FxHashMap<String, Vec<u32>>,
    /// Employees by the sound of each of their given names: rivals of a
    /// partial name (`Sara R.` fits Sarah Rogers as well as Sara Roberts).
    by_given_sound: FxHashMap<u32, Vec<u32>>,
    /// Employees by the (given name, surname) their mailbox spells when
    /// none of their names does (`rachel.moore@` for Rachel Davis): a
    /// maiden or preferred name, for on-call to review (see
    /// [`Engine::mailbox_spells`]).
    by_mailbox_name: FxHashMap<(String, String), Vec<u32>>,
}

/// Users after phase 1 of [`Engine::run`].
pub struct Blocked {
    pending: Vec<Pending>,
    /// Each user's PodFactory role, in input order, for [`roles::RoleModel`].
    roles: Vec<String>,
}

enum Pending {
    Decided(assign::Outcome),
    ByName(Box<NameCase>),
}

/// A user left to be decided by name.
struct NameCase {
    user: PodFactoryUser,
    /// The display name's spellings, then those a personal mailbox's local
    /// part spells (from `display` on).
    forms: Vec<NameForm>,
    display: usize,
    /// The personal mailbox's name run together: evidence against only.
    mailbox_together: Vec<NameForm>,
    notes: Vec<String>,
    /// Evidence against found before the name is scored (an email the
    /// name overrules).
    against: Vec<String>,
    /// The employee whose email the user has, when the name overruled it.
    email_owner: Option<u32>,
    /// Employee indexes sharing a blocking key, sorted.
    candidates: Vec<u32>,
    /// False when an oversized block was skipped.
    complete: bool,
    /// The user's email when it is on an employee domain yet no employee's.
    company_mailbox: Option<Email>,
    /// The user's email when it is at another organisation: neither an
    /// employee domain nor a personal mail provider.
    foreign_mailbox: Option<Email>,
}

/// The employees part of a name fits: by the name itself, and by a given
/// name that sounds the same.
struct PartialFit {
    exact: Vec<u32>,
    rivals: Vec<u32>,
    /// One name alone, no initial: a candidate to review, never a link.
    alone: bool,
    /// One word read as a login (`agibson5`): initial and surname, or
    /// given name and initial, written together.
    login: bool,
    /// Among `exact`, the employees whose whole name the one word is (a
    /// mononym, `Suresh`), when it is also part of others' names.
    whole: Vec<u32>,
}

/// A user's name candidate: employee index, score, how.
#[derive(Debug, Clone, Copy)]
struct Scored {
    emp: u32,
    score: f64,
    detail: Detail,
    /// 0 for the current name, i + 1 for `previous_names[i]`.
    form: usize,
    /// The user's side is the name a personal mailbox spells.
    from_mailbox: bool,
}

impl<'e, 's> Engine<'e, 's> {
    pub fn new(employees: &'e [MatchEmployee<'e>], settings: &'s MatchSettings) -> Self {
        let mut vocab = Vocab::default();
        let mut blocks = BlockIndex::default();
        let mut by_email: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
        let mut by_id = FxHashMap::default();
        let mut domains = rustc_hash::FxHashSet::default();
        let mut by_token: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        let mut by_given_sound: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut by_mailbox_name: FxHashMap<(String, String), Vec<u32>> = FxHashMap::default();
        // Each employee's spellings and blocking keys on their own (on two
        // threads), then the shared indexes in employee order.
        let mut each: Vec<(Prepared, Vec<u64>)> =
            on_two_threads(employees.iter().collect(), |half| {
                half.into_iter()
                    .map(|e| {
                        let mut forms = Vec::new();
                        let mut keys = Vec::new();
                        let names = std::iter::once(e.full_name)
                            .chain(e.previous_names.iter().map(String::as_str));
                        for (n, name) in names.enumerate() {
                            for form in normalize::name_forms(name) {
                                blocking::employee_keys(&form, &mut keys);
                                forms.push((form, n));
                            }
                        }
                        let hints = normalize::hint_stems(&[e.department, e.role_code]);
                        (Prepared { forms, hints }, keys)
                    })
                    .collect()
            });
        Self::add_preferred_names(employees, &mut each);
        let prepared = each
            .into_iter()
            .zip(employees)
            .enumerate()
            .map(|(i, ((p, keys), e))| {
                let i = i as u32;
                by_email.entry(e.email.as_str()).or_default().push(i);
                // An employee's gmail.com makes it no company domain.
                if !normalize::is_personal_domain(e.email.domain()) {
                    domains.insert(e.email.domain());
                }
                // A duplicated id keeps its first row: ids come from a primary key.
                by_id.entry(e.id).or_insert(i);
                p.forms.iter().for_each(|(form, _)| vocab.add(form));
                for (form, _) in &p.forms {
                    let sounds = by_given_sound
                        .entry(blocking::phonetic(form.first()))
                        .or_default();
                    if sounds.last() != Some(&i) {
                        sounds.push(i);
                    }
                    for t in &form.tokens {
                        let ids = by_token.entry(t.clone()).or_default();
                        if ids.last() != Some(&i) {
                            ids.push(i);
                        }
                    }
                }
                if let Some(key) = normalize::mailbox_name(e.email) {
                    let own = p.forms.iter().any(|(f, _)| {
                        f.tokens.len() >= 2 && (f.first(), f.last()) == (&key.0[..], &key.1[..])
                    });
                    if !own {
                        by_mailbox_name.entry(key).or_default().push(i);
                    }
                }
                blocks.add(i, keys);
                p
            })
            .collect();
        blocks.finish();
        Engine {
            employees,
            settings,
            prepared,
            vocab,
            blocks,
            by_email,
            by_id,
            domains,
            by_token,
            by_given_sound,
            by_mailbox_name,
        }
    }

    /// The employees whose mailbox spells one of `forms` (given name and
    /// surname) though none of their names does. Measured as links on the
    /// holdout and FEBRL-style corpora, for users no name came close to:
    /// right 121 times in 124 (a temp `Amy Kim` beside Ji-woo Kim's
    /// `amy.kim@`), too few to link, enough to review.
    fn mailbox_spells(&self, forms: &[NameForm]) -> Vec<u32> {
        let mut found: Vec<u32> = Vec::new();
        for f in forms.iter().filter(|f| f.tokens.len() >= 2) {
            let key = (f.first().to_string(), f.last().to_string());
            for &i in self.by_mailbox_name.get(&key).into_iter().flatten() {
                if !found.contains(&i) {
                    found.push(i);
                }
            }
        }
        // By employee id, so the order never depends on input order.
        found.sort_by_key(|&i| self.employees[i as usize].id);
        found
    }

    /// Match `users`; the results in input order and the pass's counters.
    pub fn run(
        &self,
        users: &[PodFactoryUser],
        manual: &[ManualMapping],
    ) -> (Vec<MatchResult>, MatchStats) {
        let blocked = self.block(users, manual);
        let (scored, stats) = self.score_blocked(blocked);
        (self.assign(scored, users), stats)
    }

    /// Phase 1: manual and email evidence, and for the rest the employees
    /// sharing a blocking key.
    pub fn block(&self, users: &[PodFactoryUser], manual: &[ManualMapping]) -> Blocked {
        let manual: FxHashMap<&str, EmployeeId> = manual
            .iter()
            .map(|m| (m.podfactory_user_id.as_str(), m.employee_id))
            .collect();
        let pending = on_two_threads(users.iter().collect(), |half| {
            let mut scratch = Vec::new();
            half.into_iter()
                .map(|u| self.block_one(u, manual.get(u.id.as_str()).copied(), &mut scratch))
                .collect()
        });
        let roles = users
            .iter()
            .map(|u| roles::normal(u.user_role.as_deref().unwrap_or("")))
            .collect();
        Blocked { pending, roles }
    }

    /// The name a person goes by is their current name too, beside its
    /// spellings (as one of them, before any previous name): unless
    /// another employee's whole name is the rest of it (`Li Zhang` beside
    /// `Li (Kelly) Zhang`), as either may go by it and HR wrote it for one.
    fn add_preferred_names(employees: &[MatchEmployee<'_>], each: &mut [(Prepared, Vec<u64>)]) {
        let preferred: Vec<(usize, normalize::Preferred)> = employees
            .iter()
            .enumerate()
            .filter_map(|(i, e)| normalize::preferred_name(e.full_name).map(|p| (i, p)))
            .collect();
        if preferred.is_empty() {
            return;
        }
        // Whole names as their first spelling's words.
        let whole: rustc_hash::FxHashSet<Vec<String>> = each
            .iter()
            .filter_map(|(p, _)| p.forms.first().filter(|(_, n)| *n == 0))
            .map(|(f, _)| f.tokens.clone())
            .collect();
        for (i, p) in preferred {
            let rest = normalize::name_forms(&p.without);
            if rest.first().is_some_and(|f| whole.contains(&f.tokens)) {
                continue;
            }
            let (prepared, keys) = &mut each[i];
            let at = prepared.forms.iter().take_while(|(_, n)| *n == 0).count();
            let forms: Vec<(NameForm, usize)> = normalize::name_forms(&p.name)
                .into_iter()
                .map(|form| {
                    blocking::employee_keys(&form, keys);
                    (form, 0)
                })
                .collect();
            prepared.forms.splice(at..at, forms);
        }
    }

    /// Phase 2: score the blocked pairs and decide each user on names.
    pub fn score_blocked(&self, blocked: Blocked) -> (Vec<assign::Outcome>, MatchStats) {
        let stats = MatchStats {
            pairs_scored: blocked
                .pending
                .iter()
                .map(|p| match p {
                    Pending::Decided(_) => 0,
                    Pending::ByName(n) => n.candidates.len() as u64,
                })
                .sum(),
        };
        // Pass 1 decides everyone; the users tied between namesakes are
        // decided again once the strong links show what each PodFactory
        // role says (see `roles`).
        let first = on_two_threads(blocked.pending, |half| {
            half.into_iter()
                .map(|p| match p {
                    Pending::Decided(o) => (o, None),
                    Pending::ByName(n) => {
                        let scored = self.score_case(&n);
                        let o = self.decide_by_name(&n, &scored, None);
                        let role = n.user.user_role.as_deref().unwrap_or("");
                        let again = (o.tied() && !role.trim().is_empty()).then_some((n, scored));
                        (o, again)
                    }
                })
                .collect()
        });
        // Learned from employees with one strong claim: several users
        // claiming one employee (a shared email, a login entered twice)
        // are not one person's role several times over.
        let mut strong: FxHashMap<u32, (usize, &str)> = FxHashMap::default();
        for ((o, _), role) in first.iter().zip(&blocked.roles) {
            if let Some(i) = o.strong_link() {
                strong.entry(i).or_insert((0, role)).0 += 1;
            }
        }
        let mut model = roles::RoleModel::default();
        for (i, (claims, role)) in strong {
            if claims == 1 {
                let e = &self.employees[i as usize];
                model.add(role, e.role_code, e.department);
            }
        }
        let outcomes = on_two_threads(first, |half| {
            half.into_iter()
                .map(|(o, again)| match again {
                    Some((n, scored)) => self.decide_by_name(&n, &scored, Some(&model)),
                    None => o,
                })
                .collect()
        });
        (outcomes, stats)
    }

    /// Phase 3: one-to-one, and the results in input order.
    pub fn assign(
        &self,
        outcomes: Vec<assign::Outcome>,
        users: &[PodFactoryUser],
    ) -> Vec<MatchResult> {
        assign::one_to_one(outcomes, self.employees, users, self.settings.margin)
    }

    fn block_one(
        &self,
        u: &PodFactoryUser,
        manual: Option<EmployeeId>,
        scratch: &mut Vec<u64>,
    ) -> Pending {
        let mut notes = Vec::new();
        if let Some(id) = manual {
            match self.by_id.get(&id) {
                Some(&i) => return Pending::Decided(assign::Outcome::manual(i)),
                None => notes.push(format!(
                    "manual mapping to employee {id} ignored: no such employee loaded"
                )),
            }
        }
        let mut forms = u
            .name
            .as_deref()
            .map(normalize::name_forms)
            .unwrap_or_default();
        let display = forms.len();
        let (mut company_mailbox, mut foreign_mailbox) = (None, None);
        let (mut against, mut email_owner) = (Vec::new(), None);
        let mut mailbox_together = Vec::new();
        match u.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(raw) => match Email::parse(raw) {
                Ok(email) => {
                    match self.by_email(&email, &forms, &mut notes) {
                        Some(Ok(outcome)) => {
                            let outcome = match self.name_is_anothers(&outcome, &forms, scratch) {
                                Some(other) => {
                                    outcome.also_named(other, &assign::describe(self, other))
                                }
                                None => outcome,
                            };
                            return Pending::Decided(outcome);
                        }
                        Some(Err((owner, why))) => {
                            against.push(why);
                            email_owner = Some(owner);
                        }
                        None => {}
                    }
                    if email_owner.is_some() {
                        // The email is an employee's, whose name this is not.
                    } else if self.domains.contains(email.domain()) {
                        company_mailbox = Some(email);
                    } else if normalize::is_personal_domain(email.domain()) {
                        let (separated, together) = normalize::local_part_names(&email);
                        for f in separated {
                            if !forms.iter().any(|g| g.tokens == f.tokens) {
                                forms.push(f);
                            }
                        }
                        mailbox_together = together;
                    } else {
                        foreign_mailbox = Some(email);
                    }
                }
                Err(e) => notes.push(format!("{e}; email not used")),
            },
            None => notes.push("no email".into()),
        }
        let mut candidates = Vec::new();
        let complete =
            self.blocks
                .candidates(&forms, self.settings.max_block, &mut candidates, scratch);
        Pending::ByName(Box::new(NameCase {
            user: u.clone(),
            forms,
            display,
            mailbox_together,
            notes,
            against,
            email_owner,
            candidates,
            complete,
            company_mailbox,
            foreign_mailbox,
        }))
    }

    /// The candidates of `n` at or above the floor, scored, best first.
    fn score_case(&self, n: &NameCase) -> Vec<Scored> {
        let mut scored: Vec<Scored> = n
            .candidates
            .iter()
            .filter_map(|&i| self.score(&n.forms, n.display, i))
            .filter(|s| s.score >= self.settings.candidate_floor)
            .collect();
        // Best first; ties by employee id, so the order never depends on input order.
        scored.sort_by(|a, b| {
            b.score.total_cmp(&a.score).then_with(|| {
                self.employees[a.emp as usize]
                    .id
                    .cmp(&self.employees[b.emp as usize].id)
            })
        });
        scored
    }

    /// Decide `n` on its `scored` candidates; `roles`, once learned, may
    /// break a tie.
    fn decide_by_name(
        &self,
        n: &NameCase,
        scored: &[Scored],
        roles: Option<&roles::RoleModel>,
    ) -> assign::Outcome {
        let user_hints = normalize::hint_stems(&[n.user.user_role.as_deref().unwrap_or("")]);
        let outcome = match self.partial_name(n, scored) {
            Some(fits) => assign::by_partial_name(self, n, &fits, roles),
            None => assign::by_name(self, n, scored, &user_hints, roles),
        };
        match (n.email_owner, n.against.first()) {
            (Some(owner), Some(why)) => outcome.keep_email_owner(owner, why),
            _ => outcome,
        }
    }

    /// Another employee whose current name the user of an email claim has
    /// exactly, when the name does not fit the email's owner (`Linh Nguyen`
    /// on Tuan Nguyen's `tuan.nguyen@`): a shared or handed-down login.
    /// The email still decides (measured: deciding by the name instead lost
    /// right links and added wrong ones on every holdout seed), but on-call
    /// is told, with that employee among the candidates.
    fn name_is_anothers(
        &self,
        outcome: &assign::Outcome,
        forms: &[NameForm],
        scratch: &mut Vec<u64>,
    ) -> Option<u32> {
        let owner = outcome.email_claim()?;
        let named: Vec<NameForm> = forms
            .iter()
            .filter(|f| f.tokens.len() >= 2)
            .cloned()
            .collect();
        let fits_owner = self.score(&named, named.len(), owner).is_some_and(|s| {
            calibration::name(s.score) + assign::EPS >= self.settings.accept_threshold
        });
        if named.is_empty() || fits_owner {
            return None;
        }
        let mut candidates = Vec::new();
        self.blocks
            .candidates(&named, self.settings.max_block, &mut candidates, scratch);
        candidates
            .into_iter()
            .filter(|&i| i != owner)
            .filter(|&i| {
                self.score(&named, named.len(), i)
                    .is_some_and(|s| s.detail.is_exact() && s.form == 0)
            })
            .min_by_key(|&i| self.employees[i as usize].id)
    }

    /// Email evidence, if the email (or its station-free form) is an employee's.
    fn by_email(
        &self,
        email: &Email,
        forms: &[NameForm],
        notes: &mut Vec<String>,
    ) -> Option<Result<assign::Outcome, (u32, String)>> {
        let (hits, by, how) = if let Some(hits) = self.by_email.get(email.as_str()) {
            (
                hits,
                MatchedBy::Email,
                format!("email {email} is the employee's"),
            )
        } else {
            let Some((stripped, removed)) =
                normalize::strip_station(email, &self.settings.station_suffixes)
            else {
                return self.by_short_station_prefix(email, forms, notes);
            };
            let Some(hits) = self.by_email.get(stripped.as_str()) else {
                notes.push(format!("email {email} (or {stripped}) is no employee's"));
                return None;
            };
            (
                hits,
                MatchedBy::EmailSuffix,
                format!("email {email} without \"{removed}\" is the employee's ({stripped})"),
            )
        };
        Some(assign::by_email(
            self,
            forms,
            hits,
            by,
            how,
            notes.as_slice(),
        ))
    }

    /// Email evidence from a two-letter station marker written first
    /// (`hp.elena.garcia@…`): only when the rest is one employee's email and
    /// the name alone would be enough for that employee, as `hp.smith` may
    /// be Harry P. Smith's own login.
    fn by_short_station_prefix(
        &self,
        email: &Email,
        forms: &[NameForm],
        notes: &mut Vec<String>,
    ) -> Option<Result<assign::Outcome, (u32, String)>> {
        let stripped =
            normalize::strip_short_station_prefix(email, &self.settings.station_suffixes);
        let found = stripped.as_ref().and_then(|(stripped, removed)| {
            let [i] = self.by_email.get(stripped.as_str())?.as_slice() else {
                return None;
            };
            let fit = self.score(forms, forms.len(), *i)?;
            (calibration::name(fit.score) + assign::EPS >= self.settings.accept_threshold)
                .then_some((*i, stripped, removed))
        });
        let Some((i, stripped, removed)) = found else {
            notes.push(format!("email {email} is no employee's"));
            return None;
        };
        let how = format!(
            "email {email} without \"{removed}\" is the employee's ({stripped}), and the name agrees"
        );
        Some(assign::by_email(
            self,
            forms,
            &[i],
            MatchedBy::EmailSuffix,
            how,
            notes.as_slice(),
        ))
    }

    /// The best way `forms` (a user's name; from `display` on, the name
    /// its personal mailbox spells) matches employee `i`.
    fn score(&self, forms: &[NameForm], display: usize, i: u32) -> Option<Scored> {
        let mut best: Option<Scored> = None;
        for (k, p) in forms.iter().enumerate() {
            let from_mailbox = k >= display;
            for (e, n) in &self.prepared[i as usize].forms {
                if let Some((mut score, detail)) = fuzzy::score(p, e, &self.vocab) {
                    if from_mailbox {
                        score *= fuzzy::FROM_MAILBOX;
                    }
                    if best.is_none_or(|b| score > b.score) {
                        best = Some(Scored {
                            emp: i,
                            score,
                            detail,
                            form: *n,
                            from_mailbox,
                        });
                    }
                }
            }
        }
        best
    }

    /// A display name that is only part of a name, a given name or a
    /// surname alone (`Petra`, a candidate at most) or a given name and the
    /// surname's initial (`Cody G.`), when no whole name came close: the
    /// employees it fits exactly, and those whose given name only sounds
    /// the same (rivals: `Sara R.` fits Sarah Rogers as well as Sara
    /// Roberts). `None` for any other user: a mailbox, company or foreign,
    /// is evidence the name alone cannot weigh.
    fn partial_name(&self, n: &NameCase, scored: &[Scored]) -> Option<PartialFit> {
        let whole = self.whole_names_shared(n, scored);
        if (!scored.is_empty() && whole.is_empty())
            || !n.complete
            || n.email_owner.is_some()
            || n.company_mailbox.is_some()
            || n.foreign_mailbox.is_some()
        {
            return None;
        }
        let [form] = &n.forms[..n.display] else {
            return None;
        };
        // `Petra`, `Cody G.`, or a two-part given name and an initial
        // (`Mary Ann D.`), whose second part must be the employee's too.
        let (given, middle, initial) = match &form.tokens[..] {
            [one] if one.len() >= 3 => (one, None, None),
            [given, initial] if given.len() >= 2 && initial.len() == 1 => {
                (given, None, Some(initial))
            }
            [given, middle, initial]
                if given.len() >= 2 && middle.len() >= 2 && initial.len() == 1 =>
            {
                (given, Some(middle), Some(initial))
            }
            _ => return None,
        };
        let sound = blocking::phonetic(given);
        // Exact: any name token (a surname alone, a middle name gone by)
        // or, with an initial, the given name; rivals: a given name that
        // sounds the same.
        let fits_initial = |i: u32, exact: bool| {
            self.prepared[i as usize].forms.iter().any(|(e, _)| {
                let first = e.first();
                (if exact {
                    first == given
                } else {
                    blocking::phonetic(first) == sound
                }) && middle.is_none_or(|m| e.tokens.get(1) == Some(m))
                    && initial.is_none_or(|x| {
                        let rest = e.tokens.get(1 + usize::from(middle.is_some())..);
                        rest.unwrap_or_default()
                            .iter()
                            .any(|t| t.starts_with(x.as_str()))
                    })
            })
        };
        let by_id = |v: &mut Vec<u32>| v.sort_by_key(|&i| self.employees[i as usize].id);
        let mut exact: Vec<u32> = self
            .by_token
            .get(given.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| initial.is_none() || fits_initial(i, true))
            .collect();
        by_id(&mut exact);
        if exact.is_empty() {
            let login = initial.is_none().then(|| self.login_fits(given))?;
            return (!login.is_empty()).then_some(PartialFit {
                exact: login,
                rivals: Vec::new(),
                alone: false,
                login: true,
                whole: Vec::new(),
            });
        }
        let mut rivals: Vec<u32> = self
            .by_given_sound
            .get(&sound)
            .into_iter()
            .flatten()
            .copied()
            .filter(|i| !exact.contains(i) && fits_initial(*i, false))
            .collect();
        by_id(&mut rivals);
        Some(PartialFit {
            exact,
            rivals,
            alone: initial.is_none(),
            login: false,
            whole,
        })
    }

    /// The employees whose whole name is the user's one word (`Suresh`,
    /// employee "Suresh"), when that word is also part of another
    /// employee's name (`Suresh Kumar`, who may write his given name
    /// alone): then the word is decided as part of a name, never linked.
    /// Empty when no other employee has the word, and the mononym's link
    /// stands.
    fn whole_names_shared(&self, n: &NameCase, scored: &[Scored]) -> Vec<u32> {
        let [form] = &n.forms[..n.display] else {
            return Vec::new();
        };
        let [word] = &form.tokens[..] else {
            return Vec::new();
        };
        // The scorer says so: one word on both sides, the same.
        let is_whole = |s: &Scored| !s.from_mailbox && s.detail.one_word;
        if scored.is_empty() || !scored.iter().all(is_whole) {
            return Vec::new();
        }
        let mut whole: Vec<u32> = scored.iter().map(|s| s.emp).collect();
        whole.sort_by_key(|&i| self.employees[i as usize].id);
        whole.dedup();
        let shared = self
            .by_token
            .get(word.as_str())
            .is_some_and(|ids| ids.iter().any(|i| !whole.contains(i)));
        if shared {
            whole
        } else {
            Vec::new()
        }
    }

    /// The employees a one-word login spells (digits after it are gone by
    /// now): an initial and a surname in either order (`agibson`,
    /// `othmanm`), or a given name and the surname's initial (`garrettw`).
    /// Each part must be exactly a part of that employee's name, the
    /// surname or given name three letters or more.
    fn login_fits(&self, word: &str) -> Vec<u32> {
        let n = word.len();
        if n < 4 || !word.is_ascii() {
            return Vec::new();
        }
        let mut fits: Vec<u32> = Vec::new();
        let splits = [
            (&word[1..], &word[..1], false),
            (&word[..n - 1], &word[n - 1..], false),
            (&word[..n - 1], &word[n - 1..], true),
        ];
        for (part, initial, part_is_given) in splits {
            for &i in self.by_token.get(part).into_iter().flatten() {
                let fit = self.prepared[i as usize].forms.iter().any(|(e, _)| {
                    let (first, rest) = (e.first(), &e.tokens[1..]);
                    if part_is_given {
                        first == part && rest.iter().any(|t| t.starts_with(initial))
                    } else {
                        first.starts_with(initial) && rest.iter().any(|t| t == part)
                    }
                });
                if fit && !fits.contains(&i) {
                    fits.push(i);
                }
            }
        }
        fits
    }

    /// Whether any spelling of the user's name shares a token with any of
    /// employee `i`'s names.
    fn names_share_anything(&self, forms: &[NameForm], i: u32) -> bool {
        forms.iter().any(|p| {
            self.prepared[i as usize]
                .forms
                .iter()
                .any(|(e, _)| fuzzy::share_anything(p, e))
        })
    }

    /// The name of employee `i` a candidate matched: current or previous.
    fn name_of(&self, s: &Scored) -> &str {
        let e = &self.employees[s.emp as usize];
        match s.form {
            0 => e.full_name,
            n => &e.previous_names[n - 1],
        }
    }
}

#[cfg(test)]
mod tests;
