//! Fault-free runs with constant one-way latency d reproduce the textbook costs of
//! docs/textbook-costs.md exactly: basic Paxos sends 4(N-1) messages per decision (Prepare, Promise,
//! Accept, Accepted) plus N-1 `Learn`s to the other learners, and the proposer decides 4d
//! after the request reaches it, so the client sees 4d + 2d.

use std::collections::BTreeMap;
use std::path::Path;

use sim::RunOptions;
use sim::{run, scenario};

/// One client, one proposal, `nodes` servers, constant latency `d_ms`, and a timeout well
/// above a round's 4d so that no retry starts a duel.
fn single_decision(nodes: u32, d_ms: u32) -> reports::Summary {
    let timeout_ms = 20 * d_ms;
    let text = format!(
        r#"
        protocol = "paxos"
        nodes = {nodes}
        duration_ms = 100
        timeout_ms = {timeout_ms}
        expect = "ok"
        [workload]
        clients = 1
        operations = 1
        [network]
        latency = {{ distribution = "constant", ms = {d_ms} }}
        "#
    );
    let scenario = scenario::parse(Path::new("textbook.toml"), &text).expect("valid scenario");
    run::run(&scenario, RunOptions { seed: 1, detailed: false }).summary
}

#[test]
fn basic_paxos_sends_4_times_n_minus_1_messages_per_decision_plus_n_minus_1_learns() {
    for nodes in [3_u64, 5, 7] {
        let summary = single_decision(nodes as u32, 10);
        let per_peer = nodes - 1;
        let expected: BTreeMap<String, u64> = [
            ("Prepare", per_peer),
            ("Promise", per_peer),
            ("Accept", per_peer),
            ("Accepted", per_peer),
            ("Learn", per_peer),
            ("Request", 1),
            ("Reply", 1),
        ]
        .into_iter()
        .map(|(kind, count)| (kind.to_string(), count))
        .collect();
        assert_eq!(summary.figures.messages.by_type, expected, "{nodes} nodes");
        assert_eq!(summary.figures.messages.total, 5 * per_peer + 2);
        assert_eq!(summary.verdict, "ok");
    }
}

#[test]
fn basic_paxos_decides_4d_after_the_request_so_the_client_sees_6d() {
    for d_ms in [1, 7, 25] {
        let summary = single_decision(5, d_ms);
        assert_eq!(summary.figures.operations.ok, 1);
        assert_eq!(summary.figures.latency_ms.expect("ok operations").max, 6.0 * d_ms as f64);
    }
}
