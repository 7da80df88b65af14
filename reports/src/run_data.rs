//! A run directory read back: `summary.json` and the CSV tables that `faultline run`
//! writes. Every report (plots, HTML page, trace export, comparison) is rendered from this,
//! so a report can be rebuilt at any time from the files alone. A run that ended before it
//! recorded anything (a protocol panic) has a summary and no tables: those read as empty.

use std::io;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::{EventRow, FaultRow, HistoryRow, MessageRow, Summary};

/// Everything one run recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct RunData {
    pub summary: Summary,
    pub history: Vec<HistoryRow>,
    pub messages: Vec<MessageRow>,
    pub events: Vec<EventRow>,
    pub faults: Vec<FaultRow>,
}

/// A fault period with its end filled in (the end of the run if it was still in force).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpan {
    pub start_ms: f64,
    pub end_ms: f64,
    pub fault: String,
}

impl RunData {
    /// Reads the run directory `dir`; a missing table reads as empty, a missing or
    /// unreadable summary is an error that names the file.
    pub fn read(dir: &Path) -> io::Result<RunData> {
        let summary_path = dir.join("summary.json");
        let text = std::fs::read_to_string(&summary_path).map_err(|error| named(&summary_path, error))?;
        let summary = serde_json::from_str(&text).map_err(|error| named(&summary_path, io::Error::other(error)))?;
        Ok(RunData {
            summary,
            history: read_csv(&dir.join("history.csv"))?,
            messages: read_csv(&dir.join("messages.csv"))?,
            events: read_csv(&dir.join("events.csv"))?,
            faults: read_csv(&dir.join("faults.csv"))?,
        })
    }

    /// The virtual time the run ended at, in milliseconds (never zero, for plot ranges).
    pub fn end_ms(&self) -> f64 {
        let last_completion = self.history.iter().filter_map(|op| op.completed_ms).fold(0.0, f64::max);
        self.summary.figures.virtual_time_ms.max(last_completion).max(1.0)
    }

    /// The fault periods, each with an end (zero-length for an instant such as a clock jump).
    pub fn fault_spans(&self) -> Vec<FaultSpan> {
        let end = self.end_ms();
        let span = |row: &FaultRow| FaultSpan {
            start_ms: row.start_ms,
            end_ms: row.end_ms.unwrap_or(end).max(row.start_ms),
            fault: row.fault.clone(),
        };
        self.faults.iter().map(span).collect()
    }

    /// Latencies of the operations that completed `ok`.
    pub fn ok_latencies(&self) -> Vec<f64> {
        self.history.iter().filter(|op| op.kind == "ok").filter_map(|op| op.latency_ms).collect()
    }

    /// True for a verdict that calls for a closer look: `violation`, `stuck` or `error`.
    pub fn failed(&self) -> bool {
        self.summary.verdict != "ok"
    }
}

/// Operations answered out of those invoked, split by whether a fault was in force when
/// they were invoked. An answer is a definite one: `ok`, or `fail` (the operation surely did
/// not take effect, such as a compare-and-set whose precondition failed or an aborted
/// transaction); `info` (a timeout, no reply) is not an answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Availability {
    pub during_faults: Share,
    pub outside_faults: Share,
}

/// Operations answered out of `total`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Share {
    pub answered: u64,
    pub total: u64,
}

impl Share {
    /// The share as a fraction, or `None` when there were no operations.
    pub fn fraction(self) -> Option<f64> {
        (self.total > 0).then(|| self.answered as f64 / self.total as f64)
    }

    pub fn add(&mut self, other: Share) {
        self.answered += other.answered;
        self.total += other.total;
    }
}

impl Availability {
    pub fn of(data: &RunData) -> Availability {
        let spans = data.fault_spans();
        let mut availability = Availability::default();
        for op in &data.history {
            let share = match under_fault(&spans, op.invoked_ms) {
                true => &mut availability.during_faults,
                false => &mut availability.outside_faults,
            };
            share.total += 1;
            share.answered += u64::from(answered(op));
        }
        availability
    }

    pub fn add(&mut self, other: Availability) {
        self.during_faults.add(other.during_faults);
        self.outside_faults.add(other.outside_faults);
    }

    pub fn overall(self) -> Share {
        let mut share = self.during_faults;
        share.add(self.outside_faults);
        share
    }
}

/// Whether `op` got a definite answer: `ok` or `fail`.
pub fn answered(op: &HistoryRow) -> bool {
    op.kind == "ok" || op.kind == "fail"
}

/// Whether some fault that lasts (not an instant such as a clock jump) is in force at
/// `time_ms`.
pub fn under_fault(spans: &[FaultSpan], time_ms: f64) -> bool {
    spans.iter().any(|span| span.end_ms > span.start_ms && span.start_ms <= time_ms && time_ms < span.end_ms)
}

fn read_csv<T: DeserializeOwned>(path: &Path) -> io::Result<Vec<T>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut reader = csv::Reader::from_path(path).map_err(|error| named(path, io::Error::other(error)))?;
    reader.deserialize().collect::<Result<Vec<T>, _>>().map_err(|error| named(path, io::Error::other(error)))
}

fn named(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}
