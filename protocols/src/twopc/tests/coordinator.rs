//! The coordinator: phase 1, the decision, presumed abort and recovery (BHG section 7.4).

use super::*;
use crate::commit::CommitObservation;
use crate::testing::{assert_timers, TimerChange};

fn coordinator() -> Harness<TwoPhaseCommit> {
    server(CORRECT, 0)
}

fn decision_of(server: &TwoPhaseServer, transaction: TransactionId) -> Option<Decision> {
    let TwoPhaseServer::Coordinator(coordinator) = server else { panic!("server 0 coordinates") };
    coordinator.decision(transaction)
}

/// A coordinator that began transaction 7 on keys 0 and 1 (participants 1 and 2).
fn voting() -> Harness<TwoPhaseCommit> {
    let mut server = coordinator();
    server.deliver(CLIENT, request(7, &[0, 1], &[]));
    server
}

/// A coordinator that committed transaction 7.
fn committed() -> Harness<TwoPhaseCommit> {
    let mut server = voting();
    server.deliver(1, TwoPhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    server.deliver(2, TwoPhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    server
}

/// A commit is reported once durable, an abort (never forced) at once.
fn decided(transaction: TransactionId, decision: Decision) -> Effect<TwoPhaseCommit> {
    let observation = CommitObservation::Decided { transaction, decision };
    match decision {
        Decision::Commit => Effect::ObserveAfterSync(observation),
        Decision::Abort => Effect::Observe(observation),
    }
}

#[test]
fn request_forces_a_began_record_then_prepares_each_participant_with_its_share_bhg_7_4() {
    let mut server = coordinator();
    let effects = server.deliver(CLIENT, request(7, &[0, 1, 4], &[4]));
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Began { transaction: 7, participants: vec![1, 2] }),
            Effect::Sync(1),
            Effect::ObserveAfterSync(CommitObservation::Began { transaction: 7, keys: vec![0, 1, 4], vetoes: vec![4] }),
            Effect::send_after_sync(1, TwoPhaseMessage::Prepare { transaction: 7, share: share(&[0], &[]) }),
            Effect::send_after_sync(2, TwoPhaseMessage::Prepare { transaction: 7, share: share(&[1, 4], &[4]) }),
            Effect::set_timer(TIMEOUT, TwoPhaseTimer::Retry(7)),
        ],
        "the record is durable before any Prepare leaves"
    );
}

#[test]
fn every_yes_vote_commits_with_the_decision_forced_before_it_is_sent_bhg_7_4() {
    let mut server = voting();
    let first = server.deliver(1, TwoPhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    assert!(first.list.is_empty(), "one vote is not enough");
    let effects = server.deliver(2, TwoPhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Commit }),
            Effect::Sync(2),
            decided(7, Decision::Commit),
            Effect::send_after_sync(1, decision(7, Decision::Commit)),
            Effect::send_after_sync(2, decision(7, Decision::Commit)),
            Effect::send_after_sync(CLIENT, reply(7, Decision::Commit)),
            Effect::set_timer(TIMEOUT, TwoPhaseTimer::Retry(7)),
        ],
        "the commit is durable before anyone hears of it, and the coordinator waits for the acks"
    );
}

#[test]
fn a_no_vote_aborts_unforced_unacknowledged_and_spares_the_no_voter_presumed_abort() {
    let mut server = voting();
    let effects = server.deliver(2, TwoPhaseMessage::Vote { transaction: 7, yes: false, reads: vec![] });
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }),
            decided(7, Decision::Abort),
            Effect::send(1, decision(7, Decision::Abort)),
            Effect::send(CLIENT, reply(7, Decision::Abort)),
            Effect::cancel_timer(TwoPhaseTimer::Retry(7)),
        ],
        "presumed abort: an abort is not forced and no acks are awaited"
    );
    let late = server.deliver(1, TwoPhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    assert_eq!(late.list, [Effect::send(1, decision(7, Decision::Abort))], "a late yes voter is told at once");
}

#[test]
fn late_votes_get_prepare_again_and_after_vote_rounds_the_transaction_aborts_bhg_7_4_timeouts() {
    let mut server = voting();
    server.deliver(1, TwoPhaseMessage::Vote { transaction: 7, yes: true, reads: vec![] });
    for _ in 1..VOTE_ROUNDS {
        let effects = server.fire(TwoPhaseTimer::Retry(7));
        assert_eq!(
            effects.list,
            [
                Effect::send(2, TwoPhaseMessage::Prepare { transaction: 7, share: share(&[1], &[]) }),
                Effect::set_timer(TIMEOUT, TwoPhaseTimer::Retry(7)),
            ]
        );
    }
    let effects = server.fire(TwoPhaseTimer::Retry(7));
    assert_eq!(
        effects.observed(),
        [
            CommitObservation::TimedOut { transaction: 7 },
            CommitObservation::Decided { transaction: 7, decision: Decision::Abort },
        ]
    );
    assert_eq!(
        effects.sent(),
        [(1, decision(7, Decision::Abort)), (2, decision(7, Decision::Abort)), (CLIENT, reply(7, Decision::Abort))]
    );
}

#[test]
fn an_unacknowledged_commit_is_sent_again_and_every_ack_ends_the_transaction() {
    let mut server = committed();
    let first = server.deliver(1, TwoPhaseMessage::Ack { transaction: 7 });
    assert!(first.list.is_empty());
    let effects = server.fire(TwoPhaseTimer::Retry(7));
    assert_eq!(
        effects.list,
        [Effect::send(2, decision(7, Decision::Commit)), Effect::set_timer(2 * TIMEOUT, TwoPhaseTimer::Retry(7))],
        "re-sends back off"
    );
    let effects = server.deliver(2, TwoPhaseMessage::Ack { transaction: 7 });
    assert_eq!(
        effects.list,
        [Effect::Write(TwoPhaseRecord::Ended { transaction: 7 }), Effect::cancel_timer(TwoPhaseTimer::Retry(7))],
        "the end record is not forced"
    );
    assert_eq!(decision_of(&server, 7), Some(Decision::Commit));
}

#[test]
fn a_repeated_request_waits_for_the_decision_or_gets_it() {
    let mut server = voting();
    let waiting = server.deliver(5, request(7, &[0, 1], &[]));
    assert!(waiting.list.is_empty(), "the transaction is not begun twice");
    let effects = server.deliver(2, TwoPhaseMessage::Vote { transaction: 7, yes: false, reads: vec![] });
    assert_eq!(
        effects.sent(),
        [(1, decision(7, Decision::Abort)), (CLIENT, reply(7, Decision::Abort)), (5, reply(7, Decision::Abort))]
    );
    let effects = server.deliver(CLIENT, request(7, &[0, 1], &[]));
    assert_eq!(effects.list, [Effect::send(CLIENT, reply(7, Decision::Abort))]);
}

#[test]
fn decision_request_is_answered_when_decided_and_not_while_voting_bhg_7_4() {
    let mut server = voting();
    let effects = server.deliver(1, TwoPhaseMessage::DecisionRequest { transaction: 7 });
    assert!(effects.list.is_empty(), "the participant must wait while votes are out");
    let mut server = committed();
    let effects = server.deliver(2, TwoPhaseMessage::DecisionRequest { transaction: 7 });
    assert_eq!(effects.list, [Effect::send(2, decision(7, Decision::Commit))]);
}

#[test]
fn decision_request_about_an_unknown_transaction_is_answered_abort_presumed_abort() {
    let mut server = coordinator();
    let effects = server.deliver(3, TwoPhaseMessage::DecisionRequest { transaction: 9 });
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Decided { transaction: 9, decision: Decision::Abort }),
            decided(9, Decision::Abort),
            Effect::send(3, decision(9, Decision::Abort)),
        ]
    );
    let effects = server.deliver(CLIENT, request(9, &[2], &[]));
    assert_eq!(effects.list, [Effect::send(CLIENT, reply(9, Decision::Abort))], "it never begins it afterwards");
}

#[test]
fn recovered_coordinator_presumes_abort_without_a_decision_record_and_resends_commits_bhg_7_4_recovery() {
    let records = [
        TwoPhaseRecord::Began { transaction: 7, participants: vec![1, 2] },
        TwoPhaseRecord::Began { transaction: 8, participants: vec![1, 3] },
        TwoPhaseRecord::Decided { transaction: 8, decision: Decision::Commit },
        TwoPhaseRecord::Began { transaction: 9, participants: vec![2] },
        TwoPhaseRecord::Decided { transaction: 9, decision: Decision::Commit },
        TwoPhaseRecord::Ended { transaction: 9 },
        TwoPhaseRecord::Began { transaction: 10, participants: vec![3] },
        TwoPhaseRecord::Decided { transaction: 10, decision: Decision::Abort },
    ];
    let mut server = Harness::<TwoPhaseCommit>::recovered(&setup(CORRECT), 0, &records, SEED);
    let effects = server.recover();
    assert_eq!(
        effects.observed(),
        [
            CommitObservation::Restarted { transaction: 7 },
            CommitObservation::Decided { transaction: 7, decision: Decision::Abort },
        ]
    );
    assert_eq!(effects.written(), [TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(
        effects.sent(),
        [
            (1, decision(7, Decision::Abort)),
            (2, decision(7, Decision::Abort)),
            (1, decision(8, Decision::Commit)),
            (3, decision(8, Decision::Commit)),
        ]
    );
    assert_timers(
        &effects,
        &[TimerChange::Cancel(TwoPhaseTimer::Retry(7)), TimerChange::exactly(TwoPhaseTimer::Retry(8), TIMEOUT)],
    );
    let decisions: Vec<Option<Decision>> = (7..=11).map(|t| decision_of(&server, t)).collect();
    let (commit, abort) = (Some(Decision::Commit), Some(Decision::Abort));
    assert_eq!(decisions, vec![abort, commit, commit, abort, None]);
    let effects = server.deliver(2, TwoPhaseMessage::DecisionRequest { transaction: 9 });
    assert_eq!(effects.sent(), [(2, decision(9, Decision::Commit))], "an ended commit is still answered");
}
