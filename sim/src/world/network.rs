//! The simulated network: per-message latency from a distribution (reordering follows
//! from its spread), loss, duplication, optional FIFO links, and link faults (partitions,
//! one-way cuts, isolation, bridges).
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
    /// Whether this fault blocks `from` -> `to`, in a world whose servers are `0..servers`.
    fn blocks(&self, from: NodeId, to: NodeId, servers: NodeId) -> bool {
        let is_client = |node: NodeId| node >= servers;
        match self {
            LinkFault::Partition { groups } => {
                let group = |node| groups.iter().position(|group| group.contains(&node));
                let (from_group, to_group) = (group(from), group(to));
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
    /// Per directed link, the last delivery time scheduled (FIFO links only).
    last_delivery: Option<Vec<Time>>,
    rng: ChaCha8Rng,
}

impl Network {
    pub fn new(config: &scenario::Network, servers: usize, processes: usize, rng: ChaCha8Rng) -> Network {
        Network {
            latency: config.latency.clone(),
            loss: config.loss,
            duplicate: config.duplicate,
            servers,
            processes,
            blocked: vec![false; processes * processes],
            faults: Vec::new(),
            last_delivery: config.fifo.then(|| vec![0; processes * processes]),
            rng,
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
        let at = self.delivery_time(now, from, to);
        let copy_at =
            (self.duplicate > 0.0 && self.rng.gen::<f64>() < self.duplicate).then(|| self.delivery_time(now, from, to));
        Route::Deliver { at, copy_at }
    }

    /// Whether a fault in force blocks `from` -> `to`.
    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.blocked[from as usize * self.processes + to as usize]
    }

    pub fn add_fault(&mut self, id: u64, fault: LinkFault) {
        self.faults.push((id, fault));
        self.recompute();
    }

    /// Removes one fault; true if it was in force.
    pub fn remove_fault(&mut self, id: u64) -> bool {
        let before = self.faults.len();
        self.faults.retain(|(fault, _)| *fault != id);
        self.recompute();
        self.faults.len() != before
    }

    pub fn heal(&mut self) {
        self.faults.clear();
        self.recompute();
    }

    pub fn has_faults(&self) -> bool {
        !self.faults.is_empty()
    }

    fn recompute(&mut self) {
        let (n, servers) = (self.processes, self.servers as NodeId);
        for from in 0..n {
            for to in 0..n {
                let blocks = |fault: &LinkFault| fault.blocks(from as NodeId, to as NodeId, servers);
                self.blocked[from * n + to] = self.faults.iter().any(|(_, fault)| blocks(fault));
            }
        }
    }

    fn delivery_time(&mut self, now: Time, from: NodeId, to: NodeId) -> Time {
        let at = now + self.sample_latency();
        match &mut self.last_delivery {
            Some(last) => {
                let link = &mut last[from as usize * self.processes + to as usize];
                *link = (*link).max(at);
                *link
            }
            None => at,
        }
    }

    fn sample_latency(&mut self) -> Time {
        sample(&self.latency, &mut self.rng)
    }
}

/// A duration drawn from `latency` (no draw at all for a constant).
pub fn sample(latency: &Latency, rng: &mut ChaCha8Rng) -> Time {
    let ms = match *latency {
        Latency::Constant { ms } => ms,
        Latency::Uniform { min_ms, max_ms } => min_ms + (max_ms - min_ms) * rng.gen::<f64>(),
        Latency::Exponential { mean_ms, min_ms } => min_ms + exponential(rng, mean_ms),
        Latency::Lognormal { median_ms, sigma } => median_ms * (sigma * standard_normal(rng)).exp(),
    };
    (ms * MILLISECOND as f64) as Time
}

/// An exponential draw with the given mean.
pub fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

/// A standard normal draw (Box-Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
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
    fn fifo_links_never_deliver_out_of_order() {
        let mut net = network(true, Latency::Uniform { min_ms: 1.0, max_ms: 50.0 });
        let mut last = 0;
        for now in 0..200 {
            let Route::Deliver { at, .. } = net.route(now, 0, 1) else { panic!("no faults, no loss") };
            assert!(at >= last);
            last = at;
        }
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
