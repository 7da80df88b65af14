//! Global primary order (DSN section 3; Medeiros section 2.3): if a server delivers a
//! transaction of one leader's epoch and one of a later epoch, it delivers the earlier
//! epoch's first. Per server, since it started delivering from position 1, the epochs of
//! its deliveries never go down.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::zab::Zxid;

#[derive(Debug, Default)]
pub(super) struct GlobalPrimaryOrder {
    /// Per server, its latest delivery and when.
    last: BTreeMap<NodeId, (Zxid, Time)>,
}

impl GlobalPrimaryOrder {
    pub(super) fn on_delivered(
        &mut self,
        at: Time,
        node: NodeId,
        position: usize,
        zxid: Zxid,
    ) -> Result<(), Violation> {
        let previous = self.last.insert(node, (zxid, at));
        match previous {
            Some((last, last_at)) if position != 1 && last.epoch > zxid.epoch => Err(Violation {
                invariant: "global-primary-order",
                nodes: vec![node],
                evidence: vec![(node, last_at), (node, at)],
                detail: format!(
                    "server {node} delivered {last} (epoch {}) at {}, then {zxid} of the earlier epoch {} at {}",
                    last.epoch,
                    ms(last_at),
                    zxid.epoch,
                    ms(at)
                ),
            }),
            _ => Ok(()),
        }
    }
}
