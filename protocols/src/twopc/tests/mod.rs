//! Exact-output handler tests of two-phase commit through the node contract, with no
//! engine: each feeds one input to a coordinator, participant or client (built fresh or
//! from log records) and asserts every effect, citing the rule of BHG section 7.4 (or the
//! presumed-abort rule of R* section 3) it pins.

mod client;
mod coordinator;
mod participant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::commit::{Decision, Share, TransactionId};
use crate::node::{Context, Effects, Node, NodeId, Setup, Time, TimerCommand, CORRECT, MILLISECOND};
use crate::operation::Key;

const TIMEOUT: Time = 10 * MILLISECOND;
/// A coordinator (0), three participants (1, 2, 3) and a client (4). Key `k` is held by
/// participant `1 + k % 3`.
const SERVERS: u32 = 4;
const CLIENT: NodeId = 4;

fn setup(variant: &'static str) -> Setup {
    Setup { servers: SERVERS, clients: 1, variant, timeout: TIMEOUT }
}

/// Runs one input on `node` (id `id`), checks the node's own invariants, returns its effects.
fn step<N: Node<TwoPhaseCommit>>(
    node: &mut N,
    id: NodeId,
    input: impl FnOnce(&mut N, &mut Context<TwoPhaseCommit>),
) -> Effects<TwoPhaseCommit> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut effects = Effects::default();
    input(node, &mut Context::new(id, 0, &mut rng, &mut effects));
    node.invariants();
    effects
}

fn deliver<N: Node<TwoPhaseCommit>>(
    node: &mut N,
    id: NodeId,
    from: NodeId,
    message: TwoPhaseMessage,
) -> Effects<TwoPhaseCommit> {
    step(node, id, |node, ctx| node.on_message(ctx, from, message))
}

fn fire<N: Node<TwoPhaseCommit>>(node: &mut N, id: NodeId, timer: TwoPhaseTimer) -> Effects<TwoPhaseCommit> {
    step(node, id, |node, ctx| node.on_timer(ctx, timer))
}

fn share(keys: &[Key], vetoes: &[Key]) -> Share {
    Share { keys: keys.to_vec(), vetoes: vetoes.to_vec() }
}

fn request(transaction: TransactionId, keys: &[Key], vetoes: &[Key]) -> TwoPhaseMessage {
    TwoPhaseMessage::Client(ClientMessage::Request { transaction, keys: keys.to_vec(), vetoes: vetoes.to_vec() })
}

fn reply(transaction: TransactionId, decision: Decision) -> TwoPhaseMessage {
    TwoPhaseMessage::Client(ClientMessage::Reply { transaction, decision })
}

fn decision(transaction: TransactionId, decision: Decision) -> TwoPhaseMessage {
    TwoPhaseMessage::Decision { transaction, decision }
}

fn set(after: Time, timer: TwoPhaseTimer) -> TimerCommand<TwoPhaseTimer> {
    TimerCommand::Set { after, timer }
}

fn cancel(timer: TwoPhaseTimer) -> TimerCommand<TwoPhaseTimer> {
    TimerCommand::Cancel { timer }
}
