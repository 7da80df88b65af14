//! Clients at a server (ZooKeeper, USENIX ATC 2010, section 2.3; ZooKeeper's
//! `FollowerRequestProcessor`, `CommitProcessor` and `Leader.processSync`).
//!
//! Only a serving server (a follower after `UpToDate`, an established leader) takes client
//! operations; any other answers `NotServing` and the client tries another.
//! - A read is answered at once from the server's store, unless the server has delivered
//!   less than the latest zxid the client saw (`NotServing`): local, so only sequentially
//!   consistent.
//! - A write already applied (the store's session for its client) is answered with its
//!   remembered outcome; otherwise the server forwards it to the leader (`Request`), which
//!   proposes it unless it is already in the history undelivered, and the server answers
//!   once it has delivered it.
//! - A sync-read: the server forwards `Sync` to the leader, which notes the last zxid it
//!   proposed and starts a round of pings; once that zxid is committed and a majority of
//!   synchronized followers answered the round (so no later epoch had been established when
//!   the sync arrived), it answers `SyncReply` with its commit point, after every `Commit`
//!   before it on the same FIFO link. The server reads once it has delivered that far.

use super::messages::{ZabMessage, ZabResponse};
use super::server::{LeaderPhase, PendingSync, Stage, State};
use super::{Zab, ZabServer, Zxid};
use crate::kv::{Command, KvOperation, KvReply, Sequence};
use crate::node::{NodeId, ServerContext};
use crate::service::Outcome;

impl ZabServer {
    pub(super) fn on_client_request(&mut self, ctx: &mut ServerContext<Zab>, command: Command, last_zxid: Zxid) {
        let (client, sequence) = (command.client, command.sequence);
        if !self.is_serving() {
            return self.turn_away(ctx, client, sequence);
        }
        match command.operation {
            KvOperation::Read { key } if self.delivered_zxid() >= last_zxid => {
                let outcome = Outcome::Ok(KvReply::Values(self.store.read(key)));
                self.answer(ctx, client, sequence, outcome);
            }
            KvOperation::Read { .. } => self.turn_away(ctx, client, sequence),
            KvOperation::SyncRead { key } => {
                self.waiting.syncs.insert(client, (sequence, key));
                match &self.state {
                    State::Following(following) => {
                        ctx.send(following.leader, ZabMessage::Sync { client, sequence });
                    }
                    _ => self.on_sync(ctx, self.id, client, sequence),
                }
            }
            _ => self.on_write(ctx, command),
        }
    }

    fn on_write(&mut self, ctx: &mut ServerContext<Zab>, command: Command) {
        let (client, sequence) = (command.client, command.sequence);
        match self.store.session(client) {
            Some((applied, outcome)) if applied == sequence => {
                let outcome = outcome.clone();
                return self.answer(ctx, client, sequence, outcome);
            }
            Some((applied, _)) if applied > sequence => return, // The client moved on.
            _ => {}
        }
        self.waiting.writes.insert(client, sequence);
        match &self.state {
            State::Following(following) => ctx.send(following.leader, ZabMessage::Request { command }),
            _ => self.propose_once(ctx, command),
        }
    }

    /// A write a follower forwarded.
    pub(super) fn on_forwarded_request(&mut self, ctx: &mut ServerContext<Zab>, _from: NodeId, command: Command) {
        if self.established_epoch().is_some() {
            self.propose_once(ctx, command);
        }
    }

    /// Proposes `command` unless it waits in the history already (a retry).
    fn propose_once(&mut self, ctx: &mut ServerContext<Zab>, command: Command) {
        let undelivered = self.history.after(self.delivered);
        let waits = undelivered
            .iter()
            .any(|txn| txn.command.client == command.client && txn.command.sequence == command.sequence);
        if !waits {
            self.propose(ctx, command);
        }
    }

    /// The leader's side of a sync, forwarded by `server` (itself for its own clients).
    pub(super) fn on_sync(&mut self, ctx: &mut ServerContext<Zab>, server: NodeId, client: NodeId, sequence: Sequence) {
        let last = self.history.last_zxid();
        let forwarding = self.forwarding();
        let State::Leading(leading) = &mut self.state else { return };
        if leading.phase != LeaderPhase::Broadcast {
            return;
        }
        leading.round += 1;
        let (epoch, round) = (leading.epoch.unwrap_or(0), leading.round);
        leading.syncs.push_back(PendingSync { server, client, sequence, after: last, round });
        for peer in forwarding {
            ctx.send(peer, ZabMessage::Ping { epoch, round, reply: false });
        }
        self.serve_syncs(ctx);
    }

    /// Answers the syncs whose proposals are committed and whose round a majority answered.
    pub(super) fn serve_syncs(&mut self, ctx: &mut ServerContext<Zab>) {
        let (majority, id, committed) = (self.majority, self.id, self.history.zxid_at(self.committed));
        let State::Leading(leading) = &mut self.state else { return };
        let mut rounds: Vec<u64> = (leading.learners.values())
            .filter(|learner| learner.stage == Stage::Synced)
            .map(|learner| learner.round_answered)
            .collect();
        rounds.push(leading.round);
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&confirmed) = rounds.get(majority - 1) else { return };
        let mut answered = Vec::new();
        while let Some(sync) = leading.syncs.front() {
            if sync.round > confirmed || sync.after > committed {
                break;
            }
            answered.extend(leading.syncs.pop_front());
        }
        for sync in answered {
            if sync.server == id {
                self.on_sync_reply(ctx, id, sync.client, sync.sequence, committed);
            } else {
                let reply = ZabMessage::SyncReply { client: sync.client, sequence: sync.sequence, zxid: committed };
                ctx.send(sync.server, reply);
            }
        }
    }

    /// The leader answered a sync: read once delivered up to `zxid`.
    pub(super) fn on_sync_reply(
        &mut self,
        ctx: &mut ServerContext<Zab>,
        from: NodeId,
        client: NodeId,
        sequence: Sequence,
        zxid: Zxid,
    ) {
        if self.leader() != Some(from) {
            return;
        }
        let Some((waiting, key)) = self.waiting.syncs.get(&client).copied() else { return };
        if waiting != sequence {
            return;
        }
        self.waiting.syncs.remove(&client);
        self.waiting.reads.push((client, sequence, key, zxid));
        self.serve_sync_reads(ctx);
    }

    /// Answers the sync-reads whose zxid this server has delivered.
    pub(super) fn serve_sync_reads(&mut self, ctx: &mut ServerContext<Zab>) {
        let delivered = self.delivered_zxid();
        let (ready, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.waiting.reads).into_iter().partition(|&(.., zxid)| zxid <= delivered);
        self.waiting.reads = waiting;
        for (client, sequence, key, _) in ready {
            let outcome = Outcome::Ok(KvReply::Values(self.store.read(key)));
            self.answer(ctx, client, sequence, outcome);
        }
    }

    /// Answers the client waiting here for the write `(client, sequence)`, if one does.
    pub(super) fn answer_write(
        &mut self,
        ctx: &mut ServerContext<Zab>,
        client: NodeId,
        sequence: Sequence,
        outcome: Outcome<KvReply>,
    ) {
        if self.waiting.writes.get(&client) == Some(&sequence) {
            self.waiting.writes.remove(&client);
            self.answer(ctx, client, sequence, outcome);
        }
    }

    /// Forgets what `client` waited for (its connection broke: it will ask again).
    pub(super) fn forget_client(&mut self, client: NodeId) {
        self.waiting.writes.remove(&client);
        self.waiting.syncs.remove(&client);
        self.waiting.reads.retain(|&(waiting, ..)| waiting != client);
    }

    fn answer(&self, ctx: &mut ServerContext<Zab>, client: NodeId, sequence: Sequence, outcome: Outcome<KvReply>) {
        let zxid = self.delivered_zxid();
        ctx.send(client, ZabMessage::ClientReply(ZabResponse::Done { sequence, outcome, zxid }));
    }

    fn turn_away(&self, ctx: &mut ServerContext<Zab>, client: NodeId, sequence: Sequence) {
        ctx.send(client, ZabMessage::ClientReply(ZabResponse::NotServing { sequence }));
    }
}
