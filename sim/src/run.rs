//! One run of one scenario and seed: the world on its substrate, then the history checks
//! the protocol declares, the liveness check, the verdict and the figures; and the files a
//! run writes.
//!
//! [`run`] finds the scenario's protocol in the catalog and hands it to [`run_protocol`],
//! which works for any protocol type, catalogued or not (a protocol in a test, say). A
//! protocol panic (an `assert!` in a node's invariants, say) is caught here and becomes an
//! `error` verdict with its seed, so a sweep goes on.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use protocols::history::Call;
use protocols::node::{Protocol, Time, Violation, MILLISECOND};
use protocols::service::{HistoryCheck, Operation as _, Outcome, Service};
use reports::{
    EventRow, EvidenceRow, FaultRow, Figures, HistoryRow, Latency, MessageCounts, MessageRow, OperationCounts, Summary,
    TransactionFigures, ViolationRow,
};

use crate::catalog::{self, Visitor};
use crate::checkers;
use crate::record::{Fate, Recorder};
use crate::scenario::{EngineKind, Scenario, Verdict};
use crate::substrate::{madsim, native};
use crate::world::{RunOptions, Simulation};

/// What a run leaves for the tables, sweeps and reports, whatever its protocol.
#[derive(Debug)]
pub struct RunRecord {
    pub recorder: Recorder,
    /// The client history as table rows (detailed runs only).
    pub history: Vec<HistoryRow>,
    pub virtual_time: Time,
    pub events: u64,
    pub servers: u32,
    /// When the fault window ended (and everything healed, if the scenario heals).
    pub faults_end: Time,
    pub trace_hash: u64,
}

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
    struct Run<'a> {
        scenario: &'a Scenario,
        options: RunOptions,
    }
    impl Visitor for Run<'_> {
        type Output = RunResult;
        fn visit<P: Protocol>(self) -> RunResult {
            run_protocol::<P>(self.scenario, self.options)
        }
    }
    catalog::visit(&scenario.protocol, Run { scenario, options })
        .unwrap_or_else(|| failed(scenario, options, format!("unknown protocol {:?}", scenario.protocol)))
}

/// Runs `scenario` with protocol `P` on the scenario's engine and judges it.
pub fn run_protocol<P: Protocol>(scenario: &Scenario, options: RunOptions) -> RunResult {
    match simulate::<P>(scenario, options) {
        Ok(Ok(simulation)) => judge(scenario, options, simulation),
        Ok(Err(reason)) => failed(scenario, options, reason),
        Err(panic) => failed(scenario, options, format!("a node panicked: {panic}")),
    }
}

/// The world of `scenario` run to its end on the scenario's engine: `Err` with the panic's
/// message if a node panicked, `Ok(Err)` with the reason if the engine refused the scenario.
pub fn simulate<P: Protocol>(
    scenario: &Scenario,
    options: RunOptions,
) -> Result<Result<Simulation<P>, String>, String> {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| match scenario.engine {
        EngineKind::Native => Ok(native::simulate::<P>(scenario, options)),
        EngineKind::Madsim => madsim::simulate::<P>(scenario, options),
    }));
    outcome.map_err(|payload| panic_message(&payload))
}

/// Where a run writes its files unless told otherwise.
pub fn default_out_dir(scenario: &Scenario, seed: u64) -> PathBuf {
    Path::new("target/faultline").join(&scenario.name).join(format!("seed-{seed}"))
}

/// The verdict of a finished run: the first of an error, the online checker's violation,
/// a history check's violation, a runaway (the history up to it is still checked), and
/// the liveness check's `stuck`.
fn judge<P: Protocol>(scenario: &Scenario, options: RunOptions, simulation: Simulation<P>) -> RunResult {
    let mut violations = Vec::new();
    let mut checks = BTreeMap::new();
    let mut history_violation = None;
    let mut linearizability = None;
    if simulation.error.is_none() && simulation.violation.is_none() {
        for check in P::history_checks() {
            let conclusion = history_check(scenario, &simulation.history, &check);
            checks.insert(check.name().to_string(), conclusion.name);
            history_violation = history_violation.or(conclusion.violation);
            linearizability = linearizability.or(conclusion.report);
        }
    }
    let verdict = if let Some(error) = &simulation.error {
        violations.push(row("error", simulation.virtual_time, &[], error));
        Verdict::Error
    } else if let Some((time, violation)) = simulation.violation.as_ref().or(history_violation.as_ref()) {
        violations.push(violation_row(*time, violation));
        Verdict::Violation
    } else if let Some((time, reason)) = &simulation.runaway {
        violations.push(row("runaway", *time, &[], reason));
        Verdict::Runaway
    } else if let Err(stuck) = liveness(scenario, &simulation) {
        violations.push(violation_row(simulation.plan.faults_end, &stuck));
        Verdict::Stuck
    } else {
        Verdict::Ok
    };
    let summary = Summary {
        verdict: verdict.name().to_string(),
        violations,
        checks,
        figures: figures(&simulation),
        trace_hash: format!("{:016x}", simulation.trace_hash),
        ..summary_header(scenario, options)
    };
    let record = RunRecord {
        history: if options.detailed { simulation.history.iter().map(history_row).collect() } else { Vec::new() },
        recorder: simulation.recorder,
        virtual_time: simulation.virtual_time,
        events: simulation.events,
        servers: simulation.setup.servers,
        faults_end: simulation.plan.faults_end,
        trace_hash: simulation.trace_hash,
    };
    RunResult { verdict, summary, record: Some(record), linearizability }
}

/// One history check as a run of `scenario` makes it (with its budget), unless the scenario
/// turns it off.
pub fn history_check<S: Service>(
    scenario: &Scenario,
    history: &[Call<S>],
    check: &HistoryCheck<S>,
) -> checkers::Conclusion {
    let budget = scenario.checks.linearizability_budget;
    match check {
        HistoryCheck::Linearizability { .. }
        | HistoryCheck::SequentialConsistency { .. }
        | HistoryCheck::Serializability { .. }
            if !scenario.checks.linearizability =>
        {
            checkers::Conclusion::passed("skipped")
        }
        HistoryCheck::Linearizability { include } => {
            checkers::linearizable::check(history, *include, budget, scenario.server_slots())
        }
        HistoryCheck::SequentialConsistency { include } => checkers::sequential::check(history, *include, budget),
        HistoryCheck::Serializability { transaction } => {
            checkers::serializable::check(history, *transaction, scenario.server_slots())
        }
        HistoryCheck::Custom { check, .. } => match check(history) {
            Ok(()) => checkers::Conclusion::passed("passed"),
            Err((at, violation)) => checkers::Conclusion::failed("failed", at, violation),
        },
    }
}

fn liveness<P: Protocol>(scenario: &Scenario, simulation: &Simulation<P>) -> Result<(), Violation> {
    let Some(bound_ms) = scenario.checks.liveness_ms else { return Ok(()) };
    let (faults_end, reasons) = (simulation.plan.faults_end, &simulation.stuck_reasons);
    let first_client = simulation.setup.server_slots();
    checkers::liveness::check(&simulation.history, faults_end, bound_ms * MILLISECOND, first_client, reasons)
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
        engine: scenario.engine.name().to_string(),
        servers: scenario.server_slots(),
        seed: options.seed,
        expect: scenario.expect.name().to_string(),
        verdict: String::new(),
        violations: Vec::new(),
        checks: BTreeMap::new(),
        figures: Figures {
            operations: OperationCounts::default(),
            latency_ms: None,
            messages: MessageCounts::default(),
            messages_per_op: None,
            throughput_ops: 0.0,
            virtual_time_ms: 0.0,
            events: 0,
            transactions: None,
            protocol_figures: BTreeMap::new(),
        },
        trace_hash: String::new(),
        replay: String::new(),
    }
}

fn figures<P: Protocol>(simulation: &Simulation<P>) -> Figures {
    let history = &simulation.history;
    let mut operations = OperationCounts { invoked: history.len() as u64, ..OperationCounts::default() };
    let mut latencies = Vec::new();
    for call in history {
        match (call.outcome(), call.completed) {
            (Outcome::Ok(_), Some(completed)) => {
                operations.ok += 1;
                latencies.push(ms(completed - call.invoked));
            }
            (Outcome::Fail, _) => operations.fail += 1,
            _ => operations.info += 1,
        }
    }
    let recorder = &simulation.recorder;
    let total = recorder.messages_sent();
    let by_type = recorder.sent_by_kind.iter().map(|(kind, count)| (kind.to_string(), *count)).collect();
    let seconds = simulation.virtual_time as f64 / 1e9;
    Figures {
        operations,
        latency_ms: Latency::of(latencies),
        messages: MessageCounts { total, dropped: recorder.dropped, duplicated: recorder.duplicated, by_type },
        messages_per_op: (operations.ok > 0).then(|| total as f64 / operations.ok as f64),
        throughput_ops: if seconds > 0.0 { operations.ok as f64 / seconds } else { 0.0 },
        virtual_time_ms: ms(simulation.virtual_time),
        events: simulation.events,
        transactions: transaction_figures(history, recorder),
        protocol_figures: simulation.protocol_figures.iter().map(|(name, value)| (name.to_string(), *value)).collect(),
    }
}

/// Transaction outcomes and costs, if the run's operations are transactions.
fn transaction_figures<S: Service>(history: &[Call<S>], recorder: &Recorder) -> Option<TransactionFigures> {
    if history.is_empty() || !history.iter().all(|call| call.operation.kind() == "transaction") {
        return None;
    }
    let mut figures = TransactionFigures::default();
    let mut latencies = Vec::new();
    for call in history {
        match (call.outcome(), call.completed) {
            (Outcome::Ok(_), Some(completed)) => {
                figures.committed += 1;
                latencies.push(ms(completed - call.invoked));
            }
            (Outcome::Fail, _) => figures.aborted += 1,
            _ => figures.unknown += 1,
        }
    }
    figures.commit_latency_ms = Latency::of(latencies);
    let transactions = history.len() as f64;
    figures.messages_per_transaction =
        recorder.sent_by_kind.iter().map(|(kind, count)| (kind.to_string(), *count as f64 / transactions)).collect();
    Some(figures)
}

fn violation_row(time: Time, violation: &Violation) -> ViolationRow {
    let evidence = violation.evidence.iter().map(|&(node, at)| EvidenceRow { node, time_ms: ms(at) });
    ViolationRow { evidence: evidence.collect(), ..row(violation.invariant, time, &violation.nodes, &violation.detail) }
}

fn row(invariant: &str, time: Time, nodes: &[u32], detail: &str) -> ViolationRow {
    ViolationRow {
        invariant: invariant.to_string(),
        time_ms: ms(time),
        nodes: nodes.to_vec(),
        detail: detail.to_string(),
        evidence: Vec::new(),
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
    reports::write_csv(&dir.join("history.csv"), record.history.iter().cloned())?;
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
        cause: message.cause,
        payload: message.payload.clone(),
    });
    reports::write_csv(&dir.join("messages.csv"), messages)?;
    let events = recorder.events.iter().map(|event| EventRow {
        time_ms: ms(event.time),
        node: event.node,
        event: event.what.clone(),
        cause: event.cause,
    });
    reports::write_csv(&dir.join("events.csv"), events)?;
    let faults = recorder.faults.iter().map(|period| FaultRow {
        start_ms: ms(period.start),
        end_ms: period.end.map(ms),
        fault: crate::world::faults::describe(&period.kind),
    });
    reports::write_csv(&dir.join("faults.csv"), faults)
}

/// A call as a row of `history.csv`.
fn history_row<S: Service>(call: &Call<S>) -> HistoryRow {
    let (kind, result) = match call.outcome() {
        Outcome::Ok(reply) => ("ok", reply.to_string()),
        Outcome::Fail => ("fail", String::new()),
        Outcome::Info => ("info", String::new()),
    };
    HistoryRow {
        process: call.client,
        kind: kind.to_string(),
        f: call.operation.kind().to_string(),
        key: call.operation.key(),
        value: call.operation.to_string(),
        result,
        invoked_ms: ms(call.invoked),
        completed_ms: call.completed.map(ms),
        latency_ms: call.completed.map(|completed| ms(completed - call.invoked)),
    }
}
