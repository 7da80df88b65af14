//! The linearizability checker: is there an order of a history's operations, consistent
//! with their real-time order, in which a sequential model gives every recorded output?
//! (Herlihy and Wing, "Linearizability", 1990.)
//!
//! Two ways in: [`check_file`] reads a history another tool recorded (Jepsen's log or EDN,
//! Porcupine's kv format; `faultline check-history`), and the simulator's history checker
//! (`checkers::linearizable`) checks a run's history on its service's model. Both end in
//! [`check()`], which splits
//! the history by key (`model.rs`), searches each key's history (`search.rs`: Wing-Gong-Lowe
//! with a cache, as in Porcupine), and shrinks each violation to a few operations a reader
//! can verify by hand (`minimise.rs`). The search stops after a budget of model steps and
//! then says `unknown` rather than running on.
//!
//! Reading files: `formats.rs` (the three formats, with `edn.rs`, a reader for the EDN
//! subset they use) gives events, `pairing.rs` pairs invocations with completions, and
//! `convert.rs` turns the pairs into the operations of the model.

mod check;
mod convert;
mod edn;
mod error;
mod formats;
mod minimise;
mod model;
mod pairing;
mod register;
mod report;
mod search;
mod string_kv;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use check::check;
pub use error::InputError;
pub use formats::Format;
pub use model::{Model, ModelName, ModelOp, Op};
pub use register::{CasRegister, RegisterCommand, RegisterInput, RegisterOutput};
pub use report::{OpSummary, Report, TimeUnit, Verdict, Violation};
pub use string_kv::{StringKv, StringKvCommand, StringKvInput, StringKvOutput};

/// A budget (model steps) that decides every shared history with room to spare and stops
/// a pathological one within seconds.
pub const DEFAULT_BUDGET: u64 = 10_000_000;

/// Checks a history file. The model is `model` if given, otherwise the one that fits the
/// format: cas-register for `jepsen-log`, string-kv for `porcupine-kv`, and for
/// `jepsen-edn` string-kv if the history has `:get`, `:put` or `:append`, else
/// cas-register. Instants in the report are line numbers.
///
/// # Errors
///
/// If the file cannot be read, does not parse as `format`, pairs an invocation with a
/// completion of another function, or holds values the model does not take; the error
/// names the line and what is allowed there.
pub fn check_file(path: &Path, format: Format, model: Option<ModelName>, budget: u64) -> Result<Report, InputError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        InputError::whole(format!("cannot read the history: {error}"), "a readable UTF-8 text file").in_file(path)
    })?;
    check_text(&text, format, model, budget).map_err(|error| error.in_file(path))
}

/// [`check_file`] on the text of a file; errors name no file.
pub(crate) fn check_text(
    text: &str,
    format: Format,
    model: Option<ModelName>,
    budget: u64,
) -> Result<Report, InputError> {
    let events = formats::read_events(text, format)?;
    if events.is_empty() {
        return Err(InputError::whole("no client operations found", format.example()));
    }
    let lines: Vec<u64> = events.iter().map(|event| event.line as u64).collect();
    let model = model.unwrap_or_else(|| default_model(format, &events));
    let calls = pairing::pair(events)?;
    let mut report = match model {
        ModelName::CasRegister => check(&CasRegister, convert::register_ops(&calls)?, budget, TimeUnit::Line),
        ModelName::StringKv => check(&StringKv, convert::string_kv_ops(&calls)?, budget, TimeUnit::Line),
    };
    // The search ordered operations by their position among the events; report lines.
    report.map_instants(|at| usize::try_from(at).ok().and_then(|at| lines.get(at)).copied().unwrap_or(at));
    Ok(report)
}

fn default_model(format: Format, events: &[formats::Event]) -> ModelName {
    let string_kv = ["get", "put", "append"];
    match format {
        Format::JepsenLog => ModelName::CasRegister,
        Format::PorcupineKv => ModelName::StringKv,
        Format::JepsenEdn if events.iter().any(|event| string_kv.contains(&event.f.as_str())) => ModelName::StringKv,
        Format::JepsenEdn => ModelName::CasRegister,
    }
}
