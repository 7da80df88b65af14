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
    /// One per key that is not linearizable, in key order.
    pub violations: Vec<Violation>,
    /// Keys the budget ran out on (`null`: the history has no keys).
    pub undecided_keys: Vec<Option<String>>,
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
    /// Operations that cannot be ordered even if every other operation of the key invoked
    /// by `cut` may take effect at any point after its invocation, or never.
    pub operations: Vec<OpSummary>,
    /// True when relaxing any one of `operations` was shown to make the rest linearizable;
    /// false when the budget ran out first (some may then be unneeded).
    pub minimal: bool,
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
            writeln!(
                f,
                "undecided after {} search steps (raise the budget to decide): {}",
                self.budget,
                keys.join(", ")
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
        let why = if self.minimal {
            "making any one of them open too would make the rest linearizable"
        } else {
            "the budget ran out while shrinking, so some may not be needed"
        };
        writeln!(
            f,
            "These {} operations cannot be ordered consistently with both their times and the model, even if \
             every other operation invoked by then may take effect at any point after its invocation or not at \
             all ({why}):",
            self.operations.len()
        )?;
        for op in self.operations.iter().take(PRINTED_OPERATIONS_MAX) {
            writeln!(f, "  process {}, {}: {}", op.process, span(op.call, op.ret, unit), op.operation)?;
        }
        if let Some(more) = self.operations.len().checked_sub(PRINTED_OPERATIONS_MAX).filter(|&more| more > 0) {
            writeln!(f, "  ... and {more} more (all are in the JSON report)")?;
        }
        Ok(())
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
