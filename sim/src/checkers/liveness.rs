//! Liveness: once the fault window is over (and everything healed), the system must make
//! progress within a bound. If some operation was waiting during the window
//! `[faults_end, faults_end + bound]` and none made progress in it, the run is `stuck`, and
//! the detail lists what was waiting. Progress is an operation completed `ok`: a failed
//! read may only mean a client gave up while the system was down, and aborts alone are not
//! progress either (in two-phase commit, transactions blocked by a dead coordinator hold
//! their locks, and every later transaction on those keys aborts: that is blocking).

use protocols::node::{Time, Violation, MILLISECOND};
use protocols::operation::Outcome;

use crate::engine::describe;
use crate::engine::record::OperationRecord;

/// How many waiting operations a `stuck` verdict lists.
const LISTED: usize = 5;

/// A violation named `liveness` if nothing succeeded in the window while something waited.
pub fn check(history: &[OperationRecord], faults_end: Time, bound: Time) -> Result<(), Violation> {
    let window_end = faults_end + bound;
    let progressed =
        history.iter().any(|op| progress(op) && op.completed.is_some_and(|t| t >= faults_end && t <= window_end));
    let waiting: Vec<&OperationRecord> =
        history.iter().filter(|op| op.invoked <= window_end && op.completed.is_none_or(|t| t >= faults_end)).collect();
    if progressed || waiting.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = waiting
        .iter()
        .take(LISTED)
        .map(|op| {
            format!("client {} {} invoked at {} ms", op.client, describe(&op.operation), op.invoked / MILLISECOND)
        })
        .collect();
    Err(Violation {
        invariant: "liveness",
        nodes: waiting.iter().map(|op| op.client).collect(),
        detail: format!(
            "no operation succeeded within {} ms after the faults ended at {} ms; {} waiting: {}",
            bound / MILLISECOND,
            faults_end / MILLISECOND,
            waiting.len(),
            listed.join("; ")
        ),
    })
}

fn progress(op: &OperationRecord) -> bool {
    matches!(op.outcome, Some(Outcome::Ok(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocols::operation::{Operation, Reply};

    fn op(invoked: Time, completed: Option<Time>, outcome: Option<Outcome>) -> OperationRecord {
        OperationRecord { client: 3, invoked, completed, operation: Operation::Propose { value: 1 }, outcome }
    }

    #[test]
    fn progress_after_the_faults_passes() {
        let history = [op(50, Some(120), Some(Outcome::Ok(Reply::Value(Some(1)))))];
        assert_eq!(check(&history, 100, 50), Ok(()));
    }

    #[test]
    fn waiting_with_no_success_in_the_window_is_stuck() {
        let history = [op(50, Some(500), Some(Outcome::Info)), op(60, None, None)];
        let violation = check(&history, 100, 50).unwrap_err();
        assert_eq!(violation.invariant, "liveness");
        assert_eq!(violation.nodes, vec![3, 3]);
    }

    #[test]
    fn aborted_transactions_and_failed_reads_are_not_progress() {
        let abort = OperationRecord {
            operation: Operation::Transaction { value: 1, keys: vec![0], vetoes: vec![] },
            ..op(50, Some(120), Some(Outcome::Fail))
        };
        let read = OperationRecord { operation: Operation::Read { key: 0 }, ..op(50, Some(120), Some(Outcome::Fail)) };
        assert_eq!(check(&[abort, read], 100, 50).unwrap_err().invariant, "liveness");
        let commit = OperationRecord {
            operation: Operation::Transaction { value: 2, keys: vec![0], vetoes: vec![] },
            ..op(50, Some(120), Some(Outcome::Ok(Reply::Done)))
        };
        assert_eq!(check(&[commit], 100, 50), Ok(()));
    }

    #[test]
    fn an_idle_system_is_not_stuck() {
        let history = [op(10, Some(20), Some(Outcome::Ok(Reply::Done)))];
        assert_eq!(check(&history, 100, 50), Ok(()));
    }
}
