//! Phase 0: Fast Leader Election (Medeiros section 3.1 and Algorithm 1; ZooKeeper's
//! `FastLeaderElection.lookForLeader`).
//!
//! A LOOKING server starts a round (its logicalclock plus one), votes for itself with its
//! currentEpoch and last zxid, and sends its vote to every server. A notification of a later
//! round moves it to that round, with the better of that vote and its own; one of its round
//! with a better vote (later epoch, then later zxid, then higher id) replaces its vote; either
//! way it tells everyone. Once a majority of its round votes as it does, it waits a fifth of a
//! timeout for a better vote (ZooKeeper's finalizeWait) and then decides: it leads if the vote
//! is its own, and follows the vote's server otherwise. A notification of an earlier round is
//! answered with this server's, so that the sender catches up.
//!
//! Servers that already decided answer a LOOKING server with their decision (the vote and
//! round that made them FOLLOWING or LEADING). A LOOKING server joins a leader when a
//! majority of those answers name it and the leader itself says it leads (ZooKeeper's
//! `outofelection` and `checkLeader`), so a restarted server finds an established leader
//! without a new election. The notifications are sent again every timeout while a server
//! looks, since any of them may be lost. A follower whose leader looks again, in a round
//! after the one that elected it, looks too.

use super::messages::{Notification, PeerState, Vote, ZabMessage};
use super::server::{Looking, State};
use super::{Zab, ZabObservation, ZabServer, ZabTimer};
use crate::node::{NodeId, ServerContext};

impl ZabServer {
    /// This server's own vote: itself, with its last zxid and currentEpoch.
    pub(super) fn own_vote(&self) -> Vote {
        Vote { leader: self.id, zxid: self.history.last_zxid(), epoch: self.current_epoch }
    }

    /// Becomes LOOKING in a new round and tells everyone its vote.
    pub(super) fn start_election(&mut self, ctx: &mut ServerContext<Zab>) {
        self.round += 1;
        let vote = self.own_vote();
        let looking = Looking {
            vote,
            received: [(self.id, vote)].into_iter().collect(),
            out_of_election: Default::default(),
            finalizing: false,
        };
        self.state = State::Looking(looking);
        self.decided = None;
        ctx.cancel_timer(ZabTimer::Finalize);
        ctx.set_timer(self.timeout, ZabTimer::Election);
        self.notify_all(ctx);
        self.check_agreement(ctx);
    }

    /// What this server tells others: its vote while it looks, its decision after.
    pub(super) fn notification(&self) -> Notification {
        match (&self.state, self.decided) {
            (State::Looking(looking), _) => {
                Notification { vote: looking.vote, round: self.round, state: PeerState::Looking }
            }
            (_, Some((vote, round))) => Notification { vote, round, state: self.role() },
            (_, None) => unreachable!("server {} follows or leads without an election", self.id),
        }
    }

    pub(super) fn on_notification(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, notification: Notification) {
        let decided_round = self.decided.map(|(_, round)| round);
        if let (State::Following(following), Some(decided)) = (&self.state, decided_round) {
            // The leader looks in a later round than the one that elected it: it gave up.
            if following.leader == from && notification.state == PeerState::Looking && notification.round > decided {
                self.become_looking(ctx);
            }
        }
        if !matches!(self.state, State::Looking(_)) {
            if notification.state == PeerState::Looking {
                ctx.send(from, ZabMessage::Notification(self.notification()));
            }
            return;
        }
        match notification.state {
            PeerState::Looking => self.on_looking_notification(ctx, from, notification),
            PeerState::Following | PeerState::Leading => self.on_decided_notification(ctx, from, notification),
        }
    }

    pub(super) fn on_election_timeout(&mut self, ctx: &mut ServerContext<Zab>) {
        if matches!(self.state, State::Looking(_)) {
            self.notify_all(ctx);
            ctx.set_timer(self.timeout, ZabTimer::Election);
        }
    }

    /// The wait for a better vote is over: decide if a majority still agrees.
    pub(super) fn on_finalize(&mut self, ctx: &mut ServerContext<Zab>) {
        let State::Looking(looking) = &self.state else { return };
        let vote = looking.vote;
        if looking.finalizing && agreeing(looking, &vote) >= self.majority {
            self.decide(ctx, vote, self.round);
        }
    }

    fn on_looking_notification(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, notification: Notification) {
        let own = self.own_vote();
        let round = self.round;
        let State::Looking(looking) = &mut self.state else { return };
        let changed = if notification.round > round {
            self.round = notification.round;
            looking.received.clear();
            looking.vote = if notification.vote.beats(&own) { notification.vote } else { own };
            true
        } else if notification.round < round {
            return ctx.send(from, ZabMessage::Notification(self.notification()));
        } else if notification.vote.beats(&looking.vote) {
            looking.vote = notification.vote;
            true
        } else {
            false
        };
        looking.received.insert(from, notification.vote);
        let vote = looking.vote;
        looking.received.insert(self.id, vote);
        if changed {
            looking.finalizing = false;
            ctx.cancel_timer(ZabTimer::Finalize);
            self.notify_all(ctx);
        }
        self.check_agreement(ctx);
    }

    /// A FOLLOWING or LEADING server's decision.
    fn on_decided_notification(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, notification: Notification) {
        let (majority, round, id) = (self.majority, self.round, self.id);
        let State::Looking(looking) = &mut self.state else { return };
        let leader = notification.vote.leader;
        looking.out_of_election.insert(from, notification);
        if notification.round == round {
            looking.received.insert(from, notification.vote);
            if agreeing(looking, &notification.vote) >= majority && confirms(looking, leader, round, id, round) {
                return self.decide(ctx, notification.vote, round);
            }
        }
        let named = (looking.out_of_election.values())
            .filter(|told| told.vote.leader == leader && told.round == notification.round)
            .count();
        if named >= majority && confirms(looking, leader, notification.round, id, round) {
            self.round = notification.round;
            self.decide(ctx, notification.vote, notification.round);
        }
    }

    /// Starts the wait for a better vote once a majority agrees with this server's.
    fn check_agreement(&mut self, ctx: &mut ServerContext<Zab>) {
        let (majority, wait) = (self.majority, (self.timeout / 5).max(1));
        let State::Looking(looking) = &mut self.state else { return };
        if !looking.finalizing && agreeing(looking, &looking.vote) >= majority {
            looking.finalizing = true;
            ctx.set_timer(wait, ZabTimer::Finalize);
        }
    }

    fn decide(&mut self, ctx: &mut ServerContext<Zab>, vote: Vote, round: u64) {
        self.decided = Some((vote, round));
        ctx.cancel_timer(ZabTimer::Election);
        ctx.cancel_timer(ZabTimer::Finalize);
        ctx.observe(ZabObservation::Elected { leader: vote.leader, round });
        if vote.leader == self.id {
            self.start_leading(ctx);
        } else {
            self.start_following(ctx, vote.leader);
        }
    }

    fn notify_all(&self, ctx: &mut ServerContext<Zab>) {
        let notification = self.notification();
        for peer in self.peers() {
            ctx.send(peer, ZabMessage::Notification(notification));
        }
    }
}

/// How many votes of the round are `vote`.
fn agreeing(looking: &Looking, vote: &Vote) -> usize {
    looking.received.values().filter(|received| *received == vote).count()
}

/// Whether `leader` may be joined for `round`: it is this server, in that round, or it said
/// it leads in that round (ZooKeeper's `checkLeader`).
fn confirms(looking: &Looking, leader: NodeId, round: u64, id: NodeId, own_round: u64) -> bool {
    if leader == id {
        return own_round == round;
    }
    looking
        .out_of_election
        .get(&leader)
        .is_some_and(|told| told.state == PeerState::Leading && told.vote.leader == leader && told.round == round)
}
