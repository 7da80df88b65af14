//! Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, "Consistent
//! Hashing with Bounded Loads", SODA 2018): on a ring of `v` virtual nodes per server, each
//! server may take at most `c = ceil((1 + epsilon) K / N)` of the `K` keys; keys are placed
//! in order (here: of the universe `0..K`, ascending), each on the first point clockwise
//! from its hash whose server still has room. The maximum load is at most `c` by
//! construction, whatever the ring's luck; the price is movement: a change of `N` changes
//! `c`, and keys that overflowed walk on, so a join or a leave moves more than `K / N` keys,
//! a few of them between servers that stay (the paper bounds the expected extra by
//! `O(1 / epsilon^2)` per change of one key; the property tests and the page measure it).

use super::ring::{hashed_points, Ring};
use super::{distinct, sorted, Labels, Placement};
use crate::hashing::hash;
use crate::node::NodeId;
use crate::service::Key;

#[derive(Clone, Debug)]
pub struct Bounded {
    ring: Ring,
    /// Per key of the universe, its server.
    assignment: Vec<NodeId>,
    capacity: u64,
}

impl Bounded {
    pub fn new(members: &[NodeId], virtual_nodes: u32, epsilon: f64, keys: u64) -> Bounded {
        let ring = Ring::new(members, virtual_nodes, Labels::Hashed);
        let capacity = ((1.0 + epsilon) * keys as f64 / members.len() as f64).ceil() as u64;
        let servers = sorted(members);
        let mut loads = vec![0u64; servers.len()];
        let points: Vec<(u64, usize)> = hashed_points(members, virtual_nodes)
            .into_iter()
            .map(|(point, member)| (point, servers.binary_search(&member).expect("a member")))
            .collect();
        let mut assignment = Vec::with_capacity(keys as usize);
        for key in 0..keys {
            let start = ring.successor(hash::key(key));
            let mut step = 0;
            let server = loop {
                let (_, server) = points[(start + step) % points.len()];
                if loads[server] < capacity {
                    break server;
                }
                step += 1;
            };
            loads[server] += 1;
            assignment.push(servers[server]);
        }
        Bounded { ring, assignment, capacity }
    }

    /// The most keys a server may take.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }
}

impl Placement for Bounded {
    fn members(&self) -> &[NodeId] {
        self.ring.members()
    }

    fn owner(&self, key: Key) -> NodeId {
        match self.assignment.get(key as usize) {
            Some(&server) => server,
            None => self.ring.owner(key),
        }
    }

    fn owners(&self, key: Key, r: usize) -> Vec<NodeId> {
        let owner = self.owner(key);
        let rest = self.ring.owners(key, r + 1).into_iter().filter(|&member| member != owner);
        distinct(std::iter::once(owner).chain(rest), r, self.ring.members().len())
    }
}
