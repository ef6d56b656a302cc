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
