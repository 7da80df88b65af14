//! Turning paired Jepsen operations into the operations of a model.
//!
//! What each outcome means (the semantics of the shared etcd and kv histories): `:ok` took
//! effect; `:info` and a missing completion are open; `:fail` of a cas completed without
//! applying (evidence that the register did not hold `from`), and any other `:fail` did not
//! happen or told nothing (`:fail :read :timed-out`), so it is left out, as are open reads.

use super::edn::Edn;
use super::error::InputError;
use super::model::Op;
use super::pairing::{Call, Ending};
use super::register::{RegisterCommand, RegisterInput, RegisterOutput};
use super::string_kv::{StringKvCommand, StringKvInput, StringKvOutput};

/// The calls as cas-register operations.
pub(crate) fn register_ops(calls: &[Call]) -> Result<Vec<Op<RegisterInput, RegisterOutput>>, InputError> {
    let mut ops = Vec::with_capacity(calls.len());
    for call in calls {
        ops.extend(register_op(call)?);
    }
    Ok(ops)
}

/// The calls as string key-value operations.
pub(crate) fn string_kv_ops(calls: &[Call]) -> Result<Vec<Op<StringKvInput, StringKvOutput>>, InputError> {
    let mut ops = Vec::with_capacity(calls.len());
    for call in calls {
        ops.extend(string_kv_op(call)?);
    }
    Ok(ops)
}

fn register_op(call: &Call) -> Result<Option<Op<RegisterInput, RegisterOutput>>, InputError> {
    let command = match call.f.as_str() {
        "read" => RegisterCommand::Read,
        "write" => RegisterCommand::Write(integer(&call.value, call.line, "a :write")?),
        "cas" => cas_arguments(&call.value, call.line)?,
        other => {
            let problem = format!(":{other} is not a cas-register operation");
            return Err(InputError::at(
                call.line,
                problem,
                ":read, :write or :cas; --model string-kv takes :get, :put, :append",
            ));
        }
    };
    let (ret, output) = match (&call.completion, &command) {
        (None, RegisterCommand::Read) => return Ok(None),
        (None, _) => (None, RegisterOutput::Unknown),
        (Some(done), RegisterCommand::Read) if done.ended == Ending::Ok => {
            (Some(done.at), RegisterOutput::Read(optional_integer(&done.value, done.line)?))
        }
        (Some(done), _) if done.ended == Ending::Ok => (Some(done.at), RegisterOutput::Done),
        (Some(done), RegisterCommand::Cas { .. }) => (Some(done.at), RegisterOutput::Failed),
        (Some(_), _) => return Ok(None),
    };
    let key = call.key.as_ref().map(ToString::to_string);
    Ok(Some(Op { process: call.process, call: call.invoked, ret, input: RegisterInput { key, command }, output }))
}

fn string_kv_op(call: &Call) -> Result<Option<Op<StringKvInput, StringKvOutput>>, InputError> {
    let Some(key) = &call.key else {
        let problem = format!("the :{} has no key", call.f);
        return Err(InputError::at(call.line, problem, "a :key, or a [key value] tuple as :value"));
    };
    let command = match call.f.as_str() {
        "get" => StringKvCommand::Get,
        "put" => StringKvCommand::Put(string(&call.value, call.line, "a :put")?),
        "append" => StringKvCommand::Append(string(&call.value, call.line, "an :append")?),
        other => {
            let problem = format!(":{other} is not a string-kv operation");
            return Err(InputError::at(
                call.line,
                problem,
                ":get, :put or :append; --model cas-register takes :read, :write, :cas",
            ));
        }
    };
    let (ret, output) = match (&call.completion, &command) {
        (None, StringKvCommand::Get) => return Ok(None),
        (None, _) => (None, StringKvOutput::Unknown),
        (Some(done), _) if done.ended == Ending::Fail => return Ok(None),
        (Some(done), StringKvCommand::Get) => {
            (Some(done.at), StringKvOutput::Got(string_or_nil(&done.value, done.line)?))
        }
        (Some(done), _) => (Some(done.at), StringKvOutput::Done),
    };
    let input = StringKvInput { key: key.to_string(), command };
    Ok(Some(Op { process: call.process, call: call.invoked, ret, input, output }))
}

fn integer(value: &Edn, line: usize, what: &str) -> Result<i64, InputError> {
    match value {
        Edn::Integer(number) => Ok(*number),
        other => Err(InputError::at(line, format!("{what} of `{other}`"), "an integer")),
    }
}

fn optional_integer(value: &Edn, line: usize) -> Result<Option<i64>, InputError> {
    match value {
        Edn::Nil => Ok(None),
        Edn::Integer(number) => Ok(Some(*number)),
        other => Err(InputError::at(line, format!("a :read that returned `{other}`"), "an integer, or nil for absent")),
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
