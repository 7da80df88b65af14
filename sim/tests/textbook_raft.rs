//! Fault-free runs of Raft with constant one-way latency d reproduce the textbook cost of
//! docs/textbook-costs.md exactly: each entry costs 2(N-1) messages, an `AppendEntries` to and an
//! `AppendEntriesResponse` from each of the N-1 followers, the commit index riding on the
//! next message (Raft paper, sections 5.3 and 5.4.2). Empty `AppendEntries` are heartbeats
//! and are counted apart. A new leader's term starts with a no-op entry (thesis 6.4), so
//! the entries are the client's writes plus one.

use std::path::Path;

use sim::RunOptions;
use sim::{run, scenario};

const WRITES: u64 = 20;

/// One client, `WRITES` writes, `nodes` servers, constant latency `d_ms`, and a timeout well
/// above a round trip so that nothing is re-sent (an election may split a vote first).
fn steady_state(nodes: u32, d_ms: u32) -> reports::Summary {
    let timeout_ms = 20 * d_ms;
    let duration_ms = 2000 + 200 * d_ms;
    let text = format!(
        r#"
        protocol = "raft"
        nodes = {nodes}
        duration_ms = {duration_ms}
        timeout_ms = {timeout_ms}
        expect = "ok"
        [workload]
        clients = 1
        rate = 20
        operations = {WRITES}
        mix = {{ write = 1.0 }}
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
fn raft_entry_costs_2_times_n_minus_1_messages_with_heartbeats_counted_apart() {
    for nodes in [3_u64, 5, 7] {
        let summary = steady_state(nodes as u32, 5);
        assert_eq!(summary.verdict, "ok");
        assert_eq!(summary.figures.operations.ok, WRITES, "{nodes} nodes: every write succeeded");
        let entries = WRITES + 1;
        let by_type = &summary.figures.messages.by_type;
        assert_eq!(count(&summary, "AppendEntries"), entries * (nodes - 1), "{nodes} nodes: {by_type:?}");
        assert_eq!(count(&summary, "AppendEntriesResponse"), entries * (nodes - 1), "{nodes} nodes: {by_type:?}");
        assert!(count(&summary, "Heartbeat") > 0, "heartbeats are counted under their own kind");
    }
}

#[test]
fn raft_client_sees_2d_to_the_leader_and_back_plus_2d_to_commit() {
    for d_ms in [1, 5, 10] {
        let summary = steady_state(5, d_ms);
        assert_eq!(summary.figures.latency_ms.expect("ok operations").p50, 4.0 * d_ms as f64, "d = {d_ms} ms");
    }
}
