//! Phase 1, run once per leadership (Paxos Made Simple section 3; PMMC section 2.2, the
//! scout and the leader's `adopted`).
//!
//! A server whose election timer fires takes a ballot above every round it has seen,
//! promises it itself (durably, before the `Prepare` leaves) and asks every other acceptor
//! for a promise covering all slots from its first unexecuted one. The promises report the
//! proposals accepted in those slots. With a majority, the candidate leads: for each slot
//! up to the highest one reported or known chosen, it re-proposes the highest-ballot entry
//! reported (PMMC's `pmax`), or a no-op where nothing was reported (Paxos Made Simple
//! section 3), skipping the slots it already knows chosen; new commands go after them.
//! A candidate that gets a `Nack`, or that does not finish before its randomised election
//! timer fires again, starts over with a higher ballot (PMMC section 3).

use std::collections::BTreeSet;

use super::server::{Election, Leadership, State};
use super::{
    Ballot, Entry, MultiPaxos, MultiPaxosMessage, MultiPaxosObservation, MultiPaxosServer, MultiPaxosTimer, Slot,
};
use crate::node::{NodeId, ServerContext};

impl MultiPaxosServer {
    pub(super) fn on_election_timeout(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        if matches!(self.state, State::Leader(_)) {
            return;
        }
        self.round_seen += 1;
        let ballot = Ballot { round: self.round_seen, leader: self.id };
        let from = self.replica.first_unexecuted();
        self.leader = None;
        self.promise(ctx, ballot);
        let reported = self.acceptor.accepted_between(from..Slot::MAX).map(|(slot, p)| (slot, p.clone())).collect();
        let promises = BTreeSet::from([self.id]);
        self.state = State::Candidate(Election { ballot, from, promises, reported });
        for peer in self.peers() {
            ctx.send_after_sync(peer, MultiPaxosMessage::Prepare { ballot, from });
        }
        self.reset_election_timer(ctx);
        if self.majority == 1 {
            self.become_leader(ctx);
        }
    }

    pub(super) fn on_promise(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        acceptor: NodeId,
        ballot: Ballot,
        accepted: Vec<(Slot, Ballot, Entry)>,
    ) {
        let State::Candidate(election) = &mut self.state else { return };
        if ballot != election.ballot {
            return;
        }
        election.promises.insert(acceptor);
        for (slot, accepted_ballot, entry) in accepted {
            let highest = election.reported.get(&slot).map(|(highest, _)| *highest);
            if highest.is_none_or(|highest| accepted_ballot > highest) {
                election.reported.insert(slot, (accepted_ballot, entry));
            }
        }
        if election.promises.len() >= self.majority {
            self.become_leader(ctx);
        }
    }

    /// PMMC's `adopted`: lead, and run phase 2 for every slot phase 1 found open.
    fn become_leader(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        let State::Candidate(election) = std::mem::replace(&mut self.state, State::Follower) else { return };
        let ballot = election.ballot;
        ctx.observe(MultiPaxosObservation::LeaderElected { ballot });
        ctx.cancel_timer(MultiPaxosTimer::Election);
        self.leader = Some(self.id);
        let (recovered, next_slot) = self.recovered_proposals(&election);
        self.state = State::Leader(Leadership {
            ballot,
            next_slot,
            proposals: Default::default(),
            requests: Default::default(),
        });
        for (slot, entry) in recovered {
            self.propose(ctx, slot, entry);
        }
        self.send_heartbeats(ctx);
        ctx.set_timer(self.heartbeat_interval(), MultiPaxosTimer::Heartbeat);
    }

    /// The proposals phase 1 obliges the new leader to make, and the first slot free for
    /// new commands: every slot from `election.from` up to the highest one reported or
    /// known chosen, except the known chosen ones, gets the highest-ballot entry reported
    /// in it, or a no-op.
    fn recovered_proposals(&self, election: &Election) -> (Vec<(Slot, Entry)>, Slot) {
        let last_reported = election.reported.last_key_value().map_or(0, |(&slot, _)| slot);
        let last = last_reported.max(self.replica.last_chosen()).max(election.from - 1);
        let proposals = (election.from..=last)
            .filter(|&slot| self.replica.chosen(slot).is_none())
            .map(|slot| {
                let entry = election.reported.get(&slot).map_or(Entry::Noop, |(_, entry)| entry.clone());
                (slot, entry)
            })
            .collect();
        (proposals, last + 1)
    }
}
