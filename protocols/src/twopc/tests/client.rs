//! The transaction client (shared by both protocols, tested here through 2PC).

use super::*;
use crate::commit::ATTEMPTS;
use crate::node::Client;
use crate::operation::{Operation, Outcome, Reply};

fn client() -> TransactionClient<TwoPhaseCommit> {
    TwoPhaseCommit::client(&setup(CORRECT), CLIENT)
}

fn begin(client: &mut TransactionClient<TwoPhaseCommit>) -> Effects<TwoPhaseCommit> {
    let operation = Operation::Transaction { value: 7, keys: vec![0, 1], vetoes: vec![1] };
    step(client, CLIENT, |client, ctx| client.on_request(ctx, operation))
}

#[test]
fn client_sends_its_transaction_to_the_coordinator_and_commit_completes_ok() {
    let mut client = client();
    let effects = begin(&mut client);
    assert_eq!(effects.sends, vec![(0, request(7, &[0, 1], &[1]))]);
    assert_eq!(effects.timers, vec![set(4 * TIMEOUT, TwoPhaseTimer::RequestTimeout)]);
    let stale = deliver(&mut client, CLIENT, 0, reply(6, Decision::Commit));
    assert!(stale.outcomes.is_empty(), "a reply about another transaction");
    let effects = deliver(&mut client, CLIENT, 0, reply(7, Decision::Commit));
    assert_eq!(effects.outcomes, vec![Outcome::Ok(Reply::Done)]);
    assert_eq!(effects.timers, vec![cancel(TwoPhaseTimer::RequestTimeout)]);
}

#[test]
fn an_abort_reply_completes_fail() {
    let mut client = client();
    begin(&mut client);
    let effects = deliver(&mut client, CLIENT, 2, reply(7, Decision::Abort));
    assert_eq!(effects.outcomes, vec![Outcome::Fail]);
}

#[test]
fn a_timeout_asks_the_coordinator_again_and_the_participants_then_gives_up_as_info_not_fail() {
    let mut client = client();
    begin(&mut client);
    let effects = fire(&mut client, CLIENT, TwoPhaseTimer::RequestTimeout);
    let inquiry = |transaction| TwoPhaseMessage::Client(ClientMessage::Inquiry { transaction });
    assert_eq!(effects.sends, vec![(0, request(7, &[0, 1], &[1])), (1, inquiry(7)), (2, inquiry(7))]);
    assert_eq!(effects.timers, vec![set(8 * TIMEOUT, TwoPhaseTimer::RequestTimeout)]);
    for _ in 2..ATTEMPTS {
        assert!(fire(&mut client, CLIENT, TwoPhaseTimer::RequestTimeout).outcomes.is_empty());
    }
    let effects = fire(&mut client, CLIENT, TwoPhaseTimer::RequestTimeout);
    assert_eq!(effects.outcomes, vec![Outcome::Info]);
    assert!(effects.sends.is_empty());
    let late = deliver(&mut client, CLIENT, 0, reply(7, Decision::Commit));
    assert!(late.outcomes.is_empty(), "the operation is over");
}

#[test]
fn an_operation_that_is_not_a_transaction_fails_at_once() {
    let mut client = client();
    let effects = step(&mut client, CLIENT, |client, ctx| client.on_request(ctx, Operation::Read { key: 1 }));
    assert_eq!(effects.outcomes, vec![Outcome::Fail]);
    assert!(effects.sends.is_empty());
}
