//! Checking a whole history against a model: split it by key (P-compositionality: Horn and
//! Kroening, "Faster linearizability checking via P-compositionality", 2015; Herlihy and
//! Wing's locality), search the keys side by side, shrink each violation, and assemble the
//! report.
//!
//! The keys' searches advance in rounds, as Porcupine runs them in parallel and stops at
//! the first failing one: each round gives every undecided key the same number of steps
//! (doubling from round to round) and an equal share of the free memory, runs them on up to
//! `threads` threads, and after a round in which some key failed, the rest stop. A key that
//! is hard to decide therefore cannot hold back an easy violation on another key. What each
//! key is given depends only on the rounds, never on timing, so the report is the same
//! whatever the number of threads.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::minimise::minimise;
use super::model::{Model, ModelOp};
use super::report::{Limit, OpRef, OpSummary, Report, Stuck, TimeUnit, Verdict, Violation, LINEARIZATION_MAX};
use super::search::{Found, Search};

/// What a check may spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Model steps for the search, and as many again for shrinking violations.
    pub steps: u64,
    /// The memory bound in bytes: the search's tables, over all keys, may hold
    /// [`TABLES_SHARE`] of it at once; the rest is left for the history itself and for the
    /// allocator's own overhead and fragmentation, so that the process stays under it.
    pub memory: usize,
    /// Threads to search keys on (1: the calling thread only).
    pub threads: usize,
}

/// The part of the memory bound the search's tables may take (measured: with two threads,
/// the process's peak resident memory was up to 1.45 times the tables' bytes, from
/// fragmentation and per-thread allocator arenas).
pub const TABLES_SHARE: (usize, usize) = (5, 8);

/// Steps every undecided key gets in the first round; each round doubles it.
const FIRST_ROUND_STEPS: u64 = 1 << 12;

/// Shrinking a violation may take this many times the steps its key's search took, plus a
/// constant (and at most its share of the budget); no one search of it more than
/// `SHRINK_CAP` times plus a constant. A witness costs a small multiple of the verdict.
const SHRINK_BUDGET: (u64, u64) = (1, 200_000);
const SHRINK_CAP: (u64, u64) = (2, 10_000);

/// Checks `ops` against `model` within `limits` (the steps once for the search and once
/// for shrinking violations). Instants are reported in `time_unit`.
pub fn check<M>(model: &M, ops: Vec<ModelOp<M>>, limits: Limits, time_unit: TimeUnit) -> Report
where
    M: Model + Sync,
    M::Input: Send + Sync,
    M::Output: Send + Sync,
    M::State: Send,
{
    let operations = ops.len();
    let tables = limits.memory / TABLES_SHARE.1 * TABLES_SHARE.0;
    let partitions: Vec<(M::Key, Vec<ModelOp<M>>)> = partition(model, ops).into_iter().collect();
    // Each search's fixed tables are allocated now; the rounds share what is left.
    let mut searches: Vec<Option<Search<M>>> =
        partitions.iter().map(|(_, key_ops)| Some(Search::new(model, key_ops, tables))).collect();
    let mut found: Vec<Option<Found>> = vec![None; partitions.len()];
    let mut steps = vec![0u64; partitions.len()];
    let mut cuts: Vec<Option<u64>> = vec![None; partitions.len()];
    let mut stuck: Vec<Option<Stuck>> = vec![None; partitions.len()];
    let mut peak = 0usize;
    let mut round_steps = FIRST_ROUND_STEPS;
    loop {
        // Keys decided when they were created (no completed operation, or too big).
        for (index, search) in searches.iter_mut().enumerate() {
            if let Some(done) = search.as_mut().and_then(|search| search.run(0, search.bytes())) {
                found[index] = Some(done);
                *search = None;
            }
        }
        let live: Vec<usize> = (0..partitions.len()).filter(|&index| found[index].is_none()).collect();
        let spent: u64 = steps.iter().sum();
        let grant = round_steps.min(limits.steps.saturating_sub(spent) / live.len().max(1) as u64);
        if live.is_empty() || found.contains(&Some(Found::Violation)) {
            break;
        }
        if grant == 0 {
            for &index in &live {
                found[index] = Some(Found::OutOfSteps);
            }
            break;
        }
        let held: usize = searches.iter().flatten().map(Search::bytes).sum();
        peak = peak.max(held);
        let free = tables.saturating_sub(held) / live.len();
        let jobs: Vec<(usize, &mut Search<M>)> =
            searches.iter_mut().enumerate().filter_map(|(index, search)| Some((index, search.as_mut()?))).collect();
        let jobs = jobs.into_iter().map(|(index, search)| {
            let target = search.steps() + grant;
            let memory = search.bytes() + free;
            (index, search, target, memory)
        });
        for (index, result) in run_round(jobs.collect(), limits.threads) {
            found[index] = result;
        }
        peak = peak.max(searches.iter().flatten().map(Search::bytes).sum());
        for (index, search) in searches.iter_mut().enumerate() {
            if let Some(search) = search {
                steps[index] = search.steps();
                cuts[index] = search.furthest_return();
                if found[index] == Some(Found::Violation) {
                    stuck[index] = search.stuck().map(|(op, states, more_states)| Stuck {
                        operation: summary(model, &partitions[index].1[op]),
                        states: states.into_iter().map(|state| model.describe_state(state)).collect(),
                        more_states,
                    });
                }
            }
            if found[index].is_some() {
                *search = None;
            }
        }
        round_steps = round_steps.saturating_mul(2);
    }
    drop(searches);
    let keys = |wanted: &dyn Fn(Option<Found>) -> bool| -> Vec<Option<String>> {
        (0..partitions.len()).filter(|&i| wanted(found[i])).map(|i| model.describe_key(&partitions[i].0)).collect()
    };
    let failing: Vec<usize> = (0..partitions.len()).filter(|&i| found[i] == Some(Found::Violation)).collect();
    let undecided_keys = keys(&|found| matches!(found, Some(Found::OutOfSteps | Found::OutOfMemory)));
    let unchecked_keys = if failing.is_empty() { Vec::new() } else { keys(&|found| found.is_none()) };
    let ran_out_of = if found.contains(&Some(Found::OutOfMemory)) {
        Some(Limit::Memory)
    } else {
        found.contains(&Some(Found::OutOfSteps)).then_some(Limit::Steps)
    };
    let mut shrink_left = limits.steps;
    let mut violations = Vec::new();
    for (done, &index) in failing.iter().enumerate() {
        // A fair share of what is left, so that every violation gets shrunk.
        let share = shrink_left / (failing.len() - done) as u64;
        let spend =
            (share.min(SHRINK_BUDGET.0 * steps[index] + SHRINK_BUDGET.1), SHRINK_CAP.0 * steps[index] + SHRINK_CAP.1);
        let (key, key_ops) = &partitions[index];
        let (mut violation, spent) = violation(model, (key, key_ops), cuts[index], spend, tables);
        violation.stuck = stuck[index].take();
        violations.push(violation);
        shrink_left -= spent;
    }
    let verdict = match (violations.is_empty(), undecided_keys.is_empty()) {
        (false, _) => Verdict::NotLinearizable,
        (true, false) => Verdict::Unknown,
        (true, true) => Verdict::Linearizable,
    };
    Report {
        verdict,
        model: model.name(),
        operations,
        keys: partitions.iter().filter(|(key, _)| model.describe_key(key).is_some()).count(),
        time_unit,
        budget: limits.steps,
        steps: steps.iter().sum(),
        shrink_steps: limits.steps - shrink_left,
        memory_limit_bytes: limits.memory as u64,
        peak_memory_bytes: peak as u64,
        violations,
        undecided_keys,
        ran_out_of,
        unchecked_keys,
    }
}

/// Runs each search to its step target within its memory, on up to `threads` threads;
/// what each found (`None`: paused undecided).
fn run_round<M>(jobs: Vec<(usize, &mut Search<M>, u64, usize)>, threads: usize) -> Vec<(usize, Option<Found>)>
where
    M: Model + Sync,
    M::Input: Sync,
    M::Output: Sync,
    M::State: Send,
{
    let run =
        |(index, search, target, memory): (usize, &mut Search<M>, u64, usize)| (index, search.run(target, memory));
    let threads = threads.min(jobs.len());
    if threads <= 1 {
        return jobs.into_iter().map(run).collect();
    }
    let queue = Mutex::new(jobs.into_iter());
    let next = || queue.lock().ok().and_then(|mut jobs| jobs.next());
    let mut results: Vec<(usize, Option<Found>)> = std::thread::scope(|scope| {
        let workers: Vec<_> =
            (0..threads).map(|_| scope.spawn(|| std::iter::from_fn(next).map(run).collect::<Vec<_>>())).collect();
        workers.into_iter().flat_map(|worker| worker.join().unwrap_or_default()).collect()
    });
    results.sort_by_key(|&(index, _)| index);
    results
}

/// The history split by key, each part in the order of `ops`.
fn partition<M: Model>(model: &M, ops: Vec<ModelOp<M>>) -> BTreeMap<M::Key, Vec<ModelOp<M>>> {
    let mut partitions: BTreeMap<M::Key, Vec<_>> = BTreeMap::new();
    for op in ops {
        partitions.entry(model.key(&op.input)).or_default().push(op);
    }
    partitions
}

fn violation<M: Model>(
    model: &M,
    (key, ops): (&M::Key, &[ModelOp<M>]),
    cut: Option<u64>,
    spend: (u64, u64),
    memory: usize,
) -> (Violation, u64) {
    let (witness, spent) = minimise(model, ops, cut, spend, memory);
    let operations = witness.ops.iter().map(|op| summary(model, op)).collect();
    let linearization = witness.linearization.iter().take(LINEARIZATION_MAX);
    let violation = Violation {
        key: model.describe_key(key),
        key_operations: ops.len(),
        cut: witness.cut,
        linearizable_until: witness.linearizable_until,
        linearization: linearization.map(|&op| OpRef { process: ops[op].process, call: ops[op].call }).collect(),
        operations,
        minimal: witness.minimal,
        stuck: None,
    };
    (violation, spent)
}

fn summary<M: Model>(model: &M, op: &ModelOp<M>) -> OpSummary {
    OpSummary { process: op.process, call: op.call, ret: op.ret, operation: model.describe(&op.input, &op.output) }
}
