//! Phase 3: broadcast (DSN Algorithm 3, Medeiros section 3.4; ZooKeeper's `Leader.propose`,
//! `processAck` and `tryToCommit`, `Follower.processPacket`), and the pings that tell leader
//! and followers the other side is alive.
//!
//! The leader gives a write the next zxid of its epoch, appends it to its history, logs it
//! and starts a sync, and sends `Proposal` to every follower it has synchronized (or is
//! synchronizing: those get everything after their `NewLeader`). A follower takes proposals
//! only from its leader and of its leader's epoch, logs each and acknowledges it once it is
//! durable (`send_after_sync`). A proposal is committed once a majority holds it durably (the
//! leader counts itself when its own sync is done), and only after every earlier one:
//! proposals commit in zxid order, and `Commit` tells the followers. Each delivers what is
//! committed, in order.
//!
//! The leader sends `Ping` every `timeout / 2` to every follower it knows; a follower answers
//! and takes any message of its leader as a sign of life. A leader gives up (back to
//! LOOKING) if it has not heard from a majority of synchronized followers within three
//! timeouts, or has not established its epoch within six (ZooKeeper's syncLimit and
//! initLimit); a follower whose leader was silent for three timeouts looks for another.

use super::messages::ZabMessage;
use super::server::{FollowerPhase, LeaderPhase, Outstanding, Stage, State};
use super::{Epoch, Flaw, Txn, Zab, ZabObservation, ZabRecord, ZabServer, ZabTimer, Zxid};
use crate::kv::Command;
use crate::node::{NodeId, ServerContext, Time};

impl ZabServer {
    /// How often the leader pings: every half timeout, six times within the silence limit.
    pub(super) fn tick_interval(&self) -> Time {
        (self.timeout / 2).max(1)
    }

    /// The followers that get proposals, commits and pings: every one it synchronized or is
    /// synchronizing.
    pub(super) fn forwarding(&self) -> Vec<NodeId> {
        let State::Leading(leading) = &self.state else { return Vec::new() };
        (leading.learners.iter())
            .filter(|(_, learner)| matches!(learner.stage, Stage::Syncing { .. } | Stage::Synced))
            .map(|(&peer, _)| peer)
            .collect()
    }

    /// Proposes `command` with the next zxid of the epoch.
    pub(super) fn propose(&mut self, ctx: &mut ServerContext<Zab>, command: Command) {
        let forwarding = self.forwarding();
        let State::Leading(leading) = &mut self.state else { return };
        let epoch = leading.epoch.expect("proposing in an established epoch");
        leading.counter += 1;
        let txn = Txn { zxid: Zxid::new(epoch, leading.counter), command };
        self.history.append(txn.clone());
        ctx.write(ZabRecord::Txn(txn.clone()));
        let sync = ctx.sync();
        leading.outstanding.push_back(Outstanding { zxid: txn.zxid, acks: Default::default(), sync });
        ctx.observe(ZabObservation::Proposed { txn: txn.clone() });
        for peer in forwarding {
            ctx.send(peer, ZabMessage::Proposal { txn: txn.clone() });
        }
    }

    pub(super) fn on_ack(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, zxid: Zxid) {
        let now = ctx.monotonic();
        let State::Leading(leading) = &mut self.state else { return };
        let Some(learner) = leading.learners.get_mut(&from).filter(|learner| learner.stage == Stage::Synced) else {
            return;
        };
        learner.heard = now;
        if let Some(proposal) = leading.outstanding.iter_mut().find(|proposal| proposal.zxid == zxid) {
            proposal.acks.insert(from);
        }
        self.try_commit(ctx);
    }

    /// Commits the proposals a majority holds durably, in zxid order.
    pub(super) fn try_commit(&mut self, ctx: &mut ServerContext<Zab>) {
        let forwarding = self.forwarding();
        let (majority, synced_through) = (self.majority, self.synced_through);
        let State::Leading(leading) = &mut self.state else { return };
        if leading.phase != LeaderPhase::Broadcast {
            return;
        }
        while let Some(proposal) = leading.outstanding.front() {
            let own = usize::from(proposal.sync <= synced_through);
            if proposal.acks.len() + own < majority {
                break;
            }
            let zxid = proposal.zxid;
            leading.outstanding.pop_front();
            self.committed += 1;
            ctx.observe(ZabObservation::Committed { zxid });
            for &peer in &forwarding {
                ctx.send(peer, ZabMessage::Commit { zxid });
            }
        }
        self.deliver_committed(ctx);
        self.serve_syncs(ctx);
    }

    /// A sync of this server finished: the leader may count itself now.
    pub(super) fn on_leader_synced(&mut self, ctx: &mut ServerContext<Zab>) {
        let State::Leading(leading) = &self.state else { return };
        match leading.phase {
            LeaderPhase::Discovery => self.begin_synchronization(ctx),
            LeaderPhase::Synchronization => self.try_establish(ctx),
            LeaderPhase::Broadcast => self.try_commit(ctx),
        }
    }

    /// Whether a broadcast message from `from` is one this follower takes: from its leader,
    /// of its leader's epoch, after `NewLeader`; in `accept-old-epoch`, from anyone.
    fn takes_broadcast(&self, from: NodeId, epoch: Epoch) -> bool {
        let State::Following(following) = &self.state else { return false };
        let synchronizing = following.phase != FollowerPhase::Discovery;
        let from_leader = following.leader == from && following.epoch == epoch;
        synchronizing && (from_leader || self.flaw == Flaw::AcceptOldEpoch)
    }

    pub(super) fn on_proposal(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, txn: Txn) {
        if !self.takes_broadcast(from, txn.zxid.epoch) {
            return;
        }
        self.heard_from(ctx, from);
        let zxid = txn.zxid;
        self.history.append(txn.clone());
        ctx.write(ZabRecord::Txn(txn));
        ctx.send_after_sync(from, ZabMessage::Ack { zxid });
    }

    pub(super) fn on_commit(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, zxid: Zxid) {
        if !self.takes_broadcast(from, zxid.epoch) {
            return;
        }
        self.heard_from(ctx, from);
        if let Some(position) = self.history.position(zxid) {
            self.committed = self.committed.max(position);
        }
        self.deliver_committed(ctx);
    }

    pub(super) fn on_ping(
        &mut self,
        ctx: &mut ServerContext<Zab>,
        from: NodeId,
        epoch: Epoch,
        round: u64,
        reply: bool,
    ) {
        let (now, silence) = (ctx.monotonic(), self.silence_limit());
        match &mut self.state {
            State::Following(following) if following.leader == from && !reply => {
                ctx.set_timer(silence, ZabTimer::LeaderSilent);
                ctx.send(from, ZabMessage::Ping { epoch, round, reply: true });
            }
            State::Leading(leading) if reply => {
                if let Some(learner) = leading.learners.get_mut(&from) {
                    learner.heard = now;
                    learner.round_answered = learner.round_answered.max(round);
                }
                self.serve_syncs(ctx);
            }
            _ => {}
        }
    }

    /// The leader's tick: give up if it must, else ping.
    pub(super) fn on_tick(&mut self, ctx: &mut ServerContext<Zab>) {
        let (now, limit, majority) = (ctx.monotonic(), self.silence_limit(), self.majority);
        let State::Leading(leading) = &mut self.state else { return };
        let alive = (leading.learners.values())
            .filter(|learner| learner.stage == Stage::Synced && now.saturating_sub(learner.heard) <= limit)
            .count();
        let gives_up = match leading.phase {
            LeaderPhase::Broadcast => alive + 1 < majority,
            _ => now.saturating_sub(leading.started) > 2 * limit,
        };
        if gives_up {
            return self.become_looking(ctx);
        }
        leading.round += 1;
        let (epoch, round) = (leading.epoch.unwrap_or(0), leading.round);
        let pinged: Vec<NodeId> = leading.learners.keys().copied().collect();
        for peer in pinged {
            ctx.send(peer, ZabMessage::Ping { epoch, round, reply: false });
        }
        ctx.set_timer(self.tick_interval(), ZabTimer::Tick);
    }

    /// The follower's leader-silence timeout.
    pub(super) fn on_leader_silent(&mut self, ctx: &mut ServerContext<Zab>) {
        if matches!(self.state, State::Following(_)) {
            self.become_looking(ctx);
        }
    }

    /// A message from the leader this server follows: it is alive.
    fn heard_from(&self, ctx: &mut ServerContext<Zab>, from: NodeId) {
        if self.leader() == Some(from) {
            ctx.set_timer(self.silence_limit(), ZabTimer::LeaderSilent);
        }
    }
}
