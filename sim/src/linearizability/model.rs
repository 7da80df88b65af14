//! The model abstraction (as in Knossos and Porcupine) and the operation type the checker
//! reads. Only std and serde: a protocol can declare the sequential model its history is
//! checked against.
//!
//! A model is a sequential specification: an initial state and a step function that says
//! which outputs an input may produce from a state, and what the state becomes. It also
//! names the key of each input, so that a history of a multi-key store can be split into
//! independent per-key histories: linearizability is local (Herlihy and Wing 1990, section
//! 3.2), so the history is linearizable if and only if every per-key history is.

use std::fmt;
use std::hash::Hash;

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

    /// The model's name in reports (`cas-register`).
    fn name(&self) -> &'static str;

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

    /// A state in words, for reports (by default its `Debug` form).
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// Bytes a state holds beyond its own size (a string's text), which the checker counts
    /// against its memory limit. A model whose states hold nothing on the heap keeps the
    /// default.
    fn heap_size(&self, _state: &Self::State) -> usize {
        0
    }
}
