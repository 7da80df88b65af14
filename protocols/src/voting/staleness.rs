//! Staleness figures: how many reads returned a value older than a write acknowledged
//! before the read was invoked, and by how many such writes.
//!
//! A linearizable store has none. A store whose quorums do not intersect (R + W <= N), or
//! that counts hints outside the preference list (sloppy quorums), or that skips read repair,
//! shows its cost here as numbers (Bailis et al., "Probabilistically Bounded Staleness for
//! Practical Partial Quorums", VLDB 2012, measure the same k-staleness), not only as a
//! verdict. The clients report when writes were invoked and acknowledged and what reads
//! returned; the replicas report the version each value was stored at (values are unique
//! per write, so a value names its write). A write `w` acknowledged before a read began is
//! newer than the value `v` the read returned if `w` has the higher version (the order the
//! store gives a key's writes; acknowledgements of concurrent writes may arrive in either
//! order), or if `w` was invoked after `v`'s write was acknowledged (real-time order, which
//! any linearization keeps: it catches a sloppy coordinator that numbered a later write
//! below an earlier one). A read is `k` writes behind if `k` such writes are newer; `k > 0`
//! is a stale read. The figures are counted at the end of the run, when every value's
//! version is known; a value never stored anywhere counts as not stale.

use std::collections::BTreeMap;

use crate::node::NodeId;
use crate::service::{Key, Value};

use super::client::ClientEvent;
use super::registers::Version;

/// The staleness tally of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Staleness {
    /// Client events seen so far: the clock of `invoked` and `acked`.
    events: u64,
    /// The version each written value was stored at.
    versions: BTreeMap<(Key, Value), Version>,
    /// When each write was invoked and acknowledged, in client events.
    invoked: BTreeMap<(Key, Value), u64>,
    acked: BTreeMap<(Key, Value), u64>,
    /// Per key, the values of its acknowledged writes, in the order they were acknowledged.
    acknowledged: BTreeMap<Key, Vec<Value>>,
    /// Per client, its read in progress: the key and how many writes of it were acknowledged
    /// when the read was invoked.
    reading: BTreeMap<NodeId, (Key, usize)>,
    /// Every read returned: its key, its value, and the acknowledged writes before it began.
    reads: Vec<(Key, Option<Value>, usize)>,
}

impl Staleness {
    /// `client` saw `event`.
    pub fn observe(&mut self, client: NodeId, event: &ClientEvent) {
        self.events += 1;
        match *event {
            ClientEvent::WriteInvoked { key, value } => {
                self.invoked.insert((key, value), self.events);
            }
            ClientEvent::ReadInvoked { key } => {
                let count = self.acknowledged.get(&key).map_or(0, Vec::len);
                self.reading.insert(client, (key, count));
            }
            ClientEvent::WriteAcknowledged { key, value } => {
                self.acked.insert((key, value), self.events);
                self.acknowledged.entry(key).or_default().push(value);
            }
            ClientEvent::ReadReturned { key, value } => {
                let Some((reading, before)) = self.reading.remove(&client) else { return };
                debug_assert_eq!(reading, key);
                self.reads.push((key, value, before));
            }
        }
    }

    /// A replica stored (or took a hint of) `value` at `version` of `key`.
    pub fn stored(&mut self, key: Key, version: Version, value: Option<Value>) {
        if let Some(value) = value {
            self.versions.entry((key, value)).or_insert(version);
        }
    }

    /// How many writes acknowledged before each read began are newer than its value (0: not stale).
    fn behind(&self) -> impl Iterator<Item = u64> + '_ {
        self.reads.iter().map(move |&(key, value, before)| {
            let acknowledged = self.acknowledged.get(&key).map_or(&[][..], |values| &values[..before]);
            let newer = |written: Value| match value {
                None => true,
                Some(value) => {
                    let version = |value| self.versions.get(&(key, value));
                    let by_version = matches!((version(written), version(value)), (Some(w), Some(v)) if w > v);
                    let after = |map: &BTreeMap<(Key, Value), u64>, value| map.get(&(key, value)).copied();
                    let by_time = matches!((after(&self.invoked, written), after(&self.acked, value)), (Some(w), Some(v)) if w > v);
                    by_version || by_time
                }
            };
            acknowledged.iter().filter(|&&written| newer(written)).count() as u64
        })
    }

    /// Reads that returned a value older than the newest write acknowledged before they began.
    pub fn stale_reads(&self) -> u64 {
        self.behind().filter(|&behind| behind > 0).count() as u64
    }

    /// The figures, as (name, value): reads returned, stale reads, and the most and the mean
    /// newer writes a stale read was behind (0 without stale reads).
    pub fn figures(&self) -> Vec<(&'static str, f64)> {
        let stale: Vec<u64> = self.behind().filter(|&behind| behind > 0).collect();
        let max = stale.iter().copied().max().unwrap_or(0);
        let mean = if stale.is_empty() { 0.0 } else { stale.iter().sum::<u64>() as f64 / stale.len() as f64 };
        vec![
            ("reads_returned", self.reads.len() as f64),
            ("stale_reads", stale.len() as f64),
            ("stale_reads_behind_max", max as f64),
            ("stale_reads_behind_mean", mean),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(staleness: &Staleness, name: &str) -> f64 {
        staleness.figures().into_iter().find(|(figure, _)| *figure == name).expect("a figure").1
    }

    fn version(counter: u64) -> Version {
        Version { counter, writer: 0 }
    }

    #[test]
    fn a_read_older_than_writes_acknowledged_before_it_began_is_stale_by_their_number() {
        let mut staleness = Staleness::default();
        for (counter, value) in [(1, 10), (2, 11), (3, 12)] {
            staleness.stored(0, version(counter), Some(value));
            staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value });
        }
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(10) });
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: None });
        assert_eq!(staleness.stale_reads(), 2);
        assert_eq!(figure(&staleness, "stale_reads_behind_max"), 3.0, "the initial value is 3 writes behind");
        assert_eq!(figure(&staleness, "stale_reads_behind_mean"), 2.5);
        assert_eq!(figure(&staleness, "reads_returned"), 2.0);
    }

    #[test]
    fn the_latest_value_a_value_in_flight_and_other_keys_are_not_stale() {
        let mut staleness = Staleness::default();
        staleness.stored(0, version(1), Some(10));
        staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value: 10 });
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.stored(0, version(2), Some(11));
        staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value: 11 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(10) });
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.stored(0, version(3), Some(12));
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(12) });
        staleness.observe(7, &ClientEvent::ReadInvoked { key: 1 });
        staleness.observe(7, &ClientEvent::ReadReturned { key: 1, value: None });
        assert_eq!(staleness.stale_reads(), 0, "{staleness:?}");
        assert_eq!(figure(&staleness, "reads_returned"), 3.0);
        assert_eq!(figure(&staleness, "stale_reads_behind_mean"), 0.0);
    }

    #[test]
    fn concurrent_writes_acknowledged_out_of_version_order_are_ordered_by_version() {
        let mut staleness = Staleness::default();
        // Two concurrent writes: 11 gets the higher version but is acknowledged first.
        staleness.stored(0, version(1), Some(10));
        staleness.stored(0, version(2), Some(11));
        staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value: 11 });
        staleness.observe(4, &ClientEvent::WriteAcknowledged { key: 0, value: 10 });
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(11) });
        assert_eq!(staleness.stale_reads(), 0, "11 is the newest, though acknowledged first");
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(10) });
        assert_eq!((staleness.stale_reads(), figure(&staleness, "stale_reads_behind_max")), (1, 1.0));
    }

    #[test]
    fn a_write_invoked_after_the_value_was_acknowledged_is_newer_whatever_its_version() {
        let mut staleness = Staleness::default();
        // A sloppy coordinator that missed write 10 numbers the later write 11 below it.
        staleness.observe(5, &ClientEvent::WriteInvoked { key: 0, value: 10 });
        staleness.stored(0, version(2), Some(10));
        staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value: 10 });
        staleness.observe(5, &ClientEvent::WriteInvoked { key: 0, value: 11 });
        staleness.stored(0, version(1), Some(11));
        staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value: 11 });
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(10) });
        assert_eq!((staleness.stale_reads(), figure(&staleness, "stale_reads_behind_max")), (1, 1.0));
    }
}
