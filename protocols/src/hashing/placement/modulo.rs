//! The naive placement: the key's hash modulo the number of members (sorted by id). It
//! balances as well as any hash, but a change of `N` moves a key unless its hash gives the
//! same remainder modulo `N` and `N + 1`: about `N / (N + 1)` of all keys move on a join.
//! The baseline that shows why consistent hashing exists; correct, only expensive.

use super::{distinct, sorted, Placement};
use crate::hashing::hash;
use crate::node::NodeId;
use crate::service::Key;

#[derive(Clone, Debug)]
pub struct Modulo {
    members: Vec<NodeId>,
    sorted: Vec<NodeId>,
}

impl Modulo {
    pub fn new(members: &[NodeId]) -> Modulo {
        Modulo { members: members.to_vec(), sorted: sorted(members) }
    }

    fn slot(&self, key: Key) -> usize {
        (hash::key(key) % self.sorted.len() as u64) as usize
    }
}

impl Placement for Modulo {
    fn members(&self) -> &[NodeId] {
        &self.members
    }

    fn owner(&self, key: Key) -> NodeId {
        self.sorted[self.slot(key)]
    }

    fn owners(&self, key: Key, r: usize) -> Vec<NodeId> {
        let first = self.slot(key);
        let slots = (0..self.sorted.len()).map(|step| self.sorted[(first + step) % self.sorted.len()]);
        distinct(slots, r, self.sorted.len())
    }
}
