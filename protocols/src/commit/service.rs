//! The transaction service of the commit protocols: each key holds a list, and each
//! operation is an atomic transaction that reads some of its keys' lists and appends its
//! id to others, committed (`Ok(Committed)`, with the lists it read) or aborted (`Fail`: it
//! took no effect), or unknown to its client (`Info`: blocked).
//!
//! The workload draws `transaction_keys` distinct keys per transaction; each is read with
//! probability `read` (before the transaction's own append), and every key is appended to
//! unless the transaction is read-only (probability `read_only`, when it reads all its
//! keys). Each key is vetoed with probability `no_vote` (its participant votes no). Reads of
//! whole lists reveal the order of every key's appends, so the history is checked for
//! serializability as Jepsen's Elle checks list-append histories
//! (`HistoryCheck::Serializability`): a lost lock, a torn commit or a participant that
//! decided alone shows as a cycle of dependencies between the transactions it touched.

use std::collections::BTreeMap;
use std::fmt;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::history::Model;
use crate::node::NodeId;
use crate::service::{
    HistoryCheck, Key, Operation, Outcome, ParamValue, Reply, Service, Transactional, Value, Workload, WorkloadConfig,
};

/// An atomic transaction, identified by `value`, on the keys in `keys` (sorted), which it
/// locks: it reads the lists of `reads` and then appends `value` to the lists of `writes`
/// (both subsets of `keys`, together all of them). The participant holding a key in
/// `vetoes` votes no (as the workload drew), and a participant may also vote no on its own
/// (a conflict).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transaction {
    pub value: Value,
    pub keys: Vec<Key>,
    pub reads: Vec<Key>,
    pub writes: Vec<Key>,
    pub vetoes: Vec<Key>,
}

impl Transaction {
    /// A transaction that appends `value` to every one of `keys` and reads nothing.
    pub fn writing(value: Value, keys: &[Key], vetoes: &[Key]) -> Transaction {
        Transaction { value, keys: keys.to_vec(), reads: Vec::new(), writes: keys.to_vec(), vetoes: vetoes.to_vec() }
    }
}

/// What a transaction read: each key it read and the list it held, in key order.
pub type Reads = Vec<(Key, Vec<Value>)>;

/// The transaction committed, having read `reads` (those its client learned: a client told
/// the outcome by a server that did not collect them learns none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Committed {
    pub reads: Reads,
}

impl Operation for Transaction {
    fn kind(&self) -> &'static str {
        "transaction"
    }
}

impl fmt::Display for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction {} on keys {:?}", self.value, self.keys)?;
        if !self.reads.is_empty() {
            write!(f, " reading {:?}", self.reads)?;
        }
        if self.writes != self.keys {
            write!(f, " appending to {:?}", self.writes)?;
        }
        if !self.vetoes.is_empty() {
            write!(f, " vetoed at {:?}", self.vetoes)?;
        }
        Ok(())
    }
}

impl Reply for Committed {}

impl fmt::Display for Committed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("committed")?;
        for (key, list) in &self.reads {
            write!(f, ", read {key} = {list:?}")?;
        }
        Ok(())
    }
}

/// The transaction as the serializability check reads it: its reads, if it committed and
/// its client learned them, and its appends.
pub fn transactional(transaction: &Transaction, outcome: &Outcome<Committed>) -> Transactional {
    let reads = match outcome {
        Outcome::Ok(committed) => committed.reads.clone(),
        Outcome::Fail | Outcome::Info => Vec::new(),
    };
    Transactional { reads, appends: transaction.writes.iter().map(|&key| (key, transaction.value)).collect() }
}

/// The transaction service.
#[derive(Debug)]
pub struct TransactionService;

impl Service for TransactionService {
    const NAME: &'static str = "transactions";
    const OPERATIONS: &'static [&'static str] = &["transaction"];
    type Operation = Transaction;
    type Reply = Committed;
    type Model = TransactionModel;
    type Params = TransactionParams;
    type Workload = TransactionWorkload;

    fn workload(config: &WorkloadConfig<TransactionParams>) -> TransactionWorkload {
        TransactionWorkload { keys: u64::from(config.keys.max(1)), params: config.params.clone(), next_value: 0 }
    }

    fn check_params(params: &TransactionParams, keys: u32) -> Result<(), String> {
        if params.transaction_keys == 0 || params.transaction_keys > keys {
            return Err(format!(
                "transaction_keys = {}: each transaction touches from 1 to `keys` ({keys}) distinct keys",
                params.transaction_keys
            ));
        }
        for (name, value) in [("no_vote", params.no_vote), ("read", params.read), ("read_only", params.read_only)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{name} = {value}: a probability, from 0 to 1"));
            }
        }
        Ok(())
    }

    /// Atomicity is checked online by the protocols' checker; what the transactions read
    /// is checked for serializability here.
    fn history_checks() -> Vec<HistoryCheck<TransactionService>> {
        vec![HistoryCheck::Serializability { transaction: transactional }]
    }

    /// Transactions of one to five keys (as `keys` allows: spanning more participants), any
    /// share of reads and of read-only transactions, vetoes half of the time.
    fn swarm_params(keys: u32, clients: u32, rng: &mut ChaCha8Rng) -> Vec<(&'static str, ParamValue)> {
        // The clients' transactions together touch at most half the keys: with more, each
        // meets another's locks and all abort, a livelock of no-wait locking that the
        // liveness check would report as blocking.
        let transaction_keys = rng.gen_range(1..=(keys / (2 * clients.max(1))).clamp(1, 5));
        let no_vote = if rng.gen_bool(0.5) { 0.0 } else { rng.gen_range(0.0..0.2) };
        vec![
            ("transaction_keys", ParamValue::Integer(i64::from(transaction_keys))),
            ("read", ParamValue::Float(rng.gen_range(0.0..1.0))),
            ("read_only", ParamValue::Float(rng.gen_range(0.0..0.5))),
            ("no_vote", ParamValue::Float(no_vote)),
        ]
    }
}

/// The transaction workload's own keys.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionParams {
    /// Distinct keys each transaction touches.
    #[serde(default = "two")]
    pub transaction_keys: u32,
    /// Probability that the participant holding a transaction's key votes no.
    #[serde(default)]
    pub no_vote: f64,
    /// Probability that a transaction reads a key it touches (before appending to it).
    #[serde(default = "half")]
    pub read: f64,
    /// Probability that a transaction only reads (all its keys, appending nothing).
    #[serde(default = "tenth")]
    pub read_only: f64,
}

impl Default for TransactionParams {
    fn default() -> Self {
        TransactionParams { transaction_keys: two(), no_vote: 0.0, read: half(), read_only: tenth() }
    }
}

fn two() -> u32 {
    2
}
fn half() -> f64 {
    0.5
}
fn tenth() -> f64 {
    0.1
}

/// Transactions on distinct random keys, read and appended to as the params say, each key
/// vetoed with probability `no_vote`.
#[derive(Clone, Debug)]
pub struct TransactionWorkload {
    keys: u64,
    params: TransactionParams,
    next_value: Value,
}

impl Workload<TransactionService> for TransactionWorkload {
    fn next(&mut self, _client: NodeId, rng: &mut ChaCha8Rng) -> Option<Transaction> {
        self.next_value += 1;
        let mut all: Vec<Key> = (0..self.keys).collect();
        let (chosen, _) = all.partial_shuffle(rng, self.params.transaction_keys as usize);
        let mut keys = chosen.to_vec();
        keys.sort_unstable();
        let TransactionParams { no_vote, read, read_only, .. } = self.params;
        let vetoes = keys.iter().copied().filter(|_| no_vote > 0.0 && rng.gen_bool(no_vote)).collect();
        let (reads, writes) = if read_only > 0.0 && rng.gen_bool(read_only) {
            (keys.clone(), Vec::new())
        } else {
            (keys.iter().copied().filter(|_| read > 0.0 && rng.gen_bool(read)).collect(), keys.clone())
        };
        Some(Transaction { value: self.next_value, keys, reads, writes, vetoes })
    }
}

/// The whole store as one object: each key's list. A committed transaction's reads must be
/// what the lists held; its appends extend them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransactionModel;

impl Model for TransactionModel {
    type Input = Transaction;
    type Output = Outcome<Committed>;
    type State = BTreeMap<Key, Vec<Value>>;
    type Key = ();

    fn name(&self) -> &'static str {
        "transactions"
    }

    fn init(&self) -> BTreeMap<Key, Vec<Value>> {
        BTreeMap::new()
    }

    fn step(
        &self,
        state: &BTreeMap<Key, Vec<Value>>,
        input: &Transaction,
        output: &Outcome<Committed>,
    ) -> Option<BTreeMap<Key, Vec<Value>>> {
        if let Outcome::Ok(committed) = output {
            let held = |key: &Key| state.get(key).map_or(&[][..], Vec::as_slice);
            if committed.reads.iter().any(|(key, list)| held(key) != list.as_slice()) {
                return None;
            }
        }
        match output {
            Outcome::Fail => Some(state.clone()),
            Outcome::Ok(_) | Outcome::Info => {
                let mut next = state.clone();
                for &key in &input.writes {
                    next.entry(key).or_default().push(input.value);
                }
                Some(next)
            }
        }
    }

    fn key(&self, _input: &Transaction) {}

    fn heap_size(&self, state: &BTreeMap<Key, Vec<Value>>) -> usize {
        state.values().map(|list| (2 + list.len()) * std::mem::size_of::<u64>()).sum()
    }

    fn describe_key(&self, _key: &()) -> Option<String> {
        None
    }

    fn describe(&self, input: &Transaction, output: &Outcome<Committed>) -> String {
        format!("{input}: {}", output.name())
    }
}
