//! Liveness: once the fault window is over (and everything healed), the system must make
//! progress within a bound. If some operation waited through the window
//! `[faults_end, faults_end + bound]`, or some failed in it, and none made progress in it,
//! the run is `stuck`, and the detail lists what waited and what the checker and the world
//! saw hold the system up. Progress is an operation completed `ok`: a failed read may only
//! mean a client gave up while the system was down, and aborts alone are not progress
//! either (in two-phase commit, transactions blocked by a dead coordinator hold their
//! locks, and every later transaction on those keys aborts: that is blocking).

use protocols::history::Call;
use protocols::node::{Time, Violation, MILLISECOND};
use protocols::service::{Outcome, Service};

/// How many waiting operations a `stuck` verdict lists.
const LISTED: usize = 5;

/// A violation named `liveness` if nothing succeeded in the window while something waited
/// or failed. Processes from `first_client` on are clients, named by their number; `reasons`
/// (what the checker and the world saw hold the system up) end the detail.
pub fn check<S: Service>(
    history: &[Call<S>],
    faults_end: Time,
    bound: Time,
    first_client: u32,
    reasons: &[String],
) -> Result<(), Violation> {
    let window_end = faults_end + bound;
    let in_window = |t: Time| t >= faults_end && t <= window_end;
    let progressed = history.iter().any(|op| progress(op) && op.completed.is_some_and(in_window));
    // Waited through the window: invoked by its end and not answered before it.
    let waited: Vec<&Call<S>> =
        history.iter().filter(|op| op.invoked <= window_end && op.completed.is_none_or(|t| t > window_end)).collect();
    let failed = history.iter().filter(|op| !progress(op) && op.completed.is_some_and(in_window)).count();
    if progressed || (waited.is_empty() && failed == 0) {
        return Ok(());
    }
    let listed: Vec<String> = waited
        .iter()
        .take(LISTED)
        .map(|op| format!("client {} {} invoked at {}", op.client - first_client, op.operation, ms(op.invoked)))
        .collect();
    let more = waited.len().saturating_sub(LISTED);
    let more = if more > 0 { format!("; and {more} more") } else { String::new() };
    let waiting = match waited.len() {
        0 => "none waited through it".to_string(),
        count => format!("{count} waited through it with no answer: {}{more}", listed.join("; ")),
    };
    let reasons: String = reasons.iter().map(|reason| format!("; {reason}")).collect();
    Err(Violation {
        invariant: "liveness",
        evidence: waited.iter().map(|op| (op.client, op.invoked)).collect(),
        nodes: waited.iter().map(|op| op.client).collect(),
        detail: format!(
            "no operation succeeded from the end of the faults at {} to {} ({} ms later); {failed} failed or \
             timed out in that time, and {waiting}{reasons}",
            ms(faults_end),
            ms(window_end),
            bound / MILLISECOND,
        ),
    })
}

fn ms(time: Time) -> String {
    format!("{:.3} ms", time as f64 / MILLISECOND as f64)
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
        assert_eq!(check(&history, 100, 50, 0, &[]), Ok(()));
    }

    #[test]
    fn waiting_with_no_success_in_the_window_is_stuck_and_says_why() {
        let history = [op(50, Some(500), Some(Outcome::Info)), op(60, None, None)];
        let violation = check(&history, 100, 50, 0, &["server 0 crashed".to_string()]).unwrap_err();
        assert_eq!(violation.invariant, "liveness");
        assert_eq!(violation.nodes, vec![3, 3]);
        assert_eq!(violation.evidence, vec![(3, 50), (3, 60)]);
        assert!(violation.detail.ends_with("; server 0 crashed"), "{}", violation.detail);
    }

    #[test]
    fn the_detail_lists_what_waited_by_client_and_counts_what_failed() {
        let failed = op(110 * MILLISECOND, Some(120 * MILLISECOND), Some(Outcome::Fail));
        let waiting = op(130 * MILLISECOND, None, None);
        let violation = check(&[failed, waiting], 100 * MILLISECOND, 50 * MILLISECOND, 2, &[]).unwrap_err();
        assert_eq!(
            violation.detail,
            "no operation succeeded from the end of the faults at 100.000 ms to 150.000 ms (50 ms later); 1 failed \
             or timed out in that time, and 1 waited through it with no answer: client 1 propose 1 invoked at \
             130.000 ms"
        );
        assert_eq!(violation.evidence, vec![(3, 130 * MILLISECOND)]);
    }

    #[test]
    fn aborted_transactions_and_failed_reads_are_not_progress() {
        let transaction = |value| Transaction::writing(value, &[0], &[]);
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
        assert_eq!(check(std::slice::from_ref(&abort), 100, 50, 0, &[]).unwrap_err().invariant, "liveness");
        assert_eq!(check(&[read], 100, 50, 0, &[]).unwrap_err().invariant, "liveness");
        let commit = Call { operation: transaction(2), outcome: Some(Outcome::Ok(Committed::default())), ..abort };
        assert_eq!(check(&[commit], 100, 50, 0, &[]), Ok(()));
    }

    #[test]
    fn an_idle_system_is_not_stuck() {
        let history = [op(10, Some(20), Some(Outcome::Ok(Chosen(1))))];
        assert_eq!(check(&history, 100, 50, 0, &[]), Ok(()));
    }
}
