//! The participant: votes with forced writes, locks, decisions, blocking and recovery
//! (BHG section 7.4), and the `unilateral-abort` variant.

use super::*;
use crate::commit::CommitObservation;

fn participant(variant: &'static str) -> Harness<TwoPhaseCommit> {
    server(variant, 1)
}

fn participant_of(server: &TwoPhaseServer) -> &Participant {
    let TwoPhaseServer::Participant(participant) = server else { panic!("server 1 is a participant") };
    participant
}

fn prepare(transaction: TransactionId, keys: &[Key], vetoes: &[Key]) -> TwoPhaseMessage {
    TwoPhaseMessage::Prepare { transaction, share: share(keys, vetoes) }
}

fn vote(transaction: TransactionId, yes: bool) -> TwoPhaseMessage {
    TwoPhaseMessage::Vote { transaction, yes, reads: vec![] }
}

/// Participant 1 prepared for transaction 7 on keys 0 and 3.
fn prepared(variant: &'static str) -> Harness<TwoPhaseCommit> {
    let mut server = participant(variant);
    server.deliver(0, prepare(7, &[0, 3], &[]));
    server
}

#[test]
fn yes_vote_locks_and_is_forced_to_the_log_before_it_is_sent_bhg_7_4() {
    let mut server = participant(CORRECT);
    let effects = server.deliver(0, prepare(7, &[0, 3], &[]));
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Prepared {
                transaction: 7,
                keys: vec![0, 3],
                writes: vec![0, 3],
                reads: vec![]
            }),
            Effect::Sync(1),
            Effect::set_timer(u64::from(UNCERTAIN_ROUNDS) * TIMEOUT, TwoPhaseTimer::Uncertain(7)),
            Effect::ObserveAfterSync(CommitObservation::Voted { transaction: 7, yes: true }),
            Effect::send_after_sync(0, vote(7, true)),
        ],
        "the vote leaves only with its record durable"
    );
    assert!(participant_of(&server).locks().holds(7, &[0, 3]));
}

#[test]
fn a_vetoed_key_votes_no_once_its_abort_is_forced() {
    let mut server = participant(CORRECT);
    let effects = server.deliver(0, prepare(7, &[0, 3], &[3]));
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }),
            Effect::Sync(1),
            Effect::send_after_sync(0, vote(7, false)),
            Effect::ObserveAfterSync(CommitObservation::Voted { transaction: 7, yes: false }),
            Effect::ObserveAfterSync(CommitObservation::Decided { transaction: 7, decision: Decision::Abort }),
        ],
        "no timer; the vote and its report wait for the abort to be durable"
    );
    assert_eq!(participant_of(&server).locks().holder(0), None);
}

#[test]
fn a_conflict_on_a_locked_key_votes_no_until_the_decision_releases_it() {
    let mut server = prepared(CORRECT);
    let effects = server.deliver(0, prepare(8, &[3, 6], &[]));
    assert_eq!(effects.sent(), [(0, vote(8, false))]);
    server.deliver(0, decision(7, Decision::Commit));
    let effects = server.deliver(0, prepare(9, &[3, 6], &[]));
    assert_eq!(effects.sent(), [(0, vote(9, true))]);
}

#[test]
fn commit_is_forced_before_the_ack_and_releases_the_locks_bhg_7_4() {
    let mut server = prepared(CORRECT);
    let effects = server.deliver(0, decision(7, Decision::Commit));
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Commit }),
            Effect::Sync(2),
            Effect::ObserveAfterSync(CommitObservation::Decided { transaction: 7, decision: Decision::Commit }),
            Effect::cancel_timer(TwoPhaseTimer::Uncertain(7)),
            Effect::send_after_sync(0, TwoPhaseMessage::Ack { transaction: 7 }),
        ]
    );
    assert_eq!(participant_of(&server).locks().holder(0), None);
    let again = server.deliver(0, decision(7, Decision::Commit));
    assert_eq!(
        again.list,
        [Effect::send_after_sync(0, TwoPhaseMessage::Ack { transaction: 7 })],
        "a re-sent commit is acked again"
    );
}

#[test]
fn abort_is_neither_forced_nor_acknowledged_presumed_abort() {
    let mut server = prepared(CORRECT);
    let effects = server.deliver(0, decision(7, Decision::Abort));
    assert_eq!(
        effects.list,
        [
            Effect::Write(TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }),
            Effect::Observe(CommitObservation::Decided { transaction: 7, decision: Decision::Abort }),
            Effect::cancel_timer(TwoPhaseTimer::Uncertain(7)),
        ]
    );
    assert_eq!(participant_of(&server).decision(7), Some(Decision::Abort));
}

#[test]
fn a_repeated_prepare_gets_the_same_vote_and_an_early_abort_makes_a_late_prepare_vote_no() {
    let mut server = prepared(CORRECT);
    let effects = server.deliver(0, prepare(7, &[0, 3], &[]));
    assert_eq!(effects.list, [Effect::send_after_sync(0, vote(7, true))], "nothing written again; after its record");
    server.deliver(0, decision(8, Decision::Abort));
    let effects = server.deliver(0, prepare(8, &[6], &[]));
    assert_eq!(effects.sent(), [(0, vote(8, false))]);
    assert_eq!(participant_of(&server).locks().holder(6), None);
}

#[test]
fn an_uncertain_participant_blocks_and_keeps_asking_the_coordinator_bhg_7_4_timeouts() {
    let mut server = prepared(CORRECT);
    let ask = || Effect::send(0, TwoPhaseMessage::DecisionRequest { transaction: 7 });
    let effects = server.fire(TwoPhaseTimer::Uncertain(7));
    assert_eq!(
        effects.list,
        [
            Effect::Observe(CommitObservation::Blocked { transaction: 7 }),
            ask(),
            Effect::set_timer(2 * TIMEOUT, TwoPhaseTimer::Uncertain(7)),
        ],
        "it must not decide alone"
    );
    let effects = server.fire(TwoPhaseTimer::Uncertain(7));
    assert_eq!(
        effects.list,
        [ask(), Effect::set_timer(4 * TIMEOUT, TwoPhaseTimer::Uncertain(7))],
        "blocked once, until it decides"
    );
    assert_eq!(participant_of(&server).decision(7), None);
    assert!(participant_of(&server).locks().holds(7, &[0, 3]), "its locks wait too");
}

#[test]
fn unilateral_abort_variant_aborts_on_the_timeout_after_voting_yes() {
    let mut server = prepared(UNILATERAL_ABORT);
    let effects = server.fire(TwoPhaseTimer::Uncertain(7));
    assert_eq!(
        effects.observed(),
        [
            CommitObservation::TimedOut { transaction: 7 },
            CommitObservation::Decided { transaction: 7, decision: Decision::Abort },
        ]
    );
    assert!(effects.sent().is_empty());
    let effects = server.deliver(0, decision(7, Decision::Commit));
    assert!(effects.list.is_empty(), "it keeps its abort: AC1 is broken");
}

#[test]
fn a_client_inquiry_is_answered_only_once_decided() {
    let mut server = prepared(CORRECT);
    let inquiry = || TwoPhaseMessage::Client(ClientMessage::Inquiry { transaction: 7 });
    assert!(server.deliver(CLIENT, inquiry()).list.is_empty());
    server.deliver(0, decision(7, Decision::Commit));
    assert_eq!(server.deliver(CLIENT, inquiry()).list, [Effect::send(CLIENT, reply(7, Decision::Commit))]);
}

#[test]
fn recovered_participant_retakes_the_locks_of_prepared_transactions_and_asks_at_once_bhg_7_4_recovery() {
    let records = [
        TwoPhaseRecord::Prepared { transaction: 5, keys: vec![0], writes: vec![0], reads: vec![] },
        TwoPhaseRecord::Prepared { transaction: 6, keys: vec![3], writes: vec![3], reads: vec![] },
        TwoPhaseRecord::Decided { transaction: 6, decision: Decision::Commit },
        TwoPhaseRecord::Decided { transaction: 4, decision: Decision::Abort },
    ];
    let mut server = Harness::<TwoPhaseCommit>::recovered(&setup(CORRECT), 1, &records, SEED);
    let locks = participant_of(&server).locks();
    assert_eq!((locks.holder(0), locks.holder(3)), (Some(5), None));
    let effects = server.recover();
    assert_eq!(
        effects.list,
        [
            Effect::Observe(CommitObservation::Restarted { transaction: 5 }),
            Effect::send(0, TwoPhaseMessage::DecisionRequest { transaction: 5 }),
            Effect::set_timer(TIMEOUT, TwoPhaseTimer::Uncertain(5)),
        ]
    );
    let effects = server.deliver(0, prepare(8, &[0], &[]));
    assert_eq!(effects.sent(), [(0, vote(8, false))], "key 0 is still locked");
    let effects = server.deliver(0, decision(5, Decision::Commit));
    assert_eq!(effects.sent(), [(0, TwoPhaseMessage::Ack { transaction: 5 })]);
}
