//! What a result's `confidence` means: the probability that the link is
//! right, read off the evidence. A name score orders candidates and sets
//! the margin between them, but it is no probability (`0.94` for a
//! nickname is right far more often than 94% of the time, `0.88` for a
//! shortened given name far less than 88%), so `accept_threshold`
//! compares against this table instead, and means what it says.
//!
//! The table was measured by `rosterd match-eval --reliability` and
//! `tests/holdout/score.py --reliability` on three corpus families (the
//! lab's synthetic workforce, the holdout, a FEBRL-style corpus; with and
//! without emails, several seeds): the observed precision of the links
//! (and of the would-be links below the threshold) in each score band,
//! averaged over the families so no one generator dominates, then made
//! monotone (pool adjacent violators). `tests/lab/matching_eval.rs`
//! fails when the synthetic corpus drifts away from it.

/// The same email as the employee's: wrong only for a shared or reused login.
pub const EMAIL: f64 = 0.9995;
/// The employee's email under a station suffix or `+tag`. Also when another
/// user has the mailbox itself (one person's second login, `jdoe.shp@…`
/// beside `jdoe@…`, see `assign`): such links were right
/// 102 times in 102 on the holdout (seeds 11–13) and the FEBRL-style set.
pub const EMAIL_SUFFIX: f64 = 0.999;
/// Namesakes told apart by the department/role hint alone: a person may
/// work at a station other than their department's (measured 0.92 to 1.0).
pub const ROLE_HINT: f64 = 0.97;
/// Namesakes told apart by evidence beyond the name: what the PodFactory
/// role says among the users already linked (see `roles`), or a company
/// mailbox that is none of the others'. Role: right 1,015 times in 1,016
/// on the holdout (seeds 11–13) and the FEBRL-style set (seeds 1–2), with
/// and without emails, and 105 of 105 on the lab's; mailbox: 29 of 29;
/// a surname the user wrote that only one namesake has: 268 of 269.
/// Below a name alone, as the tie was real (a mailbox like
/// `jane.smith2@` may yet be a new Jane Smith's).
pub const TIE_BROKEN: f64 = 0.99;

/// Part of a name (`Petra`, `Cody G.`) that fits one employee alone and no
/// whole name came close to: right in every such link on the holdout
/// (seeds 11–13, with and without emails) and the FEBRL-style set (seeds
/// 1–2): 198 of 198; an initial and a surname one employee alone has
/// (`D. Kowalczyk`): 110 of 112. Set below that, as a temp who
/// shares a rare given name with one employee is no rarer on a real floor.
pub const PARTIAL_NAME: f64 = 0.96;

/// (lowest name score, probability a link on it is right), highest first.
const NAME: [(f64, f64); 5] = [
    (0.999, 0.999),
    (0.96, 0.991),
    (0.90, 0.985),
    (0.88, 0.85),
    (0.0, 0.61),
];

/// The probability that a name link of this score is right.
pub fn name(score: f64) -> f64 {
    // Scores are products of fixed weights: allow their rounding.
    NAME.iter()
        .find(|(from, _)| score + 1e-9 >= *from)
        .map_or(0.0, |&(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_and_a_probability() {
        let mut last = 1.0;
        for (_, p) in NAME {
            assert!(p <= last && (0.0..=1.0).contains(&p));
            last = p;
        }
        assert!(name(1.0) > name(0.95) && name(0.95) > name(0.89) && name(0.89) > name(0.8));
        assert!(ROLE_HINT < name(0.95) && EMAIL > name(1.0));
        assert!(TIE_BROKEN < name(1.0));
    }
}
