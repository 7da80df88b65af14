//! Not a property but a figure: how large the servers' durable logs grew, in records and in
//! the log entries those records hold, the largest seen after any input, over all servers
//! and per server (for the first nine). Snapshots keep them bounded however long a run
//! lasts (thesis chapter 5).

use crate::node::{NodeId, View};
use crate::raft::{RaftHost, RaftRecord};

/// The per-server figures' names.
const ENTRIES_MAX_OF_SERVER: [&str; 9] = [
    "durable_log_entries_max_server_0",
    "durable_log_entries_max_server_1",
    "durable_log_entries_max_server_2",
    "durable_log_entries_max_server_3",
    "durable_log_entries_max_server_4",
    "durable_log_entries_max_server_5",
    "durable_log_entries_max_server_6",
    "durable_log_entries_max_server_7",
    "durable_log_entries_max_server_8",
];

#[derive(Debug, Default)]
pub(super) struct DurableLog {
    records_max: usize,
    /// Per server seen (by id), the most entries its durable log held.
    entries_max: Vec<usize>,
    /// Per server seen, what was counted of its log: its rewrites then, how many records,
    /// and the entries they hold (a log only appended to since is counted from there on).
    counted: Vec<(u64, usize, usize)>,
}

impl DurableLog {
    /// The full form: `node`'s durable log counted from its first record.
    pub(super) fn inspect_whole_log<H: RaftHost>(&mut self, node: NodeId, world: &dyn View<H>) {
        if let Some(counted) = self.counted.get_mut(node as usize) {
            *counted = (0, 0, 0);
        }
        self.inspect(node, world);
    }

    /// The durable log of `node`, which just handled an input: only the records appended
    /// since it was last counted, unless it was rewritten since.
    pub(super) fn inspect<H: RaftHost>(&mut self, node: NodeId, world: &dyn View<H>) {
        let (records, _) = world.log(node);
        let rewrites = world.log_rewrites(node);
        if self.entries_max.len() <= node as usize {
            self.entries_max.resize(node as usize + 1, 0);
            self.counted.resize(node as usize + 1, (0, 0, 0));
        }
        let (counted_rewrites, counted_records, counted_entries) = self.counted[node as usize];
        let (from, before) = if counted_rewrites == rewrites && counted_records <= records.len() {
            (counted_records, counted_entries)
        } else {
            (0, 0)
        };
        let entries = before
            + records[from..]
                .iter()
                .filter_map(H::as_record)
                .map(|record| match record {
                    RaftRecord::Entries { entries, .. } => entries.len(),
                    _ => 0,
                })
                .sum::<usize>();
        self.counted[node as usize] = (rewrites, records.len(), entries);
        self.records_max = self.records_max.max(records.len());
        let most = &mut self.entries_max[node as usize];
        *most = (*most).max(entries);
    }

    pub(super) fn figures(&self) -> Vec<(&'static str, f64)> {
        let entries_max = self.entries_max.iter().copied().max().unwrap_or(0);
        let mut figures =
            vec![("durable_log_records_max", self.records_max as f64), ("durable_log_entries_max", entries_max as f64)];
        let per_server = ENTRIES_MAX_OF_SERVER.iter().zip(&self.entries_max);
        figures.extend(per_server.map(|(&name, &most)| (name, most as f64)));
        figures
    }
}
