//! An ABD server: a replica of every register, and the coordinator of its clients'
//! operations (query phase, then update phase, each ended by a majority).

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use super::{Abd, AbdMessage, AbdRecord, AbdTimer, OperationId, NO_WRITE_BACK};
use crate::kv::{Command, KvOperation, KvReply, Sequence};
use crate::node::{NodeId, Server, ServerContext, Setup, SyncId};
use crate::service::{Key, Outcome, Value};
use crate::voting::checker::RegisterObservation;
use crate::voting::client::Answer;
use crate::voting::registers::{newest, take_synced, Registers, Stored, Unsynced, Version};
use crate::voting::sessions::{Admission, Sessions};

/// Retransmissions of one phase before the coordinator gives up on the operation: past the
/// client's patience (`ATTEMPTS * ATTEMPT_TIMEOUTS` timeouts), so a client never waits on
/// an operation its coordinator dropped.
pub const RETRIES_MAX: u32 = 24;

/// One server of ABD.
#[derive(Clone, Debug)]
pub struct AbdServer {
    id: NodeId,
    setup: Setup,
    registers: Registers,
    sessions: Sessions,
    /// The operations this server coordinates, by client.
    coordinations: BTreeMap<NodeId, Coordination>,
    next_operation: OperationId,
    /// Stores not durable yet, with the sync that makes them durable.
    unsynced: Vec<(SyncId, Unsynced)>,
}

/// One client operation a coordinator carries out.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Coordination {
    operation: OperationId,
    sequence: Sequence,
    key: Key,
    /// The value a write writes; `None` for a read.
    write: Option<Value>,
    phase: Phase,
    /// Timeouts of the current phase so far.
    retries: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Phase one: the replies so far.
    Query { replies: BTreeMap<NodeId, Stored> },
    /// Phase two: the version and value being stored, and the replicas that acknowledged.
    Update { version: Version, value: Option<Value>, acks: BTreeSet<NodeId> },
}

impl Server<Abd> for AbdServer {
    fn on_start(&mut self, ctx: &mut ServerContext<Abd>) {
        self.next_operation = u64::from(ctx.rng().gen::<u32>()) << 32;
    }

    fn on_message(&mut self, ctx: &mut ServerContext<Abd>, from: NodeId, message: AbdMessage) {
        match message {
            AbdMessage::Request(command) => self.on_request(ctx, command),
            AbdMessage::Query { operation, key } => {
                // From memory, durable or not: a query's answer promises nothing (a read
                // writes back what it returns; a write only needs a version to go above).
                let (version, value) = self.registers.get(key);
                ctx.send(from, AbdMessage::QueryAck { operation, key, version, value });
            }
            AbdMessage::QueryAck { operation, version, value, .. } => {
                self.on_query_ack(ctx, from, operation, (version, value));
            }
            AbdMessage::Update { operation, key, version, value } => {
                self.store(ctx, key, version, value);
                ctx.send_after_sync(from, AbdMessage::UpdateAck { operation });
            }
            AbdMessage::UpdateAck { operation } => self.on_update_ack(ctx, from, operation),
            AbdMessage::Answer(_) => {}
        }
    }

    fn on_synced(&mut self, ctx: &mut ServerContext<Abd>, sync: SyncId) {
        for (_, (key, version, value)) in take_synced(&mut self.unsynced, sync) {
            ctx.observe(RegisterObservation::Stored { key, version, value });
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<Abd>, timer: AbdTimer) {
        if let AbdTimer::Retry(client) = timer {
            self.on_retry(ctx, client);
        }
    }

    fn invariants(&self) {
        assert!(self.coordinations.len() <= self.setup.clients as usize, "one coordination per client");
        for coordination in self.coordinations.values() {
            if let Phase::Update { version, .. } = coordination.phase {
                assert!(self.registers.get(coordination.key).0 >= version, "the coordinator stores first");
            }
        }
    }
}

impl AbdServer {
    /// A server rebuilt from `records` (none at first boot).
    pub fn new(setup: &Setup, id: NodeId, records: &[AbdRecord]) -> AbdServer {
        let mut registers = Registers::default();
        let mut taken = Vec::new();
        for record in records {
            match *record {
                AbdRecord::Stored { key, version, value } => {
                    registers.adopt(key, version, value);
                }
                AbdRecord::Took { client, sequence } => taken.push((client, sequence)),
            }
        }
        AbdServer {
            id,
            setup: setup.clone(),
            registers,
            sessions: Sessions::recovered(taken),
            coordinations: BTreeMap::new(),
            next_operation: 0,
            unsynced: Vec::new(),
        }
    }

    /// What this replica holds for `key`.
    pub fn register(&self, key: Key) -> Stored {
        self.registers.get(key)
    }

    /// How many operations this server coordinates now.
    pub fn coordinating(&self) -> usize {
        self.coordinations.len()
    }

    fn on_request(&mut self, ctx: &mut ServerContext<Abd>, command: Command) {
        let running = self.coordinations.get(&command.client).map(|coordination| coordination.sequence);
        match self.sessions.admit(&command, running) {
            Admission::Ignore => {}
            Admission::Answer(outcome) => {
                let answer = Answer::Done { sequence: command.sequence, outcome };
                ctx.send(command.client, AbdMessage::Answer(answer));
            }
            Admission::Start => self.start(ctx, command),
        }
    }

    /// Phase one of a new operation: `Query` to every other replica, this one answers at once.
    fn start(&mut self, ctx: &mut ServerContext<Abd>, command: Command) {
        let Command { client, sequence, operation } = command;
        let (key, write) = match operation {
            KvOperation::Write { key, value } => (key, Some(value)),
            KvOperation::Read { key } => (key, None),
            other => unreachable!("the register service has no {other}"),
        };
        if write.is_some() {
            self.sessions.take(client, sequence);
            ctx.write(AbdRecord::Took { client, sequence });
        }
        let operation = self.next_operation;
        self.next_operation += 1;
        let phase = Phase::Query { replies: BTreeMap::new() };
        self.coordinations.insert(client, Coordination { operation, sequence, key, write, phase, retries: 0 });
        for peer in self.peers() {
            ctx.send(peer, AbdMessage::Query { operation, key });
        }
        ctx.set_timer(self.setup.timeout, AbdTimer::Retry(client));
        self.on_query_ack(ctx, self.id, operation, self.registers.get(key));
    }

    fn on_query_ack(&mut self, ctx: &mut ServerContext<Abd>, from: NodeId, operation: OperationId, stored: Stored) {
        let majority = self.setup.majority();
        let Some((&client, coordination)) = self.find(operation) else { return };
        let Phase::Query { replies } = &mut coordination.phase else { return };
        replies.insert(from, stored);
        if replies.len() < majority {
            return;
        }
        let (version, value) = newest(replies.values().copied());
        let (key, write) = (coordination.key, coordination.write);
        match write {
            Some(written) => {
                let latest = version.max(self.registers.get(key).0);
                self.start_update(ctx, client, Version::after(latest, self.id), Some(written));
            }
            None if self.setup.is(NO_WRITE_BACK) => self.finish(ctx, client, Outcome::Ok(values(value))),
            None => {
                ctx.observe(RegisterObservation::WroteBack { key, version });
                self.start_update(ctx, client, version, value);
            }
        }
    }

    /// Phase two: store locally, then `Update` to every other replica once that is durable.
    fn start_update(&mut self, ctx: &mut ServerContext<Abd>, client: NodeId, version: Version, value: Option<Value>) {
        let Some(coordination) = self.coordinations.get_mut(&client) else { return };
        coordination.phase = Phase::Update { version, value, acks: BTreeSet::new() };
        coordination.retries = 0;
        let (operation, key) = (coordination.operation, coordination.key);
        self.store(ctx, key, version, value);
        for peer in self.peers() {
            ctx.send_after_sync(peer, AbdMessage::Update { operation, key, version, value });
        }
        ctx.set_timer(self.setup.timeout, AbdTimer::Retry(client));
        self.on_update_ack(ctx, self.id, operation);
    }

    fn on_update_ack(&mut self, ctx: &mut ServerContext<Abd>, from: NodeId, operation: OperationId) {
        let majority = self.setup.majority();
        let Some((&client, coordination)) = self.find(operation) else { return };
        let Phase::Update { value, acks, .. } = &mut coordination.phase else { return };
        acks.insert(from);
        if acks.len() < majority {
            return;
        }
        let outcome =
            if coordination.write.is_some() { Outcome::Ok(KvReply::Done) } else { Outcome::Ok(values(*value)) };
        self.finish(ctx, client, outcome);
    }

    /// Answers the client once this replica's records are durable.
    fn finish(&mut self, ctx: &mut ServerContext<Abd>, client: NodeId, outcome: Outcome<KvReply>) {
        let Some(coordination) = self.coordinations.remove(&client) else { return };
        ctx.cancel_timer(AbdTimer::Retry(client));
        self.sessions.answer(client, coordination.sequence, outcome.clone());
        let answer = Answer::Done { sequence: coordination.sequence, outcome };
        ctx.send_after_sync(client, AbdMessage::Answer(answer));
    }

    /// Sends the current phase again to the replicas that did not reply, or gives up.
    fn on_retry(&mut self, ctx: &mut ServerContext<Abd>, client: NodeId) {
        let peers: Vec<NodeId> = self.peers().collect();
        let Some(coordination) = self.coordinations.get_mut(&client) else { return };
        coordination.retries += 1;
        if coordination.retries > RETRIES_MAX {
            self.coordinations.remove(&client);
            return;
        }
        let (operation, key) = (coordination.operation, coordination.key);
        for peer in peers {
            match &coordination.phase {
                Phase::Query { replies } if !replies.contains_key(&peer) => {
                    ctx.send(peer, AbdMessage::Query { operation, key });
                }
                Phase::Update { version, value, acks } if !acks.contains(&peer) => {
                    let update = AbdMessage::Update { operation, key, version: *version, value: *value };
                    ctx.send_after_sync(peer, update);
                }
                _ => {}
            }
        }
        ctx.set_timer(self.setup.timeout, AbdTimer::Retry(client));
    }

    /// Stores `value` at `version` if it is newer than what this replica holds, and tells
    /// the checker once that is durable (a store a crash undoes was never made).
    fn store(&mut self, ctx: &mut ServerContext<Abd>, key: Key, version: Version, value: Option<Value>) {
        if self.registers.adopt(key, version, value) {
            ctx.write(AbdRecord::Stored { key, version, value });
            let sync = ctx.sync();
            self.unsynced.push((sync, (key, version, value)));
        }
    }

    fn find(&mut self, operation: OperationId) -> Option<(&NodeId, &mut Coordination)> {
        self.coordinations.iter_mut().find(|(_, coordination)| coordination.operation == operation)
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> {
        let id = self.id;
        self.setup.server_ids().filter(move |&peer| peer != id)
    }
}

/// What a read returns for a register holding `value`.
fn values(value: Option<Value>) -> KvReply {
    KvReply::Values(value.into_iter().collect())
}
