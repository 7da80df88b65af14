//! Local primary order (DSN section 3; Medeiros section 2.3): if a leader broadcasts one
//! transaction before another, a server that delivers the second delivers the first before
//! it. A leader numbers its epoch's transactions 1, 2, ... in the order it broadcasts them, so
//! a server that delivers `e.c` with `c > 1` must have delivered `e.(c-1)` last of its epoch.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::zab::{Epoch, Zxid};

#[derive(Debug, Default)]
pub(super) struct LocalPrimaryOrder {
    /// Per server, since it started delivering from position 1: the latest counter it
    /// delivered of each epoch.
    latest: BTreeMap<NodeId, BTreeMap<Epoch, u64>>,
}

impl LocalPrimaryOrder {
    pub(super) fn on_delivered(
        &mut self,
        at: Time,
        node: NodeId,
        position: usize,
        zxid: Zxid,
    ) -> Result<(), Violation> {
        let latest = self.latest.entry(node).or_default();
        if position == 1 {
            latest.clear();
        }
        let before = latest.insert(zxid.epoch, zxid.counter).unwrap_or(0);
        if before + 1 == zxid.counter {
            return Ok(());
        }
        let skipped = Zxid::new(zxid.epoch, zxid.counter.saturating_sub(1));
        Err(Violation {
            invariant: "local-primary-order",
            nodes: vec![node],
            evidence: vec![(node, at)],
            detail: format!(
                "server {node} delivered {zxid} at {} when the last it had delivered of epoch {} was {}, not {skipped}",
                ms(at),
                zxid.epoch,
                Zxid::new(zxid.epoch, before)
            ),
        })
    }
}
