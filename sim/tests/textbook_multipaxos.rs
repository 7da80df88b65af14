//! Fault-free runs of Multi-Paxos with constant one-way latency d reproduce the textbook
//! cost of docs/textbook-costs.md exactly: with a stable leader, phase 1 runs once, and each command
//! costs 2(N-1) messages (an `Accept` to and an `Accepted` from each of the N-1 other
//! acceptors), decisions riding on the next `Accept` or `Heartbeat`, which are counted
//! apart (Paxos Made Simple, section 3). The leader decides 2d after a request reaches it,
//! so a client that talks to the leader sees 2d + 2d.

use std::path::Path;

use sim::RunOptions;
use sim::{run, scenario};

const OPERATIONS: u64 = 20;

/// One client, `OPERATIONS` operations of `kind`, `nodes` servers, constant latency `d_ms`,
/// and a heartbeat interval (timeout / 3) well above a round trip, so that no `Accept` is
/// ever re-sent. Phase 1 runs only at the start (where a duel may add a `Nack` or two).
fn steady_state(variant: &str, kind: &str, nodes: u32, d_ms: u32) -> reports::Summary {
    let timeout_ms = 20 * d_ms;
    let duration_ms = 2000 + 200 * d_ms;
    let text = format!(
        r#"
        protocol = "multipaxos"
        variant = "{variant}"
        nodes = {nodes}
        duration_ms = {duration_ms}
        timeout_ms = {timeout_ms}
        expect = "ok"
        [workload]
        clients = 1
        rate = 20
        operations = {OPERATIONS}
        mix = {{ {kind} = 1.0 }}
        [network]
        latency = {{ distribution = "constant", ms = {d_ms} }}
        "#
    );
    let scenario = scenario::parse(Path::new("textbook.toml"), &text).expect("valid scenario");
    run::run(&scenario, RunOptions { seed: 1, detailed: false }).summary
}

fn count(summary: &reports::Summary, kind: &str) -> u64 {
    summary.figures.messages.by_type.get(kind).copied().unwrap_or(0)
}

#[test]
fn multi_paxos_write_costs_2_times_n_minus_1_messages_in_steady_state() {
    for nodes in [3_u64, 5, 7] {
        let summary = steady_state("correct", "write", nodes as u32, 5);
        assert_eq!(summary.verdict, "ok");
        assert_eq!(summary.figures.operations.ok, OPERATIONS, "{nodes} nodes: every write succeeded");
        let per_write = (count(&summary, "Accept") + count(&summary, "Accepted")) as f64 / OPERATIONS as f64;
        assert_eq!(per_write, 2.0 * (nodes - 1) as f64, "{nodes} nodes: {:?}", summary.figures.messages.by_type);
        for kind in ["CatchUp", "Decide"] {
            assert_eq!(count(&summary, kind), 0, "{nodes} nodes: no {kind} without faults");
        }
        assert!(count(&summary, "Heartbeat") > 0, "heartbeats are counted under their own kind");
        assert_eq!(count(&summary, "Promise"), count(&summary, "Prepare") - count(&summary, "Nack"));
    }
}

#[test]
fn multi_paxos_read_goes_through_the_log_at_the_same_cost() {
    let summary = steady_state("correct", "read", 5, 5);
    assert_eq!(summary.figures.operations.ok, OPERATIONS);
    assert_eq!(count(&summary, "Accept"), 4 * OPERATIONS);
    assert_eq!(count(&summary, "Accepted"), 4 * OPERATIONS);
}

#[test]
fn local_reads_variant_answers_reads_with_no_message_between_servers() {
    let summary = steady_state("local-reads", "read", 5, 5);
    assert_eq!(summary.figures.operations.ok, OPERATIONS);
    assert_eq!(count(&summary, "Accept") + count(&summary, "Accepted"), 0);
}

#[test]
fn multi_paxos_leader_decides_2d_after_the_request_so_the_client_sees_4d() {
    for d_ms in [1, 7, 25] {
        let summary = steady_state("correct", "write", 5, d_ms);
        assert_eq!(summary.figures.operations.ok, OPERATIONS);
        assert_eq!(summary.figures.latency_ms.expect("ok operations").p50, 4.0 * d_ms as f64, "d = {d_ms} ms");
    }
}
