//! Fault-free runs with constant one-way latency d reproduce the voting rows of
//! docs/textbook-costs.md exactly (self-messages not counted, as the coordinator's own
//! replica answers locally):
//!
//! - ABD (multi-writer, Attiya, Bar-Noy and Dolev 1995; Lynch and Shvartsman 1997): a write
//!   and a read each cost 4(N-1) messages in two round trips (`Query`, `QueryAck`, `Update`,
//!   `UpdateAck`), 4d at the coordinator, so the client sees 6d.
//! - Quorum replication (Gifford 1979): a write costs 2(N-1) in one round trip from the
//!   key's home (`Write`, `WriteAck`), a read 2(N-1) (`Read`, `ReadAck`) plus repairs, of
//!   which a fault-free run with constant latency needs none (every replica has every write
//!   before the next operation starts); the client sees 4d.
//! - The naive majority vote decides in one round: 3(N-1) (`Propose`, `Vote`, `Decide`).
//!
//! Every operation adds its client's `Request` and `Reply`.

use std::collections::BTreeMap;
use std::path::Path;

use sim::RunOptions;
use sim::{run, scenario};

const OPERATIONS: u64 = 20;

/// One client, `OPERATIONS` operations of `mix` on one key, `nodes` servers, constant latency
/// `d_ms`, and a timeout well above an operation's time so that nothing is sent again.
fn steady_state(protocol: &str, nodes: u32, d_ms: u32, mix: &str) -> reports::Summary {
    let timeout_ms = 20 * d_ms;
    let duration_ms = 2000 + 200 * d_ms;
    let text = format!(
        r#"
        protocol = "{protocol}"
        nodes = {nodes}
        duration_ms = {duration_ms}
        timeout_ms = {timeout_ms}
        expect = "ok"
        [workload]
        clients = 1
        rate = 20
        operations = {OPERATIONS}
        mix = {{ {mix} }}
        [network]
        latency = {{ distribution = "constant", ms = {d_ms} }}
        "#
    );
    let scenario = scenario::parse(Path::new("textbook.toml"), &text).expect("valid scenario");
    let summary = run::run(&scenario, RunOptions { seed: 1, detailed: false }).summary;
    assert_eq!(summary.verdict, "ok", "{protocol} {nodes} nodes: {:?}", summary.violations);
    assert_eq!(summary.figures.operations.ok, OPERATIONS, "{protocol} {nodes} nodes: every operation succeeded");
    summary
}

fn by_type(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
    counts.iter().map(|&(kind, count)| (kind.to_string(), count)).collect()
}

#[test]
fn abd_writes_and_reads_each_cost_4_times_n_minus_1_messages() {
    for nodes in [3_u64, 5, 7] {
        for mix in ["write = 1.0", "read = 1.0"] {
            let summary = steady_state("abd", nodes as u32, 5, mix);
            let per_phase = OPERATIONS * (nodes - 1);
            let expected = by_type(&[
                ("Query", per_phase),
                ("QueryAck", per_phase),
                ("Update", per_phase),
                ("UpdateAck", per_phase),
                ("Request", OPERATIONS),
                ("Reply", OPERATIONS),
            ]);
            assert_eq!(summary.figures.messages.by_type, expected, "{nodes} nodes, {mix}");
        }
    }
}

#[test]
fn abd_coordinator_takes_4d_so_the_client_sees_6d() {
    for d_ms in [1, 5, 10] {
        for mix in ["write = 1.0", "read = 1.0"] {
            let latency = steady_state("abd", 5, d_ms, mix).figures.latency_ms.expect("ok operations");
            assert_eq!((latency.p50, latency.max), (6.0 * d_ms as f64, 6.0 * d_ms as f64), "d = {d_ms} ms, {mix}");
        }
    }
}

#[test]
fn quorum_write_costs_2_times_n_minus_1_messages_in_one_round_trip() {
    for nodes in [3_u64, 5, 7] {
        let summary = steady_state("quorum", nodes as u32, 5, "write = 1.0");
        let per_op = OPERATIONS * (nodes - 1);
        let expected =
            by_type(&[("Write", per_op), ("WriteAck", per_op), ("Request", OPERATIONS), ("Reply", OPERATIONS)]);
        assert_eq!(summary.figures.messages.by_type, expected, "{nodes} nodes");
    }
}

#[test]
fn quorum_read_costs_2_times_n_minus_1_messages_and_no_repair_without_faults() {
    for nodes in [3_u64, 5, 7] {
        let summary = steady_state("quorum", nodes as u32, 5, "read = 1.0");
        let per_op = OPERATIONS * (nodes - 1);
        let expected =
            by_type(&[("Read", per_op), ("ReadAck", per_op), ("Request", OPERATIONS), ("Reply", OPERATIONS)]);
        assert_eq!(summary.figures.messages.by_type, expected, "{nodes} nodes");
        // Mixed: every message to a replica is one read's or one write's, none a repair's.
        let summary = steady_state("quorum", nodes as u32, 5, "read = 0.5, write = 0.5");
        let count = |kind: &str| summary.figures.messages.by_type.get(kind).copied().unwrap_or(0);
        assert!(count("Read") > 0 && count("Write") > 0, "{:?}", summary.figures.messages.by_type);
        assert_eq!(count("Read") + count("Write"), OPERATIONS * (nodes - 1), "{nodes} nodes: no repairs");
        assert_eq!((count("ReadAck"), count("WriteAck")), (count("Read"), count("Write")));
    }
}

#[test]
fn quorum_operations_take_2d_at_the_coordinator_so_the_client_sees_4d() {
    for d_ms in [1, 5, 10] {
        for mix in ["write = 1.0", "read = 1.0"] {
            let latency = steady_state("quorum", 5, d_ms, mix).figures.latency_ms.expect("ok operations");
            assert_eq!((latency.p50, latency.max), (4.0 * d_ms as f64, 4.0 * d_ms as f64), "d = {d_ms} ms, {mix}");
        }
    }
}

#[test]
fn majority_vote_decides_in_one_round_of_3_times_n_minus_1_messages() {
    for nodes in [3_u64, 5, 7] {
        let summary = steady_state("majority-vote", nodes as u32, 5, "propose = 1.0");
        let per_peer = nodes - 1;
        let expected = by_type(&[
            ("Propose", per_peer),
            ("Vote", per_peer),
            ("Decide", per_peer),
            ("Request", OPERATIONS),
            ("Reply", OPERATIONS),
        ]);
        assert_eq!(summary.figures.messages.by_type, expected, "{nodes} nodes: one decision, answered ever after");
    }
}
