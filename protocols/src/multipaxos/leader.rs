//! Phase 2 at the leader (Paxos Made Simple section 3; PMMC section 2.2, the commander),
//! its heartbeats, and catching followers up.
//!
//! The leader proposes an entry for a slot by accepting it itself (durably) and sending
//! `Accept` to every other acceptor; a majority of `Accepted` in its ballot chooses the
//! entry, and its replica applies it. Every `Accept` and `Heartbeat` carries the leader's
//! first unchosen slot, so followers learn decisions without messages of their own. Every
//! `timeout / 3` the leader sends `Heartbeat` and re-sends `Accept` for proposals that
//! stayed undecided for a whole interval (a lost `Accept` or `Accepted`). A `Nack` with a
//! higher ballot deposes it (PMMC's `preempted`). A follower's `CatchUp` is answered with
//! a `Decide` carrying the chosen entries it misses (PMMC's `decision`).

use std::collections::BTreeSet;

use super::server::{Proposal, State};
use super::{
    Ballot, Entry, MultiPaxos, MultiPaxosMessage, MultiPaxosObservation, MultiPaxosServer, MultiPaxosTimer, Slot,
};
use crate::node::{NodeId, ServerContext};

impl MultiPaxosServer {
    /// Phase 2a: the leader accepts `entry` in `slot` itself, then asks the others.
    pub(super) fn propose(&mut self, ctx: &mut ServerContext<MultiPaxos>, slot: Slot, entry: Entry) {
        let State::Leader(leadership) = &mut self.state else { return };
        let ballot = leadership.ballot;
        let proposal = Proposal { entry: entry.clone(), accepts: BTreeSet::new(), stale: false };
        leadership.proposals.insert(slot, proposal);
        let sync = self.accept(ctx, ballot, slot, entry.clone());
        let first_unchosen = self.replica.first_unexecuted();
        for peer in self.peers() {
            ctx.send(peer, MultiPaxosMessage::Accept { ballot, slot, entry: entry.clone(), first_unchosen });
        }
        // Its own acceptance counts once durable.
        match sync {
            Some(sync) => self.own_accepts.push_back((sync, ballot, slot)),
            None => self.on_accepted(ctx, self.id, ballot, slot),
        }
    }

    /// A majority of acceptors accepted the proposal in `slot` in this leader's ballot: the
    /// entry is chosen.
    pub(super) fn on_accepted(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        acceptor: NodeId,
        ballot: Ballot,
        slot: Slot,
    ) {
        let State::Leader(leadership) = &mut self.state else { return };
        if ballot != leadership.ballot {
            return;
        }
        let Some(proposal) = leadership.proposals.get_mut(&slot) else { return };
        proposal.accepts.insert(acceptor);
        if proposal.accepts.len() < self.majority {
            return;
        }
        let Some(Proposal { entry, .. }) = leadership.proposals.remove(&slot) else { return };
        ctx.observe(MultiPaxosObservation::Chosen { slot, entry: entry.clone() });
        self.replica.learn(slot, entry);
        self.execute_chosen(ctx);
    }

    /// An acceptor promised a higher ballot than this candidate's or leader's: step down
    /// and let the randomised election timer decide when to try again.
    pub(super) fn on_nack(&mut self, ctx: &mut ServerContext<MultiPaxos>, ballot: Ballot, promised: Ballot) {
        self.note_round(promised);
        if self.ballot() != Some(ballot) || promised <= ballot {
            return;
        }
        self.leader = None;
        self.step_down(ctx);
        self.reset_election_timer(ctx);
    }

    pub(super) fn on_heartbeat_timeout(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        if !matches!(self.state, State::Leader(_)) {
            return;
        }
        self.resend_stale_proposals(ctx);
        self.send_heartbeats(ctx);
        ctx.set_timer(self.heartbeat_interval(), MultiPaxosTimer::Heartbeat);
    }

    /// A follower misses the chosen slots from `from` on: send it the next batch.
    pub(super) fn on_catch_up(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        follower: NodeId,
        ballot: Ballot,
        from: Slot,
    ) {
        if !matches!(&self.state, State::Leader(leadership) if leadership.ballot == ballot) {
            return;
        }
        let entries = self.replica.applied_from(from);
        if !entries.is_empty() {
            ctx.send(follower, MultiPaxosMessage::Decide { from, entries });
        }
    }

    pub(super) fn send_heartbeats(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        let Some(ballot) = self.ballot() else { return };
        let first_unchosen = self.replica.first_unexecuted();
        for peer in self.peers() {
            ctx.send(peer, MultiPaxosMessage::Heartbeat { ballot, first_unchosen });
        }
    }

    /// Sends `Accept` again, to the acceptors that have not accepted, for every proposal
    /// that was already undecided at the previous tick.
    fn resend_stale_proposals(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        let peers: Vec<NodeId> = self.peers().collect();
        let first_unchosen = self.replica.first_unexecuted();
        let State::Leader(leadership) = &mut self.state else { return };
        let ballot = leadership.ballot;
        for (&slot, proposal) in &mut leadership.proposals {
            if proposal.stale {
                for &peer in peers.iter().filter(|peer| !proposal.accepts.contains(peer)) {
                    let entry = proposal.entry.clone();
                    ctx.send(peer, MultiPaxosMessage::Accept { ballot, slot, entry, first_unchosen });
                }
            }
            proposal.stale = true;
        }
    }
}
