//! The participant in the coordinator's three phases (Skeen 1981; BHG section 7.5).

use super::*;

fn participant() -> ThreePhaseServer {
    ThreePhaseCommit::server(&setup(), 1)
}

#[test]
fn yes_vote_is_forced_with_its_keys_and_participants_in_the_same_effects() {
    let mut server = participant();
    let effects = deliver(&mut server, 1, 0, can_commit(7, &[0, 3], &[1, 2]));
    assert_eq!(
        effects.writes,
        vec![ThreePhaseRecord::Voted { transaction: 7, keys: vec![0, 3], participants: vec![1, 2] }]
    );
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![CommitObservation::Voted { transaction: 7, yes: true }]);
    assert_eq!(effects.sends, vec![(0, ThreePhaseMessage::Vote { transaction: 7, yes: true })]);
    assert_eq!(effects.timers, vec![set(SUSPICION, ThreePhaseTimer::Suspect(7))]);
    assert_eq!(state(&server, 7), Some(SiteState::Uncertain));
}

#[test]
fn a_conflict_votes_no_and_aborts_forced() {
    let mut server = uncertain(1);
    let effects = deliver(&mut server, 1, 0, can_commit(8, &[0], &[1]));
    assert_eq!(
        effects.observations,
        vec![CommitObservation::Voted { transaction: 8, yes: false }, decided(8, Decision::Abort)]
    );
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 8, decision: Decision::Abort }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.sends, vec![(0, ThreePhaseMessage::Vote { transaction: 8, yes: false })]);
}

#[test]
fn pre_commit_is_forced_before_the_ack_and_restarts_the_wait() {
    let mut server = uncertain(1);
    let effects = deliver(&mut server, 1, 0, ThreePhaseMessage::PreCommit { transaction: 7 });
    assert_eq!(effects.writes, vec![ThreePhaseRecord::PreCommitted { transaction: 7 }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.sends, vec![(0, ThreePhaseMessage::Ack { transaction: 7 })]);
    assert_eq!(effects.timers, vec![set(SUSPICION, ThreePhaseTimer::Suspect(7))]);
    assert_eq!(state(&server, 7), Some(SiteState::PreCommitted));
}

#[test]
fn do_commit_is_forced_and_answered_to_the_coordinator_only() {
    let mut server = uncertain(1);
    deliver(&mut server, 1, 0, ThreePhaseMessage::PreCommit { transaction: 7 });
    let effects = deliver(&mut server, 1, 0, ThreePhaseMessage::DoCommit { transaction: 7 });
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Commit }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![decided(7, Decision::Commit)]);
    assert_eq!(effects.timers, vec![cancel(ThreePhaseTimer::Suspect(7))]);
    assert_eq!(effects.sends, vec![(0, ThreePhaseMessage::HaveCommitted { transaction: 7 })]);
    let from_backup = deliver(&mut server, 1, 2, ThreePhaseMessage::DoCommit { transaction: 7 });
    assert!(from_backup.sends.is_empty() && from_backup.writes.is_empty());
}

#[test]
fn an_abort_before_can_commit_makes_the_late_can_commit_vote_no() {
    let mut server = participant();
    let effects = deliver(&mut server, 1, 0, ThreePhaseMessage::Abort { transaction: 7 });
    assert_eq!(effects.observations, vec![decided(7, Decision::Abort)]);
    let effects = deliver(&mut server, 1, 0, can_commit(7, &[0], &[1]));
    assert_eq!(effects.sends, vec![(0, ThreePhaseMessage::Vote { transaction: 7, yes: false })]);
    assert!(effects.writes.is_empty());
}

#[test]
fn decision_requests_and_inquiries_are_answered_once_decided() {
    let mut server = uncertain(1);
    let ask = ThreePhaseMessage::DecisionRequest { transaction: 7 };
    assert!(deliver(&mut server, 1, 2, ask.clone()).sends.is_empty());
    deliver(&mut server, 1, 0, ThreePhaseMessage::Abort { transaction: 7 });
    assert_eq!(deliver(&mut server, 1, 2, ask).sends, vec![(2, ThreePhaseMessage::Abort { transaction: 7 })]);
    let inquiry = ThreePhaseMessage::Client(ClientMessage::Inquiry { transaction: 7 });
    assert_eq!(deliver(&mut server, 1, CLIENT, inquiry).sends, vec![(CLIENT, reply(7, Decision::Abort))]);
}
