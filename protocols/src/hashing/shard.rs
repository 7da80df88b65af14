//! One key's copy: the key-value [`Store`] state machine restricted to that key (its values
//! and the sessions of the clients that updated it, so that a retried command applies once
//! even after the key moved), and the key's position: how many updates it has applied.
//! Positions follow the key from owner to owner, so every update of a key has one position
//! in the key's single history; the lost-writes checker relies on it.

use std::collections::BTreeMap;

use crate::kv::{Command, KvReply, Store};
use crate::node::NodeId;
use crate::service::{Key, Outcome, Value};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    key: Key,
    store: Store,
    position: u64,
    /// Per client, the position of its latest update (to answer a retry with it).
    positions: BTreeMap<NodeId, u64>,
}

impl Shard {
    /// The empty copy of `key`.
    pub fn new(key: Key) -> Shard {
        Shard { key, store: Store::default(), position: 0, positions: BTreeMap::new() }
    }

    /// Applies `command` once: its outcome and, for an update, its position; `None` for a
    /// command older than its client's latest, which needs no answer.
    pub fn apply(&mut self, command: &Command) -> Option<(Outcome<KvReply>, Option<u64>)> {
        let fresh = self.store.session(command.client).is_none_or(|(sequence, _)| sequence < command.sequence);
        let outcome = self.store.apply(command)?;
        if !command.operation.is_update() {
            return Some((outcome, None));
        }
        if fresh {
            self.position += 1;
            self.positions.insert(command.client, self.position);
        }
        Some((outcome, self.positions.get(&command.client).copied()))
    }

    /// How many updates the key has applied.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The key's values, as a read returns them.
    pub fn values(&self) -> Vec<Value> {
        self.store.read(self.key)
    }

    /// Approximate size on the wire: the values and the sessions.
    pub fn size_bytes(&self) -> usize {
        16 + 8 * self.store.read(self.key).len() + 40 * self.positions.len()
    }
}
