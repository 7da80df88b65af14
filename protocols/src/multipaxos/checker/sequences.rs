//! Replicas apply identical sequences (PMMC section 2.1: replicas apply decisions in slot
//! order, so all of them go through the same states): no two replicas apply different
//! entries in one slot, and each replica applies slot 1 first (at boot or after a restart,
//! since its state is volatile) and then every next slot, with no gap.

use std::collections::BTreeMap;

use super::ms;
use crate::multipaxos::{Entry, Slot};
use crate::node::{NodeId, Time, Violation};

#[derive(Debug, Default)]
pub(super) struct IdenticalSequences {
    /// Per slot: the first entry applied there, by whom, when.
    applied: BTreeMap<Slot, (Entry, NodeId, Time)>,
    /// Per replica: the last slot it applied.
    last: BTreeMap<NodeId, Slot>,
}

impl IdenticalSequences {
    pub(super) fn on_executed(&mut self, at: Time, node: NodeId, slot: Slot, entry: &Entry) -> Result<(), Violation> {
        let last = self.last.insert(node, slot).unwrap_or(0);
        if slot != 1 && slot != last + 1 {
            return Err(Violation {
                invariant: "in-order-execution",
                evidence: vec![(node, at)],
                nodes: vec![node],
                detail: format!("replica {node} applied slot {slot} at {} right after slot {last}", ms(at)),
            });
        }
        let (first_entry, first, first_at) = self.applied.entry(slot).or_insert_with(|| (entry.clone(), node, at));
        if first_entry == entry {
            return Ok(());
        }
        Err(Violation {
            invariant: "identical-sequences",
            evidence: vec![(*first, *first_at), (node, at)],
            nodes: vec![*first, node],
            detail: format!(
                "replica {first} applied {first_entry:?} in slot {slot} at {}, and replica {node} applied {entry:?} \
                 there at {}",
                ms(*first_at),
                ms(at)
            ),
        })
    }
}
