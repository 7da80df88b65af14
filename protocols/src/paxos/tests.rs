//! Exact-output handler tests of single-decree Paxos ("Paxos Made Simple", section 2),
//! fed one input at a time through the node contract, with no engine.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::node::{Checker, Client, Effects, Node, TimerCommand, Violation, MILLISECOND};
use crate::operation::{Operation, Outcome, Reply};

fn setup(variant: &'static str) -> Setup {
    Setup { servers: 3, clients: 1, variant, timeout: 10 * MILLISECOND }
}

fn ballot(round: u64, proposer: NodeId) -> Ballot {
    Ballot { round, proposer }
}

/// Feeds one input to `node` and returns what it did.
fn step<N: Node<Paxos>>(node: &mut N, id: NodeId, input: impl FnOnce(&mut N, &mut Context<Paxos>)) -> Effects<Paxos> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut effects = Effects::default();
    let mut ctx = Context::new(id, 0, &mut rng, &mut effects);
    input(node, &mut ctx);
    node.invariants();
    effects
}

fn deliver(server: &mut PaxosServer, id: NodeId, from: NodeId, message: PaxosMessage) -> Effects<Paxos> {
    step(server, id, |node, ctx| node.on_message(ctx, from, message))
}

#[test]
fn request_starts_phase_1_with_a_prepare_to_every_other_acceptor_section_2_2() {
    let setup = setup(CORRECT);
    let mut server = Paxos::server(&setup, 0);
    let effects = deliver(&mut server, 0, 3, PaxosMessage::Request { request: 1, value: 42 });
    assert_eq!(
        effects.sends,
        vec![(1, PaxosMessage::Prepare { ballot: ballot(1, 0) }), (2, PaxosMessage::Prepare { ballot: ballot(1, 0) })]
    );
    // Its own acceptor promised locally, durably, before anything was answered.
    assert_eq!(effects.writes, vec![PaxosRecord::Promised(ballot(1, 0))]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.observations, vec![PaxosObservation::Proposed { value: 42 }]);
    assert!(matches!(effects.timers[..], [TimerCommand::Set { timer: PaxosTimer::Retry, .. }]));
}

#[test]
fn acceptor_promises_durably_and_reports_its_accepted_proposal_section_2_2() {
    let setup = setup(CORRECT);
    let mut acceptor = Paxos::server(&setup, 1);
    deliver(&mut acceptor, 1, 0, PaxosMessage::Accept { ballot: ballot(1, 0), value: 5 });
    let effects = deliver(&mut acceptor, 1, 2, PaxosMessage::Prepare { ballot: ballot(2, 2) });
    assert_eq!(
        effects.sends,
        vec![(2, PaxosMessage::Promise { ballot: ballot(2, 2), accepted: Some((ballot(1, 0), 5)) })]
    );
    assert_eq!(effects.writes, vec![PaxosRecord::Promised(ballot(2, 2))]);
    assert_eq!(effects.synced, Some(1));
}

#[test]
fn acceptor_refuses_a_prepare_below_its_promise_section_2_2() {
    let setup = setup(CORRECT);
    let mut acceptor = Paxos::server(&setup, 1);
    deliver(&mut acceptor, 1, 2, PaxosMessage::Prepare { ballot: ballot(3, 2) });
    let effects = deliver(&mut acceptor, 1, 0, PaxosMessage::Prepare { ballot: ballot(2, 0) });
    assert_eq!(effects.sends, vec![(0, PaxosMessage::Nack { ballot: ballot(2, 0), promised: ballot(3, 2) })]);
    assert!(effects.writes.is_empty());
}

#[test]
fn acceptor_refuses_an_accept_below_its_promise_section_2_2() {
    let setup = setup(CORRECT);
    let mut acceptor = Paxos::server(&setup, 1);
    deliver(&mut acceptor, 1, 2, PaxosMessage::Prepare { ballot: ballot(3, 2) });
    let effects = deliver(&mut acceptor, 1, 0, PaxosMessage::Accept { ballot: ballot(2, 0), value: 9 });
    assert_eq!(effects.sends, vec![(0, PaxosMessage::Nack { ballot: ballot(2, 0), promised: ballot(3, 2) })]);
    assert_eq!(effects.observations, vec![]);
}

/// Drives server 0 through phase 1 with promises carrying `reported`, returns phase 2a's effects.
fn phase_2_after_promises(variant: &'static str, reported: Option<(Ballot, Value)>) -> Effects<Paxos> {
    let setup = setup(variant);
    let mut proposer = Paxos::server(&setup, 0);
    deliver(&mut proposer, 0, 3, PaxosMessage::Request { request: 1, value: 42 });
    deliver(&mut proposer, 0, 1, PaxosMessage::Promise { ballot: ballot(1, 0), accepted: reported })
}

#[test]
fn majority_of_promises_starts_phase_2_with_own_value_when_none_reported_section_2_2() {
    let effects = phase_2_after_promises(CORRECT, None);
    let accept = PaxosMessage::Accept { ballot: ballot(1, 0), value: 42 };
    assert_eq!(effects.sends, vec![(1, accept.clone()), (2, accept)]);
    assert_eq!(effects.writes, vec![PaxosRecord::Accepted(ballot(1, 0), 42)]);
    assert_eq!(effects.synced, Some(1));
}

#[test]
fn phase_2_proposes_the_highest_accepted_value_reported_section_2_2() {
    let effects = phase_2_after_promises(CORRECT, Some((ballot(1, 2), 7)));
    let accept = PaxosMessage::Accept { ballot: ballot(1, 0), value: 7 };
    assert_eq!(effects.sends, vec![(1, accept.clone()), (2, accept)]);
}

#[test]
fn ignore_accepted_variant_proposes_its_own_value_anyway() {
    let effects = phase_2_after_promises(IGNORE_ACCEPTED, Some((ballot(1, 2), 7)));
    let accept = PaxosMessage::Accept { ballot: ballot(1, 0), value: 42 };
    assert_eq!(effects.sends, vec![(1, accept.clone()), (2, accept)]);
}

#[test]
fn majority_of_accepted_chooses_tells_learners_and_answers_the_client_section_2_3() {
    let setup = setup(CORRECT);
    let mut proposer = Paxos::server(&setup, 0);
    deliver(&mut proposer, 0, 3, PaxosMessage::Request { request: 1, value: 42 });
    deliver(&mut proposer, 0, 1, PaxosMessage::Promise { ballot: ballot(1, 0), accepted: None });
    let effects = deliver(&mut proposer, 0, 2, PaxosMessage::Accepted { ballot: ballot(1, 0), value: 42 });
    assert_eq!(
        effects.sends,
        vec![
            (1, PaxosMessage::Learn { value: 42 }),
            (2, PaxosMessage::Learn { value: 42 }),
            (3, PaxosMessage::Reply { request: 1, value: 42 }),
        ]
    );
    assert_eq!(effects.observations, vec![PaxosObservation::Learned { value: 42 }]);
    assert_eq!(effects.timers, vec![TimerCommand::Cancel { timer: PaxosTimer::Retry }]);
    assert_eq!(proposer.learned(), Some(42));
}

#[test]
fn nack_abandons_the_round_and_backs_off_before_a_higher_ballot() {
    let setup = setup(CORRECT);
    let mut proposer = Paxos::server(&setup, 0);
    deliver(&mut proposer, 0, 3, PaxosMessage::Request { request: 1, value: 42 });
    let effects = deliver(&mut proposer, 0, 1, PaxosMessage::Nack { ballot: ballot(1, 0), promised: ballot(5, 2) });
    assert!(effects.sends.is_empty());
    assert!(matches!(effects.timers[..], [TimerCommand::Set { timer: PaxosTimer::Retry, .. }]));
    let effects = step(&mut proposer, 0, |node, ctx| node.on_timer(ctx, PaxosTimer::Retry));
    let prepare = PaxosMessage::Prepare { ballot: ballot(6, 0) };
    assert_eq!(effects.sends, vec![(1, prepare.clone()), (2, prepare)]);
}

#[test]
fn restarted_acceptor_keeps_its_promise_and_accepted_value_section_2_2() {
    let setup = setup(CORRECT);
    let records = [PaxosRecord::Promised(ballot(2, 2)), PaxosRecord::Accepted(ballot(3, 1), 8)];
    let mut acceptor = Paxos::recover(&setup, 1, &records);
    assert_eq!(acceptor.acceptor(), &Acceptor { promised: ballot(3, 1), accepted: Some((ballot(3, 1), 8)) });
    let effects = deliver(&mut acceptor, 1, 0, PaxosMessage::Prepare { ballot: ballot(1, 0) });
    assert_eq!(effects.sends, vec![(0, PaxosMessage::Nack { ballot: ballot(1, 0), promised: ballot(3, 1) })]);
}

#[test]
fn acceptor_forgets_variant_loses_its_state_on_restart() {
    let setup = setup(ACCEPTOR_FORGETS);
    let records = [PaxosRecord::Accepted(ballot(3, 1), 8)];
    let acceptor = Paxos::recover(&setup, 1, &records);
    assert_eq!(acceptor.acceptor(), &Acceptor::default());
}

#[test]
fn client_retries_on_the_next_server_then_gives_up_as_info() {
    let setup = setup(CORRECT);
    let mut client = Paxos::client(&setup, 3);
    let effects = step(&mut client, 3, |c, ctx| c.on_request(ctx, Operation::Propose { value: 5 }));
    assert_eq!(effects.sends, vec![(0, PaxosMessage::Request { request: 1, value: 5 })]);
    let effects = step(&mut client, 3, |c, ctx| c.on_timer(ctx, PaxosTimer::RequestTimeout));
    assert_eq!(effects.sends, vec![(1, PaxosMessage::Request { request: 1, value: 5 })]);
    for _ in 2..client::ATTEMPTS {
        step(&mut client, 3, |c, ctx| c.on_timer(ctx, PaxosTimer::RequestTimeout));
    }
    let effects = step(&mut client, 3, |c, ctx| c.on_timer(ctx, PaxosTimer::RequestTimeout));
    assert_eq!(effects.outcomes, vec![Outcome::Info]);
    assert!(effects.sends.is_empty());
}

#[test]
fn client_completes_with_the_chosen_value_and_ignores_stale_replies() {
    let setup = setup(CORRECT);
    let mut client = Paxos::client(&setup, 3);
    step(&mut client, 3, |c, ctx| c.on_request(ctx, Operation::Propose { value: 5 }));
    let stale = step(&mut client, 3, |c, ctx| c.on_message(ctx, 0, PaxosMessage::Reply { request: 0, value: 9 }));
    assert!(stale.outcomes.is_empty());
    let effects = step(&mut client, 3, |c, ctx| c.on_message(ctx, 0, PaxosMessage::Reply { request: 1, value: 9 }));
    assert_eq!(effects.outcomes, vec![Outcome::Ok(Reply::Value(Some(9)))]);
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
