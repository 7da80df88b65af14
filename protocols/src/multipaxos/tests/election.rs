//! Phase 1, once per leadership: the election timeout, promises, and what a new leader
//! must re-propose (PMS section 3; PMMC sections 2.2 and 3).

use super::*;
use crate::testing::assert_timers;

#[test]
fn election_timeout_prepares_every_slot_from_the_first_unexecuted_one_pms_3() {
    let mut candidate = server(0);
    let effects = candidate.fire(MultiPaxosTimer::Election);
    let prepare = MultiPaxosMessage::Prepare { ballot: ballot(1, 0), from: 1 };
    let mut expected = vec![Effect::Write(MultiPaxosRecord::Promised(ballot(1, 0))), Effect::Sync(1)];
    expected.extend(to_peers(0, prepare).into_iter().map(|(to, message)| Effect::send_after_sync(to, message)));
    assert_eq!(effects.without_timers(), expected, "it promises itself durably before the Prepare leaves");
    assert_timers(&effects, &[election_timer()]); // A candidate that stalls tries again.
    assert_eq!((candidate.role(), candidate.ballot()), (Role::Candidate, Some(ballot(1, 0))));
}

#[test]
fn majority_of_promises_elects_a_leader_that_asserts_itself_with_heartbeats_pmmc_2_2() {
    let mut leader = server(0);
    let effects = elect(&mut leader, vec![]);
    assert_eq!(effects.observed(), vec![MultiPaxosObservation::LeaderElected { ballot: ballot(1, 0) }]);
    let heartbeat = MultiPaxosMessage::Heartbeat { ballot: ballot(1, 0), first_unchosen: 1 };
    assert_eq!(effects.sent(), to_peers(0, heartbeat), "nothing to recover, so no Accept");
    assert_timers(&effects, &[TimerChange::Cancel(MultiPaxosTimer::Election), heartbeat_timer()]);
    assert!(effects.written().is_empty());
    assert_eq!(leader.leader(), Some(0));
}

#[test]
fn promises_for_another_ballot_or_repeated_do_not_count_towards_the_majority() {
    let mut candidate = server(0);
    candidate.fire(MultiPaxosTimer::Election);
    candidate.deliver(1, promise(3, 0, vec![]));
    candidate.deliver(2, promise(1, 0, vec![]));
    let effects = candidate.deliver(2, promise(1, 0, vec![]));
    assert_eq!(candidate.role(), Role::Candidate, "only itself and server 2 promised ballot (1, 0)");
    assert!(effects.sent().is_empty());
}

#[test]
fn new_leader_re_proposes_the_highest_ballot_entry_per_slot_and_fills_gaps_with_noops_pms_3() {
    let mut leader = server(0);
    leader.fire(MultiPaxosTimer::Election);
    let from_1 = vec![(1, ballot(1, 2), appended(1, 10)), (3, ballot(1, 2), appended(3, 30))];
    leader.deliver(1, promise(1, 0, from_1));
    let effects = leader.deliver(2, promise(1, 0, vec![(1, ballot(2, 3), appended(2, 20))]));
    let b = ballot(1, 0);
    let mut expected = to_peers(0, accept(b, 1, appended(2, 20), 1));
    expected.extend(to_peers(0, accept(b, 2, Entry::Noop, 1)));
    expected.extend(to_peers(0, accept(b, 3, appended(3, 30), 1)));
    expected.extend(to_peers(0, MultiPaxosMessage::Heartbeat { ballot: b, first_unchosen: 1 }));
    assert_eq!(effects.sent(), expected);
    let written: Vec<Slot> = effects
        .writes()
        .map(|record| match record {
            MultiPaxosRecord::Accepted { slot, ballot, .. } if *ballot == b => *slot,
            other => panic!("unexpected record {other:?}"),
        })
        .collect();
    assert_eq!(written, vec![1, 2, 3], "the leader accepts its own proposals durably");

    let effects = leader.deliver(CLIENT, request(command(4, append(40))));
    assert_eq!(effects.sent(), to_peers(0, accept(b, 4, appended(4, 40), 1)), "new commands go after them");
}

#[test]
fn new_leader_skips_slots_it_knows_chosen_and_prepares_from_its_first_unexecuted_slot() {
    let mut follower = server(0);
    follower.deliver(4, accept(ballot(1, 4), 1, appended(1, 10), 1));
    follower.deliver(4, accept(ballot(1, 4), 3, appended(3, 30), 1));
    follower.deliver(4, MultiPaxosMessage::Heartbeat { ballot: ballot(1, 4), first_unchosen: 4 });
    assert_eq!(follower.replica().first_unexecuted(), 2, "slot 2 is a gap");
    assert_eq!(follower.replica().chosen(3), Some(&appended(3, 30)));

    let effects = follower.fire(MultiPaxosTimer::Election);
    let prepare = MultiPaxosMessage::Prepare { ballot: ballot(2, 0), from: 2 };
    assert_eq!(effects.sent(), to_peers(0, prepare));
    follower.deliver(1, promise(2, 0, vec![]));
    let effects = follower.deliver(2, promise(2, 0, vec![]));
    let b = ballot(2, 0);
    let mut expected = to_peers(0, accept(b, 2, Entry::Noop, 2));
    expected.extend(to_peers(0, MultiPaxosMessage::Heartbeat { ballot: b, first_unchosen: 2 }));
    assert_eq!(effects.sent(), expected, "slot 3 is known chosen: only the gap is proposed");
}

#[test]
fn nack_with_a_higher_ballot_ends_the_candidacy_and_backs_off_pmmc_3() {
    let mut candidate = server(0);
    candidate.fire(MultiPaxosTimer::Election);
    let nack = MultiPaxosMessage::Nack { ballot: ballot(1, 0), promised: ballot(4, 3) };
    let effects = candidate.deliver(1, nack);
    assert_eq!(candidate.role(), Role::Follower);
    assert_timers(&effects, &[election_timer()]);
    assert!(effects.sent().is_empty());
    let effects = candidate.fire(MultiPaxosTimer::Election);
    assert_eq!(candidate.ballot(), Some(ballot(5, 0)), "the next try is above every round seen");
    assert_eq!(effects.sent(), to_peers(0, MultiPaxosMessage::Prepare { ballot: ballot(5, 0), from: 1 }));
}

#[test]
fn higher_prepare_deposes_the_leader_which_redirects_its_waiting_clients_pmmc_2_2() {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    let effects = leader.deliver(3, MultiPaxosMessage::Prepare { ballot: ballot(2, 3), from: 1 });
    assert_eq!(leader.role(), Role::Follower);
    let reported = vec![(1, ballot(1, 0), appended(1, 10))];
    let not_leader = MultiPaxosMessage::ClientReply(Response::NotLeader { sequence: 1, leader: None });
    assert_eq!(effects.sent(), vec![(CLIENT, not_leader), (3, promise(2, 3, reported))]);
    assert_timers(&effects, &[TimerChange::Cancel(MultiPaxosTimer::Heartbeat), election_timer()]);
}

#[test]
fn heartbeat_of_a_higher_ballot_deposes_the_leader_and_names_the_new_one_pmmc_2_2() {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    let heartbeat = MultiPaxosMessage::Heartbeat { ballot: ballot(2, 3), first_unchosen: 1 };
    let effects = leader.deliver(3, heartbeat);
    assert_eq!(leader.role(), Role::Follower);
    assert_eq!(leader.leader(), Some(3));
    let not_leader = MultiPaxosMessage::ClientReply(Response::NotLeader { sequence: 1, leader: Some(3) });
    assert_eq!(effects.sent(), vec![(CLIENT, not_leader)]);
}
