//! Determinism: the same scenario and seed give the same run, bit for bit (same trace hash,
//! same summary, same history); different seeds give different runs.

use std::path::Path;

use sim::RunOptions;
use sim::{cli, run, scenario};

fn run_once(scenario: &scenario::Scenario, seed: u64) -> run::RunResult {
    run::run(scenario, RunOptions { seed, detailed: true })
}

#[test]
fn same_seed_twice_gives_the_same_trace_hash_and_history() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    for path in cli::scenario_files(&dir) {
        let scenario = scenario::load(&path).expect("bundled scenarios load");
        for seed in [scenario.seed, 7, 123_456_789] {
            let (first, second) = (run_once(&scenario, seed), run_once(&scenario, seed));
            assert_eq!(first.summary, second.summary, "{} seed {seed}", path.display());
            let (a, b) = (first.record.expect("no panic"), second.record.expect("no panic"));
            assert_eq!(a.history, b.history, "{} seed {seed}", path.display());
            assert_eq!(a.recorder.messages, b.recorder.messages, "{} seed {seed}", path.display());
        }
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/paxos/nemesis.toml");
    let scenario = scenario::load(&path).expect("bundled scenarios load");
    let hashes: std::collections::BTreeSet<String> =
        (1..=20).map(|seed| run::run(&scenario, RunOptions { seed, detailed: false }).summary.trace_hash).collect();
    assert_eq!(hashes.len(), 20, "20 seeds should give 20 different runs");
}

#[test]
fn detailed_recording_does_not_change_the_run() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/paxos/lossy-network.toml");
    let scenario = scenario::load(&path).expect("bundled scenarios load");
    let detailed = run::run(&scenario, RunOptions { seed: 3, detailed: true });
    let counts_only = run::run(&scenario, RunOptions { seed: 3, detailed: false });
    assert_eq!(detailed.summary, counts_only.summary);
}
