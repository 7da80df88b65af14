//! Turning paired Jepsen operations into the operations of a model, under the semantics
//! of the history's format.
//!
//! Both semantics agree that `:ok` took effect, that `:info` and a missing completion are
//! open (the operation may take effect at any point after its invocation, or never), that an
//! open read tells nothing (it is left out), and that a `:fail` read (`:timed-out`) tells
//! nothing. They differ on what a `:fail` says, and on a read of `nil`:
//!
//! - [`Semantics::Knossos`], Jepsen's operation model as Knossos checks it (its checker
//!   removes failed operations before searching, and its register models accept a read of
//!   `nil` in any state): `:fail` means the operation did not take effect, and nothing
//!   more; a read that returned `nil` carries no value. The default for `jepsen-edn`.
//! - [`Semantics::Porcupine`], as Porcupine's parser reads Jepsen's etcd console logs: a
//!   failed cas completed without applying, which is evidence that the register did not
//!   hold `from`; a read of `nil` saw the register absent; other failed operations did not
//!   take effect. The default for `jepsen-log` and `porcupine-kv`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::edn::Edn;
use super::error::InputError;
use super::formats::Format;
use super::model::Op;
use super::multi_register::{MicroOp, Transaction, TransactionOutput};
use super::pairing::{Call, Completion, Ending};
use super::queue::{QueueCommand, QueueInput, QueueOutput};
use super::register::{RegisterCommand, RegisterInput, RegisterOutput};
use super::set::{SetCommand, SetInput, SetOutput};
use super::string_kv::{StringKvCommand, StringKvInput, StringKvOutput};

/// The models a history file can be checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelName {
    /// A compare-and-set register per key (one register when there are no keys).
    CasRegister,
    /// A string key-value store with get, put and append.
    StringKv,
    /// A set of integers with add and read, per key.
    Set,
    /// A FIFO queue of integers with enqueue and dequeue, per key.
    Queue,
    /// Knossos's multi-register: read and write transactions over named registers.
    MultiRegister,
}

impl ModelName {
    /// Every model, in the order above.
    pub const ALL: [ModelName; 5] =
        [ModelName::CasRegister, ModelName::StringKv, ModelName::Set, ModelName::Queue, ModelName::MultiRegister];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelName::CasRegister => "cas-register",
            ModelName::StringKv => "string-kv",
            ModelName::Set => "set",
            ModelName::Queue => "queue",
            ModelName::MultiRegister => "multi-register",
        }
    }

    /// The model that fits a history of `format` whose functions are `fs`: string-kv for
    /// `porcupine-kv`, and for `jepsen-edn` the model whose functions it uses (a register
    /// by default).
    pub(crate) fn default_for(format: Format, fs: &BTreeSet<&str>) -> ModelName {
        let uses = |names: &[&str]| names.iter().any(|name| fs.contains(name));
        match format {
            Format::JepsenLog => ModelName::CasRegister,
            Format::PorcupineKv => ModelName::StringKv,
            Format::JepsenEdn if uses(&["get", "put", "append"]) => ModelName::StringKv,
            Format::JepsenEdn if uses(&["add"]) => ModelName::Set,
            Format::JepsenEdn if uses(&["enqueue", "dequeue"]) => ModelName::Queue,
            Format::JepsenEdn => ModelName::CasRegister,
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
        ModelName::ALL.into_iter().find(|model| model.name() == text).ok_or_else(|| {
            format!("unknown model `{text}` (allowed: cas-register, string-kv, set, queue, multi-register, kv)")
        })
    }
}

/// What `:fail` and a read of `nil` mean (module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Semantics {
    Knossos,
    Porcupine,
}

impl Semantics {
    /// Every semantics, in the order above.
    pub const ALL: [Semantics; 2] = [Semantics::Knossos, Semantics::Porcupine];

    pub fn name(self) -> &'static str {
        match self {
            Semantics::Knossos => "knossos",
            Semantics::Porcupine => "porcupine",
        }
    }

    /// The semantics of the tool that reads `format`.
    pub fn default_for(format: Format) -> Semantics {
        match format {
            Format::JepsenEdn => Semantics::Knossos,
            Format::JepsenLog | Format::PorcupineKv => Semantics::Porcupine,
        }
    }
}

impl fmt::Display for Semantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Semantics {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Semantics::ALL
            .into_iter()
            .find(|semantics| semantics.name() == text)
            .ok_or_else(|| format!("unknown semantics `{text}` (allowed: knossos, porcupine)"))
    }
}

/// The refusal of a transaction under a model that has none.
fn transaction_refused(line: usize) -> InputError {
    InputError::at(
        line,
        "`:f :txn` is a transaction: this checker checks transactions only as Knossos's multi-register",
        "--model multi-register for [[:r k v] [:w k v]] transactions on registers; other transactional \
         histories need a transactional checker such as Elle",
    )
}

/// Converts every call with `convert`; `None` from it leaves the call out (module comment).
pub(crate) fn ops_of<I, O>(
    calls: &[Call],
    mut convert: impl FnMut(&Call) -> Result<Option<Op<I, O>>, InputError>,
) -> Result<Vec<Op<I, O>>, InputError> {
    let mut ops = Vec::with_capacity(calls.len());
    for call in calls {
        ops.extend(convert(call)?);
    }
    Ok(ops)
}

/// How a call ended, for the rules of the module comment.
enum End<'a> {
    Open,
    Ok(&'a Completion),
    Failed(&'a Completion),
}

fn end(call: &Call) -> End<'_> {
    match &call.completion {
        None => End::Open,
        Some(done) if done.ended == Ending::Ok => End::Ok(done),
        Some(done) => End::Failed(done),
    }
}

fn op<I, O>(call: &Call, ret: Option<u64>, input: I, output: O) -> Option<Op<I, O>> {
    Some(Op { process: call.process, call: call.invoked, ret, input, output })
}

fn key_name(call: &Call) -> Option<String> {
    call.key.as_ref().map(ToString::to_string)
}

/// A call as a cas-register operation.
pub(crate) fn register_op(
    call: &Call,
    semantics: Semantics,
) -> Result<Option<Op<RegisterInput, RegisterOutput>>, InputError> {
    let command = match call.f.as_str() {
        "read" => RegisterCommand::Read,
        "write" => RegisterCommand::Write(integer(&call.value, call.line, "a :write")?),
        "cas" => cas_arguments(&call.value, call.line)?,
        other => return Err(not_of_model(call.line, other, "cas-register", ":read, :write or :cas")),
    };
    let input = RegisterInput { key: key_name(call), command };
    let is_read = input.command == RegisterCommand::Read;
    Ok(match end(call) {
        End::Open if is_read => None,
        End::Open => op(call, None, input, RegisterOutput::Unknown),
        End::Ok(done) if is_read => match optional_integer(&done.value, done.line)? {
            None if semantics == Semantics::Knossos => None,
            seen => op(call, Some(done.at), input, RegisterOutput::Read(seen)),
        },
        End::Ok(done) => op(call, Some(done.at), input, RegisterOutput::Done),
        End::Failed(done) if semantics == Semantics::Porcupine && call.f == "cas" => {
            op(call, Some(done.at), input, RegisterOutput::Failed)
        }
        End::Failed(_) => None,
    })
}

/// A call as a string key-value operation.
pub(crate) fn string_kv_op(call: &Call) -> Result<Option<Op<StringKvInput, StringKvOutput>>, InputError> {
    let Some(key) = &call.key else {
        let problem = format!("the :{} has no key", call.f);
        return Err(InputError::at(call.line, problem, "a :key, or a [key value] tuple as :value"));
    };
    let command = match call.f.as_str() {
        "get" => StringKvCommand::Get,
        "put" => StringKvCommand::Put(string(&call.value, call.line, "a :put")?.into()),
        "append" => StringKvCommand::Append(string(&call.value, call.line, "an :append")?.into()),
        other => return Err(not_of_model(call.line, other, "string-kv", ":get, :put or :append")),
    };
    let input = StringKvInput { key: key.to_string(), command };
    let is_get = input.command == StringKvCommand::Get;
    Ok(match end(call) {
        End::Open if is_get => None,
        End::Open => op(call, None, input, StringKvOutput::Unknown),
        End::Failed(_) => None,
        End::Ok(done) if is_get => {
            let seen = string_or_nil(&done.value, done.line)?;
            op(call, Some(done.at), input, StringKvOutput::Got(seen))
        }
        End::Ok(done) => op(call, Some(done.at), input, StringKvOutput::Done),
    })
}

/// A call as a set operation.
pub(crate) fn set_op(call: &Call) -> Result<Option<Op<SetInput, SetOutput>>, InputError> {
    let command = match call.f.as_str() {
        "add" => SetCommand::Add(integer(&call.value, call.line, "an :add")?),
        "read" => SetCommand::Read,
        other => return Err(not_of_model(call.line, other, "set", ":add or :read")),
    };
    let input = SetInput { key: key_name(call), command };
    let is_read = input.command == SetCommand::Read;
    Ok(match end(call) {
        End::Open if is_read => None,
        End::Open => op(call, None, input, SetOutput::Unknown),
        End::Failed(_) => None,
        End::Ok(done) if is_read => {
            let seen = integers(&done.value, done.line, "a set :read")?;
            op(call, Some(done.at), input, SetOutput::Read(seen.into_iter().collect()))
        }
        End::Ok(done) => op(call, Some(done.at), input, SetOutput::Added),
    })
}

/// A call as a FIFO queue operation.
pub(crate) fn queue_op(call: &Call) -> Result<Option<Op<QueueInput, QueueOutput>>, InputError> {
    let command = match call.f.as_str() {
        "enqueue" => QueueCommand::Enqueue(integer(&call.value, call.line, "an :enqueue")?),
        "dequeue" => QueueCommand::Dequeue,
        other => return Err(not_of_model(call.line, other, "queue", ":enqueue or :dequeue")),
    };
    let input = QueueInput { key: key_name(call), command };
    let is_dequeue = input.command == QueueCommand::Dequeue;
    Ok(match end(call) {
        End::Open => op(call, None, input, QueueOutput::Unknown),
        End::Failed(_) => None,
        End::Ok(done) if is_dequeue => {
            let seen = optional_integer(&done.value, done.line)?;
            op(call, Some(done.at), input, QueueOutput::Dequeued(seen))
        }
        End::Ok(done) => op(call, Some(done.at), input, QueueOutput::Enqueued),
    })
}

/// A call as a multi-register transaction: the completion's micro-operations when it
/// committed (its reads say what they saw), the invocation's when it is open.
pub(crate) fn multi_register_op(call: &Call) -> Result<Option<Op<Transaction, TransactionOutput>>, InputError> {
    if call.f != "txn" {
        return Err(not_of_model(call.line, &call.f, "multi-register", ":txn"));
    }
    let invoked = micro_ops(&call.value, call.line)?;
    Ok(match end(call) {
        End::Open => op(call, None, Transaction(invoked), TransactionOutput::Unknown),
        End::Failed(_) => None,
        End::Ok(done) => {
            let completed = micro_ops(&done.value, done.line)?;
            let same_shape = invoked.len() == completed.len()
                && invoked.iter().zip(&completed).all(|pair| match pair {
                    (MicroOp::Read(asked, _), MicroOp::Read(read, _)) => asked == read,
                    (MicroOp::Write(..), MicroOp::Write(..)) => pair.0 == pair.1,
                    _ => false,
                });
            if !same_shape {
                let problem = format!(
                    "the :txn completed on line {} is not the transaction invoked on line {}",
                    done.line, call.line
                );
                return Err(InputError::at(done.line, problem, "the same micro-operations, with the reads' values"));
            }
            op(call, Some(done.at), Transaction(completed), TransactionOutput::Committed)
        }
    })
}

fn micro_ops(value: &Edn, line: usize) -> Result<Vec<MicroOp>, InputError> {
    let allowed = "a vector of [:r key value] and [:w key value] micro-operations (:read and :write also)";
    let (Edn::Vector(micros) | Edn::List(micros)) = value else {
        return Err(InputError::at(line, format!("a :txn of `{value}`"), allowed));
    };
    micros
        .iter()
        .map(|micro| match micro {
            Edn::Vector(parts) if parts.len() == 3 => match parts[0].as_keyword() {
                Some("r" | "read") => Ok(MicroOp::Read(parts[1].to_string(), optional_integer(&parts[2], line)?)),
                Some("w" | "write") => Ok(MicroOp::Write(parts[1].to_string(), integer(&parts[2], line, "a write")?)),
                _ => Err(InputError::at(line, format!("`{micro}` is not a micro-operation"), allowed)),
            },
            _ => Err(InputError::at(line, format!("`{micro}` is not a micro-operation"), allowed)),
        })
        .collect()
}

fn not_of_model(line: usize, f: &str, model: &str, functions: &str) -> InputError {
    if f == "txn" && model != "multi-register" {
        return transaction_refused(line);
    }
    InputError::at(
        line,
        format!(":{f} is not a {model} operation"),
        format!(
            "{functions}; the models: cas-register (:read :write :cas), string-kv (:get :put :append), set (:add \
             :read), queue (:enqueue :dequeue), multi-register (:txn)"
        ),
    )
}

fn integer(value: &Edn, line: usize, what: &str) -> Result<i64, InputError> {
    match value {
        Edn::Integer(number) => Ok(*number),
        other => Err(InputError::at(line, format!("{what} of `{other}`"), "an integer")),
    }
}

fn integers(value: &Edn, line: usize, what: &str) -> Result<Vec<i64>, InputError> {
    match value {
        Edn::Set(elements) | Edn::Vector(elements) | Edn::List(elements) => {
            elements.iter().map(|element| integer(element, line, what)).collect()
        }
        Edn::Nil => Ok(Vec::new()),
        other => Err(InputError::at(line, format!("{what} that returned `{other}`"), "a set or vector of integers")),
    }
}

fn optional_integer(value: &Edn, line: usize) -> Result<Option<i64>, InputError> {
    match value {
        Edn::Nil => Ok(None),
        Edn::Integer(number) => Ok(Some(*number)),
        other => Err(InputError::at(line, format!("a read that returned `{other}`"), "an integer, or nil")),
    }
}

fn cas_arguments(value: &Edn, line: usize) -> Result<RegisterCommand, InputError> {
    if let Edn::Vector(pair) = value {
        if let [Edn::Integer(from), Edn::Integer(to)] = pair.as_slice() {
            return Ok(RegisterCommand::Cas { from: *from, to: *to });
        }
    }
    Err(InputError::at(line, format!("a :cas of `{value}`"), "[from to], two integers"))
}

fn string(value: &Edn, line: usize, what: &str) -> Result<String, InputError> {
    match value {
        Edn::String(text) => Ok(text.clone()),
        other => Err(InputError::at(line, format!("{what} of `{other}`"), "a string")),
    }
}

/// A get's result; nil reads as the empty string every key starts with.
fn string_or_nil(value: &Edn, line: usize) -> Result<String, InputError> {
    match value {
        Edn::Nil => Ok(String::new()),
        Edn::String(text) => Ok(text.clone()),
        other => Err(InputError::at(line, format!("a :get that returned `{other}`"), "a string, or nil for empty")),
    }
}
