//! Raft's checker in its two forms finds the same violations on the same seeds: the
//! incremental form (the default), which reads only what each event changed, and the full
//! form (`[settings] checks = "full"`), which re-reads every server's whole log and every
//! commit after every event. Both run every bundled flawed Raft scenario on a range of
//! seeds and on the scenario's own seed, which must violate.

use std::path::Path;

use sim::RunOptions;
use sim::{cli, run, scenario};

/// The scenario's text with `checks = "full"` in its `[settings]`.
fn full_checks(text: &str) -> String {
    match text.contains("[settings]\n") {
        true => text.replacen("[settings]\n", "[settings]\nchecks = \"full\"\n", 1),
        false => format!("{text}\n[settings]\nchecks = \"full\"\n"),
    }
}

/// What a run found: its verdict, each violation's invariant and time, and its trace.
fn found(scenario: &scenario::Scenario, seed: u64) -> (String, Vec<(String, String)>, String) {
    let summary = run::run(scenario, RunOptions { seed, detailed: false }).summary;
    let violations = summary.violations.iter().map(|row| (row.invariant.clone(), format!("{:.6}", row.time_ms)));
    (summary.verdict.clone(), violations.collect(), summary.trace_hash.clone())
}

#[test]
fn incremental_and_full_raft_checks_find_the_same_violations_on_the_same_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft");
    let mut flawed = 0;
    for path in cli::scenario_files(&dir) {
        let text = std::fs::read_to_string(&path).expect("a bundled scenario");
        let incremental = scenario::parse(&path, &text).expect("valid scenario");
        if incremental.variant == protocols::node::CORRECT {
            continue;
        }
        flawed += 1;
        let full = scenario::parse(&path, &full_checks(&text)).expect("valid scenario with full checks");
        let mut violated = 0;
        for seed in (1..=6).chain([incremental.seed]) {
            let (a, b) = (found(&incremental, seed), found(&full, seed));
            assert_eq!(a, b, "{} seed {seed}: incremental, then full", path.display());
            violated += usize::from(a.0 == "violation");
        }
        assert!(violated > 0, "{}: no seed violated, so the comparison shows nothing", path.display());
    }
    assert!(flawed >= 5, "every flawed variant has a scenario: {flawed}");
}

/// The durable-log figures counted as logs grow (the incremental form) are the figures
/// counted from every log's first record after every event (the full form), through
/// snapshots that rewrite the logs and crashes that tear them.
#[test]
fn incremental_and_full_durable_log_figures_agree_through_snapshots_and_crashes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft/nemesis.toml");
    let text = format!("{}\n[settings]\nsnapshot_every = 16\n", std::fs::read_to_string(&path).expect("nemesis"));
    let incremental = scenario::parse(&path, &text).expect("valid scenario");
    let full = scenario::parse(&path, &full_checks(&text)).expect("valid scenario with full checks");
    for seed in 1..=3 {
        let figures =
            |scenario| run::run(scenario, RunOptions { seed, detailed: false }).summary.figures.protocol_figures;
        let (a, b) = (figures(&incremental), figures(&full));
        let durable = |figures: &std::collections::BTreeMap<String, f64>| -> Vec<(String, f64)> {
            let durable = figures.iter().filter(|(name, _)| name.starts_with("durable_log"));
            durable.map(|(name, value)| (name.to_string(), *value)).collect()
        };
        assert_eq!(durable(&a), durable(&b), "seed {seed}: incremental, then full");
        assert_eq!(durable(&a).len(), 7, "seed {seed}: the two totals and a figure per server");
        let most = a.get("durable_log_entries_max").copied().unwrap_or(0.0);
        assert!(most > 0.0 && most <= 32.0, "seed {seed}: snapshots bound the logs, yet they hold entries: {most}");
    }
}
