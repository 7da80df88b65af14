//! The simulated network: per-message latency from a distribution (reordering follows
//! from its spread), loss, duplication, and link faults (partitions, one-way cuts,
//! isolation, bridges). FIFO links are connections (`connections.rs`), which put messages
//! back in order at the receiver; the network makes no duplicates on them, as TCP delivers
//! each segment once.
//!
//! Link faults cut the links between the servers they name, and the links of the clients
//! they name: a client in a partition's group reaches only that group's servers, an
//! isolated client reaches no server, a cut names any processes. Clients a fault does not
//! name reach every server, so isolating a server cuts it off from the other servers only
//! (its clients still reach it, as clients of a deposed leader do).

use protocols::node::{NodeId, Time, MILLISECOND};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{self, Latency};

/// A fault on server links, in force until it is removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkFault {
    /// Servers in different groups cannot talk; servers in no group form one group.
    Partition {
        groups: Vec<Vec<NodeId>>,
    },
    Cut {
        from: Vec<NodeId>,
        to: Vec<NodeId>,
    },
    Isolate {
        node: NodeId,
    },
    Bridge {
        left: Vec<NodeId>,
        right: Vec<NodeId>,
    },
}

impl LinkFault {
    /// Marks in `blocked` (row-major by sender, `processes` wide) every directed link this
    /// fault blocks, in a world whose servers are `0..servers`.
    fn mark(&self, servers: NodeId, processes: usize, blocked: &mut [bool]) {
        // A partition's group of each process, looked up once rather than once a link.
        let group: Vec<Option<usize>> = match self {
            LinkFault::Partition { groups } => {
                (0..processes as NodeId).map(|node| groups.iter().position(|group| group.contains(&node))).collect()
            }
            _ => Vec::new(),
        };
        for from in 0..processes {
            for to in 0..processes {
                if self.blocks(from as NodeId, to as NodeId, servers, &group) {
                    blocked[from * processes + to] = true;
                }
            }
        }
    }

    /// Whether this fault blocks `from` -> `to`, in a world whose servers are `0..servers`;
    /// `group` holds each process's group for a partition.
    fn blocks(&self, from: NodeId, to: NodeId, servers: NodeId, group: &[Option<usize>]) -> bool {
        let is_client = |node: NodeId| node >= servers;
        match self {
            LinkFault::Partition { .. } => {
                let (from_group, to_group) = (group[from as usize], group[to as usize]);
                let free = |node, group: Option<usize>| is_client(node) && group.is_none();
                !free(from, from_group) && !free(to, to_group) && from_group != to_group
            }
            LinkFault::Cut { from: sources, to: targets } => sources.contains(&from) && targets.contains(&to),
            LinkFault::Isolate { node } if is_client(*node) => (from == *node) != (to == *node),
            LinkFault::Isolate { node } => !is_client(from) && !is_client(to) && (from == *node) != (to == *node),
            LinkFault::Bridge { left, right } => {
                (left.contains(&from) && right.contains(&to)) || (right.contains(&from) && left.contains(&to))
            }
        }
    }
}

/// What happens to one message handed to the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Deliver { at: Time, copy_at: Option<Time> },
    Lost,
    Blocked,
}

pub struct Network {
    latency: Latency,
    loss: f64,
    duplicate: f64,
    servers: usize,
    processes: usize,
    /// Directed links that some fault blocks, row-major by sender.
    blocked: Vec<bool>,
    faults: Vec<(u64, LinkFault)>,
    rng: ChaCha8Rng,
    /// The second normal draw of the last polar pair, not used yet.
    spare_normal: Option<f64>,
}

impl Network {
    pub fn new(config: &scenario::Network, servers: usize, processes: usize, rng: ChaCha8Rng) -> Network {
        Network {
            latency: config.latency.clone(),
            loss: config.loss,
            duplicate: if config.fifo { 0.0 } else { config.duplicate },
            servers,
            processes,
            blocked: vec![false; processes * processes],
            faults: Vec::new(),
            rng,
            spare_normal: None,
        }
    }

    /// Decides the fate of a message sent at `now`.
    pub fn route(&mut self, now: Time, from: NodeId, to: NodeId) -> Route {
        if self.is_blocked(from, to) {
            return Route::Blocked;
        }
        if self.loss > 0.0 && self.rng.gen::<f64>() < self.loss {
            return Route::Lost;
        }
        let at = now + self.sample_latency();
        let copy_at =
            (self.duplicate > 0.0 && self.rng.gen::<f64>() < self.duplicate).then(|| now + self.sample_latency());
        Route::Deliver { at, copy_at }
    }

    /// Whether a fault in force blocks `from` -> `to`.
    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.blocked[from as usize * self.processes + to as usize]
    }

    pub fn add_fault(&mut self, id: u64, fault: LinkFault) {
        fault.mark(self.servers as NodeId, self.processes, &mut self.blocked);
        self.faults.push((id, fault));
    }

    /// Removes one fault; true if it was in force.
    pub fn remove_fault(&mut self, id: u64) -> bool {
        let before = self.faults.len();
        self.faults.retain(|(fault, _)| *fault != id);
        if self.faults.len() == before {
            return false;
        }
        self.recompute();
        true
    }

    pub fn heal(&mut self) {
        self.faults.clear();
        self.blocked.fill(false);
    }

    pub fn has_faults(&self) -> bool {
        !self.faults.is_empty()
    }

    /// The blocked links of the faults in force, from scratch (after one is removed).
    fn recompute(&mut self) {
        self.blocked.fill(false);
        for (_, fault) in &self.faults {
            fault.mark(self.servers as NodeId, self.processes, &mut self.blocked);
        }
    }

    fn sample_latency(&mut self) -> Time {
        sample(&self.latency, &mut self.rng, &mut self.spare_normal)
    }
}

/// A duration drawn from `latency` (no draw at all for a constant); `spare_normal` keeps
/// the second normal of a polar pair for the next lognormal draw.
pub fn sample(latency: &Latency, rng: &mut ChaCha8Rng, spare_normal: &mut Option<f64>) -> Time {
    let ms = match *latency {
        Latency::Constant { ms } => ms,
        Latency::Uniform { min_ms, max_ms } => min_ms + (max_ms - min_ms) * rng.gen::<f64>(),
        Latency::Exponential { mean_ms, min_ms } => min_ms + exponential(rng, mean_ms),
        Latency::Lognormal { median_ms, sigma } => {
            let normal = spare_normal.take().unwrap_or_else(|| {
                let (first, second) = normal_pair(rng);
                *spare_normal = Some(second);
                first
            });
            median_ms * (sigma * normal).exp()
        }
    };
    (ms * MILLISECOND as f64) as Time
}

/// An exponential draw with the given mean.
pub fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

/// Two independent standard normal draws (Marsaglia's polar method: exact, and with one
/// logarithm and one square root for the pair instead of Box-Muller's cosine and sine).
fn normal_pair(rng: &mut ChaCha8Rng) -> (f64, f64) {
    loop {
        let (u, v) = (2.0 * rng.gen::<f64>() - 1.0, 2.0 * rng.gen::<f64>() - 1.0);
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            let scale = (-2.0 * s.ln() / s).sqrt();
            return (u * scale, v * scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn network(fifo: bool, latency: Latency) -> Network {
        let config = scenario::Network { latency, fifo, ..scenario::Network::default() };
        Network::new(&config, 5, 6, ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn partition_groups_block_across_and_not_within() {
        let mut net = network(false, Latency::default());
        net.add_fault(1, LinkFault::Partition { groups: vec![vec![0, 1]] });
        assert!(!net.is_blocked(0, 1));
        assert!(net.is_blocked(0, 2) && net.is_blocked(2, 0));
        assert!(!net.is_blocked(2, 4), "unlisted servers form one group");
        assert!(!net.is_blocked(5, 0), "a client no group names reaches every server");
        assert!(net.remove_fault(1));
        assert!(!net.is_blocked(0, 2));
    }

    #[test]
    fn cuts_are_one_way_and_bridges_join_two_sides() {
        let mut net = network(false, Latency::default());
        net.add_fault(1, LinkFault::Cut { from: vec![0], to: vec![1] });
        assert!(net.is_blocked(0, 1) && !net.is_blocked(1, 0));
        net.heal();
        net.add_fault(2, LinkFault::Bridge { left: vec![0, 1], right: vec![3, 4] });
        assert!(net.is_blocked(0, 3) && net.is_blocked(4, 1));
        assert!(!net.is_blocked(0, 2) && !net.is_blocked(2, 4));
        net.add_fault(3, LinkFault::Isolate { node: 2 });
        assert!(net.is_blocked(2, 0) && net.is_blocked(4, 2) && !net.is_blocked(0, 1));
    }

    #[test]
    fn removing_one_of_two_faults_keeps_the_links_the_other_blocks() {
        let mut net = network(false, Latency::default());
        net.add_fault(1, LinkFault::Isolate { node: 0 });
        net.add_fault(2, LinkFault::Partition { groups: vec![vec![0, 1], vec![2, 3, 4]] });
        assert!(net.is_blocked(0, 1) && net.is_blocked(1, 2));
        assert!(!net.remove_fault(3), "no fault 3 in force");
        assert!(net.remove_fault(2));
        assert!(net.is_blocked(0, 1) && net.is_blocked(3, 0), "the isolation still holds");
        assert!(!net.is_blocked(1, 2) && !net.is_blocked(5, 0), "the partition is gone");
    }

    #[test]
    fn fifo_links_make_no_duplicates() {
        let config =
            scenario::Network { latency: Latency::default(), loss: 0.0, duplicate: 1.0, fifo: true, replay: 0.0 };
        let mut net = Network::new(&config, 3, 3, ChaCha8Rng::seed_from_u64(1));
        assert_eq!(net.route(0, 0, 1), Route::Deliver { at: MILLISECOND, copy_at: None });
    }

    #[test]
    fn loss_one_loses_everything_and_duplicate_one_copies_everything() {
        let config = scenario::Network { loss: 1.0, ..scenario::Network::default() };
        let mut net = Network::new(&config, 3, 3, ChaCha8Rng::seed_from_u64(1));
        assert_eq!(net.route(0, 0, 1), Route::Lost);
        let config = scenario::Network { duplicate: 1.0, ..scenario::Network::default() };
        let mut net = Network::new(&config, 3, 3, ChaCha8Rng::seed_from_u64(1));
        assert_eq!(net.route(0, 0, 1), Route::Deliver { at: MILLISECOND, copy_at: Some(MILLISECOND) });
    }
}
