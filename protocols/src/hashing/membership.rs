//! The membership service: a role of one server at a time, the view's `coordinator`, that
//! turns joins and leaves into numbered views and sees that every server gets them.
//!
//! The world announces membership changes to the running servers only, so the servers that
//! change drive the service too: a spare that started asks to join (it sends `Join` to the
//! initial servers, and any server that is not the coordinator answers with its views, so
//! the spare finds it), and a server told to leave asks for a view without it until it has
//! one. The coordinator also acts on the world's announcements directly. It publishes one
//! change per view, durably, and sends each server the views it has not acknowledged, again
//! every tick until it has: a server that was down or cut off catches up. A server that
//! left for good while still a member (removed before it could hand off) is taken out of the
//! next view. A coordinator told to leave publishes the view without itself that names its
//! successor (the lowest remaining member), and leaves only once the successor holds that
//! view, so the service always has a home. (A coordinator removed before any other server
//! holds that view leaves the service without one: a loss this store does not survive,
//! whatever its replication factor, as with one copy per key it does not survive losing a
//! key's only copy.) Replicated, a server tells a coordinator that was down when the world
//! removed a member (`Departed`), and servers whose coordinator the world removed ask every
//! server for the views after theirs.

use super::messages::ShardMessage;
use super::server::ShardServer;
use super::view::View;
use super::{Change, ShardKv, ShardObservation, ShardRecord};
use crate::node::{Membership, NodeId, ServerContext};

impl ShardServer {
    /// Whether this server runs the membership service now.
    pub fn is_coordinator(&self) -> bool {
        self.latest().coordinator == self.id && !self.left
    }

    /// Every server that may be alive and needs views: members of any view, not gone.
    pub(super) fn recipients(&self) -> Vec<NodeId> {
        let mut recipients: Vec<NodeId> = self.views.iter().flat_map(|view| view.members.iter().copied()).collect();
        recipients.sort_unstable();
        recipients.dedup();
        recipients.retain(|node| *node != self.id && !self.gone.contains(node));
        recipients
    }

    /// Publishes `view`, the next one, with the change that made it.
    fn publish(&mut self, ctx: &mut ServerContext<ShardKv>, view: View, change: Change) {
        let previous = self.latest().number;
        if !self.adopt(ctx, &view) {
            return;
        }
        let moved =
            (0..self.settings.keys).filter(|&key| self.owner(previous, key) != self.owner(view.number, key)).count();
        let imbalance = self.imbalance(view.number);
        ctx.observe(ShardObservation::Published {
            view: view.number,
            fingerprint: view.fingerprint(),
            change,
            moved: moved as u64,
            imbalance,
        });
        if view.coordinator != self.id {
            self.handed_over = Some((view.coordinator, view.number));
        }
        self.advance_all(ctx);
        self.send_pulls(ctx);
        self.send_views(ctx);
    }

    /// Max over mean keys per member of `view`.
    fn imbalance(&self, view: u64) -> f64 {
        let members = &self.views[view as usize].members;
        let mut loads = vec![0u64; members.len()];
        for key in 0..self.settings.keys {
            let owner = self.owner(view, key);
            if let Some(slot) = members.iter().position(|member| *member == owner) {
                loads[slot] += 1;
            }
        }
        let mean = self.settings.keys as f64 / members.len() as f64;
        loads.into_iter().max().unwrap_or(0) as f64 / mean
    }

    /// Sends every recipient the views it has not acknowledged (persisted first).
    fn send_views(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let latest = self.latest().number;
        for recipient in self.recipients() {
            let acked = self.acked.get(&recipient).copied().unwrap_or(0);
            if acked < latest {
                let views = self.views[acked as usize + 1..].to_vec();
                ctx.send_after_sync(recipient, ShardMessage::Views { views });
            }
        }
    }

    /// The membership service's share of a tick, and the requests of joining and leaving servers.
    pub(super) fn membership_tick(&mut self, ctx: &mut ServerContext<ShardKv>) {
        if self.is_coordinator() || self.handed_over.is_some() {
            self.send_views(ctx);
        }
        if self.replicated() && self.gone.contains(&self.latest().coordinator) {
            self.ask_for_views(ctx);
        }
        let coordinator = self.latest().coordinator;
        if self.leaving && self.latest().has(self.id) && coordinator != self.id {
            ctx.send(coordinator, ShardMessage::Leave);
        }
        if self.id >= self.servers && !self.views.iter().any(|view| view.has(self.id)) {
            self.request_join(ctx);
        }
        let gone_members: Vec<NodeId> =
            self.latest().members.iter().copied().filter(|m| self.gone.contains(m)).collect();
        for member in gone_members {
            self.on_gone_member(ctx, member);
            // A coordinator that was down when the world removed the member never heard of
            // it: tell it (with one copy per key the member took its keys with it anyway).
            if self.settings.replicas > 1 && coordinator != self.id {
                ctx.send(coordinator, ShardMessage::Departed { server: member });
            }
        }
    }

    /// A spare asks the initial servers (and the coordinator it knows) to let it join.
    pub(super) fn request_join(&mut self, ctx: &mut ServerContext<ShardKv>) {
        let coordinator = self.latest().coordinator;
        for server in (0..self.servers).chain(std::iter::once(coordinator)) {
            if server != self.id {
                ctx.send(server, ShardMessage::Join);
            }
        }
    }

    pub(super) fn on_join(&mut self, ctx: &mut ServerContext<ShardKv>, server: NodeId) {
        if !self.is_coordinator() {
            let views = self.views[1..].to_vec();
            return ctx.send(server, ShardMessage::Views { views });
        }
        let known = self.views.iter().any(|view| view.has(server));
        if !known && !self.gone.contains(&server) && server >= self.servers {
            let view = self.latest().joined(server);
            self.publish(ctx, view, Change::Join(server));
        }
    }

    pub(super) fn on_leave(&mut self, ctx: &mut ServerContext<ShardKv>, server: NodeId) {
        if !self.is_coordinator() {
            let views = self.views[1..].to_vec();
            return ctx.send(server, ShardMessage::Views { views });
        }
        if self.latest().has(server) && self.latest().members.len() > 1 {
            let view = self.latest().without(server);
            self.publish(ctx, view, Change::Leave(server));
        }
    }

    /// A member the world removed before it handed off: the next view goes without it.
    fn on_gone_member(&mut self, ctx: &mut ServerContext<ShardKv>, server: NodeId) {
        if self.is_coordinator() && self.latest().has(server) && self.latest().members.len() > 1 {
            let view = self.latest().without(server);
            self.publish(ctx, view, Change::Gone(server));
        }
    }

    /// Another server heard the world remove `server`, which this one missed.
    pub(super) fn on_departed(&mut self, ctx: &mut ServerContext<ShardKv>, server: NodeId) {
        self.on_membership_change(ctx, Membership::Left(server));
    }

    pub(super) fn on_views(&mut self, ctx: &mut ServerContext<ShardKv>, from: NodeId, views: &[View]) {
        self.learn(ctx, views);
        ctx.send_after_sync(from, ShardMessage::ViewsAck { latest: self.latest().number });
    }

    pub(super) fn on_views_ack(&mut self, ctx: &mut ServerContext<ShardKv>, from: NodeId, latest: u64) {
        let acked = self.acked.entry(from).or_insert(0);
        *acked = (*acked).max(latest);
        let behind = latest < self.latest().number;
        let orphaned = behind && self.replicated() && self.gone.contains(&self.views[latest as usize].coordinator);
        if behind && (self.is_coordinator() || self.handed_over.is_some() || orphaned) {
            let views = self.views[latest as usize + 1..].to_vec();
            ctx.send_after_sync(from, ShardMessage::Views { views });
        }
    }

    pub(super) fn on_membership_change(&mut self, ctx: &mut ServerContext<ShardKv>, change: Membership) {
        match change {
            Membership::Joined(server) => {
                if self.is_coordinator() {
                    self.on_join(ctx, server);
                }
            }
            Membership::Leaving(server) if server == self.id => {
                self.leaving = true;
                ctx.write(ShardRecord::Leaving);
                if self.is_coordinator() {
                    self.on_leave(ctx, server);
                } else {
                    ctx.send(self.latest().coordinator, ShardMessage::Leave);
                }
            }
            Membership::Leaving(server) => {
                if self.is_coordinator() {
                    self.on_leave(ctx, server);
                }
            }
            Membership::Left(server) => {
                if self.gone.insert(server) {
                    ctx.write(ShardRecord::Gone(server));
                }
                self.on_gone_member(ctx, server);
                self.regather(ctx);
                self.finish_gathers(ctx);
            }
        }
    }
}
