//! The store's server: it owns the keys the placement gives it in its latest view, serves
//! them, and hands them over when a view moves them. With `replicas > 1` the owner here is
//! the key's primary, and `replica.rs` adds its backups.
//!
//! Every server keeps the whole list of views (they are few) and processes each key through
//! the views one at a time, in order. Going from view `V - 1` to `V`, a key
//! - stays with its owner if it owns it in both;
//! - is frozen by its old owner (which stops serving it, and keeps the copy as it was until
//!   the new owner says it holds it: a `Release`);
//! - is pulled by its new owner from its owner in `V - 1` (or, if that server is gone, from
//!   the owner of the latest earlier view that is not): the new owner serves the key only
//!   once its copy has arrived and is durable, and then releases the old copy.
//!
//! A key being pulled is not processed further until its copy arrives, so a chain of quick
//! view changes hands the key on in order. A pull carries its view, so an old owner that had
//! not heard of it adopts it on the spot and freezes the key before it answers: at any
//! moment at most one server serves a key. Freezes and installs are durable before the
//! message that depends on them leaves (`send_after_sync`), so a crash cannot undo one.
//!
//! A client's command for a key the server serves is applied to its copy (the key-value
//! store's state machine, with per-key sessions) and answered once durable; for a key it
//! does not own in its latest view the server redirects the client with that view; for a
//! key it owns but does not hold yet, or a client whose view is newer, it says retry. The
//! membership service's side is in `membership.rs`.
//!
//! The flaws: `stale-view-writes` answers a pull with a snapshot but keeps serving the key
//! until it hears of the new view from the membership service; `switch-before-transfer`
//! serves a key as soon as its view makes it the owner, from an empty copy, and replaces
//! that copy when the transfer arrives; `drop-during-migration` keeps applying writes to a
//! frozen key until the release comes, to a copy that is never sent.

use std::collections::{BTreeMap, BTreeSet};

use super::messages::{Answer, ShardMessage};
use super::placement::{AnyPlacement, Placement};
use super::replica::Waiting;
use super::shard::Shard;
use super::view::{View, ViewNumber, VIEWS_MAX};
use super::{Flaw, ShardKv, ShardObservation, ShardRecord, ShardSettings, ShardTimer};
use crate::kv::Command;
use crate::node::{Membership, NodeId, Server, ServerContext, Setup, Time};
use crate::service::{Key, Outcome};

/// One key at one server: the view it has been processed to, its copy if the server owns
/// it there, and the server it is being pulled from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyState {
    pub view: ViewNumber,
    pub copy: Option<Shard>,
    pub awaiting: Option<NodeId>,
}

#[derive(Debug)]
pub struct ShardServer {
    pub(super) id: NodeId,
    pub(super) flaw: Flaw,
    pub(super) settings: ShardSettings,
    pub(super) servers: u32,
    pub(super) timeout: Time,
    pub(super) views: Vec<View>,
    pub(super) placements: Vec<AnyPlacement>,
    pub(super) gone: BTreeSet<NodeId>,
    pub(super) keys: Vec<KeyState>,
    /// Frozen copies, by key and the view they are from, kept until released.
    pub(super) outgoing: BTreeMap<(Key, ViewNumber), Shard>,
    /// `drop-during-migration` only: the copies it goes on writing to while handing off.
    pub(super) handing: BTreeMap<Key, Shard>,
    /// A backup's copies, with the view of the primary they came from (`replicas > 1`).
    pub(super) replicas: BTreeMap<Key, (ViewNumber, Shard)>,
    /// Per key, the latest view this server knows it settled in (every owner held it).
    pub(super) settled: BTreeMap<Key, ViewNumber>,
    /// The primary's volatile knowledge, for its latest view: the position each backup
    /// acknowledged per key, the position sent to it, and answers held back for them.
    pub(super) acks: BTreeMap<(Key, NodeId), u64>,
    pub(super) pushed: BTreeMap<(Key, NodeId), u64>,
    pub(super) waiting: Vec<Waiting>,
    /// Keys whose primary before is gone: the copies each server answered with.
    pub(super) gathers: BTreeMap<Key, BTreeMap<NodeId, Option<(ViewNumber, Shard)>>>,
    /// `Replicate` messages sent since the server started or recovered (a figure).
    pub replications: u64,
    pub(super) leaving: bool,
    pub(super) left: bool,
    /// The membership service's volatile state, while this server runs it.
    pub(super) acked: BTreeMap<NodeId, ViewNumber>,
    /// A view that made another server coordinator, until that server acknowledged it.
    pub(super) handed_over: Option<(NodeId, ViewNumber)>,
}

impl ShardServer {
    pub fn new(setup: &Setup<ShardSettings>, id: NodeId) -> ShardServer {
        let settings = setup.settings.clone();
        let initial = View::initial(setup.servers);
        let placement = settings.scheme().place(&initial.members);
        let keys = (0..settings.keys)
            .map(|key| {
                let copy = (placement.owner(key) == id).then(|| Shard::new(key));
                KeyState { view: 0, copy, awaiting: None }
            })
            .collect();
        // Every owner of view 0 starts with the key's empty copy, backups as the primary, and
        // each primary knows it.
        let (mut replicas, mut acks) = (BTreeMap::new(), BTreeMap::new());
        for key in 0..settings.keys {
            let owners = placement.owners(key, settings.replicas as usize);
            if owners[1..].contains(&id) {
                replicas.insert(key, (0, Shard::new(key)));
            }
            if owners[0] == id {
                acks.extend(owners[1..].iter().map(|backup| ((key, *backup), 0)));
            }
        }
        ShardServer {
            id,
            flaw: Flaw::of(setup.variant),
            servers: setup.servers,
            timeout: setup.timeout,
            views: vec![initial],
            placements: vec![placement],
            gone: BTreeSet::new(),
            keys,
            outgoing: BTreeMap::new(),
            handing: BTreeMap::new(),
            replicas,
            settled: BTreeMap::new(),
            pushed: acks.clone(),
            acks,
            waiting: Vec::new(),
            gathers: BTreeMap::new(),
            replications: 0,
            leaving: false,
            left: false,
            acked: BTreeMap::new(),
            handed_over: None,
            settings,
        }
    }

    /// A server rebuilt from its durable records, replayed in order.
    pub fn recover(setup: &Setup<ShardSettings>, id: NodeId, records: &[ShardRecord]) -> ShardServer {
        let mut server = ShardServer::new(setup, id);
        for record in records {
            match record {
                ShardRecord::View(view) => server.push_view(view.clone()),
                ShardRecord::Gone(node) => {
                    server.gone.insert(*node);
                }
                ShardRecord::Key { key, state } => server.keys[*key as usize] = state.clone(),
                ShardRecord::Frozen { key, view, shard } => {
                    server.outgoing.insert((*key, *view), shard.clone());
                }
                ShardRecord::Released { key, view } => {
                    server.outgoing.retain(|(k, w), _| k != key || w >= view);
                    if server.replicas.get(key).is_some_and(|(tag, _)| tag < view) {
                        server.replicas.remove(key);
                    }
                    let settled = server.settled.entry(*key).or_insert(0);
                    *settled = (*settled).max(*view);
                }
                ShardRecord::Replica { key, view, shard } => {
                    server.replicas.insert(*key, (*view, shard.clone()));
                }
                ShardRecord::Applied { key, command } => {
                    if let Some(copy) = server.keys[*key as usize].copy.as_mut() {
                        copy.apply(command);
                    }
                }
                ShardRecord::Leaving => server.leaving = true,
            }
        }
        for (key, state) in server.keys.iter().enumerate() {
            let key = key as Key;
            if state.copy.is_some() {
                server.replicas.remove(&key);
            }
            if server.settings.replicas > 1 && state.awaiting == Some(id) {
                server.gathers.insert(key, BTreeMap::new());
            }
        }
        if server.views.len() > 1 {
            server.forget_backups();
        }
        server
    }

    /// The newest view this server knows.
    pub fn latest(&self) -> &View {
        self.views.last().expect("view 0 is always there")
    }

    /// Every view this server knows, from view 0.
    pub fn views(&self) -> &[View] {
        &self.views
    }

    /// The owner of `key` in view `view` (which this server knows).
    pub fn owner(&self, view: ViewNumber, key: Key) -> NodeId {
        self.placements[view as usize].owner(key)
    }

    /// The keys this server serves, as owner with a copy, with the view and its position:
    /// what the one-owner checker reads.
    pub fn claims(&self) -> impl Iterator<Item = (Key, ViewNumber, u64)> + '_ {
        self.keys.iter().enumerate().filter_map(|(key, state)| {
            let copy = state.copy.as_ref()?;
            Some((key as Key, state.view, copy.position()))
        })
    }

    /// Whether this server serves `key` now, and at which position.
    pub fn claim(&self, key: Key) -> Option<(ViewNumber, u64)> {
        let state = self.keys.get(key as usize)?;
        state.copy.as_ref().map(|copy| (state.view, copy.position()))
    }

    pub(super) fn push_view(&mut self, view: View) {
        self.placements.push(self.settings.scheme().place(&view.members));
        self.views.push(view);
    }

    /// Adopts `view` if it is the next one: durably, and visibly (its fingerprint).
    pub(super) fn adopt(&mut self, ctx: &mut ServerContext<ShardKv>, view: &View) -> bool {
        if view.number != self.latest().number + 1 || self.views.len() >= VIEWS_MAX {
            return false;
        }
        ctx.write(ShardRecord::View(view.clone()));
        ctx.observe(ShardObservation::Adopted { view: view.number, fingerprint: view.fingerprint() });
        self.push_view(view.clone());
        self.forget_backups();
        true
    }

    /// Adopts what it can of `views`, then moves every key on; true if any was new.
    pub(super) fn learn(&mut self, ctx: &mut ServerContext<ShardKv>, views: &[View]) -> bool {
        let mut any = false;
        for view in views {
            any |= self.adopt(ctx, view);
        }
        if any {
            self.advance_all(ctx);
            self.send_pulls(ctx);
        }
        any
    }

    /// Moves every key through the views it can go through.
    pub(super) fn advance_all(&mut self, ctx: &mut ServerContext<ShardKv>) {
        for key in 0..self.settings.keys {
            self.advance(ctx, key);
        }
    }

    fn advance(&mut self, ctx: &mut ServerContext<ShardKv>, key: Key) {
        while self.keys[key as usize].view < self.latest().number && self.keys[key as usize].awaiting.is_none() {
            self.step(ctx, key);
        }
    }

    /// Takes `key` from its view `V - 1` to `V`.
    fn step(&mut self, ctx: &mut ServerContext<ShardKv>, key: Key) {
        let next = self.keys[key as usize].view + 1;
        let owns_next = self.owner(next, key) == self.id;
        let state = &mut self.keys[key as usize];
        state.view = next;
        match (state.copy.is_some(), owns_next) {
            (true, true) | (false, false) => {}
            (true, false) => {
                let copy = state.copy.take().expect("a copy");
                if self.flaw == Flaw::DropDuringMigration {
                    self.handing.insert(key, copy.clone());
                }
                ctx.write(ShardRecord::Frozen { key, view: next - 1, shard: copy.clone() });
                self.outgoing.insert((key, next - 1), copy);
            }
            (false, true) => {
                if self.flaw == Flaw::SwitchBeforeTransfer {
                    state.copy = Some(Shard::new(key));
                }
                let source = self.source(next, key);
                self.await_from(ctx, key, source);
            }
        }
        let state = self.keys[key as usize].clone();
        ctx.write(ShardRecord::Key { key, state });
    }

    /// Waits for `key` from `source`; from itself, it installs its own copy, or replicated,
    /// gathers the copies of the servers still there.
    fn await_from(&mut self, ctx: &mut ServerContext<ShardKv>, key: Key, source: NodeId) {
        self.keys[key as usize].awaiting = Some(source);
        if source == self.id && self.replicated() {
            self.start_gather(key);
        } else if source == self.id {
            self.install_own(ctx, key);
        }
    }

    /// Where the owner of `key` in `view` gets it: the owner in the view before, or if that
    /// server is gone, the owner of the latest earlier view that is not. Replicated, a gone
    /// owner before means a gather (this server itself).
    fn source(&self, view: ViewNumber, key: Key) -> NodeId {
        if self.replicated() {
            let before = self.owner(view - 1, key);
            return if self.gone.contains(&before) { self.id } else { before };
        }
        (0..view)
            .rev()
            .map(|earlier| self.owner(earlier, key))
            .find(|owner| !self.gone.contains(owner))
            .unwrap_or(self.id)
    }

    /// A key this server pulls from itself (the owners after it are gone): its own latest
    /// frozen copy, which it then releases.
    fn install_own(&mut self, ctx: &mut ServerContext<ShardKv>, key: Key) {
        let own = self.outgoing.iter().rev().find(|((k, _), _)| *k == key).map(|(_, shard)| shard.clone());
        let view = self.keys[key as usize].view;
        let state = &mut self.keys[key as usize];
        state.copy = Some(own.unwrap_or_else(|| Shard::new(key)));
        state.awaiting = None;
        self.outgoing.retain(|(k, _), _| *k != key);
        ctx.write(ShardRecord::Released { key, view });
    }

    /// Asks each source for the keys awaited from it.
    pub(super) fn send_pulls(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let mut pulls: BTreeMap<(NodeId, ViewNumber), Vec<Key>> = BTreeMap::new();
        for (key, state) in self.keys.iter().enumerate() {
            if let Some(source) = state.awaiting {
                pulls.entry((source, state.view)).or_default().push(key as Key);
            }
        }
        for ((source, view), keys) in pulls {
            if source != self.id {
                ctx.send(source, ShardMessage::Pull { view: self.views[view as usize].clone(), keys });
            }
        }
        self.send_gathers(ctx);
        self.push_copies(ctx);
    }

    /// Pulls waiting on a server that is gone since turn to the next source: the owner of
    /// an earlier view, or with one copy per key this server's own (which loses the
    /// updates the gone server held); replicated, a gather.
    pub(super) fn regather(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let mut any = false;
        for key in 0..self.settings.keys {
            let state = &self.keys[key as usize];
            let Some(source) = state.awaiting.filter(|source| *source != self.id && self.gone.contains(source)) else {
                continue;
            };
            let next = self.source(state.view, key);
            if next == source {
                continue;
            }
            self.await_from(ctx, key, next);
            let state = self.keys[key as usize].clone();
            ctx.write(ShardRecord::Key { key, state });
            any = true;
        }
        if any {
            self.advance_all(ctx);
            self.send_pulls(ctx);
        }
    }

    fn on_pull(&mut self, ctx: &mut ServerContext<ShardKv>, from: NodeId, view: View, keys: Vec<Key>) {
        if view.number > self.latest().number + 1 {
            return self.ask_for_views(ctx);
        }
        if view.number == self.latest().number + 1 && self.flaw != Flaw::StaleViewWrites {
            self.learn(ctx, std::slice::from_ref(&view));
        }
        let (mut shards, mut settled_since) = (Vec::new(), Vec::new());
        for key in keys.into_iter().filter(|key| *key < self.settings.keys) {
            // The copy as this server left it at the end of its latest ownership before `view`.
            let last_owned =
                (0..view.number.min(self.views.len() as ViewNumber)).rev().find(|w| self.owner(*w, key) == self.id);
            let frozen = last_owned.and_then(|w| self.outgoing.get(&(key, w)));
            if let Some(shard) = frozen {
                shards.push((key, shard.clone()));
            } else if self.replicated() && self.settled_in(key) >= view.number {
                settled_since.push(key);
            } else if self.flaw == Flaw::StaleViewWrites && self.keys[key as usize].view < view.number {
                // The flaw: a snapshot of a key it goes on serving, as it has not heard of `view`.
                if let Some(copy) = &self.keys[key as usize].copy {
                    shards.push((key, copy.clone()));
                }
            }
        }
        if !shards.is_empty() {
            ctx.send_after_sync(from, ShardMessage::Transfer { view: view.number, shards });
        }
        // The key settled in `view` or later without the puller: its pull is moot.
        for key in settled_since {
            let view = self.settled_in(key);
            ctx.send(from, ShardMessage::Release { view, keys: vec![key] });
        }
    }

    fn on_transfer(
        &mut self,
        ctx: &mut ServerContext<ShardKv>,
        from: NodeId,
        view: ViewNumber,
        shards: Vec<(Key, Shard)>,
    ) {
        let mut installed = Vec::new();
        let mut bytes = 0;
        for (key, shard) in shards {
            let Some(state) = self.keys.get_mut(key as usize) else { continue };
            if state.view != view || state.awaiting != Some(from) {
                continue;
            }
            bytes += shard.size_bytes() as u64;
            state.copy = Some(shard);
            state.awaiting = None;
            let state = state.clone();
            ctx.write(ShardRecord::Key { key, state });
            self.replicas.remove(&key);
            installed.push(key);
        }
        if installed.is_empty() {
            return;
        }
        ctx.observe(ShardObservation::Migrated { view, from, keys: installed.len() as u32, bytes });
        // Replicated, the old copy goes once the key settles (every backup holds it).
        if !self.replicated() {
            ctx.send_after_sync(from, ShardMessage::Release { view, keys: installed });
        }
        self.advance_all(ctx);
        self.send_pulls(ctx);
    }

    fn on_release(&mut self, ctx: &mut ServerContext<ShardKv>, view: ViewNumber, keys: Vec<Key>) {
        if self.replicated() {
            return self.on_release_replicated(ctx, view, keys);
        }
        for key in keys {
            let before = self.outgoing.len();
            self.outgoing.retain(|(k, w), _| *k != key || *w >= view);
            if self.outgoing.len() != before {
                ctx.write(ShardRecord::Released { key, view });
            }
            self.handing.remove(&key);
        }
    }

    /// A holder of old copies asks whether they were installed in `view`.
    fn on_held(&mut self, ctx: &mut ServerContext<ShardKv>, from: NodeId, view: ViewNumber, keys: Vec<Key>) {
        let keys = keys.into_iter().filter(|key| *key < self.settings.keys);
        let installed: Vec<Key> = if self.replicated() {
            keys.filter(|key| self.settled_in(*key) >= view).collect()
        } else {
            keys.filter(|key| {
                let state = &self.keys[*key as usize];
                state.view > view || (state.view == view && state.awaiting.is_none() && state.copy.is_some())
            })
            .collect()
        };
        if !installed.is_empty() {
            ctx.send(from, ShardMessage::Release { view, keys: installed });
        }
    }

    fn on_request(&mut self, ctx: &mut ServerContext<ShardKv>, from: NodeId, command: Command, view: ViewNumber) {
        let key = command.operation.key();
        let sequence = command.sequence;
        let reply = |ctx: &mut ServerContext<ShardKv>, answer| ctx.send(from, ShardMessage::Reply { sequence, answer });
        if key >= self.settings.keys {
            return reply(ctx, Answer::Done { outcome: Outcome::Fail, position: None });
        }
        if view > self.latest().number {
            reply(ctx, Answer::Retry);
            return self.ask_for_views(ctx);
        }
        let latest = self.latest().number;
        if let Some(handing) = self.handing.get_mut(&key).filter(|_| command.operation.is_update()) {
            // `drop-during-migration`: applied to a copy that was already sent, or will not be.
            if let Some((outcome, position)) = handing.apply(&command) {
                ctx.send(from, ShardMessage::Reply { sequence, answer: Answer::Done { outcome, position } });
            }
            return;
        }
        let owns = self.owner(latest, key) == self.id;
        let switch_early = self.flaw == Flaw::SwitchBeforeTransfer;
        let state = &mut self.keys[key as usize];
        let serving = state.view == latest || switch_early;
        match state.copy.as_mut().filter(|_| serving) {
            Some(copy) => {
                let Some((outcome, position)) = copy.apply(&command) else { return };
                let held = copy.position();
                if command.operation.is_update() {
                    ctx.write(ShardRecord::Applied { key, command });
                }
                let answer = Answer::Done { outcome, position };
                // Answered once every backup holds the copy up to the update, or up to the
                // state the read saw.
                let position = position.unwrap_or(held);
                self.answer_when_backed_up(ctx, Waiting { key, position, client: from, sequence, answer });
            }
            None if !owns => {
                reply(ctx, Answer::Redirect { view: self.latest().clone() });
            }
            None => reply(ctx, Answer::Retry),
        }
    }

    /// Tells the coordinator how far this server got, so that it sends the views after.
    /// Replicated, a coordinator the world removed before it handed the service on is asked
    /// no more: every server is, and any that knows newer views sends them.
    pub(super) fn ask_for_views(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let coordinator = self.latest().coordinator;
        let latest = self.latest().number;
        if self.replicated() && self.gone.contains(&coordinator) {
            for server in self.recipients() {
                ctx.send(server, ShardMessage::ViewsAck { latest });
            }
        } else if coordinator != self.id {
            ctx.send(coordinator, ShardMessage::ViewsAck { latest });
        }
    }

    fn on_tick(&mut self, ctx: &mut ServerContext<ShardKv>) {
        self.regather(ctx);
        self.replica_tick(ctx);
        self.send_pulls(ctx);
        let mut held: Vec<(NodeId, ViewNumber, Key)> = Vec::new();
        for &(key, view) in self.outgoing.keys().filter(|_| !self.replicated()) {
            let next = view + 1;
            if (next as usize) < self.views.len() {
                held.push((self.owner(next, key), next, key));
            }
        }
        let mut by: BTreeMap<(NodeId, ViewNumber), Vec<Key>> = BTreeMap::new();
        for (owner, view, key) in held {
            by.entry((owner, view)).or_default().push(key);
        }
        for ((owner, view), keys) in by {
            if owner != self.id {
                ctx.send(owner, ShardMessage::Held { view, keys });
            }
        }
        self.membership_tick(ctx);
        ctx.set_timer(self.timeout / 2, ShardTimer::Tick);
    }

    /// A leaving server leaves once no view gives it keys, it holds no copy, and the
    /// membership service it may have run has a new home.
    pub(super) fn maybe_leave(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let holds =
            self.keys.iter().any(|state| state.copy.is_some() || state.awaiting.is_some()) || !self.replicas.is_empty();
        let handed =
            self.handed_over.is_none_or(|(successor, view)| self.acked.get(&successor).is_some_and(|n| *n >= view));
        if self.leaving && !self.left && !self.latest().has(self.id) && !holds && self.outgoing.is_empty() && handed {
            self.left = true;
            ctx.leave();
        }
    }

    fn start_ticking(&mut self, ctx: &mut ServerContext<ShardKv>) {
        ctx.set_timer(self.timeout / 2, ShardTimer::Tick);
        if self.is_coordinator() {
            self.acked.clear();
        }
        if self.id >= self.servers && !self.views.iter().any(|view| view.has(self.id)) {
            self.request_join(ctx);
        }
    }
}

impl Server<ShardKv> for ShardServer {
    fn on_start(&mut self, ctx: &mut ServerContext<ShardKv>) {
        self.start_ticking(ctx);
    }

    fn on_recover(&mut self, ctx: &mut ServerContext<ShardKv>) {
        self.advance_all(ctx);
        self.send_pulls(ctx);
        self.start_ticking(ctx);
    }

    fn on_message(&mut self, ctx: &mut ServerContext<ShardKv>, from: NodeId, message: ShardMessage) {
        match message {
            ShardMessage::Request { command, view } => self.on_request(ctx, from, command, view),
            ShardMessage::Pull { view, keys } => self.on_pull(ctx, from, view, keys),
            ShardMessage::Transfer { view, shards } => self.on_transfer(ctx, from, view, shards),
            ShardMessage::Release { view, keys } => self.on_release(ctx, view, keys),
            ShardMessage::Held { view, keys } => self.on_held(ctx, from, view, keys),
            ShardMessage::Replicate { view, shards } => self.on_replicate(ctx, from, view, shards),
            ShardMessage::Replicated { view, keys } => self.on_replicated(ctx, from, view, keys),
            ShardMessage::Gather { view, keys } => self.on_gather(ctx, from, view, keys),
            ShardMessage::Copies { view, copies } => self.on_copies(ctx, from, view, copies),
            ShardMessage::Departed { server } => self.on_departed(ctx, server),
            ShardMessage::Views { views } => self.on_views(ctx, from, &views),
            ShardMessage::ViewsAck { latest } => self.on_views_ack(ctx, from, latest),
            ShardMessage::Join => self.on_join(ctx, from),
            ShardMessage::Leave => self.on_leave(ctx, from),
            ShardMessage::Reply { .. } => {}
        }
        self.maybe_leave(ctx);
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<ShardKv>, timer: ShardTimer) {
        if timer == ShardTimer::Tick {
            self.on_tick(ctx);
        }
        self.maybe_leave(ctx);
    }

    fn on_membership(&mut self, ctx: &mut ServerContext<ShardKv>, change: Membership) {
        self.on_membership_change(ctx, change);
        self.maybe_leave(ctx);
    }

    fn invariants(&self) {
        let latest = self.latest().number;
        for (number, view) in self.views.iter().enumerate() {
            assert_eq!(view.number, number as ViewNumber, "server {} holds views out of order", self.id);
        }
        for (key, state) in self.keys.iter().enumerate() {
            assert!(state.view <= latest, "server {}: key {key} is ahead of the views", self.id);
            if state.copy.is_some() && self.flaw == Flaw::None {
                let owner = self.owner(state.view, key as Key);
                assert_eq!(owner, self.id, "server {} holds key {key} it does not own in view {}", self.id, state.view);
            }
        }
    }
}
