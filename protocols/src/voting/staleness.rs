//! Staleness figures: how many reads returned a value older than the latest write
//! acknowledged before the read was invoked, and by how many acknowledged writes.
//!
//! A linearizable store has none. A store whose quorums do not intersect (R + W <= N), or
//! that counts hints outside the preference list (sloppy quorums), or that skips read repair,
//! shows its cost here as numbers (Bailis et al., "Probabilistically Bounded Staleness for
//! Practical Partial Quorums", VLDB 2012, measure the same k-staleness), not only as a
//! verdict. The figures come from what the clients saw: the order in which writes were
//! acknowledged to their clients, and the values reads returned. Values are unique per
//! write, so a value names its write. A read that returns a value whose write was not
//! acknowledged before the read began (one in flight, or never acknowledged) is not counted
//! stale: it may be the newest.

use std::collections::BTreeMap;

use crate::node::NodeId;
use crate::service::{Key, Value};

use super::client::ClientEvent;

/// The staleness tally of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Staleness {
    /// Per key, how many writes were acknowledged, and the position of each written value
    /// in that order (from 1).
    acknowledged: BTreeMap<Key, (usize, BTreeMap<Value, usize>)>,
    /// Per client, its read in progress: the key and how many of its writes were
    /// acknowledged when the read was invoked.
    reading: BTreeMap<NodeId, (Key, usize)>,
    reads: u64,
    stale: u64,
    behind_total: u64,
    behind_max: u64,
}

impl Staleness {
    /// `client` saw `event`.
    pub fn observe(&mut self, client: NodeId, event: &ClientEvent) {
        match *event {
            ClientEvent::ReadInvoked { key } => {
                let count = self.acknowledged.get(&key).map_or(0, |(count, _)| *count);
                self.reading.insert(client, (key, count));
            }
            ClientEvent::WriteAcknowledged { key, value } => {
                let (count, positions) = self.acknowledged.entry(key).or_default();
                *count += 1;
                positions.insert(value, *count);
            }
            ClientEvent::ReadReturned { key, value } => {
                let Some((reading, latest)) = self.reading.remove(&client) else { return };
                debug_assert_eq!(reading, key);
                self.reads += 1;
                let position = match value {
                    None => Some(0),
                    Some(value) => self.acknowledged.get(&key).and_then(|(_, positions)| positions.get(&value).copied()),
                };
                let behind = position.filter(|&position| position < latest).map(|position| latest - position);
                if let Some(behind) = behind {
                    self.stale += 1;
                    self.behind_total += behind as u64;
                    self.behind_max = self.behind_max.max(behind as u64);
                }
            }
        }
    }

    /// Reads that returned a value older than the latest write acknowledged before they began.
    pub fn stale_reads(&self) -> u64 {
        self.stale
    }

    /// The figures, as (name, value): reads returned, stale reads, and the most and the mean
    /// acknowledged writes a stale read was behind (0 without stale reads).
    pub fn figures(&self) -> Vec<(&'static str, f64)> {
        let mean = if self.stale > 0 { self.behind_total as f64 / self.stale as f64 } else { 0.0 };
        vec![
            ("reads_returned", self.reads as f64),
            ("stale_reads", self.stale as f64),
            ("stale_reads_behind_max", self.behind_max as f64),
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

    #[test]
    fn a_read_older_than_writes_acknowledged_before_it_began_is_stale_by_their_number() {
        let mut staleness = Staleness::default();
        for value in [10, 11, 12] {
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
        staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value: 10 });
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.observe(5, &ClientEvent::WriteAcknowledged { key: 0, value: 11 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(10) });
        staleness.observe(6, &ClientEvent::ReadInvoked { key: 0 });
        staleness.observe(6, &ClientEvent::ReadReturned { key: 0, value: Some(12) });
        staleness.observe(7, &ClientEvent::ReadInvoked { key: 1 });
        staleness.observe(7, &ClientEvent::ReadReturned { key: 1, value: None });
        assert_eq!(staleness.stale_reads(), 0, "{staleness:?}");
        assert_eq!(figure(&staleness, "reads_returned"), 3.0);
        assert_eq!(figure(&staleness, "stale_reads_behind_mean"), 0.0);
    }
}
