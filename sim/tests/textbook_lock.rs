//! Fault-free runs of the lock services with constant one-way latency d reproduce the
//! textbook costs of docs/textbook-costs.md exactly. One client runs whole cycles (acquire,
//! writes, release) with a lease far longer than a cycle, so nothing is renewed, refused or
//! re-sent.
//!
//! The lease lock (Chubby's lock with sequencers, Burrows 2006): `Acquire` and `Granted`,
//! 2 messages and 2d to acquire; `Release` and `Released`, 2 and 2d to release. Redlock over
//! M instances (the Redis documentation): M `Lock` and M `Locked` per attempt, and the
//! attempt ends when the majority's answers arrive, all at 2d; M `Unlock` to release, which
//! are not acknowledged, so a release completes at once. A write to the resource costs
//! `Write` and `WriteAccepted` and takes its work plus 2d, in both. The consensus lock over
//! N Raft servers: every lock operation is one log entry, so an acquire or a release is a
//! `ClientRequest` to the leader, N-1 `AppendEntries` and N-1 answers, and a `ClientReply`:
//! 2N messages and 4d (the leader's heartbeats come on top, in their own message types).

use std::collections::BTreeMap;
use std::path::Path;

use sim::run::{self, RunResult};
use sim::scenario;
use sim::RunOptions;

const CYCLES: u64 = 5;
const WRITES: u64 = 2;
const HOLD_MS: u64 = 4;

/// `CYCLES` whole cycles of one client on `protocol` with `nodes` servers, latency `d_ms`.
fn cycles(protocol: &str, nodes: u32, d_ms: u32) -> RunResult {
    let operations = CYCLES * (WRITES + 2);
    let text = format!(
        r#"
        protocol = "{protocol}"
        nodes = {nodes}
        duration_ms = 2000
        timeout_ms = {timeout_ms}
        expect = "ok"
        [settings]
        lease_ms = 10000
        [workload]
        clients = 1
        rate = 50
        operations = {operations}
        writes = {WRITES}
        hold_ms = {HOLD_MS}
        [network]
        latency = {{ distribution = "constant", ms = {d_ms} }}
        "#,
        timeout_ms = 20 * d_ms,
    );
    let scenario = scenario::parse(Path::new("textbook.toml"), &text).expect("valid scenario");
    let result = run::run(&scenario, RunOptions { seed: 1, detailed: true });
    assert_eq!(result.summary.verdict, "ok", "{:?}", result.summary.violations);
    assert_eq!(result.summary.figures.operations.ok, operations, "every operation succeeded");
    result
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(kind, count)| (kind.to_string(), count)).collect()
}

/// The latencies of the ok operations of `kind`, in milliseconds, deduplicated.
fn latencies_ms(result: &RunResult, kind: &str) -> Vec<f64> {
    let history = &result.record.as_ref().expect("the run finished").history;
    let mut latencies: Vec<f64> = history
        .iter()
        .filter(|row| row.f == kind && row.kind == "ok")
        .filter_map(|row| row.latency_ms)
        .map(|ms| (ms * 1e6).round() / 1e6)
        .collect();
    latencies.dedup();
    latencies
}

#[test]
fn lease_lock_costs_2_messages_and_2d_to_acquire_and_2_and_2d_to_release() {
    for d_ms in [1, 5] {
        let result = cycles("lease-lock", 2, d_ms);
        let expected = counts(&[
            ("Acquire", CYCLES),
            ("Granted", CYCLES),
            ("Write", CYCLES * WRITES),
            ("WriteAccepted", CYCLES * WRITES),
            ("Release", CYCLES),
            ("Released", CYCLES),
        ]);
        assert_eq!(result.summary.figures.messages.by_type, expected, "d = {d_ms} ms");
        let d = f64::from(d_ms);
        assert_eq!(latencies_ms(&result, "acquire"), [2.0 * d], "d = {d_ms} ms");
        assert_eq!(latencies_ms(&result, "release"), [2.0 * d], "d = {d_ms} ms");
        assert_eq!(latencies_ms(&result, "write"), [HOLD_MS as f64 / WRITES as f64 + 2.0 * d], "work, then 2d");
    }
}

#[test]
fn redlock_costs_m_requests_and_m_replies_per_attempt_and_m_unlocks_to_release() {
    for instances in [3_u64, 5, 7] {
        let result = cycles("redlock", instances as u32 + 1, 2);
        let expected = counts(&[
            ("Lock", instances * CYCLES),
            ("Locked", instances * CYCLES),
            ("Write", CYCLES * WRITES),
            ("WriteAccepted", CYCLES * WRITES),
            ("Unlock", instances * CYCLES),
        ]);
        assert_eq!(result.summary.figures.messages.by_type, expected, "M = {instances}");
        assert_eq!(latencies_ms(&result, "acquire"), [4.0], "M = {instances}: 2d");
        assert_eq!(latencies_ms(&result, "release"), [0.0], "M = {instances}: not acknowledged");
    }
}

#[test]
fn consensus_lock_costs_2n_messages_and_4d_per_lock_operation() {
    for raft_servers in [3_u64, 5] {
        let result = cycles("consensus-lock", raft_servers as u32 + 1, 2);
        let by_type = &result.summary.figures.messages.by_type;
        // Lock operations: CYCLES acquires and CYCLES releases, each one log entry; the
        // leader's no-op is one more entry.
        let operations = 2 * CYCLES;
        let requests = by_type["ClientRequest"];
        assert_eq!(by_type["ClientReply"], requests, "N = {raft_servers}: one answer per request");
        // The first request may find no leader yet and then a follower: two answers that say so.
        assert!(requests >= operations && requests <= operations + 2, "N = {raft_servers}: {by_type:?}");
        assert_eq!(by_type["AppendEntries"], (raft_servers - 1) * (operations + 1), "N = {raft_servers}");
        assert_eq!(by_type["AppendEntriesResponse"], (raft_servers - 1) * (operations + 1), "N = {raft_servers}");
        // After the first acquire (which may wait for the election), 4d each.
        let acquires = latencies_ms(&result, "acquire");
        assert_eq!(acquires.last(), Some(&8.0), "N = {raft_servers}: {acquires:?}");
        assert!(acquires.len() <= 2, "N = {raft_servers}: {acquires:?}");
        assert_eq!(latencies_ms(&result, "release"), [8.0], "N = {raft_servers}: 4d");
    }
}
