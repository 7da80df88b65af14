//! The Zab safety checker: the properties of DSN section 3 as Medeiros section 2.3 restates
//! them, checked online with every server's state and durable log in view, one file per
//! property.
//!
//! - One established leader per epoch: no two servers establish one epoch, and only the
//!   server that established an epoch proposes in it (primary uniqueness).
//! - Integrity: a delivered transaction was broadcast, as delivered.
//! - Total order: each server delivers one sequence, position after position.
//! - Agreement: every two servers deliver the same prefix (the same transaction at each
//!   position of their delivered sequences).
//! - Local primary order: a server that delivers a leader's transaction delivered that
//!   leader's earlier ones before it.
//! - Global primary order: a server delivers transactions of an earlier epoch before those of
//!   a later one.
//! - Primary integrity: a leader delivered, before it broadcast, every transaction of an
//!   earlier epoch that any server delivers.
//! - Leader completeness: an established leader's history holds every transaction committed
//!   in an earlier epoch.
//! - Committed-log durability: a committed transaction is durable (in the synced part of the
//!   log) on a majority of servers, from its commit on: never lost or truncated.
//!
//! The commits come from the leaders' `Committed` observations and, at `Established`, from
//! the leader's whole history, which the checker reads from the leader's state right after
//! the input that established the epoch; likewise the history a leader had delivered when it
//! first proposed in its epoch. `inspect` does work on what changed only: new deliveries, new
//! commits, new durable records.

mod agreement;
mod committed_durability;
mod global_primary_order;
mod integrity;
mod leader_completeness;
mod local_primary_order;
mod one_leader_per_epoch;
mod primary_integrity;
#[cfg(test)]
mod tests;
mod total_order;

use std::collections::BTreeSet;

use agreement::Agreement;
use committed_durability::CommittedDurability;
use global_primary_order::GlobalPrimaryOrder;
use integrity::Integrity;
use leader_completeness::LeaderCompleteness;
use local_primary_order::LocalPrimaryOrder;
use one_leader_per_epoch::OneLeaderPerEpoch;
use primary_integrity::PrimaryIntegrity;
use total_order::TotalOrder;

use super::{Epoch, Zab, ZabObservation, ZabSettings, Zxid};
use crate::node::{Checker, NodeId, Setup, Time, View, Violation};

/// Zab's online checker.
#[derive(Debug)]
pub struct ZabChecker {
    one_leader: OneLeaderPerEpoch,
    integrity: Integrity,
    total_order: TotalOrder,
    agreement: Agreement,
    local_order: LocalPrimaryOrder,
    global_order: GlobalPrimaryOrder,
    primary_integrity: PrimaryIntegrity,
    completeness: LeaderCompleteness,
    durability: CommittedDurability,
    commits: Commits,
    /// What to read from a server's state after its input.
    pending: Vec<(NodeId, Capture)>,
}

/// A committed transaction: by whom and when it was known committed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Commit {
    pub(super) zxid: Zxid,
    pub(super) node: NodeId,
    pub(super) at: Time,
}

/// Every commit, in the order known.
#[derive(Debug, Default)]
struct Commits {
    list: Vec<Commit>,
    known: BTreeSet<Zxid>,
    /// How many of `list` the checkers have seen.
    handed: usize,
}

impl Commits {
    fn add(&mut self, commit: Commit) {
        if self.known.insert(commit.zxid) {
            self.list.push(commit);
        }
    }
}

#[derive(Debug)]
enum Capture {
    /// The leader established the epoch: its history up to `last` is committed.
    Established { last: Zxid },
    /// The leader's first proposal of its epoch.
    FirstProposal { epoch: Epoch },
}

impl ZabChecker {
    pub fn new(setup: &Setup<ZabSettings>) -> ZabChecker {
        ZabChecker {
            one_leader: OneLeaderPerEpoch::default(),
            integrity: Integrity::default(),
            total_order: TotalOrder::default(),
            agreement: Agreement::default(),
            local_order: LocalPrimaryOrder::default(),
            global_order: GlobalPrimaryOrder::default(),
            primary_integrity: PrimaryIntegrity::default(),
            completeness: LeaderCompleteness::default(),
            durability: CommittedDurability::new(setup.servers, setup.majority()),
            commits: Commits::default(),
            pending: Vec::new(),
        }
    }

    fn capture(&mut self, at: Time, node: NodeId, capture: Capture, world: &dyn View<Zab>) -> Result<(), Violation> {
        let Some(server) = world.server(node) else { return Ok(()) };
        match capture {
            Capture::Established { last } => {
                let history = server.history();
                let through = history.position(last).unwrap_or(history.len());
                for txn in &history.txns()[..through] {
                    self.commits.add(Commit { zxid: txn.zxid, node, at });
                }
                Ok(())
            }
            Capture::FirstProposal { epoch } => {
                let delivered = &server.history().txns()[..server.delivered()];
                self.primary_integrity.on_first_proposal(at, node, epoch, delivered)
            }
        }
    }
}

impl Checker<Zab> for ZabChecker {
    const INSPECTS: bool = true;

    fn observe(&mut self, at: Time, node: NodeId, observation: &ZabObservation) -> Result<(), Violation> {
        match observation {
            ZabObservation::Elected { .. } | ZabObservation::Synchronized { .. } => Ok(()),
            ZabObservation::Established { epoch, last } => {
                self.pending.push((node, Capture::Established { last: *last }));
                self.one_leader.on_established(at, node, *epoch)
            }
            ZabObservation::Proposed { txn } => {
                if self.primary_integrity.is_first_proposal(txn.zxid.epoch) {
                    self.pending.push((node, Capture::FirstProposal { epoch: txn.zxid.epoch }));
                }
                self.integrity.on_proposed(at, node, txn);
                self.one_leader.on_proposed(at, node, txn.zxid)
            }
            ZabObservation::Committed { zxid } => {
                self.commits.add(Commit { zxid: *zxid, node, at });
                Ok(())
            }
            ZabObservation::Delivered { position, txn } => {
                self.integrity.on_delivered(at, node, txn)?;
                self.total_order.on_delivered(at, node, *position, txn.zxid)?;
                self.agreement.on_delivered(at, node, *position, txn.zxid)?;
                self.local_order.on_delivered(at, node, *position, txn.zxid)?;
                self.global_order.on_delivered(at, node, *position, txn.zxid)?;
                self.primary_integrity.on_delivered(at, node, txn.zxid)
            }
        }
    }

    fn inspect(&mut self, at: Time, node: NodeId, world: &dyn View<Zab>) -> Result<(), Violation> {
        for (captured, capture) in std::mem::take(&mut self.pending) {
            self.capture(at, captured, capture, world)?;
        }
        self.durability.inspect(at, node, world)?;
        let fresh = &self.commits.list[self.commits.handed..];
        self.commits.handed = self.commits.list.len();
        for commit in fresh {
            self.durability.on_committed(*commit)?;
            self.completeness.on_committed(*commit);
        }
        self.completeness.inspect(at, node, world.server(node))
    }

    fn stuck_reason(&self, _end: Time) -> Option<String> {
        Some(match self.one_leader.latest() {
            Some((epoch, node, at)) => {
                format!("the latest epoch established: {epoch}, by server {node}, at {}", ms(at))
            }
            None => "no epoch was ever established".to_string(),
        })
    }
}

/// A time for a violation's text, in milliseconds.
fn ms(at: Time) -> String {
    format!("{:.3} ms", at as f64 / crate::node::MILLISECOND as f64)
}
