//! `MultiRegister`: Knossos's multi-register, registers named by keys read and written in
//! transactions (`:f :txn` with a value like `[[:r :x 1] [:w :y 2]]`), all registers
//! starting empty (`nil`). A transaction takes effect atomically: its micro-operations
//! run in order, a read must see the value the registers hold at that point, and as in
//! Knossos a read of `nil` is always legal (it carries no value). Transactions span keys,
//! so the history is one object: it is not split by key.

use std::collections::BTreeMap;

use super::model::Model;

/// The multi-register model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MultiRegister;

/// One micro-operation of a transaction: `key` as written in the history (`:x`, `3`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MicroOp {
    /// A read; `None` until the completion says what it saw, and for a read of `nil`.
    Read(String, Option<i64>),
    Write(String, i64),
}

/// A transaction: the completion's micro-operations (with what the reads saw).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transaction(pub Vec<MicroOp>);

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TransactionOutput {
    Committed,
    /// Nothing is known: it may or may not have taken effect (its reads then tell nothing).
    Unknown,
}

impl Model for MultiRegister {
    type Input = Transaction;
    type Output = TransactionOutput;
    type State = BTreeMap<String, i64>;
    type Key = ();

    fn name(&self) -> &'static str {
        "multi-register"
    }

    fn init(&self) -> BTreeMap<String, i64> {
        BTreeMap::new()
    }

    fn step(
        &self,
        state: &BTreeMap<String, i64>,
        input: &Transaction,
        output: &TransactionOutput,
    ) -> Option<BTreeMap<String, i64>> {
        let mut next = state.clone();
        for micro in &input.0 {
            match micro {
                MicroOp::Read(key, Some(seen)) if *output == TransactionOutput::Committed => {
                    if next.get(key) != Some(seen) {
                        return None;
                    }
                }
                MicroOp::Read(..) => {}
                MicroOp::Write(key, value) => {
                    next.insert(key.clone(), *value);
                }
            }
        }
        Some(next)
    }

    fn key(&self, _input: &Transaction) {}

    fn describe_key(&self, _key: &()) -> Option<String> {
        None
    }

    fn describe(&self, input: &Transaction, output: &TransactionOutput) -> String {
        let micros: Vec<String> = input
            .0
            .iter()
            .map(|micro| match micro {
                MicroOp::Read(key, Some(seen)) => format!("r {key} {seen}"),
                MicroOp::Read(key, None) => format!("r {key} nil"),
                MicroOp::Write(key, value) => format!("w {key} {value}"),
            })
            .collect();
        let told = match output {
            TransactionOutput::Committed => "ok",
            TransactionOutput::Unknown => "info (outcome unknown)",
        };
        format!("txn [{}]: {told}", micros.join(", "))
    }

    fn heap_size(&self, state: &BTreeMap<String, i64>) -> usize {
        state.keys().map(|key| key.len() + 48).sum()
    }
}
