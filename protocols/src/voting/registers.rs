//! What a replica of the quorum store or of ABD holds: one register per key, each a value
//! with its version, and the versions themselves.
//!
//! A version is a pair (counter, writer id), ordered by counter and then by writer (Gifford's
//! version numbers made unique per writer, as multi-writer ABD's tags are). A replica keeps
//! the value of the highest version it has been sent and ignores older ones, so storing is
//! idempotent and messages may be repeated, reordered or duplicated.

use std::collections::BTreeMap;
use std::fmt;

use crate::node::{NodeId, SyncId};
use crate::service::{Key, Value};

/// A register version: `counter` first, then the id of the server that assigned it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub counter: u64,
    pub writer: NodeId,
}

impl Version {
    /// The version a writer `writer` assigns after having seen `latest`.
    pub fn after(latest: Version, writer: NodeId) -> Version {
        Version { counter: latest.counter + 1, writer }
    }
}

impl fmt::Display for Version {
    /// `counter.writer`, as in "version 3.1".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.counter, self.writer)
    }
}

/// A register's content: its version and value (`None` before the first write, at version 0.0).
pub type Stored = (Version, Option<Value>);

/// A store of `value` at `version` of `key` waiting for its sync.
pub type Unsynced = (Key, Version, Option<Value>);

/// Every register a replica holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    registers: BTreeMap<Key, Stored>,
}

impl Registers {
    /// What `key` holds.
    pub fn get(&self, key: Key) -> Stored {
        self.registers.get(&key).copied().unwrap_or_default()
    }

    /// Keeps `value` at `version` if that is newer than what `key` holds; true if it was.
    pub fn adopt(&mut self, key: Key, version: Version, value: Option<Value>) -> bool {
        if version <= self.get(key).0 {
            return false;
        }
        self.registers.insert(key, (version, value));
        true
    }

    /// Every register written so far, by key.
    pub fn iter(&self) -> impl Iterator<Item = (Key, Stored)> + '_ {
        self.registers.iter().map(|(&key, &stored)| (key, stored))
    }
}

/// The newest of `stored`, or the initial content if there is none.
pub fn newest(stored: impl IntoIterator<Item = Stored>) -> Stored {
    stored.into_iter().max_by_key(|&(version, _)| version).unwrap_or_default()
}

/// Takes out of `unsynced` the stores that sync `sync` made durable (it covers every
/// earlier sync too), in the order they were made.
pub fn take_synced<T>(unsynced: &mut Vec<(SyncId, T)>, sync: SyncId) -> Vec<(SyncId, T)> {
    let (durable, waiting): (Vec<_>, Vec<_>) = unsynced.drain(..).partition(|(needs, _)| *needs <= sync);
    *unsynced = waiting;
    durable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(counter: u64, writer: NodeId) -> Version {
        Version { counter, writer }
    }

    #[test]
    fn a_register_keeps_the_highest_version_it_was_sent() {
        let mut registers = Registers::default();
        assert_eq!(registers.get(1), (Version::default(), None));
        assert!(registers.adopt(1, version(2, 0), Some(7)));
        assert!(!registers.adopt(1, version(1, 5), Some(8)), "an older version is ignored");
        assert!(!registers.adopt(1, version(2, 0), Some(7)), "storing twice is storing once");
        assert!(registers.adopt(1, version(2, 1), Some(9)), "the writer breaks a tie of counters");
        assert_eq!(registers.get(1), (version(2, 1), Some(9)));
        assert_eq!(registers.iter().collect::<Vec<_>>(), [(1, (version(2, 1), Some(9)))]);
    }

    #[test]
    fn a_writer_numbers_its_version_after_the_latest_it_saw() {
        assert_eq!(Version::after(version(4, 2), 1), version(5, 1));
        assert_eq!(newest([(version(1, 0), Some(3)), (version(4, 2), Some(5)), (version(4, 1), Some(6))]).1, Some(5));
        assert_eq!(newest([]), (Version::default(), None));
    }
}
