//! The history view of a checked history file (`check-history --html`): the operations and
//! the report's evidence handed to the report layer's [`reports::history_view`].

use reports::history_view::{self, HistoryView, ViewOp, ViewViolation};

use super::report::Verdict;
use super::Checked;

/// The view of `checked` as a self-contained page titled `title` (the file's name).
pub fn history_page(title: &str, checked: &Checked) -> String {
    let report = &checked.report;
    let ops = checked
        .history
        .iter()
        .map(|op| ViewOp {
            process: op.process,
            key: op.key.clone(),
            call: op.call as f64,
            ret: op.ret.map(|ret| ret as f64),
            label: op.operation.clone(),
        })
        .collect();
    let violations = report
        .violations
        .iter()
        .map(|violation| ViewViolation {
            key: violation.key.clone(),
            cut: violation.cut as f64,
            linearizable_until: violation.linearizable_until.map(|until| until as f64),
            linearization: violation.linearization.iter().map(|op| (op.process, op.call as f64)).collect(),
            witness: violation.operations.iter().map(|op| (op.process, op.call as f64)).collect(),
        })
        .collect();
    let view = HistoryView { unit: "line".to_string(), ops, violations };
    let verdict = match report.verdict {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable => "not-linearizable",
        Verdict::Unknown => "unknown",
    };
    history_view::page(title, verdict, &report.to_string(), &view)
}
