//! Checkers that judge a finished run from its record, one file per property. The
//! protocols' own invariants are checked online by their `Checker`s inside the world; the
//! history checks a protocol declares (`Protocol::history_checks`) run here after the run.

pub mod linearizable;
pub mod liveness;
pub mod sequential;
pub mod serializable;

use protocols::node::{Time, Violation};

/// What a history check concluded: a word for the summary, and the violation if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conclusion {
    pub name: String,
    pub violation: Option<(Time, Violation)>,
    /// The linearizability checker's own report, for the history view.
    pub report: Option<crate::linearizability::Report>,
}

impl Conclusion {
    pub fn passed(name: impl Into<String>) -> Conclusion {
        Conclusion { name: name.into(), violation: None, report: None }
    }

    pub fn failed(name: impl Into<String>, at: Time, violation: Violation) -> Conclusion {
        Conclusion { name: name.into(), violation: Some((at, violation)), report: None }
    }
}
