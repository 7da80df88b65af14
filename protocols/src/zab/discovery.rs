//! Phase 1: discovery (DSN Algorithm 1, Medeiros section 3.2; ZooKeeper's
//! `Leader.getEpochToPropose` and `waitForEpochAck`, `Learner.registerWithLeader`).
//!
//! The follower sends `FollowerInfo` with its acceptedEpoch, again every half timeout until
//! `LeaderInfo` comes (the server it elected may not lead yet: ZooKeeper's learner retries
//! its connection the same way). Once a majority, the leader
//! included, has, the leader proposes an epoch one above the highest acceptedEpoch it heard,
//! accepts it itself durably and sends `LeaderInfo`. A follower accepts an epoch above its
//! acceptedEpoch and persists it, with the leader that proposed it, before it answers
//! `AckEpoch` with its currentEpoch and last zxid; it answers again, without a write, a
//! leader whose epoch it accepted already (a follower coming back to an established
//! leader). Any other epoch sends it back to LOOKING. Recording the leader makes each epoch
//! acknowledged to one leader per server, so two leaders that chose the same epoch cannot
//! both gather a majority for it. A leader that hears, before a majority acknowledged its
//! epoch, of a follower with a later currentEpoch or a longer history of the same epoch
//! gives up (ZooKeeper's "follower is ahead of the leader"): the new epoch's history must be
//! the most up-to-date of its majority.

use rand::Rng;

use super::messages::ZabMessage;
use super::server::{FollowerPhase, Following, LeaderPhase, Leading, Learner, Stage, State};
use super::{Epoch, Zab, ZabRecord, ZabServer, ZabTimer, Zxid};
use crate::node::{NodeId, ServerContext, Time};

impl ZabServer {
    /// Starts following `leader` in a new session, numbered at random so that a restarted
    /// server does not reuse a number its leader still knows.
    pub(super) fn start_following(&mut self, ctx: &mut ServerContext<Zab>, leader: NodeId) {
        let session = ctx.rng().gen::<u64>();
        let phase = FollowerPhase::Discovery;
        self.state = State::Following(Following { leader, session, phase, epoch: 0, deferred: Vec::new() });
        ctx.send(leader, ZabMessage::FollowerInfo { accepted_epoch: self.accepted_epoch, session });
        ctx.set_timer(self.silence_limit(), ZabTimer::LeaderSilent);
        ctx.set_timer(self.connect_interval(), ZabTimer::Connect);
    }

    /// How often a follower in discovery sends `FollowerInfo`.
    fn connect_interval(&self) -> Time {
        (self.timeout / 2).max(1)
    }

    pub(super) fn on_connect_timeout(&mut self, ctx: &mut ServerContext<Zab>) {
        let State::Following(following) = &self.state else { return };
        if following.phase != FollowerPhase::Discovery {
            return;
        }
        let (leader, session) = (following.leader, following.session);
        ctx.send(leader, ZabMessage::FollowerInfo { accepted_epoch: self.accepted_epoch, session });
        ctx.set_timer(self.connect_interval(), ZabTimer::Connect);
    }

    /// Starts leading: discovery, with only this server so far.
    pub(super) fn start_leading(&mut self, ctx: &mut ServerContext<Zab>) {
        self.state = State::Leading(Box::new(Leading {
            epoch: None,
            phase: LeaderPhase::Discovery,
            summary: (self.current_epoch, self.history.last_zxid()),
            learners: Default::default(),
            started: ctx.monotonic(),
            accepted_sync: None,
            current_sync: None,
            counter: 0,
            outstanding: Default::default(),
            round: 0,
            syncs: Default::default(),
        }));
        ctx.set_timer(self.tick_interval(), ZabTimer::Tick);
        self.choose_epoch(ctx);
    }

    pub(super) fn on_follower_info(
        &mut self,
        ctx: &mut ServerContext<Zab>,
        from: NodeId,
        accepted_epoch: Epoch,
        session: u64,
    ) {
        let now = ctx.monotonic();
        let State::Leading(leading) = &mut self.state else { return };
        if let Some(learner) = leading.learners.get_mut(&from).filter(|learner| learner.session == session) {
            learner.heard = now;
            return; // A repeat: the first is being answered.
        }
        let stage = Stage::Connecting { accepted_epoch };
        leading.learners.insert(from, Learner { session, stage, heard: now, round_answered: 0 });
        match leading.epoch {
            Some(epoch) => ctx.send_after_sync(from, ZabMessage::LeaderInfo { epoch, session }),
            None => self.choose_epoch(ctx),
        }
    }

    /// The follower's side of `LeaderInfo`: accept the epoch, or look again.
    pub(super) fn on_leader_info(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, epoch: Epoch, session: u64) {
        let silence = self.silence_limit();
        let State::Following(following) = &mut self.state else { return };
        if following.leader != from || following.session != session || following.phase != FollowerPhase::Discovery {
            return;
        }
        ctx.set_timer(silence, ZabTimer::LeaderSilent);
        let rejoins = epoch == self.accepted_epoch && self.accepted_leader == Some(from);
        if epoch > self.accepted_epoch {
            self.accepted_epoch = epoch;
            self.accepted_leader = Some(from);
            ctx.write(ZabRecord::AcceptedEpoch { epoch, leader: from });
        } else if !rejoins {
            return self.become_looking(ctx);
        }
        following.epoch = epoch;
        following.phase = FollowerPhase::Synchronization;
        ctx.cancel_timer(ZabTimer::Connect);
        let (current_epoch, last_zxid) = (self.current_epoch, self.history.last_zxid());
        ctx.send_after_sync(from, ZabMessage::AckEpoch { current_epoch, last_zxid, session });
    }

    pub(super) fn on_ack_epoch(
        &mut self,
        ctx: &mut ServerContext<Zab>,
        from: NodeId,
        current_epoch: Epoch,
        last_zxid: Zxid,
        session: u64,
    ) {
        let now = ctx.monotonic();
        let State::Leading(leading) = &mut self.state else { return };
        let Some(learner) = leading.learners.get_mut(&from).filter(|learner| learner.session == session) else {
            return;
        };
        if leading.phase == LeaderPhase::Discovery && (current_epoch, last_zxid) > leading.summary {
            return self.become_looking(ctx); // The follower is ahead of the leader.
        }
        learner.stage = Stage::AckedEpoch { current_epoch, last_zxid };
        learner.heard = now;
        match leading.phase {
            LeaderPhase::Discovery => self.begin_synchronization(ctx),
            LeaderPhase::Synchronization | LeaderPhase::Broadcast => self.synchronize(ctx, from),
        }
    }

    /// Once a majority (this server included) sent `FollowerInfo`: proposes the epoch.
    fn choose_epoch(&mut self, ctx: &mut ServerContext<Zab>) {
        let (majority, id, own) = (self.majority, self.id, self.accepted_epoch);
        let State::Leading(leading) = &mut self.state else { return };
        let connecting: Vec<(NodeId, u64, Epoch)> = (leading.learners.iter())
            .filter_map(|(&peer, learner)| match learner.stage {
                Stage::Connecting { accepted_epoch } => Some((peer, learner.session, accepted_epoch)),
                _ => None,
            })
            .collect();
        if leading.epoch.is_some() || connecting.len() + 1 < majority {
            return;
        }
        let epoch = connecting.iter().map(|&(_, _, accepted)| accepted).fold(own, Epoch::max) + 1;
        leading.epoch = Some(epoch);
        self.accepted_epoch = epoch;
        self.accepted_leader = Some(id);
        ctx.write(ZabRecord::AcceptedEpoch { epoch, leader: id });
        leading.accepted_sync = Some(ctx.sync());
        for (peer, session, _) in connecting {
            ctx.send_after_sync(peer, ZabMessage::LeaderInfo { epoch, session });
        }
    }
}
