//! Primary integrity (DSN section 3; Medeiros section 2.3): if the leader of epoch `e`
//! broadcasts a transaction, and some server delivers a transaction of an earlier epoch, the
//! leader of `e` delivered that transaction before it broadcast. The checker keeps, per
//! epoch whose leader broadcast, what that leader had delivered at its first proposal, and
//! checks every delivery of an earlier epoch's transaction against it, before and after.

use std::collections::{BTreeMap, BTreeSet};

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::zab::{Epoch, Txn, Zxid};

#[derive(Debug, Default)]
pub(super) struct PrimaryIntegrity {
    /// Per epoch: its leader, when it first broadcast, and what it had delivered then.
    epochs: BTreeMap<Epoch, (NodeId, Time, BTreeSet<Zxid>)>,
    /// Epochs whose first proposal was seen (its delivered set may be read a moment later).
    proposed: BTreeSet<Epoch>,
    /// Every zxid some server delivered, with the first to deliver it and when.
    delivered: BTreeMap<Zxid, (NodeId, Time)>,
}

impl PrimaryIntegrity {
    /// Whether a proposal of `epoch` is its leader's first (and notes that it was seen).
    pub(super) fn is_first_proposal(&mut self, epoch: Epoch) -> bool {
        self.proposed.insert(epoch)
    }

    /// The leader of `epoch` first broadcast, having delivered `delivered`.
    pub(super) fn on_first_proposal(
        &mut self,
        at: Time,
        node: NodeId,
        epoch: Epoch,
        delivered: &[Txn],
    ) -> Result<(), Violation> {
        let held: BTreeSet<Zxid> = delivered.iter().map(|txn| txn.zxid).collect();
        let earlier = self.delivered.range(..Zxid::new(epoch, 0));
        let missing = earlier.into_iter().find(|(zxid, _)| !held.contains(zxid)).map(|(&zxid, &by)| (zxid, by));
        self.epochs.insert(epoch, (node, at, held));
        match missing {
            Some((zxid, (server, delivered_at))) => Err(self.violation(epoch, zxid, server, delivered_at)),
            None => Ok(()),
        }
    }

    pub(super) fn on_delivered(&mut self, at: Time, node: NodeId, zxid: Zxid) -> Result<(), Violation> {
        self.delivered.entry(zxid).or_insert((node, at));
        let later = self.epochs.range(zxid.epoch + 1..);
        let lacking = later.into_iter().find(|(_, (_, _, held))| !held.contains(&zxid)).map(|(&epoch, _)| epoch);
        match lacking {
            Some(epoch) => Err(self.violation(epoch, zxid, node, at)),
            None => Ok(()),
        }
    }

    fn violation(&self, epoch: Epoch, zxid: Zxid, server: NodeId, delivered_at: Time) -> Violation {
        let (leader, broadcast_at, _) = &self.epochs[&epoch];
        Violation {
            invariant: "primary-integrity",
            nodes: vec![*leader, server],
            evidence: vec![(*leader, *broadcast_at), (server, delivered_at)],
            detail: format!(
                "server {leader}, leader of epoch {epoch}, first broadcast at {} without having delivered {zxid}, \
                 which server {server} delivered at {}",
                ms(*broadcast_at),
                ms(delivered_at)
            ),
        }
    }
}
