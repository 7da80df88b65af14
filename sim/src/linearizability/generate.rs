//! A generator of long, highly concurrent histories whose verdict is known by construction,
//! to test and benchmark the checker on cases harder than the shared ones.
//!
//! Clients run operations back to back on an atomic object: each operation takes effect at
//! a random instant strictly inside its interval, so the history is linearizable (that
//! order is a witness). An operation may time out (`:info`): it then took effect or not, at
//! random, and its process is replaced by a new one, as Jepsen does. A planted violation
//! changes the output of one completed read, as late in the history as asked, into one that
//! no order can explain, by an argument that needs no search:
//!
//! - cas-register: the read returns a value `v` such that every operation that could have
//!   set `v` (invoked before the read returned; `:info` ones included) completed before
//!   some completed operation that set another value, which itself completed before the
//!   read was invoked. Whatever the order, the last write of `v` before the read is followed
//!   by such an overwrite, so the read cannot see `v`. (If no read allows this, the read
//!   returns a value nothing ever writes.)
//! - string-kv: a get loses the last piece `p` of its true string, where the append of `p`
//!   completed before the get was invoked, after the put that starts the string completed
//!   (or no put starts it). Every put and append value is unique, so any order that gives
//!   the shortened string has the same put (or none) last before the get, and the append of
//!   `p` after it: `p` would be in the string.
//!
//! The search has to exhaust every configuration before the planted read to prove it, so a
//! violation late in a history with many concurrent and `:info` operations is the
//! expensive case. Every choice comes from the seed.

use std::fmt::Write as _;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::formats::Format;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub workload: Workload,
    /// Concurrent clients (processes at any instant).
    pub clients: u32,
    /// Operations in the history.
    pub operations: usize,
    /// Chance that an operation times out and is recorded as `:info`.
    pub info: f64,
    /// Where to plant a violation, as a fraction of the history (0 first, 1 last); `None`
    /// for a linearizable history.
    pub violation: Option<f64>,
    pub seed: u64,
}

/// The object the clients share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One register of integers `0..values` with read, write and cas, as a Jepsen console
    /// log (failed cas completed without applying) or, with `edn`, as Jepsen EDN.
    CasRegister { values: i64, edn: bool },
    /// A store of strings with get, put and append on `keys` keys, in Porcupine's kv format.
    StringKv { keys: u32 },
}

/// A generated history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    pub text: String,
    pub format: Format,
    /// Known by construction.
    pub linearizable: bool,
}

/// Generates the history `spec` describes.
pub fn generate(spec: &Spec) -> Generated {
    let mut rng = crate::rng::stream(spec.seed, 0x6c69_6e65);
    let mut ops = schedule(spec, &mut rng);
    match spec.workload {
        Workload::CasRegister { values, edn } => {
            run_register(&mut ops, values);
            if let Some(at) = spec.violation {
                plant_register_violation(&mut ops, at, (values, edn), &mut rng);
            }
            let format = if edn { Format::JepsenEdn } else { Format::JepsenLog };
            Generated { text: write_register(&ops, edn), format, linearizable: spec.violation.is_none() }
        }
        Workload::StringKv { .. } => {
            run_string_kv(&mut ops);
            let planted = spec.violation.is_some_and(|at| plant_string_kv_violation(&mut ops, at));
            Generated { text: write_string_kv(&ops), format: Format::PorcupineKv, linearizable: !planted }
        }
    }
}

/// Never: the completion of an `:info` operation, for the rules above.
const NEVER: u64 = u64::MAX;

/// One planned operation. Instants are doubled so that the moment it takes effect (odd)
/// is strictly inside its interval (even ends).
#[derive(Clone, Debug)]
struct Planned {
    process: u64,
    key: u32,
    call: u64,
    ret: u64,
    /// When it takes effect.
    at: u64,
    /// Timed out: recorded as `:info`.
    info: bool,
    /// Took effect (always, unless it timed out).
    applied: bool,
    command: Command,
    output: Output,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Command {
    Read,
    Write(i64),
    Cas(i64, i64),
    Get,
    Put(String),
    Append(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Output {
    None,
    Value(Option<i64>),
    Cas(bool),
    Text(String),
}

/// Draws the operations' processes, keys, commands and intervals, client by client.
fn schedule(spec: &Spec, rng: &mut ChaCha8Rng) -> Vec<Planned> {
    let clients = spec.clients.max(1) as usize;
    let mut cursor: Vec<u64> = (0..clients).map(|_| rng.gen_range(0..20)).collect();
    let mut process: Vec<u64> = (0..clients as u64).collect();
    let mut counter = vec![0u64; clients];
    let mut ops = Vec::with_capacity(spec.operations);
    for _ in 0..spec.operations {
        let client = (0..clients).min_by_key(|&client| (cursor[client], client)).unwrap_or(0);
        let call = cursor[client] + rng.gen_range(1..20);
        let mut latency = rng.gen_range(1..100);
        if rng.gen_bool(0.05) {
            latency *= 10;
        }
        let ret = call + latency;
        let at = 2 * call + 1 + 2 * rng.gen_range(0..latency);
        let info = rng.gen_bool(spec.info);
        let (key, command) = command(spec.workload, client, counter[client], rng);
        counter[client] += 1;
        ops.push(Planned {
            process: process[client],
            key,
            call: 2 * call,
            ret: 2 * ret,
            at,
            info,
            applied: !info || rng.gen_bool(0.5),
            command,
            output: Output::None,
        });
        cursor[client] = ret;
        if info {
            process[client] += clients as u64;
        }
    }
    ops
}

fn command(workload: Workload, client: usize, counter: u64, rng: &mut ChaCha8Rng) -> (u32, Command) {
    match workload {
        Workload::CasRegister { values, .. } => {
            let command = match rng.gen_range(0..3) {
                0 => Command::Read,
                1 => Command::Write(rng.gen_range(0..values)),
                _ => Command::Cas(rng.gen_range(0..values), rng.gen_range(0..values)),
            };
            (0, command)
        }
        Workload::StringKv { keys } => {
            let key = rng.gen_range(0..keys.max(1));
            let value = format!("x {client} {counter} y");
            let command = match rng.gen_range(0..20) {
                0..=7 => Command::Get,
                8..=10 => Command::Put(value),
                _ => Command::Append(value),
            };
            (key, command)
        }
    }
}

/// The operations in the order they take effect.
fn effect_order(ops: &[Planned]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ops.len()).filter(|&op| ops[op].applied).collect();
    order.sort_by_key(|&op| ops[op].at);
    order
}

fn run_register(ops: &mut [Planned], values: i64) {
    let mut register: Option<i64> = None;
    for op in effect_order(ops) {
        let output = match ops[op].command {
            Command::Read => Output::Value(register),
            Command::Write(value) => {
                register = Some(value);
                Output::None
            }
            Command::Cas(from, to) => {
                let applies = register == Some(from);
                if applies {
                    register = Some(to);
                }
                Output::Cas(applies)
            }
            _ => unreachable!("register operations only, values in 0..{values}"),
        };
        ops[op].output = output;
    }
}

/// The value `op` sets if it takes effect, when it is a register write or cas.
fn sets(op: &Planned) -> Option<i64> {
    match op.command {
        Command::Write(value) => Some(value),
        Command::Cas(_, to) => Some(to),
        _ => None,
    }
}

/// Rewrites one completed read at or after `at` to return a value no order explains. In
/// EDN, a read of `nil` carries no value (Knossos's semantics), so it is not planted there.
fn plant_register_violation(ops: &mut [Planned], at: f64, (values, edn): (i64, bool), rng: &mut ChaCha8Rng) {
    let mut reads: Vec<usize> =
        (0..ops.len()).filter(|&op| ops[op].command == Command::Read && !ops[op].info).collect();
    reads.sort_by_key(|&op| ops[op].ret);
    let first = ((reads.len() as f64 * at) as usize).min(reads.len().saturating_sub(1));
    for &read in &reads[first..] {
        let Output::Value(seen) = ops[read].output else { continue };
        let nil = (!edn).then_some(None);
        let candidates: Vec<Option<i64>> =
            nil.into_iter().chain((0..values).map(Some)).filter(|value| *value != seen).collect();
        let impossible: Vec<Option<i64>> =
            candidates.into_iter().filter(|&value| cannot_be_read(ops, read, value)).collect();
        if !impossible.is_empty() {
            ops[read].output = Output::Value(impossible[rng.gen_range(0..impossible.len())]);
            return;
        }
    }
    if let Some(&read) = reads.get(first) {
        ops[read].output = Output::Value(Some(values));
    }
}

/// The rule of the module comment: every operation that could set `value` before `read`
/// returned is followed, in real time, by a completed overwrite with another value that
/// completed before `read` was invoked. `None` is set by the initial state.
fn cannot_be_read(ops: &[Planned], read: usize, value: Option<i64>) -> bool {
    let read_call = ops[read].call;
    let read_ret = ops[read].ret;
    // The latest invocation of a completed overwrite that completed before the read began.
    let overwritten_after = ops
        .iter()
        .filter(|op| !op.info && op.ret < read_call)
        .filter(|op| match (&op.command, &op.output) {
            (Command::Write(written), _) => Some(*written) != value,
            (Command::Cas(_, to), Output::Cas(true)) => Some(*to) != value,
            _ => false,
        })
        .map(|op| op.call)
        .max();
    let Some(overwritten_after) = overwritten_after else { return false };
    let mut producers_ret = ops
        .iter()
        .filter(|op| op.call < read_ret && value.is_some() && sets(op) == value)
        .filter(|op| op.info || !matches!(op.output, Output::Cas(false)))
        .map(|op| if op.info { NEVER } else { op.ret });
    producers_ret.all(|ret| ret < overwritten_after)
}

fn run_string_kv(ops: &mut [Planned]) {
    let keys = ops.iter().map(|op| op.key).max().map_or(0, |key| key as usize + 1);
    let mut store = vec![String::new(); keys];
    for op in effect_order(ops) {
        let key = ops[op].key as usize;
        let output = match &ops[op].command {
            Command::Get => Output::Text(store[key].clone()),
            Command::Put(value) => {
                store[key].clone_from(value);
                Output::None
            }
            Command::Append(value) => {
                store[key].push_str(value);
                Output::None
            }
            _ => unreachable!("string-kv operations only"),
        };
        ops[op].output = output;
    }
}

/// Rewrites one completed get at or after `at` to lose the last piece of its string, when
/// the rule of the module comment proves it; false if no get allows it.
fn plant_string_kv_violation(ops: &mut [Planned], at: f64) -> bool {
    let mut gets: Vec<usize> = (0..ops.len()).filter(|&op| ops[op].command == Command::Get && !ops[op].info).collect();
    gets.sort_by_key(|&op| ops[op].ret);
    let first = (gets.len() as f64 * at) as usize;
    for &get in gets.iter().skip(first) {
        if let Some(shortened) = provably_stale(ops, get) {
            ops[get].output = Output::Text(shortened);
            return true;
        }
    }
    false
}

/// The get's string without its last piece, if the rule proves no order gives it.
fn provably_stale(ops: &[Planned], get: usize) -> Option<String> {
    let Output::Text(seen) = &ops[get].output else { return None };
    // The operations that built `seen`, in the order they took effect.
    let key = ops[get].key;
    let mut chain: Vec<usize> = Vec::new();
    for op in effect_order(ops) {
        if ops[op].at > ops[get].at {
            break;
        }
        match &ops[op].command {
            Command::Put(_) if ops[op].key == key => chain = vec![op],
            Command::Append(_) if ops[op].key == key => chain.push(op),
            _ => {}
        }
    }
    let last = *chain.last()?;
    let Command::Append(piece) = &ops[last].command else { return None };
    let starts_after = match ops[chain[0]].command {
        Command::Put(_) if chain[0] == last => return None,
        Command::Put(_) if ops[chain[0]].info => return None,
        Command::Put(_) => ops[chain[0]].ret,
        _ => 0,
    };
    let proven = !ops[last].info && ops[last].ret < ops[get].call && ops[last].call > starts_after;
    proven.then(|| seen[..seen.len() - piece.len()].to_string())
}

/// The events in time order: invocations at `call`, completions at `ret`.
fn events(ops: &[Planned]) -> Vec<(u64, bool, usize)> {
    let mut events: Vec<(u64, bool, usize)> =
        (0..ops.len()).flat_map(|op| [(ops[op].call, false, op), (ops[op].ret, true, op)]).collect();
    events.sort_unstable();
    events
}

fn write_register(ops: &[Planned], edn: bool) -> String {
    let mut text = String::new();
    for (_, completion, op) in events(ops) {
        let op = &ops[op];
        let kind = match (completion, op.info, &op.output) {
            (false, _, _) => "invoke",
            (true, true, _) => "info",
            (true, false, Output::Cas(false)) => "fail",
            (true, false, _) => "ok",
        };
        let (f, value) = match (&op.command, completion, &op.output) {
            (Command::Read, true, _) if op.info && !edn => ("read", ":timed-out".to_string()),
            (Command::Read, true, Output::Value(Some(value))) if !op.info => ("read", value.to_string()),
            (Command::Read, _, _) => ("read", "nil".to_string()),
            (Command::Write(_), true, _) | (Command::Cas(..), true, _) if op.info && !edn => {
                (if matches!(op.command, Command::Write(_)) { "write" } else { "cas" }, ":timed-out".to_string())
            }
            (Command::Write(value), _, _) => ("write", value.to_string()),
            (Command::Cas(from, to), _, _) => ("cas", format!("[{from} {to}]")),
            _ => unreachable!("register operations only"),
        };
        if edn {
            let _ = writeln!(text, "{{:process {}, :type :{kind}, :f :{f}, :value {value}}}", op.process);
        } else {
            let _ = writeln!(text, "INFO  jepsen.util - {}\t:{kind}\t:{f}\t{value}", op.process);
        }
    }
    text
}

fn write_string_kv(ops: &[Planned]) -> String {
    let mut text = String::new();
    for (_, completion, op) in events(ops) {
        let op = &ops[op];
        let kind = match (completion, op.info) {
            (false, _) => "invoke",
            (true, true) => "info",
            (true, false) => "ok",
        };
        let (f, value) = match (&op.command, &op.output) {
            (Command::Get, Output::Text(seen)) if completion && !op.info => ("get", format!("{seen:?}")),
            (Command::Get, _) => ("get", "nil".to_string()),
            (Command::Put(value), _) => ("put", format!("{value:?}")),
            (Command::Append(value), _) => ("append", format!("{value:?}")),
            _ => unreachable!("string-kv operations only"),
        };
        let _ =
            writeln!(text, "{{:process {}, :type :{kind}, :f :{f}, :key \"{}\", :value {value}}}", op.process, op.key);
    }
    text
}
