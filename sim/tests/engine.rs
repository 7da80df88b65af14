//! The native engine's world model, checked through a probe protocol that reports what it
//! sees: pauses hold a node's inputs until it resumes, crashes drop unsynced writes when
//! told to, restarts rebuild from durable records, clocks are skewed per node, isolation
//! does not cut clients off, and a panicking node becomes an `error` verdict instead of a crash.

use std::path::Path;

mod support;

use protocols::node::Time;
use protocols::operation::{Operation, Outcome, Reply};
use sim::engine::{self, RunOptions, RunRecord};
use sim::run;
use sim::scenario::{self, Verdict};
use support::Probe;

const BASE: &str = r#"protocol = "paxos"
nodes = 2
duration_ms = 1000
expect = "ok"
[network]
latency = { distribution = "constant", ms = 1 }
"#;

fn probe_run(extra: &str, seed: u64) -> RunRecord {
    let scenario = scenario::parse(Path::new("probe.toml"), &format!("{BASE}{extra}")).expect("valid scenario");
    engine::run::<Probe>(&scenario, RunOptions { seed, detailed: true })
}

fn ms(time: Time) -> f64 {
    time as f64 / 1e6
}

#[test]
fn a_paused_node_handles_its_messages_when_it_resumes() {
    let record = probe_run(
        "[workload]\nrate = 100\n[[faults]]\nat_ms = 200\nkind = \"pause\"\nnode = 0\nduration_ms = 300\n",
        1,
    );
    let held: Vec<_> =
        record.recorder.history.iter().filter(|op| op.invoked > 200_000_000 && op.invoked < 498_000_000).collect();
    assert!(!held.is_empty());
    for op in held {
        let completed = op.completed.expect("completes after the pause");
        assert!(completed >= 500_000_000, "invoked at {} ms, completed at {} ms", ms(op.invoked), ms(completed));
    }
    let before =
        record.recorder.history.iter().find(|op| op.invoked < 190_000_000).expect("operations before the pause");
    assert_eq!(before.completed.map(|c| c - before.invoked), Some(2_000_000), "2d when nothing is paused");
}

/// Runs with a crash at 500 ms and returns how many records server 0 recovered with, and
/// how many pings it received before the crash and how many of those were synced.
fn crash_run(lose_unsynced: bool, seed: u64) -> (usize, usize, usize) {
    let extra = format!(
        "[workload]\nrate = 200\n[[faults]]\nat_ms = 500\nkind = \"crash\"\nnode = 0\nlose_unsynced = {lose_unsynced}\nduration_ms = 10\n"
    );
    let record = probe_run(&extra, seed);
    let recovered = record.recorder.events.iter().find_map(|event| {
        // The probe's only observation: the number of records it recovered with.
        (event.node == Some(0)).then(|| event.what.parse().ok()).flatten()
    });
    let pings: Vec<u64> = record
        .recorder
        .history
        .iter()
        .filter(|op| op.invoked + 1_000_000 < 500_000_000)
        .map(|op| match op.operation {
            Operation::Propose { value } => value,
            _ => unreachable!("the probe only proposes"),
        })
        .collect();
    let last_synced = pings.iter().rposition(|value| value % 2 == 0).map_or(0, |index| index + 1);
    (recovered.expect("the restarted server reports its records"), pings.len(), last_synced)
}

#[test]
fn a_crash_keeps_every_write_unless_told_to_lose_the_unsynced_ones() {
    let (recovered, written, _) = crash_run(false, 1);
    assert_eq!(recovered, written, "without lose_unsynced every written record survives");
    let mut torn = 0;
    for seed in 1..=20 {
        let (recovered, written, synced) = crash_run(true, seed);
        assert!(recovered >= synced && recovered <= written, "kept {recovered}, synced {synced}, written {written}");
        torn += usize::from(recovered < written);
    }
    assert!(torn > 0, "losing unsynced writes must sometimes lose some");
}

#[test]
fn each_node_reads_its_own_skewed_clock() {
    let record = probe_run("[workload]\noperations = 1\n[[clocks]]\nnode = 0\noffset_ms = 50\n", 1);
    let op = &record.recorder.history[0];
    let Some(Outcome::Ok(Reply::Value(Some(server_clock)))) = op.outcome else { panic!("{op:?}") };
    assert_eq!(server_clock, op.invoked + 1_000_000 + 50_000_000, "true arrival time plus the 50 ms offset");
}

#[test]
fn clients_still_reach_an_isolated_server() {
    let record =
        probe_run("[workload]\nrate = 50\n[[faults]]\nat_ms = 0\nkind = \"isolate\"\nnode = 0\nduration_ms = 900\n", 1);
    assert!(record.recorder.history.iter().all(|op| op.outcome.is_some()), "clients are never cut off");
}

#[test]
fn a_panicking_node_becomes_an_error_verdict_with_its_seed() {
    let text = format!("{BASE}[workload]\noperations = 20\nrate = 1000\n").replace("nodes = 2", "nodes = 3");
    let scenario = scenario::parse(Path::new("probe.toml"), &text).expect("valid scenario");
    let result = run::run_with(&scenario, RunOptions { seed: 5, detailed: false }, engine::run::<Probe>);
    assert_eq!(result.verdict, Verdict::Error);
    assert_eq!(result.summary.seed, 5);
    assert!(result.summary.violations[0].detail.contains("the probe panics on 13"), "{:?}", result.summary.violations);
}

#[test]
fn the_event_budget_ends_a_run_with_an_error() {
    // 40 operations pass the load-time check (at most max_events offered) and take more
    // than 50 events to run.
    let text = format!("{BASE}[workload]\nrate = 1000\noperations = 40\n[limits]\nmax_events = 50\n");
    let scenario = scenario::parse(Path::new("probe.toml"), &text).expect("valid scenario");
    let result = run::run_with(&scenario, RunOptions { seed: 1, detailed: false }, engine::run::<Probe>);
    assert_eq!(result.verdict, Verdict::Error);
    assert!(result.summary.violations[0].detail.contains("event budget of 50 events exceeded"));
}
