//! The coordinator: phase 1, the decision, presumed abort and recovery (BHG section 7.4).

use super::*;
use crate::commit::CommitObservation;

fn coordinator() -> TwoPhaseServer {
    TwoPhaseCommit::server(&setup(CORRECT), 0)
}

fn decision_of(server: &TwoPhaseServer, transaction: TransactionId) -> Option<Decision> {
    let TwoPhaseServer::Coordinator(coordinator) = server else { panic!("server 0 coordinates") };
    coordinator.decision(transaction)
}

/// A coordinator that began transaction 7 on keys 0 and 1 (participants 1 and 2).
fn voting() -> TwoPhaseServer {
    let mut server = coordinator();
    deliver(&mut server, 0, CLIENT, request(7, &[0, 1], &[]));
    server
}

/// A coordinator that committed transaction 7.
fn committed() -> TwoPhaseServer {
    let mut server = voting();
    deliver(&mut server, 0, 1, TwoPhaseMessage::Vote { transaction: 7, yes: true });
    deliver(&mut server, 0, 2, TwoPhaseMessage::Vote { transaction: 7, yes: true });
    server
}

#[test]
fn request_forces_a_began_record_then_prepares_each_participant_with_its_share_bhg_7_4() {
    let mut server = coordinator();
    let effects = deliver(&mut server, 0, CLIENT, request(7, &[0, 1, 4], &[4]));
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Began { transaction: 7, participants: vec![1, 2] }]);
    assert_eq!(effects.synced, Some(1), "the record is durable before any Prepare leaves");
    assert_eq!(
        effects.sends,
        vec![
            (1, TwoPhaseMessage::Prepare { transaction: 7, share: share(&[0], &[]) }),
            (2, TwoPhaseMessage::Prepare { transaction: 7, share: share(&[1, 4], &[4]) }),
        ]
    );
    assert_eq!(
        effects.observations,
        vec![CommitObservation::Began { transaction: 7, keys: vec![0, 1, 4], vetoes: vec![4] }]
    );
    assert_eq!(effects.timers, vec![set(TIMEOUT, TwoPhaseTimer::Retry(7))]);
}

#[test]
fn every_yes_vote_commits_with_the_decision_forced_before_it_is_sent_bhg_7_4() {
    let mut server = voting();
    let first = deliver(&mut server, 0, 1, TwoPhaseMessage::Vote { transaction: 7, yes: true });
    assert!(first.sends.is_empty() && first.writes.is_empty(), "one vote is not enough");
    let effects = deliver(&mut server, 0, 2, TwoPhaseMessage::Vote { transaction: 7, yes: true });
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Commit }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![CommitObservation::Decided { transaction: 7, decision: Decision::Commit }]);
    assert_eq!(
        effects.sends,
        vec![
            (1, decision(7, Decision::Commit)),
            (2, decision(7, Decision::Commit)),
            (CLIENT, reply(7, Decision::Commit)),
        ]
    );
    assert_eq!(effects.timers, vec![set(TIMEOUT, TwoPhaseTimer::Retry(7))], "it waits for the acks");
}

#[test]
fn a_no_vote_aborts_unforced_unacknowledged_and_spares_the_no_voter_presumed_abort() {
    let mut server = voting();
    let effects = deliver(&mut server, 0, 2, TwoPhaseMessage::Vote { transaction: 7, yes: false });
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(effects.synced, None, "presumed abort: an abort need not be forced");
    assert_eq!(effects.sends, vec![(1, decision(7, Decision::Abort)), (CLIENT, reply(7, Decision::Abort))]);
    assert_eq!(effects.timers, vec![cancel(TwoPhaseTimer::Retry(7))], "no acks are awaited");
    let late = deliver(&mut server, 0, 1, TwoPhaseMessage::Vote { transaction: 7, yes: true });
    assert_eq!(late.sends, vec![(1, decision(7, Decision::Abort))], "a late yes voter is told at once");
}

#[test]
fn late_votes_get_prepare_again_and_after_vote_rounds_the_transaction_aborts_bhg_7_4_timeouts() {
    let mut server = voting();
    deliver(&mut server, 0, 1, TwoPhaseMessage::Vote { transaction: 7, yes: true });
    for _ in 1..VOTE_ROUNDS {
        let effects = fire(&mut server, 0, TwoPhaseTimer::Retry(7));
        assert_eq!(effects.sends, vec![(2, TwoPhaseMessage::Prepare { transaction: 7, share: share(&[1], &[]) })]);
        assert_eq!(effects.timers, vec![set(TIMEOUT, TwoPhaseTimer::Retry(7))]);
    }
    let effects = fire(&mut server, 0, TwoPhaseTimer::Retry(7));
    assert_eq!(
        effects.observations,
        vec![
            CommitObservation::TimedOut { transaction: 7 },
            CommitObservation::Decided { transaction: 7, decision: Decision::Abort },
        ]
    );
    assert_eq!(
        effects.sends,
        vec![(1, decision(7, Decision::Abort)), (2, decision(7, Decision::Abort)), (CLIENT, reply(7, Decision::Abort))]
    );
}

#[test]
fn an_unacknowledged_commit_is_sent_again_and_every_ack_ends_the_transaction() {
    let mut server = committed();
    let first = deliver(&mut server, 0, 1, TwoPhaseMessage::Ack { transaction: 7 });
    assert!(first.writes.is_empty() && first.timers.is_empty());
    let effects = fire(&mut server, 0, TwoPhaseTimer::Retry(7));
    assert_eq!(effects.sends, vec![(2, decision(7, Decision::Commit))]);
    assert_eq!(effects.timers, vec![set(2 * TIMEOUT, TwoPhaseTimer::Retry(7))], "re-sends back off");
    let effects = deliver(&mut server, 0, 2, TwoPhaseMessage::Ack { transaction: 7 });
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Ended { transaction: 7 }]);
    assert_eq!(effects.synced, None);
    assert_eq!(effects.timers, vec![cancel(TwoPhaseTimer::Retry(7))]);
    assert_eq!(decision_of(&server, 7), Some(Decision::Commit));
}

#[test]
fn a_repeated_request_waits_for_the_decision_or_gets_it() {
    let mut server = voting();
    let waiting = deliver(&mut server, 0, 5, request(7, &[0, 1], &[]));
    assert!(waiting.sends.is_empty() && waiting.writes.is_empty(), "the transaction is not begun twice");
    let effects = deliver(&mut server, 0, 2, TwoPhaseMessage::Vote { transaction: 7, yes: false });
    assert_eq!(
        effects.sends,
        vec![(1, decision(7, Decision::Abort)), (CLIENT, reply(7, Decision::Abort)), (5, reply(7, Decision::Abort))]
    );
    let effects = deliver(&mut server, 0, CLIENT, request(7, &[0, 1], &[]));
    assert_eq!(effects.sends, vec![(CLIENT, reply(7, Decision::Abort))]);
}

#[test]
fn decision_request_is_answered_when_decided_and_not_while_voting_bhg_7_4() {
    let mut server = voting();
    let effects = deliver(&mut server, 0, 1, TwoPhaseMessage::DecisionRequest { transaction: 7 });
    assert!(effects.sends.is_empty(), "the participant must wait while votes are out");
    let mut server = committed();
    let effects = deliver(&mut server, 0, 2, TwoPhaseMessage::DecisionRequest { transaction: 7 });
    assert_eq!(effects.sends, vec![(2, decision(7, Decision::Commit))]);
}

#[test]
fn decision_request_about_an_unknown_transaction_is_answered_abort_presumed_abort() {
    let mut server = coordinator();
    let effects = deliver(&mut server, 0, 3, TwoPhaseMessage::DecisionRequest { transaction: 9 });
    assert_eq!(effects.sends, vec![(3, decision(9, Decision::Abort))]);
    assert_eq!(effects.observations, vec![CommitObservation::Decided { transaction: 9, decision: Decision::Abort }]);
    let effects = deliver(&mut server, 0, CLIENT, request(9, &[2], &[]));
    assert_eq!(effects.sends, vec![(CLIENT, reply(9, Decision::Abort))], "it never begins it afterwards");
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
    let mut server = TwoPhaseCommit::recover(&setup(CORRECT), 0, &records);
    let effects = step(&mut server, 0, |node, ctx| node.on_recover(ctx));
    assert_eq!(
        effects.observations,
        vec![
            CommitObservation::Restarted { transaction: 7 },
            CommitObservation::Decided { transaction: 7, decision: Decision::Abort },
        ]
    );
    assert_eq!(effects.writes, vec![TwoPhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(
        effects.sends,
        vec![
            (1, decision(7, Decision::Abort)),
            (2, decision(7, Decision::Abort)),
            (1, decision(8, Decision::Commit)),
            (3, decision(8, Decision::Commit)),
        ]
    );
    assert_eq!(effects.timers, vec![cancel(TwoPhaseTimer::Retry(7)), set(TIMEOUT, TwoPhaseTimer::Retry(8))]);
    let decisions: Vec<Option<Decision>> = (7..=11).map(|t| decision_of(&server, t)).collect();
    let (commit, abort) = (Some(Decision::Commit), Some(Decision::Abort));
    assert_eq!(decisions, vec![abort, commit, commit, abort, None]);
    let effects = deliver(&mut server, 0, 2, TwoPhaseMessage::DecisionRequest { transaction: 9 });
    assert_eq!(effects.sends, vec![(2, decision(9, Decision::Commit))], "an ended commit is still answered");
}
