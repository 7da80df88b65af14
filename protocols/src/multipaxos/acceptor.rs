//! The acceptor (Paxos Made Simple section 2.2; PMMC section 2.2): its durable state and
//! its two handlers, phase 1b (`Prepare`) and phase 2b (`Accept`).
//!
//! An acceptor promises a ballot unless it promised a higher one, and accepts a proposal
//! unless it promised a higher ballot. Per slot it keeps only the highest-ballot proposal
//! it accepted, which is all a `Promise` must report (PMMC section 4.1, state reduction).
//! Every change is written and synced before the answer that reveals it (PMMC section
//! 4.3), so a restarted acceptor, rebuilt by [`Acceptor::from_records`], keeps its promises
//! and its accepted proposals.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{
    Ballot, Entry, MultiPaxos, MultiPaxosMessage, MultiPaxosObservation, MultiPaxosRecord, MultiPaxosServer, Slot,
};
use crate::node::{NodeId, ServerContext, SyncId};

/// The acceptor's durable state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acceptor {
    promised: Ballot,
    accepted: BTreeMap<Slot, (Ballot, Entry)>,
    /// The highest ballot ever accepted, for the invariant, which runs after every input
    /// and would otherwise read every slot.
    accepted_max: Ballot,
}

impl Acceptor {
    /// Rebuilds the state by replaying the log; an accepted proposal also promises its ballot.
    pub fn from_records(records: &[MultiPaxosRecord]) -> Acceptor {
        let mut acceptor = Acceptor::default();
        for record in records {
            match record {
                MultiPaxosRecord::Promised(ballot) => acceptor.promised = acceptor.promised.max(*ballot),
                MultiPaxosRecord::Accepted { slot, ballot, entry } => {
                    acceptor.promised = acceptor.promised.max(*ballot);
                    acceptor.note_accepted(*slot, *ballot, entry.clone());
                }
            }
        }
        acceptor
    }

    /// The highest ballot promised.
    pub fn promised(&self) -> Ballot {
        self.promised
    }

    /// The proposal accepted in `slot`, if any.
    pub fn accepted(&self, slot: Slot) -> Option<&(Ballot, Entry)> {
        self.accepted.get(&slot)
    }

    /// The proposals accepted in `from` and later slots, as a `Promise` reports them.
    pub fn accepted_from(&self, from: Slot) -> Vec<(Slot, Ballot, Entry)> {
        self.accepted.range(from..).map(|(&slot, (ballot, entry))| (slot, *ballot, entry.clone())).collect()
    }

    /// The proposals accepted in `slots`, in slot order.
    pub fn accepted_between(&self, slots: Range<Slot>) -> impl Iterator<Item = (Slot, &(Ballot, Entry))> {
        self.accepted.range(slots).map(|(&slot, proposal)| (slot, proposal))
    }

    fn note_accepted(&mut self, slot: Slot, ballot: Ballot, entry: Entry) {
        self.accepted_max = self.accepted_max.max(ballot);
        self.accepted.insert(slot, (ballot, entry));
    }

    /// The acceptor's own invariant: it never accepted above its promise. The promise
    /// only grows, so it holds exactly when the highest ballot accepted is within it.
    pub(super) fn check(&self, id: NodeId) {
        if self.accepted_max <= self.promised {
            return;
        }
        match self.accepted.iter().find(|(_, (ballot, _))| *ballot > self.promised) {
            Some((slot, (ballot, _))) => panic!("acceptor {id} accepted {ballot:?} in slot {slot} above its promise"),
            None => {
                panic!("acceptor {id} accepted {:?}, above its promise, in a slot since overwritten", self.accepted_max)
            }
        }
    }
}

impl MultiPaxosServer {
    /// Phase 1b: promise `ballot` unless a higher one was promised, and report what was
    /// accepted from slot `from` on.
    pub(super) fn on_prepare(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        candidate: NodeId,
        ballot: Ballot,
        from: Slot,
    ) {
        self.note_round(ballot);
        if ballot < self.acceptor.promised {
            let promised = self.acceptor.promised;
            return ctx.send(candidate, MultiPaxosMessage::Nack { ballot, promised });
        }
        if ballot > self.acceptor.promised {
            self.promise(ctx, ballot);
            self.leader = None;
            self.step_down(ctx);
            self.reset_election_timer(ctx); // Give the candidate time to finish phase 1.
        }
        let accepted = self.acceptor.accepted_from(from);
        ctx.send_after_sync(candidate, MultiPaxosMessage::Promise { ballot, accepted });
    }

    /// Phase 2b: accept the proposal unless a higher ballot was promised, and take the
    /// chosen slots the leader piggybacked.
    pub(super) fn on_accept(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        leader: NodeId,
        ballot: Ballot,
        slot: Slot,
        entry: Entry,
        first_unchosen: Slot,
    ) {
        self.note_round(ballot);
        if ballot < self.acceptor.promised {
            let promised = self.acceptor.promised;
            return ctx.send(leader, MultiPaxosMessage::Nack { ballot, promised });
        }
        self.follow(ctx, ballot);
        self.accept(ctx, ballot, slot, entry);
        ctx.send_after_sync(leader, MultiPaxosMessage::Accepted { ballot, slot });
        self.learn_piggybacked(ctx, ballot, first_unchosen);
    }

    /// Promises `ballot` durably.
    pub(super) fn promise(&mut self, ctx: &mut ServerContext<MultiPaxos>, ballot: Ballot) {
        debug_assert!(ballot > self.acceptor.promised, "a promise only goes up");
        self.acceptor.promised = ballot;
        ctx.write(MultiPaxosRecord::Promised(ballot));
        ctx.sync();
    }

    /// Accepts `entry` in `slot` in `ballot` (not below the promise) durably, unless it is
    /// already accepted; the sync that makes it durable, if it wrote anything.
    pub(super) fn accept(
        &mut self,
        ctx: &mut ServerContext<MultiPaxos>,
        ballot: Ballot,
        slot: Slot,
        entry: Entry,
    ) -> Option<SyncId> {
        debug_assert!(ballot >= self.acceptor.promised, "accepting below the promise");
        self.acceptor.promised = ballot;
        let known = self.acceptor.accepted.get(&slot);
        if known.is_some_and(|(accepted, accepted_entry)| *accepted == ballot && *accepted_entry == entry) {
            return None; // A duplicate or a re-sent Accept.
        }
        ctx.write(MultiPaxosRecord::Accepted { slot, ballot, entry: entry.clone() });
        let sync = ctx.sync();
        ctx.observe_after_sync(MultiPaxosObservation::Accepted { ballot, slot, entry: entry.clone() });
        self.acceptor.note_accepted(slot, ballot, entry);
        Some(sync)
    }
}
