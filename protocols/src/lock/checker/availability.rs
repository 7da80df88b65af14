//! Lock availability: how long the lock stood free while clients waited for it. Leases buy
//! safety from crashed and paused holders with time: a holder that vanishes keeps the lock
//! until its lease runs out, and nobody may have it meanwhile.
//!
//! - `waiting_ms`: true time during which some client was waiting to acquire the lock;
//! - `unavailable_ms`: the part of it during which no tenure was valid (see
//!   `mutual_exclusion.rs` for a tenure's validity): the lock was free, or held by nobody
//!   alive to use it, and still nobody got it.

use std::collections::BTreeMap;

use super::mutual_exclusion::Window;
use crate::lock::ms;
use crate::node::{NodeId, Time, MILLISECOND};

#[derive(Debug, Default)]
pub struct Availability {
    /// Per client, since when it waits, while it does.
    waiting: BTreeMap<NodeId, Time>,
    /// Every finished wait.
    waits: Vec<(Time, Time)>,
}

impl Availability {
    pub fn on_waiting(&mut self, at: Time, client: NodeId) {
        self.waiting.entry(client).or_insert(at);
    }

    pub fn on_done_waiting(&mut self, at: Time, client: NodeId) {
        if let Some(since) = self.waiting.remove(&client) {
            self.waits.push((since, at));
        }
    }

    pub fn figures<'a>(&self, end: Time, windows: impl Iterator<Item = &'a Window>) -> Vec<(&'static str, f64)> {
        let open = self.waiting.values().map(|&since| (since, end));
        let waiting = union(self.waits.iter().copied().chain(open).collect());
        let valid = union(windows.map(|window| (window.start, window.end.min(end))).collect());
        let waited: Time = waiting.iter().map(|(start, end)| end - start).sum();
        let covered: Time = waiting.iter().map(|&wait| overlap(wait, &valid)).sum();
        let ms = |time: Time| time as f64 / MILLISECOND as f64;
        vec![("waiting_ms", ms(waited)), ("unavailable_ms", ms(waited - covered))]
    }

    /// The clients waiting at the end, in words.
    pub fn still_waiting(&self, end: Time) -> Option<String> {
        let waiting: Vec<String> =
            self.waiting.iter().map(|(client, since)| format!("client {client} since {}", ms(*since))).collect();
        (!waiting.is_empty()).then(|| format!("waiting for the lock at {}: {}", ms(end), waiting.join(", ")))
    }
}

/// The union of intervals, as sorted disjoint intervals.
fn union(mut intervals: Vec<(Time, Time)>) -> Vec<(Time, Time)> {
    intervals.retain(|(start, end)| start < end);
    intervals.sort_unstable();
    let mut merged: Vec<(Time, Time)> = Vec::new();
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// How much of `interval` the sorted disjoint `cover` covers.
fn overlap((start, end): (Time, Time), cover: &[(Time, Time)]) -> Time {
    cover.iter().map(|&(from, to)| end.min(to).saturating_sub(start.max(from))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_time_is_waiting_time_not_covered_by_a_valid_tenure() {
        let mut availability = Availability::default();
        availability.on_waiting(10, 7);
        availability.on_done_waiting(50, 7);
        availability.on_waiting(40, 8);
        let windows = [Window { start: 0, end: 20, token: None }, Window { start: 30, end: 45, token: None }];
        let figures = availability.figures(100, windows.iter());
        let ms = |ns: f64| ns / MILLISECOND as f64;
        // Waiting: [10, 100) = 90; covered: [10, 20) and [30, 45) = 25.
        assert_eq!(figures, vec![("waiting_ms", ms(90.0)), ("unavailable_ms", ms(65.0))]);
        assert!(availability.still_waiting(100).is_some_and(|words| words.contains("client 8")));
    }
}
