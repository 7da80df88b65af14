//! Placement schemes: which servers own a key, given the members. Pure, deterministic code
//! shared by the sharded store's servers and clients, the property tests, the
//! `faultline hashing` page and the lookup benchmark.
//!
//! A [`Scheme`] says which placement and with what parameters; [`Scheme::place`] builds its
//! [`Placement`] for one membership (the members in the view's order), doing once whatever
//! depends on the members (sorting the ring's points, filling Maglev's table, assigning
//! bounded loads), so that `owner(key)` and `owners(key, r)` are cheap lookups. The
//! schemes, each in its own file:
//!
//! - [`ring`]: consistent hashing on a circle with `v` virtual nodes per server (Karger et
//!   al., "Consistent Hashing and Random Trees", STOC 1997): a key belongs to the first
//!   point clockwise from its hash. Max/mean load is about `1 + sqrt(2 ln N / v)`.
//! - [`rendezvous`]: highest random weight (Thaler and Ravishankar, "Using Name-Based
//!   Mappings to Increase Hit Rates", IEEE/ACM ToN 1998): a key belongs to the member whose
//!   hash with the key is largest. O(N) per lookup, minimal movement, no state.
//! - [`jump`]: jump consistent hash (Lamping and Veach, 2014): a key maps to one of `N`
//!   numbered buckets with no state; buckets are the view's slots, so a join appends a
//!   slot and a leave moves the last slot's server into the leaver's.
//! - [`bounded`]: consistent hashing with bounded loads (Mirrokni, Thorup and
//!   Zadimoghaddam, SODA 2018): every server takes at most `ceil((1 + epsilon) K / N)` of
//!   the `K` keys of a fixed universe; a key that finds its server full walks on clockwise.
//! - [`maglev`]: Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
//!   Network Load Balancer", NSDI 2016, section 3.4): a lookup table of prime size `M`
//!   filled round-robin from each server's permutation of the slots.
//! - [`modulo`]: the naive `hash mod N`, the baseline that moves almost every key.
//!
//! Replicas (`owners(key, r)`) are the owner followed by the next distinct servers in the
//! scheme's own order: clockwise on the ring, by weight for rendezvous, the following
//! slots for jump and modulo, the following table entries for Maglev, and for bounded loads
//! the next distinct servers clockwise on its ring.

pub mod bounded;
pub mod jump;
pub mod maglev;
pub mod modulo;
pub mod rendezvous;
pub mod ring;
#[cfg(test)]
mod tests;

use serde::Deserialize;

use crate::node::NodeId;
use crate::service::Key;

/// The placement of keys on one membership.
pub trait Placement {
    /// The members it places keys on, in the view's order.
    fn members(&self) -> &[NodeId];

    /// The server that owns `key`.
    fn owner(&self, key: Key) -> NodeId;

    /// `r` distinct servers that hold `key`, its owner first (every member if there are
    /// fewer than `r`).
    fn owners(&self, key: Key, r: usize) -> Vec<NodeId>;
}

/// How ring labels are made: the correct way, or by string concatenation (a flaw).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Labels {
    /// The point of virtual node `i` of server `s` is the hash of the pair `(s, i)`, and
    /// points at the same position are ordered by server: no two servers share a point.
    #[default]
    Hashed,
    /// The `label-collision` flaw: the label is the string `"{s}{i}"`, so server 1's point
    /// 11 and server 11's point 1 are both `"111"`, and the ring keeps one of them (the
    /// server inserted last wins). A balance bug found in Uber's ringpop.
    Concatenated,
}

/// A placement scheme and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Scheme {
    Ring {
        virtual_nodes: u32,
        labels: Labels,
    },
    Rendezvous,
    Jump,
    /// Bounded loads over the key universe `0..keys`; a key outside it is placed by the
    /// plain ring.
    Bounded {
        virtual_nodes: u32,
        epsilon: f64,
        keys: u64,
    },
    /// Maglev with a table of `table_size` entries (a prime above the number of members).
    Maglev {
        table_size: u64,
    },
    Modulo,
}

/// The most virtual nodes per server a scheme takes.
pub const VIRTUAL_NODES_MAX: u32 = 10_000;
/// The largest Maglev table.
pub const TABLE_SIZE_MAX: u64 = 1_000_003;
/// The largest key universe of bounded loads.
pub const KEYS_MAX: u64 = 10_000_000;

impl Scheme {
    /// The scheme's name, as a scenario's `scheme` setting and the hashing page say it.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Ring { labels: Labels::Hashed, .. } => "ring",
            Scheme::Ring { labels: Labels::Concatenated, .. } => "ring (concatenated labels)",
            Scheme::Rendezvous => "rendezvous",
            Scheme::Jump => "jump",
            Scheme::Bounded { .. } => "bounded",
            Scheme::Maglev { .. } => "maglev",
            Scheme::Modulo => "modulo",
        }
    }

    /// The placement of keys on `members` (in the view's order; at least one, distinct).
    pub fn place(&self, members: &[NodeId]) -> AnyPlacement {
        assert!(!members.is_empty(), "a placement needs at least one member");
        match *self {
            Scheme::Ring { virtual_nodes, labels } => {
                AnyPlacement::Ring(ring::Ring::new(members, virtual_nodes, labels))
            }
            Scheme::Rendezvous => AnyPlacement::Rendezvous(rendezvous::Rendezvous::new(members)),
            Scheme::Jump => AnyPlacement::Jump(jump::Jump::new(members)),
            Scheme::Bounded { virtual_nodes, epsilon, keys } => {
                AnyPlacement::Bounded(bounded::Bounded::new(members, virtual_nodes, epsilon, keys))
            }
            Scheme::Maglev { table_size } => AnyPlacement::Maglev(maglev::Maglev::new(members, table_size)),
            Scheme::Modulo => AnyPlacement::Modulo(modulo::Modulo::new(members)),
        }
    }

    /// What is wrong with the parameters, if anything.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Scheme::Ring { virtual_nodes, .. } | Scheme::Bounded { virtual_nodes, .. }
                if virtual_nodes == 0 || virtual_nodes > VIRTUAL_NODES_MAX =>
            {
                Err(format!("virtual_nodes is {virtual_nodes}; allowed: 1 to {VIRTUAL_NODES_MAX}"))
            }
            Scheme::Bounded { epsilon, .. } if !(epsilon > 0.0 && epsilon <= 10.0) => {
                Err(format!("epsilon is {epsilon}; allowed: above 0, at most 10"))
            }
            Scheme::Bounded { keys, .. } if keys == 0 || keys > KEYS_MAX => {
                Err(format!("keys is {keys}; allowed: 1 to {KEYS_MAX}"))
            }
            Scheme::Maglev { table_size } if table_size > TABLE_SIZE_MAX || !is_prime(table_size) => {
                Err(format!("table_size is {table_size}; allowed: a prime number up to {TABLE_SIZE_MAX}"))
            }
            _ => Ok(()),
        }
    }
}

/// Whether `n` is prime (trial division: tables are at most a million entries).
pub fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

/// Any scheme's placement: one type for the store, the page and the benchmark, without
/// dynamic dispatch.
#[derive(Clone, Debug)]
pub enum AnyPlacement {
    Ring(ring::Ring),
    Rendezvous(rendezvous::Rendezvous),
    Jump(jump::Jump),
    Bounded(bounded::Bounded),
    Maglev(maglev::Maglev),
    Modulo(modulo::Modulo),
}

impl AnyPlacement {
    fn inner(&self) -> &dyn Placement {
        match self {
            AnyPlacement::Ring(p) => p,
            AnyPlacement::Rendezvous(p) => p,
            AnyPlacement::Jump(p) => p,
            AnyPlacement::Bounded(p) => p,
            AnyPlacement::Maglev(p) => p,
            AnyPlacement::Modulo(p) => p,
        }
    }
}

impl Placement for AnyPlacement {
    fn members(&self) -> &[NodeId] {
        self.inner().members()
    }

    fn owner(&self, key: Key) -> NodeId {
        match self {
            AnyPlacement::Ring(p) => p.owner(key),
            AnyPlacement::Rendezvous(p) => p.owner(key),
            AnyPlacement::Jump(p) => p.owner(key),
            AnyPlacement::Bounded(p) => p.owner(key),
            AnyPlacement::Maglev(p) => p.owner(key),
            AnyPlacement::Modulo(p) => p.owner(key),
        }
    }

    fn owners(&self, key: Key, r: usize) -> Vec<NodeId> {
        self.inner().owners(key, r)
    }
}

/// The members sorted: the canonical order of the schemes that depend on the set only.
fn sorted(members: &[NodeId]) -> Vec<NodeId> {
    let mut sorted = members.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), members.len(), "members must be distinct: {members:?}");
    sorted
}

/// Collects up to `r` distinct servers from `candidates`, in order.
fn distinct(candidates: impl Iterator<Item = NodeId>, r: usize, members: usize) -> Vec<NodeId> {
    let wanted = r.min(members);
    let mut owners: Vec<NodeId> = Vec::with_capacity(wanted);
    for candidate in candidates {
        if owners.len() == wanted {
            break;
        }
        if !owners.contains(&candidate) {
            owners.push(candidate);
        }
    }
    owners
}
