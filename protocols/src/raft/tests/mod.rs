//! Exact-output tests of Raft through the node contract: each feeds one input to a server,
//! client or checker built from records and asserts every effect, citing the section of
//! the extended paper (or Ongaro's thesis) whose rule it pins. `cluster.rs` wires servers
//! together with a hand-driven network for the end-to-end properties: the textbook message
//! cost and the Figure 8 schedule.

mod checker;
mod client;
mod cluster;
mod election;
mod persistence;
mod replication;
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

/// Runs one input on `node` (id `id`) with a fresh random stream and returns its effects.
fn step<N>(node: &mut N, id: NodeId, input: impl FnOnce(&mut N, &mut Context<Raft>)) -> Effects<Raft> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut effects = Effects::default();
    input(node, &mut Context::new(id, 0, &mut rng, &mut effects));
    effects
}

fn deliver<N: Node<Raft>>(node: &mut N, id: NodeId, from: NodeId, message: RaftMessage) -> Effects<Raft> {
    step(node, id, |node, ctx| node.on_message(ctx, from, message))
}

fn fire<N: Node<Raft>>(node: &mut N, id: NodeId, timer: RaftTimer) -> Effects<Raft> {
    step(node, id, |node, ctx| node.on_timer(ctx, timer))
}

/// The first draw of an election timeout from a fresh stream: what `step` produces.
fn election_after() -> Time {
    ChaCha8Rng::seed_from_u64(SEED).gen_range(TIMEOUT..=2 * TIMEOUT)
}

fn set_election_timer() -> TimerCommand<RaftTimer> {
    TimerCommand::Set { after: election_after(), timer: RaftTimer::Election }
}

fn noop(term: Term) -> Entry {
    Entry { term, payload: Payload::Noop }
}

fn command(client: NodeId, sequence: u64, operation: Operation) -> Command {
    Command { client, sequence, operation }
}

fn append(value: u64) -> Operation {
    Operation::Append { key: 1, value }
}

fn command_entry(term: Term, sequence: u64, value: u64) -> Entry {
    Entry { term, payload: Payload::Command(command(CLIENT, sequence, append(value))) }
}

/// No-op entries with these terms, from index 1 on.
fn log_of(terms: &[Term]) -> Vec<Entry> {
    terms.iter().map(|&term| noop(term)).collect()
}

/// Server `id` restarted with this term, vote and log.
fn recovered(
    variant: &'static str,
    id: NodeId,
    current_term: Term,
    voted_for: Option<NodeId>,
    log: Vec<Entry>,
) -> RaftServer {
    let records = [RaftRecord::Term { current_term, voted_for }, RaftRecord::Entries { from: 1, entries: log }];
    RaftServer::recover(&setup(variant), id, &records)
}

/// Makes `server` time out and win the election with votes from servers 1 and 2 (or 3
/// and 4 for server 1 or 2); returns the effects of the winning vote.
fn elect(server: &mut RaftServer) -> Effects<Raft> {
    let id = server.id();
    fire(server, id, RaftTimer::Election);
    let term = server.current_term();
    let voters: Vec<NodeId> = (0..SERVERS).filter(|&voter| voter != id).take(2).collect();
    let granted = || RaftMessage::RequestVoteResponse(Vote { term, granted: true });
    deliver(server, id, voters[0], granted());
    let effects = deliver(server, id, voters[1], granted());
    assert_eq!(server.role(), Role::Leader);
    effects
}

fn append_entries(
    term: Term,
    prev_log_index: Index,
    prev_log_term: Term,
    entries: Vec<Entry>,
    leader_commit: Index,
) -> RaftMessage {
    RaftMessage::AppendEntries(AppendEntries { term, prev_log_index, prev_log_term, entries, leader_commit, round: 0 })
}

fn accepted(term: Term, match_index: Index, round: u64) -> RaftMessage {
    let response = AppendEntriesResponse { term, success: true, match_index, round, heartbeat: false };
    RaftMessage::AppendEntriesResponse(response)
}

fn refused(term: Term, hint: Index) -> RaftMessage {
    let response = AppendEntriesResponse { term, success: false, match_index: hint, round: 0, heartbeat: false };
    RaftMessage::AppendEntriesResponse(response)
}

fn client_reply(sequence: u64, outcome: Outcome) -> RaftMessage {
    RaftMessage::ClientReply(Response::Done { sequence, outcome })
}

fn not_leader(sequence: u64, leader: Option<NodeId>) -> RaftMessage {
    RaftMessage::ClientReply(Response::NotLeader { sequence, leader })
}

fn done() -> Outcome {
    Outcome::Ok(Reply::Done)
}

/// The messages of `effects` sent to `to`.
fn sent_to(effects: &Effects<Raft>, to: NodeId) -> Vec<RaftMessage> {
    effects.sends.iter().filter(|(target, _)| *target == to).map(|(_, message)| message.clone()).collect()
}
