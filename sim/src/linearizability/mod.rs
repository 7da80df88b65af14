//! The linearizability checker: is there an order of a history's operations, consistent
//! with their real-time order, in which a sequential model gives every recorded output?
//! (Herlihy and Wing, "Linearizability", 1990.)
//!
//! Two ways in: [`check_file`] reads a history another tool recorded (Jepsen's log or EDN,
//! Porcupine's kv format; `faultline check-history`), and the simulator's history checker
//! (`checkers::linearizable`) checks a run's history on its service's model (the `Model`
//! trait lives in `protocols::history`, since services declare their models). Both end in
//! [`check()`], which splits the history by key and searches the keys side by side,
//! stopping at the first violation (`check.rs`), searches each key's history (`search.rs`:
//! Wing-Gong-Lowe with a cache, as in Porcupine and Knossos, with numbered states, compact
//! cache keys and dominance of open operations), and shrinks each violation to a few
//! operations a reader can verify by hand (`minimise.rs`). The search stops at a budget of
//! model steps or a bound on its memory (`table.rs` counts every byte its tables take) and
//! then says `unknown` rather than run on or be killed.
//!
//! Reading files: `formats.rs` (the three formats, with `edn.rs`, a reader for the EDN
//! subset they use) gives events, `pairing.rs` pairs invocations with completions, and
//! `convert.rs` turns the pairs into the operations of the model under the format's
//! semantics of `:fail`. The models: `register.rs`, `string_kv.rs`, `set.rs`, `queue.rs`,
//! `multi_register.rs`, and the simulator's `kv.rs`. `generate.rs` writes hard histories
//! with known verdicts for the tests and the benchmark.

mod check;
mod convert;
mod edn;
mod error;
mod formats;
pub mod generate;
mod minimise;
mod model;
mod multi_register;
mod pairing;
mod queue;
mod register;
mod report;
mod search;
mod set;
mod string_kv;
mod table;
#[cfg(test)]
mod tests;
mod view;

use std::collections::BTreeSet;
use std::path::Path;

pub use check::{check, Limits};
pub use convert::{ModelName, Semantics};
pub use error::InputError;
pub use formats::Format;
pub use model::{Model, ModelOp, Op};
pub use multi_register::{MicroOp, MultiRegister, Transaction, TransactionOutput};
pub use queue::{Queue, QueueCommand, QueueInput, QueueOutput};
pub use register::{CasRegister, RegisterCommand, RegisterInput, RegisterOutput};
pub use report::{Limit, OpRef, OpSummary, Report, Stuck, TimeUnit, Verdict, Violation};
pub use set::{Set, SetCommand, SetInput, SetOutput};
pub use string_kv::{StringKv, StringKvCommand, StringKvInput, StringKvOutput};
pub use view::history_page;

/// The step budget of a simulated run's check (a scenario may set its own): it decides
/// every bundled scenario's history with room to spare and stops a pathological one within
/// about a second.
pub const DEFAULT_BUDGET: u64 = 10_000_000;

/// The step budget of `check-history`: a history file is checked once, so it may take up
/// to some seconds, shared by its keys, before the answer is unknown.
pub const CHECK_HISTORY_BUDGET: u64 = 100_000_000;

/// The default bound on the search's memory, in MiB (`check-history`).
pub const DEFAULT_MEMORY_MB: u64 = 1024;

/// The bound on the memory of a simulated run's check, in MiB: like its step budget, it
/// stops a pathological history (a swarm workload of one key, a dozen clients, appends and
/// operations of unknown outcome) within a fraction of a second, where filling a gigabyte
/// took two seconds of a time-boxed sweep, once per such seed and per core.
pub const RUN_MEMORY_MB: u64 = 128;

impl Limits {
    /// `steps` model steps and `memory_mb` MiB, on every core.
    pub fn new(steps: u64, memory_mb: u64) -> Limits {
        // Asked once: std reads the cgroup files anew on every call, and a sweep checks a
        // history per seed.
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let threads = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
        Limits { steps, memory: usize::try_from(memory_mb << 20).unwrap_or(usize::MAX), threads }
    }
}

/// How to read and check a history file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileCheck {
    pub format: Format,
    /// The model; `None`: the one that fits the format and the operations.
    pub model: Option<ModelName>,
    /// What `:fail` means; `None`: the format's own.
    pub semantics: Option<Semantics>,
    pub limits: Limits,
}

impl FileCheck {
    /// The format's defaults and `check-history`'s default limits.
    pub fn new(format: Format) -> FileCheck {
        let limits = Limits::new(CHECK_HISTORY_BUDGET, DEFAULT_MEMORY_MB);
        FileCheck { format, model: None, semantics: None, limits }
    }
}

/// A checked history file: the report, and every operation that was checked, for the
/// history view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub report: Report,
    pub history: Vec<HistoryOp>,
}

/// One checked operation, with instants as line numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryOp {
    pub process: u64,
    pub key: Option<String>,
    pub call: u64,
    pub ret: Option<u64>,
    /// What was asked and what came back, e.g. `cas 3->0: ok`.
    pub operation: String,
}

/// Checks a history file. The model is `options.model` if given, otherwise the one that
/// fits the format: cas-register for `jepsen-log`, string-kv for `porcupine-kv`, and for
/// `jepsen-edn` the model whose functions the history uses (string-kv for `:get`, `:put`,
/// `:append`; set for `:add`; queue for `:enqueue`, `:dequeue`; else cas-register).
/// Instants in the report are line numbers.
///
/// # Errors
///
/// If the file cannot be read, does not parse as the format, pairs an invocation with a
/// completion that disagrees with it, or holds operations or values the model does not
/// take; the error names the line and what is allowed there.
pub fn check_file(path: &Path, options: &FileCheck) -> Result<Checked, InputError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        InputError::whole(format!("cannot read the history: {error}"), "a readable UTF-8 text file").in_file(path)
    })?;
    check_text(&text, options).map_err(|error| error.in_file(path))
}

/// [`check_file`] on the text of a file; errors name no file.
pub(crate) fn check_text(text: &str, options: &FileCheck) -> Result<Checked, InputError> {
    let format = options.format;
    let events = formats::read_events(text, format)?;
    if events.is_empty() {
        return Err(InputError::whole("no client operations found", format.example()));
    }
    let lines: Vec<u64> = events.iter().map(|event| event.line as u64).collect();
    let fs: BTreeSet<&str> = events.iter().map(|event| event.f.as_str()).collect();
    let model = options.model.unwrap_or_else(|| ModelName::default_for(format, &fs));
    let semantics = options.semantics.unwrap_or_else(|| Semantics::default_for(format));
    let calls = pairing::pair(events)?;
    let limits = options.limits;
    let mut checked = match model {
        ModelName::CasRegister => {
            checked(&CasRegister, convert::ops_of(&calls, |call| convert::register_op(call, semantics))?, limits)
        }
        ModelName::StringKv => checked(&StringKv, convert::ops_of(&calls, convert::string_kv_op)?, limits),
        ModelName::Set => checked(&Set, convert::ops_of(&calls, convert::set_op)?, limits),
        ModelName::Queue => checked(&Queue, convert::ops_of(&calls, convert::queue_op)?, limits),
        ModelName::MultiRegister => {
            checked(&MultiRegister, convert::ops_of(&calls, convert::multi_register_op)?, limits)
        }
    };
    // The search ordered operations by their position among the events; report lines.
    let line = |at: u64| usize::try_from(at).ok().and_then(|at| lines.get(at)).copied().unwrap_or(at);
    checked.report.map_instants(line);
    for op in &mut checked.history {
        op.call = line(op.call);
        op.ret = op.ret.map(line);
    }
    Ok(checked)
}

/// Checks `ops`, keeping each operation in words for the history view.
fn checked<M>(model: &M, ops: Vec<ModelOp<M>>, limits: Limits) -> Checked
where
    M: Model + Sync,
    M::Input: Send + Sync,
    M::Output: Send + Sync,
    M::State: Send,
{
    let history = ops
        .iter()
        .map(|op| HistoryOp {
            process: op.process,
            key: model.describe_key(&model.key(&op.input)),
            call: op.call,
            ret: op.ret,
            operation: model.describe(&op.input, &op.output),
        })
        .collect();
    Checked { report: check(model, ops, limits, TimeUnit::Line), history }
}
