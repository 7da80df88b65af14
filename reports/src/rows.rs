//! Row schemas of the per-run CSV tables: the client history, the messages and the node and
//! fault events. Times are virtual milliseconds.

use serde::{Deserialize, Serialize};

/// One client operation (`history.csv`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: u64,
    pub from: u32,
    pub to: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    pub sent_ms: f64,
    pub delivered_ms: Option<f64>,
    /// `delivered`, `lost`, `blocked`, `receiver-crashed` or `in-flight`.
    pub fate: String,
    pub duplicate: bool,
}

/// One node or fault event (`events.csv`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub time_ms: f64,
    /// Empty for events of the whole network.
    pub node: Option<u32>,
    pub event: String,
}
