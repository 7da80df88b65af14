//! Jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash
//! Algorithm", 2014): a key's bucket among `n` numbered buckets is where a seeded random
//! walk of jumps last lands below `n`; going from `n` to `n + 1` buckets moves exactly the
//! keys whose walk lands on bucket `n`, about `1 / (n + 1)` of them, and nothing else. It
//! keeps no state and needs no memory, but it numbers buckets: it can grow and shrink only
//! at the end.
//!
//! Buckets are the view's slots, in order (a join appends a slot). When a server in the
//! middle leaves, the membership puts the last slot's server into the leaver's slot, so the
//! leaver's keys go to that server and the last slot's keys spread over everyone: about
//! `(2 - 1/(N-1)) K / N` keys move instead of `K / N`, some of them between servers that stay.

use super::{distinct, Placement};
use crate::hashing::hash;
use crate::node::NodeId;
use crate::service::Key;

#[derive(Clone, Debug)]
pub struct Jump {
    members: Vec<NodeId>,
}

impl Jump {
    pub fn new(members: &[NodeId]) -> Jump {
        Jump { members: members.to_vec() }
    }
}

/// The paper's function: the bucket in `0..buckets` of the 64-bit `key`.
pub fn bucket(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

impl Placement for Jump {
    fn members(&self) -> &[NodeId] {
        &self.members
    }

    fn owner(&self, key: Key) -> NodeId {
        self.members[bucket(hash::key(key), self.members.len() as u32) as usize]
    }

    fn owners(&self, key: Key, r: usize) -> Vec<NodeId> {
        let first = bucket(hash::key(key), self.members.len() as u32) as usize;
        let slots = (0..self.members.len()).map(|step| self.members[(first + step) % self.members.len()]);
        distinct(slots, r, self.members.len())
    }
}
