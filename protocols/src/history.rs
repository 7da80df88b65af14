//! Client histories and the sequential models they are checked against.
//!
//! A run records one [`Call`] per client operation: invoked, then completed (or still open
//! when the run ended). The history checkers read calls as [`Op`]s on one clock, and judge
//! them against a [`Model`]: a sequential specification, as in Knossos, Porcupine and
//! Stateright's `SequentialSpec`. A model also names the key of each input, so that a
//! history of a multi-key store can be split into independent per-key histories:
//! linearizability is local (Herlihy and Wing 1990, section 3.2), so the history is
//! linearizable if and only if every per-key history is.

use std::fmt;
use std::hash::Hash;

use serde::Serialize;

use crate::node::{NodeId, Time};
use crate::service::{Outcome, Service};

/// One client operation of a run.
pub struct Call<S: Service> {
    pub client: NodeId,
    /// True virtual time of the invocation.
    pub invoked: Time,
    pub completed: Option<Time>,
    pub operation: S::Operation,
    /// `None`: the run ended before the client knew; counts as `Info`.
    pub outcome: Option<Outcome<S::Reply>>,
}

// By hand: derives would ask `S` itself, a marker type, for the traits.
impl<S: Service> Clone for Call<S> {
    fn clone(&self) -> Self {
        Call {
            client: self.client,
            invoked: self.invoked,
            completed: self.completed,
            operation: self.operation.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

impl<S: Service> fmt::Debug for Call<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("client", &self.client)
            .field("invoked", &self.invoked)
            .field("completed", &self.completed)
            .field("operation", &self.operation)
            .field("outcome", &self.outcome)
            .finish()
    }
}

impl<S: Service> PartialEq for Call<S> {
    fn eq(&self, other: &Self) -> bool {
        (self.client, self.invoked, self.completed, &self.operation, &self.outcome)
            == (other.client, other.invoked, other.completed, &other.operation, &other.outcome)
    }
}

impl<S: Service> Eq for Call<S> {}

impl<S: Service> Call<S> {
    /// The outcome, with an unfinished call counted as `Info`.
    pub fn outcome(&self) -> &Outcome<S::Reply> {
        self.outcome.as_ref().unwrap_or(&Outcome::Info)
    }

    /// The call as the checkers read it: a `Fail` is left out (it did not happen and tells
    /// nothing more: Jepsen's model), and an `Info` is open (no return).
    pub fn as_op(&self) -> Option<Op<S::Operation, Outcome<S::Reply>>> {
        let outcome = self.outcome();
        if matches!(outcome, Outcome::Fail) {
            return None;
        }
        let ret = if outcome.is_definite() { self.completed } else { None };
        Some(Op {
            process: u64::from(self.client),
            call: self.invoked,
            ret,
            input: self.operation.clone(),
            output: outcome.clone(),
        })
    }
}

/// One operation of a history, as the checkers read it.
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

/// A sequential specification a history is checked against. The checker searches keys on
/// several threads, so a model and its types are plain data (`Send`, `Sync`).
pub trait Model: Sync {
    /// What a client asks for.
    type Input: Clone + Eq + Hash + fmt::Debug + Send + Sync;
    /// What it is told.
    type Output: Clone + Eq + Hash + fmt::Debug + Send + Sync;
    /// The state of one key's object; hashed for the search's cache.
    type State: Clone + Eq + Hash + fmt::Debug + Send;
    /// The partition an input belongs to (use `()` for a single object).
    type Key: Ord + Clone + Hash;

    /// The model's name in reports.
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

    /// Bytes a state holds beyond its own size (a list's values), which the checker counts
    /// against its memory limit. A model whose states hold nothing on the heap keeps the
    /// default.
    fn heap_size(&self, _state: &Self::State) -> usize {
        0
    }

    /// Drops operations that cannot change the verdict, before the search (for example open
    /// writes of values nothing observed, when values are unique). Default: none.
    fn prune(&self, ops: Vec<ModelOp<Self>>) -> Vec<ModelOp<Self>>
    where
        Self: Sized,
    {
        ops
    }
}
