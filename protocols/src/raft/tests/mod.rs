//! Exact-output tests of Raft through the node contract, with the test kit: each feeds one
//! input to a server, client or checker built from records and asserts its effects, citing
//! the section of the extended paper (or Ongaro's thesis) whose rule it pins. `cluster.rs`
//! wires servers and clients together with the kit's hand-driven network for the end-to-end
//! properties: the textbook message cost and the Figure 8 schedule.
//!
//! A server's syncs finish only when a test says so (`synced`, `sync_all`): a leader counts
//! itself towards a majority only for entries its own disk holds (persistence before
//! acknowledging, even to itself).

mod checker;
mod client;
mod cluster;
mod election;
mod library;
mod persistence;
mod replication;
mod requests;
mod snapshot;

use super::*;
use crate::kv::{KvOperation, KvReply, Store};
use crate::node::{Effect, Effects, NodeId, Server as _, Setup, Time, CORRECT, MILLISECOND};
use crate::service::Outcome;
use crate::testing::{self, assert_milestones, Harness, TimerChange};

const SEED: u64 = 7;
const TIMEOUT: Time = 90 * MILLISECOND;
/// Five servers (0 to 4) and two clients (5 and 6).
const SERVERS: u32 = 5;
const CLIENT: NodeId = 5;

fn setup(variant: &'static str) -> Setup<RaftSettings> {
    testing::setup(SERVERS, 2, variant, TIMEOUT)
}

/// Server `id` at first boot.
fn server(variant: &'static str, id: NodeId) -> Harness<Raft> {
    Harness::boot(&setup(variant), id, SEED)
}

/// The election timer, set anew: uniform in one to two timeouts (section 5.2).
fn election_timer() -> TimerChange<RaftTimer> {
    TimerChange::Set(RaftTimer::Election, TIMEOUT..=2 * TIMEOUT)
}

fn heartbeat_timer() -> TimerChange<RaftTimer> {
    TimerChange::exactly(RaftTimer::Heartbeat, TIMEOUT / 3)
}

/// A no-op entry of `term`, appended at time 0 (a harness's clocks read 0 unless set).
fn noop(term: Term) -> Entry {
    Entry { term, time: 0, payload: Payload::Noop }
}

fn command(client: NodeId, sequence: u64, operation: KvOperation) -> Request<KvOperation> {
    Request { client, sequence, operation }
}

fn append(value: u64) -> KvOperation {
    KvOperation::Append { key: 1, value }
}

fn command_entry(term: Term, sequence: u64, value: u64) -> Entry {
    Entry { term, time: 0, payload: Payload::Command(command(CLIENT, sequence, append(value))) }
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
) -> Harness<Raft> {
    let records = [RaftRecord::Term { current_term, voted_for }, RaftRecord::Entries { from: 1, entries: log }];
    Harness::recovered(&setup(variant), id, &records, SEED)
}

/// Makes `server` time out and win the election with votes from servers 1 and 2 (or 3
/// and 4 for server 1 or 2); returns the effects of the winning vote. Its syncs are left
/// running: the new leader does not count itself for its no-op yet.
fn elect(server: &mut Harness<Raft>) -> Effects<Raft> {
    server.fire(RaftTimer::Election);
    let term = server.current_term();
    let id = server.id();
    let voters: Vec<NodeId> = (0..SERVERS).filter(|&voter| voter != id).take(2).collect();
    let granted = || RaftMessage::RequestVoteResponse(Vote { term, granted: true });
    server.deliver(voters[0], granted());
    let effects = server.deliver(voters[1], granted());
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

fn client_reply(sequence: u64, outcome: Outcome<KvReply>) -> RaftMessage {
    RaftMessage::ClientReply(Reply::Done { sequence, output: outcome })
}

fn not_leader(sequence: u64, leader: Option<NodeId>) -> RaftMessage {
    RaftMessage::ClientReply(Reply::NotLeader { sequence, leader })
}

fn done() -> Outcome<KvReply> {
    Outcome::Ok(KvReply::Done)
}

#[test]
fn milestones_are_declared_and_each_is_marked_by_an_observation() {
    assert_milestones::<Raft>(&[
        RaftObservation::LeaderElected { term: 1 },
        RaftObservation::Committed { index: 1, term: 1, leader_term: 1 },
        RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
        RaftObservation::SnapshotTaken { index: 1, term: 1 },
        RaftObservation::SnapshotInstalled { index: 1, term: 1 },
    ]);
}
