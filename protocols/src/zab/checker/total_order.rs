//! Total order (DSN section 3; Medeiros section 2.3): if a server delivers a transaction
//! before another, every server that delivers the second delivers the first before it. Its
//! per-server half, online: each server delivers one sequence, the next position each time
//! (from position 1 again when it starts over, after a restart or a `Snap`), never skipping
//! or repeating one. Agreement on the transaction at each position (`agreement.rs`) is the
//! other half: together every server delivers a prefix of one order.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::zab::Zxid;

#[derive(Debug, Default)]
pub(super) struct TotalOrder {
    /// Per server, its latest delivery: position, zxid, when.
    last: BTreeMap<NodeId, (usize, Zxid, Time)>,
}

impl TotalOrder {
    pub(super) fn on_delivered(
        &mut self,
        at: Time,
        node: NodeId,
        position: usize,
        zxid: Zxid,
    ) -> Result<(), Violation> {
        let previous = self.last.insert(node, (position, zxid, at));
        let next = previous.map_or(1, |(last, ..)| last + 1);
        if position == next || position == 1 {
            return Ok(());
        }
        let (evidence, before) = match previous {
            Some((last, last_zxid, last_at)) => {
                (vec![(node, last_at), (node, at)], format!("{last_zxid} as #{last} at {}, then ", ms(last_at)))
            }
            None => (vec![(node, at)], String::new()),
        };
        Err(Violation {
            invariant: "total-order",
            nodes: vec![node],
            evidence,
            detail: format!("server {node} delivered {before}{zxid} as #{position} at {}, not #{next}", ms(at)),
        })
    }
}
