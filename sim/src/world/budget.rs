//! The run's budget of work: a run that does far more than its scenario can need is a
//! finding of its own (verdict `runaway`), ended as soon as it shows, not a slow run that
//! eats a sweep's time.
//!
//! A protocol bug that makes the cluster send far more messages than it should (a leader
//! that believes its followers are behind, two servers that keep deposing each other) does
//! not break a safety property: it turns each run into millions of events. The budget is
//! derived from the scenario alone, as what a fault-free run of that size needs per second
//! of virtual time:
//!
//! - each operation offered: a request and a reply, and at most `MESSAGES_PER_SERVER`
//!   messages per server (replication, acknowledgement, commit: Raft sends 2(N-1) per entry,
//!   two-phase commit 4 per participant, three-phase commit 6);
//! - each timeout: every server exchanging `BACKGROUND_ROUNDS` rounds of messages with
//!   every other (heartbeats every third of a timeout, an election), and every client
//!   asking every server once (retries);
//! - each message one event to deliver it and one more for the timers and syncs around it.
//!
//! A run whose events over any window of `WINDOW_TIMEOUTS` timeouts (at least
//! `WINDOW_MIN`) of virtual time exceed `[limits] runaway_factor` times that rate is ended
//! with the figure that tripped it. The budget counts virtual time and events only, so it
//! trips at the same event on every rerun of a seed.

use protocols::node::{Time, MILLISECOND};

use crate::scenario::Scenario;

/// The default `[limits] runaway_factor`: how many times the fault-free rate a run may
/// reach over a window before it is a runaway.
pub const DEFAULT_FACTOR: f64 = 10.0;
/// Messages per server per operation a fault-free run needs at most.
pub const MESSAGES_PER_SERVER: f64 = 6.0;
/// Rounds of messages between every pair of servers per timeout.
pub const BACKGROUND_ROUNDS: f64 = 3.0;
/// The window is this many timeouts long...
pub const WINDOW_TIMEOUTS: u64 = 10;
/// ...and at least this long.
pub const WINDOW_MIN: Time = 100 * MILLISECOND;
/// Events a run may always take, whatever its rate (start-up, a first election).
pub const EVENTS_MIN: f64 = 10_000.0;

/// What a fault-free run of a scenario needs, per second of virtual time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Messages per second the operations need.
    pub operations: f64,
    /// Messages per second of heartbeats, elections and retries.
    pub background: f64,
    /// Messages one operation needs.
    pub per_operation: f64,
}

impl Rate {
    pub fn of(scenario: &Scenario) -> Rate {
        let servers = f64::from(scenario.server_slots());
        let clients = f64::from(scenario.workload.clients);
        let timeout_s = scenario.timeout_ms.max(1) as f64 / 1_000.0;
        let per_operation = 2.0 + MESSAGES_PER_SERVER * servers;
        let pairs = servers * (servers - 1.0);
        Rate {
            operations: scenario.workload.rate * per_operation,
            background: (BACKGROUND_ROUNDS * 2.0 * pairs + clients * (servers + 1.0)) / timeout_s,
            per_operation,
        }
    }

    /// Events per second: two per message.
    pub fn events(&self) -> f64 {
        2.0 * (self.operations + self.background)
    }
}

/// The budget of one run, and its count so far.
#[derive(Clone, Debug)]
pub struct Budget {
    rate: Rate,
    factor: f64,
    window: Time,
    /// The events one window may take (every window is as long, so this is fixed): no
    /// limit when the factor is 0.
    allowed: u64,
    window_start: Time,
    window_events: u64,
}

impl Budget {
    pub fn of(scenario: &Scenario) -> Budget {
        let window = (scenario.timeout_ms * MILLISECOND * WINDOW_TIMEOUTS).max(WINDOW_MIN);
        let (rate, factor) = (Rate::of(scenario), scenario.limits.runaway_factor);
        let allowed = match factor > 0.0 {
            true => (factor * rate.events() * window as f64 / 1e9).max(EVENTS_MIN) as u64,
            false => u64::MAX,
        };
        Budget { rate, factor, window, allowed, window_start: 0, window_events: 0 }
    }

    /// Counts one event at `now`; true once the run is a runaway.
    pub fn count(&mut self, now: Time) -> bool {
        if now >= self.window_start + self.window {
            self.window_start = now;
            self.window_events = 0;
        }
        self.window_events += 1;
        self.window_events > self.allowed
    }

    /// Why the run is a runaway, with `messages` sent and `operations` invoked so far.
    pub fn describe(&self, messages: u64, operations: usize) -> String {
        let per_operation = messages as f64 / operations.max(1) as f64;
        format!(
            "{} events in {} of virtual time from {}: more than {} times the {:.0} events per second a fault-free \
             run of this scenario needs ({:.0} messages per second for its operations, {:.0} for heartbeats, \
             elections and retries); {:.1} messages per operation so far, against {:.0} fault-free",
            self.window_events,
            ms(self.window),
            ms(self.window_start),
            self.factor,
            self.rate.events(),
            self.rate.operations,
            self.rate.background,
            per_operation,
            self.rate.per_operation,
        )
    }
}

fn ms(time: Time) -> String {
    format!("{:.3} ms", time as f64 / MILLISECOND as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        crate::scenario::parse(std::path::Path::new("budget.toml"), text).expect("a valid scenario")
    }

    const RAFT: &str = "protocol = \"raft\"\nnodes = 5\nduration_ms = 1000\nexpect = \"ok\"\ntimeout_ms = 50\n\
                        [workload]\nclients = 5\nrate = 100\n";

    #[test]
    fn the_rate_grows_with_servers_operations_and_shorter_timeouts() {
        let rate = Rate::of(&scenario(RAFT));
        assert_eq!(rate.per_operation, 32.0);
        assert_eq!(rate.operations, 3_200.0);
        assert_eq!(rate.background, (3.0 * 2.0 * 20.0 + 5.0 * 6.0) / 0.05);
        let faster = Rate::of(&scenario(&RAFT.replace("timeout_ms = 50", "timeout_ms = 10")));
        assert_eq!(faster.background, 5.0 * rate.background);
    }

    #[test]
    fn a_storm_trips_the_budget_within_one_window_and_a_steady_run_never_does() {
        let mut budget = Budget::of(&scenario(RAFT));
        let window = budget.window;
        // A steady run at the fault-free rate: one event every 1 / rate seconds, for 10 s.
        let gap = (1e9 / budget.rate.events()) as Time;
        let mut now = 0;
        while now < 10_000 * MILLISECOND {
            assert!(!budget.count(now), "at {now}");
            now += gap;
        }
        // A storm: twenty times the budget's rate, starting now.
        let storm_gap = gap / (20.0 * budget.factor) as Time;
        let start = now;
        loop {
            now += storm_gap.max(1);
            if budget.count(now) {
                break;
            }
        }
        let tripped = budget.describe(5_000, 10);
        assert!(now - start <= 2 * window, "tripped after {} ns", now - start);
        assert!(
            tripped.contains("more than 10 times") && tripped.contains("500.0 messages per operation"),
            "{tripped}"
        );
    }

    #[test]
    fn a_factor_of_zero_turns_the_budget_off() {
        let mut budget = Budget::of(&scenario(&format!("{RAFT}[limits]\nrunaway_factor = 0\n")));
        assert!((0..1_000_000).all(|_| !budget.count(0)));
    }
}
