//! `Kv`: the simulator's own store, on `protocols::operation`, so that the engine's
//! recorded client history can be checked without translation of its values.
//!
//! Per key the state is a list of values, empty at first: `Read` returns it, `Write` makes
//! it `[value]`, `Append` pushes, and `Cas` applies (making it `[to]`) exactly when it is
//! `[from]`; a cas that completed with `Outcome::Fail` is evidence that it was not. Any
//! other failed operation did not happen. `Propose` operations form one more partition,
//! the consensus decision, checked as a register that only its first write sets: every
//! successful proposal must return the same value, and that value must have been proposed
//! by an operation that could have run first.

use protocols::operation::{Key, Operation, Outcome, Reply, Value};

use super::model::Model;

/// The simulator's store model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kv;

impl Model for Kv {
    type Input = Operation;
    type Output = Outcome;
    type State = Vec<Value>;
    /// The key, or `None` for the consensus decision that proposals share.
    type Key = Option<Key>;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> Vec<Value> {
        Vec::new()
    }

    fn step(&self, state: &Vec<Value>, input: &Operation, output: &Outcome) -> Option<Vec<Value>> {
        match output {
            Outcome::Ok(reply) => step_ok(state, input, reply),
            Outcome::Info => step_unknown(state, input),
            Outcome::Fail => match input {
                Operation::Cas { from, .. } => (state != &[*from]).then(|| state.clone()),
                _ => Some(state.clone()),
            },
        }
    }

    fn key(&self, input: &Operation) -> Option<Key> {
        input.key()
    }

    fn describe_key(&self, key: &Option<Key>) -> Option<String> {
        Some(key.map_or_else(|| "the consensus decision".to_string(), |key| key.to_string()))
    }

    fn describe(&self, input: &Operation, output: &Outcome) -> String {
        let asked = match input {
            Operation::Propose { value } => format!("propose {value}"),
            Operation::Read { .. } => "read".to_string(),
            Operation::Write { value, .. } => format!("write {value}"),
            Operation::Append { value, .. } => format!("append {value}"),
            Operation::Cas { from, to, .. } => format!("cas {from}->{to}"),
            Operation::Transaction { value, keys, .. } => format!("transaction {value} on {keys:?}"),
        };
        let told = match output {
            Outcome::Ok(Reply::Done) => "ok".to_string(),
            Outcome::Ok(Reply::Value(None)) => "returned nothing".to_string(),
            Outcome::Ok(Reply::Value(Some(value))) => format!("returned {value}"),
            Outcome::Ok(Reply::Values(values)) => format!("returned {values:?}"),
            Outcome::Fail => "fail".to_string(),
            Outcome::Info => "info (outcome unknown)".to_string(),
        };
        format!("{asked}: {told}")
    }

    fn heap_size(&self, state: &Vec<Value>) -> usize {
        state.capacity() * std::mem::size_of::<Value>()
    }
}

/// A completed operation. A read may also answer as a register (`Reply::Value`), which
/// matches an empty or one-element list.
fn step_ok(state: &Vec<Value>, input: &Operation, reply: &Reply) -> Option<Vec<Value>> {
    match (input, reply) {
        (Operation::Propose { value }, Reply::Value(Some(chosen))) => match state.as_slice() {
            [] => (chosen == value).then(|| vec![*value]),
            [decided] => (decided == chosen).then(|| state.clone()),
            _ => None,
        },
        (Operation::Read { .. }, Reply::Values(seen)) => (seen == state).then(|| state.clone()),
        (Operation::Read { .. }, Reply::Value(seen)) => (seen.as_slice() == state.as_slice()).then(|| state.clone()),
        (Operation::Write { value, .. }, Reply::Done) => Some(vec![*value]),
        (Operation::Append { value, .. }, Reply::Done) => Some(appended(state, *value)),
        (Operation::Cas { from, to, .. }, Reply::Done) => (state == &[*from]).then(|| vec![*to]),
        // A reply of the wrong shape (a write that returned values) is impossible.
        _ => None,
    }
}

/// An open operation taking effect now.
fn step_unknown(state: &Vec<Value>, input: &Operation) -> Option<Vec<Value>> {
    match input {
        Operation::Propose { value } => state.is_empty().then(|| vec![*value]),
        Operation::Read { .. } => Some(state.clone()),
        Operation::Write { value, .. } => Some(vec![*value]),
        Operation::Append { value, .. } => Some(appended(state, *value)),
        Operation::Cas { from, to, .. } => (state == &[*from]).then(|| vec![*to]),
        // Multi-key transactions are not part of this model: runs that have them skip the
        // linearizability check (their atomicity is checked by the commit protocols).
        Operation::Transaction { .. } => None,
    }
}

fn appended(state: &[Value], value: Value) -> Vec<Value> {
    let mut next = state.to_vec();
    next.push(value);
    next
}
