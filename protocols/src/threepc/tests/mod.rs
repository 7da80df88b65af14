//! Exact-output handler tests of three-phase commit through the node contract, with no
//! engine: each feeds one input to a coordinator or participant (built fresh or from log
//! records) and asserts every effect, citing the rule it pins (Skeen 1981; Skeen and
//! Stonebraker 1983; BHG section 7.5). The client is shared with 2PC and tested there.

mod coordinator;
mod participant;
mod termination;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::commit::{CommitObservation, Decision, Share, TransactionId};
use crate::node::{Context, Effects, Node, NodeId, Setup, Time, TimerCommand, CORRECT, MILLISECOND};
use crate::operation::Key;

const TIMEOUT: Time = 10 * MILLISECOND;
/// How long a participant waits on its coordinator or backup.
const SUSPICION: Time = SUSPECT_ROUNDS as Time * TIMEOUT;
/// A coordinator (0), three participants (1, 2, 3) and a client (4). Key `k` is held by
/// participant `1 + k % 3`.
const SERVERS: u32 = 4;
const CLIENT: NodeId = 4;

fn setup() -> Setup {
    Setup { servers: SERVERS, clients: 1, variant: CORRECT, timeout: TIMEOUT }
}

/// Runs one input on `node` (id `id`), checks the node's own invariants, returns its effects.
fn step<N: Node<ThreePhaseCommit>>(
    node: &mut N,
    id: NodeId,
    input: impl FnOnce(&mut N, &mut Context<ThreePhaseCommit>),
) -> Effects<ThreePhaseCommit> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut effects = Effects::default();
    input(node, &mut Context::new(id, 0, &mut rng, &mut effects));
    node.invariants();
    effects
}

fn deliver<N: Node<ThreePhaseCommit>>(
    node: &mut N,
    id: NodeId,
    from: NodeId,
    message: ThreePhaseMessage,
) -> Effects<ThreePhaseCommit> {
    step(node, id, |node, ctx| node.on_message(ctx, from, message))
}

fn fire<N: Node<ThreePhaseCommit>>(node: &mut N, id: NodeId, timer: ThreePhaseTimer) -> Effects<ThreePhaseCommit> {
    step(node, id, |node, ctx| node.on_timer(ctx, timer))
}

fn can_commit(transaction: TransactionId, keys: &[Key], participants: &[NodeId]) -> ThreePhaseMessage {
    let share = Share { keys: keys.to_vec(), vetoes: vec![] };
    ThreePhaseMessage::CanCommit { transaction, share, participants: participants.to_vec() }
}

fn reply(transaction: TransactionId, decision: Decision) -> ThreePhaseMessage {
    ThreePhaseMessage::Client(ClientMessage::Reply { transaction, decision })
}

fn decided(transaction: TransactionId, decision: Decision) -> CommitObservation {
    CommitObservation::Decided { transaction, decision }
}

fn set(after: Time, timer: ThreePhaseTimer) -> TimerCommand<ThreePhaseTimer> {
    TimerCommand::Set { after, timer }
}

fn cancel(timer: ThreePhaseTimer) -> TimerCommand<ThreePhaseTimer> {
    TimerCommand::Cancel { timer }
}

/// Participant `id` after voting yes on transaction 7, whose participants are 1, 2 and 3.
fn uncertain(id: NodeId) -> ThreePhaseServer {
    let mut server = ThreePhaseCommit::server(&setup(), id);
    deliver(&mut server, id, 0, can_commit(7, &[Key::from(id) - 1], &[1, 2, 3]));
    server
}

fn state(server: &ThreePhaseServer, transaction: TransactionId) -> Option<SiteState> {
    let ThreePhaseServer::Participant(participant) = server else { panic!("not a participant") };
    participant.state(transaction)
}
