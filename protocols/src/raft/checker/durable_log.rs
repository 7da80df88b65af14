//! Not a property but a figure: how large any server's durable log grew, in records and in
//! the log entries those records hold, the largest seen after any input. Snapshots keep
//! both bounded however long a run lasts (thesis chapter 5).

use crate::node::{NodeId, View};
use crate::raft::{RaftHost, RaftRecord};

#[derive(Debug, Default)]
pub(super) struct DurableLog {
    records_max: usize,
    entries_max: usize,
}

impl DurableLog {
    /// The durable log of `node`, which just handled an input.
    pub(super) fn inspect<H: RaftHost>(&mut self, node: NodeId, world: &dyn View<H>) {
        let (records, _) = world.log(node);
        let entries = records
            .iter()
            .filter_map(H::as_record)
            .map(|record| match record {
                RaftRecord::Entries { entries, .. } => entries.len(),
                _ => 0,
            })
            .sum();
        self.records_max = self.records_max.max(records.len());
        self.entries_max = self.entries_max.max(entries);
    }

    pub(super) fn figures(&self) -> Vec<(&'static str, f64)> {
        vec![("durable_log_records_max", self.records_max as f64), ("durable_log_entries_max", self.entries_max as f64)]
    }
}
