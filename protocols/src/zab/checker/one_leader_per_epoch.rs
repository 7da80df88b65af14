//! One established leader per epoch (DSN section 3, primary uniqueness; Medeiros section
//! 2.3): no two servers establish the same epoch, and only the server that established an
//! epoch proposes transactions of it.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::zab::{Epoch, Zxid};

#[derive(Debug, Default)]
pub(super) struct OneLeaderPerEpoch {
    /// Per epoch, who established it and when.
    established: BTreeMap<Epoch, (NodeId, Time)>,
}

impl OneLeaderPerEpoch {
    pub(super) fn on_established(&mut self, at: Time, node: NodeId, epoch: Epoch) -> Result<(), Violation> {
        let &mut (first, first_at) = self.established.entry(epoch).or_insert((node, at));
        if first == node {
            return Ok(());
        }
        Err(Violation {
            invariant: "one-leader-per-epoch",
            nodes: vec![first, node],
            evidence: vec![(first, first_at), (node, at)],
            detail: format!(
                "server {first} established epoch {epoch} at {}, and server {node} established it too at {}",
                ms(first_at),
                ms(at)
            ),
        })
    }

    pub(super) fn on_proposed(&mut self, at: Time, node: NodeId, zxid: Zxid) -> Result<(), Violation> {
        let epoch = zxid.epoch;
        match self.established.get(&epoch) {
            Some(&(leader, _)) if leader == node => Ok(()),
            Some(&(leader, leader_at)) => Err(Violation {
                invariant: "one-leader-per-epoch",
                nodes: vec![leader, node],
                evidence: vec![(leader, leader_at), (node, at)],
                detail: format!(
                    "server {node} proposed {zxid} at {}, but server {leader} established epoch {epoch} at {}",
                    ms(at),
                    ms(leader_at)
                ),
            }),
            None => Err(Violation {
                invariant: "one-leader-per-epoch",
                nodes: vec![node],
                evidence: vec![(node, at)],
                detail: format!("server {node} proposed {zxid} at {} in an epoch nobody established", ms(at)),
            }),
        }
    }

    /// The latest epoch established: epoch, leader, when.
    pub(super) fn latest(&self) -> Option<(Epoch, NodeId, Time)> {
        self.established.iter().next_back().map(|(&epoch, &(node, at))| (epoch, node, at))
    }
}
