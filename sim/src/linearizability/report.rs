//! The checker's verdict on a history: what the CLI prints and what it writes as JSON.

use std::fmt;

use serde::Serialize;

/// The verdict on one history, with the evidence for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub model: &'static str,
    /// Operations checked (failed operations that did not happen, and open reads, are not
    /// counted: they carry no information).
    pub operations: usize,
    /// Keys (independent partitions) checked; 0 when the history is of one object.
    pub keys: usize,
    /// The unit of every instant in this report.
    pub time_unit: TimeUnit,
    /// The step budget of the search, and again of the shrinking of violations.
    pub budget: u64,
    /// Model steps the search took.
    pub steps: u64,
    /// Model steps the shrinking of violations took.
    pub shrink_steps: u64,
    /// The memory bound (`--max-memory`); the search's tables may take 5/8 of it.
    pub memory_limit_bytes: u64,
    /// The most bytes the search's tables held at once.
    pub peak_memory_bytes: u64,
    /// One per key found not linearizable, in key order.
    pub violations: Vec<Violation>,
    /// Keys the budget or the memory ran out on (`null`: the history has no keys).
    pub undecided_keys: Vec<Option<String>>,
    /// What ran out on them: `memory` if it did on any key, else `steps`.
    pub ran_out_of: Option<Limit>,
    /// Keys whose search was stopped undecided because another key had already been shown
    /// not linearizable (as Porcupine does): the verdict does not depend on them.
    pub unchecked_keys: Vec<Option<String>>,
}

/// A limit of the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// The step budget (`--budget`).
    Steps,
    /// The memory bound (`--max-memory`).
    Memory,
}

/// Whether the history is linearizable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Linearizable,
    /// At least one key is not linearizable (whatever the undecided keys turn out to be).
    NotLinearizable,
    /// No violation found, but the budget ran out on some key.
    Unknown,
}

/// The unit of the instants in a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeUnit {
    /// Line numbers of the history file (1-based).
    Line,
    /// Virtual-time nanoseconds of a simulated run.
    Nanosecond,
}

/// A key whose history is not linearizable, with a small set of operations that shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// `None`: the history has no keys.
    pub key: Option<String>,
    /// Operations of this key.
    pub key_operations: usize,
    /// The key's history up to this instant already cannot be linearized.
    pub cut: u64,
    /// The key's history up to this instant (the return before `cut`) was shown
    /// linearizable: the longest linearizable prefix. `None` if not shown.
    pub linearizable_until: Option<u64>,
    /// A linearization of that prefix, in order (at most [`LINEARIZATION_MAX`] operations).
    pub linearization: Vec<OpRef>,
    /// Operations that cannot be ordered even if every other operation of the key invoked
    /// by `cut` may not have taken effect (each within its interval, or, if it had not
    /// returned by `cut`, at any point after its invocation).
    pub operations: Vec<OpSummary>,
    /// True when relaxing any one of `operations` was shown to make the rest linearizable;
    /// false when the budget ran out first (some may then be unneeded).
    pub minimal: bool,
    /// Where the search got stuck, as Knossos reports it.
    pub stuck: Option<Stuck>,
}

/// The operation whose completion no order of the key's history gets past, with the
/// states the key can be in by then: every operation that returned before it has taken
/// effect (and some that were running then may have).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stuck {
    pub operation: OpSummary,
    /// At most a few.
    pub states: Vec<String>,
    /// Whether there were more than those.
    pub more_states: bool,
}

/// Operations of a prefix's linearization a report lists at most.
pub const LINEARIZATION_MAX: usize = 10_000;

/// An operation named by its process and invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OpRef {
    pub process: u64,
    pub call: u64,
}

/// One operation of a violation, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpSummary {
    pub process: u64,
    pub call: u64,
    pub ret: Option<u64>,
    /// What was asked and what came back, e.g. `cas 3->0: ok`.
    pub operation: String,
}

/// Operations of one violation that the text report prints (the JSON has them all).
const PRINTED_OPERATIONS_MAX: usize = 20;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = self.scope();
        match self.verdict {
            Verdict::Linearizable => writeln!(f, "linearizable: {scope} ({} search steps)", self.steps)?,
            Verdict::NotLinearizable if self.keys == 0 => writeln!(f, "NOT linearizable: {scope}")?,
            Verdict::NotLinearizable => {
                writeln!(f, "NOT linearizable: {scope}; {} of them not linearizable", self.violations.len())?;
            }
            Verdict::Unknown => writeln!(f, "unknown: {scope}; no violation found before the budget ran out")?,
        }
        for violation in &self.violations {
            violation.write(f, self.time_unit)?;
        }
        if !self.undecided_keys.is_empty() {
            let keys: Vec<&str> =
                self.undecided_keys.iter().map(|key| key.as_deref().unwrap_or("the history")).collect();
            match self.ran_out_of {
                Some(Limit::Memory) => writeln!(
                    f,
                    "undecided: the search reached its memory limit of {} MB (raise --max-memory to decide): {}",
                    self.memory_limit_bytes >> 20,
                    keys.join(", ")
                )?,
                _ => writeln!(
                    f,
                    "undecided after {} search steps (raise --budget to decide): {}",
                    self.budget,
                    keys.join(", ")
                )?,
            }
        }
        if !self.unchecked_keys.is_empty() {
            writeln!(
                f,
                "{} other keys were not searched to the end: the first key found not linearizable decides the \
                 verdict.",
                self.unchecked_keys.len()
            )?;
        }
        Ok(())
    }
}

impl Report {
    /// Rewrites every instant in the report (event positions into line numbers).
    pub(crate) fn map_instants(&mut self, map: impl Fn(u64) -> u64) {
        for violation in &mut self.violations {
            violation.cut = map(violation.cut);
            if let Some(stuck) = &mut violation.stuck {
                stuck.operation.call = map(stuck.operation.call);
                stuck.operation.ret = stuck.operation.ret.map(&map);
            }
            violation.linearizable_until = violation.linearizable_until.map(&map);
            for op in &mut violation.linearization {
                op.call = map(op.call);
            }
            for op in &mut violation.operations {
                op.call = map(op.call);
                op.ret = op.ret.map(&map);
            }
        }
    }

    fn scope(&self) -> String {
        let (ops, model) = (self.operations, self.model);
        match self.keys {
            0 => format!("{ops} operations checked as {model}"),
            keys => format!("{ops} operations on {keys} keys checked as {model}"),
        }
    }
}

impl Violation {
    fn write(&self, f: &mut fmt::Formatter<'_>, unit: TimeUnit) -> fmt::Result {
        let (count, cut) = (self.key_operations, instant(self.cut, unit));
        match &self.key {
            Some(key) => writeln!(f, "key {key} ({count} operations): its history up to {cut} cannot be linearized.")?,
            None => writeln!(f, "The history ({count} operations) up to {cut} cannot be linearized.")?,
        }
        if let Some(stuck) = &self.stuck {
            let op = &stuck.operation;
            writeln!(
                f,
                "No order gets past the completion of process {}'s {} ({}): by then the key can only be {}, and \
                 from none of these can it be ordered with the operations still running.",
                op.process,
                op.operation,
                span(op.call, op.ret, unit),
                states(&stuck.states, stuck.more_states)
            )?;
        }
        let why = if self.minimal {
            "making any one of them optional too would make the rest linearizable"
        } else {
            "the budget ran out while shrinking, so some may not be needed"
        };
        writeln!(
            f,
            "These {} operations cannot be ordered consistently with both their times and the model, even if \
             every other operation invoked by then may not have taken effect (each within its interval, or, if \
             still running then, at any point after its invocation) ({why}):",
            self.operations.len()
        )?;
        // The ones nearest the cut tell most.
        let shown = self.operations.len().min(PRINTED_OPERATIONS_MAX);
        if let Some(earlier) = self.operations.len().checked_sub(shown).filter(|&earlier| earlier > 0) {
            writeln!(f, "  ... {earlier} earlier ones (all are in the JSON report), then")?;
        }
        for op in &self.operations[self.operations.len() - shown..] {
            writeln!(f, "  process {}, {}: {}", op.process, span(op.call, op.ret, unit), op.operation)?;
        }
        Ok(())
    }
}

fn states(states: &[String], more: bool) -> String {
    match (states, more) {
        ([], _) => "in no state".to_string(),
        ([state], false) => state.clone(),
        (_, false) => format!("one of {}", states.join(", ")),
        (_, true) => format!("one of {} (among others)", states.join(", ")),
    }
}

fn span(call: u64, ret: Option<u64>, unit: TimeUnit) -> String {
    match (unit, ret) {
        (TimeUnit::Line, Some(ret)) => format!("lines {call}-{ret}"),
        (TimeUnit::Line, None) => format!("line {call}-(open)"),
        (TimeUnit::Nanosecond, Some(ret)) => format!("{} to {}", nanoseconds(call), nanoseconds(ret)),
        (TimeUnit::Nanosecond, None) => format!("{} to (open)", nanoseconds(call)),
    }
}

fn instant(time: u64, unit: TimeUnit) -> String {
    match unit {
        TimeUnit::Line => format!("line {time}"),
        TimeUnit::Nanosecond => nanoseconds(time),
    }
}

/// Virtual time as milliseconds with nanosecond precision, e.g. `12.000345ms`.
fn nanoseconds(time: u64) -> String {
    format!("{}.{:06}ms", time / 1_000_000, time % 1_000_000)
}
