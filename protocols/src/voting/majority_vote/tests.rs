//! Exact-output handler tests of the naive majority vote, and hand-driven clusters that show
//! both ways it decides two values: competing proposers whose split vote starts a new round,
//! and a voter that forgets its vote across a restart.

use super::*;
use crate::consensus::{Chosen, Propose};
use crate::node::{Checker, Effect, Violation, MILLISECOND};
use crate::service::Outcome;
use crate::testing::{self, assert_milestones, assert_timers, ClientHarness, Cluster, Harness, TimerChange};

const SEED: u64 = 7;
const TIMEOUT: u64 = 10 * MILLISECOND;

fn setup(variant: &'static str, clients: u32) -> Setup {
    testing::setup(3, clients, variant, TIMEOUT)
}

fn server(variant: &'static str, id: NodeId) -> Harness<MajorityVote> {
    Harness::boot(&setup(variant, 1), id, SEED)
}

#[test]
fn a_request_makes_the_proposer_vote_for_its_value_then_ask_every_other_voter() {
    let mut proposer = server(CORRECT, 0);
    let effects = proposer.deliver(3, VoteMessage::Request { request: 1, value: 42 });
    let propose = VoteMessage::Propose { round: 1, value: 42 };
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(VoteRecord::Proposing { round: 1, value: 42 }),
            Effect::Observe(VoteObservation::Proposed { value: 42 }),
            Effect::Write(VoteRecord::Voted { round: 1, value: 42 }),
            Effect::Observe(VoteObservation::Voted { round: 1, value: 42 }),
            Effect::Sync(1),
            Effect::send_after_sync(1, propose.clone()),
            Effect::send_after_sync(2, propose),
        ],
        "the proposals leave once the proposal and its own vote are durable"
    );
    assert_timers(&effects, &[TimerChange::Set(VoteTimer::Retry, TIMEOUT..=2 * TIMEOUT)]);
}

#[test]
fn a_voter_votes_for_the_first_value_of_a_round_and_names_it_to_every_proposer() {
    let mut voter = server(CORRECT, 1);
    let effects = voter.deliver(0, VoteMessage::Propose { round: 1, value: 5 });
    assert_eq!(
        effects.list,
        [
            Effect::Write(VoteRecord::Voted { round: 1, value: 5 }),
            Effect::Observe(VoteObservation::Voted { round: 1, value: 5 }),
            Effect::Sync(1),
            Effect::send_after_sync(0, VoteMessage::Vote { round: 1, value: 5 }),
        ]
    );
    let effects = voter.deliver(2, VoteMessage::Propose { round: 1, value: 6 });
    assert_eq!(effects.list, [Effect::send_after_sync(2, VoteMessage::Vote { round: 1, value: 5 })]);
    let effects = voter.deliver(2, VoteMessage::Propose { round: 2, value: 6 });
    assert_eq!(effects.sent(), [(2, VoteMessage::Vote { round: 2, value: 6 })], "a new round: it votes again");
    let effects = voter.deliver(0, VoteMessage::Propose { round: 1, value: 5 });
    assert_eq!(effects.sent(), [(0, VoteMessage::Newer { round: 1, newer: 2 })]);
}

#[test]
fn a_majority_for_its_value_decides_and_a_majority_for_another_is_learned() {
    let mut proposer = server(CORRECT, 0);
    proposer.deliver(3, VoteMessage::Request { request: 1, value: 42 });
    let effects = proposer.deliver(1, VoteMessage::Vote { round: 1, value: 42 });
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Observe(VoteObservation::Decided { round: 1, value: 42, voters: vec![0, 1] }),
            Effect::send(1, VoteMessage::Decide { value: 42 }),
            Effect::send(2, VoteMessage::Decide { value: 42 }),
            Effect::send_after_sync(3, VoteMessage::Reply { request: 1, value: 42 }),
        ]
    );
    assert_timers(&effects, &[TimerChange::Cancel(VoteTimer::Retry)]);
    let mut loser = server(CORRECT, 2);
    loser.deliver(4, VoteMessage::Request { request: 1, value: 7 });
    loser.deliver(0, VoteMessage::Vote { round: 1, value: 42 });
    let effects = loser.deliver(1, VoteMessage::Vote { round: 1, value: 42 });
    assert_eq!(effects.observed(), [VoteObservation::Learned { value: 42 }]);
    assert_eq!(effects.sent(), [(4, VoteMessage::Reply { request: 1, value: 42 })]);
}

#[test]
fn a_split_vote_backs_off_and_a_new_round_follows_the_highest_round_heard() {
    let mut proposer = server(CORRECT, 0);
    proposer.deliver(3, VoteMessage::Request { request: 1, value: 42 });
    proposer.deliver(1, VoteMessage::Vote { round: 1, value: 5 });
    let effects = proposer.deliver(2, VoteMessage::Vote { round: 1, value: 6 });
    assert!(effects.sent().is_empty(), "three votes for three values: no majority");
    assert_timers(&effects, &[TimerChange::Set(VoteTimer::Retry, 0..=2 * TIMEOUT)]);
    let effects = proposer.fire(VoteTimer::Retry);
    let propose = VoteMessage::Propose { round: 2, value: 42 };
    assert_eq!(effects.sent(), [(1, propose.clone()), (2, propose)]);
    assert_eq!(proposer.voter(), server::Voter { round: 2, voted: Some(42) }, "it voted again, for itself");
}

#[test]
fn silent_voters_are_asked_again_in_the_same_round() {
    let mut proposer = server(CORRECT, 0);
    proposer.deliver(3, VoteMessage::Request { request: 1, value: 42 });
    proposer.deliver(1, VoteMessage::Vote { round: 1, value: 5 });
    let effects = proposer.fire(VoteTimer::Retry);
    assert_eq!(effects.sent(), [(2, VoteMessage::Propose { round: 1, value: 42 })]);
}

#[test]
fn a_restarted_voter_keeps_its_vote_unless_it_is_forgetful() {
    let records = [VoteRecord::Voted { round: 1, value: 5 }, VoteRecord::Proposing { round: 1, value: 5 }];
    let kept = MajorityVote::recover(&setup(CORRECT, 1), 1, &records);
    assert_eq!(kept.voter(), server::Voter { round: 1, voted: Some(5) });
    let forgot = MajorityVote::recover(&setup(FORGETFUL_VOTER, 1), 1, &records);
    assert_eq!(forgot.voter(), server::Voter::default());
}

#[test]
fn one_proposer_decides_one_value_and_answers_later_requests_with_it() {
    let mut cluster = Cluster::<MajorityVote>::new(setup(CORRECT, 1), SEED);
    cluster.start_all();
    cluster.request(3, Propose { value: 1 });
    cluster.deliver_all(|_| false);
    cluster.request(3, Propose { value: 2 });
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.outcomes, [(3, Outcome::Ok(Chosen(1))), (3, Outcome::Ok(Chosen(1)))]);
    assert_eq!(cluster.violation, None);
    assert!((0..3).all(|id| cluster.server(id).decided() == Some(1)));
    let sent = cluster.sent_by_kind();
    assert_eq!((sent["Propose"], sent["Vote"], sent["Decide"]), (2, 2, 2), "2(N-1) votes, N-1 decisions");
}

#[test]
fn competing_proposers_split_then_a_new_round_decides_a_second_value() {
    // Three clients, each at its own server: every voter votes for its own proposer first.
    let mut cluster = Cluster::<MajorityVote>::new(setup(CORRECT, 3), SEED);
    cluster.start_all();
    for (client, value) in [(3, 10), (4, 11), (5, 12)] {
        cluster.request(client, Propose { value });
    }
    cluster.deliver_all(|_| false);
    assert!(cluster.outcomes.is_empty(), "a split vote decides nothing");
    // Server 1 tries again first and wins round 2; its Decide to server 2 is lost, and
    // server 2, not knowing, tries round 3 and wins it too.
    cluster.fire(1, VoteTimer::Retry);
    cluster.deliver_all(|(from, to, message)| *from == 1 && *to == 2 && matches!(message, VoteMessage::Decide { .. }));
    cluster.fire(2, VoteTimer::Retry);
    cluster.deliver_all(|_| false);
    let violation = cluster.violation.clone().expect("two values decided");
    assert_eq!(violation.invariant, "agreement");
    assert!(violation.detail.contains("decided value 11 in round 2"), "{}", violation.detail);
    assert!(violation.detail.contains("decided value 12 in round 3"), "{}", violation.detail);
}

/// Two proposers (servers 0 and 1) and voter 2, which votes for server 0's value and then
/// restarts before server 1's proposal reaches it.
fn restart_between_two_proposals(variant: &'static str) -> Option<Violation> {
    let mut cluster = Cluster::<MajorityVote>::new(setup(variant, 2), SEED);
    cluster.start_all();
    cluster.request(3, Propose { value: 10 });
    cluster.request(4, Propose { value: 11 });
    // Server 0's proposal reaches voter 2, server 1's does not, nor does 0's decision reach 1.
    let decide = |message: &VoteMessage| matches!(message, VoteMessage::Decide { .. });
    cluster.deliver_all(|(from, to, message)| (*from, *to) == (1, 2) || ((*from, *to) == (0, 1) && decide(message)));
    cluster.crash(2);
    cluster.restart(2);
    cluster.fire(1, VoteTimer::Retry);
    cluster.deliver_all(|_| false);
    cluster.violation.clone()
}

#[test]
fn a_forgetful_voter_votes_twice_in_one_round_and_two_values_are_decided() {
    assert_eq!(restart_between_two_proposals(CORRECT), None, "a durable vote is named again: 1 learns 10");
    let violation = restart_between_two_proposals(FORGETFUL_VOTER).expect("two decisions");
    assert_eq!(violation.invariant, "agreement");
    assert!(violation.detail.contains("value 10 in round 1 with the votes of [0, 2]"), "{}", violation.detail);
    assert!(violation.detail.contains("value 11 in round 1 with the votes of [1, 2]"), "{}", violation.detail);
}

#[test]
fn the_client_asks_the_same_server_again_then_gives_up_as_info() {
    let mut client = ClientHarness::<MajorityVote>::new(&setup(CORRECT, 1), 4, SEED);
    let effects = client.request(Propose { value: 5 });
    assert_eq!(effects.sent(), [(1, VoteMessage::Request { request: 1, value: 5 })]);
    assert_timers(&effects, &[TimerChange::exactly(VoteTimer::Client, 4 * TIMEOUT)]);
    let effects = client.fire(VoteTimer::Client);
    assert_eq!(effects.sent(), [(1, VoteMessage::Request { request: 1, value: 5 })], "the same server");
    for _ in 2..client::ATTEMPTS {
        client.fire(VoteTimer::Client);
    }
    assert_eq!(client.fire(VoteTimer::Client).completed(), [Outcome::Info]);
    client.request(Propose { value: 6 });
    assert!(client.deliver(1, VoteMessage::Reply { request: 1, value: 5 }).completed().is_empty(), "stale");
    assert_eq!(client.deliver(1, VoteMessage::Reply { request: 2, value: 5 }).completed(), [Outcome::Ok(Chosen(5))]);
}

#[test]
fn the_checker_passes_one_value_and_catches_two_and_an_unproposed_one() {
    let mut checker = MajorityVote::checker(&setup(CORRECT, 1));
    let decided = |value, voters: Vec<NodeId>| VoteObservation::Decided { round: 1, value, voters };
    assert_eq!(checker.observe(1, 0, &VoteObservation::Proposed { value: 1 }), Ok(()));
    assert_eq!(checker.observe(2, 0, &decided(1, vec![0, 1])), Ok(()));
    assert_eq!(checker.observe(3, 2, &VoteObservation::Learned { value: 1 }), Ok(()));
    assert_eq!(checker.decided(), Some(1));
    checker.observe(4, 1, &VoteObservation::Proposed { value: 2 }).expect("a proposal");
    let violation = checker.observe(5, 1, &decided(2, vec![1, 2])).expect_err("a second value");
    assert_eq!((violation.invariant, violation.nodes.clone()), ("agreement", vec![0, 1, 2]));
    assert_eq!(violation.evidence, vec![(0, 2), (1, 5)]);
    let mut checker = MajorityVote::checker(&setup(CORRECT, 1));
    assert_eq!(checker.observe(1, 0, &decided(9, vec![0, 1])).expect_err("never proposed").invariant, "validity");
}

#[test]
fn milestones_are_declared_and_each_is_marked_by_an_observation() {
    assert_milestones::<MajorityVote>(&[
        VoteObservation::Voted { round: 1, value: 1 },
        VoteObservation::Decided { round: 1, value: 1, voters: vec![0, 1] },
    ]);
}
