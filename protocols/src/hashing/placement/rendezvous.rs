//! Rendezvous hashing, or highest random weight (Thaler and Ravishankar, "Using Name-Based
//! Mappings to Increase Hit Rates", IEEE/ACM Transactions on Networking, 1998): every
//! member has a weight for every key, the hash of the pair, and the key belongs to the
//! member of highest weight. A join takes exactly the keys for which the newcomer outweighs
//! everyone, a leave hands each of the leaver's keys to its runner-up: the least movement
//! possible, with no state, for O(N) work per lookup.

use super::{sorted, Placement};
use crate::hashing::hash;
use crate::node::NodeId;
use crate::service::Key;

/// The seed of member weights.
const WEIGHT_SEED: u64 = 0x0068_7277;

#[derive(Clone, Debug)]
pub struct Rendezvous {
    members: Vec<NodeId>,
    /// Each member's own hash, sorted by member, computed once.
    seeds: Vec<(u64, NodeId)>,
}

impl Rendezvous {
    pub fn new(members: &[NodeId]) -> Rendezvous {
        let seeds =
            sorted(members).into_iter().map(|member| (hash::hash(WEIGHT_SEED, member.into()), member)).collect();
        Rendezvous { members: members.to_vec(), seeds }
    }

    /// The weight of `member` (by its seed) for the key hash `key`.
    fn weight(seed: u64, key: u64) -> u64 {
        hash::mix(seed ^ key)
    }
}

impl Placement for Rendezvous {
    fn members(&self) -> &[NodeId] {
        &self.members
    }

    fn owner(&self, key: Key) -> NodeId {
        let key = hash::key(key);
        let best = self.seeds.iter().max_by_key(|&&(seed, member)| (Self::weight(seed, key), member));
        best.expect("a placement has members").1
    }

    fn owners(&self, key: Key, r: usize) -> Vec<NodeId> {
        let key = hash::key(key);
        let mut weighted: Vec<(u64, NodeId)> =
            self.seeds.iter().map(|&(seed, member)| (Self::weight(seed, key), member)).collect();
        weighted.sort_unstable_by(|a, b| b.cmp(a));
        weighted.into_iter().take(r).map(|(_, member)| member).collect()
    }
}
