//! Client operations and their outcomes: the vocabulary shared by workloads, client state
//! machines and history checkers.
//!
//! Outcomes follow Jepsen's operation model: `Ok` took effect, `Fail` certainly did not,
//! and `Info` may or may not have taken effect (a timeout after the request was sent).

use serde::{Deserialize, Serialize};

/// A key of the replicated store.
pub type Key = u64;
/// A value written, appended or proposed; workloads make every value unique.
pub type Value = u64;

/// One operation a client is asked to perform.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// Propose `value` for the single decision of a consensus instance.
    Propose { value: Value },
    /// Read a key.
    Read { key: Key },
    /// Overwrite a key.
    Write { key: Key, value: Value },
    /// Append to a key's list.
    Append { key: Key, value: Value },
    /// Set `key` to `to` if it holds `from`.
    Cas { key: Key, from: Value, to: Value },
    /// An atomic transaction, identified by `value`, that writes `value` to every key in
    /// `keys`; the participant holding a key in `vetoes` votes no (as the workload drew),
    /// and a participant may also vote no on its own (a conflict). `Ok(Done)`: committed;
    /// `Fail`: aborted; `Info`: the client cannot know (blocked).
    Transaction { value: Value, keys: Vec<Key>, vetoes: Vec<Key> },
}

impl std::fmt::Display for Operation {
    /// In words, as the tables write it: `write 0 3`, `cas 1 2->5`, `transaction 4 on keys [0, 1]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operation::Propose { value } => write!(f, "propose {value}"),
            Operation::Read { key } => write!(f, "read {key}"),
            Operation::Write { key, value } => write!(f, "write {key} {value}"),
            Operation::Append { key, value } => write!(f, "append {key} {value}"),
            Operation::Cas { key, from, to } => write!(f, "cas {key} {from}->{to}"),
            Operation::Transaction { value, keys, vetoes } if vetoes.is_empty() => {
                write!(f, "transaction {value} on keys {keys:?}")
            }
            Operation::Transaction { value, keys, vetoes } => {
                write!(f, "transaction {value} on keys {keys:?} vetoes {vetoes:?}")
            }
        }
    }
}

/// The kinds of operation, as named in a scenario's operation mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationKind {
    Propose,
    Read,
    Write,
    Append,
    Cas,
    Transaction,
}

impl OperationKind {
    /// Every kind, in the order above.
    pub const ALL: [OperationKind; 6] = [
        OperationKind::Propose,
        OperationKind::Read,
        OperationKind::Write,
        OperationKind::Append,
        OperationKind::Cas,
        OperationKind::Transaction,
    ];

    /// The name used in scenario files and tables.
    pub fn name(self) -> &'static str {
        match self {
            OperationKind::Propose => "propose",
            OperationKind::Read => "read",
            OperationKind::Write => "write",
            OperationKind::Append => "append",
            OperationKind::Cas => "cas",
            OperationKind::Transaction => "transaction",
        }
    }
}

impl Operation {
    /// The operation's kind.
    pub fn kind(&self) -> OperationKind {
        match self {
            Operation::Propose { .. } => OperationKind::Propose,
            Operation::Read { .. } => OperationKind::Read,
            Operation::Write { .. } => OperationKind::Write,
            Operation::Append { .. } => OperationKind::Append,
            Operation::Cas { .. } => OperationKind::Cas,
            Operation::Transaction { .. } => OperationKind::Transaction,
        }
    }

    /// The key the operation touches (`None` for a proposal or a transaction).
    pub fn key(&self) -> Option<Key> {
        match self {
            Operation::Propose { .. } | Operation::Transaction { .. } => None,
            Operation::Read { key }
            | Operation::Write { key, .. }
            | Operation::Append { key, .. }
            | Operation::Cas { key, .. } => Some(*key),
        }
    }
}

/// What a successful operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// A write, append or successful compare-and-set.
    Done,
    /// A single value: the chosen value of a proposal, or a register read (`None`: absent).
    Value(Option<Value>),
    /// A read of a list.
    Values(Vec<Value>),
}

/// How a client's operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// It took effect and returned this.
    Ok(Reply),
    /// It certainly did not take effect.
    Fail,
    /// Unknown: it may or may not have taken effect, at any time after its invocation.
    Info,
}
