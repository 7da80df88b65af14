//! Linearizability of a run's client history, checked after the run with the
//! Wing-Gong-Lowe search of [`crate::linearizability`] on the key-value model (proposals
//! of single-decree consensus form their own partition). A history that is not
//! linearizable is a violation named `linearizability`, at the instant by which the
//! history already cannot be linearized, showing the few operations that cannot be ordered.

use protocols::node::{Time, Violation};
use protocols::operation::{OperationKind, Outcome};

use crate::engine::record::OperationRecord;
use crate::linearizability::{self, Op, Verdict};
use crate::scenario::Scenario;

/// Operations the key-value model knows.
const CHECKED: [OperationKind; 5] =
    [OperationKind::Propose, OperationKind::Read, OperationKind::Write, OperationKind::Append, OperationKind::Cas];

/// What the check concluded, in a word, and the violation if there is one.
pub fn check(scenario: &Scenario, history: &[OperationRecord]) -> (String, Result<(), (Time, Violation)>) {
    let checkable = history.iter().all(|op| CHECKED.contains(&op.operation.kind()));
    if !scenario.checks.linearizability || !checkable {
        return ("skipped".to_string(), Ok(()));
    }
    let ops: Vec<Op<_, _>> = history.iter().map(op_of).collect();
    let report = linearizability::check_history(&ops, scenario.checks.linearizability_budget);
    match report.verdict {
        Verdict::Linearizable => ("linearizable".to_string(), Ok(())),
        Verdict::Unknown => (format!("unknown after {} steps", report.steps), Ok(())),
        Verdict::NotLinearizable => {
            let first = &report.violations[0];
            let cited = report.violations.iter().flat_map(|violation| violation.operations.iter());
            let violation = Violation {
                invariant: "linearizability",
                evidence: cited.map(|op| (op.process as u32, op.call)).collect(),
                nodes: first.operations.iter().map(|op| op.process as u32).collect(),
                detail: detail(&report, scenario.nodes),
            };
            ("not-linearizable".to_string(), Err((first.cut, violation)))
        }
    }
}

/// The violations of `report` in the words of a run: clients by their number, times in
/// milliseconds.
fn detail(report: &linearizability::Report, servers: u32) -> String {
    let keys: Vec<String> = report
        .violations
        .iter()
        .map(|violation| {
            let key = violation.key.as_ref().map_or_else(String::new, |key| format!("key {key}: "));
            let operations: Vec<String> = violation
                .operations
                .iter()
                .map(|op| {
                    let completed = op.ret.map_or_else(|| "still open".to_string(), |ret| format!("to {}", ms(ret)));
                    let client = op.process.saturating_sub(u64::from(servers));
                    format!("client {client} {}, from {} {completed}", op.operation, ms(op.call))
                })
                .collect();
            format!("{key}{}", operations.join(" and "))
        })
        .collect();
    format!(
        "{} cannot be ordered consistently with both their times and the model (of {} operations checked)",
        keys.join("; "),
        report.operations
    )
}

fn ms(time: Time) -> String {
    format!("{:.3} ms", time as f64 / protocols::node::MILLISECOND as f64)
}

fn op_of(op: &OperationRecord) -> Op<protocols::operation::Operation, Outcome> {
    Op {
        process: op.client as u64,
        call: op.invoked,
        ret: op.completed,
        input: op.operation.clone(),
        output: op.outcome.clone().unwrap_or(Outcome::Info),
    }
}
