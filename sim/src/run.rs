//! One run of one scenario and seed: the engine, then the checkers, then the verdict and
//! the figures; and the files a run writes.
//!
//! A protocol panic (an `assert!` in a node's invariants, say) is caught here and becomes
//! an `error` verdict with its seed, so a sweep goes on.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use protocols::node::{Time, Violation, MILLISECOND};
use protocols::operation::{Operation, Outcome, Reply};
use reports::{
    EventRow, FaultRow, Figures, HistoryRow, Latency, MessageCounts, MessageRow, OperationCounts, Summary,
    TransactionFigures, ViolationRow,
};

use crate::checkers;
use crate::engine::record::{Fate, OperationRecord};
use crate::engine::{RunOptions, RunRecord};
use crate::registry;
use crate::scenario::{EngineKind, Scenario, Verdict};

/// A finished run: its verdict, summary, and (unless it panicked) its record.
#[derive(Debug)]
pub struct RunResult {
    pub verdict: Verdict,
    pub summary: Summary,
    pub record: Option<RunRecord>,
    /// The linearizability checker's report, when the history was checked.
    pub linearizability: Option<crate::linearizability::Report>,
}

impl RunResult {
    pub fn as_expected(&self, scenario: &Scenario) -> bool {
        self.verdict == scenario.expect
    }
}

/// Runs `scenario` with the seed in `options` and judges it.
pub fn run(scenario: &Scenario, options: RunOptions) -> RunResult {
    let Some(entry) = registry::find(&scenario.protocol) else {
        return failed(scenario, options, format!("unknown protocol {:?}", scenario.protocol));
    };
    let engine = match scenario.engine {
        EngineKind::Native => entry.run,
        EngineKind::Madsim => entry.run_madsim,
    };
    run_with(scenario, options, engine)
}

/// Runs `scenario` through `engine` (such as `engine::run::<P>`) and judges it.
pub fn run_with(scenario: &Scenario, options: RunOptions, engine: fn(&Scenario, RunOptions) -> RunRecord) -> RunResult {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| engine(scenario, options)));
    match outcome {
        Ok(record) => judge(scenario, options, record),
        Err(payload) => failed(scenario, options, format!("a node panicked: {}", panic_message(&payload))),
    }
}

/// The one-line command that replays a run.
pub fn replay_command(path: &Path, seed: u64) -> String {
    format!("cargo run --release -- run {} --seed {seed}", path.display())
}

/// Where a run writes its files unless told otherwise.
pub fn default_out_dir(scenario: &Scenario, seed: u64) -> PathBuf {
    Path::new("target/faultline").join(&scenario.name).join(format!("seed-{seed}"))
}

fn judge(scenario: &Scenario, options: RunOptions, record: RunRecord) -> RunResult {
    let mut violations = Vec::new();
    let mut checks = BTreeMap::new();
    let mut linearizability = None;
    let history_check = if record.error.is_some() || record.violation.is_some() {
        Ok(())
    } else {
        let checked = checkers::linearizable::check(scenario, &record.recorder.history);
        checks.insert("linearizability".to_string(), checked.conclusion);
        linearizability = checked.report;
        checked.result
    };
    let verdict = if let Some(error) = &record.error {
        violations.push(row("error", record.virtual_time, &[], error));
        Verdict::Error
    } else if let Some((time, violation)) = &record.violation {
        violations.push(violation_row(*time, violation));
        Verdict::Violation
    } else if let Err((time, violation)) = history_check {
        violations.push(violation_row(time, &violation));
        Verdict::Violation
    } else if let Err(stuck) = liveness(scenario, &record) {
        violations.push(violation_row(record.faults_end, &stuck));
        Verdict::Stuck
    } else {
        Verdict::Ok
    };
    let summary = Summary {
        verdict: verdict.name().to_string(),
        violations,
        checks,
        figures: figures(&record),
        trace_hash: format!("{:016x}", record.trace_hash),
        ..summary_header(scenario, options)
    };
    RunResult { verdict, summary, record: Some(record), linearizability }
}

fn liveness(scenario: &Scenario, record: &RunRecord) -> Result<(), Violation> {
    let Some(bound_ms) = scenario.checks.liveness_ms else { return Ok(()) };
    checkers::liveness::check(&record.recorder.history, record.faults_end, bound_ms * MILLISECOND)
}

fn failed(scenario: &Scenario, options: RunOptions, detail: String) -> RunResult {
    let summary = Summary {
        verdict: Verdict::Error.name().to_string(),
        violations: vec![row("error", 0, &[], &detail)],
        ..summary_header(scenario, options)
    };
    RunResult { verdict: Verdict::Error, summary, record: None, linearizability: None }
}

fn summary_header(scenario: &Scenario, options: RunOptions) -> Summary {
    Summary {
        scenario: scenario.name.clone(),
        protocol: scenario.protocol.clone(),
        variant: scenario.variant.clone(),
        engine: match scenario.engine {
            EngineKind::Native => "native",
            EngineKind::Madsim => "madsim",
        }
        .to_string(),
        seed: options.seed,
        expect: scenario.expect.name().to_string(),
        verdict: String::new(),
        violations: Vec::new(),
        checks: BTreeMap::new(),
        figures: Figures {
            operations: OperationCounts::default(),
            latency_ms: Latency::default(),
            messages: MessageCounts::default(),
            messages_per_op: 0.0,
            throughput_ops: 0.0,
            virtual_time_ms: 0.0,
            events: 0,
            transactions: None,
            protocol_figures: BTreeMap::new(),
        },
        trace_hash: String::new(),
    }
}

fn figures(record: &RunRecord) -> Figures {
    let history = &record.recorder.history;
    let mut operations = OperationCounts { invoked: history.len() as u64, ..OperationCounts::default() };
    let mut latencies = Vec::new();
    for op in history {
        match (&op.outcome, op.completed) {
            (Some(Outcome::Ok(_)), Some(completed)) => {
                operations.ok += 1;
                latencies.push(ms(completed - op.invoked));
            }
            (Some(Outcome::Fail), _) => operations.fail += 1,
            _ => operations.info += 1,
        }
    }
    let total = record.recorder.messages_sent();
    let by_type = record.recorder.sent_by_kind.iter().map(|(kind, count)| (kind.to_string(), *count)).collect();
    let seconds = record.virtual_time as f64 / 1e9;
    Figures {
        operations,
        latency_ms: Latency::of(latencies),
        messages: MessageCounts {
            total,
            dropped: record.recorder.dropped,
            duplicated: record.recorder.duplicated,
            by_type,
        },
        messages_per_op: if operations.ok == 0 { 0.0 } else { total as f64 / operations.ok as f64 },
        throughput_ops: if seconds > 0.0 { operations.ok as f64 / seconds } else { 0.0 },
        virtual_time_ms: ms(record.virtual_time),
        events: record.events,
        transactions: transaction_figures(record),
        protocol_figures: record.protocol_figures.iter().map(|(name, value)| (name.to_string(), *value)).collect(),
    }
}

/// Transaction outcomes and costs, if the run's operations are transactions.
fn transaction_figures(record: &RunRecord) -> Option<TransactionFigures> {
    let history = &record.recorder.history;
    if history.is_empty() || !history.iter().all(|op| matches!(op.operation, Operation::Transaction { .. })) {
        return None;
    }
    let mut figures = TransactionFigures::default();
    let mut latencies = Vec::new();
    for op in history {
        match (&op.outcome, op.completed) {
            (Some(Outcome::Ok(_)), Some(completed)) => {
                figures.committed += 1;
                latencies.push(ms(completed - op.invoked));
            }
            (Some(Outcome::Fail), _) => figures.aborted += 1,
            _ => figures.unknown += 1,
        }
    }
    figures.commit_latency_ms = Latency::of(latencies);
    let transactions = history.len() as f64;
    figures.messages_per_transaction = record
        .recorder
        .sent_by_kind
        .iter()
        .map(|(kind, count)| (kind.to_string(), *count as f64 / transactions))
        .collect();
    Some(figures)
}

fn violation_row(time: Time, violation: &Violation) -> ViolationRow {
    row(violation.invariant, time, &violation.nodes, &violation.detail)
}

fn row(invariant: &str, time: Time, nodes: &[u32], detail: &str) -> ViolationRow {
    ViolationRow {
        invariant: invariant.to_string(),
        time_ms: ms(time),
        nodes: nodes.to_vec(),
        detail: detail.to_string(),
    }
}

fn ms(time: Time) -> f64 {
    time as f64 / MILLISECOND as f64
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Writes `summary.json`, `history.csv`, `messages.csv`, `events.csv` and `faults.csv`
/// into `dir`, and `linearizability.json` (the checker's report) if the history was
/// checked: everything a report is rendered from.
pub fn write_outputs(dir: &Path, result: &RunResult) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    reports::write_json(&dir.join("summary.json"), &result.summary)?;
    if let Some(report) = &result.linearizability {
        reports::write_json(&dir.join(reports::history_view::CHECK_FILE), report)?;
    }
    let Some(record) = &result.record else { return Ok(()) };
    let recorder = &record.recorder;
    reports::write_csv(&dir.join("history.csv"), recorder.history.iter().map(history_row))?;
    let messages = recorder.messages.iter().enumerate().map(|(id, message)| MessageRow {
        id: id as u64,
        from: message.from,
        to: message.to,
        kind: message.kind.to_string(),
        size: message.size as u64,
        sent_ms: ms(message.sent),
        delivered_ms: match message.fate {
            Fate::Delivered(at) => Some(ms(at)),
            _ => None,
        },
        fate: message.fate.name().to_string(),
        duplicate: message.copy,
    });
    reports::write_csv(&dir.join("messages.csv"), messages)?;
    let events = recorder.events.iter().map(|event| EventRow {
        time_ms: ms(event.time),
        node: event.node,
        event: event.what.clone(),
    });
    reports::write_csv(&dir.join("events.csv"), events)?;
    let faults = recorder.faults.iter().map(|period| FaultRow {
        start_ms: ms(period.start),
        end_ms: period.end.map(ms),
        fault: crate::engine::describe_fault(&period.kind),
    });
    reports::write_csv(&dir.join("faults.csv"), faults)
}

fn history_row(op: &OperationRecord) -> HistoryRow {
    let (kind, result) = match &op.outcome {
        Some(Outcome::Ok(reply)) => ("ok", reply_text(reply)),
        Some(Outcome::Fail) => ("fail", String::new()),
        Some(Outcome::Info) | None => ("info", String::new()),
    };
    let value = match &op.operation {
        Operation::Read { .. } => String::new(),
        Operation::Propose { value } | Operation::Write { value, .. } | Operation::Append { value, .. } => {
            value.to_string()
        }
        Operation::Cas { from, to, .. } => format!("{from} {to}"),
        Operation::Transaction { value, keys, vetoes } => format!("{value} keys {keys:?} vetoes {vetoes:?}"),
    };
    HistoryRow {
        process: op.client,
        kind: kind.to_string(),
        f: op.operation.kind().name().to_string(),
        key: op.operation.key(),
        value,
        result,
        invoked_ms: ms(op.invoked),
        completed_ms: op.completed.map(ms),
        latency_ms: op.completed.map(|completed| ms(completed - op.invoked)),
    }
}

fn reply_text(reply: &Reply) -> String {
    match reply {
        Reply::Done => String::new(),
        Reply::Value(value) => value.map_or_else(|| "nil".to_string(), |value| value.to_string()),
        Reply::Values(values) => {
            let mut text = String::from("[");
            for (index, value) in values.iter().enumerate() {
                let _ = write!(text, "{}{value}", if index == 0 { "" } else { " " });
            }
            text + "]"
        }
    }
}
