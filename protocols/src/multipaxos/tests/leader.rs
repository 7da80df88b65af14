//! Phase 2 at a stable leader, heartbeats and catch-up (PMS section 3; PMMC sections 2.2
//! and 3).

use super::*;

const B: Ballot = Ballot { round: 1, leader: 0 };

/// A leader whose slot 1 holds the client's append of 10, accepted by servers 1 and 2 too.
fn leader_with_one_chosen_slot() -> MultiPaxosServer {
    let mut leader = leader();
    deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    deliver(&mut leader, 0, 1, accepted(B, 1));
    deliver(&mut leader, 0, 2, accepted(B, 1));
    assert_eq!(leader.replica().first_unexecuted(), 2);
    leader
}

#[test]
fn stable_leader_skips_phase_1_each_command_is_one_accept_per_peer_pms_3() {
    let mut leader = leader();
    let effects = deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    assert_eq!(effects.sends, to_peers(0, accept(B, 1, appended(1, 10), 1)));
    let record = MultiPaxosRecord::Accepted { slot: 1, ballot: B, entry: appended(1, 10) };
    assert_eq!(effects.writes, vec![record], "its own acceptor accepts first, durably");
    assert_eq!(effects.synced, Some(1));
    let second = Command { client: CLIENT + 1, sequence: 1, operation: append(11) };
    let effects = deliver(&mut leader, 0, CLIENT + 1, request(second.clone()));
    assert_eq!(effects.sends, to_peers(0, accept(B, 2, Entry::Command(second), 1)), "the next slot");
}

#[test]
fn majority_of_accepted_chooses_the_slot_which_is_applied_and_answered_pmmc_2_2() {
    let mut leader = leader();
    deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    let effects = deliver(&mut leader, 0, 1, accepted(B, 1));
    assert!(effects.sends.is_empty() && effects.observations.is_empty(), "two of five is no majority");
    let effects = deliver(&mut leader, 0, 2, accepted(B, 1));
    assert_eq!(effects.sends, vec![(CLIENT, done(1, ok_done()))]);
    assert_eq!(
        effects.observations,
        vec![
            MultiPaxosObservation::Chosen { slot: 1, entry: appended(1, 10) },
            MultiPaxosObservation::Executed { slot: 1, entry: appended(1, 10) },
            MultiPaxosObservation::Acknowledged { client: CLIENT, sequence: 1, key: 1, through: 1 },
        ]
    );
    assert_eq!(leader.replica().store().read(1), vec![10]);
    let effects = deliver(&mut leader, 0, 3, accepted(B, 1));
    assert!(effects.sends.is_empty() && effects.observations.is_empty(), "a late Accepted changes nothing");
}

#[test]
fn decision_rides_on_the_next_accept_pms_3() {
    let mut leader = leader_with_one_chosen_slot();
    let effects = deliver(&mut leader, 0, CLIENT, request(command(2, append(11))));
    assert_eq!(effects.sends, to_peers(0, accept(B, 2, appended(2, 11), 2)), "first_unchosen is 2 now");
}

#[test]
fn accepted_of_another_ballot_does_not_count() {
    let mut leader = leader();
    deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    deliver(&mut leader, 0, 1, accepted(ballot(0, 0), 1));
    let effects = deliver(&mut leader, 0, 2, accepted(B, 1));
    assert!(effects.observations.is_empty(), "only servers 0 and 2 accepted in ballot (1, 0)");
}

#[test]
fn heartbeat_carries_the_decisions_and_resends_proposals_undecided_for_a_whole_interval() {
    let mut leader = leader();
    deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    deliver(&mut leader, 0, 1, accepted(B, 1));
    let heartbeat = MultiPaxosMessage::Heartbeat { ballot: B, first_unchosen: 1 };
    let effects = fire(&mut leader, 0, MultiPaxosTimer::Heartbeat);
    assert_eq!(effects.sends, to_peers(0, heartbeat.clone()), "proposed less than an interval ago");
    assert_eq!(effects.timers, vec![set_heartbeat_timer()]);
    let effects = fire(&mut leader, 0, MultiPaxosTimer::Heartbeat);
    let resent = accept(B, 1, appended(1, 10), 1);
    let mut expected = vec![(2, resent.clone()), (3, resent.clone()), (4, resent)];
    expected.extend(to_peers(0, heartbeat));
    assert_eq!(effects.sends, expected, "re-sent to the acceptors that did not answer");
}

#[test]
fn catch_up_is_answered_with_the_chosen_entries_pmmc_2_2() {
    let mut leader = leader_with_one_chosen_slot();
    let effects = deliver(&mut leader, 0, 3, MultiPaxosMessage::CatchUp { ballot: B, from: 1 });
    let decide = MultiPaxosMessage::Decide { from: 1, entries: vec![appended(1, 10)] };
    assert_eq!(effects.sends, vec![(3, decide)]);
    let effects = deliver(&mut leader, 0, 3, MultiPaxosMessage::CatchUp { ballot: B, from: 2 });
    assert!(effects.sends.is_empty(), "nothing chosen from slot 2 on");
    let effects = deliver(&mut leader, 0, 3, MultiPaxosMessage::CatchUp { ballot: ballot(0, 4), from: 1 });
    assert!(effects.sends.is_empty(), "a request for another leader");
}

#[test]
fn catch_up_sends_at_most_a_bounded_batch() {
    let mut leader = leader();
    for sequence in 1..=DECISIONS_PER_MESSAGE_MAX as u64 + 1 {
        let client = CLIENT + sequence as NodeId;
        deliver(&mut leader, 0, client, request(Command { client, sequence: 1, operation: append(sequence) }));
        deliver(&mut leader, 0, 1, accepted(B, sequence));
        deliver(&mut leader, 0, 2, accepted(B, sequence));
    }
    let effects = deliver(&mut leader, 0, 3, MultiPaxosMessage::CatchUp { ballot: B, from: 1 });
    let [(3, MultiPaxosMessage::Decide { from: 1, entries, .. })] = &effects.sends[..] else {
        panic!("expected one Decide to server 3: {:?}", effects.sends);
    };
    assert_eq!(entries.len(), DECISIONS_PER_MESSAGE_MAX);
}
