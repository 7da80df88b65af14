//! Shrinking a failing seed into a small scenario file that fails the same way on its own.
//!
//! 1. Everything that went wrong becomes explicit: the faults the run applied (from the
//!    nemesis, the swarm weather or the timeline) are written as a timeline with exact
//!    times and durations, and the nemesis is removed.
//! 2. The run is cut at the violation: the workload stops just after it, and (for a
//!    violation, which a run reports the moment it happens) the drain and the liveness
//!    window go, so that every later candidate run ends soon after the moment that matters.
//!    A run is deterministic up to its end, so a cut run fails exactly as the whole one.
//! 3. The schedule is cut around the violation's own evidence (the servers and clients it
//!    names): first every fault that touches none of them, then, greedily as in delta
//!    debugging (Zeller, "Simplifying and Isolating Failure-Inducing Input", 2002), faults
//!    in halves, then quarters, down to one at a time; the durations of the faults that
//!    remain are halved.
//! 4. The weather is calmed (no loss, duplication or replays, no clock skew) and the
//!    workload shrunk: fewer clients, fewer operations, fewer keys.
//!
//! A candidate is kept only if the same seed still ends with the same verdict and the same
//! invariant. Every step is bounded by a budget of runs, and the whole by a deadline if
//! the sweep gives one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use protocols::node::{NodeId, MILLISECOND};

use crate::replay::Replay;
use crate::run::{self, RunResult};
use crate::scenario::{Fault, FaultKind, Scenario, Verdict};
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
    shrink_within(scenario, seed, None)
}

/// As [`shrink`], trying no candidate after `deadline`.
pub fn shrink_within(scenario: &Scenario, seed: u64, deadline: Option<Instant>) -> Option<Shrunk> {
    let first = run::run(scenario, RunOptions { seed, detailed: false });
    let target = Target::of(&first)?;
    let record = first.record.as_ref()?;
    let faults_before = record.recorder.faults.len();
    let evidence = evidence_nodes(&first);
    let mut shrinker = Shrinker { seed, target, runs: 1, deadline };
    let explicit = explicit_timeline(scenario, record);
    let mut best = if shrinker.fails(&explicit) { explicit } else { return None };
    let cut = shrinker.target.verdict == Verdict::Violation;
    if cut {
        best = shrinker.stop_after_violation(best, target_time_ms(&first));
    }
    // The checks as they were, for the file written at the end.
    let (drain_ms, liveness_ms) = (best.limits.drain_ms, best.checks.liveness_ms);
    if cut {
        let mut quick = best.clone();
        (quick.limits.drain_ms, quick.checks.liveness_ms) = (0, None);
        shrinker.adopt(&mut best, quick);
    }
    best = shrinker.drop_unrelated_faults(best, &evidence);
    best = shrinker.drop_faults(best);
    best = shrinker.shorten_faults(best);
    best = shrinker.calm_weather(best);
    best = shrinker.fewer_clients(best);
    best = shrinker.fewer_operations(best);
    best = shrinker.fewer_keys(best);
    // Give the file back the drain and liveness window it had, if it still fails with them.
    let mut whole = best.clone();
    (whole.limits.drain_ms, whole.checks.liveness_ms) = (drain_ms, liveness_ms);
    shrinker.deadline = None;
    if whole != best && shrinker.fails(&whole) {
        best = whole;
    }
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

/// The processes the first violation names or cites.
fn evidence_nodes(result: &RunResult) -> Vec<NodeId> {
    let Some(violation) = result.summary.violations.first() else { return Vec::new() };
    let mut nodes: Vec<NodeId> = violation.nodes.clone();
    nodes.extend(violation.evidence.iter().map(|evidence| evidence.node));
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// The processes a fault strikes.
fn struck(kind: &FaultKind) -> Vec<NodeId> {
    match kind {
        FaultKind::Partition { groups } => groups.iter().flatten().copied().collect(),
        FaultKind::Cut { from, to } => from.iter().chain(to).copied().collect(),
        FaultKind::Bridge { left, right, bridge } => left.iter().chain(right).chain([bridge]).copied().collect(),
        FaultKind::Isolate { node }
        | FaultKind::Crash { node, .. }
        | FaultKind::Restart { node }
        | FaultKind::Pause { node }
        | FaultKind::Resume { node }
        | FaultKind::ClockJump { node, .. }
        | FaultKind::Join { node }
        | FaultKind::Leave { node } => vec![*node],
        FaultKind::Heal => Vec::new(),
    }
}

struct Shrinker {
    seed: u64,
    target: Target,
    runs: usize,
    deadline: Option<Instant>,
}

impl Shrinker {
    /// Whether `candidate` still fails the same way (false once the budget or the time is
    /// spent).
    fn fails(&mut self, candidate: &Scenario) -> bool {
        if self.runs >= BUDGET || self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
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

    /// Every fault that strikes none of the processes the violation names, at once.
    fn drop_unrelated_faults(&mut self, mut best: Scenario, evidence: &[NodeId]) -> Scenario {
        if evidence.is_empty() {
            return best;
        }
        let mut candidate = best.clone();
        candidate.faults.retain(|fault| struck(&fault.kind).iter().any(|node| evidence.contains(node)));
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

    /// No loss, no duplicates, no replays, no skewed clocks: each if the failure stays.
    fn calm_weather(&mut self, mut best: Scenario) -> Scenario {
        let calmer: [fn(&mut Scenario); 4] = [
            |scenario| scenario.network.loss = 0.0,
            |scenario| scenario.network.duplicate = 0.0,
            |scenario| scenario.network.replay = 0.0,
            |scenario| scenario.clocks.clear(),
        ];
        for calm in calmer {
            let mut candidate = best.clone();
            calm(&mut candidate);
            self.adopt(&mut best, candidate);
        }
        best
    }

    fn fewer_clients(&mut self, mut best: Scenario) -> Scenario {
        while best.workload.clients > 1 {
            let mut candidate = best.clone();
            candidate.workload.clients -= 1;
            // Faults name processes by number: a client that is gone takes its faults along.
            let processes = candidate.processes();
            candidate.faults.retain(|fault| struck(&fault.kind).iter().all(|&node| node < processes));
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

    /// Half the keys, while the failure stays and the service allows it.
    fn fewer_keys(&mut self, mut best: Scenario) -> Scenario {
        let Some(meta) = crate::catalog::find(&best.protocol) else { return best };
        while best.workload.keys > 1 {
            let mut candidate = best.clone();
            candidate.workload.keys /= 2;
            if (meta.check_params)(&candidate.workload.params, candidate.workload.keys).is_err()
                || !self.adopt(&mut best, candidate)
            {
                break;
            }
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
            // A crash during a sync is armed a microsecond before it struck, so that it
            // strikes at the same sync; its duration counts from the crash.
            let early = if matches!(period.kind, FaultKind::Crash { at_sync: true, .. }) { 1_000 } else { 0 };
            let at = period.start.saturating_sub(early);
            Fault {
                at_ms: at as f64 / MILLISECOND as f64,
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
