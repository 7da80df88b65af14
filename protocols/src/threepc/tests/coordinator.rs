//! The coordinator: the three phases, its timeouts, and its recovery (Skeen 1981;
//! BHG section 7.5).

use super::*;

fn coordinator() -> ThreePhaseServer {
    ThreePhaseCommit::server(&setup(), 0)
}

fn decision_of(server: &ThreePhaseServer, transaction: TransactionId) -> Option<Decision> {
    let ThreePhaseServer::Coordinator(coordinator) = server else { panic!("server 0 coordinates") };
    coordinator.decision(transaction)
}

/// A coordinator that began transaction 7 on keys 0 and 1 (participants 1 and 2).
fn voting() -> ThreePhaseServer {
    let mut server = coordinator();
    let request = ClientMessage::Request { transaction: 7, keys: vec![0, 1], vetoes: vec![] };
    deliver(&mut server, 0, CLIENT, ThreePhaseMessage::Client(request));
    server
}

/// A coordinator that pre-committed transaction 7.
fn pre_committing() -> ThreePhaseServer {
    let mut server = voting();
    deliver(&mut server, 0, 1, ThreePhaseMessage::Vote { transaction: 7, yes: true });
    deliver(&mut server, 0, 2, ThreePhaseMessage::Vote { transaction: 7, yes: true });
    server
}

#[test]
fn request_forces_began_then_asks_can_commit_naming_every_participant() {
    let mut server = coordinator();
    let request = ClientMessage::Request { transaction: 7, keys: vec![0, 1], vetoes: vec![] };
    let effects = deliver(&mut server, 0, CLIENT, ThreePhaseMessage::Client(request));
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Began { transaction: 7, participants: vec![1, 2] }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.sends, vec![(1, can_commit(7, &[0], &[1, 2])), (2, can_commit(7, &[1], &[1, 2]))]);
    assert_eq!(effects.timers, vec![set(TIMEOUT, ThreePhaseTimer::Retry(7))]);
}

#[test]
fn every_yes_vote_moves_to_pre_committed_forced_before_pre_commit_is_sent_skeen() {
    let mut server = voting();
    deliver(&mut server, 0, 1, ThreePhaseMessage::Vote { transaction: 7, yes: true });
    let effects = deliver(&mut server, 0, 2, ThreePhaseMessage::Vote { transaction: 7, yes: true });
    assert_eq!(effects.writes, vec![ThreePhaseRecord::PreCommitted { transaction: 7 }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(
        effects.sends,
        vec![
            (1, ThreePhaseMessage::PreCommit { transaction: 7 }),
            (2, ThreePhaseMessage::PreCommit { transaction: 7 })
        ]
    );
    assert!(effects.observations.is_empty(), "pre-committed is not a decision");
    assert_eq!(effects.timers, vec![set(TIMEOUT, ThreePhaseTimer::Retry(7))]);
}

#[test]
fn every_ack_commits_forced_then_do_commit_and_the_reply() {
    let mut server = pre_committing();
    deliver(&mut server, 0, 1, ThreePhaseMessage::Ack { transaction: 7 });
    let effects = deliver(&mut server, 0, 2, ThreePhaseMessage::Ack { transaction: 7 });
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Commit }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![decided(7, Decision::Commit)]);
    assert_eq!(
        effects.sends,
        vec![
            (1, ThreePhaseMessage::DoCommit { transaction: 7 }),
            (2, ThreePhaseMessage::DoCommit { transaction: 7 }),
            (CLIENT, reply(7, Decision::Commit)),
        ]
    );
    let effects = deliver(&mut server, 0, 1, ThreePhaseMessage::HaveCommitted { transaction: 7 });
    assert!(effects.writes.is_empty());
    let effects = deliver(&mut server, 0, 2, ThreePhaseMessage::HaveCommitted { transaction: 7 });
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Ended { transaction: 7 }]);
    assert_eq!(effects.timers, vec![cancel(ThreePhaseTimer::Retry(7))]);
}

#[test]
fn a_no_vote_aborts_and_spares_the_no_voter() {
    let mut server = voting();
    let effects = deliver(&mut server, 0, 1, ThreePhaseMessage::Vote { transaction: 7, yes: false });
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(
        effects.sends,
        vec![(2, ThreePhaseMessage::Abort { transaction: 7 }), (CLIENT, reply(7, Decision::Abort))]
    );
    assert_eq!(effects.timers, vec![cancel(ThreePhaseTimer::Retry(7))]);
}

#[test]
fn late_votes_abort_after_vote_rounds() {
    let mut server = voting();
    deliver(&mut server, 0, 2, ThreePhaseMessage::Vote { transaction: 7, yes: true });
    for _ in 1..VOTE_ROUNDS {
        let effects = fire(&mut server, 0, ThreePhaseTimer::Retry(7));
        assert_eq!(effects.sends, vec![(1, can_commit(7, &[0], &[1, 2]))]);
    }
    let effects = fire(&mut server, 0, ThreePhaseTimer::Retry(7));
    assert_eq!(effects.observations, vec![CommitObservation::TimedOut { transaction: 7 }, decided(7, Decision::Abort)]);
}

#[test]
fn missing_acks_are_asked_again_and_then_the_coordinator_commits_anyway_skeen_timeout_in_p() {
    let mut server = pre_committing();
    deliver(&mut server, 0, 1, ThreePhaseMessage::Ack { transaction: 7 });
    for _ in 1..ACK_ROUNDS {
        let effects = fire(&mut server, 0, ThreePhaseTimer::Retry(7));
        assert_eq!(effects.sends, vec![(2, ThreePhaseMessage::PreCommit { transaction: 7 })]);
    }
    let effects = fire(&mut server, 0, ThreePhaseTimer::Retry(7));
    assert_eq!(
        effects.observations,
        vec![CommitObservation::TimedOut { transaction: 7 }, decided(7, Decision::Commit)]
    );
    assert_eq!(decision_of(&server, 7), Some(Decision::Commit));
}

#[test]
fn recovered_coordinator_aborts_what_it_had_not_pre_committed_and_asks_about_the_rest_skeen_stonebraker() {
    let records = [
        ThreePhaseRecord::Began { transaction: 7, participants: vec![1, 2] },
        ThreePhaseRecord::Began { transaction: 8, participants: vec![1, 3] },
        ThreePhaseRecord::PreCommitted { transaction: 8 },
        ThreePhaseRecord::Began { transaction: 9, participants: vec![2] },
        ThreePhaseRecord::PreCommitted { transaction: 9 },
        ThreePhaseRecord::Decided { transaction: 9, decision: Decision::Commit },
    ];
    let mut server = ThreePhaseCommit::recover(&setup(), 0, &records);
    let effects = step(&mut server, 0, |node, ctx| node.on_recover(ctx));
    assert_eq!(
        effects.observations,
        vec![
            CommitObservation::Restarted { transaction: 7 },
            decided(7, Decision::Abort),
            CommitObservation::Restarted { transaction: 8 },
        ]
    );
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(
        effects.sends,
        vec![
            (1, ThreePhaseMessage::Abort { transaction: 7 }),
            (2, ThreePhaseMessage::Abort { transaction: 7 }),
            (1, ThreePhaseMessage::DecisionRequest { transaction: 8 }),
            (3, ThreePhaseMessage::DecisionRequest { transaction: 8 }),
            (2, ThreePhaseMessage::DoCommit { transaction: 9 }),
        ]
    );
    assert_eq!(
        effects.timers,
        vec![
            cancel(ThreePhaseTimer::Retry(7)),
            set(TIMEOUT, ThreePhaseTimer::Retry(8)),
            set(TIMEOUT, ThreePhaseTimer::Retry(9)),
        ]
    );
    let request = ClientMessage::Request { transaction: 8, keys: vec![0, 2], vetoes: vec![] };
    assert!(deliver(&mut server, 0, CLIENT, ThreePhaseMessage::Client(request)).sends.is_empty(), "undecided");
    let effects = deliver(&mut server, 0, 3, ThreePhaseMessage::DoCommit { transaction: 8 });
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 8, decision: Decision::Commit }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![decided(8, Decision::Commit)]);
    assert_eq!(effects.sends, vec![(CLIENT, reply(8, Decision::Commit))], "the waiting client learns it");
    assert_eq!(effects.timers, vec![cancel(ThreePhaseTimer::Retry(8))]);
}
