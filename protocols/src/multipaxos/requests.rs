//! Client requests at a server: redirects, commands through the log, and the leader's
//! answers (PMMC section 2.1, clients and replicas; Raft thesis sections 6.2 and 6.3 for
//! the redirect and session rules the shared [`KvClient`](crate::kv::KvClient) expects).
//!
//! A server that does not lead answers `NotLeader` with the leader it follows. The leader
//! answers a command its store already applied with the remembered outcome, ignores one
//! its client has moved past, waits for one already in a slot, and otherwise proposes it in
//! the next free slot; it answers when its replica applies the command. Reads take the
//! same path, so a read is ordered after every command chosen before it reached the
//! leader. With `local-reads` the leader answers reads at once from its own store.

use super::server::State;
use super::{replica, Entry, MultiPaxos, MultiPaxosMessage, MultiPaxosObservation, MultiPaxosServer, Slot};
use crate::kv::{Command, KvReply, Response};
use crate::node::ServerContext;
use crate::service::{Key, Outcome};

impl MultiPaxosServer {
    pub(super) fn on_client_request(&mut self, ctx: &mut ServerContext<MultiPaxos>, command: Command) {
        let (client, sequence) = (command.client, command.sequence);
        // A sync-read is a read: reads through the log are linearizable already.
        if let Some(key) = command.operation.read_key() {
            ctx.observe(MultiPaxosObservation::ReadReceived { client, sequence, key });
        }
        if !matches!(self.state, State::Leader(_)) {
            let response = Response::NotLeader { sequence, leader: self.leader };
            return ctx.send(client, MultiPaxosMessage::ClientReply(response));
        }
        match command.operation.read_key() {
            Some(key) if self.local_reads => self.read_locally(ctx, &command, key),
            _ => self.on_command(ctx, command),
        }
    }

    /// Answers the client waiting for `command`, if this leader has it waiting; the command
    /// took effect by `slot`.
    pub(super) fn answer_waiting_client(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        command: &Command,
        outcome: Outcome<KvReply>,
        slot: Slot,
    ) {
        let State::Leader(leadership) = &mut self.state else { return };
        if leadership.requests.get(&command.client) != Some(&command.sequence) {
            return;
        }
        leadership.requests.remove(&command.client);
        self.reply(ctx, command, outcome, slot);
    }

    fn on_command(&mut self, ctx: &mut ServerContext<MultiPaxos>, command: Command) {
        match self.replica.store().session(command.client) {
            Some((sequence, outcome)) if sequence == command.sequence => {
                let (outcome, through) = (outcome.clone(), self.replica.first_unexecuted() - 1);
                return self.reply(ctx, &command, outcome, through);
            }
            Some((sequence, _)) if sequence > command.sequence => return, // The client moved on.
            _ => {}
        }
        let waiting = self.replica.awaits(&command) || self.is_proposed(&command);
        let State::Leader(leadership) = &mut self.state else { return };
        leadership.requests.insert(command.client, command.sequence);
        if waiting {
            return; // A retry of a command already in a slot: wait for it.
        }
        let slot = leadership.next_slot;
        leadership.next_slot += 1;
        self.propose(ctx, slot, Entry::Command(command));
    }

    /// The `local-reads` flaw: the leader's own store, with no check that it still leads.
    fn read_locally(&mut self, ctx: &mut ServerContext<MultiPaxos>, command: &Command, key: Key) {
        let through = self.replica.first_unexecuted() - 1;
        let (client, sequence) = (command.client, command.sequence);
        ctx.observe(MultiPaxosObservation::ReadServed { client, sequence, key, through });
        let outcome = Outcome::Ok(KvReply::Values(self.replica.store().read(key)));
        self.reply(ctx, command, outcome, through);
    }

    /// Sends `outcome` to the command's client; a successful update is reported to the
    /// checkers as acknowledged, having taken effect by `through`.
    fn reply(&self, ctx: &mut ServerContext<MultiPaxos>, command: &Command, outcome: Outcome<KvReply>, through: Slot) {
        let (client, sequence) = (command.client, command.sequence);
        let key = command.operation.key();
        // A compare-and-set that found another value changed nothing: no update to report.
        if command.operation.is_update() && outcome == Outcome::Ok(KvReply::Done) {
            ctx.observe(MultiPaxosObservation::Acknowledged { client, sequence, key, through });
        }
        ctx.send(client, MultiPaxosMessage::ClientReply(Response::Done { sequence, outcome }));
    }

    fn is_proposed(&self, command: &Command) -> bool {
        let State::Leader(leadership) = &self.state else { return false };
        leadership.proposals.values().any(|proposal| replica::holds(&proposal.entry, command))
    }
}
