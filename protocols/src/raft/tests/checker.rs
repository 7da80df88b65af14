//! The safety checker (Figure 3) both ways: legal observations and states pass, and each
//! illegal one is flagged with the invariant's name and the servers involved.

use super::*;
use crate::node::{Checker as _, Violation};

fn checker() -> RaftChecker {
    RaftChecker::new(&setup(CORRECT))
}

fn observe_all(checker: &mut RaftChecker, observations: &[(NodeId, RaftObservation)]) -> Result<(), Violation> {
    for (at, (node, observation)) in (0..).zip(observations) {
        checker.observe(at * MILLISECOND, *node, observation)?;
    }
    Ok(())
}

fn elected(term: Term) -> RaftObservation {
    RaftObservation::LeaderElected { term }
}

fn applied(index: Index, term: Term, payload: Payload) -> RaftObservation {
    RaftObservation::Applied { index, term, payload }
}

fn committed(index: Index, term: Term, leader_term: Term) -> RaftObservation {
    RaftObservation::Committed { index, term, leader_term }
}

/// Server `id` elected leader of `term + 1` from a log with these terms.
fn leader(id: NodeId, term: Term, terms: &[Term]) -> Harness<Raft> {
    let mut server = recovered(CORRECT, id, term, None, log_of(terms));
    elect(&mut server);
    server
}

fn follower(id: NodeId, term: Term, terms: &[Term]) -> Harness<Raft> {
    recovered(CORRECT, id, term, None, log_of(terms))
}

/// The checker's inspections at `at` of these servers (by slot; `None`: down), as if each
/// server up had just handled an event, in slot order.
fn inspect(checker: &mut RaftChecker, at: Time, servers: &[Option<Harness<Raft>>]) -> Result<(), Violation> {
    let view = testing::view(servers);
    let mut up = (0..).zip(servers).filter(|(_, server)| server.is_some());
    up.try_for_each(|(node, _)| checker.inspect(at, node, &view))
}

/// The checker in its full form, which re-reads every log after every event.
fn full_checker() -> RaftChecker {
    let settings = RaftSettings { checks: Checks::Full, ..RaftSettings::default() };
    RaftChecker::new(&Setup { settings, ..setup(CORRECT) })
}

#[test]
fn full_form_flags_the_same_logs_as_the_incremental_form() {
    let (mut full, mut incremental) = (full_checker(), checker());
    let shrunk = [Some(leader(0, 1, &[1, 1])), Some(follower(1, 2, &[2, 2]))];
    let diverging = [Some(leader(0, 1, &[1])), Some(follower(1, 2, &[1, 2]))];
    for checker in [&mut full, &mut incremental] {
        assert_eq!(checker.inspect(0, 0, &testing::view(&shrunk)), Ok(()));
    }
    // Only server 1 handled an event, yet the full form reads server 0 too: its log shrank.
    let violation = full.inspect(1, 1, &testing::view(&diverging)).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("leader-append-only", vec![0]));
    // The incremental form reads server 1, whose log is new; the world never changes a
    // server without an event of its own, when its shrunk log is found.
    assert_eq!(incremental.inspect(1, 1, &testing::view(&diverging)), Ok(()));
    let violation = incremental.inspect(2, 0, &testing::view(&diverging)).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("leader-append-only", vec![0]));
}

#[test]
fn checker_accepts_a_legal_run() {
    let mut checker = checker();
    let payload = command_entry(2, 1, 10).payload;
    let observations = [
        (0, elected(1)),
        (0, committed(1, 1, 1)),
        (0, applied(1, 1, Payload::Noop)),
        (1, applied(1, 1, Payload::Noop)),
        (1, elected(2)),
        (1, committed(2, 2, 2)),
        (1, applied(2, 2, payload.clone())),
        (0, applied(2, 2, payload)),
        (1, elected(2)),
    ];
    assert_eq!(observe_all(&mut checker, &observations), Ok(()));
    let servers = [Some(leader(1, 1, &[1])), Some(follower(0, 2, &[1, 2])), None];
    assert_eq!(inspect(&mut checker, 0, &servers), Ok(()));
    assert_eq!(inspect(&mut checker, 1, &servers), Ok(()), "inspecting the same state again is fine");
}

#[test]
fn checker_flags_two_leaders_in_one_term_election_safety() {
    let mut checker = checker();
    let violation = observe_all(&mut checker, &[(0, elected(3)), (2, elected(4)), (1, elected(3))]).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("election-safety", vec![0, 1]));
}

#[test]
fn checker_flags_different_commands_applied_at_one_index_state_machine_safety() {
    let mut checker = checker();
    let observations =
        [(0, applied(2, 1, command_entry(1, 1, 10).payload)), (1, applied(2, 1, command_entry(1, 1, 11).payload))];
    let violation = observe_all(&mut checker, &observations).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("state-machine-safety", vec![0, 1]));
}

#[test]
fn checker_flags_two_entries_committed_at_one_index_state_machine_safety() {
    let mut checker = checker();
    let violation = observe_all(&mut checker, &[(0, committed(2, 2, 4)), (3, committed(2, 3, 5))]).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("state-machine-safety", vec![0, 3]));
}

#[test]
fn checker_flags_a_later_leader_missing_a_committed_entry_leader_completeness() {
    let mut checker = checker();
    observe_all(&mut checker, &[(0, committed(2, 2, 2))]).unwrap();
    // Server 4 leads term 3 with a log [1, 3]: index 2 holds its no-op, not the entry of term 2.
    let servers = [None, None, None, None, Some(leader(4, 2, &[1]))];
    let violation = inspect(&mut checker, 5, &servers).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("leader-completeness", vec![0, 4]));
}

#[test]
fn checker_accepts_a_later_leader_holding_the_committed_entries_leader_completeness() {
    let mut checker = checker();
    observe_all(&mut checker, &[(0, committed(1, 1, 2)), (0, committed(2, 2, 2)), (4, committed(3, 5, 5))]).unwrap();
    let servers = [None, None, None, None, Some(leader(4, 2, &[1, 2]))];
    assert_eq!(inspect(&mut checker, 5, &servers), Ok(()), "what term 5 commits binds only later leaders");
}

#[test]
fn checker_flags_a_commit_a_leader_of_a_later_term_lacks_leader_completeness() {
    let mut checker = checker();
    let servers = [Some(leader(0, 2, &[1]))];
    assert_eq!(inspect(&mut checker, 0, &servers), Ok(()));
    observe_all(&mut checker, &[(1, committed(2, 2, 2))]).unwrap();
    let violation = inspect(&mut checker, 1, &servers).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("leader-completeness", vec![1, 0]));
}

#[test]
fn checker_flags_an_index_and_term_after_different_entries_log_matching() {
    let mut checker = checker();
    let servers = [Some(follower(0, 2, &[1, 2])), Some(follower(1, 2, &[2, 2]))];
    let violation = inspect(&mut checker, 0, &servers).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("log-matching", vec![0, 1]));
}

#[test]
fn checker_flags_an_index_and_term_with_different_commands_log_matching() {
    let mut checker = checker();
    let first = recovered(CORRECT, 0, 1, None, vec![command_entry(1, 1, 10)]);
    let second = recovered(CORRECT, 1, 1, None, vec![command_entry(1, 1, 11)]);
    assert_eq!(inspect(&mut checker, 0, &[Some(first), None]), Ok(()));
    let violation = inspect(&mut checker, 1, &[None, Some(second)]).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("log-matching", vec![0, 1]));
}

#[test]
fn checker_flags_a_leader_whose_log_shrinks_in_its_term_leader_append_only() {
    let mut checker = checker();
    assert_eq!(inspect(&mut checker, 0, &[Some(leader(0, 1, &[1, 1]))]), Ok(()));
    let violation = inspect(&mut checker, 1, &[Some(leader(0, 1, &[1]))]).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("leader-append-only", vec![0]));
}

#[test]
fn checker_accepts_a_log_that_shrinks_after_a_restart() {
    let mut checker = checker();
    assert_eq!(inspect(&mut checker, 0, &[Some(follower(0, 1, &[1, 1]))]), Ok(()));
    assert_eq!(inspect(&mut checker, 1, &[None]), Ok(()));
    assert_eq!(inspect(&mut checker, 2, &[Some(follower(0, 1, &[1]))]), Ok(()));
}
