//! The coordinator: the three phases, its timeouts, and its recovery (Skeen 1981;
//! BHG section 7.5).

use super::*;
use crate::testing::{assert_timers, TimerChange};

fn coordinator() -> Harness<ThreePhaseCommit> {
    server(0)
}

fn decision_of(server: &ThreePhaseServer, transaction: TransactionId) -> Option<Decision> {
    let ThreePhaseServer::Coordinator(coordinator) = server else { panic!("server 0 coordinates") };
    coordinator.decision(transaction)
}

fn request(transaction: TransactionId, keys: &[Key]) -> ThreePhaseMessage {
    ThreePhaseMessage::Client(ClientMessage::Request(crate::commit::Transaction::writing(transaction, keys, &[])))
}

/// A coordinator that began transaction 7 on keys 0 and 1 (participants 1 and 2).
fn voting() -> Harness<ThreePhaseCommit> {
    let mut server = coordinator();
    server.deliver(CLIENT, request(7, &[0, 1]));
    server
}

/// A coordinator that pre-committed transaction 7.
fn pre_committing() -> Harness<ThreePhaseCommit> {
    let mut server = voting();
    server.deliver(1, ThreePhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    server.deliver(2, ThreePhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    server
}

#[test]
fn request_forces_began_then_asks_can_commit_naming_every_participant() {
    let mut server = coordinator();
    let effects = server.deliver(CLIENT, request(7, &[0, 1]));
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Began { transaction: 7, participants: vec![1, 2] }),
            Effect::Sync(1),
            Effect::ObserveAfterSync(CommitObservation::Began { transaction: 7, keys: vec![0, 1], vetoes: vec![] }),
            Effect::send_after_sync(1, can_commit(7, &[0], &[1, 2])),
            Effect::send_after_sync(2, can_commit(7, &[1], &[1, 2])),
            Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7)),
        ]
    );
}

#[test]
fn every_yes_vote_moves_to_pre_committed_forced_before_pre_commit_is_sent_skeen() {
    let mut server = voting();
    server.deliver(1, ThreePhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    let effects = server.deliver(2, ThreePhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::PreCommitted { transaction: 7 }),
            Effect::Sync(2),
            Effect::send_after_sync(1, ThreePhaseMessage::PreCommit { transaction: 7 }),
            Effect::send_after_sync(2, ThreePhaseMessage::PreCommit { transaction: 7 }),
            Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7)),
        ],
        "pre-committed is not a decision: nothing observed"
    );
}

#[test]
fn every_ack_commits_forced_then_do_commit_and_the_reply() {
    let mut server = pre_committing();
    server.deliver(1, ThreePhaseMessage::Ack { transaction: 7 });
    let effects = server.deliver(2, ThreePhaseMessage::Ack { transaction: 7 });
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Commit }),
            Effect::Sync(3),
            Effect::ObserveAfterSync(decided(7, Decision::Commit)),
            Effect::send_after_sync(1, ThreePhaseMessage::DoCommit { transaction: 7 }),
            Effect::send_after_sync(2, ThreePhaseMessage::DoCommit { transaction: 7 }),
            Effect::send_after_sync(CLIENT, reply(7, Decision::Commit)),
            Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7)),
        ]
    );
    let effects = server.deliver(1, ThreePhaseMessage::HaveCommitted { transaction: 7 });
    assert!(effects.list.is_empty());
    let effects = server.deliver(2, ThreePhaseMessage::HaveCommitted { transaction: 7 });
    assert_eq!(
        effects.list,
        [Effect::Write(ThreePhaseRecord::Ended { transaction: 7 }), Effect::cancel_timer(ThreePhaseTimer::Retry(7))]
    );
}

#[test]
fn a_no_vote_aborts_and_spares_the_no_voter() {
    let mut server = voting();
    let effects = server.deliver(1, ThreePhaseMessage::Vote { transaction: 7, yes: false, reads: vec![] });
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }),
            Effect::Sync(2),
            Effect::ObserveAfterSync(decided(7, Decision::Abort)),
            Effect::send_after_sync(2, ThreePhaseMessage::Abort { transaction: 7 }),
            Effect::send_after_sync(CLIENT, reply(7, Decision::Abort)),
            Effect::cancel_timer(ThreePhaseTimer::Retry(7)),
        ]
    );
}

#[test]
fn late_votes_abort_after_vote_rounds() {
    let mut server = voting();
    server.deliver(2, ThreePhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    for _ in 1..VOTE_ROUNDS {
        let effects = server.fire(ThreePhaseTimer::Retry(7));
        assert_eq!(
            effects.list,
            [Effect::send(1, can_commit(7, &[0], &[1, 2])), Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7))]
        );
    }
    let effects = server.fire(ThreePhaseTimer::Retry(7));
    assert_eq!(effects.observed(), [CommitObservation::TimedOut { transaction: 7 }, decided(7, Decision::Abort)]);
}

#[test]
fn missing_acks_are_asked_again_and_then_the_coordinator_commits_anyway_skeen_timeout_in_p() {
    let mut server = pre_committing();
    server.deliver(1, ThreePhaseMessage::Ack { transaction: 7 });
    for _ in 1..ACK_ROUNDS {
        let effects = server.fire(ThreePhaseTimer::Retry(7));
        assert_eq!(
            effects.list,
            [
                Effect::send(2, ThreePhaseMessage::PreCommit { transaction: 7 }),
                Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7))
            ]
        );
    }
    let effects = server.fire(ThreePhaseTimer::Retry(7));
    assert_eq!(effects.observed(), [CommitObservation::TimedOut { transaction: 7 }, decided(7, Decision::Commit)]);
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
    let mut server = Harness::<ThreePhaseCommit>::recovered(&setup(), 0, &records, SEED);
    let effects = server.recover();
    assert_eq!(
        effects.observed(),
        [
            CommitObservation::Restarted { transaction: 7 },
            decided(7, Decision::Abort),
            CommitObservation::Restarted { transaction: 8 },
        ]
    );
    assert_eq!(effects.written(), [ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(
        effects.sent(),
        [
            (1, ThreePhaseMessage::Abort { transaction: 7 }),
            (2, ThreePhaseMessage::Abort { transaction: 7 }),
            (1, ThreePhaseMessage::DecisionRequest { transaction: 8 }),
            (3, ThreePhaseMessage::DecisionRequest { transaction: 8 }),
            (2, ThreePhaseMessage::DoCommit { transaction: 9 }),
        ]
    );
    assert_timers(
        &effects,
        &[
            TimerChange::Cancel(ThreePhaseTimer::Retry(7)),
            TimerChange::exactly(ThreePhaseTimer::Retry(8), TIMEOUT),
            TimerChange::exactly(ThreePhaseTimer::Retry(9), TIMEOUT),
        ],
    );
    assert!(server.deliver(CLIENT, request(8, &[0, 2])).list.is_empty(), "undecided");
    let effects = server.deliver(3, ThreePhaseMessage::DoCommit { transaction: 8 });
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Decided { transaction: 8, decision: Decision::Commit }),
            Effect::Sync(2),
            Effect::ObserveAfterSync(decided(8, Decision::Commit)),
            Effect::send_after_sync(CLIENT, reply(8, Decision::Commit)),
            Effect::cancel_timer(ThreePhaseTimer::Retry(8)),
        ],
        "the waiting client learns it once it is durable"
    );
}
