//! Replication factor `r` (`[settings] replicas`): primary-backup replication of each key
//! over the first `r` servers the placement gives it (Alsberg and Day, "A Principle for
//! Resilient Sharing of Distributed Resources", ICSE 1976; the primary-backup scheme of
//! Budhiraja, Marzullo, Schneider and Toueg, "The Primary-Backup Approach", 1993).
//!
//! The key's owners in a view are `owners(key, members, r)`; the first, its primary, is the
//! owner of the hand-off protocol in `server.rs` (it alone holds the key as owner, serves it
//! and hands it on), and the others are its backups, which hold a passive copy. The primary
//! sends a backup the whole copy of a key (a `Replicate`: one key's copy is small) after each
//! update and after each view change; a backup keeps the latest copy it got, durably, and
//! acknowledges its position. The primary answers an update, or a read, only once every
//! backup of its view has acknowledged the copy at least up to it (the write quorum is all
//! `r` owners), so every acknowledged update, and every state a read returned, is on every
//! owner of the view it was served in. A view change clears what the primary knew of its
//! backups' copies: it sends them again, and the key is *settled* in the new view once every
//! backup of that view holds it. Copies held for earlier views (an old primary's frozen copy,
//! an old backup's copy) are released only once the key is settled in a later view, so at
//! every moment the owners of the latest settled view (or the hand-off chain after it) hold
//! every acknowledged update.
//!
//! When the primary of the view before is gone (the world removed it before it handed off),
//! the new primary gathers: it asks every server that is not gone for its latest copy of
//! the key (each adopts the new view first, so no old primary goes on serving it, and no
//! backup acknowledges an old primary's copy any more), waits for all of them, and takes the
//! latest, ordered by the view the copy is from and then its position. With `r` owners per
//! view, a key survives the loss of `r - 1` of them between two settled views. With `r = 1`
//! the store is the single-copy store it was: no `Replicate` is ever sent, and a primary that
//! is gone takes its keys' only copy with it.

use std::collections::BTreeMap;

use super::messages::{Answer, ShardMessage};
use super::placement::Placement;
use super::server::ShardServer;
use super::shard::Shard;
use super::view::{View, ViewNumber};
use super::{Flaw, ShardKv, ShardObservation, ShardRecord};
use crate::kv::Sequence;
use crate::node::{NodeId, ServerContext};
use crate::service::Key;

/// An answer the primary holds back until its backups have the copy up to `position`.
#[derive(Clone, Debug)]
pub struct Waiting {
    pub key: Key,
    pub position: u64,
    pub client: NodeId,
    pub sequence: Sequence,
    pub answer: Answer,
}

/// A copy with the view it is from: the order in which a gather takes the latest.
type Tagged = (ViewNumber, Shard);

fn newer(a: &Tagged, b: &Tagged) -> bool {
    (a.0, a.1.position()) > (b.0, b.1.position())
}

impl ShardServer {
    /// The owners of `key` in view `view`, its primary first.
    pub fn owners(&self, view: ViewNumber, key: Key) -> Vec<NodeId> {
        self.placements[view as usize].owners(key, self.settings.replicas as usize)
    }

    /// The backups of `key` in view `view`: its owners but the primary.
    pub fn backups(&self, view: ViewNumber, key: Key) -> Vec<NodeId> {
        let mut owners = self.owners(view, key);
        owners.remove(0);
        owners
    }

    pub(super) fn replicated(&self) -> bool {
        self.settings.replicas > 1
    }

    /// Whether every backup of the latest view holds `key` up to `position`.
    pub(super) fn backed_up(&self, key: Key, position: u64) -> bool {
        let latest = self.latest().number;
        self.backups(latest, key).iter().all(|backup| self.acks.get(&(key, *backup)).is_some_and(|&p| p >= position))
    }

    /// The key's copy this server serves in its latest view, if any.
    fn serving(&self, key: Key) -> Option<&Shard> {
        let state = &self.keys[key as usize];
        let early = self.flaw == Flaw::SwitchBeforeTransfer;
        let ready = state.awaiting.is_none() || early;
        state.copy.as_ref().filter(|_| state.view == self.latest().number && ready)
    }

    /// Whether `key` is settled in the latest view: its primary serves it and every backup
    /// holds its copy.
    pub(super) fn settled_now(&self, key: Key) -> bool {
        self.serving(key).is_some_and(|copy| self.backed_up(key, copy.position()))
    }

    /// The latest view in which this server knows `key` settled.
    pub(super) fn settled_in(&self, key: Key) -> ViewNumber {
        let known = self.settled.get(&key).copied().unwrap_or(0);
        if self.settled_now(key) {
            known.max(self.latest().number)
        } else {
            known
        }
    }

    /// A new view: what the primary knew of its backups is for the view before.
    pub(super) fn forget_backups(&mut self) {
        self.acks.clear();
        self.pushed.clear();
        self.waiting.clear();
    }

    /// Sends each backup the copies it does not have yet of the keys this server serves.
    pub(super) fn push_copies(&mut self, ctx: &mut ServerContext<ShardKv>) {
        if !self.replicated() {
            return;
        }
        let latest = self.latest().number;
        let mut by: BTreeMap<NodeId, Vec<(Key, Shard)>> = BTreeMap::new();
        for key in 0..self.settings.keys {
            let Some(copy) = self.serving(key) else { continue };
            for backup in self.backups(latest, key) {
                if self.pushed.get(&(key, backup)).is_none_or(|&p| p < copy.position()) {
                    by.entry(backup).or_default().push((key, copy.clone()));
                }
            }
        }
        for (backup, shards) in by {
            for (key, shard) in &shards {
                self.pushed.insert((*key, backup), shard.position());
            }
            self.replications += 1;
            ctx.send_after_sync(backup, ShardMessage::Replicate { view: latest, shards });
        }
    }

    /// Holds `answer` for `client` until the backups have `key` up to `position`, or sends
    /// it now if they do.
    pub(super) fn answer_when_backed_up(&mut self, ctx: &mut ServerContext<ShardKv>, waiting: Waiting) {
        if self.backed_up(waiting.key, waiting.position) {
            let Waiting { client, sequence, answer, .. } = waiting;
            ctx.send_after_sync(client, ShardMessage::Reply { sequence, answer });
        } else {
            self.waiting.push(waiting);
            self.push_copies(ctx);
        }
    }

    pub(super) fn on_replicate(
        &mut self,
        ctx: &mut ServerContext<ShardKv>,
        from: NodeId,
        view: ViewNumber,
        shards: Vec<(Key, Shard)>,
    ) {
        if view > self.latest().number {
            return self.ask_for_views(ctx);
        }
        if view < self.latest().number {
            return;
        }
        let (mut acked, mut fresh, mut bytes) = (Vec::new(), 0, 0);
        for (key, shard) in shards {
            if key >= self.settings.keys || self.owner(view, key) != from || !self.backups(view, key).contains(&self.id)
            {
                continue;
            }
            let incoming = (view, shard);
            match self.replicas.get(&key) {
                Some(held) if !newer(&incoming, held) => {}
                held => {
                    if held.is_none() {
                        fresh += 1;
                        bytes += incoming.1.size_bytes() as u64;
                    }
                    ctx.write(ShardRecord::Replica { key, view, shard: incoming.1.clone() });
                    self.replicas.insert(key, incoming);
                }
            }
            if let Some((_, held)) = self.replicas.get(&key).filter(|(tag, _)| *tag == view) {
                acked.push((key, held.position()));
            }
        }
        if fresh > 0 {
            ctx.observe(ShardObservation::Migrated { view, from, keys: fresh, bytes });
        }
        if !acked.is_empty() {
            ctx.send_after_sync(from, ShardMessage::Replicated { view, keys: acked });
        }
    }

    pub(super) fn on_replicated(
        &mut self,
        ctx: &mut ServerContext<ShardKv>,
        from: NodeId,
        view: ViewNumber,
        keys: Vec<(Key, u64)>,
    ) {
        let latest = self.latest().number;
        if view != latest {
            return;
        }
        for &(key, position) in &keys {
            let acked = self.acks.entry((key, from)).or_insert(0);
            *acked = (*acked).max(position);
        }
        let waiting = std::mem::take(&mut self.waiting);
        for entry in waiting {
            if self.backed_up(entry.key, entry.position) {
                ctx.send(entry.client, ShardMessage::Reply { sequence: entry.sequence, answer: entry.answer });
            } else {
                self.waiting.push(entry);
            }
        }
        let mut releases: BTreeMap<NodeId, Vec<Key>> = BTreeMap::new();
        for (key, _) in keys {
            if !self.settled_now(key) || self.settled.get(&key).is_some_and(|&s| s >= latest) {
                continue;
            }
            self.settle(ctx, key, latest);
            if latest > 0 {
                for holder in self.owners(latest - 1, key) {
                    if holder != self.id {
                        releases.entry(holder).or_default().push(key);
                    }
                }
            }
        }
        for (holder, keys) in releases {
            ctx.send_after_sync(holder, ShardMessage::Release { view: latest, keys });
        }
    }

    /// `key` is settled in `view`: copies of it from views before may go, here too.
    fn settle(&mut self, ctx: &mut ServerContext<ShardKv>, key: Key, view: ViewNumber) {
        self.settled.insert(key, view);
        self.outgoing.retain(|(k, w), _| *k != key || *w >= view);
        if self.replicas.get(&key).is_some_and(|(tag, _)| *tag < view) {
            self.replicas.remove(&key);
        }
        ctx.write(ShardRecord::Released { key, view });
    }

    /// A `Release` of `keys` for `view` when replicated: the key settled in `view`, so this
    /// server's older copies go, and a pull it still waits on for an earlier view is
    /// abandoned (it never served the key there, and the key has moved on).
    pub(super) fn on_release_replicated(&mut self, ctx: &mut ServerContext<ShardKv>, view: ViewNumber, keys: Vec<Key>) {
        let mut abandoned = false;
        let universe = self.settings.keys;
        for key in keys.into_iter().filter(|key| *key < universe) {
            if self.settled.get(&key).is_none_or(|&s| s < view) {
                self.settle(ctx, key, view);
            }
            self.handing.remove(&key);
            let state = &mut self.keys[key as usize];
            if state.awaiting.is_some() && state.view < view {
                state.awaiting = None;
                state.copy = None;
                self.gathers.remove(&key);
                let state = state.clone();
                ctx.write(ShardRecord::Key { key, state });
                abandoned = true;
            }
        }
        if abandoned {
            self.advance_all(ctx);
            self.send_pulls(ctx);
        }
    }

    /// The latest copy of `key` this server holds: served, frozen or a backup's.
    fn latest_copy(&self, key: Key) -> Option<Tagged> {
        let state = &self.keys[key as usize];
        let live = state.copy.iter().map(|copy| (state.view, copy.clone()));
        let frozen = self.outgoing.range((key, 0)..=(key, ViewNumber::MAX)).map(|(&(_, w), s)| (w, s.clone()));
        let replica = self.replicas.get(&key).cloned();
        live.chain(frozen).chain(replica).reduce(|best, copy| if newer(&copy, &best) { copy } else { best })
    }

    /// Starts gathering `key`'s copies for its view (its primary before is gone).
    pub(super) fn start_gather(&mut self, key: Key) {
        self.gathers.insert(key, BTreeMap::new());
    }

    /// Asks every server that has not answered for its copies of the keys being gathered.
    pub(super) fn send_gathers(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let recipients = self.recipients();
        let mut asks: BTreeMap<(NodeId, ViewNumber), Vec<Key>> = BTreeMap::new();
        for (&key, answers) in &self.gathers {
            let view = self.keys[key as usize].view;
            for &server in recipients.iter().filter(|server| !answers.contains_key(server)) {
                asks.entry((server, view)).or_default().push(key);
            }
        }
        for ((server, view), keys) in asks {
            ctx.send(server, ShardMessage::Gather { view: self.views[view as usize].clone(), keys });
        }
    }

    pub(super) fn on_gather(&mut self, ctx: &mut ServerContext<ShardKv>, from: NodeId, view: View, keys: Vec<Key>) {
        if view.number > self.latest().number + 1 {
            return self.ask_for_views(ctx);
        }
        if view.number == self.latest().number + 1 {
            self.learn(ctx, std::slice::from_ref(&view));
        }
        let copies = keys.into_iter().filter(|key| *key < self.settings.keys).map(|key| (key, self.latest_copy(key)));
        ctx.send_after_sync(from, ShardMessage::Copies { view: view.number, copies: copies.collect() });
    }

    pub(super) fn on_copies(
        &mut self,
        ctx: &mut ServerContext<ShardKv>,
        from: NodeId,
        view: ViewNumber,
        copies: Vec<(Key, Option<Tagged>)>,
    ) {
        for (key, copy) in copies {
            if self.keys.get(key as usize).is_none_or(|state| state.view != view) {
                continue;
            }
            if let Some(answers) = self.gathers.get_mut(&key) {
                answers.insert(from, copy);
            }
        }
        self.finish_gathers(ctx);
    }

    /// Installs the latest copy of every key whose gather every server not gone answered.
    pub(super) fn finish_gathers(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let recipients = self.recipients();
        let done: Vec<Key> = self
            .gathers
            .iter()
            .filter(|(_, answers)| recipients.iter().all(|server| answers.contains_key(server)))
            .map(|(&key, _)| key)
            .collect();
        if done.is_empty() {
            return;
        }
        for key in done {
            let answers = self.gathers.remove(&key).unwrap_or_default();
            let own = self.latest_copy(key).map(|copy| (self.id, copy));
            let best = answers
                .into_iter()
                .filter_map(|(server, copy)| copy.map(|copy| (server, copy)))
                .chain(own)
                .reduce(|best, next| if newer(&next.1, &best.1) { next } else { best });
            let view = self.keys[key as usize].view;
            let (from, shard) = best.map_or((self.id, Shard::new(key)), |(server, (_, shard))| (server, shard));
            let bytes = shard.size_bytes() as u64;
            let state = &mut self.keys[key as usize];
            state.copy = Some(shard);
            state.awaiting = None;
            let state = state.clone();
            ctx.write(ShardRecord::Key { key, state });
            self.replicas.remove(&key);
            ctx.observe(ShardObservation::Migrated { view, from, keys: 1, bytes });
        }
        self.advance_all(ctx);
        self.send_pulls(ctx);
    }

    /// A replicated server's tick: copies held for earlier views ask the latest primary
    /// whether the key settled since, copies the backups have not acknowledged will be sent
    /// again, and gathers that no longer wait for a server gone finish.
    pub(super) fn replica_tick(&mut self, ctx: &mut ServerContext<ShardKv>) {
        if !self.replicated() {
            return;
        }
        let latest = self.latest().number;
        let mut held: BTreeMap<(NodeId, ViewNumber), Vec<Key>> = BTreeMap::new();
        for &(key, view) in self.outgoing.keys() {
            held.entry((self.owner(latest, key), view + 1)).or_default().push(key);
        }
        for (&key, &(tag, _)) in &self.replicas {
            if !self.owners(latest, key).contains(&self.id) {
                held.entry((self.owner(latest, key), tag + 1)).or_default().push(key);
            }
        }
        for ((owner, view), mut keys) in held {
            keys.dedup();
            if owner != self.id {
                ctx.send(owner, ShardMessage::Held { view, keys });
            }
        }
        self.pushed = self.acks.clone();
        self.finish_gathers(ctx);
    }
}
