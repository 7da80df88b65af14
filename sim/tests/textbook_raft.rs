//! Raft's costs, pinned. Fault-free runs with constant one-way latency d reproduce the
//! textbook cost of docs/textbook-costs.md exactly: each entry costs 2(N-1) messages, an
//! `AppendEntries` to and an `AppendEntriesResponse` from each of the N-1 followers, the
//! commit index riding on the next message (Raft paper, sections 5.3 and 5.4.2). Empty
//! `AppendEntries` are heartbeats and are counted apart. A new leader's term starts with a
//! no-op entry (thesis 6.4), so the entries are the client's writes plus one.
//!
//! And the space a server's durable log takes stays bounded however long a run lasts:
//! under a minute of the bundled nemesis, snapshots (thesis chapter 5) keep every server's
//! durable log within twice `snapshot_every` records and entries, where without them it
//! grows with the run.

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

/// The bundled nemesis scenario, stretched to a minute of virtual time, with `settings`.
fn nemesis_minute(settings: &str) -> sim::scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft/nemesis.toml");
    let text = std::fs::read_to_string(&path).expect("the bundled nemesis scenario");
    let stretched =
        text.replace("duration_ms = 3500", "duration_ms = 60000").replace("end_ms = 2500", "end_ms = 59000");
    assert_ne!(stretched, text, "nemesis.toml sets the duration and the nemesis end this test stretches");
    scenario::parse(&path, &format!("{stretched}\n[settings]\n{settings}\n")).expect("valid scenario")
}

/// The most records and the most log entries any server's durable log held.
fn durable_log(summary: &reports::Summary) -> (f64, f64) {
    let figure = |name: &str| summary.figures.protocol_figures.get(name).copied().expect(name);
    (figure("durable_log_records_max"), figure("durable_log_entries_max"))
}

#[test]
fn snapshots_keep_every_durable_log_bounded_through_a_minute_of_nemesis() {
    let snapshot_every = 64.0;
    let bounded = nemesis_minute("snapshot_every = 64");
    for seed in 1..=3 {
        let summary = run::run(&bounded, RunOptions { seed, detailed: false }).summary;
        assert_eq!(summary.verdict, "ok", "seed {seed}");
        let (records, entries) = durable_log(&summary);
        assert!(records <= 2.0 * snapshot_every, "seed {seed}: {records} records");
        assert!(entries <= 2.0 * snapshot_every, "seed {seed}: {entries} entries");
        for server in 0..5 {
            let name = format!("durable_log_entries_max_server_{server}");
            let most = summary.figures.protocol_figures.get(name.as_str()).copied().expect("a figure per server");
            assert!(most > 0.0 && most <= entries, "seed {seed}: server {server} held at most {most} entries");
        }
        assert!(summary.figures.operations.ok > 2000, "seed {seed}: a minute of work");
    }
    let unbounded = run::run(&nemesis_minute("snapshot_every = 1000000"), RunOptions { seed: 1, detailed: false });
    let (records, entries) = durable_log(&unbounded.summary);
    assert!(
        records > 1000.0 && entries > 1000.0,
        "without snapshots the log grows: {records} records, {entries} entries"
    );
}
