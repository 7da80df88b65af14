//! The transaction service of the commit protocols: each operation is an atomic transaction
//! that writes its id to every one of its keys, committed (`Ok(Committed)`) or aborted
//! (`Fail`: it took no effect), or unknown to its client (`Info`: blocked).
//!
//! The workload draws `transaction_keys` distinct keys per transaction and vetoes each with
//! probability `no_vote` (the participant holding a vetoed key votes no). The model treats
//! the whole store as one object and each transaction as one step on it, so a history
//! checked against it is strictly serializable exactly when it is linearizable.

use std::collections::BTreeMap;
use std::fmt;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::history::Model;
use crate::node::NodeId;
use crate::service::{HistoryCheck, Key, Operation, Outcome, Reply, Service, Value, Workload, WorkloadConfig};

/// An atomic transaction, identified by `value`, that writes `value` to every key in `keys`;
/// the participant holding a key in `vetoes` votes no (as the workload drew), and a
/// participant may also vote no on its own (a conflict).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transaction {
    pub value: Value,
    pub keys: Vec<Key>,
    pub vetoes: Vec<Key>,
}

/// The transaction committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Committed;

impl Operation for Transaction {
    fn kind(&self) -> &'static str {
        "transaction"
    }
}

impl fmt::Display for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction {} on keys {:?}", self.value, self.keys)?;
        if !self.vetoes.is_empty() {
            write!(f, " vetoed at {:?}", self.vetoes)?;
        }
        Ok(())
    }
}

impl Reply for Committed {}

impl fmt::Display for Committed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("committed")
    }
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
                "transaction_keys = {}: each transaction writes from 1 to `keys` ({keys}) distinct keys",
                params.transaction_keys
            ));
        }
        if !(0.0..=1.0).contains(&params.no_vote) {
            return Err(format!("no_vote = {}: a probability, from 0 to 1", params.no_vote));
        }
        Ok(())
    }

    /// Atomicity is checked online by the protocols' checker; the history holds writes only.
    fn history_checks() -> Vec<HistoryCheck<TransactionService>> {
        Vec::new()
    }
}

/// The transaction workload's own keys.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionParams {
    /// Distinct keys each transaction writes.
    #[serde(default = "two")]
    pub transaction_keys: u32,
    /// Probability that the participant holding a transaction's key votes no.
    #[serde(default)]
    pub no_vote: f64,
}

impl Default for TransactionParams {
    fn default() -> Self {
        TransactionParams { transaction_keys: two(), no_vote: 0.0 }
    }
}

fn two() -> u32 {
    2
}

/// Transactions on distinct random keys, each key vetoed with probability `no_vote`.
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
        let no_vote = self.params.no_vote;
        let vetoes = keys.iter().copied().filter(|_| no_vote > 0.0 && rng.gen_bool(no_vote)).collect();
        Some(Transaction { value: self.next_value, keys, vetoes })
    }
}

/// The whole store as one object: each key's last committed value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransactionModel;

impl Model for TransactionModel {
    type Input = Transaction;
    type Output = Outcome<Committed>;
    type State = BTreeMap<Key, Value>;
    type Key = ();

    fn name(&self) -> &'static str {
        "transactions"
    }

    fn init(&self) -> BTreeMap<Key, Value> {
        BTreeMap::new()
    }

    fn step(
        &self,
        state: &BTreeMap<Key, Value>,
        input: &Transaction,
        output: &Outcome<Committed>,
    ) -> Option<BTreeMap<Key, Value>> {
        match output {
            Outcome::Fail => Some(state.clone()),
            Outcome::Ok(Committed) | Outcome::Info => {
                let mut next = state.clone();
                next.extend(input.keys.iter().map(|&key| (key, input.value)));
                Some(next)
            }
        }
    }

    fn key(&self, _input: &Transaction) {}

    fn heap_size(&self, state: &BTreeMap<Key, Value>) -> usize {
        state.len() * 2 * std::mem::size_of::<u64>()
    }

    fn describe_key(&self, _key: &()) -> Option<String> {
        None
    }

    fn describe(&self, input: &Transaction, output: &Outcome<Committed>) -> String {
        format!("{input}: {}", output.name())
    }
}
