//! The participant: votes with forced writes, locks, decisions, blocking and recovery
//! (BHG section 7.4), and the `unilateral-abort` variant.

use super::*;
use crate::commit::CommitObservation;

fn participant(variant: &'static str) -> TwoPhaseServer {
    TwoPhaseCommit::server(&setup(variant), 1)
}

fn participant_of(server: &TwoPhaseServer) -> &Participant {
    let TwoPhaseServer::Participant(participant) = server else { panic!("server 1 is a participant") };
    participant
}

fn prepare(transaction: TransactionId, keys: &[Key], vetoes: &[Key]) -> TwoPhaseMessage {
    TwoPhaseMessage::Prepare { transaction, share: share(keys, vetoes) }
}

/// Participant 1 prepared for transaction 7 on keys 0 and 3.
fn prepared(variant: &'static str) -> TwoPhaseServer {
    let mut server = participant(variant);
    deliver(&mut server, 1, 0, prepare(7, &[0, 3], &[]));
    server
}

#[test]
fn yes_vote_locks_and_is_written_and_synced_in_the_same_effects_bhg_7_4() {
    let mut server = participant(CORRECT);
    let effects = deliver(&mut server, 1, 0, prepare(7, &[0, 3], &[]));
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Prepared { transaction: 7, keys: vec![0, 3] }]);
    assert_eq!(effects.synced, Some(1), "the vote leaves only with its record durable");
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Vote { transaction: 7, yes: true })]);
    assert_eq!(effects.observations, vec![CommitObservation::Voted { transaction: 7, yes: true }]);
    assert_eq!(effects.timers, vec![set(u64::from(UNCERTAIN_ROUNDS) * TIMEOUT, TwoPhaseTimer::Uncertain(7))]);
    assert!(participant_of(&server).locks().holds(7, &[0, 3]));
}

#[test]
fn a_vetoed_key_votes_no_and_aborts_at_once_without_forcing() {
    let mut server = participant(CORRECT);
    let effects = deliver(&mut server, 1, 0, prepare(7, &[0, 3], &[3]));
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(effects.synced, None);
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Vote { transaction: 7, yes: false })]);
    assert_eq!(
        effects.observations,
        vec![
            CommitObservation::Voted { transaction: 7, yes: false },
            CommitObservation::Decided { transaction: 7, decision: Decision::Abort },
        ]
    );
    assert!(effects.timers.is_empty());
    assert_eq!(participant_of(&server).locks().holder(0), None);
}

#[test]
fn a_conflict_on_a_locked_key_votes_no_until_the_decision_releases_it() {
    let mut server = prepared(CORRECT);
    let effects = deliver(&mut server, 1, 0, prepare(8, &[3, 6], &[]));
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Vote { transaction: 8, yes: false })]);
    deliver(&mut server, 1, 0, decision(7, Decision::Commit));
    let effects = deliver(&mut server, 1, 0, prepare(9, &[3, 6], &[]));
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Vote { transaction: 9, yes: true })]);
}

#[test]
fn commit_is_forced_before_the_ack_and_releases_the_locks_bhg_7_4() {
    let mut server = prepared(CORRECT);
    let effects = deliver(&mut server, 1, 0, decision(7, Decision::Commit));
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Commit }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![CommitObservation::Decided { transaction: 7, decision: Decision::Commit }]);
    assert_eq!(effects.timers, vec![cancel(TwoPhaseTimer::Uncertain(7))]);
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Ack { transaction: 7 })]);
    assert_eq!(participant_of(&server).locks().holder(0), None);
    let again = deliver(&mut server, 1, 0, decision(7, Decision::Commit));
    assert_eq!(again.sends, vec![(0, TwoPhaseMessage::Ack { transaction: 7 })], "a re-sent commit is acked again");
    assert!(again.writes.is_empty() && again.observations.is_empty());
}

#[test]
fn abort_is_neither_forced_nor_acknowledged_presumed_abort() {
    let mut server = prepared(CORRECT);
    let effects = deliver(&mut server, 1, 0, decision(7, Decision::Abort));
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(effects.synced, None);
    assert!(effects.sends.is_empty());
    assert_eq!(participant_of(&server).decision(7), Some(Decision::Abort));
}

#[test]
fn a_repeated_prepare_gets_the_same_vote_and_an_early_abort_makes_a_late_prepare_vote_no() {
    let mut server = prepared(CORRECT);
    let effects = deliver(&mut server, 1, 0, prepare(7, &[0, 3], &[]));
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Vote { transaction: 7, yes: true })]);
    assert!(effects.writes.is_empty());
    deliver(&mut server, 1, 0, decision(8, Decision::Abort));
    let effects = deliver(&mut server, 1, 0, prepare(8, &[6], &[]));
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Vote { transaction: 8, yes: false })]);
    assert_eq!(participant_of(&server).locks().holder(6), None);
}

#[test]
fn an_uncertain_participant_blocks_and_keeps_asking_the_coordinator_bhg_7_4_timeouts() {
    let mut server = prepared(CORRECT);
    let effects = fire(&mut server, 1, TwoPhaseTimer::Uncertain(7));
    assert_eq!(effects.observations, vec![CommitObservation::Blocked { transaction: 7 }]);
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::DecisionRequest { transaction: 7 })]);
    assert_eq!(effects.timers, vec![set(2 * TIMEOUT, TwoPhaseTimer::Uncertain(7))]);
    assert!(effects.writes.is_empty(), "it must not decide alone");
    let effects = fire(&mut server, 1, TwoPhaseTimer::Uncertain(7));
    assert!(effects.observations.is_empty(), "blocked once, until it decides");
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::DecisionRequest { transaction: 7 })]);
    assert_eq!(effects.timers, vec![set(4 * TIMEOUT, TwoPhaseTimer::Uncertain(7))]);
    assert_eq!(participant_of(&server).decision(7), None);
    assert!(participant_of(&server).locks().holds(7, &[0, 3]), "its locks wait too");
}

#[test]
fn unilateral_abort_variant_aborts_on_the_timeout_after_voting_yes() {
    let mut server = prepared(UNILATERAL_ABORT);
    let effects = fire(&mut server, 1, TwoPhaseTimer::Uncertain(7));
    assert_eq!(
        effects.observations,
        vec![
            CommitObservation::TimedOut { transaction: 7 },
            CommitObservation::Decided { transaction: 7, decision: Decision::Abort },
        ]
    );
    assert!(effects.sends.is_empty());
    let effects = deliver(&mut server, 1, 0, decision(7, Decision::Commit));
    assert!(effects.sends.is_empty() && effects.observations.is_empty(), "it keeps its abort: AC1 is broken");
}

#[test]
fn a_client_inquiry_is_answered_only_once_decided() {
    let mut server = prepared(CORRECT);
    let inquiry = || TwoPhaseMessage::Client(ClientMessage::Inquiry { transaction: 7 });
    assert!(deliver(&mut server, 1, CLIENT, inquiry()).sends.is_empty());
    deliver(&mut server, 1, 0, decision(7, Decision::Commit));
    assert_eq!(deliver(&mut server, 1, CLIENT, inquiry()).sends, vec![(CLIENT, reply(7, Decision::Commit))]);
}

#[test]
fn recovered_participant_retakes_the_locks_of_prepared_transactions_and_asks_at_once_bhg_7_4_recovery() {
    let records = [
        TwoPhaseRecord::Prepared { transaction: 5, keys: vec![0] },
        TwoPhaseRecord::Prepared { transaction: 6, keys: vec![3] },
        TwoPhaseRecord::Decided { transaction: 6, decision: Decision::Commit },
        TwoPhaseRecord::Decided { transaction: 4, decision: Decision::Abort },
    ];
    let mut server = TwoPhaseCommit::recover(&setup(CORRECT), 1, &records);
    let locks = participant_of(&server).locks();
    assert_eq!((locks.holder(0), locks.holder(3)), (Some(5), None));
    let effects = step(&mut server, 1, |node, ctx| node.on_recover(ctx));
    assert_eq!(effects.observations, vec![CommitObservation::Restarted { transaction: 5 }]);
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::DecisionRequest { transaction: 5 })]);
    assert_eq!(effects.timers, vec![set(TIMEOUT, TwoPhaseTimer::Uncertain(5))]);
    let effects = deliver(&mut server, 1, 0, prepare(8, &[0], &[]));
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Vote { transaction: 8, yes: false })], "key 0 is still locked");
    let effects = deliver(&mut server, 1, 0, decision(5, Decision::Commit));
    assert_eq!(effects.sends, vec![(0, TwoPhaseMessage::Ack { transaction: 5 })]);
}
