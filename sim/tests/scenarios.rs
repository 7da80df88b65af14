//! The data-driven test: every bundled scenario file runs with its own seed and must reach
//! the verdict its `expect` names.

use std::path::{Path, PathBuf};

use sim::RunOptions;
use sim::{cli, run, scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Runs one scenario file and checks its verdict against its `expect`.
fn check(path: &Path) -> Result<(), String> {
    let scenario = scenario::load(path).map_err(|error| error.to_string())?;
    let result = run::run(&scenario, RunOptions { seed: scenario.seed, detailed: false });
    if result.as_expected(&scenario) {
        return Ok(());
    }
    Err(format!(
        "{}: verdict {} but expected {} ({:?}); replay: {}",
        path.display(),
        result.verdict,
        scenario.expect,
        result.summary.violations,
        sim::replay::Replay::new(path, scenario.seed, scenario.engine, false).command()
    ))
}

#[test]
fn every_bundled_scenario_reaches_its_expected_verdict() {
    let files = cli::scenario_files(&scenarios_dir());
    assert!(files.len() >= 7, "the bundled scenarios are missing: {files:?}");
    let failures: Vec<String> = files.iter().filter_map(|path| check(path).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_flawed_variant_has_a_scenario_that_finds_its_bug() {
    let files = cli::scenario_files(&scenarios_dir());
    let scenarios: Vec<_> = files.iter().filter_map(|path| scenario::load(path).ok()).collect();
    for entry in sim::catalog::all() {
        for variant in entry.variants.iter().skip(1) {
            let found = scenarios.iter().any(|s| {
                s.protocol == entry.name && s.variant == variant.name && s.expect == scenario::Verdict::Violation
            });
            assert!(found, "no scenario expects {} variant {} to be caught", entry.name, variant.name);
        }
    }
}

/// The scenario at `path` with its `replicas = ` setting replaced by `replicas`.
fn with_replicas(path: &Path, replicas: u32) -> scenario::Scenario {
    let text = std::fs::read_to_string(path).expect("a bundled scenario");
    let line = text.lines().find(|line| line.starts_with("replicas = ")).expect("the scenario sets replicas");
    let text = text.replacen(&format!("\n{line}\n"), &format!("\nreplicas = {replicas}\n"), 1);
    scenario::parse(path, &text).expect("it loads")
}

fn lost_writes(scenario: &scenario::Scenario, seed: u64) -> bool {
    let result = run::run(scenario, RunOptions { seed, detailed: false });
    result.summary.violations.iter().any(|violation| violation.invariant == "lost-writes")
}

#[test]
fn a_leaver_removed_before_it_hands_off_loses_writes_with_one_copy_and_none_with_two() {
    let path = scenarios_dir().join("hashing/replicated-leave-cut-off.toml");
    let (one, two) = (with_replicas(&path, 1), with_replicas(&path, 2));
    for seed in 1..=5 {
        assert!(lost_writes(&one, seed), "seed {seed}: one copy per key should lose server 2's writes");
        let result = run::run(&two, RunOptions { seed, detailed: false });
        assert!(result.as_expected(&two), "seed {seed}: two copies: {:?}", result.summary.violations);
    }
}

#[test]
fn replicated_churn_keeps_with_three_copies_what_one_copy_loses_on_the_same_seeds() {
    let path = scenarios_dir().join("hashing/replicated-churn.toml");
    let (one, three) = (with_replicas(&path, 1), with_replicas(&path, 3));
    let losing: Vec<u64> = (1..=40).filter(|seed| lost_writes(&one, *seed)).collect();
    assert!(!losing.is_empty(), "with one copy per key some seed of 40 should lose writes");
    for seed in losing {
        let result = run::run(&three, RunOptions { seed, detailed: false });
        assert!(result.as_expected(&three), "seed {seed}: three copies: {:?}", result.summary.violations);
    }
}
