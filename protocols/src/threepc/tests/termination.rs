//! The failure detector, the election of a backup, the termination protocol's rules, and
//! recovered sites (Skeen 1981; Skeen and Stonebraker 1983; BHG section 7.5).

use super::*;

fn state_request(transaction: TransactionId) -> ThreePhaseMessage {
    ThreePhaseMessage::StateRequest { transaction }
}

fn report(transaction: TransactionId, state: SiteState) -> ThreePhaseMessage {
    ThreePhaseMessage::StateReport { transaction, state }
}

/// Participant 1, the lowest, after suspecting the coordinator: the backup for 7.
fn backup() -> ThreePhaseServer {
    let mut server = uncertain(1);
    fire(&mut server, 1, ThreePhaseTimer::Suspect(7));
    server
}

#[test]
fn a_silent_coordinator_is_suspected_and_the_lowest_participant_starts_termination() {
    let mut server = uncertain(1);
    let effects = fire(&mut server, 1, ThreePhaseTimer::Suspect(7));
    assert_eq!(
        effects.observations,
        vec![CommitObservation::Blocked { transaction: 7 }, CommitObservation::TerminationStarted { transaction: 7 }]
    );
    assert_eq!(effects.sends, vec![(2, state_request(7)), (3, state_request(7))]);
    assert_eq!(effects.timers, vec![set(TIMEOUT, ThreePhaseTimer::Retry(7))]);
    assert!(effects.writes.is_empty(), "suspecting decides nothing");
}

#[test]
fn another_participant_waits_on_the_elected_backup_then_suspects_it_and_takes_over() {
    let mut server = uncertain(2);
    let effects = fire(&mut server, 2, ThreePhaseTimer::Suspect(7));
    assert_eq!(effects.observations, vec![CommitObservation::Blocked { transaction: 7 }]);
    assert!(effects.sends.is_empty());
    assert_eq!(effects.timers, vec![set(SUSPICION, ThreePhaseTimer::Suspect(7))], "it waits on participant 1");
    let effects = fire(&mut server, 2, ThreePhaseTimer::Suspect(7));
    assert_eq!(effects.observations, vec![CommitObservation::TerminationStarted { transaction: 7 }]);
    assert_eq!(effects.sends, vec![(1, state_request(7)), (3, state_request(7))]);
}

#[test]
fn a_state_request_is_answered_with_the_local_state_and_its_backup_adopted() {
    let mut server = uncertain(3);
    let effects = deliver(&mut server, 3, 2, state_request(7));
    assert_eq!(effects.sends, vec![(2, report(7, SiteState::Uncertain))]);
    assert_eq!(effects.timers, vec![set(SUSPICION, ThreePhaseTimer::Suspect(7))]);
    assert!(effects.writes.is_empty());
    let effects = fire(&mut server, 3, ThreePhaseTimer::Suspect(7));
    assert_eq!(
        effects.observations,
        vec![CommitObservation::Blocked { transaction: 7 }, CommitObservation::TerminationStarted { transaction: 7 }],
        "backup 2 fell silent; 0 and 1 were suspected by 2, so 3 is next"
    );
}

#[test]
fn a_site_that_never_voted_aborts_and_reports_it_skeen_state_q() {
    let mut server = ThreePhaseCommit::server(&setup(), 3);
    let effects = deliver(&mut server, 3, 2, state_request(7));
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![decided(7, Decision::Abort)]);
    assert_eq!(effects.sends, vec![(2, report(7, SiteState::Aborted))]);
    let effects = deliver(&mut server, 3, 0, can_commit(7, &[2], &[1, 2, 3]));
    assert_eq!(effects.sends, vec![(0, ThreePhaseMessage::Vote { transaction: 7, yes: false })]);
}

#[test]
fn termination_aborts_when_every_site_is_uncertain() {
    let mut server = backup();
    assert!(deliver(&mut server, 1, 2, report(7, SiteState::Uncertain)).observations.is_empty());
    let effects = deliver(&mut server, 1, 3, report(7, SiteState::Uncertain));
    assert_eq!(effects.writes, vec![ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }]);
    assert_eq!(effects.observations, vec![decided(7, Decision::Abort)]);
    assert_eq!(
        effects.sends,
        vec![(2, ThreePhaseMessage::Abort { transaction: 7 }), (3, ThreePhaseMessage::Abort { transaction: 7 })]
    );
    assert_eq!(effects.timers, vec![cancel(ThreePhaseTimer::Suspect(7)), cancel(ThreePhaseTimer::Retry(7))]);
}

#[test]
fn termination_pre_commits_the_uncertain_sites_when_one_is_pre_committed_then_commits() {
    let mut server = backup();
    deliver(&mut server, 1, 2, report(7, SiteState::PreCommitted));
    let effects = deliver(&mut server, 1, 3, report(7, SiteState::Uncertain));
    assert_eq!(effects.writes, vec![ThreePhaseRecord::PreCommitted { transaction: 7 }], "the backup moves to p first");
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.sends, vec![(3, ThreePhaseMessage::PreCommit { transaction: 7 })]);
    assert_eq!(effects.timers, vec![set(TIMEOUT, ThreePhaseTimer::Retry(7))]);
    assert!(effects.observations.is_empty());
    let effects = deliver(&mut server, 1, 3, ThreePhaseMessage::Ack { transaction: 7 });
    assert_eq!(effects.observations, vec![decided(7, Decision::Commit)]);
    assert_eq!(
        effects.sends,
        vec![(2, ThreePhaseMessage::DoCommit { transaction: 7 }), (3, ThreePhaseMessage::DoCommit { transaction: 7 })]
    );
}

#[test]
fn termination_follows_a_decision_any_site_already_reached() {
    for (reported, decision) in [(SiteState::Committed, Decision::Commit), (SiteState::Aborted, Decision::Abort)] {
        let mut server = backup();
        let effects = deliver(&mut server, 1, 3, report(7, reported));
        assert_eq!(effects.observations, vec![decided(7, decision)], "at once, without waiting for 2");
        assert_eq!(state(&server, 7).and_then(SiteState::decision), Some(decision));
    }
}

#[test]
fn silent_sites_are_asked_again_then_taken_for_failed() {
    let mut server = backup();
    deliver(&mut server, 1, 2, report(7, SiteState::PreCommitted));
    for _ in 1..REPORT_ROUNDS {
        let effects = fire(&mut server, 1, ThreePhaseTimer::Retry(7));
        assert_eq!(effects.sends, vec![(3, state_request(7))]);
    }
    let effects = fire(&mut server, 1, ThreePhaseTimer::Retry(7));
    assert_eq!(
        effects.writes,
        vec![
            ThreePhaseRecord::PreCommitted { transaction: 7 },
            ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Commit },
        ],
        "with no uncertain site left to move, the backup commits"
    );
    assert_eq!(
        effects.sends,
        vec![(2, ThreePhaseMessage::DoCommit { transaction: 7 }), (3, ThreePhaseMessage::DoCommit { transaction: 7 })]
    );
}

#[test]
fn a_restarted_participant_asks_and_keeps_out_of_termination_skeen_stonebraker() {
    let records = [
        ThreePhaseRecord::Voted { transaction: 7, keys: vec![0], participants: vec![1, 2, 3] },
        ThreePhaseRecord::PreCommitted { transaction: 7 },
        ThreePhaseRecord::Voted { transaction: 8, keys: vec![3], participants: vec![1] },
        ThreePhaseRecord::Decided { transaction: 8, decision: Decision::Commit },
    ];
    let mut server = ThreePhaseCommit::recover(&setup(), 1, &records);
    assert_eq!(state(&server, 7), Some(SiteState::PreCommitted));
    let effects = step(&mut server, 1, |node, ctx| node.on_recover(ctx));
    assert_eq!(effects.observations, vec![CommitObservation::Restarted { transaction: 7 }]);
    let ask = ThreePhaseMessage::DecisionRequest { transaction: 7 };
    assert_eq!(effects.sends, vec![(0, ask.clone()), (2, ask.clone()), (3, ask.clone())]);
    assert_eq!(effects.timers, vec![set(TIMEOUT, ThreePhaseTimer::Suspect(7))]);
    assert!(deliver(&mut server, 1, 2, state_request(7)).sends.is_empty(), "its state may be stale");
    let effects = fire(&mut server, 1, ThreePhaseTimer::Suspect(7));
    assert_eq!(effects.observations, vec![CommitObservation::Blocked { transaction: 7 }], "no termination");
    assert_eq!(effects.sends, vec![(0, ask.clone()), (2, ask.clone()), (3, ask)]);
    assert_eq!(effects.timers, vec![set(2 * TIMEOUT, ThreePhaseTimer::Suspect(7))]);
    let effects = deliver(&mut server, 1, 2, ThreePhaseMessage::Abort { transaction: 7 });
    assert_eq!(effects.observations, vec![decided(7, Decision::Abort)]);
}
