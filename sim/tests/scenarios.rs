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
