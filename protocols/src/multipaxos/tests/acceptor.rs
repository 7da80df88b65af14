//! The acceptor: phases 1b and 2b, durable before answering (PMS section 2.2; PMMC
//! sections 2.2, 4.1 and 4.3).

use super::*;
use crate::testing::assert_timers;

#[test]
fn prepare_is_promised_durably_and_answered_with_the_accepted_proposals_from_its_slot_pms_3() {
    let mut acceptor = server(1);
    acceptor.deliver(0, accept(ballot(1, 0), 1, appended(1, 10), 1));
    acceptor.deliver(0, accept(ballot(1, 0), 2, appended(2, 11), 1));
    let effects = acceptor.deliver(2, MultiPaxosMessage::Prepare { ballot: ballot(2, 2), from: 2 });
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(MultiPaxosRecord::Promised(ballot(2, 2))),
            Effect::Sync(3),
            Effect::send_after_sync(2, promise(2, 2, vec![(2, ballot(1, 0), appended(2, 11))])),
        ],
        "the promise leaves only once it is durable"
    );
    assert_timers(&effects, &[election_timer()]); // The candidate gets time to finish.
    assert_eq!(acceptor.leader(), None);
}

#[test]
fn prepare_below_the_promise_is_refused_with_a_nack_pmmc_2_2() {
    let mut acceptor = server(1);
    acceptor.deliver(2, MultiPaxosMessage::Prepare { ballot: ballot(3, 2), from: 1 });
    let effects = acceptor.deliver(0, MultiPaxosMessage::Prepare { ballot: ballot(2, 0), from: 1 });
    let nack = MultiPaxosMessage::Nack { ballot: ballot(2, 0), promised: ballot(3, 2) };
    assert_eq!(effects.sent(), vec![(0, nack)]);
    assert!(effects.written().is_empty());
}

#[test]
fn repeated_prepare_is_promised_again_without_a_write() {
    let mut acceptor = server(1);
    acceptor.deliver(2, MultiPaxosMessage::Prepare { ballot: ballot(3, 2), from: 1 });
    let effects = acceptor.deliver(2, MultiPaxosMessage::Prepare { ballot: ballot(3, 2), from: 1 });
    assert_eq!(effects.sent(), vec![(2, promise(3, 2, vec![]))]);
    assert!(effects.written().is_empty());
}

#[test]
fn accept_is_written_synced_and_acknowledged_pms_2_2() {
    let mut acceptor = server(1);
    let effects = acceptor.deliver(0, accept(ballot(1, 0), 1, appended(1, 10), 1));
    let record = MultiPaxosRecord::Accepted { slot: 1, ballot: ballot(1, 0), entry: appended(1, 10) };
    let observation = MultiPaxosObservation::Accepted { ballot: ballot(1, 0), slot: 1, entry: appended(1, 10) };
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(record),
            Effect::Sync(1),
            Effect::ObserveAfterSync(observation),
            Effect::send_after_sync(0, accepted(ballot(1, 0), 1)),
        ],
        "acknowledged only once durable"
    );
    assert_timers(&effects, &[election_timer()]); // A live leader holds off elections.
    assert_eq!(acceptor.leader(), Some(0));
    assert_eq!(acceptor.acceptor().promised(), ballot(1, 0), "accepting promises the ballot too");
}

#[test]
fn duplicate_accept_is_acknowledged_again_without_a_write() {
    let mut acceptor = server(1);
    acceptor.deliver(0, accept(ballot(1, 0), 1, appended(1, 10), 1));
    let effects = acceptor.deliver(0, accept(ballot(1, 0), 1, appended(1, 10), 1));
    assert_eq!(effects.sent(), vec![(0, accepted(ballot(1, 0), 1))]);
    assert!(effects.written().is_empty());
    assert!(effects.observed().is_empty());
}

#[test]
fn accept_below_the_promise_is_refused_and_changes_nothing_pms_2_2() {
    let mut acceptor = server(1);
    acceptor.deliver(2, MultiPaxosMessage::Prepare { ballot: ballot(2, 2), from: 1 });
    let effects = acceptor.deliver(0, accept(ballot(1, 0), 1, appended(1, 10), 1));
    let nack = MultiPaxosMessage::Nack { ballot: ballot(1, 0), promised: ballot(2, 2) };
    assert_eq!(effects.sent(), vec![(0, nack)]);
    assert!(effects.written().is_empty());
    assert_eq!(acceptor.acceptor().accepted(1), None);
}

#[test]
fn restarted_acceptor_keeps_its_promise_and_accepted_proposals_pmmc_4_3() {
    let records = [
        MultiPaxosRecord::Accepted { slot: 1, ballot: ballot(1, 0), entry: appended(1, 10) },
        MultiPaxosRecord::Accepted { slot: 2, ballot: ballot(1, 0), entry: appended(2, 11) },
        MultiPaxosRecord::Promised(ballot(2, 3)),
        MultiPaxosRecord::Accepted { slot: 2, ballot: ballot(2, 3), entry: Entry::Noop },
    ];
    let mut acceptor = recovered(1, &records);
    assert_eq!(acceptor.acceptor().promised(), ballot(2, 3));
    assert_eq!(acceptor.acceptor().accepted(2), Some(&(ballot(2, 3), Entry::Noop)), "the higher ballot's entry");
    assert_eq!(acceptor.role(), Role::Follower);
    assert_eq!(acceptor.replica().first_unexecuted(), 1, "replica state is volatile");
    let effects = acceptor.deliver(0, MultiPaxosMessage::Prepare { ballot: ballot(2, 0), from: 1 });
    let nack = MultiPaxosMessage::Nack { ballot: ballot(2, 0), promised: ballot(2, 3) };
    assert_eq!(effects.sent(), vec![(0, nack)], "the promise survived the crash");
    let effects = acceptor.deliver(4, MultiPaxosMessage::Prepare { ballot: ballot(3, 4), from: 1 });
    let reported = vec![(1, ballot(1, 0), appended(1, 10)), (2, ballot(2, 3), Entry::Noop)];
    assert_eq!(effects.sent(), vec![(4, promise(3, 4, reported))], "so did the accepted proposals");
}

#[test]
fn restarted_server_picks_a_ballot_above_the_one_it_promised() {
    let mut restarted = recovered(2, &[MultiPaxosRecord::Promised(ballot(7, 4))]);
    let effects = restarted.fire(MultiPaxosTimer::Election);
    assert_eq!(restarted.ballot(), Some(ballot(8, 2)));
    assert_eq!(effects.written(), vec![MultiPaxosRecord::Promised(ballot(8, 2))]);
}
