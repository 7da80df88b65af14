//! Agreement (DSN section 3; Medeiros section 2.3), as prefix agreement: every two servers
//! deliver the same prefix, that is, the same transaction at each position of their
//! delivered sequences. Online: the first delivery at each position fixes it.

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::zab::Zxid;

#[derive(Debug, Default)]
pub(super) struct Agreement {
    /// Per position (from 1), the first zxid delivered there: by whom, when.
    sequence: Vec<(Zxid, NodeId, Time)>,
}

impl Agreement {
    pub(super) fn on_delivered(
        &mut self,
        at: Time,
        node: NodeId,
        position: usize,
        zxid: Zxid,
    ) -> Result<(), Violation> {
        let Some(&(first, first_node, first_at)) = self.sequence.get(position - 1) else {
            if position == self.sequence.len() + 1 {
                self.sequence.push((zxid, node, at));
            }
            return Ok(());
        };
        if first == zxid {
            return Ok(());
        }
        Err(Violation {
            invariant: "agreement",
            nodes: vec![first_node, node],
            evidence: vec![(first_node, first_at), (node, at)],
            detail: format!(
                "server {first_node} delivered {first} as #{position} at {}, and server {node} delivered {zxid} there at {}",
                ms(first_at),
                ms(at)
            ),
        })
    }
}
