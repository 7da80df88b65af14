//! Staleness figures: how many reads returned a value older than the newest write
//! acknowledged before the read was invoked, and by how many versions.
//!
//! A linearizable store has none. A store whose quorums do not intersect (R + W <= N), or
//! that counts hints outside the preference list (sloppy quorums), or that skips read repair,
//! shows its cost here as numbers (Bailis et al., "Probabilistically Bounded Staleness for
//! Practical Partial Quorums", VLDB 2012, measure the same k-staleness), not only as a
//! verdict. "Older" is by version, the order the protocol itself gives a key's writes
//! (acknowledgements of concurrent writes may arrive in either order): the clients report
//! which writes were acknowledged and what reads returned, the replicas report the version
//! each value was stored at (values are unique per write, so a value names its write). A read
//! is `k` versions behind if `k` writes acknowledged before it began have a newer version
//! than the value it returned. The figures are counted at the end of the run, when every
//! value's version is known; a value never stored anywhere (which no correct replica
//! returns) counts as not stale.

use std::collections::BTreeMap;

use crate::node::NodeId;
use crate::service::{Key, Value};

use super::client::ClientEvent;
use super::registers::Version;

/// The staleness tally of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Staleness {
    /// The version each written value was stored at.
    versions: BTreeMap<(Key, Value), Version>,
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
        match *event {
            ClientEvent::ReadInvoked { key } => {
                let count = self.acknowledged.get(&key).map_or(0, Vec::len);
                self.reading.insert(client, (key, count));
            }
            ClientEvent::WriteAcknowledged { key, value } => self.acknowledged.entry(key).or_default().push(value),
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

    /// How many versions each read was behind (0: not stale).
    fn behind(&self) -> impl Iterator<Item = u64> + '_ {
        self.reads.iter().map(|&(key, value, before)| {
            let version = match value {
                None => Some(Version::default()),
                Some(value) => self.versions.get(&(key, value)).copied(),
            };
            let Some(version) = version else { return 0 };
            let acknowledged = self.acknowledged.get(&key).map_or(&[][..], |values| &values[..before]);
            let newer = acknowledged.iter().filter(|&&written| self.versions.get(&(key, written)) > Some(&version));
            newer.count() as u64
        })
    }

    /// Reads that returned a value older than the newest write acknowledged before they began.
    pub fn stale_reads(&self) -> u64 {
        self.behind().filter(|&behind| behind > 0).count() as u64
    }

    /// The figures, as (name, value): reads returned, stale reads, and the most and the mean
    /// versions a stale read was behind (0 without stale reads).
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
        assert_eq!(figure(&staleness, "stale_reads_behind_max"), 3.0, "the initial value is 3 versions behind");
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
}
