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
fn backup() -> Harness<ThreePhaseCommit> {
    let mut server = uncertain(1);
    server.fire(ThreePhaseTimer::Suspect(7));
    server
}

#[test]
fn a_silent_coordinator_is_suspected_and_the_lowest_participant_starts_termination() {
    let mut server = uncertain(1);
    let effects = server.fire(ThreePhaseTimer::Suspect(7));
    assert_eq!(
        effects.list,
        [
            Effect::Observe(CommitObservation::Blocked { transaction: 7 }),
            Effect::Observe(CommitObservation::TerminationStarted { transaction: 7 }),
            Effect::send(2, state_request(7)),
            Effect::send(3, state_request(7)),
            Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7)),
        ],
        "suspecting decides nothing and writes nothing"
    );
}

#[test]
fn another_participant_waits_on_the_elected_backup_then_suspects_it_and_takes_over() {
    let mut server = uncertain(2);
    let effects = server.fire(ThreePhaseTimer::Suspect(7));
    assert_eq!(
        effects.list,
        [
            Effect::Observe(CommitObservation::Blocked { transaction: 7 }),
            Effect::set_timer(SUSPICION, ThreePhaseTimer::Suspect(7))
        ],
        "it waits on participant 1"
    );
    let effects = server.fire(ThreePhaseTimer::Suspect(7));
    assert_eq!(effects.observed(), [CommitObservation::TerminationStarted { transaction: 7 }]);
    assert_eq!(effects.sent(), [(1, state_request(7)), (3, state_request(7))]);
}

#[test]
fn a_state_request_is_answered_with_the_local_state_and_its_backup_adopted() {
    let mut server = uncertain(3);
    let effects = server.deliver(2, state_request(7));
    assert_eq!(
        effects.list,
        [Effect::set_timer(SUSPICION, ThreePhaseTimer::Suspect(7)), Effect::send(2, report(7, SiteState::Uncertain))]
    );
    let effects = server.fire(ThreePhaseTimer::Suspect(7));
    assert_eq!(
        effects.observed(),
        [CommitObservation::Blocked { transaction: 7 }, CommitObservation::TerminationStarted { transaction: 7 }],
        "backup 2 fell silent; 0 and 1 were suspected by 2, so 3 is next"
    );
}

#[test]
fn a_site_that_never_voted_aborts_durably_and_then_reports_it_skeen_state_q() {
    let mut server = server(3);
    let effects = server.deliver(2, state_request(7));
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }),
            Effect::Sync(1),
            Effect::ObserveAfterSync(decided(7, Decision::Abort)),
            Effect::send_after_sync(2, report(7, SiteState::Aborted)),
        ],
        "the report leaves only once the abort is durable: forgotten, the site could vote yes later"
    );
    let effects = server.deliver(0, can_commit(7, &[2], &[1, 2, 3]));
    assert_eq!(effects.sent(), [(0, ThreePhaseMessage::Vote { transaction: 7, yes: false, reads: vec![] })]);
}

#[test]
fn termination_aborts_when_every_site_is_uncertain() {
    let mut server = backup();
    assert!(server.deliver(2, report(7, SiteState::Uncertain)).list.is_empty());
    let effects = server.deliver(3, report(7, SiteState::Uncertain));
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Abort }),
            Effect::Sync(2),
            Effect::ObserveAfterSync(decided(7, Decision::Abort)),
            Effect::cancel_timer(ThreePhaseTimer::Suspect(7)),
            Effect::cancel_timer(ThreePhaseTimer::Retry(7)),
            Effect::send_after_sync(2, ThreePhaseMessage::Abort { transaction: 7 }),
            Effect::send_after_sync(3, ThreePhaseMessage::Abort { transaction: 7 }),
        ]
    );
}

#[test]
fn termination_pre_commits_the_uncertain_sites_when_one_is_pre_committed_then_commits() {
    let mut server = backup();
    server.deliver(2, report(7, SiteState::PreCommitted));
    let effects = server.deliver(3, report(7, SiteState::Uncertain));
    assert_eq!(
        effects.list,
        [
            Effect::Write(ThreePhaseRecord::PreCommitted { transaction: 7 }),
            Effect::Sync(2),
            Effect::send_after_sync(3, ThreePhaseMessage::PreCommit { transaction: 7 }),
            Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7)),
        ],
        "the backup moves to p first, durably, and decides nothing yet"
    );
    let effects = server.deliver(3, ThreePhaseMessage::Ack { transaction: 7 });
    assert_eq!(effects.observed(), [decided(7, Decision::Commit)]);
    assert_eq!(
        effects.sent(),
        [(2, ThreePhaseMessage::DoCommit { transaction: 7 }), (3, ThreePhaseMessage::DoCommit { transaction: 7 })]
    );
}

#[test]
fn termination_follows_a_decision_any_site_already_reached() {
    for (reported, decision) in [(SiteState::Committed, Decision::Commit), (SiteState::Aborted, Decision::Abort)] {
        let mut server = backup();
        let effects = server.deliver(3, report(7, reported));
        assert_eq!(effects.observed(), [decided(7, decision)], "at once, without waiting for 2");
        assert_eq!(state(&server, 7).and_then(SiteState::decision), Some(decision));
    }
}

#[test]
fn silent_sites_are_asked_again_then_taken_for_failed() {
    let mut server = backup();
    server.deliver(2, report(7, SiteState::PreCommitted));
    for _ in 1..REPORT_ROUNDS {
        let effects = server.fire(ThreePhaseTimer::Retry(7));
        assert_eq!(
            effects.list,
            [Effect::send(3, state_request(7)), Effect::set_timer(TIMEOUT, ThreePhaseTimer::Retry(7))]
        );
    }
    let effects = server.fire(ThreePhaseTimer::Retry(7));
    assert_eq!(
        effects.written(),
        [
            ThreePhaseRecord::PreCommitted { transaction: 7 },
            ThreePhaseRecord::Decided { transaction: 7, decision: Decision::Commit },
        ],
        "with no uncertain site left to move, the backup commits"
    );
    assert_eq!(
        effects.sent(),
        [(2, ThreePhaseMessage::DoCommit { transaction: 7 }), (3, ThreePhaseMessage::DoCommit { transaction: 7 })]
    );
}

#[test]
fn a_restarted_participant_asks_and_keeps_out_of_termination_skeen_stonebraker() {
    let records = [
        ThreePhaseRecord::Voted {
            transaction: 7,
            keys: vec![0],
            writes: vec![0],
            reads: vec![],
            participants: vec![1, 2, 3],
        },
        ThreePhaseRecord::PreCommitted { transaction: 7 },
        ThreePhaseRecord::Voted {
            transaction: 8,
            keys: vec![3],
            writes: vec![3],
            reads: vec![],
            participants: vec![1],
        },
        ThreePhaseRecord::Decided { transaction: 8, decision: Decision::Commit },
    ];
    let mut server = Harness::<ThreePhaseCommit>::recovered(&setup(), 1, &records, SEED);
    assert_eq!(state(&server, 7), Some(SiteState::PreCommitted));
    let ask = || ThreePhaseMessage::DecisionRequest { transaction: 7 };
    let effects = server.recover();
    assert_eq!(
        effects.list,
        [
            Effect::Observe(CommitObservation::Restarted { transaction: 7 }),
            Effect::send(0, ask()),
            Effect::send(2, ask()),
            Effect::send(3, ask()),
            Effect::set_timer(TIMEOUT, ThreePhaseTimer::Suspect(7)),
        ]
    );
    assert!(server.deliver(2, state_request(7)).list.is_empty(), "its state may be stale");
    let effects = server.fire(ThreePhaseTimer::Suspect(7));
    assert_eq!(
        effects.list,
        [
            Effect::Observe(CommitObservation::Blocked { transaction: 7 }),
            Effect::send(0, ask()),
            Effect::send(2, ask()),
            Effect::send(3, ask()),
            Effect::set_timer(2 * TIMEOUT, ThreePhaseTimer::Suspect(7)),
        ],
        "no termination: it asks again, less often"
    );
    let effects = server.deliver(2, ThreePhaseMessage::Abort { transaction: 7 });
    assert_eq!(effects.observed(), [decided(7, Decision::Abort)]);
}
