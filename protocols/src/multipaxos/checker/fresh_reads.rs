//! Fresh reads: a read's result reflects every update that some server had acknowledged
//! to its client before the read first reached a server.
//!
//! Each read reports the slots its result reflects (`through`), and each acknowledged
//! update the slot by which it took effect. When a read first arrives anywhere, the
//! checker notes the highest acknowledged update of its key; the read must reflect at
//! least that slot.
//!
//! Reads through the log satisfy this. An update acknowledged at time t was chosen in
//! some slot j before t. A read that reaches a server after t is later proposed in a slot
//! s by a leader of ballot b. If j was chosen in b, that leader proposed j earlier, so
//! s > j. If j was chosen in a lower ballot, some acceptor in b's phase-1 majority had
//! accepted it and reported it, and the leader proposes new commands only above the
//! reported slots, so s > j. If j was chosen in a higher ballot, a majority had promised
//! that ballot before t, so the read's proposal in b can never be chosen.
//!
//! The property is stronger than linearizability: a read sent before the acknowledgement
//! reached the updating client may legally miss the update. So a `fresh-reads` violation
//! shows a read served from stale state, and the linearizability checker of the client
//! history has the final word on whether a client could tell.

use std::collections::BTreeMap;

use super::ms;
use crate::kv::Sequence;
use crate::multipaxos::Slot;
use crate::node::{NodeId, Time, Violation};
use crate::service::Key;

/// An update acknowledged: its slot, by which server, when.
type Acknowledgement = (Slot, NodeId, Time);

#[derive(Debug, Default)]
pub(super) struct FreshReads {
    /// Per key, the acknowledged update in the highest slot.
    acknowledged: BTreeMap<Key, Acknowledgement>,
    /// Per read, the acknowledged update it must reflect, if any: fixed at its first arrival.
    reads: BTreeMap<(NodeId, Sequence), Option<Acknowledgement>>,
}

impl FreshReads {
    pub(super) fn on_acknowledged(&mut self, at: Time, node: NodeId, key: Key, through: Slot) {
        let highest = self.acknowledged.entry(key).or_insert((through, node, at));
        if through > highest.0 {
            *highest = (through, node, at);
        }
    }

    pub(super) fn on_read_received(&mut self, client: NodeId, sequence: Sequence, key: Key) {
        let acknowledged = self.acknowledged.get(&key).copied();
        self.reads.entry((client, sequence)).or_insert(acknowledged);
    }

    pub(super) fn on_read_served(
        &self,
        at: Time,
        node: NodeId,
        client: NodeId,
        sequence: Sequence,
        key: Key,
        through: Slot,
    ) -> Result<(), Violation> {
        let Some(&Some((slot, acknowledger, acknowledged_at))) = self.reads.get(&(client, sequence)) else {
            return Ok(());
        };
        if through >= slot {
            return Ok(());
        }
        Err(Violation {
            invariant: "fresh-reads",
            evidence: vec![(acknowledger, acknowledged_at), (node, at)],
            nodes: vec![node, acknowledger],
            detail: format!(
                "server {node} answered client {client}'s read {sequence} of key {key} at {} from the slots up to \
                 {through}, but server {acknowledger} had acknowledged an update of that key in slot {slot} at {}, \
                 before the read arrived",
                ms(at),
                ms(acknowledged_at)
            ),
        })
    }
}
