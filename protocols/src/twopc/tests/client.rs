//! The transaction client (shared by both protocols, tested here through 2PC).

use super::*;
use crate::commit::{Committed, Transaction, ATTEMPTS};
use crate::node::Effects;
use crate::service::Outcome;
use crate::testing::ClientHarness;

/// The client, asked to run transaction 7 on keys 0 and 1 with key 1 vetoed.
fn begun() -> (ClientHarness<TwoPhaseCommit>, Effects<TwoPhaseCommit>) {
    let mut client = ClientHarness::<TwoPhaseCommit>::new(&setup(CORRECT), CLIENT, SEED);
    let effects = client.request(Transaction::writing(7, &[0, 1], &[1]));
    (client, effects)
}

#[test]
fn client_sends_its_transaction_to_the_coordinator_and_commit_completes_ok() {
    let (mut client, effects) = begun();
    assert_eq!(
        effects.list,
        [Effect::send(0, request(7, &[0, 1], &[1])), Effect::set_timer(4 * TIMEOUT, TwoPhaseTimer::RequestTimeout)]
    );
    let stale = client.deliver(0, reply(6, Decision::Commit));
    assert!(stale.list.is_empty(), "a reply about another transaction");
    let effects = client.deliver(0, reply(7, Decision::Commit));
    assert_eq!(
        effects.list,
        [Effect::cancel_timer(TwoPhaseTimer::RequestTimeout), Effect::Complete(Outcome::Ok(Committed::default()))]
    );
}

#[test]
fn an_abort_reply_completes_fail() {
    let (mut client, _) = begun();
    let effects = client.deliver(2, reply(7, Decision::Abort));
    assert_eq!(effects.completed(), [Outcome::Fail]);
}

#[test]
fn a_timeout_asks_the_coordinator_again_and_the_participants_then_gives_up_as_info_not_fail() {
    let (mut client, _) = begun();
    let effects = client.fire(TwoPhaseTimer::RequestTimeout);
    let inquiry = |transaction| TwoPhaseMessage::Client(ClientMessage::Inquiry { transaction });
    assert_eq!(
        effects.list,
        [
            Effect::send(0, request(7, &[0, 1], &[1])),
            Effect::send(1, inquiry(7)),
            Effect::send(2, inquiry(7)),
            Effect::set_timer(8 * TIMEOUT, TwoPhaseTimer::RequestTimeout),
        ]
    );
    for _ in 2..ATTEMPTS {
        assert!(client.fire(TwoPhaseTimer::RequestTimeout).completed().is_empty());
    }
    let effects = client.fire(TwoPhaseTimer::RequestTimeout);
    assert_eq!(effects.list, [Effect::Complete(Outcome::Info)], "nothing sent any more");
    let late = client.deliver(0, reply(7, Decision::Commit));
    assert!(late.list.is_empty(), "the operation is over");
}
