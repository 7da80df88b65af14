//! Each process's two clocks over the world's true virtual time, as real machines have them
//! (TigerBeetle's `time.zig` keeps them apart the same way):
//!
//! - the monotonic clock runs at the oscillator's rate, `real * (1 + drift)`, never goes
//!   back and is never set: timers and leases measured locally run on it;
//! - the wall clock is the monotonic clock plus an offset that jumps (a clock-jump fault or
//!   an operator setting the time moves it either way), never below zero.

use protocols::node::Time;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Wall-clock offset, in nanoseconds.
    offset: i64,
    /// Rate error of the oscillator, in parts per billion.
    drift_ppb: i64,
}

impl Clock {
    pub fn new(offset_ms: i64, drift_ppm: f64) -> Clock {
        Clock { offset: offset_ms * 1_000_000, drift_ppb: (drift_ppm * 1_000.0).round() as i64 }
    }

    /// The monotonic clock's reading at true time `real`.
    pub fn monotonic(&self, real: Time) -> Time {
        if self.drift_ppb == 0 {
            return real;
        }
        let drift = real as i128 * self.drift_ppb as i128 / 1_000_000_000;
        (real as i128 + drift).max(0) as Time
    }

    /// The wall clock's reading at true time `real`.
    pub fn wall(&self, real: Time) -> Time {
        (self.monotonic(real) as i128 + self.offset as i128).max(0) as Time
    }

    /// The true duration of `local` monotonic time (a fast clock fires timers early).
    pub fn real_duration(&self, local: Time) -> Time {
        if self.drift_ppb == 0 {
            return local;
        }
        (local as i128 * 1_000_000_000 / (1_000_000_000 + self.drift_ppb as i128)) as Time
    }

    /// Moves the wall clock by `ms`, forward or back; the monotonic clock does not move.
    pub fn jump(&mut self, ms: i64) {
        self.offset += ms * 1_000_000;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_and_jumps_move_the_wall_clock_only_and_drift_moves_both() {
        let mut clock = Clock::new(5, 1_000.0);
        assert_eq!(clock.monotonic(1_000_000_000), 1_000_000_000 + 1_000_000);
        assert_eq!(clock.wall(1_000_000_000), 1_000_000_000 + 5_000_000 + 1_000_000);
        clock.jump(-10);
        assert_eq!(clock.wall(0), 0, "a wall clock never reads below zero");
        assert_eq!(clock.wall(1_000_000_000), 1_000_000_000 - 5_000_000 + 1_000_000);
        assert_eq!(clock.monotonic(1_000_000_000), 1_000_000_000 + 1_000_000, "a jump leaves it alone");
    }

    #[test]
    fn a_fast_clock_fires_timers_early_in_true_time() {
        let clock = Clock::new(0, 100_000.0);
        assert_eq!(clock.real_duration(1_100_000), 1_000_000);
        assert_eq!(Clock::default().real_duration(7), 7);
    }
}
