//! The coordinator of the quorum store: reads from a read quorum, writes (through the key's
//! home) to write quorums, read repair, and the hints of a sloppy quorum.

use std::collections::{BTreeMap, BTreeSet};

use super::server::QuorumServer;
use super::{OperationId, Peer, Quorum, QuorumMessage, QuorumRecord, QuorumTimer};
use crate::kv::{Command, KvOperation, KvReply, Sequence};
use crate::node::{NodeId, ServerContext};
use crate::service::{Key, Outcome, Value};
use crate::voting::checker::RegisterObservation;
use crate::voting::client::Answer;
use crate::voting::registers::{newest, Stored, Version};
use crate::voting::sessions::Admission;

/// Retransmissions of one phase before the coordinator gives up on the operation (as ABD's).
pub const RETRIES_MAX: u32 = 24;

/// One client operation a coordinator carries out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Coordination {
    pub operation: OperationId,
    pub sequence: Sequence,
    pub key: Key,
    /// The value a write writes; `None` for a read.
    pub write: Option<Value>,
    pub phase: Phase,
    /// Timeouts of the current phase so far.
    pub retries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Reading the newest version from a read quorum: a read, or a write whose home must
    /// learn the key's newest version first.
    Read { replies: BTreeMap<NodeId, Stored> },
    /// Storing `version` on a write quorum: the replicas that hold it (a hint's
    /// acknowledgement counts for its replica), and the server holding each hint.
    Write { version: Version, value: Option<Value>, acks: BTreeSet<NodeId>, hinted: BTreeMap<NodeId, NodeId> },
}

impl QuorumServer {
    pub(super) fn on_request(&mut self, ctx: &mut ServerContext<Quorum>, command: Command) {
        let running = self.coordinations.get(&command.client).map(|coordination| coordination.sequence);
        match self.sessions.admit(&command, running) {
            Admission::Ignore => {}
            Admission::Answer(outcome) => self.answer(ctx, command.client, command.sequence, outcome),
            Admission::Start => self.start(ctx, command),
        }
    }

    fn start(&mut self, ctx: &mut ServerContext<Quorum>, command: Command) {
        let Command { client, sequence, operation } = command;
        let (key, write) = match operation {
            KvOperation::Write { key, value } => (key, Some(value)),
            KvOperation::Read { key } => (key, None),
            other => unreachable!("the register service has no {other}"),
        };
        let home = self.view.home(key);
        if write.is_some() && home != self.id && !self.config.sloppy {
            let answer = Answer::Redirect { sequence, to: home };
            ctx.send(client, QuorumMessage::Answer(answer));
            return;
        }
        let operation = self.next_operation;
        self.next_operation += 1;
        let phase = Phase::Read { replies: BTreeMap::new() };
        self.coordinations.insert(client, Coordination { operation, sequence, key, write, phase, retries: 0 });
        if let Some(value) = write {
            self.sessions.take(client, sequence);
            ctx.write(QuorumRecord::Took { client, sequence });
            if self.confirmed.contains(key) || home != self.id {
                let version = Version::after(self.registers.get(key).0, self.id);
                return self.start_write(ctx, client, version, Some(value), BTreeSet::new());
            }
        }
        for reader in self.view.readers() {
            if reader != self.id {
                self.send_peer(ctx, reader, Peer::Read { operation, key });
            }
        }
        ctx.set_timer(self.setup.timeout, QuorumTimer::Retry(client));
        if self.view.readers().contains(&self.id) {
            self.on_read_ack(ctx, self.id, operation, self.registers.get(key));
        }
    }

    pub(super) fn on_read_ack(
        &mut self,
        ctx: &mut ServerContext<Quorum>,
        from: NodeId,
        operation: OperationId,
        stored: Stored,
    ) {
        let readers = self.view.readers();
        let Some((client, coordination)) = find(&mut self.coordinations, operation) else { return };
        let Phase::Read { replies } = &mut coordination.phase else { return };
        replies.insert(from, stored);
        if self.config.votes_among(replies.keys().copied(), &readers) < self.config.read_quorum {
            return;
        }
        let (version, value) = newest(replies.values().copied());
        let holders: BTreeSet<NodeId> =
            replies.iter().filter(|(_, (held, _))| *held == version).map(|(&replica, _)| replica).collect();
        let (key, write) = (coordination.key, coordination.write);
        match write {
            Some(written) => {
                self.confirmed.insert(key);
                let latest = version.max(self.registers.get(key).0);
                self.start_write(ctx, client, Version::after(latest, self.id), Some(written), BTreeSet::new());
            }
            None if !self.config.read_repair || self.write_quorum_met(&holders) => {
                self.finish(ctx, client, Outcome::Ok(values(value)));
            }
            None => {
                ctx.observe(RegisterObservation::WroteBack { key, version });
                self.start_write(ctx, client, version, value, holders);
            }
        }
    }

    /// Stores `version` here if this server is a replica, and sends it to every other
    /// replica (of the target too, during a move) not known to hold it.
    fn start_write(
        &mut self,
        ctx: &mut ServerContext<Quorum>,
        client: NodeId,
        version: Version,
        value: Option<Value>,
        mut acks: BTreeSet<NodeId>,
    ) {
        let targets = self.view.write_targets();
        let Some(coordination) = self.coordinations.get(&client) else { return };
        let (operation, key) = (coordination.operation, coordination.key);
        if targets.contains(&self.id) {
            self.store(ctx, key, version, value);
            acks.insert(self.id);
        }
        for &target in targets.iter().filter(|target| !acks.contains(target)) {
            self.send_peer_after_sync(ctx, target, Peer::Write { operation, key, version, value, hint: None });
        }
        let hinted = BTreeMap::new();
        if let Some(coordination) = self.coordinations.get_mut(&client) {
            coordination.phase = Phase::Write { version, value, acks, hinted };
            coordination.retries = 0;
        }
        ctx.set_timer(self.setup.timeout, QuorumTimer::Retry(client));
        self.check_written(ctx, client);
    }

    pub(super) fn on_write_ack(&mut self, ctx: &mut ServerContext<Quorum>, from: NodeId, operation: OperationId) {
        let Some((client, coordination)) = find(&mut self.coordinations, operation) else { return };
        let Phase::Write { acks, hinted, .. } = &mut coordination.phase else { return };
        let owner = hinted.iter().find(|(_, &holder)| holder == from).map_or(from, |(&owner, _)| owner);
        acks.insert(owner);
        self.check_written(ctx, client);
    }

    /// Answers once the write quorums hold the version.
    fn check_written(&mut self, ctx: &mut ServerContext<Quorum>, client: NodeId) {
        let Some(coordination) = self.coordinations.get(&client) else { return };
        let Phase::Write { value, acks, .. } = &coordination.phase else { return };
        if !self.write_quorum_met(acks) {
            return;
        }
        let outcome = if coordination.write.is_some() { KvReply::Done } else { values(*value) };
        self.finish(ctx, client, Outcome::Ok(outcome));
    }

    /// Whether `holders` carry a write quorum of votes in every set a write must reach.
    fn write_quorum_met(&self, holders: &BTreeSet<NodeId>) -> bool {
        let quorum = self.config.write_quorum;
        self.view.write_sets().iter().all(|set| self.config.votes_among(holders.iter().copied(), set) >= quorum)
    }

    fn finish(&mut self, ctx: &mut ServerContext<Quorum>, client: NodeId, outcome: Outcome<KvReply>) {
        let Some(coordination) = self.coordinations.remove(&client) else { return };
        ctx.cancel_timer(QuorumTimer::Retry(client));
        self.sessions.answer(client, coordination.sequence, outcome.clone());
        let answer = Answer::Done { sequence: coordination.sequence, outcome };
        ctx.send_after_sync(client, QuorumMessage::Answer(answer));
    }

    fn answer(&self, ctx: &mut ServerContext<Quorum>, client: NodeId, sequence: Sequence, outcome: Outcome<KvReply>) {
        ctx.send(client, QuorumMessage::Answer(Answer::Done { sequence, outcome }));
    }

    /// Sends the current phase again to the servers that did not reply (in a sloppy quorum,
    /// hands each missing replica's copy to a server outside the replicas), or gives up.
    pub(super) fn on_retry(&mut self, ctx: &mut ServerContext<Quorum>, client: NodeId) {
        let (readers, targets) = (self.view.readers(), self.view.write_targets());
        // A coordinator outside the replicas leaves its hints on the other fallbacks.
        let id = self.id;
        let mut fallbacks = self.view.fallbacks().into_iter().filter(move |&fallback| fallback != id);
        let sloppy = self.config.sloppy;
        let Some(coordination) = self.coordinations.get_mut(&client) else { return };
        coordination.retries += 1;
        if coordination.retries > RETRIES_MAX {
            self.coordinations.remove(&client);
            return;
        }
        let (operation, key) = (coordination.operation, coordination.key);
        let mut sends = Vec::new();
        match &mut coordination.phase {
            Phase::Read { replies } => {
                for reader in readers.into_iter().filter(|reader| !replies.contains_key(reader)) {
                    sends.push((reader, Peer::Read { operation, key }));
                }
            }
            Phase::Write { version, value, acks, hinted } => {
                let (version, value) = (*version, *value);
                for target in targets.into_iter().filter(|target| !acks.contains(target)) {
                    sends.push((target, Peer::Write { operation, key, version, value, hint: None }));
                    if !sloppy || hinted.contains_key(&target) {
                        continue;
                    }
                    let used: Vec<NodeId> = hinted.values().copied().collect();
                    if let Some(holder) = fallbacks.by_ref().find(|fallback| !used.contains(fallback)) {
                        hinted.insert(target, holder);
                        sends.push((holder, Peer::Write { operation, key, version, value, hint: Some(target) }));
                    }
                }
            }
        }
        for (to, message) in sends {
            self.send_peer_after_sync(ctx, to, message);
        }
        ctx.set_timer(self.setup.timeout, QuorumTimer::Retry(client));
    }
}

/// The coordination of `operation`, and its client.
fn find(
    coordinations: &mut BTreeMap<NodeId, Coordination>,
    operation: OperationId,
) -> Option<(NodeId, &mut Coordination)> {
    let found = coordinations.iter_mut().find(|(_, coordination)| coordination.operation == operation);
    found.map(|(&client, coordination)| (client, coordination))
}

/// What a read returns for a register holding `value`.
fn values(value: Option<Value>) -> KvReply {
    KvReply::Values(value.into_iter().collect())
}
