//! Per-node clocks: an offset, a drift rate and jumps, over the engine's true virtual time.
//! Protocols that use leases or lock timeouts read only their own clock (`ctx.now()`).

use protocols::node::Time;

/// `local = real + offset + real * drift_ppb / 1e9`, never below zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    offset: i64,
    drift_ppb: i64,
}

impl Clock {
    pub fn new(offset_ms: i64, drift_ppm: f64) -> Clock {
        Clock { offset: offset_ms * 1_000_000, drift_ppb: (drift_ppm * 1_000.0).round() as i64 }
    }

    /// The node's reading at true time `real`.
    pub fn local(&self, real: Time) -> Time {
        let drift = real as i128 * self.drift_ppb as i128 / 1_000_000_000;
        (real as i128 + self.offset as i128 + drift).max(0) as Time
    }

    /// The true duration of `local` time on this clock (a fast clock fires timers early).
    pub fn real_duration(&self, local: Time) -> Time {
        (local as i128 * 1_000_000_000 / (1_000_000_000 + self.drift_ppb as i128)) as Time
    }

    /// Moves the clock by `ms`, forward or back.
    pub fn jump(&mut self, ms: i64) {
        self.offset += ms * 1_000_000;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_drift_and_jumps_move_the_local_reading() {
        let mut clock = Clock::new(5, 1_000.0);
        assert_eq!(clock.local(1_000_000_000), 1_000_000_000 + 5_000_000 + 1_000_000);
        clock.jump(-10);
        assert_eq!(clock.local(0), 0, "a clock never reads below zero");
        assert_eq!(clock.local(1_000_000_000), 1_000_000_000 - 5_000_000 + 1_000_000);
    }

    #[test]
    fn a_fast_clock_fires_timers_early_in_true_time() {
        let clock = Clock::new(0, 100_000.0);
        assert_eq!(clock.real_duration(1_100_000), 1_000_000);
        assert_eq!(Clock::default().real_duration(7), 7);
    }
}
