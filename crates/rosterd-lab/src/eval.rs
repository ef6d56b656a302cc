//! Precision, recall and F1 of a matcher against a corpus's ground truth,
//! and the old sync's name-only rule, kept for comparison.
//!
//! A link is *right* when it names the user's true employee; *wrong* when it
//! names anyone else (including linking a user who has no employee). Recall
//! counts right links among users who do have an employee; ambiguous and
//! unmatched users are neither right nor wrong, they are missed.

use crate::corpus::{self, Corpus};
use rosterd_core::matching::{
    match_users, EmployeeRecord, MatchEmployee, MatchResult, MatchSettings, MatchStatus,
    PodFactoryUser,
};
use rosterd_core::model::EmployeeId;
use rustc_hash::FxHashMap;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    pub right: usize,
    pub wrong: usize,
    /// Users with an employee that were not linked to it.
    pub missed: usize,
    /// Users with an employee in the truth.
    pub linkable: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "precision {:.4}  recall {:.4}  F1 {:.4}  ({} right, {} wrong, {} missed of {})",
            self.precision,
            self.recall,
            self.f1,
            self.right,
            self.wrong,
            self.missed,
            self.linkable
        )
    }
}

/// Score predicted links (one per user) against the truth.
pub fn score(predicted: &[Option<EmployeeId>], truth: &[Option<EmployeeId>]) -> Scores {
    let mut s = Scores::default();
    for (p, t) in predicted.iter().zip(truth) {
        if t.is_some() {
            s.linkable += 1;
        }
        match p {
            Some(_) if p == t => s.right += 1,
            Some(_) => s.wrong += 1,
            None => {}
        }
    }
    s.missed = s.linkable - s.right;
    let links = s.right + s.wrong;
    s.precision = if links == 0 {
        1.0
    } else {
        s.right as f64 / links as f64
    };
    s.recall = if s.linkable == 0 {
        1.0
    } else {
        s.right as f64 / s.linkable as f64
    };
    s.f1 = if s.precision + s.recall == 0.0 {
        0.0
    } else {
        2.0 * s.precision * s.recall / (s.precision + s.recall)
    };
    s
}

/// The old PodFactory sync's rule, faithfully: lowercase the PodFactory
/// name and take the *first* employee (in table order) whose full name
/// equals it; else whose `first.last`, else `first_last` equals it; else
/// the first employee with the same first name; else with the same last
/// name. No emails, no one-to-one. (Indexed with first-occurrence maps, which
/// gives exactly the scan's answers.)
pub fn old_rule(employees: &[MatchEmployee], users: &[PodFactoryUser]) -> Vec<Option<EmployeeId>> {
    let mut full = FxHashMap::default();
    let mut dotted = FxHashMap::default();
    let mut underscored = FxHashMap::default();
    let mut by_first = FxHashMap::default();
    let mut by_last = FxHashMap::default();
    for e in employees {
        let name = e.full_name.trim().to_lowercase();
        let words: Vec<&str> = name.split_whitespace().collect();
        let (first, last) = (
            words.first().copied().unwrap_or(""),
            words.last().copied().unwrap_or(""),
        );
        full.entry(name.clone()).or_insert(e.id);
        dotted.entry(format!("{first}.{last}")).or_insert(e.id);
        underscored.entry(format!("{first}_{last}")).or_insert(e.id);
        by_first.entry(first.to_string()).or_insert(e.id);
        by_last.entry(last.to_string()).or_insert(e.id);
    }
    users
        .iter()
        .map(|u| {
            let name = u.name.as_deref()?.trim().to_lowercase();
            if name.is_empty() {
                return None;
            }
            let first = name.split_whitespace().next().unwrap_or("");
            let last = name.split_whitespace().last().unwrap_or("");
            full.get(&name)
                .or_else(|| dotted.get(&name))
                .or_else(|| underscored.get(&name))
                .or_else(|| by_first.get(first))
                .or_else(|| by_last.get(last))
                .copied()
        })
        .collect()
}

/// Links whose confidence falls in `[from, to)`: how many, how many right,
/// and the confidence they claimed on average.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReliabilityBin {
    pub from: f64,
    pub to: f64,
    pub links: usize,
    pub right: usize,
    pub mean_confidence: f64,
}

impl ReliabilityBin {
    pub fn precision(&self) -> f64 {
        if self.links == 0 {
            0.0
        } else {
            self.right as f64 / self.links as f64
        }
    }
}

impl fmt::Display for ReliabilityBin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{:.3}, {:.3})  {:>6} links  confidence {:.4}  observed precision {:.4}",
            self.from,
            self.to,
            self.links,
            self.mean_confidence,
            self.precision()
        )
    }
}

/// Bin edges of the reliability table: the calibration table's levels
/// fall in separate bins.
const RELIABILITY_EDGES: [f64; 8] = [0.0, 0.9, 0.95, 0.98, 0.99, 0.995, 0.9992, 1.0001];

/// The reliability table: links binned by their confidence against the
/// share of them that is right (a calibrated matcher's bins agree).
pub fn reliability(results: &[MatchResult], truth: &[Option<EmployeeId>]) -> Vec<ReliabilityBin> {
    let mut bins: Vec<ReliabilityBin> = RELIABILITY_EDGES
        .windows(2)
        .map(|w| ReliabilityBin {
            from: w[0],
            to: w[1],
            ..Default::default()
        })
        .collect();
    for (r, t) in results.iter().zip(truth) {
        let Some(id) = r.employee_id else { continue };
        let Some(b) = bins
            .iter_mut()
            .find(|b| r.confidence >= b.from && r.confidence < b.to)
        else {
            continue;
        };
        b.links += 1;
        b.right += usize::from(*t == Some(id));
        b.mean_confidence += r.confidence;
    }
    for b in &mut bins {
        if b.links > 0 {
            b.mean_confidence /= b.links as f64;
        }
    }
    bins.retain(|b| b.links > 0);
    bins
}

/// The new matcher's and the old rule's scores on one corpus, the new
/// matcher's ambiguous and unmatched counts and its reliability table.
pub struct Evaluation {
    pub new: Scores,
    pub old: Scores,
    pub ambiguous: usize,
    pub unmatched: usize,
    pub reliability: Vec<ReliabilityBin>,
}

pub fn evaluate(c: &Corpus, settings: &MatchSettings) -> Evaluation {
    let view: Vec<MatchEmployee> = c.employees.iter().map(EmployeeRecord::as_match).collect();
    let results = match_users(&view, &c.users, &[], settings);
    let predicted: Vec<Option<EmployeeId>> = results.iter().map(|r| r.employee_id).collect();
    Evaluation {
        new: score(&predicted, &c.truth),
        old: score(&old_rule(&view, &c.users), &c.truth),
        ambiguous: results
            .iter()
            .filter(|r| r.status == MatchStatus::Ambiguous)
            .count(),
        unmatched: results
            .iter()
            .filter(|r| r.status == MatchStatus::Unmatched)
            .count(),
        reliability: reliability(&results, &c.truth),
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// Employees in the synthetic workforce.
    #[arg(long, default_value_t = 6000)]
    pub employees: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Only the corpus whose PodFactory users have no emails.
    #[arg(long)]
    pub names_only: bool,
    /// Also write the (with-emails) corpus as E.csv, P.csv, truth.csv here.
    #[arg(long)]
    pub write_corpus: Option<PathBuf>,
    /// Also print the reliability table: links binned by confidence against
    /// their observed precision.
    #[arg(long)]
    pub reliability: bool,
}

/// `rosterd match-eval`: the new matcher against the old rule.
pub fn eval_cli(args: EvalArgs) -> anyhow::Result<()> {
    let settings = MatchSettings::default();
    let kinds: &[(&str, bool)] = if args.names_only {
        &[("names only", false)]
    } else {
        &[("with emails", true), ("names only", false)]
    };
    println!(
        "synthetic workforce: {} employees, seed {}",
        args.employees, args.seed
    );
    for &(label, emails) in kinds {
        let c = corpus::generate(args.employees, args.seed, emails);
        let e = evaluate(&c, &settings);
        println!(
            "{label}: {} PodFactory users, {} with an employee",
            c.users.len(),
            e.new.linkable
        );
        println!(
            "  new matcher  {}; {} ambiguous, {} unmatched",
            e.new, e.ambiguous, e.unmatched
        );
        println!("  old rule     {}", e.old);
        if args.reliability {
            println!("  reliability (links by confidence):");
            for b in &e.reliability {
                println!("    {b}");
            }
        }
    }
    if let Some(dir) = &args.write_corpus {
        corpus::write_corpus(dir, args.employees, args.seed)?;
        println!("corpus written to {}", dir.display());
    }
    Ok(())
}
