//! A server's history (the transactions it accepted, in log order: DSN's `h_f`) and its
//! durable state as the records of its log rebuild it, for a restart and for the checkers.
//!
//! Positions count from 1: position `p` is the `p`-th transaction, and position 0 the empty
//! prefix. In every correct run zxids grow along a history; a flawed variant may break that,
//! so nothing here relies on it beyond finding positions.

use super::{Epoch, Txn, ZabRecord, Zxid};
use crate::node::NodeId;

/// Transactions in log order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    txns: Vec<Txn>,
}

impl History {
    pub fn len(&self) -> usize {
        self.txns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    pub fn txns(&self) -> &[Txn] {
        &self.txns
    }

    /// The zxid of the last transaction, `Zxid::ZERO` when empty.
    pub fn last_zxid(&self) -> Zxid {
        self.txns.last().map_or(Zxid::ZERO, |txn| txn.zxid)
    }

    /// The zxid at `position` (`Zxid::ZERO` for 0).
    pub fn zxid_at(&self, position: usize) -> Zxid {
        if position == 0 {
            return Zxid::ZERO;
        }
        self.txns[position - 1].zxid
    }

    /// The position of `zxid` (0 for `Zxid::ZERO`), if the history holds it.
    pub fn position(&self, zxid: Zxid) -> Option<usize> {
        if zxid == Zxid::ZERO {
            return Some(0);
        }
        self.txns.iter().rposition(|txn| txn.zxid == zxid).map(|index| index + 1)
    }

    /// The transactions after `position`.
    pub fn after(&self, position: usize) -> &[Txn] {
        &self.txns[position..]
    }

    /// The position of the last transaction whose zxid is below `zxid` (the point a `Trunc`
    /// goes back to when the history lacks `zxid`).
    pub fn last_below(&self, zxid: Zxid) -> usize {
        self.txns.iter().take_while(|txn| txn.zxid < zxid).count()
    }

    pub fn append(&mut self, txn: Txn) {
        self.txns.push(txn);
    }

    /// Keeps the longest prefix whose zxids are all at most `after`.
    pub fn truncate_after(&mut self, after: Zxid) {
        let keep = self.txns.iter().take_while(|txn| txn.zxid <= after).count();
        self.txns.truncate(keep);
    }

    pub fn replace(&mut self, txns: Vec<Txn>) {
        self.txns = txns;
    }
}

/// A server's durable state: what its log's records rebuild.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    pub accepted_epoch: Epoch,
    /// The leader whose `LeaderInfo` proposed the accepted epoch.
    pub accepted_leader: Option<NodeId>,
    pub current_epoch: Epoch,
    pub history: History,
}

impl Durable {
    /// The state `records` rebuild, from an empty one.
    pub fn replay(records: &[ZabRecord]) -> Durable {
        let mut durable = Durable::default();
        for record in records {
            durable.apply(record);
        }
        durable
    }

    /// The state after one more record.
    pub fn apply(&mut self, record: &ZabRecord) {
        match record {
            ZabRecord::AcceptedEpoch { epoch, leader } => {
                self.accepted_epoch = *epoch;
                self.accepted_leader = Some(*leader);
            }
            ZabRecord::CurrentEpoch(epoch) => self.current_epoch = *epoch,
            ZabRecord::Txn(txn) => self.history.append(txn.clone()),
            ZabRecord::Truncate { after } => self.history.truncate_after(*after),
            ZabRecord::Snapshot(txns) => self.history.replace(txns.clone()),
        }
    }

    /// Whether the record can only add transactions (or none) to the history.
    pub fn only_appends(record: &ZabRecord) -> bool {
        !matches!(record, ZabRecord::Truncate { .. } | ZabRecord::Snapshot(_))
    }
}
