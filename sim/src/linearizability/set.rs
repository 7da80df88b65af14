//! `Set`: a grow-only set of integers with add and read (Jepsen's set workload as Knossos's
//! `set` model checks it), one set per key when the history has `independent` keys.
//!
//! A read returns the whole set; it must equal the set of elements added before it.

use std::collections::BTreeSet;

use super::model::Model;

/// The set model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Set;

/// A set operation, with the key of its set (`None`: the only set).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SetInput {
    pub key: Option<String>,
    pub command: SetCommand,
}

/// What a set operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetCommand {
    Add(i64),
    Read,
}

/// How a set operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOutput {
    /// An add took effect.
    Added,
    /// A read saw these elements.
    Read(BTreeSet<i64>),
    /// Nothing is known: the operation may or may not have taken effect.
    Unknown,
}

impl Model for Set {
    type Input = SetInput;
    type Output = SetOutput;
    type State = BTreeSet<i64>;
    type Key = Option<String>;

    fn name(&self) -> &'static str {
        "set"
    }

    fn init(&self) -> BTreeSet<i64> {
        BTreeSet::new()
    }

    fn step(&self, state: &BTreeSet<i64>, input: &SetInput, output: &SetOutput) -> Option<BTreeSet<i64>> {
        match (&input.command, output) {
            (SetCommand::Add(element), SetOutput::Added | SetOutput::Unknown) => {
                let mut next = state.clone();
                next.insert(*element);
                Some(next)
            }
            (SetCommand::Read, SetOutput::Read(seen)) => (seen == state).then(|| state.clone()),
            (SetCommand::Read, SetOutput::Unknown) => Some(state.clone()),
            (SetCommand::Add(_), SetOutput::Read(_)) | (SetCommand::Read, SetOutput::Added) => None,
        }
    }

    fn key(&self, input: &SetInput) -> Option<String> {
        input.key.clone()
    }

    fn describe_key(&self, key: &Option<String>) -> Option<String> {
        key.clone()
    }

    fn describe(&self, input: &SetInput, output: &SetOutput) -> String {
        let asked = match input.command {
            SetCommand::Add(element) => format!("add {element}"),
            SetCommand::Read => "read".to_string(),
        };
        let told = match output {
            SetOutput::Added => "ok".to_string(),
            SetOutput::Read(seen) => format!("returned {seen:?}"),
            SetOutput::Unknown => "info (outcome unknown)".to_string(),
        };
        format!("{asked}: {told}")
    }

    fn heap_size(&self, state: &BTreeSet<i64>) -> usize {
        // A B-tree node holds up to 11 elements; count a node's worth per 8 elements.
        state.len() * std::mem::size_of::<i64>() * 2
    }
}
