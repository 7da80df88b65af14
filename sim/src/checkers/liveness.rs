//! Liveness: once the fault window is over (and everything healed), the system must make
//! progress within a bound. If some operation was waiting during the window
//! `[faults_end, faults_end + bound]` and none made progress in it, the run is `stuck`, and
//! the detail lists what was waiting. Progress is an operation completed `ok`: a failed
//! read may only mean a client gave up while the system was down, and aborts alone are not
//! progress either (in two-phase commit, transactions blocked by a dead coordinator hold
//! their locks, and every later transaction on those keys aborts: that is blocking).

use protocols::history::Call;
use protocols::node::{Time, Violation, MILLISECOND};
use protocols::service::{Outcome, Service};

/// How many waiting operations a `stuck` verdict lists.
const LISTED: usize = 5;

/// A violation named `liveness` if nothing succeeded in the window while something waited;
/// `reasons` (what the checker and the world saw hold the system up) go into its detail.
pub fn check<S: Service>(
    history: &[Call<S>],
    faults_end: Time,
    bound: Time,
    reasons: &[String],
) -> Result<(), Violation> {
    let window_end = faults_end + bound;
    let progressed =
        history.iter().any(|op| progress(op) && op.completed.is_some_and(|t| t >= faults_end && t <= window_end));
    let waiting: Vec<&Call<S>> =
        history.iter().filter(|op| op.invoked <= window_end && op.completed.is_none_or(|t| t >= faults_end)).collect();
    if progressed || waiting.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = waiting
        .iter()
        .take(LISTED)
        .map(|op| format!("client {} {} invoked at {} ms", op.client, op.operation, op.invoked / MILLISECOND))
        .collect();
    Err(Violation {
        invariant: "liveness",
        nodes: waiting.iter().map(|op| op.client).collect(),
        detail: format!(
            "no operation succeeded within {} ms after the faults ended at {} ms; {} waiting: {}{}",
            bound / MILLISECOND,
            faults_end / MILLISECOND,
            waiting.len(),
            listed.join("; "),
            reasons.iter().map(|reason| format!("; {reason}")).collect::<String>()
        ),
    })
}

fn progress<S: Service>(op: &Call<S>) -> bool {
    matches!(op.outcome, Some(Outcome::Ok(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocols::commit::{Committed, Transaction, TransactionService};
    use protocols::consensus::{Chosen, ConsensusService, Propose};
    use protocols::kv::{KvOperation, KvService};

    fn op(invoked: Time, completed: Option<Time>, outcome: Option<Outcome<Chosen>>) -> Call<ConsensusService> {
        Call { client: 3, invoked, completed, operation: Propose { value: 1 }, outcome }
    }

    #[test]
    fn progress_after_the_faults_passes() {
        let history = [op(50, Some(120), Some(Outcome::Ok(Chosen(1))))];
        assert_eq!(check(&history, 100, 50, &[]), Ok(()));
    }

    #[test]
    fn waiting_with_no_success_in_the_window_is_stuck_and_says_why() {
        let history = [op(50, Some(500), Some(Outcome::Info)), op(60, None, None)];
        let violation = check(&history, 100, 50, &["server 0 crashed".to_string()]).unwrap_err();
        assert_eq!(violation.invariant, "liveness");
        assert_eq!(violation.nodes, vec![3, 3]);
        assert!(violation.detail.ends_with("; server 0 crashed"), "{}", violation.detail);
    }

    #[test]
    fn aborted_transactions_and_failed_reads_are_not_progress() {
        let transaction = |value| Transaction { value, keys: vec![0], vetoes: vec![] };
        let abort = Call::<TransactionService> {
            client: 3,
            invoked: 50,
            completed: Some(120),
            operation: transaction(1),
            outcome: Some(Outcome::Fail),
        };
        let read = Call::<KvService> {
            client: 3,
            invoked: 50,
            completed: Some(120),
            operation: KvOperation::Read { key: 0 },
            outcome: Some(Outcome::Fail),
        };
        assert_eq!(check(std::slice::from_ref(&abort), 100, 50, &[]).unwrap_err().invariant, "liveness");
        assert_eq!(check(&[read], 100, 50, &[]).unwrap_err().invariant, "liveness");
        let commit = Call { operation: transaction(2), outcome: Some(Outcome::Ok(Committed)), ..abort };
        assert_eq!(check(&[commit], 100, 50, &[]), Ok(()));
    }

    #[test]
    fn an_idle_system_is_not_stuck() {
        let history = [op(10, Some(20), Some(Outcome::Ok(Chosen(1))))];
        assert_eq!(check(&history, 100, 50, &[]), Ok(()));
    }
}
