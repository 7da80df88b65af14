//! The lock checker, online, from observations and on true time (the checker sees the
//! moment `at` of every observation, not what the nodes' clocks read); one file per property.
//!
//! Violations:
//! - `mutual_exclusion.rs`: the validity periods the services granted never overlap (a
//!   double grant: the lock service itself failed);
//! - `serial_tenures.rs`: the writes the resource accepted come from tenures that do not
//!   overlap: once a write of a later tenure is accepted, no write of an earlier one is;
//! - `monotonic_tokens.rs`: the tokens of the accepted writes never go backwards.
//!
//! Figures:
//! - `beliefs.rs`: how often and how long two clients *believed* they held the lock at the
//!   same instant. A paused holder believes it holds the lock until it wakes and looks at
//!   its clock, so this happens under every lease lock; fencing is what makes it harmless;
//! - `availability.rs`: how long the lock stood free (no valid tenure) while clients waited.

mod availability;
mod beliefs;
mod monotonic_tokens;
mod mutual_exclusion;
mod serial_tenures;

use availability::Availability;
use beliefs::Beliefs;
use monotonic_tokens::MonotonicTokens;
use mutual_exclusion::MutualExclusion;
use serial_tenures::SerialTenures;

use super::{LockObservation, LockProtocol};
use crate::node::{Checker, NodeId, Setup, Time, Violation};

/// Every lock property, online.
#[derive(Debug)]
pub struct LockChecker {
    exclusion: MutualExclusion,
    serial: SerialTenures,
    tokens: MonotonicTokens,
    beliefs: Beliefs,
    availability: Availability,
    acquisitions: u64,
    writes_accepted: u64,
    stale_writes_rejected: u64,
}

impl LockChecker {
    pub fn new<S>(setup: &Setup<S>) -> LockChecker {
        LockChecker {
            exclusion: MutualExclusion::new(setup.drift_bound_ppm, setup.server_slots()),
            serial: SerialTenures::new(setup.server_slots()),
            tokens: MonotonicTokens::new(setup.server_slots()),
            beliefs: Beliefs::default(),
            availability: Availability::default(),
            acquisitions: 0,
            writes_accepted: 0,
            stale_writes_rejected: 0,
        }
    }

    /// A lock observation made by `node` at true time `at`.
    pub fn observe_lock(&mut self, at: Time, node: NodeId, observation: &LockObservation) -> Result<(), Violation> {
        match *observation {
            LockObservation::Waiting => self.availability.on_waiting(at, node),
            LockObservation::Acquired { tenure, token, valid_for } => {
                self.acquisitions += 1;
                self.availability.on_done_waiting(at, node);
                self.beliefs.on_believe(at, tenure);
                self.serial.on_acquired(at, tenure);
                self.exclusion.on_acquired(at, tenure, token, valid_for)?;
            }
            LockObservation::Renewed { tenure, valid_for } => self.exclusion.on_renewed(at, tenure, valid_for)?,
            LockObservation::Released { tenure }
            | LockObservation::Lost { tenure }
            | LockObservation::LeaseRanOut { tenure } => {
                self.beliefs.on_stop(at, tenure);
                self.exclusion.on_ended(at, tenure);
            }
            LockObservation::GaveUp => self.availability.on_done_waiting(at, node),
            LockObservation::WriteAccepted { write } => {
                self.writes_accepted += 1;
                self.serial.on_accepted(at, node, write)?;
                self.tokens.on_accepted(at, node, write)?;
            }
            LockObservation::WriteRejected { .. } => self.stale_writes_rejected += 1,
            LockObservation::Granted { .. } | LockObservation::Freed { .. } => {}
        }
        Ok(())
    }

    /// The lock's figures at the end of a run.
    pub fn lock_figures(&self, end: Time) -> Vec<(&'static str, f64)> {
        let mut figures = vec![
            ("acquisitions", self.acquisitions as f64),
            ("writes_accepted", self.writes_accepted as f64),
            ("stale_writes_rejected", self.stale_writes_rejected as f64),
        ];
        figures.extend(self.beliefs.figures(end));
        figures.extend(self.availability.figures(end, self.exclusion.windows()));
        figures
    }

    /// The clients still waiting for the lock at the end, in words.
    pub fn lock_stuck_reason(&self, end: Time) -> Option<String> {
        self.availability.still_waiting(end)
    }
}

impl<P: LockProtocol> Checker<P> for LockChecker {
    fn observe(&mut self, at: Time, node: NodeId, observation: &P::Observation) -> Result<(), Violation> {
        match P::as_lock_observation(observation) {
            Some(observation) => self.observe_lock(at, node, observation),
            None => Ok(()),
        }
    }

    fn figures(&self, end: Time) -> Vec<(&'static str, f64)> {
        self.lock_figures(end)
    }

    fn stuck_reason(&self, end: Time) -> Option<String> {
        self.lock_stuck_reason(end)
    }
}
