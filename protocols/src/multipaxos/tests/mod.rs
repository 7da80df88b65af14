//! Exact-output tests of Multi-Paxos through the node contract, with the test kit: each
//! feeds one input to a server, built fresh or from records, and asserts its effects,
//! citing the section of "Paxos Made Simple" (PMS) or "Paxos Made Moderately Complex"
//! (PMMC) whose rule it pins. `cluster.rs` wires servers and clients together with the kit's
//! hand-driven network for the end-to-end properties: the textbook message cost and a
//! leader change that recovers the log.

mod acceptor;
mod checker;
mod cluster;
mod election;
mod leader;
mod replica;
mod requests;

use super::*;
use crate::kv::{Command, KvOperation, KvReply, Response};
use crate::node::{Effect, Effects, NodeId, Setup, Time, CORRECT, MILLISECOND};
use crate::service::Outcome;
use crate::testing::{self, assert_milestones, Harness, TimerChange};

const SEED: u64 = 7;
const TIMEOUT: Time = 90 * MILLISECOND;
/// Five servers (0 to 4) and two clients (5 and 6).
const SERVERS: u32 = 5;
const CLIENT: NodeId = 5;

fn setup(variant: &'static str) -> Setup {
    testing::setup(SERVERS, 2, variant, TIMEOUT)
}

/// Server `id` at first boot.
fn server(id: NodeId) -> Harness<MultiPaxos> {
    Harness::boot(&setup(CORRECT), id, SEED)
}

/// The election timer, set anew: uniform in one to two timeouts, a fresh draw each time.
fn election_timer() -> TimerChange<MultiPaxosTimer> {
    TimerChange::Set(MultiPaxosTimer::Election, TIMEOUT..=2 * TIMEOUT)
}

fn heartbeat_timer() -> TimerChange<MultiPaxosTimer> {
    TimerChange::exactly(MultiPaxosTimer::Heartbeat, TIMEOUT / 3)
}

fn ballot(round: u64, leader: NodeId) -> Ballot {
    Ballot { round, leader }
}

fn command(sequence: u64, operation: KvOperation) -> Command {
    Command { client: CLIENT, sequence, operation }
}

fn append(value: u64) -> KvOperation {
    KvOperation::Append { key: 1, value }
}

/// The entry of the client's append of `value`, with sequence number `sequence`.
fn appended(sequence: u64, value: u64) -> Entry {
    Entry::Command(command(sequence, append(value)))
}

fn request(command: Command) -> MultiPaxosMessage {
    MultiPaxosMessage::ClientRequest(command)
}

fn done(sequence: u64, outcome: Outcome<KvReply>) -> MultiPaxosMessage {
    MultiPaxosMessage::ClientReply(Response::Done { sequence, outcome })
}

fn ok_done() -> Outcome<KvReply> {
    Outcome::Ok(KvReply::Done)
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
fn recovered(id: NodeId, records: &[MultiPaxosRecord]) -> Harness<MultiPaxos> {
    Harness::recovered(&setup(CORRECT), id, records, SEED)
}

/// Makes `server` time out and win phase 1 with promises from the next two servers,
/// carrying `reported`; returns the effects of the winning promise.
fn elect(server: &mut Harness<MultiPaxos>, reported: Vec<(Slot, Ballot, Entry)>) -> Effects<MultiPaxos> {
    let id = server.id();
    server.fire(MultiPaxosTimer::Election);
    let ballot = server.ballot().expect("a candidate has a ballot");
    let voters: Vec<NodeId> = (1..SERVERS).map(|offset| (id + offset) % SERVERS).take(2).collect();
    server.deliver(voters[0], MultiPaxosMessage::Promise { ballot, accepted: vec![] });
    let effects = server.deliver(voters[1], MultiPaxosMessage::Promise { ballot, accepted: reported });
    assert_eq!(server.role(), Role::Leader);
    effects
}

/// A leader (server 0, ballot (1, 0)) with an empty log, elected with no proposal reported;
/// its promise to itself took sync 1.
fn leader() -> Harness<MultiPaxos> {
    let mut leader = server(0);
    elect(&mut leader, vec![]);
    leader
}

#[test]
fn milestones_are_declared_and_each_is_marked_by_an_observation() {
    let read = |through| MultiPaxosObservation::ReadServed { client: CLIENT, sequence: 1, key: 1, through };
    assert_milestones::<MultiPaxos>(&[
        MultiPaxosObservation::LeaderElected { ballot: ballot(1, 0) },
        MultiPaxosObservation::Accepted { ballot: ballot(1, 0), slot: 1, entry: Entry::Noop },
        MultiPaxosObservation::Chosen { slot: 1, entry: Entry::Noop },
        MultiPaxosObservation::Executed { slot: 1, entry: Entry::Noop },
        MultiPaxosObservation::ReadReceived { client: CLIENT, sequence: 1, key: 1 },
        read(1),
        MultiPaxosObservation::Acknowledged { client: CLIENT, sequence: 2, key: 1, through: 1 },
    ]);
}
