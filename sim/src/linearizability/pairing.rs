//! Pairing each invocation with the completion of the same process, as Jepsen records
//! them: a process has at most one operation in flight; `:ok`, `:fail` or `:info` ends it.
//! An invocation that completed with `:info`, or never completed, stays open.

use std::collections::BTreeMap;

use super::edn::Edn;
use super::error::InputError;
use super::formats::{split_tuple, Event, EventKind};

/// One operation: an invocation and, if it came, its completion. Instants are positions in
/// the event stream (so records on one line still have an order).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Call {
    pub process: u64,
    pub f: String,
    pub key: Option<Edn>,
    /// Whether the key came from an independent tuple (the completion's value is one too).
    pub tupled: bool,
    /// The invocation's position and line.
    pub invoked: u64,
    pub line: usize,
    /// The invocation's value (the arguments).
    pub value: Edn,
    /// `None`: the operation is open.
    pub completion: Option<Completion>,
}

/// How a completed operation ended.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Completion {
    pub ended: Ending,
    pub at: u64,
    pub line: usize,
    pub value: Edn,
}

/// The definite outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    Ok,
    Fail,
}

const ALLOWED: &str = "each process completes an operation with :ok, :fail or :info before it invokes the next";

/// Pairs invocations with completions, in invocation order.
pub(crate) fn pair(events: Vec<Event>) -> Result<Vec<Call>, InputError> {
    let mut calls: Vec<Call> = Vec::new();
    // Process -> index in `calls` of its operation in flight.
    let mut in_flight: BTreeMap<u64, usize> = BTreeMap::new();
    for (at, event) in (0u64..).zip(events) {
        if event.kind == EventKind::Invoke {
            if let Some(&open) = in_flight.get(&event.process) {
                let open = &calls[open];
                let problem = format!(
                    "process {} invokes :{} while its :{} from line {} is in flight",
                    event.process, event.f, open.f, open.line
                );
                return Err(InputError::at(event.line, problem, ALLOWED));
            }
            in_flight.insert(event.process, calls.len());
            calls.push(invocation(at, event));
            continue;
        }
        let Some(open) = in_flight.remove(&event.process) else {
            let problem = format!("process {} completes :{} but has nothing in flight", event.process, event.f);
            return Err(InputError::at(event.line, problem, ALLOWED));
        };
        let call = &mut calls[open];
        let mut event = event;
        if call.tupled && event.key.is_none() {
            let (key, value) = split_tuple(&event.f, std::mem::replace(&mut event.value, Edn::Nil), true);
            event.value = value;
            event.key = key;
        }
        disagreement(call, &event)?;
        let ended = match event.kind {
            EventKind::Ok => Ending::Ok,
            EventKind::Fail => Ending::Fail,
            // The operation stays open; the process is free to invoke again.
            EventKind::Info | EventKind::Invoke => continue,
        };
        call.completion = Some(Completion { ended, at, line: event.line, value: event.value });
    }
    Ok(calls)
}

/// Functions whose invocation carries the argument, which the completion repeats.
const ARGUMENT_FUNCTIONS: [&str; 6] = ["write", "cas", "put", "append", "add", "enqueue"];

/// Refuses a completion that names another function, key or argument than its invocation
/// (a completion that repeats no argument, `nil` or an error keyword such as `:timed-out`,
/// agrees with any).
fn disagreement(call: &Call, event: &Event) -> Result<(), InputError> {
    let lines = format!("invoked on line {}, completed on line {}", call.line, event.line);
    let allowed = "a completion names the function, key and argument of its invocation";
    if call.f != event.f {
        let problem = format!("process {} invoked :{} but completes :{} ({lines})", event.process, call.f, event.f);
        return Err(InputError::at(event.line, problem, allowed));
    }
    if let (Some(invoked), Some(completed)) = (&call.key, &event.key) {
        if invoked != completed {
            let problem = format!(
                "process {}'s :{} is on key {invoked} but completes on key {completed} ({lines})",
                event.process, call.f
            );
            return Err(InputError::at(event.line, problem, allowed));
        }
    }
    let repeats = !matches!(event.value, Edn::Nil | Edn::Keyword(_));
    if ARGUMENT_FUNCTIONS.contains(&call.f.as_str()) && repeats && event.value != call.value {
        let problem = format!(
            "process {}'s :{} of {} completes as :{} of {} ({lines})",
            event.process, call.f, call.value, event.f, event.value
        );
        return Err(InputError::at(event.line, problem, allowed));
    }
    Ok(())
}

fn invocation(at: u64, event: Event) -> Call {
    let (key, value, tupled) = match event.key {
        Some(key) => (Some(key), event.value, false),
        None => {
            let (key, value) = split_tuple(&event.f, event.value, false);
            let tupled = key.is_some();
            (key, value, tupled)
        }
    };
    Call { process: event.process, f: event.f, key, tupled, invoked: at, line: event.line, value, completion: None }
}
