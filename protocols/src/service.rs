//! What clients ask of a system: a [`Service`] names the operations its clients perform,
//! what they are told, the sequential model their history is checked against, the workload
//! that generates the operations, and the history checks to run after a run.
//!
//! A protocol declares the service it offers (`Protocol::Service`); protocols that serve the
//! same store share one service (Raft and Multi-Paxos serve [`crate::kv::KvService`]), so
//! one workload, one client history format and one checker cover them all and they can be
//! compared side by side. The simulator is generic over services: it draws operations from
//! the service's workload, records the history, and runs the checks the protocol declares.
//!
//! Outcomes follow Jepsen's operation model: `Ok` took effect and returned this, `Fail`
//! certainly did not take effect (and tells nothing more), and `Info` may or may not have
//! taken effect (a timeout after the request was sent).

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::hash::Hash;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::history::{Call, Model};
use crate::node::{NodeId, Time, Violation};

/// A key of a store.
pub type Key = u64;
/// A value written, appended or proposed; workloads make every value unique.
pub type Value = u64;

/// How a client's operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome<R> {
    /// It took effect and returned this.
    Ok(R),
    /// It certainly did not take effect.
    Fail,
    /// Unknown: it may or may not have taken effect, at any time after its invocation.
    Info,
}

impl<R> Outcome<R> {
    /// `ok`, `fail` or `info`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }

    /// Whether the client got a definite answer (ok, or a definite fail).
    pub fn is_definite(&self) -> bool {
        !matches!(self, Outcome::Info)
    }
}

/// One operation a client is asked to perform.
pub trait Operation: Clone + Debug + Eq + Hash + Display + Send + Sync + 'static {
    /// Its kind, as a scenario's operation mix names it (`read`, `acquire`, ...).
    fn kind(&self) -> &'static str;
    /// The key it touches, if it touches one (for the history table).
    fn key(&self) -> Option<Key> {
        None
    }
}

/// What a client is told when its operation succeeds.
pub trait Reply: Clone + Debug + Eq + Hash + Display + Send + Sync + 'static {}

/// A service: the operations, replies, model, workload and history checks shared by the
/// protocols that offer it.
pub trait Service: Sized + 'static {
    /// The service's name in reports (`kv`, `consensus`, `transactions`, `locks`).
    const NAME: &'static str;
    /// The operation kinds a scenario's `mix` may name.
    const OPERATIONS: &'static [&'static str];

    type Operation: Operation;
    type Reply: Reply;
    /// The sequential specification the history is checked against.
    type Model: Model<Input = Self::Operation, Output = Outcome<Self::Reply>> + Default;
    /// The service's own `[workload]` keys, beyond those every workload has.
    type Params: Clone + Debug + Default + DeserializeOwned + 'static;
    type Workload: Workload<Self>;

    /// The workload of one run.
    fn workload(config: &WorkloadConfig<Self::Params>) -> Self::Workload;

    /// What is wrong with the service's own keys, for a workload on `keys` keys.
    fn check_params(_params: &Self::Params, _keys: u32) -> Result<(), String> {
        Ok(())
    }

    /// The history checks of a protocol offering this service, unless it declares its own.
    fn history_checks() -> Vec<HistoryCheck<Self>>;

    /// Swarm mode: the service's own `[workload]` keys drawn for one seed, for a workload of
    /// `clients` clients on `keys` keys; each draw must pass `check_params`. Default: none,
    /// the scenario's stay.
    fn swarm_params(_keys: u32, _clients: u32, _rng: &mut ChaCha8Rng) -> Vec<(&'static str, ParamValue)> {
        Vec::new()
    }
}

/// A value of a service's own `[workload]` key, as swarm mode sets it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamValue {
    Integer(i64),
    Float(f64),
}

/// A workload: which operation each client performs next. The simulator decides when
/// (closed-loop clients with think times, the end of the run, the operation cap); the
/// workload decides what, and it knows which client it serves, so "release the lock I
/// hold" is expressible.
pub trait Workload<S: Service> {
    /// The next operation of `client`, or `None` if it has nothing more to do.
    fn next(&mut self, client: NodeId, rng: &mut ChaCha8Rng) -> Option<S::Operation>;
    /// `client`'s operation ended with `outcome`.
    fn completed(&mut self, _client: NodeId, _operation: &S::Operation, _outcome: &Outcome<S::Reply>) {}
}

/// What every workload is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig<P> {
    pub clients: u32,
    /// The id of the first client process.
    pub first_client: NodeId,
    /// How many keys operations touch.
    pub keys: u32,
    /// The operation mix (empty: the service's kinds, equally).
    pub mix: Mix,
    /// The service's own settings.
    pub params: P,
}

/// Operation kinds with weights, drawn at random.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Mix {
    /// Kinds with cumulative weights.
    cumulative: Vec<(&'static str, f64)>,
}

impl Mix {
    /// A mix of `weights` (kind, weight); with none, every kind of `kinds` equally.
    pub fn new(weights: &BTreeMap<&'static str, f64>, kinds: &[&'static str]) -> Mix {
        let mut total = 0.0;
        let mut cumulative = Vec::new();
        let equal: BTreeMap<&'static str, f64> = kinds.iter().map(|&kind| (kind, 1.0)).collect();
        let weights = if weights.is_empty() { &equal } else { weights };
        for (&kind, &weight) in weights {
            if weight > 0.0 {
                total += weight;
                cumulative.push((kind, total));
            }
        }
        Mix { cumulative }
    }

    /// A kind drawn by weight; `None` for an empty mix.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> Option<&'static str> {
        let &(last, total) = self.cumulative.last()?;
        let draw = rng.gen::<f64>() * total;
        Some(self.cumulative.iter().find(|&&(_, cumulative)| draw < cumulative).map_or(last, |&(kind, _)| kind))
    }

    /// Whether `kind` has a weight above zero.
    pub fn has(&self, kind: &str) -> bool {
        self.cumulative.iter().any(|(known, _)| *known == kind)
    }
}

/// A check of a run's client history, after the run.
pub enum HistoryCheck<S: Service> {
    /// Linearizability (Herlihy and Wing 1990) on the service's model, of the operations
    /// `include` keeps.
    Linearizability { include: fn(&S::Operation) -> bool },
    /// Sequential consistency (Lamport 1979) on the service's model, of the operations
    /// `include` keeps: one order of them that respects each client's own order.
    SequentialConsistency { include: fn(&S::Operation) -> bool },
    /// Serializability of transactions (Adya's dependency graphs, checked from the history
    /// as Jepsen's Elle checks list-append histories): `transaction` says what a call read
    /// and appended; the transactions that took effect must form no cycle of write-write,
    /// write-read and read-write dependencies, nor, with real-time order, a cycle that
    /// makes the history not strictly serializable.
    Serializability { transaction: fn(&S::Operation, &Outcome<S::Reply>) -> Transactional },
    /// A check of the service's own, named.
    Custom { name: &'static str, check: CustomCheck<S> },
}

/// A transaction as the serializability check reads it: the lists it read, with what it
/// saw, and the value it appended to each key it wrote. Its reads see the store before its
/// own appends; every value appended in a history is unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transactional {
    /// Keys read and the list each held; a read whose result the client never learned is
    /// left out.
    pub reads: Vec<(Key, Vec<Value>)>,
    pub appends: Vec<(Key, Value)>,
}

/// A custom history check: the first violation and when it shows, or `Ok`.
pub type CustomCheck<S> = fn(&[Call<S>]) -> Result<(), (Time, Violation)>;

impl<S: Service> HistoryCheck<S> {
    /// The check's name in summaries.
    pub fn name(&self) -> &'static str {
        match self {
            HistoryCheck::Linearizability { .. } => "linearizability",
            HistoryCheck::SequentialConsistency { .. } => "sequential-consistency",
            HistoryCheck::Serializability { .. } => "serializability",
            HistoryCheck::Custom { name, .. } => name,
        }
    }
}

/// Every operation.
pub fn every<O>(_: &O) -> bool {
    true
}
