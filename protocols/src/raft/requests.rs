//! Client requests at a server (thesis chapter 6): redirects, updates through the log and
//! ReadIndex queries.
//!
//! A server that does not lead answers `NotLeader` with the leader it knows (thesis 6.2).
//! The leader answers an update its sessions show applied with the remembered output,
//! ignores one its client has moved past, and otherwise appends it to its log (unless it is
//! there already, not yet applied) and answers once it applies it (thesis 6.3).
//!
//! Queries (the machine's read-only operations, the store's reads) follow ReadIndex (thesis
//! 6.4): the read index is the commit index, raised to the
//! first index of the leader's term (its no-op) so that it covers everything earlier
//! leaders committed. The leader starts a new round of `AppendEntries`; once a majority
//! (itself included) has acknowledged that round or a later one, no other leader had been
//! elected when the read arrived, and once the leader has applied the read index its state
//! reflects every write that completed before the read began. In `commit-old-term`, whose
//! leaders append no no-op, that first index holds the term's first command, or nothing
//! yet: the read then waits, as the thesis prescribes, until an entry of the leader's term
//! commits (or the leader steps down and redirects it). The `stale-read` variant skips all
//! of this.

use super::replication::quorum_value;
use super::server::{OperationOf, OutputOf, PendingRead, State};
use super::{Entry, Flaw, Payload, RaftHost, RaftMessage, RaftServer, Reply, Request, Stamp, StateMachine};
use crate::kv::Sequence;
use crate::node::{NodeId, ServerContext};

impl<H: RaftHost> RaftServer<H> {
    /// A client's request, arrived in a `ClientRequest` or handed over by the host: a
    /// follower redirects it, the leader logs an update or starts a ReadIndex round for a
    /// query, and answers with a `ClientReply` to `request.client` (thesis chapter 6).
    pub fn on_client_request(&mut self, ctx: &mut ServerContext<H>, request: Request<OperationOf<H>>) {
        if !matches!(self.state, State::Leader(_)) {
            let reply = Reply::NotLeader { sequence: request.sequence, leader: self.leader };
            return Self::send(ctx, request.client, RaftMessage::ClientReply(reply));
        }
        if H::Machine::is_query(&request.operation) {
            self.on_query(ctx, request);
        } else {
            self.on_update(ctx, request);
        }
    }

    /// Answers the client waiting for the update `(client, sequence)`, if this leader
    /// accepted it.
    pub(super) fn answer_waiting_client(
        &mut self,
        ctx: &mut ServerContext<H>,
        client: NodeId,
        sequence: Sequence,
        output: OutputOf<H>,
    ) {
        let State::Leader(leadership) = &mut self.state else { return };
        if leadership.requests.get(&client) != Some(&sequence) {
            return;
        }
        leadership.requests.remove(&client);
        Self::send(ctx, client, RaftMessage::ClientReply(Reply::Done { sequence, output }));
    }

    /// Answers the queries whose round a majority acknowledged and whose index is applied.
    pub(super) fn serve_reads(&mut self, ctx: &mut ServerContext<H>) {
        let State::Leader(leadership) = &mut self.state else { return };
        if leadership.reads.is_empty() {
            return;
        }
        let acknowledged = leadership.peers.values().map(|progress| progress.round_acked);
        let confirmed_round = quorum_value(acknowledged.chain([leadership.round]), self.majority);
        while let Some(read) = leadership.reads.front() {
            if read.round > confirmed_round || read.read_index > self.last_applied {
                break;
            }
            let request = &read.request;
            let stamp = Stamp {
                client: request.client,
                index: read.read_index,
                term: self.current_term,
                time: ctx.monotonic(),
            };
            let output = self.replicated.machine().query(&stamp, &request.operation);
            let reply = Reply::Done { sequence: request.sequence, output };
            Self::send(ctx, request.client, RaftMessage::ClientReply(reply));
            leadership.reads.pop_front();
        }
    }

    fn on_update(&mut self, ctx: &mut ServerContext<H>, request: Request<OperationOf<H>>) {
        match self.replicated.session(request.client) {
            Some((sequence, output)) if sequence == request.sequence => {
                let reply = Reply::Done { sequence, output: output.clone() };
                return Self::send(ctx, request.client, RaftMessage::ClientReply(reply));
            }
            Some((sequence, _)) if sequence > request.sequence => return, // The client moved on.
            _ => {}
        }
        let in_log = self.is_in_unapplied_log(&request);
        let State::Leader(leadership) = &mut self.state else { return };
        leadership.requests.insert(request.client, request.sequence);
        if in_log {
            return; // A retry of an update already on its way: wait for it.
        }
        let from = self.log.last_index() + 1;
        self.log.append(Entry { term: self.current_term, time: ctx.monotonic(), payload: Payload::Command(request) });
        self.persist_entries(ctx, from);
        self.broadcast(ctx);
        self.advance_commit(ctx);
    }

    fn on_query(&mut self, ctx: &mut ServerContext<H>, request: Request<OperationOf<H>>) {
        if self.flaw == Flaw::StaleRead {
            let stamp = Stamp {
                client: request.client,
                index: self.last_applied,
                term: self.current_term,
                time: ctx.monotonic(),
            };
            let output = self.replicated.machine().query(&stamp, &request.operation);
            let reply = Reply::Done { sequence: request.sequence, output };
            return Self::send(ctx, request.client, RaftMessage::ClientReply(reply));
        }
        let State::Leader(leadership) = &mut self.state else { return };
        leadership.round += 1;
        let read_index = self.commit_index.max(leadership.term_start);
        leadership.reads.push_back(PendingRead { request, read_index, round: leadership.round });
        self.broadcast(ctx);
        self.serve_reads(ctx);
    }

    fn is_in_unapplied_log(&self, request: &Request<OperationOf<H>>) -> bool {
        self.log.entries_from(self.last_applied + 1).iter().any(|entry| {
            matches!(&entry.payload, Payload::Command(logged)
                if logged.client == request.client && logged.sequence == request.sequence)
        })
    }
}
