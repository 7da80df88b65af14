//! Phase 2 at a stable leader, heartbeats and catch-up (PMS section 3; PMMC sections 2.2
//! and 3).

use super::*;
use crate::testing::assert_timers;

const B: Ballot = Ballot { round: 1, leader: 0 };

/// A leader whose slot 1 holds the client's append of 10, accepted by servers 1 and 2 too.
fn leader_with_one_chosen_slot() -> Harness<MultiPaxos> {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    leader.deliver(1, accepted(B, 1));
    leader.deliver(2, accepted(B, 1));
    assert_eq!(leader.replica().first_unexecuted(), 2);
    leader
}

#[test]
fn stable_leader_skips_phase_1_each_command_is_one_accept_per_peer_pms_3() {
    let mut leader = leader();
    let effects = leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    let record = MultiPaxosRecord::Accepted { slot: 1, ballot: B, entry: appended(1, 10) };
    let observation = MultiPaxosObservation::Accepted { ballot: B, slot: 1, entry: appended(1, 10) };
    let mut expected = vec![Effect::Write(record), Effect::Sync(2), Effect::ObserveAfterSync(observation)];
    let accepts = to_peers(0, accept(B, 1, appended(1, 10), 1));
    expected.extend(accepts.into_iter().map(|(to, message)| Effect::send(to, message)));
    assert_eq!(effects.list, expected, "its own acceptor accepts first, durably; then phase 2a alone");
    let second = Command { client: CLIENT + 1, sequence: 1, operation: append(11) };
    let effects = leader.deliver(CLIENT + 1, request(second.clone()));
    leader.sync_all(); // its own acceptance counts once durable
    assert_eq!(effects.sent(), to_peers(0, accept(B, 2, Entry::Command(second), 1)), "the next slot");
}

#[test]
fn majority_of_accepted_chooses_the_slot_which_is_applied_and_answered_pmmc_2_2() {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    let effects = leader.deliver(1, accepted(B, 1));
    assert!(effects.sent().is_empty() && effects.observed().is_empty(), "two of five is no majority");
    let effects = leader.deliver(2, accepted(B, 1));
    assert_eq!(effects.sent(), vec![(CLIENT, done(1, ok_done()))]);
    assert_eq!(
        effects.observed(),
        vec![
            MultiPaxosObservation::Chosen { slot: 1, entry: appended(1, 10) },
            MultiPaxosObservation::Executed { slot: 1, entry: appended(1, 10) },
            MultiPaxosObservation::Acknowledged { client: CLIENT, sequence: 1, key: 1, through: 1 },
        ]
    );
    assert_eq!(leader.replica().store().read(1), vec![10]);
    let effects = leader.deliver(3, accepted(B, 1));
    assert!(effects.sent().is_empty() && effects.observed().is_empty(), "a late Accepted changes nothing");
}

#[test]
fn decision_rides_on_the_next_accept_pms_3() {
    let mut leader = leader_with_one_chosen_slot();
    let effects = leader.deliver(CLIENT, request(command(2, append(11))));
    leader.sync_all(); // its own acceptance counts once durable
    assert_eq!(effects.sent(), to_peers(0, accept(B, 2, appended(2, 11), 2)), "first_unchosen is 2 now");
}

#[test]
fn accepted_of_another_ballot_does_not_count() {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    leader.deliver(1, accepted(ballot(0, 0), 1));
    let effects = leader.deliver(2, accepted(B, 1));
    assert!(effects.observed().is_empty(), "only servers 0 and 2 accepted in ballot (1, 0)");
}

#[test]
fn heartbeat_carries_the_decisions_and_resends_proposals_undecided_for_a_whole_interval() {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    leader.deliver(1, accepted(B, 1));
    let heartbeat = MultiPaxosMessage::Heartbeat { ballot: B, first_unchosen: 1 };
    let effects = leader.fire(MultiPaxosTimer::Heartbeat);
    assert_eq!(effects.sent(), to_peers(0, heartbeat.clone()), "proposed less than an interval ago");
    assert_timers(&effects, &[heartbeat_timer()]);
    let effects = leader.fire(MultiPaxosTimer::Heartbeat);
    let resent = accept(B, 1, appended(1, 10), 1);
    let mut expected = vec![(2, resent.clone()), (3, resent.clone()), (4, resent)];
    expected.extend(to_peers(0, heartbeat));
    assert_eq!(effects.sent(), expected, "re-sent to the acceptors that did not answer");
}

#[test]
fn catch_up_is_answered_with_the_chosen_entries_pmmc_2_2() {
    let mut leader = leader_with_one_chosen_slot();
    let effects = leader.deliver(3, MultiPaxosMessage::CatchUp { ballot: B, from: 1 });
    let decide = MultiPaxosMessage::Decide { from: 1, entries: vec![appended(1, 10)] };
    assert_eq!(effects.sent(), vec![(3, decide)]);
    let effects = leader.deliver(3, MultiPaxosMessage::CatchUp { ballot: B, from: 2 });
    assert!(effects.sent().is_empty(), "nothing chosen from slot 2 on");
    let effects = leader.deliver(3, MultiPaxosMessage::CatchUp { ballot: ballot(0, 4), from: 1 });
    assert!(effects.sent().is_empty(), "a request for another leader");
}

#[test]
fn catch_up_sends_at_most_a_bounded_batch() {
    let mut leader = leader();
    for sequence in 1..=DECISIONS_PER_MESSAGE_MAX as u64 + 1 {
        let client = CLIENT + sequence as NodeId;
        leader.deliver(client, request(Command { client, sequence: 1, operation: append(sequence) }));
        leader.sync_all(); // its own acceptance counts once durable
        leader.deliver(1, accepted(B, sequence));
        leader.deliver(2, accepted(B, sequence));
    }
    let effects = leader.deliver(3, MultiPaxosMessage::CatchUp { ballot: B, from: 1 });
    let [(3, MultiPaxosMessage::Decide { from: 1, entries, .. })] = &effects.sent()[..] else {
        panic!("expected one Decide to server 3: {:?}", effects.sent());
    };
    assert_eq!(entries.len(), DECISIONS_PER_MESSAGE_MAX);
}

#[test]
fn the_leader_counts_its_own_acceptance_only_once_its_record_is_durable() {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    leader.deliver(1, accepted(B, 1));
    let effects = leader.deliver(2, accepted(B, 1));
    assert!(effects.observed().is_empty(), "two followers and a leader whose record is still on its way");
    let effects = leader.sync_all();
    assert_eq!(effects.sent(), vec![(CLIENT, done(1, ok_done()))], "its sync makes three of five");
}
