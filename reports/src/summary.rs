//! The run summary written as `summary.json`: what ran, the verdict, and the figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub protocol: String,
    pub variant: String,
    pub engine: String,
    /// Servers in the run: processes `0..servers` are servers, the rest clients.
    #[serde(default)]
    pub servers: u32,
    pub seed: u64,
    pub expect: String,
    /// `ok`, `violation`, `stuck` or `error`.
    pub verdict: String,
    pub violations: Vec<ViolationRow>,
    /// What each after-the-run checker concluded (`linearizability`: `linearizable`,
    /// `not-linearizable`, `unknown` or `skipped`).
    #[serde(default)]
    pub checks: BTreeMap<String, String>,
    #[serde(flatten)]
    pub figures: Figures,
    /// Identifies the run exactly: the same seed gives the same hash.
    pub trace_hash: String,
    /// The command that replays the run (empty if the run was not started from a file).
    #[serde(default)]
    pub replay: String,
}

/// A violated invariant, a liveness miss, or an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViolationRow {
    pub invariant: String,
    pub time_ms: f64,
    pub nodes: Vec<u32>,
    pub detail: String,
    /// The moments the checker cites: what a server observed, or when a client invoked an
    /// operation, in the order the detail gives them.
    #[serde(default)]
    pub evidence: Vec<EvidenceRow>,
}

/// One moment a violation cites.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRow {
    pub node: u32,
    pub time_ms: f64,
}

/// The measured figures of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub operations: OperationCounts,
    /// Latency of the operations that completed `ok` (none if none did).
    pub latency_ms: Option<Latency>,
    pub messages: MessageCounts,
    /// Messages the nodes sent (all types, clients' included) per operation completed `ok`
    /// (none if none did).
    pub messages_per_op: Option<f64>,
    /// Operations completed `ok` per second of virtual time.
    pub throughput_ops: f64,
    pub virtual_time_ms: f64,
    pub events: u64,
    /// For runs of transactions: outcomes, commit latency and messages per transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<TransactionFigures>,
    /// Figures only the protocol can measure (such as time blocked), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub protocol_figures: BTreeMap<String, f64>,
}

/// Transactions of a run, by outcome as the clients saw it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransactionFigures {
    pub committed: u64,
    pub aborted: u64,
    /// The client could not learn the outcome (blocked, or timed out).
    pub unknown: u64,
    /// Latency of committed transactions (none if none committed).
    pub commit_latency_ms: Option<Latency>,
    /// Messages per transaction invoked, by type.
    pub messages_per_transaction: BTreeMap<String, f64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationCounts {
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// Nearest-rank quantiles of `samples` (sorted here); none when there are none.
    pub fn of(mut samples: Vec<f64>) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let rank = |q: f64| samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
        Some(Latency { p50: rank(0.50), p95: rank(0.95), p99: rank(0.99), max: samples[samples.len() - 1] })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    pub total: u64,
    /// Lost, blocked by a partition, or addressed to a crashed node.
    pub dropped: u64,
    /// Extra copies made by the network's duplication (not in `total`).
    #[serde(default)]
    pub duplicated: u64,
    pub by_type: BTreeMap<String, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let latency = Latency::of((1..=100).rev().map(f64::from).collect());
        assert_eq!(latency, Some(Latency { p50: 50.0, p95: 95.0, p99: 99.0, max: 100.0 }));
        assert_eq!(Latency::of(vec![3.0]), Some(Latency { p50: 3.0, p95: 3.0, p99: 3.0, max: 3.0 }));
        assert_eq!(Latency::of(vec![]), None);
    }
}
