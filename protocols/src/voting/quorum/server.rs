//! A quorum-store server: a replica of the registers when it is in the preference list, a
//! hint holder when it is outside it, a coordinator for the clients that send to it, and a
//! member that follows the membership's view.

use std::collections::BTreeMap;

use rand::Rng;

use super::config::Config;
use super::coordinator::Coordination;
use super::view::View;
use super::{OperationId, Peer, Quorum, QuorumMessage, QuorumRecord, QuorumTimer, NO_HANDOFF};
use crate::node::{Membership, NodeId, Server, ServerContext, SetupOf, SyncId};
use crate::service::{Key, Value};
use crate::voting::checker::RegisterObservation;
use crate::voting::registers::{take_synced, Registers, Stored, Unsynced, Version};
use crate::voting::sessions::Sessions;

/// Hints one server holds at most; a hinted write beyond that is not acknowledged.
pub const HINTS_MAX: usize = 1_024;

/// A version held for a replica that could not be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint {
    pub owner: NodeId,
    pub key: Key,
    pub version: Version,
    pub value: Option<Value>,
}

/// A filler's fetch of every register from a read quorum of the old replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Fetch {
    /// The move it fetches for.
    pub target: Vec<NodeId>,
    /// The old replicas that replied.
    pub replied: Vec<NodeId>,
}

/// One server of the quorum store.
#[derive(Clone, Debug)]
pub struct QuorumServer {
    pub(super) id: NodeId,
    pub(super) setup: SetupOf<Quorum>,
    pub(super) config: Config,
    pub(super) view: View,
    pub(super) registers: Registers,
    pub(super) sessions: Sessions,
    /// The operations this server coordinates, by client.
    pub(super) coordinations: BTreeMap<NodeId, Coordination>,
    pub(super) next_operation: OperationId,
    /// Keys whose newest version this server knows, as their home: every key at first boot,
    /// none after a restart or a move of the replicas (until it reads them once).
    pub(super) confirmed: Confirmed,
    pub(super) hints: Vec<Hint>,
    pub(super) fetch: Option<Fetch>,
    /// Stores not durable yet, with the sync that makes them durable.
    unsynced: Vec<(SyncId, Unsynced)>,
    /// Whether this server called `leave`.
    left: bool,
}

/// Which keys a home knows the newest version of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Confirmed {
    All,
    Keys(Vec<Key>),
}

impl Confirmed {
    pub fn contains(&self, key: Key) -> bool {
        match self {
            Confirmed::All => true,
            Confirmed::Keys(keys) => keys.contains(&key),
        }
    }

    pub fn insert(&mut self, key: Key) {
        if let Confirmed::Keys(keys) = self {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
}

impl Server<Quorum> for QuorumServer {
    fn on_start(&mut self, ctx: &mut ServerContext<Quorum>) {
        self.next_operation = u64::from(ctx.rng().gen::<u32>()) << 32;
    }

    fn on_recover(&mut self, ctx: &mut ServerContext<Quorum>) {
        self.on_start(ctx);
        if !self.hints.is_empty() {
            ctx.set_timer(self.setup.timeout, QuorumTimer::Handoff);
        }
        self.after_view_change(ctx);
    }

    fn on_message(&mut self, ctx: &mut ServerContext<Quorum>, from: NodeId, message: QuorumMessage) {
        match message {
            QuorumMessage::Request(command) => self.on_request(ctx, command),
            QuorumMessage::Peer { stamp, message } => {
                if stamp < self.view.stamp() {
                    ctx.send(from, QuorumMessage::View(self.view.clone()));
                    let request = matches!(message, Peer::Read { .. } | Peer::Write { .. } | Peer::Fetch);
                    if request && stamp.0 < self.view.epoch {
                        return; // A coordinator with an older epoch: refused until it has the view.
                    }
                }
                self.on_peer(ctx, from, message);
            }
            QuorumMessage::View(view) => self.on_view(ctx, from, view),
            QuorumMessage::Answer(_) => {}
        }
    }

    fn on_synced(&mut self, ctx: &mut ServerContext<Quorum>, sync: SyncId) {
        for (_, (key, version, value)) in take_synced(&mut self.unsynced, sync) {
            ctx.observe(RegisterObservation::Stored { key, version, value });
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<Quorum>, timer: QuorumTimer) {
        match timer {
            QuorumTimer::Retry(client) => self.on_retry(ctx, client),
            QuorumTimer::Fill => self.on_fill_timeout(ctx),
            QuorumTimer::Handoff => self.hand_off(ctx),
            QuorumTimer::Client => {}
        }
    }

    fn on_membership(&mut self, ctx: &mut ServerContext<Quorum>, change: Membership) {
        let moved = self.view.announce(change, &self.config, !self.setup.is(NO_HANDOFF));
        self.view_changed(ctx, moved);
    }

    fn invariants(&self) {
        assert!(self.coordinations.len() <= self.setup.clients as usize, "one coordination per client");
        assert!(self.hints.len() <= HINTS_MAX, "hints are bounded");
        assert!(self.view.replicas.len() <= self.config.replicas, "no more replicas than configured");
        assert!(self.view.members.windows(2).all(|pair| pair[0] < pair[1]), "members are sorted");
    }
}

impl QuorumServer {
    /// A server at first boot (`None`), or rebuilt from its durable records.
    pub fn new(setup: &SetupOf<Quorum>, id: NodeId, records: Option<&[QuorumRecord]>) -> QuorumServer {
        let config = Config::new(&setup.settings, setup.servers, setup.spares);
        let mut server = QuorumServer {
            id,
            view: View::initial(&config, setup.servers),
            setup: setup.clone(),
            config,
            registers: Registers::default(),
            sessions: Sessions::default(),
            coordinations: BTreeMap::new(),
            next_operation: 0,
            // An initial member starts with the empty registers every server has; a spare
            // that joins later starts knowing nothing.
            confirmed: if id < setup.servers { Confirmed::All } else { Confirmed::Keys(Vec::new()) },
            hints: Vec::new(),
            fetch: None,
            unsynced: Vec::new(),
            left: false,
        };
        let Some(records) = records else { return server };
        server.confirmed = Confirmed::Keys(Vec::new());
        let mut taken = Vec::new();
        for record in records {
            match record {
                QuorumRecord::Stored { key, version, value } => {
                    server.registers.adopt(*key, *version, *value);
                }
                QuorumRecord::Took { client, sequence } => taken.push((*client, *sequence)),
                QuorumRecord::View(view) => server.view = view.clone(),
                QuorumRecord::Hint { owner, key, version, value } => {
                    server.hints.push(Hint { owner: *owner, key: *key, version: *version, value: *value });
                }
                QuorumRecord::HandedOff { owner, key, version } => {
                    server.hints.retain(|hint| (hint.owner, hint.key, hint.version) != (*owner, *key, *version));
                }
            }
        }
        server.sessions = Sessions::recovered(taken);
        server
    }

    /// What this server holds for `key` as a replica.
    pub fn register(&self, key: Key) -> Stored {
        self.registers.get(key)
    }

    /// This server's view of the membership.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The hints this server holds.
    pub fn hints(&self) -> &[Hint] {
        &self.hints
    }

    fn on_peer(&mut self, ctx: &mut ServerContext<Quorum>, from: NodeId, message: Peer) {
        match message {
            Peer::Read { operation, key } => {
                // From memory, durable or not, as ABD's query (see there).
                let (version, value) = self.registers.get(key);
                self.send_peer(ctx, from, Peer::ReadAck { operation, key, version, value });
            }
            Peer::Write { operation, key, version, value, hint: None } => {
                self.store(ctx, key, version, value);
                self.send_peer_after_sync(ctx, from, Peer::WriteAck { operation });
            }
            Peer::Write { operation, key, version, value, hint: Some(owner) } => {
                if self.take_hint(ctx, Hint { owner, key, version, value }) {
                    self.send_peer_after_sync(ctx, from, Peer::WriteAck { operation });
                }
            }
            Peer::ReadAck { operation, version, value, .. } => self.on_read_ack(ctx, from, operation, (version, value)),
            Peer::WriteAck { operation } => self.on_write_ack(ctx, from, operation),
            Peer::Fetch => {
                let registers = self.registers.iter().map(|(key, (version, value))| (key, version, value)).collect();
                self.send_peer_after_sync(ctx, from, Peer::FetchReply { registers });
            }
            Peer::FetchReply { registers } => self.on_fetch_reply(ctx, from, registers),
            Peer::Filled { target } => {
                let moved = self.view.fill(&target, from);
                self.view_changed(ctx, moved);
            }
            Peer::Handoff { key, version, value } => {
                self.store(ctx, key, version, value);
                self.send_peer_after_sync(ctx, from, Peer::HandoffAck { key, version });
            }
            Peer::HandoffAck { key, version } => self.on_handoff_ack(ctx, from, key, version),
        }
    }

    fn on_view(&mut self, ctx: &mut ServerContext<Quorum>, from: NodeId, view: View) {
        if view.stamp() < self.view.stamp() {
            ctx.send(from, QuorumMessage::View(self.view.clone()));
            return;
        }
        let replicas = self.view.replicas.clone();
        if self.view.merge(&view) {
            let moved = self.view.replicas != replicas;
            self.view_changed(ctx, moved);
        }
    }

    /// After the view changed: persist it, and act on what changed.
    fn view_changed(&mut self, ctx: &mut ServerContext<Quorum>, moved: bool) {
        ctx.write(QuorumRecord::View(self.view.clone()));
        if moved {
            self.confirmed = Confirmed::Keys(Vec::new());
            ctx.observe(RegisterObservation::Replicas { replicas: self.view.replicas.clone() });
        }
        self.after_view_change(ctx);
    }

    /// Starts fetching if this server must fill, and leaves if it is told to and no longer needed.
    fn after_view_change(&mut self, ctx: &mut ServerContext<Quorum>) {
        let filling = self.view.fillers().contains(&self.id) && !self.view.filled.contains(&self.id);
        let target = self.view.target.clone();
        match (&self.fetch, filling, target) {
            (Some(fetch), true, Some(target)) if fetch.target == target => {}
            (_, true, Some(target)) => {
                self.fetch = Some(Fetch { target, replied: Vec::new() });
                self.ask_for_registers(ctx);
            }
            _ => self.fetch = None,
        }
        // A leaver stays while it is a replica whose replacements have not filled yet.
        let holding = self.view.replicas.contains(&self.id) && !self.view.all_filled();
        if self.view.leaving.contains(&self.id) && !self.left && !holding {
            self.left = true;
            ctx.leave();
        }
    }

    /// Sends `Fetch` to the old replicas that have not replied.
    fn ask_for_registers(&mut self, ctx: &mut ServerContext<Quorum>) {
        let Some(fetch) = &self.fetch else { return };
        let silent: Vec<NodeId> = self
            .view
            .readers()
            .into_iter()
            .filter(|source| !fetch.replied.contains(source) && *source != self.id)
            .collect();
        for source in silent {
            self.send_peer(ctx, source, Peer::Fetch);
        }
        ctx.set_timer(self.setup.timeout, QuorumTimer::Fill);
    }

    fn on_fill_timeout(&mut self, ctx: &mut ServerContext<Quorum>) {
        if self.fetch.is_some() {
            self.ask_for_registers(ctx);
        }
    }

    fn on_fetch_reply(
        &mut self,
        ctx: &mut ServerContext<Quorum>,
        from: NodeId,
        registers: Vec<(Key, Version, Option<Value>)>,
    ) {
        let Some(fetch) = self.fetch.as_mut() else { return };
        if fetch.replied.contains(&from) {
            return;
        }
        fetch.replied.push(from);
        let (target, replied) = (fetch.target.clone(), fetch.replied.clone());
        for (key, version, value) in registers {
            self.store(ctx, key, version, value);
        }
        if self.config.votes_among(replied, &self.view.readers()) < self.config.read_quorum {
            return;
        }
        self.fetch = None;
        ctx.cancel_timer(QuorumTimer::Fill);
        ctx.observe(RegisterObservation::Filled { replicas: target.clone() });
        let moved = self.view.fill(&target, self.id);
        for member in self.view.members.clone() {
            if member != self.id {
                self.send_peer_after_sync(ctx, member, Peer::Filled { target: target.clone() });
            }
        }
        self.view_changed(ctx, moved);
    }

    /// Takes a hint for a replica it could not reach; false if it holds too many.
    fn take_hint(&mut self, ctx: &mut ServerContext<Quorum>, hint: Hint) -> bool {
        if self.hints.contains(&hint) {
            return true;
        }
        if self.hints.len() >= HINTS_MAX {
            return false;
        }
        let Hint { owner, key, version, value } = hint;
        self.hints.push(hint);
        ctx.write(QuorumRecord::Hint { owner, key, version, value });
        ctx.observe(RegisterObservation::Hinted { key, version, value, owner });
        ctx.set_timer(self.setup.timeout, QuorumTimer::Handoff);
        true
    }

    /// Hinted handoff: offers every hint to its replica.
    fn hand_off(&mut self, ctx: &mut ServerContext<Quorum>) {
        for hint in self.hints.clone() {
            let Hint { owner, key, version, value } = hint;
            self.send_peer(ctx, owner, Peer::Handoff { key, version, value });
        }
        if !self.hints.is_empty() {
            ctx.set_timer(self.setup.timeout, QuorumTimer::Handoff);
        }
    }

    fn on_handoff_ack(&mut self, ctx: &mut ServerContext<Quorum>, owner: NodeId, key: Key, version: Version) {
        let before = self.hints.len();
        self.hints.retain(|hint| (hint.owner, hint.key, hint.version) != (owner, key, version));
        if self.hints.len() < before {
            ctx.write(QuorumRecord::HandedOff { owner, key, version });
            ctx.observe(RegisterObservation::HandedOff { key, version, owner });
        }
    }

    /// Stores `value` at `version` if it is newer than what this replica holds, and tells
    /// the checker once that is durable (a store a crash undoes was never made).
    pub(super) fn store(&mut self, ctx: &mut ServerContext<Quorum>, key: Key, version: Version, value: Option<Value>) {
        if self.registers.adopt(key, version, value) {
            ctx.write(QuorumRecord::Stored { key, version, value });
            let sync = ctx.sync();
            self.unsynced.push((sync, (key, version, value)));
        }
    }

    pub(super) fn send_peer(&self, ctx: &mut ServerContext<Quorum>, to: NodeId, message: Peer) {
        ctx.send(to, QuorumMessage::Peer { stamp: self.view.stamp(), message });
    }

    pub(super) fn send_peer_after_sync(&self, ctx: &mut ServerContext<Quorum>, to: NodeId, message: Peer) {
        ctx.send_after_sync(to, QuorumMessage::Peer { stamp: self.view.stamp(), message });
    }
}
