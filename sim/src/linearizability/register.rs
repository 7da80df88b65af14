//! `CasRegister`: an integer register with read, write and compare-and-set, one per key
//! (Jepsen's cas-register workload, with `independent` keys when a history has them).
//!
//! The register starts absent (`nil`). What a failed cas and a read of `nil` mean depends
//! on the history's semantics (`convert.rs`): as Porcupine reads Jepsen's etcd logs, a
//! failed cas completed without applying (evidence that the register did not hold `from`:
//! [`RegisterOutput::Failed`]) and a read of `nil` saw it absent; as Knossos reads Jepsen's
//! EDN, a failed cas did not happen and a read of `nil` tells nothing, so neither reaches
//! the model. An unknown outcome (`info`, or `fail read :timed-out`) carries no information.

use super::model::Model;

/// The cas-register model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CasRegister;

/// A register operation, with the key of its register (`None`: the only register).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegisterInput {
    pub key: Option<String>,
    pub command: RegisterCommand,
}

/// What a register operation asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterCommand {
    Read,
    Write(i64),
    Cas { from: i64, to: i64 },
}

/// How a register operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// A read saw this value (`None`: absent).
    Read(Option<i64>),
    /// A write or cas took effect.
    Done,
    /// A cas completed without applying: the register did not hold `from`.
    Failed,
    /// Nothing is known: the operation may or may not have taken effect.
    Unknown,
}

impl Model for CasRegister {
    type Input = RegisterInput;
    type Output = RegisterOutput;
    type State = Option<i64>;
    type Key = Option<String>;

    fn name(&self) -> &'static str {
        "cas-register"
    }

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(&self, state: &Option<i64>, input: &RegisterInput, output: &RegisterOutput) -> Option<Option<i64>> {
        use RegisterCommand::{Cas, Read, Write};
        use RegisterOutput::{Done, Failed, Unknown};
        match (&input.command, output) {
            (Read, RegisterOutput::Read(seen)) => (seen == state).then_some(*state),
            (Read, Unknown | Failed) | (Write(_), Failed) => Some(*state),
            (Write(value), Done | Unknown) => Some(Some(*value)),
            (Cas { from, to }, Done | Unknown) => (*state == Some(*from)).then_some(Some(*to)),
            (Cas { from, .. }, Failed) => (*state != Some(*from)).then_some(*state),
            // An output of the wrong shape (a write that returned a value) is impossible.
            (Read, Done) | (Write(_) | Cas { .. }, RegisterOutput::Read(_)) => None,
        }
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        show(*state)
    }

    fn key(&self, input: &RegisterInput) -> Option<String> {
        input.key.clone()
    }

    fn describe_key(&self, key: &Option<String>) -> Option<String> {
        key.clone()
    }

    fn describe(&self, input: &RegisterInput, output: &RegisterOutput) -> String {
        let asked = match input.command {
            RegisterCommand::Read => "read".to_string(),
            RegisterCommand::Write(value) => format!("write {value}"),
            RegisterCommand::Cas { from, to } => format!("cas {from}->{to}"),
        };
        let told = match output {
            RegisterOutput::Read(seen) => format!("returned {}", show(*seen)),
            RegisterOutput::Done => "ok".to_string(),
            RegisterOutput::Failed => "fail (did not apply)".to_string(),
            RegisterOutput::Unknown => "info (outcome unknown)".to_string(),
        };
        format!("{asked}: {told}")
    }
}

fn show(value: Option<i64>) -> String {
    value.map_or_else(|| "nil".to_string(), |value| value.to_string())
}
