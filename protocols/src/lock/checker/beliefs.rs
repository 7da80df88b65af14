//! How often, and how long, two clients believed they held the lock at the same instant.
//!
//! A client believes it holds the lock from the moment it observes its grant until it
//! releases it, learns it lost it, or its own clock tells it the lease ran out. A paused
//! client looks at no clock: it goes on believing until it wakes up, long after its lease
//! ended and another client took the lock. So under any lease lock beliefs overlap whenever
//! a holder pauses past its lease; that is expected, which is why it is a figure and not a
//! violation, and why the resource must fence.
//!
//! - `belief_overlaps`: acquisitions made while another client believed it held the lock;
//! - `belief_overlap_ms`: true time during which two or more clients believed so.

use std::collections::BTreeSet;

use crate::lock::Tenure;
use crate::node::{Time, MILLISECOND};

#[derive(Debug, Default)]
pub struct Beliefs {
    believers: BTreeSet<Tenure>,
    /// When the set of believers last changed.
    since: Time,
    overlap: Time,
    overlaps: u64,
}

impl Beliefs {
    pub fn on_believe(&mut self, at: Time, tenure: Tenure) {
        self.advance(at);
        if !self.believers.is_empty() {
            self.overlaps += 1;
        }
        self.believers.insert(tenure);
    }

    pub fn on_stop(&mut self, at: Time, tenure: Tenure) {
        self.advance(at);
        self.believers.remove(&tenure);
    }

    fn advance(&mut self, at: Time) {
        if self.believers.len() >= 2 {
            self.overlap += at.saturating_sub(self.since);
        }
        self.since = at;
    }

    pub fn figures(&self, end: Time) -> Vec<(&'static str, f64)> {
        let open = if self.believers.len() >= 2 { end.saturating_sub(self.since) } else { 0 };
        vec![
            ("belief_overlaps", self.overlaps as f64),
            ("belief_overlap_ms", (self.overlap + open) as f64 / MILLISECOND as f64),
        ]
    }
}
