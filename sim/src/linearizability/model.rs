//! The model abstraction (as in Knossos and Porcupine) and the operation type the checker
//! reads.
//!
//! A model is a sequential specification: an initial state and a step function that says
//! which outputs an input may produce from a state, and what the state becomes. It also
//! names the key of each input, so that a history of a multi-key store can be split into
//! independent per-key histories: linearizability is local (Herlihy and Wing 1990, section
//! 3.2), so the history is linearizable if and only if every per-key history is.

use std::fmt;
use std::hash::Hash;
use std::str::FromStr;

use serde::Serialize;

/// One operation of a history, as the checker reads it.
///
/// `call` and `ret` are instants on one clock shared by every process: virtual-time
/// nanoseconds for the simulator's histories, positions in the file for parsed ones. Only
/// their order matters, and equal instants count as concurrent. `ret == None` makes the
/// operation *open* (Jepsen's `info`, or never completed): it may take effect at any point
/// after `call`, or never, and when it does, the model steps it with its `output` (which
/// is therefore usually the model's "unknown" output). `ret`, when present, must not be
/// before `call`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Op<I, O> {
    /// The client process that ran the operation.
    pub process: u64,
    /// When the operation was invoked.
    pub call: u64,
    /// When it completed; `None` if it is open.
    pub ret: Option<u64>,
    /// What was asked.
    pub input: I,
    /// What came back.
    pub output: O,
}

/// An operation of model `M`.
pub type ModelOp<M> = Op<<M as Model>::Input, <M as Model>::Output>;

/// A sequential specification the search checks a history against.
pub trait Model {
    /// What a client asks for.
    type Input: Clone + Eq + Hash + fmt::Debug;
    /// What it is told.
    type Output: Clone + Eq + Hash + fmt::Debug;
    /// The state of one key's object; hashed for the search's cache.
    type State: Clone + Eq + Hash + fmt::Debug;
    /// The partition an input belongs to (use `()` for a single object).
    type Key: Ord + Clone;

    /// The model's name in reports.
    fn name(&self) -> ModelName;

    /// The state of every key before the first operation.
    fn init(&self) -> Self::State;

    /// The state after `input` ran on `state` and produced `output`, or `None` if that
    /// output is impossible from that state.
    fn step(&self, state: &Self::State, input: &Self::Input, output: &Self::Output) -> Option<Self::State>;

    /// The key whose object `input` reads or changes.
    fn key(&self, input: &Self::Input) -> Self::Key;

    /// How a key reads in a report; `None` when the model has a single object.
    fn describe_key(&self, key: &Self::Key) -> Option<String>;

    /// One operation in words, without its key, process or times ("cas 3->0: ok").
    fn describe(&self, input: &Self::Input, output: &Self::Output) -> String;
}

/// The models a history can be checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelName {
    /// A compare-and-set register per key (one register when there are no keys).
    CasRegister,
    /// A string key-value store with get, put and append.
    StringKv,
    /// The simulator's own store (read, write, append, cas, propose).
    Kv,
}

impl ModelName {
    /// Every model, in the order above.
    pub const ALL: [ModelName; 3] = [ModelName::CasRegister, ModelName::StringKv, ModelName::Kv];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelName::CasRegister => "cas-register",
            ModelName::StringKv => "string-kv",
            ModelName::Kv => "kv",
        }
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ModelName::ALL
            .into_iter()
            .find(|model| model.name() == text)
            .ok_or_else(|| format!("unknown model `{text}` (allowed: cas-register, string-kv, kv)"))
    }
}
