//! Exact-output handler tests of single-decree Paxos ("Paxos Made Simple", section 2),
//! fed one input at a time through the node contract with the test kit, with no engine.

use super::*;
use crate::consensus::{Chosen, Propose};
use crate::node::{Checker, Effect, Effects, Violation, MILLISECOND};
use crate::service::Outcome;
use crate::testing::{self, assert_milestones, assert_timers, ClientHarness, Harness, TimerChange};

const SEED: u64 = 7;
const TIMEOUT: u64 = 10 * MILLISECOND;

fn setup(variant: &'static str) -> Setup {
    testing::setup(3, 1, variant, TIMEOUT)
}

fn server(variant: &'static str, id: NodeId) -> Harness<Paxos> {
    Harness::boot(&setup(variant), id, SEED)
}

fn ballot(round: u64, proposer: NodeId) -> Ballot {
    Ballot { round, proposer }
}

#[test]
fn request_starts_phase_1_with_a_prepare_to_every_other_acceptor_section_2_2() {
    let mut server = server(CORRECT, 0);
    let effects = server.deliver(3, PaxosMessage::Request { request: 1, value: 42 });
    let prepare = PaxosMessage::Prepare { ballot: ballot(1, 0) };
    // Its own acceptor promises locally, durably; the Prepare needs no record of its own.
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Observe(PaxosObservation::Proposed { value: 42 }),
            Effect::send(1, prepare.clone()),
            Effect::send(2, prepare),
            Effect::Write(PaxosRecord::Promised(ballot(1, 0))),
            Effect::Sync(1),
        ]
    );
    assert_timers(&effects, &[TimerChange::Set(PaxosTimer::Retry, TIMEOUT..=2 * TIMEOUT)]);
}

#[test]
fn acceptor_promises_durably_and_reports_its_accepted_proposal_section_2_2() {
    let mut acceptor = server(CORRECT, 1);
    acceptor.deliver(0, PaxosMessage::Accept { ballot: ballot(1, 0), value: 5 });
    let effects = acceptor.deliver(2, PaxosMessage::Prepare { ballot: ballot(2, 2) });
    let promise = PaxosMessage::Promise { ballot: ballot(2, 2), accepted: Some((ballot(1, 0), 5)) };
    assert_eq!(
        effects.list,
        [Effect::Write(PaxosRecord::Promised(ballot(2, 2))), Effect::Sync(2), Effect::send_after_sync(2, promise)],
        "the promise leaves only once its record is durable"
    );
}

#[test]
fn acceptor_refuses_a_prepare_below_its_promise_section_2_2() {
    let mut acceptor = server(CORRECT, 1);
    acceptor.deliver(2, PaxosMessage::Prepare { ballot: ballot(3, 2) });
    let effects = acceptor.deliver(0, PaxosMessage::Prepare { ballot: ballot(2, 0) });
    let nack = PaxosMessage::Nack { ballot: ballot(2, 0), promised: ballot(3, 2) };
    assert_eq!(effects.list, [Effect::send_after_sync(0, nack)], "nothing written");
}

#[test]
fn acceptor_refuses_an_accept_below_its_promise_section_2_2() {
    let mut acceptor = server(CORRECT, 1);
    acceptor.deliver(2, PaxosMessage::Prepare { ballot: ballot(3, 2) });
    let effects = acceptor.deliver(0, PaxosMessage::Accept { ballot: ballot(2, 0), value: 9 });
    let nack = PaxosMessage::Nack { ballot: ballot(2, 0), promised: ballot(3, 2) };
    assert_eq!(effects.list, [Effect::send_after_sync(0, nack)], "nothing accepted, nothing observed");
}

/// Drives server 0 through phase 1 with promises carrying `reported`, returns phase 2a's effects.
fn phase_2_after_promises(variant: &'static str, reported: Option<(Ballot, Value)>) -> Effects<Paxos> {
    let mut proposer = server(variant, 0);
    proposer.deliver(3, PaxosMessage::Request { request: 1, value: 42 });
    proposer.deliver(1, PaxosMessage::Promise { ballot: ballot(1, 0), accepted: reported })
}

#[test]
fn majority_of_promises_starts_phase_2_with_own_value_when_none_reported_section_2_2() {
    let effects = phase_2_after_promises(CORRECT, None);
    let accept = PaxosMessage::Accept { ballot: ballot(1, 0), value: 42 };
    assert_eq!(
        effects.list,
        [
            Effect::send(1, accept.clone()),
            Effect::send(2, accept),
            Effect::Write(PaxosRecord::Accepted(ballot(1, 0), 42)),
            Effect::Sync(2),
            Effect::ObserveAfterSync(PaxosObservation::Accepted { ballot: ballot(1, 0), value: 42 }),
        ]
    );
}

#[test]
fn phase_2_proposes_the_highest_accepted_value_reported_section_2_2() {
    let effects = phase_2_after_promises(CORRECT, Some((ballot(1, 2), 7)));
    let accept = PaxosMessage::Accept { ballot: ballot(1, 0), value: 7 };
    assert_eq!(effects.sent(), [(1, accept.clone()), (2, accept)]);
}

#[test]
fn ignore_accepted_variant_proposes_its_own_value_anyway() {
    let effects = phase_2_after_promises(IGNORE_ACCEPTED, Some((ballot(1, 2), 7)));
    let accept = PaxosMessage::Accept { ballot: ballot(1, 0), value: 42 };
    assert_eq!(effects.sent(), [(1, accept.clone()), (2, accept)]);
}

#[test]
fn majority_of_accepted_chooses_tells_learners_and_answers_the_client_section_2_3() {
    let mut proposer = server(CORRECT, 0);
    proposer.deliver(3, PaxosMessage::Request { request: 1, value: 42 });
    proposer.deliver(1, PaxosMessage::Promise { ballot: ballot(1, 0), accepted: None });
    let effects = proposer.deliver(2, PaxosMessage::Accepted { ballot: ballot(1, 0), value: 42 });
    // Learn and Reply wait for the proposer's own Accepted record (sync 2) to be durable.
    assert_eq!(
        effects.without_timers(),
        [
            Effect::send_after_sync(1, PaxosMessage::Learn { value: 42 }),
            Effect::send_after_sync(2, PaxosMessage::Learn { value: 42 }),
            Effect::Observe(PaxosObservation::Learned { value: 42 }),
            Effect::send_after_sync(3, PaxosMessage::Reply { request: 1, value: 42 }),
        ]
    );
    assert_timers(&effects, &[TimerChange::Cancel(PaxosTimer::Retry)]);
    assert_eq!(proposer.learned(), Some(42));
}

#[test]
fn nack_abandons_the_round_and_backs_off_before_a_higher_ballot() {
    let mut proposer = server(CORRECT, 0);
    proposer.deliver(3, PaxosMessage::Request { request: 1, value: 42 });
    let effects = proposer.deliver(1, PaxosMessage::Nack { ballot: ballot(1, 0), promised: ballot(5, 2) });
    assert!(effects.sent().is_empty());
    // A back-off of up to twice the timeout (a failed round doubles it), plus as much jitter.
    assert_timers(&effects, &[TimerChange::Set(PaxosTimer::Retry, 0..=4 * TIMEOUT)]);
    let effects = proposer.fire(PaxosTimer::Retry);
    let prepare = PaxosMessage::Prepare { ballot: ballot(6, 0) };
    assert_eq!(effects.sent(), [(1, prepare.clone()), (2, prepare)]);
}

#[test]
fn restarted_acceptor_keeps_its_promise_and_accepted_value_section_2_2() {
    let records = [PaxosRecord::Promised(ballot(2, 2)), PaxosRecord::Accepted(ballot(3, 1), 8)];
    let mut acceptor = Harness::<Paxos>::recovered(&setup(CORRECT), 1, &records, SEED);
    assert_eq!(acceptor.acceptor(), &Acceptor { promised: ballot(3, 1), accepted: Some((ballot(3, 1), 8)) });
    let effects = acceptor.deliver(0, PaxosMessage::Prepare { ballot: ballot(1, 0) });
    assert_eq!(effects.sent(), [(0, PaxosMessage::Nack { ballot: ballot(1, 0), promised: ballot(3, 1) })]);
}

#[test]
fn acceptor_forgets_variant_loses_its_state_on_restart() {
    let records = [PaxosRecord::Accepted(ballot(3, 1), 8)];
    let acceptor = Paxos::recover(&setup(ACCEPTOR_FORGETS), 1, &records);
    assert_eq!(acceptor.acceptor(), &Acceptor::default());
}

#[test]
fn client_retries_on_the_next_server_with_a_longer_timeout_then_gives_up_as_info() {
    let mut client = ClientHarness::<Paxos>::new(&setup(CORRECT), 3, SEED);
    let effects = client.request(Propose { value: 5 });
    assert_eq!(effects.sent(), [(0, PaxosMessage::Request { request: 1, value: 5 })]);
    assert_timers(&effects, &[TimerChange::exactly(PaxosTimer::RequestTimeout, 4 * TIMEOUT)]);
    let effects = client.fire(PaxosTimer::RequestTimeout);
    assert_eq!(effects.sent(), [(1, PaxosMessage::Request { request: 1, value: 5 })]);
    assert_timers(&effects, &[TimerChange::exactly(PaxosTimer::RequestTimeout, 8 * TIMEOUT)]);
    for _ in 2..client::ATTEMPTS {
        assert!(client.fire(PaxosTimer::RequestTimeout).completed().is_empty());
    }
    let effects = client.fire(PaxosTimer::RequestTimeout);
    assert_eq!(effects.completed(), [Outcome::Info]);
    assert!(effects.sent().is_empty());
}

#[test]
fn client_completes_with_the_chosen_value_and_ignores_stale_replies() {
    let mut client = ClientHarness::<Paxos>::new(&setup(CORRECT), 3, SEED);
    client.request(Propose { value: 5 });
    let stale = client.deliver(0, PaxosMessage::Reply { request: 0, value: 9 });
    assert!(stale.completed().is_empty());
    let effects = client.deliver(0, PaxosMessage::Reply { request: 1, value: 9 });
    assert_eq!(effects.completed(), [Outcome::Ok(Chosen(9))]);
}

fn observe_all(checker: &mut PaxosChecker, observations: &[(NodeId, PaxosObservation)]) -> Result<(), Violation> {
    observations.iter().try_for_each(|(node, observation)| checker.observe(0, *node, observation))
}

#[test]
fn checker_accepts_one_value_chosen_in_two_ballots() {
    let mut checker = Paxos::checker(&setup(CORRECT));
    let run = [
        (0, PaxosObservation::Proposed { value: 1 }),
        (0, PaxosObservation::Accepted { ballot: ballot(1, 0), value: 1 }),
        (1, PaxosObservation::Accepted { ballot: ballot(1, 0), value: 1 }),
        (2, PaxosObservation::Accepted { ballot: ballot(2, 2), value: 1 }),
        (1, PaxosObservation::Accepted { ballot: ballot(2, 2), value: 1 }),
        (2, PaxosObservation::Learned { value: 1 }),
    ];
    assert_eq!(observe_all(&mut checker, &run), Ok(()));
    assert_eq!(checker.chosen(), Some(1));
}

#[test]
fn checker_catches_two_values_chosen() {
    let mut checker = Paxos::checker(&setup(CORRECT));
    let run = [
        (0, PaxosObservation::Proposed { value: 1 }),
        (2, PaxosObservation::Proposed { value: 2 }),
        (0, PaxosObservation::Accepted { ballot: ballot(1, 0), value: 1 }),
        (1, PaxosObservation::Accepted { ballot: ballot(1, 0), value: 1 }),
        (2, PaxosObservation::Accepted { ballot: ballot(2, 2), value: 2 }),
        (1, PaxosObservation::Accepted { ballot: ballot(2, 2), value: 2 }),
    ];
    let violation = observe_all(&mut checker, &run).unwrap_err();
    assert_eq!(violation.invariant, "agreement");
    assert_eq!(violation.nodes, vec![0, 1, 2]);
}

#[test]
fn checker_catches_an_unproposed_value_and_an_unchosen_learned_value() {
    let mut checker = Paxos::checker(&setup(CORRECT));
    let run = [
        (0, PaxosObservation::Accepted { ballot: ballot(1, 0), value: 3 }),
        (1, PaxosObservation::Accepted { ballot: ballot(1, 0), value: 3 }),
    ];
    assert_eq!(observe_all(&mut checker, &run).unwrap_err().invariant, "validity");
    let mut checker = Paxos::checker(&setup(CORRECT));
    let learned = [(1, PaxosObservation::Learned { value: 3 })];
    assert_eq!(observe_all(&mut checker, &learned).unwrap_err().invariant, "learned-chosen");
}

#[test]
fn milestones_are_declared_and_each_is_marked_by_an_observation() {
    assert_milestones::<Paxos>(&[
        PaxosObservation::Proposed { value: 1 },
        PaxosObservation::Accepted { ballot: ballot(1, 0), value: 1 },
        PaxosObservation::Learned { value: 1 },
    ]);
    assert_eq!(Paxos::milestone(&PaxosObservation::Proposed { value: 1 }), None, "a proposal is no progress");
}
