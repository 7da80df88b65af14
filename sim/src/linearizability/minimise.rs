//! Shrinking a non-linearizable key history to a few operations a reader can check by hand.
//!
//! Both steps only *relax* the history (they never add a constraint), so whatever they
//! report is still a proof that the original history is not linearizable:
//!
//! 1. Cut: the history up to an instant T keeps the operations invoked by T, and makes
//!    open those that had not returned by T. Any linearization of the whole history, cut at
//!    T, linearizes that prefix, so a prefix that fails proves the whole fails. The search
//!    that found the violation knows the earliest such T (the furthest return it reached);
//!    without it, failing is monotone in T, so a binary search over return instants finds
//!    it. The history up to just before T is the longest linearizable prefix; its
//!    linearization is kept for the history view.
//! 2. Relax: completed operations of that prefix are made optional (each may take effect
//!    within its interval, or not at all), latest invoked first, in halves (Zeller's delta
//!    debugging): a group whose relaxing keeps the prefix failing stays relaxed, and a group
//!    that does not is split, down to single operations, which stay as they were. Making an
//!    operation optional rather than open keeps the search's choices within its interval,
//!    so relaxed searches stay about as cheap as the first.
//!    Relaxing more only admits more orders, so an operation that was needed stays needed:
//!    the operations left completed form a 1-minimal witness (relaxing any one of them
//!    makes the prefix linearizable), found in O(k log n) searches for k of n operations.
//!
//! Each search spends from one step budget, and none may take more than a cap (a few times
//! what the search that found the violation took: relaxing completed operations into open
//! ones can make a search far more expensive); a search that runs out keeps its
//! operations, and the witness is then marked as not minimal.

use super::model::{Model, ModelOp, Op};
use super::search::{Found, Search};

/// A proof of non-linearizability, small enough to read.
#[derive(Clone, Debug)]
pub(crate) struct Witness<I, O> {
    /// The history up to this instant already fails.
    pub cut: u64,
    /// The history up to this earlier instant was shown linearizable, by `linearization`
    /// (indices into the history).
    pub linearizable_until: Option<u64>,
    pub linearization: Vec<usize>,
    /// The operations that cannot be ordered, in invocation order, even when every other
    /// operation invoked by `cut` is open.
    pub ops: Vec<Op<I, O>>,
    /// False when the budget ran out before every operation was tried.
    pub minimal: bool,
}

/// Steps left and spent, shared by the searches of one shrinking.
struct Spend {
    left: u64,
    spent: u64,
    cap: u64,
    memory: usize,
}

impl Spend {
    fn check<M: Model>(&mut self, model: &M, history: &[ModelOp<M>]) -> Found {
        self.check_relaxed(model, history, Vec::new())
    }

    /// Searches `history` with the operations marked in `skippable` relaxed.
    fn check_relaxed<M: Model>(&mut self, model: &M, history: &[ModelOp<M>], skippable: Vec<bool>) -> Found {
        let mut search = Search::new(model, history, self.memory).with_skippable(skippable);
        let found = search.run(self.cap.min(self.left), self.memory).unwrap_or(Found::OutOfSteps);
        self.left -= search.steps();
        self.spent += search.steps();
        found
    }
}

/// Shrinks `ops`, a key history that the search found not linearizable, in at most
/// `budget` model steps, none of its searches taking more than `cap`, and `memory` bytes
/// per search. `cut`, if known (from the search: [`Search::furthest_return`]), is the
/// earliest instant whose prefix fails; otherwise a binary search finds it. Returns the
/// witness and the steps spent.
pub(crate) fn minimise<M: Model>(
    model: &M,
    ops: &[ModelOp<M>],
    cut: Option<u64>,
    (budget, cap): (u64, u64),
    memory: usize,
) -> (Witness<M::Input, M::Output>, u64) {
    let mut spend = Spend { left: budget, spent: 0, cap, memory };
    let cut = cut.unwrap_or_else(|| earliest_failing_prefix(model, ops, &mut spend));
    let prefix = prefix(ops, cut);
    let (linearizable_until, linearization) = match cut.checked_sub(1) {
        Some(before) => longest_linearizable_prefix(model, ops, before, &mut spend),
        None => (None, Vec::new()),
    };
    let mut order: Vec<usize> = (0..prefix.len()).filter(|&op| prefix[op].ret.is_some()).collect();
    order.sort_by_key(|&op| prefix[op].call);
    let mut minimal = true;
    let mut relaxed = vec![false; prefix.len()];
    relax(model, &prefix, (&mut relaxed, &order), &mut spend, &mut minimal);
    let mut kept: Vec<ModelOp<M>> = prefix
        .into_iter()
        .zip(relaxed)
        .filter(|(op, relaxed)| op.ret.is_some() && !relaxed)
        .map(|(op, _)| op)
        .collect();
    kept.sort_by_key(|op| op.call);
    let witness = Witness { cut, linearizable_until, linearization, ops: kept, minimal };
    (witness, spend.spent)
}

/// Relaxes as much of `group` (latest invoked first) as keeps `prefix` failing, marking it
/// in `relaxed`.
fn relax<M: Model>(
    model: &M,
    prefix: &[ModelOp<M>],
    (relaxed, group): (&mut Vec<bool>, &[usize]),
    spend: &mut Spend,
    minimal: &mut bool,
) {
    if group.is_empty() {
        return;
    }
    let mut trial = relaxed.clone();
    for &op in group {
        trial[op] = true;
    }
    let found = spend.check_relaxed(model, prefix, trial.clone());
    if found == Found::Violation {
        *relaxed = trial;
        return;
    }
    if let [_] = group {
        *minimal &= found == Found::Linearizable;
        return;
    }
    let (later, earlier) = group.split_at(group.len() / 2);
    relax(model, prefix, (relaxed, later), spend, minimal);
    relax(model, prefix, (relaxed, earlier), spend, minimal);
}

/// The earliest return instant whose prefix fails. The prefix at the last return fails
/// without a search: it is the whole history minus open operations invoked after it, and
/// removing an open operation only removes choices.
fn earliest_failing_prefix<M: Model>(model: &M, ops: &[ModelOp<M>], spend: &mut Spend) -> u64 {
    let mut cuts: Vec<u64> = ops.iter().filter_map(|op| op.ret).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let Some(mut failing) = cuts.len().checked_sub(1) else {
        // Only open operations: nothing to cut (such a history never fails).
        return ops.iter().map(|op| op.call).max().unwrap_or(0);
    };
    // Invariant: the prefix at cuts[failing] fails; those before cuts[lowest] were not
    // shown to fail.
    let mut lowest = 0;
    while lowest < failing {
        let middle = usize::midpoint(lowest, failing);
        if spend.check(model, &prefix(ops, cuts[middle])) == Found::Violation {
            failing = middle;
        } else {
            lowest = middle + 1;
        }
    }
    cuts[failing]
}

/// The prefix at `cut` with its linearization, if a search shows it linearizable.
fn longest_linearizable_prefix<M: Model>(
    model: &M,
    ops: &[ModelOp<M>],
    cut: u64,
    spend: &mut Spend,
) -> (Option<u64>, Vec<usize>) {
    // The prefix keeps the history's order, so its indices map back through `invoked`.
    let invoked: Vec<usize> = (0..ops.len()).filter(|&op| ops[op].call <= cut).collect();
    let history = prefix(ops, cut);
    let mut search = Search::new(model, &history, spend.memory);
    let found = search.run(spend.cap.min(spend.left), spend.memory);
    spend.left -= search.steps();
    spend.spent += search.steps();
    match found {
        Some(Found::Linearizable) => (Some(cut), search.linearization().into_iter().map(|op| invoked[op]).collect()),
        _ => (None, Vec::new()),
    }
}

/// The operations invoked by `cut`, open unless they returned by then.
fn prefix<I: Clone, O: Clone>(ops: &[Op<I, O>], cut: u64) -> Vec<Op<I, O>> {
    ops.iter()
        .filter(|op| op.call <= cut)
        .map(|op| Op { ret: op.ret.filter(|&ret| ret <= cut), ..op.clone() })
        .collect()
}
