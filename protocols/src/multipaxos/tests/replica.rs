//! The replica: learning chosen slots and applying them strictly in order (PMS section 3;
//! PMMC section 2.1).

use super::*;

const B: Ballot = Ballot { round: 1, leader: 0 };

fn heartbeat(ballot: Ballot, first_unchosen: Slot) -> MultiPaxosMessage {
    MultiPaxosMessage::Heartbeat { ballot, first_unchosen }
}

fn executed(slot: Slot, entry: Entry) -> MultiPaxosObservation {
    MultiPaxosObservation::Executed { slot, entry }
}

#[test]
fn replica_applies_in_slot_order_and_waits_at_a_gap_pmmc_2_1() {
    let mut follower = server(1);
    follower.deliver(0, accept(B, 2, appended(2, 20), 1));
    let effects = follower.deliver(0, heartbeat(B, 3));
    assert!(effects.observed().is_empty(), "slot 2 is chosen, but slot 1 is not known yet");
    assert_eq!(follower.replica().chosen(2), Some(&appended(2, 20)));
    assert_eq!(effects.sent(), vec![(0, MultiPaxosMessage::CatchUp { ballot: B, from: 1 })]);

    let decide = MultiPaxosMessage::Decide { from: 1, entries: vec![appended(1, 10)] };
    let effects = follower.deliver(0, decide);
    assert_eq!(effects.observed(), vec![executed(1, appended(1, 10)), executed(2, appended(2, 20))]);
    assert_eq!(follower.replica().store().read(1), vec![10, 20]);
    assert!(effects.sent().is_empty(), "a follower answers no client");
}

#[test]
fn accept_carries_the_decision_of_the_previous_slot_pms_3() {
    let mut follower = server(1);
    follower.deliver(0, accept(B, 1, appended(1, 10), 1));
    let effects = follower.deliver(0, accept(B, 2, appended(2, 20), 2));
    assert_eq!(effects.sent(), vec![(0, accepted(B, 2))], "no extra message for the decision");
    assert_eq!(effects.observed().last(), Some(&executed(1, appended(1, 10))));
    assert_eq!(follower.replica().first_unexecuted(), 2);
}

#[test]
fn piggybacked_decision_covers_only_entries_accepted_in_the_leaders_ballot() {
    let mut follower = server(1);
    follower.deliver(0, accept(B, 1, appended(1, 10), 1));
    let effects = follower.deliver(3, heartbeat(ballot(2, 3), 2));
    assert!(effects.observed().is_empty(), "leader (2, 3) may have chosen another entry in slot 1");
    assert_eq!(effects.sent(), vec![(3, MultiPaxosMessage::CatchUp { ballot: ballot(2, 3), from: 1 })]);
    assert_eq!(follower.leader(), Some(3));
}

#[test]
fn heartbeat_below_the_promise_is_refused_with_a_nack() {
    let mut follower = server(1);
    follower.deliver(3, MultiPaxosMessage::Prepare { ballot: ballot(2, 3), from: 1 });
    let effects = follower.deliver(0, heartbeat(B, 1));
    assert_eq!(effects.sent(), vec![(0, MultiPaxosMessage::Nack { ballot: B, promised: ballot(2, 3) })]);
    assert!(effects.timers().is_empty(), "a deposed leader does not hold off elections");
}

#[test]
fn decide_is_learned_from_an_old_leader_too_since_chosen_entries_stay_chosen() {
    let mut follower = server(1);
    follower.deliver(3, MultiPaxosMessage::Prepare { ballot: ballot(5, 3), from: 1 });
    let decide = MultiPaxosMessage::Decide { from: 1, entries: vec![Entry::Noop, appended(1, 10)] };
    let effects = follower.deliver(0, decide);
    assert_eq!(effects.observed(), vec![executed(1, Entry::Noop), executed(2, appended(1, 10))]);
    assert!(effects.timers().is_empty(), "but it does not follow an old leader");
}

#[test]
fn command_chosen_in_two_slots_takes_effect_once_thesis_6_3() {
    let mut follower = server(1);
    let decide = MultiPaxosMessage::Decide { from: 1, entries: vec![appended(1, 10), appended(1, 10)] };
    let effects = follower.deliver(0, decide);
    assert_eq!(effects.observed(), vec![executed(1, appended(1, 10)), executed(2, appended(1, 10))]);
    assert_eq!(follower.replica().store().read(1), vec![10]);
}

#[test]
fn read_applied_from_the_log_reports_the_slots_it_reflects() {
    let mut follower = server(1);
    let read = command(2, KvOperation::Read { key: 1 });
    let entries = vec![appended(1, 10), Entry::Command(read.clone()), Entry::Command(read)];
    let effects = follower.deliver(0, MultiPaxosMessage::Decide { from: 1, entries });
    let served = MultiPaxosObservation::ReadServed { client: CLIENT, sequence: 2, key: 1, through: 1 };
    assert_eq!(effects.observed().iter().filter(|o| **o == served).count(), 1, "its first application only");
}
