//! Committed-log durability: a committed transaction is in the durable (synced) part of the
//! log of a majority of servers, from the moment it is committed on; a crash that loses
//! unsynced writes, a `Trunc` or a `Snap` never takes it below a majority. This is what
//! makes a commit survive any minority of crashes, and what acknowledging before the data is
//! durable (ZOOKEEPER-3911) or truncating committed transactions (ZOOKEEPER-4643) breaks.
//!
//! The checker replays each server's durable records as they become durable (the durable
//! prefix of a log only grows: a crash loses only unsynced records), keeps the set of zxids
//! each server holds durably, and counts, per committed zxid, the servers holding it.

use std::collections::{BTreeMap, BTreeSet};

use super::{ms, Commit};
use crate::node::{NodeId, Time, View, Violation};
use crate::zab::{Durable, Zab, ZabRecord, Zxid};

#[derive(Debug)]
pub(super) struct CommittedDurability {
    majority: usize,
    servers: Vec<Disk>,
    /// Per committed zxid: the commit, and how many servers hold it durably.
    committed: BTreeMap<Zxid, (Commit, usize)>,
}

/// What the checker knows of one server's durable log.
#[derive(Debug, Default)]
struct Disk {
    /// The durable records replayed so far.
    replayed: usize,
    durable: Durable,
    holds: BTreeSet<Zxid>,
}

impl CommittedDurability {
    pub(super) fn new(servers: u32, majority: usize) -> CommittedDurability {
        CommittedDurability {
            majority,
            servers: (0..servers).map(|_| Disk::default()).collect(),
            committed: BTreeMap::new(),
        }
    }

    pub(super) fn on_committed(&mut self, commit: Commit) -> Result<(), Violation> {
        if self.committed.contains_key(&commit.zxid) {
            return Ok(());
        }
        let holders = self.servers.iter().filter(|disk| disk.holds.contains(&commit.zxid)).count();
        self.committed.insert(commit.zxid, (commit, holders));
        self.check(commit.zxid, commit.at, None)
    }

    /// Replays what became durable on `node` and updates the counts.
    pub(super) fn inspect(&mut self, at: Time, node: NodeId, world: &dyn View<Zab>) -> Result<(), Violation> {
        let Some(disk) = self.servers.get_mut(node as usize) else { return Ok(()) };
        let (records, synced) = world.log(node);
        let fresh: &[ZabRecord] = records.get(disk.replayed..synced).unwrap_or_default();
        if fresh.is_empty() {
            return Ok(());
        }
        disk.replayed = synced;
        let rebuilt = !fresh.iter().all(Durable::only_appends);
        for record in fresh {
            disk.durable.apply(record);
        }
        let (lost, gained): (Vec<Zxid>, Vec<Zxid>) = if rebuilt {
            let now: BTreeSet<Zxid> = disk.durable.history.txns().iter().map(|txn| txn.zxid).collect();
            let lost = disk.holds.difference(&now).copied().collect();
            let gained = now.difference(&disk.holds).copied().collect();
            disk.holds = now;
            (lost, gained)
        } else {
            // Only appended: nothing is lost, and what is new is gained (holders only grow,
            // so the order they are counted in does not matter).
            let added = fresh.iter().filter_map(|record| match record {
                ZabRecord::Txn(txn) => Some(txn.zxid),
                _ => None,
            });
            (Vec::new(), added.filter(|&zxid| disk.holds.insert(zxid)).collect())
        };
        for zxid in gained {
            if let Some((_, holders)) = self.committed.get_mut(&zxid) {
                *holders += 1;
            }
        }
        for zxid in lost {
            if let Some((_, holders)) = self.committed.get_mut(&zxid) {
                *holders -= 1;
                self.check(zxid, at, Some(node))?;
            }
        }
        Ok(())
    }

    fn check(&self, zxid: Zxid, at: Time, dropped_by: Option<NodeId>) -> Result<(), Violation> {
        let &(commit, holders) = &self.committed[&zxid];
        if holders >= self.majority {
            return Ok(());
        }
        let holding: Vec<NodeId> =
            (0..).zip(&self.servers).filter(|(_, disk)| disk.holds.contains(&zxid)).map(|(id, _)| id).collect();
        let (how, mut evidence) = match dropped_by {
            Some(node) => {
                (format!("once server {node} dropped it from its durable log at {}", ms(at)), vec![(node, at)])
            }
            None => ("when it was committed".to_string(), Vec::new()),
        };
        evidence.insert(0, (commit.node, commit.at));
        let mut nodes = holding.clone();
        nodes.push(commit.node);
        nodes.extend(dropped_by);
        nodes.sort_unstable();
        nodes.dedup();
        Err(Violation {
            invariant: "committed-durability",
            nodes,
            evidence,
            detail: format!(
                "server {} committed {zxid} at {}; {how}, it was durable only on servers {holding:?}, fewer than a \
                 majority ({} of {})",
                commit.node,
                ms(commit.at),
                self.majority,
                self.servers.len()
            ),
        })
    }
}
