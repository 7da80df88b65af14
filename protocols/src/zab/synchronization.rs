//! Phase 2: synchronization (DSN Algorithm 2, Medeiros section 3.3; ZooKeeper's
//! `LearnerHandler.syncFollower`, `Leader.waitForNewLeaderAck` and `Learner.syncWithLeader`).
//!
//! With a majority's `AckEpoch` (its own once its acceptedEpoch is durable), the leader makes
//! the epoch its currentEpoch, durably, and brings every follower that acknowledged the epoch
//! to its history, deciding from the follower's last zxid:
//! - the leader holds it: `Diff` with what follows it;
//! - it does not: the follower has transactions the leader never had, which were never
//!   committed (the leader's history is the most up-to-date of a majority): `Trunc` back to
//!   the last zxid below it, then `Diff`;
//! - either way, when more than `diff_limit` transactions would follow: `Snap`, the whole
//!   history.
//!
//! then `NewLeader`. From then on the follower gets every proposal and commit too. The
//! follower applies what it is sent, writes it to its log, then writes its currentEpoch, and
//! acknowledges once all of it is durable (`send_after_sync`): a crash that tears the
//! unsynced tail of its log keeps a prefix, so a durable currentEpoch always comes with the
//! history before it. With a majority's `AckNewLeader` (its own once its currentEpoch is
//! durable) the leader establishes the epoch: its whole history is committed, and
//! `UpToDate` tells each follower to deliver it and serve. A follower that acknowledges
//! later gets `UpToDate` at once, and its acknowledgement counts for every proposal its
//! synchronization carried.

use super::messages::ZabMessage;
use super::server::{FollowerPhase, LeaderPhase, Stage, State};
use super::{Epoch, Flaw, SyncMode, Txn, Zab, ZabObservation, ZabRecord, ZabServer, ZabTimer, Zxid};
use crate::node::{NodeId, ServerContext};

impl ZabServer {
    /// Once a majority acknowledged the epoch: persists it as currentEpoch and synchronizes
    /// every follower that acknowledged it.
    pub(super) fn begin_synchronization(&mut self, ctx: &mut ServerContext<Zab>) {
        let (majority, synced_through) = (self.majority, self.synced_through);
        let State::Leading(leading) = &mut self.state else { return };
        let own = leading.accepted_sync.is_some_and(|sync| sync <= synced_through);
        let acked: Vec<NodeId> = (leading.learners.iter())
            .filter(|(_, learner)| matches!(learner.stage, Stage::AckedEpoch { .. }))
            .map(|(&peer, _)| peer)
            .collect();
        if leading.phase != LeaderPhase::Discovery || !own || acked.len() + 1 < majority {
            return;
        }
        let epoch = leading.epoch.expect("an epoch acknowledged was chosen");
        leading.phase = LeaderPhase::Synchronization;
        self.current_epoch = epoch;
        ctx.write(ZabRecord::CurrentEpoch(epoch));
        leading.current_sync = Some(ctx.sync());
        for peer in acked {
            self.synchronize(ctx, peer);
        }
        self.try_establish(ctx);
    }

    /// Sends a follower that acknowledged the epoch the leader's history and `NewLeader`.
    pub(super) fn synchronize(&mut self, ctx: &mut ServerContext<Zab>, peer: NodeId) {
        let State::Leading(leading) = &self.state else { return };
        let Some(learner) = leading.learners.get(&peer) else { return };
        let Stage::AckedEpoch { last_zxid, .. } = learner.stage else { return };
        let (session, epoch) = (learner.session, leading.epoch.expect("synchronizing in a chosen epoch"));
        let (how, messages) = self.sync_messages(last_zxid, session);
        for message in messages {
            ctx.send(peer, message);
        }
        ctx.send(peer, ZabMessage::NewLeader { epoch, session });
        ctx.observe(ZabObservation::Synchronized { follower: peer, how });
        let through = self.history.len();
        let State::Leading(leading) = &mut self.state else { return };
        if let Some(learner) = leading.learners.get_mut(&peer) {
            learner.stage = Stage::Syncing { through };
        }
    }

    /// `Diff`, `Trunc` and `Diff`, or `Snap`, for a follower whose last zxid is `last`.
    fn sync_messages(&self, last: Zxid, session: u64) -> (SyncMode, Vec<ZabMessage>) {
        let history = &self.history;
        let (common, behind) = match history.position(last) {
            Some(position) => (position, true),
            None => (history.last_below(last), false),
        };
        if history.len() - common > self.diff_limit {
            return (SyncMode::Snap, vec![ZabMessage::Snap { history: history.txns().to_vec(), session }]);
        }
        let diff = ZabMessage::Diff { txns: history.after(common).to_vec(), session };
        if behind || self.flaw == Flaw::DiffInsteadOfTrunc {
            return (SyncMode::Diff, vec![diff]);
        }
        (SyncMode::Trunc, vec![ZabMessage::Trunc { after: history.zxid_at(common), session }, diff])
    }

    pub(super) fn on_ack_new_leader(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, epoch: Epoch, session: u64) {
        let now = ctx.monotonic();
        let committed = self.history.zxid_at(self.committed);
        let State::Leading(leading) = &mut self.state else { return };
        let Some(learner) = leading.learners.get_mut(&from).filter(|learner| learner.session == session) else {
            return;
        };
        let Stage::Syncing { through } = learner.stage else { return };
        if leading.epoch != Some(epoch) {
            return;
        }
        learner.stage = Stage::Synced;
        learner.heard = now;
        match leading.phase {
            LeaderPhase::Broadcast => {
                let carried = leading.outstanding.iter_mut().take(through.saturating_sub(self.committed));
                for proposal in carried {
                    proposal.acks.insert(from);
                }
                ctx.send(from, ZabMessage::UpToDate { committed, session });
                self.try_commit(ctx);
            }
            _ => self.try_establish(ctx),
        }
    }

    /// Once a majority (this server included) acknowledged `NewLeader`: the epoch is
    /// established and the whole history committed.
    pub(super) fn try_establish(&mut self, ctx: &mut ServerContext<Zab>) {
        let (majority, synced_through) = (self.majority, self.synced_through);
        let State::Leading(leading) = &mut self.state else { return };
        let own = leading.current_sync.is_some_and(|sync| sync <= synced_through);
        let synced: Vec<(NodeId, u64)> = (leading.learners.iter())
            .filter(|(_, learner)| learner.stage == Stage::Synced)
            .map(|(&peer, learner)| (peer, learner.session))
            .collect();
        if leading.phase != LeaderPhase::Synchronization || !own || synced.len() + 1 < majority {
            return;
        }
        let epoch = leading.epoch.expect("an established epoch was chosen");
        leading.phase = LeaderPhase::Broadcast;
        self.committed = self.history.len();
        let last = self.history.last_zxid();
        ctx.observe(ZabObservation::Established { epoch, last });
        for (peer, session) in synced {
            ctx.send(peer, ZabMessage::UpToDate { committed: last, session });
        }
        self.deliver_committed(ctx);
    }

    /// Whether `from`, in `session`, is the leader this server is being synchronized by.
    fn is_synchronizing_with(&self, from: NodeId, session: u64) -> bool {
        matches!(&self.state, State::Following(following)
            if following.leader == from && following.session == session
                && following.phase == FollowerPhase::Synchronization)
    }

    /// Writes a record of the synchronization (held back until `NewLeader` in
    /// `epoch-before-log`).
    fn write_synced(&mut self, ctx: &mut ServerContext<Zab>, record: ZabRecord) {
        match &mut self.state {
            State::Following(following) if self.flaw == Flaw::EpochBeforeLog => following.deferred.push(record),
            _ => ctx.write(record),
        }
    }

    pub(super) fn on_diff(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, txns: Vec<Txn>, session: u64) {
        if !self.is_synchronizing_with(from, session) {
            return;
        }
        ctx.set_timer(self.silence_limit(), ZabTimer::LeaderSilent);
        for txn in txns {
            self.history.append(txn.clone());
            self.write_synced(ctx, ZabRecord::Txn(txn));
        }
    }

    pub(super) fn on_trunc(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, after: Zxid, session: u64) {
        if !self.is_synchronizing_with(from, session) {
            return;
        }
        ctx.set_timer(self.silence_limit(), ZabTimer::LeaderSilent);
        self.history.truncate_after(after);
        self.committed = self.committed.min(self.history.len());
        self.rewind(self.history.len());
        self.write_synced(ctx, ZabRecord::Truncate { after });
    }

    pub(super) fn on_snap(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, history: Vec<Txn>, session: u64) {
        if !self.is_synchronizing_with(from, session) {
            return;
        }
        ctx.set_timer(self.silence_limit(), ZabTimer::LeaderSilent);
        self.rewind(0);
        self.committed = 0;
        self.history.replace(history.clone());
        if self.flaw != Flaw::SnapInMemory {
            self.write_synced(ctx, ZabRecord::Snapshot(history));
        }
    }

    pub(super) fn on_new_leader(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, epoch: Epoch, session: u64) {
        if !self.is_synchronizing_with(from, session) {
            return;
        }
        let silence = self.silence_limit();
        let State::Following(following) = &mut self.state else { return };
        if following.epoch != epoch {
            return;
        }
        ctx.set_timer(silence, ZabTimer::LeaderSilent);
        let deferred = std::mem::take(&mut following.deferred);
        self.current_epoch = epoch;
        ctx.write(ZabRecord::CurrentEpoch(epoch));
        let ack = ZabMessage::AckNewLeader { epoch, session };
        match self.flaw {
            Flaw::NewleaderAckBeforeSync => {
                ctx.sync();
                ctx.send(from, ack);
            }
            Flaw::EpochBeforeLog => {
                ctx.sync();
                for record in deferred {
                    ctx.write(record);
                }
                ctx.send_after_sync(from, ack);
            }
            _ => ctx.send_after_sync(from, ack),
        }
    }

    pub(super) fn on_up_to_date(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, committed: Zxid, session: u64) {
        if !self.is_synchronizing_with(from, session) {
            return;
        }
        ctx.set_timer(self.silence_limit(), ZabTimer::LeaderSilent);
        if let State::Following(following) = &mut self.state {
            following.phase = FollowerPhase::Broadcast;
        }
        if let Some(position) = self.history.position(committed) {
            self.committed = self.committed.max(position);
        }
        self.deliver_committed(ctx);
    }
}
