//! The atomicity checker of both commit protocols, online, from observations; one file per
//! property (BHG section 7.3), plus the blocking figures.
//!
//! - `agreement.rs`: AC1, all processes that decide reach the same decision, and AC2, no
//!   process reverses its decision. The checker outlives every crash, so a process that
//!   restarts and then decides the other way is caught even though it has forgotten.
//! - `validity.rs`: AC3, commit only if every participant voted yes, and AC4, if there are
//!   no failures and every participant voted yes, the decision is commit.
//! - `blocking.rs`: transactions blocked and the time their participants spent blocked,
//!   reported as the protocol's figures: in 2PC blocking is expected behaviour when the
//!   coordinator is down, never a violation.
//!
//! No `inspect` of the servers is needed: the observations carry everything.

mod agreement;
mod blocking;
mod validity;

use agreement::Agreement;
use blocking::Blocking;
use validity::Validity;

use super::CommitObservation;
use crate::node::{Checker, NodeId, Protocol, Setup, Time, Violation, MILLISECOND};

/// AC1 to AC4, and the blocking figures.
#[derive(Debug)]
pub struct AtomicityChecker {
    agreement: Agreement,
    validity: Validity,
    blocking: Blocking,
}

impl AtomicityChecker {
    pub fn new(setup: &Setup) -> AtomicityChecker {
        AtomicityChecker {
            agreement: Agreement::default(),
            validity: Validity::new(setup.servers),
            blocking: Blocking::default(),
        }
    }
}

impl<P: Protocol<Observation = CommitObservation>> Checker<P> for AtomicityChecker {
    fn observe(&mut self, at: Time, node: NodeId, observation: &CommitObservation) -> Result<(), Violation> {
        match observation {
            CommitObservation::Began { transaction, keys, vetoes } => {
                self.validity.on_began(*transaction, keys, vetoes);
                Ok(())
            }
            CommitObservation::Voted { transaction, yes } => self.validity.on_voted(at, node, *transaction, *yes),
            CommitObservation::Decided { transaction, decision } => {
                self.blocking.on_decided(at, node, *transaction);
                self.agreement.on_decided(at, node, *transaction, *decision)?;
                self.validity.on_decided(at, node, *transaction, *decision)
            }
            CommitObservation::Blocked { transaction } => {
                self.blocking.on_blocked(at, node, *transaction);
                self.validity.on_failure(*transaction);
                Ok(())
            }
            CommitObservation::TimedOut { transaction } | CommitObservation::Restarted { transaction } => {
                self.validity.on_failure(*transaction);
                Ok(())
            }
            CommitObservation::TerminationStarted { .. } => Ok(()),
        }
    }

    fn figures(&self, end: Time) -> Vec<(&'static str, f64)> {
        self.blocking.figures(end)
    }

    fn stuck_reason(&self, _end: Time) -> Option<String> {
        self.blocking.still_blocked()
    }
}

/// A time for a violation's text, in milliseconds.
fn ms(at: Time) -> String {
    format!("{:.3} ms", at as f64 / MILLISECOND as f64)
}
