//! A run as a Chrome trace-event file (`trace.json`), which Perfetto (ui.perfetto.dev) and
//! chrome://tracing open: one thread lane per node (servers, then clients), each client
//! operation a slice from invocation to completion, each message a short send slice on its
//! sender and a receive slice on its receiver joined by a flow arrow, dropped messages and
//! node events as instants on their lane, network events and the violation as global
//! instants, and fault periods as async slices. Timestamps are virtual microseconds.
//!
//! Format: the "Trace Event Format" document (JSON object form, phases `X`, `i`, `s`/`f`,
//! `b`/`e`, `M`). The file is capped at `MAX_MESSAGES` messages; a capped file says so in
//! its `otherData`.

use std::io;
use std::path::Path;

use serde_json::{json, Value};

use crate::run_data::RunData;
use crate::{EventRow, HistoryRow, MessageRow};

/// Messages exported at most (the first ones of the run).
pub const MAX_MESSAGES: usize = 200_000;

const PID: u32 = 1;
/// Microseconds a send or receive slice lasts, so that flow arrows bind to it.
const MARK_US: f64 = 1.0;

/// Writes the trace of `data` to `path`.
pub fn write(data: &RunData, path: &Path) -> io::Result<()> {
    let text = serde_json::to_string(&trace(data)).map_err(io::Error::other)?;
    std::fs::write(path, text)
}

/// The trace of `data` as a JSON value.
pub fn trace(data: &RunData) -> Value {
    let first_client = data.history.iter().map(|op| op.process).min().unwrap_or(u32::MAX);
    let mut events = lanes(data, first_client);
    events.extend(data.history.iter().map(|op| operation(op, data.end_ms())));
    let shown = &data.messages[..data.messages.len().min(MAX_MESSAGES)];
    events.extend(shown.iter().flat_map(message));
    events.extend(data.events.iter().map(node_event));
    events.extend(faults(data));
    events.extend(data.summary.violations.iter().map(|violation| {
        let args = json!({ "detail": violation.detail, "nodes": violation.nodes });
        instant(&format!("violation: {}", violation.invariant), None, violation.time_ms, "g", args)
    }));
    let summary = &data.summary;
    let mut other = json!({
        "scenario": summary.scenario, "seed": summary.seed, "verdict": summary.verdict, "trace_hash": summary.trace_hash,
    });
    if shown.len() < data.messages.len() {
        other["truncated"] = json!(format!("{} of {} messages exported", shown.len(), data.messages.len()));
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms", "otherData": other })
}

/// Names the process and one thread per node seen, servers sorted before clients.
fn lanes(data: &RunData, first_client: u32) -> Vec<Value> {
    let mut nodes: Vec<u32> = data.messages.iter().flat_map(|message| [message.from, message.to]).collect();
    nodes.extend(data.events.iter().filter_map(|event| event.node));
    nodes.extend(data.history.iter().map(|op| op.process));
    nodes.sort_unstable();
    nodes.dedup();
    let process = format!("{} seed {} ({})", data.summary.scenario, data.summary.seed, data.summary.verdict);
    let mut events = vec![json!({ "ph": "M", "pid": PID, "name": "process_name", "args": { "name": process } })];
    for node in nodes {
        let name = if node < first_client { format!("node {node}") } else { format!("client {node}") };
        events.push(json!({ "ph": "M", "pid": PID, "tid": node, "name": "thread_name", "args": { "name": name } }));
        events.push(
            json!({ "ph": "M", "pid": PID, "tid": node, "name": "thread_sort_index", "args": { "sort_index": node } }),
        );
    }
    events
}

fn operation(op: &HistoryRow, end_ms: f64) -> Value {
    let duration_ms = op.latency_ms.unwrap_or(end_ms - op.invoked_ms).max(0.0);
    json!({
        "ph": "X", "pid": PID, "tid": op.process, "cat": "operation",
        "name": format!("{} {}", op.f, op.kind),
        "ts": us(op.invoked_ms), "dur": us(duration_ms),
        "args": { "type": op.kind, "f": op.f, "key": op.key, "value": op.value, "result": op.result },
    })
}

/// A delivered message: send and receive slices joined by a flow; a dropped one: an instant.
fn message(message: &MessageRow) -> Vec<Value> {
    let args = json!({ "id": message.id, "from": message.from, "to": message.to, "size": message.size,
                       "fate": message.fate, "duplicate": message.duplicate });
    let Some(delivered_ms) = message.delivered_ms else {
        let name = format!("{} to {} {}", message.kind, message.to, message.fate);
        return vec![instant(&name, Some(message.from), message.sent_ms, "t", args)];
    };
    let slice = |name: String, tid: u32, ms: f64| json!({ "ph": "X", "pid": PID, "tid": tid, "cat": "message", "name": name, "ts": us(ms), "dur": MARK_US, "args": args });
    // A flow starts in the send slice and ends, bound to its enclosing slice (`bp: e`), in
    // the receive slice.
    let flow = |phase: &str, tid: u32, ms: f64| {
        let mut flow = json!({ "ph": phase, "pid": PID, "tid": tid, "cat": "message", "name": message.kind, "id": message.id, "ts": us(ms) });
        if phase == "f" {
            flow["bp"] = json!("e");
        }
        flow
    };
    vec![
        slice(format!("send {} to {}", message.kind, message.to), message.from, message.sent_ms),
        flow("s", message.from, message.sent_ms),
        slice(format!("receive {} from {}", message.kind, message.from), message.to, delivered_ms),
        flow("f", message.to, delivered_ms),
    ]
}

fn node_event(event: &EventRow) -> Value {
    let scope = if event.node.is_some() { "t" } else { "g" };
    instant(&event.event, event.node, event.time_ms, scope, json!({}))
}

/// Fault periods as async slices (each gets its own track); instants as global instants.
fn faults(data: &RunData) -> Vec<Value> {
    let mut events = Vec::new();
    for (id, span) in data.fault_spans().iter().enumerate() {
        if span.end_ms <= span.start_ms {
            events.push(instant(&span.fault, None, span.start_ms, "g", json!({})));
            continue;
        }
        for (phase, ms) in [("b", span.start_ms), ("e", span.end_ms)] {
            events.push(json!({ "ph": phase, "pid": PID, "cat": "fault", "name": span.fault, "id": id, "ts": us(ms) }));
        }
    }
    events
}

fn instant(name: &str, node: Option<u32>, ms: f64, scope: &str, args: Value) -> Value {
    let mut event = json!({ "ph": "i", "pid": PID, "s": scope, "name": name, "ts": us(ms), "args": args });
    if let Some(node) = node {
        event["tid"] = json!(node);
    }
    event
}

/// Milliseconds to the trace's microseconds, rounded to nanoseconds.
fn us(ms: f64) -> f64 {
    (ms * 1e6).round() / 1e3
}
