//! The catalog: every protocol faultline runs, one line each (the `catalog!` call at the
//! bottom), and what the rest of the simulator may learn of a protocol by its name.
//!
//! Two ways in. [`find`] gives a protocol's metadata ([`Meta`]: names, variants, milestones,
//! the operations its clients perform, whether it supports membership, and checks of the
//! scenario's `[settings]` and service keys), which is all scenario validation needs.
//! [`visit`] hands the protocol's type to a [`Visitor`], which is how the run dispatches a
//! scenario to `run::<P>` without the catalog depending on the run: the layering stays
//! scenario -> world -> substrates -> run -> sweep -> cli, one way.

use protocols::hashing::ShardKv;
use protocols::lock::consensus_lock::ConsensusLock;
use protocols::lock::lease_lock::LeaseLock;
use protocols::lock::redlock::Redlock;
use protocols::multipaxos::MultiPaxos;
use protocols::node::{Milestone, Protocol, Variant};
use protocols::paxos::Paxos;
use protocols::raft::Raft;
use protocols::service::Service;
use protocols::threepc::ThreePhaseCommit;
use protocols::twopc::TwoPhaseCommit;
use protocols::voting::abd::Abd;
use protocols::voting::majority_vote::MajorityVote;
use protocols::voting::quorum::Quorum;
use protocols::zab::Zab;
use serde::de::DeserializeOwned;

/// What scenario validation and the listing know of a protocol.
#[derive(Clone, Debug)]
pub struct Meta {
    pub name: &'static str,
    pub about: &'static str,
    pub variants: &'static [Variant],
    pub milestones: &'static [Milestone],
    /// The service its clients use (`kv`, `consensus`, ...).
    pub service: &'static str,
    /// The operation kinds a scenario's `mix` may name.
    pub operations: &'static [&'static str],
    /// Whether servers may join and leave during a run.
    pub membership: bool,
    /// The fewest servers it runs with.
    pub servers_min: u32,
    /// Whether it assumes FIFO links (`[network] fifo = true`).
    pub fifo_links: bool,
    /// The names of the history checks it runs after each run.
    pub history_checks: Vec<&'static str>,
    /// Checks the scenario's `[settings]` table against the protocol's settings, for a run
    /// of that many initial servers and spares, and a workload on that many keys.
    pub check_settings: fn(&toml::Table, u32, u32, u32) -> Result<(), String>,
    /// Checks the service's own `[workload]` keys, given the workload's `keys`.
    pub check_params: fn(&toml::Table, u32) -> Result<(), String>,
}

impl Meta {
    pub fn of<P: Protocol>() -> Meta {
        Meta {
            name: P::NAME,
            about: P::ABOUT,
            variants: P::VARIANTS,
            milestones: P::MILESTONES,
            service: <P::Service as Service>::NAME,
            operations: <P::Service as Service>::OPERATIONS,
            membership: P::MEMBERSHIP,
            servers_min: P::SERVERS_MIN,
            fifo_links: P::FIFO_LINKS,
            history_checks: P::history_checks().iter().map(|check| check.name()).collect(),
            check_settings: |table, servers, spares, keys| P::check_settings(&parse(table)?, servers, spares, keys),
            check_params: |table, keys| {
                let params = parse::<<P::Service as Service>::Params>(table)?;
                <P::Service as Service>::check_params(&params, keys)
            },
        }
    }

    pub fn variant(&self, name: &str) -> Option<&'static Variant> {
        self.variants.iter().find(|variant| variant.name == name)
    }
}

/// A table of the scenario read as `T`, with serde's words for what is wrong.
pub fn parse<T: DeserializeOwned>(table: &toml::Table) -> Result<T, String> {
    T::deserialize(toml::Value::Table(table.clone())).map_err(|error| error.message().trim().to_string())
}

/// Something to do with one protocol, given its type.
pub trait Visitor {
    type Output;
    fn visit<P: Protocol>(self) -> Self::Output;
}

macro_rules! catalog {
    ($($protocol:ty),* $(,)?) => {
        /// The names of every protocol, in the catalog's order.
        pub const NAMES: &[&str] = &[$(<$protocol as Protocol>::NAME),*];

        /// Hands the protocol named `name` to `visitor`; `None` if there is none.
        pub fn visit<V: Visitor>(name: &str, visitor: V) -> Option<V::Output> {
            $(if name == <$protocol as Protocol>::NAME {
                return Some(visitor.visit::<$protocol>());
            })*
            None
        }
    };
}

// One line per protocol.
catalog![
    Paxos,
    Raft,
    MultiPaxos,
    Zab,
    TwoPhaseCommit,
    ThreePhaseCommit,
    MajorityVote,
    Quorum,
    Abd,
    ShardKv,
    LeaseLock,
    Redlock,
    ConsensusLock
];

/// The metadata of the protocol named `name`.
pub fn find(name: &str) -> Option<Meta> {
    struct Describe;
    impl Visitor for Describe {
        type Output = Meta;
        fn visit<P: Protocol>(self) -> Meta {
            Meta::of::<P>()
        }
    }
    visit(name, Describe)
}

/// Every protocol's metadata, in the catalog's order.
pub fn all() -> Vec<Meta> {
    NAMES.iter().filter_map(|name| find(name)).collect()
}
