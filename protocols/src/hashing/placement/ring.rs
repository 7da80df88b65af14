//! Consistent hashing on a circle (Karger, Lehman, Leighton, Panigrahy, Levine and Lewin,
//! "Consistent Hashing and Random Trees", STOC 1997, section 4): every server puts `v`
//! points ("virtual nodes") on the circle of 64-bit hashes, and a key belongs to the first
//! point at or after its hash, wrapping around. A join takes over only the arcs in front of
//! the newcomer's points, a leave hands the leaver's arcs to the next points: keys move only
//! to or from the server that changed. Each server's share is a sum of `v` arcs, so its load
//! has a relative spread of about `1 / sqrt(v)`, and the most loaded of `N` servers carries
//! about `1 + sqrt(2 ln N / v)` times the mean.

use std::collections::BTreeMap;

use super::{distinct, sorted, Labels, Placement};
use crate::hashing::hash;
use crate::node::NodeId;
use crate::service::Key;

/// The seed of virtual node points.
const POINT_SEED: u64 = 0x7269_6e67;

/// A ring: points sorted by position, each with its server.
#[derive(Clone, Debug)]
pub struct Ring {
    members: Vec<NodeId>,
    points: Vec<(u64, NodeId)>,
}

impl Ring {
    pub fn new(members: &[NodeId], virtual_nodes: u32, labels: Labels) -> Ring {
        let points = match labels {
            Labels::Hashed => hashed_points(members, virtual_nodes),
            Labels::Concatenated => concatenated_points(members, virtual_nodes),
        };
        Ring { members: members.to_vec(), points }
    }

    /// The points, sorted by position (for tests and the hashing page).
    pub fn points(&self) -> &[(u64, NodeId)] {
        &self.points
    }

    /// The index of the first point at or after `position`, wrapping around.
    pub fn successor(&self, position: u64) -> usize {
        let index = self.points.partition_point(|&(point, _)| point < position);
        if index == self.points.len() {
            0
        } else {
            index
        }
    }
}

/// The points of `members`, `v` each, ordered by position and then by server.
pub fn hashed_points(members: &[NodeId], virtual_nodes: u32) -> Vec<(u64, NodeId)> {
    let mut points: Vec<(u64, NodeId)> = members
        .iter()
        .flat_map(|&member| {
            (0..virtual_nodes).map(move |index| (hash::pair(POINT_SEED, member.into(), index.into()), member))
        })
        .collect();
    points.sort_unstable();
    points
}

/// The flawed points: labels `"{server}{index}"`, kept in a map by position, so two equal
/// labels leave one point, owned by the server inserted last.
fn concatenated_points(members: &[NodeId], virtual_nodes: u32) -> Vec<(u64, NodeId)> {
    let mut points = BTreeMap::new();
    for member in sorted(members) {
        for index in 0..virtual_nodes {
            points.insert(hash::bytes(format!("{member}{index}").as_bytes()), member);
        }
    }
    points.into_iter().collect()
}

impl Placement for Ring {
    fn members(&self) -> &[NodeId] {
        &self.members
    }

    fn owner(&self, key: Key) -> NodeId {
        self.points[self.successor(hash::key(key))].1
    }

    fn owners(&self, key: Key, r: usize) -> Vec<NodeId> {
        let start = self.successor(hash::key(key));
        let clockwise = (0..self.points.len()).map(|step| self.points[(start + step) % self.points.len()].1);
        distinct(clockwise, r, self.members.len())
    }
}
