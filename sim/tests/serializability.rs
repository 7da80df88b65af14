//! The serializability check of the commit protocols' transactions, both ways on whole
//! runs: it passes every correct 2PC and 3PC scenario, and with the online atomicity checker
//! turned off (`[checks] online = false`) it alone finds 2PC `unilateral-abort`, whose
//! participant that aborts alone leaves a commit torn: a reader sees some of a committed
//! transaction's appends and not the others.

use std::path::Path;

use sim::run;
use sim::scenario::{self, Verdict};
use sim::RunOptions;

fn bundled(name: &str) -> scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(name);
    scenario::load(&path).expect("bundled scenario loads")
}

fn bundled_family(family: &str) -> Vec<scenario::Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(family);
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("the folder").map(|e| e.expect("an entry").path()).collect();
    paths.sort();
    paths.iter().map(|path| scenario::load(path).expect("loads")).collect()
}

#[test]
fn every_correct_commit_scenario_is_serializable_on_its_first_seeds() {
    for scenario in bundled_family("twopc").into_iter().chain(bundled_family("threepc")) {
        // 3PC under a partition is the correct protocol outside its fault model: it breaks AC1.
        if scenario.variant != "correct" || scenario.expect != Verdict::Ok {
            continue;
        }
        for seed in 1..=10 {
            let result = run::run(&scenario, RunOptions { seed, detailed: false });
            let check = result.summary.checks.get("serializability").map(String::as_str);
            assert_eq!(check, Some("serializable"), "{} seed {seed}: {:?}", scenario.name, result.summary.violations);
        }
    }
}

#[test]
fn without_the_online_checker_serializability_alone_finds_unilateral_abort() {
    let mut scenario = bundled("twopc/unilateral-abort.toml");
    // Reads on every key, so that a torn commit is seen.
    scenario.workload.params.insert("read".to_string(), toml::Value::Float(1.0));
    scenario.checks.online = false;
    let found = (1..=40).find_map(|seed| {
        let result = run::run(&scenario, RunOptions { seed, detailed: false });
        (result.verdict == Verdict::Violation).then(|| (seed, result.summary.violations[0].clone()))
    });
    let (seed, violation) = found.expect("some seed of 40 shows a non-serializable history");
    assert_eq!(violation.invariant, "serializability", "seed {seed}: {violation:?}");
    assert!(violation.detail.contains("transaction"), "seed {seed}: {}", violation.detail);
    // The correct protocol under the same schedule and workload is serializable.
    scenario.variant = "correct".to_string();
    for seed in 1..=40 {
        let result = run::run(&scenario, RunOptions { seed, detailed: false });
        assert_ne!(result.verdict, Verdict::Violation, "seed {seed}: {:?}", result.summary.violations);
    }
}
