//! Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
//! Balancer", NSDI 2016, section 3.4 and Pseudocode 1): every server has a permutation of
//! the `M` table slots (an offset and a skip from two hashes of its name, `M` prime), and
//! the servers take turns claiming their next preferred free slot until the table is full.
//! A lookup is one table read. Every server gets `M / N` slots, give or take one, so the
//! balance is as good as the hash of the keys; a change of membership moves a little more
//! than the minimum (the paper's "minimal disruption" is a goal, not a guarantee), which
//! the property tests and the hashing page measure.

use super::{distinct, sorted, Placement};
use crate::hashing::hash;
use crate::node::NodeId;
use crate::service::Key;

const OFFSET_SEED: u64 = 0x6f66_6673;
const SKIP_SEED: u64 = 0x736b_6970;

#[derive(Clone, Debug)]
pub struct Maglev {
    members: Vec<NodeId>,
    /// The servers, sorted: the turn order (so the table depends on the set only).
    sorted: Vec<NodeId>,
    /// Per slot, the index into `sorted` of its server.
    table: Vec<u32>,
}

impl Maglev {
    /// Maglev's table of `table_size` (a prime larger than the number of members).
    pub fn new(members: &[NodeId], table_size: u64) -> Maglev {
        let sorted = sorted(members);
        assert!(table_size as usize > sorted.len(), "a Maglev table needs more slots than servers");
        Maglev { members: members.to_vec(), table: populate(&sorted, table_size), sorted }
    }

    /// The number of slots each member holds, in sorted member order (for tests).
    pub fn slots(&self) -> Vec<(NodeId, usize)> {
        let mut counts = vec![0; self.sorted.len()];
        for &index in &self.table {
            counts[index as usize] += 1;
        }
        self.sorted.iter().copied().zip(counts).collect()
    }

    fn slot(&self, key: Key) -> usize {
        (hash::key(key) % self.table.len() as u64) as usize
    }
}

/// Pseudocode 1 of the paper: the servers take turns claiming their next free preferred slot.
fn populate(servers: &[NodeId], size: u64) -> Vec<u32> {
    const EMPTY: u32 = u32::MAX;
    let permutation: Vec<(u64, u64)> = servers
        .iter()
        .map(|&server| {
            let offset = hash::hash(OFFSET_SEED, server.into()) % size;
            let skip = hash::hash(SKIP_SEED, server.into()) % (size - 1) + 1;
            (offset, skip)
        })
        .collect();
    let mut next = vec![0u64; servers.len()];
    let mut table = vec![EMPTY; size as usize];
    let mut filled = 0u64;
    loop {
        for (index, &(offset, skip)) in permutation.iter().enumerate() {
            let mut slot = (offset + next[index] * skip) % size;
            while table[slot as usize] != EMPTY {
                next[index] += 1;
                slot = (offset + next[index] * skip) % size;
            }
            table[slot as usize] = index as u32;
            next[index] += 1;
            filled += 1;
            if filled == size {
                return table;
            }
        }
    }
}

impl Placement for Maglev {
    fn members(&self) -> &[NodeId] {
        &self.members
    }

    fn owner(&self, key: Key) -> NodeId {
        self.sorted[self.table[self.slot(key)] as usize]
    }

    fn owners(&self, key: Key, r: usize) -> Vec<NodeId> {
        let first = self.slot(key);
        let entries =
            (0..self.table.len()).map(|step| self.sorted[self.table[(first + step) % self.table.len()] as usize]);
        distinct(entries, r, self.sorted.len())
    }
}
