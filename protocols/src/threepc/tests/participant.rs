//! The participant in the coordinator's three phases (Skeen 1981; BHG section 7.5).

use super::*;

fn participant() -> Harness<ThreePhaseCommit> {
    server(1)
}

fn vote(transaction: TransactionId, yes: bool) -> ThreePhaseMessage {
    ThreePhaseMessage::Vote { transaction, yes, reads: vec![] }
}

#[test]
fn yes_vote_is_forced_with_its_keys_and_participants_before_it_is_sent() {
    let mut server = participant();
    let effects = server.deliver(0, can_commit(7, &[0, 3], &[1, 2]));
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Voted {
                transaction: 7,
                keys: vec![0, 3],
                writes: vec![0, 3],
                reads: vec![],
                participants: vec![1, 2]
            }),
            Effect::Sync(1),
            Effect::set_timer(SUSPICION, ThreePhaseTimer::Suspect(7)),
            Effect::ObserveAfterSync(CommitObservation::Voted { transaction: 7, yes: true }),
            Effect::send_after_sync(0, vote(7, true)),
        ]
    );
    assert_eq!(state(&server, 7), Some(SiteState::Uncertain));
}

#[test]
fn a_conflict_votes_no_and_aborts_forced() {
    let mut server = uncertain(1);
    let effects = server.deliver(0, can_commit(8, &[0], &[1]));
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Decided { transaction: 8, decision: Decision::Abort }),
            Effect::Sync(2),
            Effect::ObserveAfterSync(decided(8, Decision::Abort)),
            Effect::ObserveAfterSync(CommitObservation::Voted { transaction: 8, yes: false }),
            Effect::send_after_sync(0, vote(8, false)),
        ]
    );
}

#[test]
fn pre_commit_is_forced_before_the_ack_and_restarts_the_wait() {
    let mut server = uncertain(1);
    let effects = server.deliver(0, ThreePhaseMessage::PreCommit { transaction: 7 });
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::PreCommitted { transaction: 7 }),
            Effect::Sync(2),
            Effect::set_timer(SUSPICION, ThreePhaseTimer::Suspect(7)),
            Effect::send_after_sync(0, ThreePhaseMessage::Ack { transaction: 7 }),
        ]
    );
    assert_eq!(state(&server, 7), Some(SiteState::PreCommitted));
}

#[test]
fn do_commit_is_forced_and_answered_to_the_coordinator_only() {
    let mut server = uncertain(1);
    server.deliver(0, ThreePhaseMessage::PreCommit { transaction: 7 });
    let effects = server.deliver(0, ThreePhaseMessage::DoCommit { transaction: 7 });
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Commit }),
            Effect::Sync(3),
            Effect::ObserveAfterSync(decided(7, Decision::Commit)),
            Effect::cancel_timer(ThreePhaseTimer::Suspect(7)),
            Effect::send_after_sync(0, ThreePhaseMessage::HaveCommitted { transaction: 7 }),
        ]
    );
    let from_backup = server.deliver(2, ThreePhaseMessage::DoCommit { transaction: 7 });
    assert!(from_backup.list.is_empty());
}

#[test]
fn an_abort_before_can_commit_makes_the_late_can_commit_vote_no() {
    let mut server = participant();
    let effects = server.deliver(0, ThreePhaseMessage::Abort { transaction: 7 });
    assert_eq!(effects.observed(), [decided(7, Decision::Abort)]);
    let effects = server.deliver(0, can_commit(7, &[0], &[1]));
    assert_eq!(effects.list, [Effect::send_after_sync(0, vote(7, false))], "nothing written; the abort's record first");
}

#[test]
fn decision_requests_and_inquiries_are_answered_once_decided() {
    let mut server = uncertain(1);
    let ask = ThreePhaseMessage::DecisionRequest { transaction: 7 };
    assert!(server.deliver(2, ask.clone()).list.is_empty());
    server.deliver(0, ThreePhaseMessage::Abort { transaction: 7 });
    assert_eq!(server.deliver(2, ask).list, [Effect::send(2, ThreePhaseMessage::Abort { transaction: 7 })]);
    let inquiry = ThreePhaseMessage::Client(ClientMessage::Inquiry { transaction: 7 });
    assert_eq!(server.deliver(CLIENT, inquiry).list, [Effect::send(CLIENT, reply(7, Decision::Abort))]);
}
