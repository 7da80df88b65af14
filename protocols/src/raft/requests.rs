//! Client requests at a server (thesis chapter 6): redirects, commands through the log and
//! ReadIndex reads.
//!
//! A server that does not lead answers `NotLeader` with the leader it knows (thesis 6.2).
//! The leader answers a command its store has already applied with the remembered outcome,
//! ignores one its client has moved past, and otherwise appends it to its log (unless it is
//! there already, not yet applied) and answers once it applies it (thesis 6.3).
//!
//! Reads follow ReadIndex (thesis 6.4): the read index is the commit index, raised to the
//! first index of the leader's term (its no-op) so that it covers everything earlier
//! leaders committed. The leader starts a new round of `AppendEntries`; once a majority
//! (itself included) has acknowledged that round or a later one, no other leader had been
//! elected when the read arrived, and once the leader has applied the read index its store
//! reflects every write that completed before the read began. In `commit-old-term`, whose
//! leaders append no no-op, that first index holds the term's first command, or nothing
//! yet: the read then waits, as the thesis prescribes, until an entry of the leader's term
//! commits (or the leader steps down and redirects it). The `stale-read` variant skips all
//! of this.

use super::server::{PendingRead, State};
use super::{Entry, Flaw, Payload, Raft, RaftMessage, RaftServer};
use crate::kv::KvReply;
use crate::kv::{Command, Response, Sequence};
use crate::node::{NodeId, ServerContext};
use crate::service::{Key, Outcome};

impl RaftServer {
    pub(super) fn on_client_request(&mut self, ctx: &mut ServerContext<Raft>, command: Command) {
        if !matches!(self.state, State::Leader(_)) {
            let response = Response::NotLeader { sequence: command.sequence, leader: self.leader };
            return ctx.send(command.client, RaftMessage::ClientReply(response));
        }
        // A sync-read is a read: ReadIndex reads are linearizable already.
        match command.operation.read_key() {
            Some(key) => self.on_read(ctx, command.client, command.sequence, key),
            None => self.on_update(ctx, command),
        }
    }

    /// Answers the client waiting for the command `(client, sequence)`, if this leader
    /// accepted it.
    pub(super) fn answer_waiting_client(
        &mut self,
        ctx: &mut ServerContext<Raft>,
        client: NodeId,
        sequence: Sequence,
        outcome: Outcome<KvReply>,
    ) {
        let State::Leader(leadership) = &mut self.state else { return };
        if leadership.requests.get(&client) != Some(&sequence) {
            return;
        }
        leadership.requests.remove(&client);
        ctx.send(client, RaftMessage::ClientReply(Response::Done { sequence, outcome }));
    }

    /// Answers the reads whose round a majority acknowledged and whose index is applied.
    pub(super) fn serve_reads(&mut self, ctx: &mut ServerContext<Raft>) {
        let State::Leader(leadership) = &mut self.state else { return };
        let mut rounds: Vec<u64> = leadership.peers.values().map(|progress| progress.round_acked).collect();
        rounds.push(leadership.round);
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let confirmed_round = rounds[self.majority - 1];
        while let Some(read) = leadership.reads.front() {
            if read.round > confirmed_round || read.read_index > self.last_applied {
                break;
            }
            let outcome = Outcome::Ok(KvReply::Values(self.store.read(read.key)));
            let response = Response::Done { sequence: read.sequence, outcome };
            ctx.send(read.client, RaftMessage::ClientReply(response));
            leadership.reads.pop_front();
        }
    }

    fn on_update(&mut self, ctx: &mut ServerContext<Raft>, command: Command) {
        match self.store.session(command.client) {
            Some((sequence, outcome)) if sequence == command.sequence => {
                let response = Response::Done { sequence, outcome: outcome.clone() };
                return ctx.send(command.client, RaftMessage::ClientReply(response));
            }
            Some((sequence, _)) if sequence > command.sequence => return, // The client moved on.
            _ => {}
        }
        let in_log = self.is_in_unapplied_log(&command);
        let State::Leader(leadership) = &mut self.state else { return };
        leadership.requests.insert(command.client, command.sequence);
        if in_log {
            return; // A retry of a command already on its way: wait for it.
        }
        let from = self.log.last_index() + 1;
        self.log.append(Entry { term: self.current_term, payload: Payload::Command(command) });
        self.persist_entries(ctx, from);
        self.broadcast(ctx);
        self.advance_commit(ctx);
    }

    fn on_read(&mut self, ctx: &mut ServerContext<Raft>, client: NodeId, sequence: Sequence, key: Key) {
        if self.flaw == Flaw::StaleRead {
            let outcome = Outcome::Ok(KvReply::Values(self.store.read(key)));
            return ctx.send(client, RaftMessage::ClientReply(Response::Done { sequence, outcome }));
        }
        let State::Leader(leadership) = &mut self.state else { return };
        leadership.round += 1;
        let read_index = self.commit_index.max(leadership.term_start);
        leadership.reads.push_back(PendingRead { client, sequence, key, read_index, round: leadership.round });
        self.broadcast(ctx);
        self.serve_reads(ctx);
    }

    fn is_in_unapplied_log(&self, command: &Command) -> bool {
        self.log.entries_from(self.last_applied + 1).iter().any(|entry| {
            matches!(&entry.payload, Payload::Command(logged)
                if logged.client == command.client && logged.sequence == command.sequence)
        })
    }
}
