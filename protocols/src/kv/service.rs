//! The key-value service: its operations, replies, sequential model and workload, shared by
//! every protocol that serves the replicated [`Store`](super::Store).
//!
//! Per key the state is a list of values, empty at first: `Read` returns it, `Write` makes it
//! `[value]`, `Append` pushes, and `Cas` makes it `[to]` exactly when it is `[from]`; a cas
//! that finds anything else completes `Ok(CasFailed)`: an answer, and evidence that the key
//! did not hold `from` (a `Fail` would mean it did not take effect and say nothing more).
//!
//! The workload draws kinds from the scenario's mix, keys uniformly, and unique values, and
//! a cas expects the value last written to its key, so that it sometimes succeeds.

use std::collections::BTreeSet;
use std::fmt;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::history::{Model, ModelOp};
use crate::node::NodeId;
use crate::service::{
    every, HistoryCheck, Key, Mix, Operation, Outcome, Reply, Service, Value, Workload, WorkloadConfig,
};

/// One operation on the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOperation {
    Read {
        key: Key,
    },
    Write {
        key: Key,
        value: Value,
    },
    Append {
        key: Key,
        value: Value,
    },
    /// Set `key` to `to` if it holds `from`.
    Cas {
        key: Key,
        from: Value,
        to: Value,
    },
}

/// What a successful operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvReply {
    /// A write, append or compare-and-set that swapped.
    Done,
    /// A compare-and-set that found another value and changed nothing.
    CasFailed,
    /// What a read saw.
    Values(Vec<Value>),
}

impl KvOperation {
    /// The key it touches.
    pub fn key(&self) -> Key {
        match *self {
            KvOperation::Read { key }
            | KvOperation::Write { key, .. }
            | KvOperation::Append { key, .. }
            | KvOperation::Cas { key, .. } => key,
        }
    }

    /// Whether it may change the store.
    pub fn is_update(&self) -> bool {
        !matches!(self, KvOperation::Read { .. })
    }
}

impl Operation for KvOperation {
    fn kind(&self) -> &'static str {
        match self {
            KvOperation::Read { .. } => "read",
            KvOperation::Write { .. } => "write",
            KvOperation::Append { .. } => "append",
            KvOperation::Cas { .. } => "cas",
        }
    }

    fn key(&self) -> Option<Key> {
        Some(KvOperation::key(self))
    }
}

impl fmt::Display for KvOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOperation::Read { key } => write!(f, "read {key}"),
            KvOperation::Write { key, value } => write!(f, "write {key} {value}"),
            KvOperation::Append { key, value } => write!(f, "append {key} {value}"),
            KvOperation::Cas { key, from, to } => write!(f, "cas {key} {from}->{to}"),
        }
    }
}

impl Reply for KvReply {}

impl fmt::Display for KvReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvReply::Done => f.write_str("done"),
            KvReply::CasFailed => f.write_str("cas-failed"),
            KvReply::Values(values) => {
                f.write_str("[")?;
                for (index, value) in values.iter().enumerate() {
                    write!(f, "{}{value}", if index == 0 { "" } else { " " })?;
                }
                f.write_str("]")
            }
        }
    }
}

/// The key-value service.
#[derive(Debug)]
pub struct KvService;

impl Service for KvService {
    const NAME: &'static str = "kv";
    const OPERATIONS: &'static [&'static str] = &["read", "write", "append", "cas"];
    type Operation = KvOperation;
    type Reply = KvReply;
    type Model = KvModel;
    type Params = KvParams;
    type Workload = KvWorkload;

    fn workload(config: &WorkloadConfig<KvParams>) -> KvWorkload {
        KvWorkload {
            mix: config.mix.clone(),
            keys: u64::from(config.keys.max(1)),
            next_value: 0,
            last_written: Vec::new(),
        }
    }

    fn history_checks() -> Vec<HistoryCheck<KvService>> {
        vec![HistoryCheck::Linearizability { include: every }]
    }
}

/// The key-value workload has no keys of its own beyond `clients`, `rate`, `keys`, `mix`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvParams {}

/// Draws reads, writes, appends and compare-and-sets on random keys, with unique values.
#[derive(Clone, Debug)]
pub struct KvWorkload {
    mix: Mix,
    keys: u64,
    next_value: Value,
    /// The last value the workload wrote to each key: a compare-and-set expects it.
    last_written: Vec<Option<Value>>,
}

impl Workload<KvService> for KvWorkload {
    fn next(&mut self, _client: NodeId, rng: &mut ChaCha8Rng) -> Option<KvOperation> {
        let kind = self.mix.draw(rng)?;
        let key: Key = rng.gen_range(0..self.keys);
        self.next_value += 1;
        let value = self.next_value;
        if self.last_written.is_empty() {
            self.last_written = vec![None; self.keys as usize];
        }
        Some(match kind {
            "read" => KvOperation::Read { key },
            "write" => {
                self.last_written[key as usize] = Some(value);
                KvOperation::Write { key, value }
            }
            "append" => KvOperation::Append { key, value },
            _ => {
                let from = self.last_written[key as usize].unwrap_or(0);
                self.last_written[key as usize] = Some(value);
                KvOperation::Cas { key, from, to: value }
            }
        })
    }
}

/// The store's sequential model: per key a list of values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvModel;

impl Model for KvModel {
    type Input = KvOperation;
    type Output = Outcome<KvReply>;
    type State = Vec<Value>;
    type Key = Key;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> Vec<Value> {
        Vec::new()
    }

    fn step(&self, state: &Vec<Value>, input: &KvOperation, output: &Outcome<KvReply>) -> Option<Vec<Value>> {
        match (input, output) {
            (KvOperation::Read { .. }, Outcome::Ok(KvReply::Values(seen))) => (seen == state).then(|| state.clone()),
            (KvOperation::Read { .. }, Outcome::Info) => Some(state.clone()),
            (KvOperation::Write { value, .. }, Outcome::Ok(KvReply::Done) | Outcome::Info) => Some(vec![*value]),
            (KvOperation::Append { value, .. }, Outcome::Ok(KvReply::Done) | Outcome::Info) => {
                let mut next = state.clone();
                next.push(*value);
                Some(next)
            }
            (KvOperation::Cas { from, to, .. }, Outcome::Ok(KvReply::Done) | Outcome::Info) => {
                (state == &[*from]).then(|| vec![*to])
            }
            (KvOperation::Cas { from, .. }, Outcome::Ok(KvReply::CasFailed)) => {
                (state != &[*from]).then(|| state.clone())
            }
            // A failed operation did not happen; a reply of the wrong shape is impossible.
            (_, Outcome::Fail) => Some(state.clone()),
            _ => None,
        }
    }

    fn key(&self, input: &KvOperation) -> Key {
        input.key()
    }

    fn describe_key(&self, key: &Key) -> Option<String> {
        Some(key.to_string())
    }

    fn heap_size(&self, state: &Vec<Value>) -> usize {
        state.capacity() * std::mem::size_of::<Value>()
    }

    fn describe(&self, input: &KvOperation, output: &Outcome<KvReply>) -> String {
        let asked = match input {
            KvOperation::Read { .. } => "read".to_string(),
            KvOperation::Write { value, .. } => format!("write {value}"),
            KvOperation::Append { value, .. } => format!("append {value}"),
            KvOperation::Cas { from, to, .. } => format!("cas {from}->{to}"),
        };
        let told = match output {
            Outcome::Ok(KvReply::Done) => "ok".to_string(),
            Outcome::Ok(KvReply::CasFailed) => "cas failed".to_string(),
            Outcome::Ok(KvReply::Values(values)) => format!("returned {values:?}"),
            Outcome::Fail => "fail".to_string(),
            Outcome::Info => "info (outcome unknown)".to_string(),
        };
        format!("{asked}: {told}")
    }

    /// Drops open writes and appends whose value nothing observed, on keys with no failed
    /// compare-and-set. Values are unique, so letting such an operation take effect could
    /// only put an unseen value into some later state, which no read shows and no successful
    /// compare-and-set expects: treating it as never applied is always at least as good, and
    /// dropping it keeps the search from trying it at every point. A failed compare-and-set
    /// is the exception: it may need exactly such an unseen value to explain why the key did
    /// not hold what it expected.
    fn prune(&self, ops: Vec<ModelOp<Self>>) -> Vec<ModelOp<Self>> {
        let mut observed = BTreeSet::new();
        let mut failed_cas_keys = BTreeSet::new();
        for op in &ops {
            match (&op.input, &op.output) {
                (KvOperation::Cas { key, from, .. }, output) => {
                    observed.insert(*from);
                    if matches!(output, Outcome::Ok(KvReply::CasFailed)) {
                        failed_cas_keys.insert(*key);
                    }
                }
                (_, Outcome::Ok(KvReply::Values(values))) => observed.extend(values.iter().copied()),
                _ => {}
            }
        }
        let unobserved_open_update = |op: &ModelOp<Self>| {
            let value = match op.input {
                KvOperation::Write { value, .. } | KvOperation::Append { value, .. } => value,
                _ => return false,
            };
            op.ret.is_none() && !observed.contains(&value) && !failed_cas_keys.contains(&op.input.key())
        };
        ops.into_iter().filter(|op| !unobserved_open_update(op)).collect()
    }
}
