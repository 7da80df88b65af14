//! The workload: when each client invokes its next operation, and which operation.
//!
//! Clients are closed-loop processes in Jepsen's sense: each has at most one operation in
//! flight, and waits an exponential think time (mean `clients / rate`) between the end of
//! one operation and the start of the next. Values are unique across the run, so a history
//! checker can tell every write apart.

use protocols::node::{Time, MILLISECOND};
use protocols::operation::{Key, Operation, OperationKind, Value};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::network::exponential;
use crate::scenario;

pub struct Workload {
    rng: ChaCha8Rng,
    /// Operation kinds with cumulative weights.
    mix: Vec<(OperationKind, f64)>,
    keys: u64,
    mean_think_ms: f64,
    transaction_keys: usize,
    no_vote: f64,
    /// No invocation at or after this time.
    end: Time,
    remaining: Option<u64>,
    next_value: Value,
    /// The last value the workload wrote to each key: compare-and-set expects it.
    last_written: Vec<Option<Value>>,
}

impl Workload {
    pub fn new(config: &scenario::Workload, operations: &[OperationKind], end: Time, rng: ChaCha8Rng) -> Workload {
        let weights: Vec<(OperationKind, f64)> = if config.mix.is_empty() {
            operations.iter().map(|&kind| (kind, 1.0)).collect()
        } else {
            config.mix.iter().map(|(&kind, &weight)| (kind, weight)).collect()
        };
        let mut total = 0.0;
        let mix = weights
            .into_iter()
            .map(|(kind, weight)| {
                total += weight;
                (kind, total)
            })
            .collect();
        Workload {
            rng,
            mix,
            keys: config.keys as u64,
            mean_think_ms: config.clients as f64 * 1_000.0 / config.rate,
            transaction_keys: config.transaction_keys as usize,
            no_vote: config.no_vote,
            end,
            remaining: config.operations,
            next_value: 0,
            last_written: vec![None; config.keys as usize],
        }
    }

    /// The wait before a client's next operation.
    pub fn think_time(&mut self) -> Time {
        (exponential(&mut self.rng, self.mean_think_ms) * MILLISECOND as f64) as Time
    }

    /// The next operation to invoke at `now`, or `None` when the workload is over.
    pub fn next_operation(&mut self, now: Time) -> Option<Operation> {
        let &(first, total) = self.mix.last()?;
        if now >= self.end || self.remaining == Some(0) {
            return None;
        }
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
        }
        let draw = self.rng.gen::<f64>() * total;
        let kind = self.mix.iter().find(|&&(_, cumulative)| draw < cumulative).map_or(first, |&(kind, _)| kind);
        let key: Key = self.rng.gen_range(0..self.keys);
        Some(self.operation(kind, key))
    }

    fn operation(&mut self, kind: OperationKind, key: Key) -> Operation {
        self.next_value += 1;
        let value = self.next_value;
        match kind {
            OperationKind::Propose => Operation::Propose { value },
            OperationKind::Read => Operation::Read { key },
            OperationKind::Write => {
                self.last_written[key as usize] = Some(value);
                Operation::Write { key, value }
            }
            OperationKind::Append => Operation::Append { key, value },
            OperationKind::Cas => {
                let from = self.last_written[key as usize].unwrap_or(0);
                self.last_written[key as usize] = Some(value);
                Operation::Cas { key, from, to: value }
            }
            OperationKind::Transaction => self.transaction(value),
        }
    }

    /// A transaction on distinct random keys, each vetoed with probability `no_vote`.
    fn transaction(&mut self, value: Value) -> Operation {
        let mut all: Vec<Key> = (0..self.keys).collect();
        let (chosen, _) = all.partial_shuffle(&mut self.rng, self.transaction_keys);
        let mut keys = chosen.to_vec();
        keys.sort_unstable();
        let vetoes = keys.iter().copied().filter(|_| self.no_vote > 0.0 && self.rng.gen_bool(self.no_vote)).collect();
        Operation::Transaction { value, keys, vetoes }
    }
}
