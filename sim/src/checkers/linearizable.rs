//! Linearizability of a run's client history, checked after the run with the
//! Wing-Gong-Lowe search of [`crate::linearizability`] on the key-value model (proposals
//! of single-decree consensus form their own partition). A history that is not
//! linearizable is a violation named `linearizability`, at the instant by which the
//! history already cannot be linearized, showing the few operations that cannot be ordered.

use protocols::node::{Time, Violation};
use protocols::operation::{OperationKind, Outcome};

use crate::engine::record::OperationRecord;
use crate::linearizability::{self, Limits, Op, Report, Verdict};
use crate::scenario::Scenario;

/// Operations the key-value model knows.
const CHECKED: [OperationKind; 5] =
    [OperationKind::Propose, OperationKind::Read, OperationKind::Write, OperationKind::Append, OperationKind::Cas];

/// What the check of a run concluded.
#[derive(Debug)]
pub struct Checked {
    /// In a word, for the summary's checks.
    pub conclusion: String,
    /// The violation, if there is one.
    pub result: Result<(), (Time, Violation)>,
    /// The checker's report, unless the check was skipped.
    pub report: Option<Report>,
}

/// Checks a run's history. The search runs on the calling thread (a sweep already runs a
/// run per core) within the default memory bound.
pub fn check(scenario: &Scenario, history: &[OperationRecord]) -> Checked {
    let checkable = history.iter().all(|op| CHECKED.contains(&op.operation.kind()));
    if !scenario.checks.linearizability || !checkable {
        return Checked { conclusion: "skipped".to_string(), result: Ok(()), report: None };
    }
    let ops: Vec<Op<_, _>> = history.iter().map(op_of).collect();
    let limits = Limits {
        threads: 1,
        ..Limits::new(scenario.checks.linearizability_budget, linearizability::DEFAULT_MEMORY_MB)
    };
    let report = linearizability::check_history(&ops, limits);
    let (conclusion, result) = match report.verdict {
        Verdict::Linearizable => ("linearizable".to_string(), Ok(())),
        Verdict::Unknown => match report.ran_out_of {
            Some(linearizability::Limit::Memory) => {
                (format!("unknown at {} MB", report.memory_limit_bytes >> 20), Ok(()))
            }
            _ => (format!("unknown after {} steps", report.steps), Ok(())),
        },
        Verdict::NotLinearizable => {
            let first = &report.violations[0];
            let violation = Violation {
                invariant: "linearizability",
                nodes: first.operations.iter().map(|op| op.process as u32).collect(),
                detail: report.to_string().trim_end().to_string(),
            };
            ("not-linearizable".to_string(), Err((first.cut, violation)))
        }
    };
    Checked { conclusion, result, report: Some(report) }
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
