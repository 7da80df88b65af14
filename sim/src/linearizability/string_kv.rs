//! `StringKv`: a store of strings with get, put and append, every key starting as the
//! empty string (Porcupine's kv test histories, and Jepsen histories with those `:f`s).

use super::model::Model;

/// The string key-value model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StringKv;

/// A string store operation on one key (the key as written in the history, e.g. `"4"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StringKvInput {
    pub key: String,
    pub command: StringKvCommand,
}

/// What a string store operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StringKvCommand {
    Get,
    Put(String),
    Append(String),
}

/// How a string store operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StringKvOutput {
    /// A get returned this string.
    Got(String),
    /// A put or append took effect.
    Done,
    /// Nothing is known: the operation may or may not have taken effect.
    Unknown,
}

impl Model for StringKv {
    type Input = StringKvInput;
    type Output = StringKvOutput;
    type State = String;
    type Key = String;

    fn name(&self) -> &'static str {
        "string-kv"
    }

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &StringKvInput, output: &StringKvOutput) -> Option<String> {
        use StringKvCommand::{Append, Get, Put};
        use StringKvOutput::{Done, Got, Unknown};
        match (&input.command, output) {
            (Get, Got(seen)) => (seen == state).then(|| state.clone()),
            (Get, Unknown) => Some(state.clone()),
            (Put(value), Done | Unknown) => Some(value.clone()),
            (Append(value), Done | Unknown) => Some(format!("{state}{value}")),
            // An output of the wrong shape (a put that returned a string) is impossible.
            (Get, Done) | (Put(_) | Append(_), Got(_)) => None,
        }
    }

    fn key(&self, input: &StringKvInput) -> String {
        input.key.clone()
    }

    fn describe_key(&self, key: &String) -> Option<String> {
        Some(key.clone())
    }

    fn describe(&self, input: &StringKvInput, output: &StringKvOutput) -> String {
        let asked = match &input.command {
            StringKvCommand::Get => "get".to_string(),
            StringKvCommand::Put(value) => format!("put {value:?}"),
            StringKvCommand::Append(value) => format!("append {value:?}"),
        };
        let told = match output {
            StringKvOutput::Got(seen) => format!("returned {seen:?}"),
            StringKvOutput::Done => "ok".to_string(),
            StringKvOutput::Unknown => "info (outcome unknown)".to_string(),
        };
        format!("{asked}: {told}")
    }
}
