//! Shrinking a failing seed into a small scenario file that fails the same way on its own.
//!
//! 1. Everything that went wrong becomes explicit: the faults the run applied (from the
//!    nemesis, the swarm weather or the timeline) are written as a timeline with exact
//!    times and durations, and the nemesis is removed.
//! 2. The timeline is cut down, greedily as in delta debugging (Zeller, "Simplifying and
//!    Isolating Failure-Inducing Input", 2002): drop faults in halves, then quarters, down
//!    to one at a time; halve the durations of the faults that remain; stop the workload
//!    just after the violation; use fewer clients and fewer operations.
//!
//! A candidate is kept only if the same seed still ends with the same verdict and the same
//! invariant. Every step is bounded by a budget of runs.

use std::path::{Path, PathBuf};

use protocols::node::MILLISECOND;

use crate::replay::Replay;
use crate::run::{self, RunResult};
use crate::scenario::{Fault, Scenario, Verdict};
use crate::world::RunOptions;

/// Runs a shrink may spend.
pub const BUDGET: usize = 300;

/// A shrunk scenario and what it took.
#[derive(Debug)]
pub struct Shrunk {
    pub scenario: Scenario,
    /// Faults the failing run applied, and faults in the shrunk timeline.
    pub faults_before: usize,
    pub faults_after: usize,
    pub runs: usize,
}

/// Shrinks `scenario` (weather already applied) failing at `seed`; `None` if the failure
/// does not reproduce as an explicit timeline.
pub fn shrink(scenario: &Scenario, seed: u64) -> Option<Shrunk> {
    let first = run::run(scenario, RunOptions { seed, detailed: false });
    let target = Target::of(&first)?;
    let record = first.record.as_ref()?;
    let faults_before = record.recorder.faults.len();
    let mut shrinker = Shrinker { seed, target, runs: 1 };
    let explicit = explicit_timeline(scenario, record);
    let mut best = if shrinker.fails(&explicit) { explicit } else { return None };
    if shrinker.target.verdict == Verdict::Violation {
        best = shrinker.stop_after_violation(best, target_time_ms(&first));
    }
    best = shrinker.drop_faults(best);
    best = shrinker.shorten_faults(best);
    best = shrinker.fewer_clients(best);
    best = shrinker.fewer_operations(best);
    best.name = format!("{}/shrunk-seed-{seed}", scenario.name);
    best.seed = seed;
    let faults_after = best.faults.len();
    Some(Shrunk { scenario: best, faults_before, faults_after, runs: shrinker.runs })
}

/// Writes the shrunk scenario as `DIR/<scenario>-seed-<N>.toml`; returns the path.
pub fn write(dir: &Path, original: &Scenario, seed: u64, shrunk: &Shrunk) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}-seed-{seed}.toml", original.name.replace('/', "-")));
    let header = format!(
        "# Shrunk by faultline sweep from {} seed {seed}: {} faults became {}, in {} runs.\n\
         # Replay: {}\n\n",
        original.name,
        shrunk.faults_before,
        shrunk.faults_after,
        shrunk.runs,
        replay(&path, &shrunk.scenario, seed)
    );
    std::fs::write(&path, header + &shrunk.scenario.to_toml())?;
    Ok(path)
}

/// The command that replays the shrunk scenario written at `path` (its weather, if it had
/// any, is written out in it, so it runs without `--swarm`).
pub fn replay(path: &Path, shrunk: &Scenario, seed: u64) -> String {
    Replay::new(path, seed, shrunk.engine, false).command()
}

/// The failure a candidate must keep.
struct Target {
    verdict: Verdict,
    invariant: String,
}

impl Target {
    fn of(result: &RunResult) -> Option<Target> {
        let invariant = result.summary.violations.first()?.invariant.clone();
        (result.verdict != Verdict::Ok).then_some(Target { verdict: result.verdict, invariant })
    }
}

fn target_time_ms(result: &RunResult) -> f64 {
    result.summary.violations.first().map_or(0.0, |violation| violation.time_ms)
}

struct Shrinker {
    seed: u64,
    target: Target,
    runs: usize,
}

impl Shrinker {
    /// Whether `candidate` still fails the same way (false once the budget is spent).
    fn fails(&mut self, candidate: &Scenario) -> bool {
        if self.runs >= BUDGET {
            return false;
        }
        self.runs += 1;
        let result = run::run(candidate, RunOptions { seed: self.seed, detailed: false });
        Target::of(&result)
            .is_some_and(|found| found.verdict == self.target.verdict && found.invariant == self.target.invariant)
    }

    /// Adopts `candidate` as the best if it still fails; says whether it did.
    fn adopt(&mut self, best: &mut Scenario, candidate: Scenario) -> bool {
        let adopted = candidate != *best && self.fails(&candidate);
        if adopted {
            *best = candidate;
        }
        adopted
    }

    fn stop_after_violation(&mut self, mut best: Scenario, violation_ms: f64) -> Scenario {
        let mut candidate = best.clone();
        candidate.duration_ms = (violation_ms.ceil() as u64 + 1).min(best.duration_ms);
        candidate.faults.retain(|fault| fault.at_ms <= candidate.duration_ms as f64);
        self.adopt(&mut best, candidate);
        best
    }

    fn drop_faults(&mut self, mut best: Scenario) -> Scenario {
        let mut chunk = (best.faults.len() / 2).max(1);
        loop {
            let mut start = 0;
            while start < best.faults.len() {
                let mut candidate = best.clone();
                candidate.faults.drain(start..(start + chunk).min(best.faults.len()));
                if !self.adopt(&mut best, candidate) {
                    start += chunk;
                }
            }
            if chunk == 1 {
                return best;
            }
            chunk /= 2;
        }
    }

    fn shorten_faults(&mut self, mut best: Scenario) -> Scenario {
        for index in 0..best.faults.len() {
            for _ in 0..4 {
                let Some(duration) = best.faults[index].duration_ms else { break };
                let mut candidate = best.clone();
                candidate.faults[index].duration_ms = Some(round_ms(duration / 2.0));
                if !self.adopt(&mut best, candidate) {
                    break;
                }
            }
        }
        best
    }

    fn fewer_clients(&mut self, mut best: Scenario) -> Scenario {
        while best.workload.clients > 1 {
            let mut candidate = best.clone();
            candidate.workload.clients -= 1;
            if !self.adopt(&mut best, candidate) {
                break;
            }
        }
        best
    }

    fn fewer_operations(&mut self, mut best: Scenario) -> Scenario {
        self.runs += 1;
        let invoked =
            run::run(&best, RunOptions { seed: self.seed, detailed: false }).summary.figures.operations.invoked;
        let mut cap = best.workload.operations.map_or(invoked, |cap| cap.min(invoked));
        while cap > 0 {
            let mut candidate = best.clone();
            candidate.workload.operations = Some(cap);
            if !self.adopt(&mut best, candidate) {
                break;
            }
            cap /= 2;
        }
        best
    }
}

/// The scenario with its nemesis replaced by the faults the run actually applied.
fn explicit_timeline(scenario: &Scenario, record: &crate::run::RunRecord) -> Scenario {
    let mut explicit = scenario.clone();
    explicit.nemesis = None;
    explicit.faults = record
        .recorder
        .faults
        .iter()
        .filter(|period| period.start <= scenario.duration_ms * MILLISECOND)
        .map(|period| {
            // A fault still in force when the run stopped would have healed at the end of
            // the fault window at the latest.
            let end = period.end.unwrap_or(record.faults_end.max(period.start));
            Fault {
                at_ms: period.start as f64 / MILLISECOND as f64,
                kind: period.kind.clone(),
                duration_ms: (end > period.start).then(|| (end - period.start) as f64 / MILLISECOND as f64),
            }
        })
        .collect();
    explicit
}

/// Halved durations keep microseconds at most, so the file stays readable.
fn round_ms(ms: f64) -> f64 {
    (ms * 1_000.0).round() / 1_000.0
}
