//! Row schemas of the per-run CSV tables: the client history, the messages, the node and
//! fault events, and the periods during which faults were in force. Times are virtual
//! milliseconds.

use serde::{Deserialize, Serialize};

/// One client operation (`history.csv`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub process: u32,
    /// `ok`, `fail` or `info` (an operation still open at the end is `info`).
    #[serde(rename = "type")]
    pub kind: String,
    pub f: String,
    pub key: Option<u64>,
    pub value: String,
    pub result: String,
    pub invoked_ms: f64,
    pub completed_ms: Option<f64>,
    pub latency_ms: Option<f64>,
}

/// One message (`messages.csv`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: u64,
    pub from: u32,
    pub to: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    pub sent_ms: f64,
    pub delivered_ms: Option<f64>,
    /// `delivered`, `lost`, `blocked`, `receiver-crashed`, `connection-broken` or `in-flight`.
    pub fate: String,
    pub duplicate: bool,
    /// The message whose delivery its sender was handling when it sent this one (empty
    /// when it was sent on a timer, at start, or for a client request): the causal link
    /// the space-time diagram walks back along.
    #[serde(default)]
    pub cause: Option<u64>,
    /// The message's fields, for the diagram's hover text.
    #[serde(default)]
    pub payload: String,
}

/// One node or fault event (`events.csv`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub time_ms: f64,
    /// Empty for events of the whole network.
    pub node: Option<u32>,
    pub event: String,
    /// The message whose delivery the node was handling when this happened, if any.
    #[serde(default)]
    pub cause: Option<u64>,
}

/// A period during which a fault was in force (`faults.csv`), for shading plots.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultRow {
    pub start_ms: f64,
    /// Empty if the fault was still in force when the run ended.
    pub end_ms: Option<f64>,
    pub fault: String,
}

/// One seed of a sweep (`sweep.csv`), written as the sweep goes so an interrupted sweep
/// keeps its results and can resume. A row also says what determined its run (the
/// scenario's content, the engine, swarm mode, the build), so that a sweep resumes only
/// rows of the same work.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub scenario: String,
    /// The scenario file, for the replay command.
    pub path: String,
    pub seed: u64,
    /// `native` or `madsim`.
    pub engine: String,
    /// Whether the seed drew its own weather (`--swarm`).
    pub swarm: bool,
    /// A hash of the scenario as loaded (its engine aside): an edited file has another.
    pub scenario_hash: String,
    /// The faultline build that ran the seed (version and a hash of the binary).
    pub build: String,
    pub expect: String,
    pub verdict: String,
    /// The violated invariant (`liveness` when stuck, `error` for an error), if any.
    pub invariant: String,
    pub violation_ms: Option<f64>,
    pub events: u64,
    pub wall_ms: f64,
    pub trace_hash: String,
    /// The swarm weather drawn for this seed, empty outside swarm mode.
    pub weather: String,
    /// Fault kinds the scenario (or its weather) can inject, `;`-separated.
    pub faults_configured: String,
    /// Faults that fired, as `kind:count` pairs, `;`-separated.
    pub faults_fired: String,
    /// Protocol milestones reached, as `name:count` pairs, `;`-separated.
    pub milestones: String,
}
