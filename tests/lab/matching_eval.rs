//! The quality bars on fixed-seed synthetic workforces (deterministic,
//! so allowed in tests; no timing here).

use rosterd_core::matching::MatchSettings;
use rosterd_lab::corpus::generate;
use rosterd_lab::eval::evaluate;

#[test]
fn bars_hold_with_emails_and_on_names_alone() {
    let settings = MatchSettings::default();
    for seed in [42, 7] {
        let with = evaluate(&generate(6000, seed, true), &settings);
        println!(
            "seed {seed} with emails: new {} | old {}",
            with.new, with.old
        );
        assert!(
            with.new.precision >= 0.998,
            "seed {seed} with emails: {}",
            with.new
        );
        assert!(
            with.new.recall >= 0.95,
            "seed {seed} with emails: {}",
            with.new
        );

        let names = evaluate(&generate(6000, seed, false), &settings);
        println!(
            "seed {seed} names only: new {} | old {}",
            names.new, names.old
        );
        assert!(
            names.new.precision >= 0.99,
            "seed {seed} names only: {}",
            names.new
        );
        assert!(
            names.new.recall >= 0.80,
            "seed {seed} names only: {}",
            names.new
        );

        // The point of the rewrite: far fewer wrong links than the old rule.
        assert!(
            names.new.wrong * 10 < names.old.wrong,
            "{} vs {}",
            names.new,
            names.old
        );
    }
}

/// `confidence` is a probability: in every band with enough links to tell,
/// the share of right links is what the links claimed, within 3 points (the
/// table is pooled over three corpus families, this is one of them).
#[test]
fn confidence_is_calibrated() {
    let settings = MatchSettings::default();
    for (seed, emails) in [(42, true), (42, false), (7, false)] {
        let e = evaluate(&generate(6000, seed, emails), &settings);
        for b in e.reliability.iter().filter(|b| b.links >= 100) {
            println!("seed {seed} emails {emails}: {b}");
            assert!(
                (b.precision() - b.mean_confidence).abs() <= 0.03,
                "seed {seed} emails {emails}: {b}"
            );
        }
    }
}
