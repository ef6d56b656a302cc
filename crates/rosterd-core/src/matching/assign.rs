//! Turning evidence into decisions: the acceptance threshold, the margin
//! over the runner-up, the department/role hint, and the one-to-one step.
//!
//! A name link needs a calibrated confidence ([`calibration`]) of at least
//! `accept_threshold` and a name score that leads the runner-up's by
//! `margin`; the score, not the probability, sets the margin, as it tells
//! apart kinds of agreement the probability table pools.
//!
//! One-to-one is decided per employee, not by a global optimum (Hungarian
//! or greedy over all pairs): an optimum would resolve two equal claims by
//! whichever choice scores best elsewhere, which is a guess. Here an
//! employee claimed by several users goes to the claim of the strongest
//! evidence level (manual > email > station-free email > name) when it is
//! the only one at that level, or to a name claim that leads the next by
//! the margin; every other claimant is ambiguous, with the employee among
//! its candidates. Several claims by email evidence with different emails
//! (`jdoe@…` and `jdoe.shp@…`) are one person's several logins and are all
//! kept: each email is the employee's mailbox. Measured on the corpora
//! (holdout seeds 11–13, the FEBRL-style set, the lab's), such second
//! logins were right every time (102 of 102), so they keep the email
//! levels' confidence. A second user claiming the employee by name alone
//! is not linked: on names nothing tells a second login from a namesake
//! who is no employee (the lab's corpus has 11 such namesakes in 6,000),
//! unless its personal mailbox has the employee's own handle
//! (`vsuarez@hotmail.com` beside the linked `vsuarez@…`).
//!
//! Every outcome says what spoke for the link and what against it (the
//! explain output of `rosterd match --output json`).

use super::calibration;
use super::fuzzy::{Agree, Middle};
use super::normalize::{self, NameForm};
use super::roles::{self, RoleModel};
use super::{
    Candidate, Engine, MatchEmployee, MatchResult, MatchStatus, MatchedBy, NameCase, PartialFit,
    PodFactoryUser, Scored,
};
use crate::model::Email;
use rustc_hash::FxHashMap;

/// Floating-point slack for threshold and margin comparisons (the scores
/// are products of fixed weights).
pub(crate) const EPS: f64 = 1e-9;

/// The least confidence of a name link that [`RoleModel`] learns from:
/// above every tie broken by anything but the name (0.99 and below).
const STRONG_NAME: f64 = 0.991;

/// One user's evidence before the one-to-one step; `Matched` is a claim.
#[derive(Debug)]
pub struct Outcome {
    status: MatchStatus,
    emp: Option<u32>,
    by: Option<MatchedBy>,
    /// The evidence's strength, compared against other claims' by the margin.
    score: f64,
    /// The probability that the (best) candidate is right.
    confidence: f64,
    candidates: Vec<(u32, f64, String)>,
    explanation: String,
    evidence_for: Vec<String>,
    evidence_against: Vec<String>,
    /// Ambiguous between namesakes within the margin: a learned
    /// [`RoleModel`] may yet tell them apart.
    tied: bool,
}

impl Outcome {
    pub fn manual(emp: u32) -> Self {
        Outcome::claim(
            emp,
            MatchedBy::Manual,
            1.0,
            1.0,
            vec![(emp, 1.0, "manual mapping".into())],
            "stored manual mapping".into(),
        )
        .because(
            vec!["a stored manual mapping (an admin's decision)".into()],
            Vec::new(),
        )
    }

    fn claim(
        emp: u32,
        by: MatchedBy,
        score: f64,
        confidence: f64,
        candidates: Vec<(u32, f64, String)>,
        explanation: String,
    ) -> Self {
        Outcome {
            status: MatchStatus::Matched,
            emp: Some(emp),
            by: Some(by),
            score,
            confidence,
            candidates,
            explanation,
            evidence_for: Vec::new(),
            evidence_against: Vec::new(),
            tied: false,
        }
    }

    fn not_linked(
        status: MatchStatus,
        score: f64,
        confidence: f64,
        candidates: Vec<(u32, f64, String)>,
        explanation: String,
    ) -> Self {
        Outcome {
            status,
            emp: None,
            by: None,
            score,
            confidence,
            candidates,
            explanation,
            evidence_for: Vec::new(),
            evidence_against: Vec::new(),
            tied: false,
        }
    }

    fn because(mut self, evidence_for: Vec<String>, evidence_against: Vec<String>) -> Self {
        self.evidence_for = evidence_for;
        self.evidence_against = evidence_against;
        self
    }

    /// An email the name overruled still names a candidate: the email's
    /// owner is among the candidates (the runner-up of a name link), and a
    /// user the name does not link is ambiguous, for a person to decide.
    pub fn keep_email_owner(mut self, emp: u32, why: &str) -> Self {
        if self.status != MatchStatus::Matched {
            self.status = MatchStatus::Ambiguous;
        }
        if !self.candidates.iter().any(|c| c.0 == emp) {
            self.candidates.push((emp, 0.0, why.to_string()));
        }
        self
    }

    /// The employee an email (as it is or station-free) claims.
    pub fn email_claim(&self) -> Option<u32> {
        (self.status == MatchStatus::Matched && matches!(self.level(), 1 | 2))
            .then_some(self.emp)
            .flatten()
    }

    /// An email claim whose user has the exact name of `other`, named
    /// `who`: said, and `other` kept among the candidates.
    pub fn also_named(mut self, other: u32, who: &str) -> Self {
        let why = format!("the name is {who}'s exactly: a shared or handed-down login?");
        self.explanation = format!("{}; but {why}", self.explanation);
        self.evidence_against.push(why.clone());
        self.candidates.push((other, 0.0, why));
        self
    }

    pub fn tied(&self) -> bool {
        self.tied
    }

    /// The employee, when this is a claim on evidence strong enough to
    /// learn from: a manual mapping, an email, or a name at least 0.99
    /// likely (no tie broken by a role, no part of a name).
    pub fn strong_link(&self) -> Option<u32> {
        let strong = self.level() <= 2 || self.confidence >= STRONG_NAME;
        (self.status == MatchStatus::Matched && strong)
            .then_some(self.emp)
            .flatten()
    }

    /// Rank of the evidence: lower is stronger.
    fn level(&self) -> u8 {
        match self.by {
            Some(MatchedBy::Manual) => 0,
            Some(MatchedBy::Email) => 1,
            Some(MatchedBy::EmailSuffix) => 2,
            _ => 3,
        }
    }
}

fn with_notes(mut text: String, notes: &[String]) -> String {
    if !notes.is_empty() {
        text.push_str(" (");
        text.push_str(&notes.join("; "));
        text.push(')');
    }
    text
}

pub(crate) fn describe(engine: &Engine, i: u32) -> String {
    let e = &engine.employees[i as usize];
    let inactive = if e.is_active { "" } else { " (inactive)" };
    format!("employee {} \"{}\"{inactive}", e.id, e.full_name)
}

fn name_reason(engine: &Engine, s: &Scored) -> String {
    let mut text = if s.form == 0 {
        s.detail.to_string()
    } else {
        format!("previous name \"{}\": {}", engine.name_of(s), s.detail)
    };
    if s.from_mailbox {
        text.push_str(", as spelled by the personal mailbox");
    }
    text
}

/// A name candidate as evidence: how the name fits and its score.
fn name_fit(engine: &Engine, s: &Scored) -> String {
    format!(
        "name fits {}: {} (score {:.3})",
        describe(engine, s.emp),
        name_reason(engine, s),
        s.score
    )
}

fn matched_by(s: &Scored) -> MatchedBy {
    match (s.detail.is_exact(), s.form) {
        (false, _) => MatchedBy::FuzzyName,
        (true, 0) => MatchedBy::Name,
        (true, _) => MatchedBy::PreviousName,
    }
}

/// The email names `hits` (usually one employee). `Err` with that employee
/// and why when it names one whose names share nothing with the user's (a
/// shared or renamed login): then the name decides.
pub fn by_email(
    engine: &Engine,
    forms: &[NameForm],
    hits: &[u32],
    by: MatchedBy,
    how: String,
    notes: &[String],
) -> Result<Outcome, (u32, String)> {
    let (score, confidence) = if by == MatchedBy::Email {
        (1.0, calibration::EMAIL)
    } else {
        (0.99, calibration::EMAIL_SUFFIX)
    };
    if let [i] = hits {
        let i = *i;
        let candidates = vec![(i, score, how.clone())];
        // Two parts, or one that is another employee's given name (`Juana`
        // on ruby.jackson@): a login (`kray`, `jkim`) shares nothing with
        // its owner's name and is no reason to doubt the email.
        let named = forms.iter().any(|f| match &f.tokens[..] {
            [one] => engine.vocab.begins_a_name(one),
            tokens => tokens.len() >= 2,
        });
        if named && !engine.names_share_anything(forms, i) {
            return Err((
                i,
                format!(
                    "{how}, but the name shares nothing with {}'s: a shared or renamed login, so the name decides",
                    describe(engine, i)
                ),
            ));
        }
        let mut evidence_for = vec![how.clone()];
        let mut evidence_against = Vec::new();
        match engine.score(forms, forms.len(), i) {
            Some(s) => evidence_for.push(name_fit(engine, &s)),
            None if named => evidence_against.push(format!(
                "the name shares only a part with {}'s",
                describe(engine, i)
            )),
            None => {}
        }
        let text = format!("{how}: {}", describe(engine, i));
        return Ok(Outcome::claim(
            i,
            by,
            score,
            confidence,
            candidates,
            with_notes(text, notes),
        )
        .because(evidence_for, evidence_against));
    }
    // Several employees share the email: only the name can tell them apart.
    let settings = engine.settings;
    let mut scored: Vec<(u32, f64)> = hits
        .iter()
        .map(|&i| {
            (
                i,
                engine.score(forms, forms.len(), i).map_or(0.0, |s| s.score),
            )
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let candidates = scored
        .iter()
        .map(|&(i, s)| {
            (
                i,
                s,
                format!(
                    "{how}, shared by {} employees; name score {s:.3}",
                    hits.len()
                ),
            )
        })
        .collect();
    let (best, best_score) = scored[0];
    let shared = format!("{} employees share the email", hits.len());
    if calibration::name(best_score) + EPS >= settings.accept_threshold
        && best_score - scored[1].1 + EPS >= settings.margin
    {
        let text = format!(
            "{how}, shared by {} employees; the name singles out {}",
            hits.len(),
            describe(engine, best)
        );
        return Ok(Outcome::claim(
            best,
            by,
            score,
            confidence,
            candidates,
            with_notes(text, notes),
        )
        .because(
            vec![
                how,
                format!("the name singles out {}", describe(engine, best)),
            ],
            vec![shared],
        ));
    }
    let text = format!(
        "{how}, but {} employees share it and the name does not single one out",
        hits.len()
    );
    Ok(Outcome::not_linked(
        MatchStatus::Ambiguous,
        best_score,
        calibration::name(best_score) / hits.len() as f64,
        candidates,
        with_notes(text, notes),
    )
    .because(
        vec![how],
        vec![shared, "the name does not single one out".into()],
    ))
}

/// Decide on names alone: `scored` holds the candidates at or above the
/// floor, best first.
pub fn by_name(
    engine: &Engine,
    n: &NameCase,
    scored: &[Scored],
    user_hints: &[&'static str],
    roles: Option<&RoleModel>,
) -> Outcome {
    let settings = engine.settings;
    let (u, forms, notes, complete) = (&n.user, &n.forms, &n.notes, n.complete);
    let shown = u.name.as_deref().unwrap_or("").trim();
    let mut against = n.against.clone();
    if forms.is_empty() {
        against.push("no usable name".into());
        return Outcome::not_linked(
            MatchStatus::Unmatched,
            0.0,
            0.0,
            Vec::new(),
            with_notes("no usable name".into(), notes),
        )
        .because(Vec::new(), against);
    }
    let candidates: Vec<(u32, f64, String)> = scored
        .iter()
        .take(settings.max_candidates.max(1))
        .map(|s| (s.emp, s.score, name_reason(engine, s)))
        .collect();
    if !complete {
        let text = format!(
            "name \"{shown}\" is shared by more than {} employees; not decided by name",
            settings.max_block
        );
        against.push(text.clone());
        return Outcome::not_linked(
            MatchStatus::Ambiguous,
            0.0,
            0.0,
            candidates,
            with_notes(text, notes),
        )
        .because(Vec::new(), against);
    }
    let Some(best) = scored.first() else {
        let mut text = format!("no employee's name is close to \"{shown}\"");
        against.push(text.clone());
        // An employee whose mailbox spells the name (a maiden or preferred
        // name HR does not have) is for on-call to review, never a link.
        let spelled = engine.mailbox_spells(&forms[..n.display]);
        let candidates: Vec<(u32, f64, String)> = spelled
            .iter()
            .take(settings.max_candidates.max(1))
            .map(|&i| {
                let reason = format!(
                    "the employee's mailbox {} spells the name: a former or preferred name?",
                    engine.employees[i as usize].email
                );
                (i, 0.0, reason)
            })
            .collect();
        if !candidates.is_empty() {
            let who: Vec<String> = candidates.iter().map(|c| describe(engine, c.0)).collect();
            text.push_str(&format!(
                "; the mailbox of {} spells it: a candidate to review, never a link",
                who.join(", ")
            ));
        }
        return Outcome::not_linked(
            MatchStatus::Unmatched,
            0.0,
            0.0,
            candidates,
            with_notes(text, notes),
        )
        .because(Vec::new(), against);
    };
    // An initial and the surname of one employee alone, no other name
    // close (`J. Kowalczyk`): part of a name that fits one employee, as
    // `Cody G.` does, so as likely (right 110 times in 112 on the holdout
    // and FEBRL-style corpora).
    let d = &best.detail;
    // The user's initial, not HR's (`D. Kowalczyk` in HR is no evidence
    // for Dariusz).
    let user_initial = || {
        forms[..n.display]
            .iter()
            .any(|f| f.tokens.iter().any(|t| t.len() == 1))
    };
    let hr_initial = || {
        engine.prepared[best.emp as usize]
            .forms
            .iter()
            .any(|(f, _)| f.tokens.first().is_some_and(|t| t.len() == 1))
    };
    // Alone among every employee it fits at all, below the candidates'
    // floor too (`L. Cruz` fits Luis Cruz Martínez as well as Luis Cruz).
    let no_rival = || {
        n.candidates
            .iter()
            .all(|&i| i == best.emp || engine.score(forms, n.display, i).is_none())
    };
    let initial_alone = scored.len() == 1
        && !best.from_mailbox
        && d.given == Agree::Initial
        && d.family == Agree::Exact
        && d.middle == Middle::Same
        && !(d.swapped || d.by_middle_name || d.partial_surname || d.compact)
        && user_initial()
        && !hr_initial()
        && no_rival();
    let best_p = if initial_alone {
        calibration::PARTIAL_NAME
    } else {
        calibration::name(best.score)
    };
    // The best always, and those within the margin of it (none at 0).
    let contenders: Vec<&Scored> = std::iter::once(best)
        .chain(
            scored[1..]
                .iter()
                .take_while(|s| best.score - s.score + EPS < settings.margin),
        )
        .collect();
    if best_p + EPS < settings.accept_threshold {
        // Candidates within the margin share the chance, as namesakes do.
        let shared = match contenders.len() {
            1 => String::new(),
            k => format!(" (shared by the {k} candidates within the margin)"),
        };
        let text = format!(
            "best name candidate {} scores {:.3} ({}), a {:.3} chance of being right{shared}, below the threshold {:.2}",
            describe(engine, best.emp),
            best.score,
            name_reason(engine, best),
            best_p,
            settings.accept_threshold
        );
        against.push(format!(
            "a {best_p:.3} chance of being right{shared}, below the threshold {:.2}",
            settings.accept_threshold
        ));
        return Outcome::not_linked(
            MatchStatus::Ambiguous,
            best.score,
            best_p / contenders.len() as f64,
            candidates,
            with_notes(text, notes),
        )
        .because(vec![name_fit(engine, best)], against);
    }
    let mut chosen = (contenders.len() == 1).then_some(best);
    // A surname the user wrote that the best has and every other contender
    // lacks (`Luis Cruz Martínez` beside Luis Cruz): the others would need
    // it added, the best only nothing dropped. Right 268 times in 269 on
    // the holdout (seeds 11–13) and the FEBRL-style set (seeds 1–2), with
    // and without emails. Not for a middle name: HR often lacks one a
    // person writes (the holdout's `Joan Anna Kowalski` beside Joan
    // Kowalski: 5 wrong in 114).
    let by_surname = chosen.is_none()
        && !best.from_mailbox
        && best.detail.covers_user()
        && contenders[1..]
            .iter()
            .all(|s| s.detail.lacks_written_surname)
        && calibration::name(best.score).min(calibration::TIE_BROKEN) + EPS
            >= settings.accept_threshold;
    if by_surname {
        chosen = Some(best);
    }
    // A company mailbox that is no employee's rules out the namesakes who
    // have another one there, as it rules out a lone candidate (below).
    // The one left must have changed names (and the mailbox with them): a
    // namesake merely on another domain explains nothing.
    let mut by_mailbox = None;
    if let (None, Some(mailbox)) = (chosen, &n.company_mailbox) {
        let (ruled_out, left): (Vec<&Scored>, Vec<&Scored>) = contenders
            .iter()
            .partition(|s| has_other_mailbox(engine, n, mailbox, s.emp));
        // A previous name that is the current one again is no change (the
        // engine's spellings: 0 the current name, i + 1 previous name i).
        let renamed = |s: &Scored| {
            let forms = &engine.prepared[s.emp as usize].forms;
            let first = |k: usize| forms.iter().find(|(_, n)| *n == k).map(|(f, _)| &f.tokens);
            let e = &engine.employees[s.emp as usize];
            (1..=e.previous_names.len()).any(|k| first(k) != first(0))
        };
        if let [one] = left[..] {
            if renamed(one)
                && calibration::name(one.score).min(calibration::TIE_BROKEN) + EPS
                    >= settings.accept_threshold
            {
                chosen = Some(one);
                let theirs: Vec<String> = ruled_out
                    .iter()
                    .map(|s| engine.employees[s.emp as usize].email.to_string())
                    .collect();
                by_mailbox = Some(format!(
                    "the user's mailbox {mailbox} is no namesake's: those within the margin have {}",
                    theirs.join(", ")
                ));
            }
        }
    }
    let role = u.user_role.as_deref().unwrap_or("").trim();
    let mut learned = None;
    if let (None, Some(model)) = (chosen, roles) {
        let attrs = role_attrs(engine, contenders.iter().map(|s| s.emp));
        if let Some((i, posterior)) = roles::point(model, role, &attrs) {
            let one = contenders[i];
            let p = calibration::name(one.score).min(calibration::TIE_BROKEN);
            if posterior + EPS >= roles::DECISIVE && p + EPS >= settings.accept_threshold {
                chosen = Some(one);
                learned = Some((
                    posterior,
                    role_counts(
                        engine,
                        model,
                        role,
                        one.emp,
                        contenders.iter().map(|s| s.emp),
                    ),
                ));
            }
        }
    }
    // The department/role hint last, and only where the learned roles
    // bear it out (see `roles::HINT_BORNE_OUT`): a station's name is not
    // always its people's department.
    let mut via_hint = None;
    if let (None, Some(model)) = (chosen, roles) {
        let agree = |s: &Scored| hint_agrees(user_hints, &engine.prepared[s.emp as usize].hints);
        let agreeing: Vec<usize> = (0..contenders.len())
            .filter(|&i| agree(contenders[i]) == Some(true))
            .collect();
        let others_disagree = contenders
            .iter()
            .filter(|s| agree(s) == Some(false))
            .count()
            == contenders.len() - 1;
        if let ([i], true) = (&agreeing[..], others_disagree) {
            let one = contenders[*i];
            let p = calibration::name(one.score).min(calibration::ROLE_HINT);
            let attrs = role_attrs(engine, contenders.iter().map(|s| s.emp));
            let borne_out = roles::posterior(model, role, &attrs, *i)
                .filter(|&post| post + EPS >= roles::HINT_BORNE_OUT);
            if let (Some(post), true) = (borne_out, p + EPS >= settings.accept_threshold) {
                chosen = Some(one);
                via_hint = Some(post);
            }
        }
    }
    let Some(s) = chosen else {
        // What the role said, so on-call sees why it did not decide.
        let role_said = match roles {
            Some(model) if !role.is_empty() => format!(
                "; the PodFactory role \"{role}\" does not single one out ({})",
                role_counts(
                    engine,
                    model,
                    role,
                    best.emp,
                    contenders.iter().map(|s| s.emp)
                )
            ),
            _ if !user_hints.is_empty() => "; the role hint does not single one out".into(),
            _ => String::new(),
        };
        let text = format!(
            "{} candidates within the margin {:.2} of the best ({:.3}) for \"{shown}\"{role_said}",
            contenders.len(),
            settings.margin,
            best.score,
        );
        against.push(format!(
            "{} candidates within the margin {:.2} of each other{role_said}",
            contenders.len(),
            settings.margin,
        ));
        let mut tied = Outcome::not_linked(
            MatchStatus::Ambiguous,
            best.score,
            best_p / contenders.len() as f64,
            candidates,
            with_notes(text, notes),
        )
        .because(vec![name_fit(engine, best)], against);
        tied.tied = true;
        return tied;
    };
    // `initial_alone` only ever chooses the best.
    let p = if initial_alone {
        best_p
    } else {
        calibration::name(s.score)
    };
    let mut evidence_for = vec![name_fit(engine, s)];
    // Not linked after all: the candidates within the margin share the chance.
    let blocked = |text: String, mut against: Vec<String>| {
        against.push(text.clone());
        Outcome::not_linked(
            MatchStatus::Ambiguous,
            s.score,
            p / contenders.len() as f64,
            candidates.clone(),
            with_notes(text, notes),
        )
        .because(vec![name_fit(engine, s)], against)
    };
    if let Some(mailbox) = &n.company_mailbox {
        let e = &engine.employees[s.emp as usize];
        if has_other_mailbox(engine, n, mailbox, s.emp) {
            return blocked(
                format!(
                    "name \"{shown}\" matches {} ({}), but the user's mailbox {mailbox} is not the employee's {}",
                    describe(engine, s.emp),
                    name_reason(engine, s),
                    e.email
                ),
                against,
            );
        }
    }
    if let Some(other) = mailbox_spells_another(engine, n, s, scored) {
        return blocked(
            format!(
                "name \"{shown}\" matches {} ({}), but the personal mailbox spells the name of {}: not linked",
                describe(engine, s.emp),
                name_reason(engine, s),
                describe(engine, other),
            ),
            against,
        );
    }
    if let Some(mailbox) = &n.foreign_mailbox {
        return blocked(
            format!(
                "name \"{shown}\" matches {} ({}), but the user's mailbox {mailbox} is at another organisation: not linked",
                describe(engine, s.emp),
                name_reason(engine, s),
            ),
            against,
        );
    }
    let mut text = format!(
        "name \"{shown}\" matches {} ({}; score {:.3})",
        describe(engine, s.emp),
        name_reason(engine, s),
        s.score
    );
    let mut confidence = p;
    let others = match contenders.len() - 1 {
        1 => "1 namesake".to_string(),
        k => format!("{k} namesakes"),
    };
    if by_surname {
        let lack = if contenders.len() == 2 {
            "lacks"
        } else {
            "lack"
        };
        let why = format!("{others} within the margin {lack} a surname the user wrote");
        text.push_str(&format!("; {why}"));
        evidence_for.push(format!("{why}, which this one has"));
        against.push(format!(
            "{others} within the margin, told apart by that surname alone"
        ));
        confidence = confidence.min(calibration::TIE_BROKEN);
    } else if let Some(why) = by_mailbox {
        text.push_str(&format!("; {why}"));
        evidence_for.push(why);
        confidence = confidence.min(calibration::TIE_BROKEN);
        against.push(format!(
            "{others} within the margin, told apart by their mailboxes"
        ));
    } else if let Some((posterior, counts)) = learned {
        text.push_str(&format!(
            "; {others} within the margin, told apart by the PodFactory role \"{role}\" ({counts}; {posterior:.4} for this one by those counts alone)",
        ));
        evidence_for.push(format!(
            "the PodFactory role \"{role}\" points to this one: {counts}"
        ));
        against.push(format!(
            "{others} within the margin, told apart by the PodFactory role alone"
        ));
        confidence = confidence.min(calibration::TIE_BROKEN);
    } else if let Some(post) = via_hint {
        text.push_str(&format!(
            "; {others} within the margin, only this one's department/role agrees with \"{role}\" (the linked users' roles make this one {post:.2} likely)",
        ));
        evidence_for.push(format!(
            "only this one's department/role agrees with the role \"{role}\", as the linked users' roles bear out ({post:.2})"
        ));
        against.push(format!(
            "{others} within the margin, told apart by the role hint alone"
        ));
        confidence = confidence.min(calibration::ROLE_HINT);
    } else if initial_alone {
        text.push_str("; the only employee with that initial and surname");
        against.push("only the initial of the given name".into());
    } else if let Some(r) = scored.get(contenders.len()) {
        text.push_str(&format!(
            "; runner-up {} at {:.3}",
            describe(engine, r.emp),
            r.score
        ));
    }
    Outcome::claim(
        s.emp,
        matched_by(s),
        s.score,
        confidence,
        candidates,
        with_notes(text, notes),
    )
    .because(evidence_for, against)
}

/// Decide on part of a name (see `Engine::partial_name`): a given name
/// and initial is linked only when it fits one employee alone, at the
/// probability measured for such links ([`calibration::PARTIAL_NAME`]),
/// which `accept_threshold` may refuse; a name alone never is.
/// The claim is the weakest there is: any other user's claim on the
/// employee outranks it in the one-to-one step.
pub fn by_partial_name(
    engine: &Engine,
    n: &NameCase,
    fit: &PartialFit,
    roles: Option<&RoleModel>,
) -> Outcome {
    // The employees whose whole name it is first: never cut off the list.
    let (whole, part): (Vec<u32>, Vec<u32>) = fit
        .exact
        .iter()
        .chain(&fit.rivals)
        .partition(|i| fit.whole.contains(i));
    let fits: Vec<u32> = whole.into_iter().chain(part).collect();
    let shown = n.user.name.as_deref().unwrap_or("").trim();
    let settings = engine.settings;
    let candidates: Vec<(u32, f64, String)> = fits
        .iter()
        .take(settings.max_candidates.max(1))
        .map(|&i| {
            let how = match fit.whole.contains(&i) {
                true => "the whole name",
                false => "part of the name",
            };
            (i, PARTIAL_SCORE, how.to_string())
        })
        .collect();
    // Not linked: the candidates are for a person to review.
    let review = |confidence: f64, text: String, why: String, evidence_for: Vec<String>| {
        let mut against = n.against.clone();
        against.push(why);
        Outcome::not_linked(
            MatchStatus::Ambiguous,
            PARTIAL_SCORE,
            confidence,
            candidates.clone(),
            with_notes(text, &n.notes),
        )
        .because(evidence_for, against)
    };
    let decides = !fit.alone && !fit.login;
    let role = n.user.user_role.as_deref().unwrap_or("").trim();
    // Only among the exact fits, and with no rival (a given name that only
    // sounds alike): the role then picks within a set that holds the user.
    let pointed = roles
        .filter(|_| decides && fits.len() > 1 && fit.rivals.is_empty())
        .and_then(|model| {
            let attrs = role_attrs(engine, fits.iter().copied());
            let (i, posterior) = roles::point(model, role, &attrs)?;
            (posterior + EPS >= roles::DECISIVE).then(|| {
                let counts = role_counts(engine, model, role, fits[i], fits.iter().copied());
                (fits[i], posterior, counts)
            })
        });
    let (one, told_apart) = match (&fits[..], pointed) {
        ([one], _) => (*one, None),
        (_, Some((one, posterior, counts))) => (one, Some((posterior, counts))),
        _ if !fit.whole.is_empty() => {
            let whole: Vec<String> = fit.whole.iter().map(|&i| describe(engine, i)).collect();
            let others = fits.len() - fit.whole.len();
            let why = "one name alone, no surname or initial: a candidate to review, never a link";
            let text = format!(
                "\"{shown}\" is the whole name of {}, and part of the name of {others} other employee{}; {why}",
                whole.join(" and "),
                if others == 1 { "" } else { "s" },
            );
            return review(0.0, text, why.into(), Vec::new());
        }
        _ => {
            let text = format!(
                "\"{shown}\" is only part of a name, and fits {} employees",
                fits.len()
            );
            let confidence = if decides {
                calibration::PARTIAL_NAME / fits.len() as f64
            } else {
                0.0
            };
            let mut tied = review(confidence, text.clone(), text, Vec::new());
            tied.tied = decides && fit.rivals.is_empty();
            return tied;
        }
    };
    let fit_text = if fit.login {
        format!(
            "login \"{shown}\" could be {}'s (an initial and a name written together), and no other employee's",
            describe(engine, one)
        )
    } else if let Some((posterior, counts)) = &told_apart {
        format!(
            "\"{shown}\" is part of the names of {} employees, told apart by the PodFactory role \"{role}\" ({counts}; {posterior:.4} for {} by those counts alone)",
            fits.len(),
            describe(engine, one)
        )
    } else {
        format!(
            "\"{shown}\" is part of the name of {}, and of no other employee's",
            describe(engine, one)
        )
    };
    if fit.alone || fit.login {
        // `John` fits John Doe alone in a small workforce, and a temp named
        // John just as well; `mherrera7` is as often a temp M. Herrera's
        // login as Michael Herrera's (measured: 1 in 25 logins wrong).
        let why = if fit.login {
            "a login spells no more than an initial and a name: a candidate to review, never a link"
        } else {
            "one name alone, no surname or initial: a candidate to review, never a link"
        };
        return review(
            0.0,
            format!("{fit_text}; {why}"),
            why.into(),
            vec![fit_text],
        );
    }
    if calibration::PARTIAL_NAME + EPS < settings.accept_threshold {
        let why = format!(
            "only part of a name: a {:.3} chance of being right, below the threshold {:.2}",
            calibration::PARTIAL_NAME,
            settings.accept_threshold
        );
        return review(
            calibration::PARTIAL_NAME,
            format!("{fit_text}; {why}"),
            why,
            vec![fit_text],
        );
    }
    let mut against = n.against.clone();
    against.push("only part of a name".into());
    if told_apart.is_some() {
        against.push(format!(
            "{} other employees fit it, told apart by the PodFactory role alone",
            fits.len() - 1
        ));
    }
    Outcome::claim(
        one,
        MatchedBy::FuzzyName,
        PARTIAL_SCORE,
        // Also when told apart by the role: below TIE_BROKEN already.
        calibration::PARTIAL_NAME,
        candidates,
        with_notes(fit_text.clone(), &n.notes),
    )
    .because(vec![fit_text], against)
}

/// The score of a partial name's fit: below every whole name's, so that a
/// user with the whole name wins the employee by the margin.
const PARTIAL_SCORE: f64 = 0.5;

/// Another candidate the personal mailbox's name fits when it does not fit
/// the chosen one: the display name and the mailbox disagree on who this is.
fn mailbox_spells_another(
    engine: &Engine,
    n: &NameCase,
    chosen: &Scored,
    scored: &[Scored],
) -> Option<u32> {
    let separated = &n.forms[n.display..];
    if (separated.is_empty() && n.mailbox_together.is_empty()) || n.display == 0 {
        return None;
    }
    let fits = |emp: u32| {
        [separated, &n.mailbox_together[..]].iter().any(|forms| {
            engine.score(forms, 0, emp).is_some_and(|m| {
                calibration::name(m.score) + EPS >= engine.settings.accept_threshold
            })
        })
    };
    if fits(chosen.emp) {
        return None;
    }
    scored
        .iter()
        .map(|c| c.emp)
        .find(|&e| e != chosen.emp && fits(e))
}

/// A company mailbox one slip away from the employee's (no digits involved:
/// `john.smith2` is how a second John Smith's mailbox is told apart), and
/// not the user's own name spelled out: `mark.johnston@` for Mark
/// Johnston is his, not a slip of Mark Johnson's `mark.johnson@`.
fn mailbox_typo(engine: &Engine, n: &NameCase, mailbox: &Email, employee: &Email) -> bool {
    if let Some((given, surname)) = normalize::mailbox_name(mailbox) {
        let own = n.forms[..n.display]
            .iter()
            .any(|f| f.tokens.len() >= 2 && f.first() == given && f.last() == surname);
        if own {
            return false;
        }
    }
    let stripped = normalize::strip_station(mailbox, &engine.settings.station_suffixes);
    let local = match &stripped {
        Some((email, _)) => email.rsplit_once('@').map_or(email.as_str(), |(l, _)| l),
        None => mailbox.local_part(),
    };
    let other = employee.local_part();
    // `maria.lopez@` is no slip of `mario.lopez@`: two names, two people.
    let names = (
        normalize::mailbox_name(mailbox),
        normalize::mailbox_name(employee),
    );
    if let (Some((a, sa)), Some((b, sb))) = names {
        if sa == sb && super::fuzzy::gendered_pair(&a, &b) {
            return false;
        }
    }
    let digits = |s: &str| s.bytes().any(|b| b.is_ascii_digit());
    !digits(local) && !digits(other) && strsim::osa_distance(local, other) <= 1
}

/// Whether employee `i` has a mailbox on the company `mailbox`'s domain
/// other than it (not one typo away) and no previous name to have had it
/// under: the mailbox is someone else's.
fn has_other_mailbox(engine: &Engine, n: &NameCase, mailbox: &Email, i: u32) -> bool {
    let e = &engine.employees[i as usize];
    e.email.domain() == mailbox.domain()
        && e.previous_names.is_empty()
        && !mailbox_typo(engine, n, mailbox, e.email)
}

/// Each employee's (role code, department), as [`roles::point`] reads them.
fn role_attrs<'e>(
    engine: &Engine<'e, '_>,
    emps: impl Iterator<Item = u32>,
) -> Vec<(&'e str, &'e str)> {
    emps.map(|i| {
        let e = &engine.employees[i as usize];
        (e.role_code, e.department)
    })
    .collect()
}

/// How often linked users have `role` for the chosen namesake's role code
/// and department and for each other's: `12 of 14 with role code "LEAD"
/// in "Printing", 0 of 310 with "OP" in "Printing"`.
fn role_counts(
    engine: &Engine,
    model: &RoleModel,
    role: &str,
    chosen: u32,
    all: impl Iterator<Item = u32>,
) -> String {
    let attrs = |i: u32| {
        let e = &engine.employees[i as usize];
        (e.role_code.trim(), e.department.trim())
    };
    let mut seen = vec![attrs(chosen)];
    for i in all {
        if !seen.contains(&attrs(i)) {
            seen.push(attrs(i));
        }
    }
    if model.linked() == 0 {
        return "no user is linked on strong evidence yet to show what it means here".into();
    }
    let parts: Vec<String> = seen
        .iter()
        .map(|(code, department)| {
            let (with_role, all) = model.counts(role, code, department);
            let like = match (code.is_empty(), department.is_empty()) {
                (true, true) => "with neither role code nor department".to_string(),
                (true, false) => format!("in {department:?}"),
                (false, true) => format!("with role code {code:?}"),
                (false, false) => format!("with role code {code:?} in {department:?}"),
            };
            format!("{with_role} of {all} {like}")
        })
        .collect();
    format!(
        "of the {} users linked on strong evidence, {}",
        model.linked(),
        parts.join(", ")
    )
}

/// Some(true) when the user's role and the employee's department or role
/// code name the same station; None when either says nothing usable.
fn hint_agrees(user: &[&str], employee: &[&str]) -> Option<bool> {
    if user.is_empty() || employee.is_empty() {
        return None;
    }
    Some(user.iter().any(|h| employee.contains(h)))
}

/// The claimants whose evidence is email (the same or station-free), when
/// there are several and no two give the same email: one person's several
/// PodFactory logins (`jdoe@…` and `jdoe.shp@…`). The same email twice
/// is one login entered twice or shared, and decides nothing.
fn several_mailboxes<'a>(
    outcomes: &[Outcome],
    users: &[PodFactoryUser],
    claimants: impl Iterator<Item = &'a usize>,
) -> Option<Vec<usize>> {
    let by_email: Vec<usize> = claimants
        .copied()
        .filter(|&u| matches!(outcomes[u].level(), 1 | 2))
        .collect();
    let mut emails: Vec<String> = by_email
        .iter()
        .map(|&u| {
            users[u]
                .email
                .as_deref()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    emails.sort_unstable();
    emails.dedup();
    (by_email.len() > 1 && emails.len() == by_email.len()).then_some(by_email)
}

/// Whether the user's email is a personal mailbox whose local part is
/// `handle`, case aside.
fn same_personal_handle(user: &PodFactoryUser, handle: &str) -> bool {
    let Some(Ok(email)) = user.email.as_deref().map(|e| Email::parse(e.trim())) else {
        return false;
    };
    normalize::is_personal_domain(email.domain()) && email.local_part().eq_ignore_ascii_case(handle)
}

/// Make the claims one-to-one and produce the results, in input order.
pub fn one_to_one(
    mut outcomes: Vec<Outcome>,
    employees: &[MatchEmployee],
    users: &[PodFactoryUser],
    margin: f64,
) -> Vec<MatchResult> {
    let mut claims: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    for (u, o) in outcomes.iter().enumerate() {
        if let (MatchStatus::Matched, Some(e)) = (o.status, o.emp) {
            claims.entry(e).or_default().push(u);
        }
    }
    // Each employee's claimants are settled independently, so the map's
    // order does not matter.
    // (user, employee, why, how many share the chance)
    let mut losers: Vec<(usize, u32, String, usize)> = Vec::new();
    for (emp, mut claimants) in claims {
        if claimants.len() == 1 {
            continue;
        }
        let strongest = claimants
            .iter()
            .map(|&u| outcomes[u].level())
            .min()
            .unwrap_or(3);
        let (top, weaker): (Vec<usize>, Vec<usize>) = claimants
            .drain(..)
            .partition(|&u| outcomes[u].level() == strongest);
        let mut keep: Vec<usize> = match strongest {
            _ if top.len() == 1 => top.clone(),
            // Several manual mappings to one employee are an admin's decision.
            0 => top.clone(),
            3 => {
                let mut by_score = top.clone();
                by_score.sort_by(|&a, &b| {
                    outcomes[b]
                        .score
                        .total_cmp(&outcomes[a].score)
                        .then(a.cmp(&b))
                });
                let lead = outcomes[by_score[0]].score - outcomes[by_score[1]].score;
                if lead + EPS >= margin {
                    vec![by_score[0]]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        };
        // Email evidence from several accounts (`jdoe@…` and `jdoe.shp@…`):
        // each one's email is the employee's, so all are linked.
        if matches!(strongest, 1 | 2) {
            if let Some(all) = several_mailboxes(&outcomes, users, top.iter().chain(&weaker)) {
                keep = all;
            }
            // A name claim from a personal mailbox of the same name as the
            // employee's (`vsuarez@hotmail.com` beside `vsuarez@…`), when an
            // email already links the employee: the person's own second
            // login (right 13 times in 13 on the holdout, seeds 11–13; none
            // wrong on the FEBRL-style set).
            if !keep.is_empty() {
                let own = employees[emp as usize].email.local_part();
                let mut second: Vec<usize> = weaker
                    .iter()
                    .copied()
                    .filter(|&u| outcomes[u].level() == 3 && same_personal_handle(&users[u], own))
                    .collect();
                // Several such mailboxes (`jgarcia@gmail.com` and
                // `jgarcia@yahoo.com`): a common handle, not one person.
                if second.len() > 1 {
                    second.clear();
                }
                for &u in &second {
                    let why = format!(
                        "a second login: the personal mailbox has the employee's own handle \"{own}\", and PodFactory user \"{}\" is linked by email",
                        users[keep[0]].id
                    );
                    let o = &mut outcomes[u];
                    o.explanation = format!("{}; {why}", o.explanation);
                    o.evidence_for.push(why);
                }
                keep.extend(second);
            }
        }
        let holder = keep.first().copied();
        let equals = top.clone();
        for u in top.into_iter().chain(weaker) {
            if keep.contains(&u) {
                continue;
            }
            let why = match holder {
                Some(h) => format!(
                    "{} is linked to PodFactory user \"{}\" by {}",
                    employees[emp as usize].id,
                    users[h].id,
                    outcomes[h].by.map_or("", |b| b.as_str())
                ),
                None => {
                    let mut others: Vec<String> = equals
                        .iter()
                        .filter(|&&o| o != u)
                        .map(|&o| format!("\"{}\"", users[o].id))
                        .collect();
                    others.sort();
                    format!(
                        "{} is claimed as strongly by PodFactory user {}",
                        employees[emp as usize].id,
                        others.join(", ")
                    )
                }
            };
            // Claims as strong share the chance; a weaker one keeps its own.
            let share = if holder.is_none() && equals.contains(&u) {
                equals.len()
            } else {
                1
            };
            losers.push((u, emp, why, share));
        }
    }
    for (u, emp, why, share) in losers {
        let o = &mut outcomes[u];
        o.status = MatchStatus::Ambiguous;
        o.confidence /= share as f64;
        o.emp = None;
        o.by = None;
        o.explanation = format!("{}; but employee {why}: not linked", o.explanation);
        o.evidence_against.push(format!("employee {why}"));
        if !o.candidates.iter().any(|c| c.0 == emp) {
            o.candidates
                .insert(0, (emp, o.score, "claimed by another user".into()));
        }
    }
    outcomes
        .into_iter()
        .zip(users)
        .map(|(o, u)| {
            let candidates: Vec<Candidate> = o
                .candidates
                .into_iter()
                .map(|(i, score, reason)| Candidate {
                    employee_id: employees[i as usize].id,
                    score,
                    reason,
                })
                .collect();
            // The best candidate other than the link (or than the best, for
            // a user left unlinked).
            let top = o
                .emp
                .map(|i| employees[i as usize].id)
                .or(candidates.first().map(|c| c.employee_id));
            let runner_up = candidates
                .iter()
                .find(|c| Some(c.employee_id) != top)
                .cloned();
            MatchResult {
                podfactory_id: u.id.clone(),
                status: o.status,
                employee_id: o.emp.map(|i| employees[i as usize].id),
                matched_by: o.by,
                confidence: if o.status == MatchStatus::Unmatched {
                    0.0
                } else {
                    o.confidence
                },
                candidates,
                explanation: o.explanation,
                evidence_for: o.evidence_for,
                evidence_against: o.evidence_against,
                runner_up,
            }
        })
        .collect()
}
