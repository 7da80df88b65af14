//! Exact-output tests of Multi-Paxos through the node contract: each feeds one input to a
//! server, built fresh or from records, and asserts its effects, citing the section of
//! "Paxos Made Simple" (PMS) or "Paxos Made Moderately Complex" (PMMC) whose rule it pins.
//! `cluster.rs` wires servers together with a hand-driven network for the end-to-end
//! properties: the textbook message cost and a leader change that recovers the log.

mod acceptor;
mod checker;
mod cluster;
mod election;
mod leader;
mod replica;
mod requests;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::kv::{Command, Response};
use crate::node::{Context, Effects, Node, NodeId, Setup, Time, TimerCommand, CORRECT, MILLISECOND};
use crate::operation::{Operation, Outcome, Reply};

const SEED: u64 = 7;
const TIMEOUT: Time = 90 * MILLISECOND;
/// Five servers (0 to 4) and two clients (5 and 6).
const SERVERS: u32 = 5;
const CLIENT: NodeId = 5;

fn setup(variant: &'static str) -> Setup {
    Setup { servers: SERVERS, clients: 2, variant, timeout: TIMEOUT }
}

fn server(id: NodeId) -> MultiPaxosServer {
    MultiPaxos::server(&setup(CORRECT), id)
}

/// Runs one input on `node` (id `id`) with a fresh random stream, checks the node's own
/// invariants, and returns its effects.
fn step<N: Node<MultiPaxos>>(
    node: &mut N,
    id: NodeId,
    input: impl FnOnce(&mut N, &mut Context<MultiPaxos>),
) -> Effects<MultiPaxos> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut effects = Effects::default();
    input(node, &mut Context::new(id, 0, &mut rng, &mut effects));
    node.invariants();
    effects
}

fn deliver<N: Node<MultiPaxos>>(
    node: &mut N,
    id: NodeId,
    from: NodeId,
    message: MultiPaxosMessage,
) -> Effects<MultiPaxos> {
    step(node, id, |node, ctx| node.on_message(ctx, from, message))
}

fn fire<N: Node<MultiPaxos>>(node: &mut N, id: NodeId, timer: MultiPaxosTimer) -> Effects<MultiPaxos> {
    step(node, id, |node, ctx| node.on_timer(ctx, timer))
}

/// The election timer as `step` sets it: the first draw from a fresh stream.
fn set_election_timer() -> TimerCommand<MultiPaxosTimer> {
    let after = ChaCha8Rng::seed_from_u64(SEED).gen_range(TIMEOUT..=2 * TIMEOUT);
    TimerCommand::Set { after, timer: MultiPaxosTimer::Election }
}

fn set_heartbeat_timer() -> TimerCommand<MultiPaxosTimer> {
    TimerCommand::Set { after: TIMEOUT / 3, timer: MultiPaxosTimer::Heartbeat }
}

fn ballot(round: u64, leader: NodeId) -> Ballot {
    Ballot { round, leader }
}

fn command(sequence: u64, operation: Operation) -> Command {
    Command { client: CLIENT, sequence, operation }
}

fn append(value: u64) -> Operation {
    Operation::Append { key: 1, value }
}

/// The entry of the client's append of `value`, with sequence number `sequence`.
fn appended(sequence: u64, value: u64) -> Entry {
    Entry::Command(command(sequence, append(value)))
}

fn request(command: Command) -> MultiPaxosMessage {
    MultiPaxosMessage::ClientRequest(command)
}

fn done(sequence: u64, outcome: Outcome) -> MultiPaxosMessage {
    MultiPaxosMessage::ClientReply(Response::Done { sequence, outcome })
}

fn ok_done() -> Outcome {
    Outcome::Ok(Reply::Done)
}

fn promise(round: u64, leader: NodeId, accepted: Vec<(Slot, Ballot, Entry)>) -> MultiPaxosMessage {
    MultiPaxosMessage::Promise { ballot: ballot(round, leader), accepted }
}

fn accept(ballot: Ballot, slot: Slot, entry: Entry, first_unchosen: Slot) -> MultiPaxosMessage {
    MultiPaxosMessage::Accept { ballot, slot, entry, first_unchosen }
}

fn accepted(ballot: Ballot, slot: Slot) -> MultiPaxosMessage {
    MultiPaxosMessage::Accepted { ballot, slot }
}

/// `message` to every server but `id`.
fn to_peers(id: NodeId, message: MultiPaxosMessage) -> Vec<(NodeId, MultiPaxosMessage)> {
    (0..SERVERS).filter(|&peer| peer != id).map(|peer| (peer, message.clone())).collect()
}

/// Server `id` restarted from these acceptor records.
fn recovered(id: NodeId, records: &[MultiPaxosRecord]) -> MultiPaxosServer {
    MultiPaxos::recover(&setup(CORRECT), id, records)
}

/// Makes `server` time out and win phase 1 with promises from the next two servers,
/// carrying `reported`; returns the effects of the winning promise.
fn elect(server: &mut MultiPaxosServer, reported: Vec<(Slot, Ballot, Entry)>) -> Effects<MultiPaxos> {
    let id = server.id();
    fire(server, id, MultiPaxosTimer::Election);
    let ballot = server.ballot().expect("a candidate has a ballot");
    let voters: Vec<NodeId> = (1..SERVERS).map(|offset| (id + offset) % SERVERS).take(2).collect();
    deliver(server, id, voters[0], MultiPaxosMessage::Promise { ballot, accepted: vec![] });
    let effects = deliver(server, id, voters[1], MultiPaxosMessage::Promise { ballot, accepted: reported });
    assert_eq!(server.role(), Role::Leader);
    effects
}

/// A leader (server 0, ballot (1, 0)) with an empty log, elected with no proposal reported.
fn leader() -> MultiPaxosServer {
    let mut leader = server(0);
    elect(&mut leader, vec![]);
    leader
}
