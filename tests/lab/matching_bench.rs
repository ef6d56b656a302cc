//! Matcher timings, printed not asserted (a busy machine would flake):
//! `cargo test --release -p rosterd-lab --test lab matching_bench:: -- --ignored --nocapture`.

#[test]
#[ignore]
fn matching_bench_prints_figures() {
    for (employees, users) in [(6_000, 5_000), (100_000, 100_000)] {
        println!("{}", rosterd_lab::match_bench::bench(employees, users, 7));
    }
}
