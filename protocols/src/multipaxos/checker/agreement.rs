//! Agreement per slot (Paxos Made Simple section 2.1): at most one entry is chosen in each
//! slot, and a process learns only the chosen entry.
//!
//! An entry is chosen in a slot once a majority of acceptors accepted it in one ballot.
//! The checker counts acceptances per (slot, ballot) from the acceptors' observations,
//! flags two entries accepted in one slot in one ballot (a leader proposes one entry per
//! slot per ballot), two different entries chosen in one slot, and a leader or replica
//! that takes as chosen an entry that is not.

use std::collections::{BTreeMap, BTreeSet};

use super::ms;
use crate::multipaxos::{Ballot, Entry, Slot};
use crate::node::{NodeId, Time, Violation};

#[derive(Debug)]
pub(super) struct Agreement {
    majority: usize,
    /// Per slot and ballot: the entry accepted and the acceptors that accepted it.
    accepted: BTreeMap<(Slot, Ballot), (Entry, BTreeSet<NodeId>)>,
    /// Per slot: the first entry chosen there.
    chosen: BTreeMap<Slot, Choice>,
}

/// An entry chosen: in which ballot, by which acceptors, when.
#[derive(Debug)]
struct Choice {
    entry: Entry,
    ballot: Ballot,
    acceptors: BTreeSet<NodeId>,
    at: Time,
}

impl Agreement {
    pub(super) fn new(majority: usize) -> Agreement {
        Agreement { majority, accepted: BTreeMap::new(), chosen: BTreeMap::new() }
    }

    pub(super) fn chosen(&self, slot: Slot) -> Option<&Entry> {
        self.chosen.get(&slot).map(|choice| &choice.entry)
    }

    pub(super) fn on_accepted(
        &mut self,
        at: Time,
        node: NodeId,
        ballot: Ballot,
        slot: Slot,
        entry: &Entry,
    ) -> Result<(), Violation> {
        let (ballot_entry, acceptors) =
            self.accepted.entry((slot, ballot)).or_insert_with(|| (entry.clone(), BTreeSet::new()));
        if ballot_entry != entry {
            return Err(Violation {
                invariant: "one-entry-per-ballot",
                evidence: vec![(node, at)],
                nodes: vec![node, ballot.leader],
                detail: format!(
                    "acceptor {node} accepted {entry:?} in slot {slot}, ballot {ballot:?}, which already carries \
                     {ballot_entry:?}"
                ),
            });
        }
        acceptors.insert(node);
        if acceptors.len() < self.majority {
            return Ok(());
        }
        let choice = Choice { entry: entry.clone(), ballot, acceptors: acceptors.clone(), at };
        self.on_chosen(slot, choice)
    }

    /// `node` took `entry` as chosen in `slot` (a leader's `Chosen`, a replica's `Executed`).
    pub(super) fn on_learned(&self, at: Time, node: NodeId, slot: Slot, entry: &Entry) -> Result<(), Violation> {
        match self.chosen.get(&slot) {
            Some(choice) if choice.entry == *entry => Ok(()),
            chosen => Err(Violation {
                invariant: "learned-chosen",
                evidence: chosen.iter().map(|choice| (choice.ballot.leader, choice.at)).chain([(node, at)]).collect(),
                nodes: vec![node],
                detail: format!(
                    "server {node} took {entry:?} as chosen in slot {slot} at {}, but the chosen entry is {:?}",
                    ms(at),
                    chosen.map(|choice| &choice.entry)
                ),
            }),
        }
    }

    fn on_chosen(&mut self, slot: Slot, choice: Choice) -> Result<(), Violation> {
        let Some(first) = self.chosen.get(&slot) else {
            self.chosen.insert(slot, choice);
            return Ok(());
        };
        if first.entry == choice.entry {
            return Ok(());
        }
        Err(Violation {
            invariant: "agreement",
            evidence: vec![(first.ballot.leader, first.at), (choice.ballot.leader, choice.at)],
            nodes: first.acceptors.union(&choice.acceptors).copied().collect(),
            detail: format!(
                "slot {slot}: {:?} was chosen in ballot {:?} by acceptors {:?} at {}, then {:?} in ballot {:?} by \
                 acceptors {:?} at {}",
                first.entry,
                first.ballot,
                first.acceptors,
                ms(first.at),
                choice.entry,
                choice.ballot,
                choice.acceptors,
                ms(choice.at)
            ),
        })
    }
}
