//! Mutual exclusion of the validity the lock services grant: at no instant do two tenures
//! both hold a lease that their service granted and their own clock still deems valid
//! (the Redlock documentation's safety property: "at any given moment, only one client can
//! hold a lock"). A violation is a double grant: the service itself gave the lock to two
//! clients at once, fencing or not.
//!
//! A tenure's validity starts when its client observes the grant and ends when its client
//! releases it, or when its lease runs out. That end is measured on the client's own clock,
//! which the checker does not read: a client that says at true time `at` that its lease is
//! valid for `d` more by its clock holds it at least until `at + d / (1 + ρ)` of true time,
//! for the drift bound `ρ` the scenario gives (less a microsecond for whole-nanosecond
//! clock readings). The checker uses that earliest end, so it never blames a correct
//! service for its clients' drift, and a paused holder's lease ends on time whether or not
//! the holder is awake to see it. Overlapping validity is caught when the later grant (or
//! renewal) is observed: the other tenure is then still certainly valid.

use std::collections::BTreeMap;

use crate::lock::{ms, Tenure, Token};
use crate::node::{NodeId, Time, Violation};

/// A reading of a whole-nanosecond clock may be off by a little; allow this much.
const SLACK: Time = 1_000;

/// A tenure's validity, in true time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Time,
    /// The earliest true time its lease can end (or when it was released).
    pub end: Time,
    pub token: Option<Token>,
}

#[derive(Debug)]
pub struct MutualExclusion {
    drift_bound_ppm: f64,
    first_client: NodeId,
    windows: BTreeMap<Tenure, Window>,
}

impl MutualExclusion {
    pub fn new(drift_bound_ppm: f64, first_client: NodeId) -> MutualExclusion {
        MutualExclusion { drift_bound_ppm, first_client, windows: BTreeMap::new() }
    }

    /// Every tenure's validity so far.
    pub fn windows(&self) -> impl Iterator<Item = &Window> {
        self.windows.values()
    }

    /// The true time a client's `valid_for` of its own clock certainly lasts.
    fn certain(&self, valid_for: Time) -> Time {
        let true_duration = valid_for as f64 / (1.0 + self.drift_bound_ppm / 1e6);
        (true_duration.floor() as Time).saturating_sub(SLACK)
    }

    pub fn on_acquired(
        &mut self,
        at: Time,
        tenure: Tenure,
        token: Option<Token>,
        valid_for: Time,
    ) -> Result<(), Violation> {
        let window = Window { start: at, end: at + self.certain(valid_for), token };
        self.windows.insert(tenure, window);
        self.exclusive(at, tenure, "acquired the lock")
    }

    pub fn on_renewed(&mut self, at: Time, tenure: Tenure, valid_for: Time) -> Result<(), Violation> {
        let end = at + self.certain(valid_for);
        let Some(window) = self.windows.get_mut(&tenure) else { return Ok(()) };
        window.end = window.end.max(end);
        self.exclusive(at, tenure, "renewed its lease")
    }

    /// The tenure was released, lost, or its lease ran out by its client's clock.
    pub fn on_ended(&mut self, at: Time, tenure: Tenure) {
        if let Some(window) = self.windows.get_mut(&tenure) {
            window.end = window.end.min(at).max(window.start);
        }
    }

    /// No tenure but `tenure` is valid at `at`.
    fn exclusive(&self, at: Time, tenure: Tenure, what: &str) -> Result<(), Violation> {
        let Some((&other, window)) =
            self.windows.iter().find(|(&other, window)| other != tenure && window.start <= at && at < window.end)
        else {
            return Ok(());
        };
        let own_token = self.windows.get(&tenure).and_then(|window| window.token);
        let (process, other_process) = (tenure.process(self.first_client), other.process(self.first_client));
        Err(Violation {
            invariant: "mutual-exclusion",
            nodes: vec![other_process, process],
            detail: format!(
                "client {} {what} (tenure {tenure}{}) at {} while client {}'s tenure {other}{}, acquired at {}, was \
                 valid until at least {}: the lock was granted twice",
                tenure.client,
                token_words(own_token),
                ms(at),
                other.client,
                token_words(window.token),
                ms(window.start),
                ms(window.end),
            ),
            evidence: vec![(other_process, window.start), (process, at)],
        })
    }
}

fn token_words(token: Option<Token>) -> String {
    token.map_or_else(String::new, |token| format!(", token {token}"))
}
