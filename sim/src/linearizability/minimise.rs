//! Shrinking a non-linearizable key history to a few operations a reader can check by hand.
//!
//! Both steps only *relax* the history (they never add a constraint), so whatever they
//! report is still a proof that the original history is not linearizable:
//!
//! 1. Cut: the history up to an instant T keeps the operations invoked by T, and makes
//!    open those that had not returned by T. Any linearization of the whole history, cut at
//!    T, linearizes that prefix, so a prefix that fails proves the whole fails; and failing
//!    is monotone in T, so a binary search over return instants finds the earliest T.
//! 2. Relax: one at a time, each completed operation of that prefix is made open (it may
//!    take effect at any point after its invocation, or never). If the prefix still fails,
//!    the operation stays relaxed. Relaxing more operations only admits more orders, so an
//!    operation that was needed stays needed: the operations left completed form a
//!    1-minimal witness (relaxing any one of them makes the prefix linearizable).
//!
//! Each check spends from one budget, and no check may take more than a tenth of it; a
//! check that runs out keeps its operation, and the witness is then marked as not minimal.

use super::model::{Model, ModelOp, Op};
use super::search::{search, Budget, Found};

/// A proof of non-linearizability, small enough to read.
#[derive(Clone, Debug)]
pub(crate) struct Witness<I, O> {
    /// The history up to this instant already fails.
    pub cut: u64,
    /// The operations that cannot be ordered, in invocation order, even when every other
    /// operation invoked by `cut` is open.
    pub ops: Vec<Op<I, O>>,
    /// False when the budget ran out before every operation was tried.
    pub minimal: bool,
}

/// Shrinks `ops`, a key history that the search found not linearizable, in at most
/// `budget` model steps, none of its checks taking more than a tenth of them.
pub(crate) fn minimise<M: Model>(model: &M, ops: &[ModelOp<M>], budget: &mut Budget) -> Witness<M::Input, M::Output> {
    let cap = budget.remaining().div_ceil(10);
    let mut check = |history: &[ModelOp<M>]| {
        let mut part = budget.part(cap);
        let found = search(model, history, &mut part);
        budget.charge(&part);
        found
    };
    let (cut, mut prefix) = earliest_failing_prefix(ops, &mut check);
    let mut minimal = true;
    // Latest invoked first: open operations late in the history leave the search fewer
    // choices than early ones, so the checks stay cheap for longer.
    for index in (0..prefix.len()).rev() {
        let Some(ret) = prefix[index].ret.take() else {
            continue;
        };
        let found = check(&prefix);
        if found != Found::Violation {
            prefix[index].ret = Some(ret);
            minimal &= found == Found::Linearizable;
        }
    }
    prefix.retain(|op| op.ret.is_some());
    prefix.sort_by_key(|op| op.call);
    Witness { cut, ops: prefix, minimal }
}

/// The earliest return instant whose prefix fails, and that prefix. The prefix at the last
/// return fails without a check: it is the whole history minus open operations invoked
/// after it, and removing an open operation only removes choices.
fn earliest_failing_prefix<I: Clone, O: Clone>(
    ops: &[Op<I, O>],
    check: &mut impl FnMut(&[Op<I, O>]) -> Found,
) -> (u64, Vec<Op<I, O>>) {
    let mut cuts: Vec<u64> = ops.iter().filter_map(|op| op.ret).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let Some(mut failing) = cuts.len().checked_sub(1) else {
        // Only open operations: nothing to cut (such a history never fails).
        return (0, ops.to_vec());
    };
    // Invariant: the prefix at cuts[failing] fails; those before cuts[lowest] were not
    // shown to fail.
    let mut lowest = 0;
    while lowest < failing {
        let middle = usize::midpoint(lowest, failing);
        if check(&prefix(ops, cuts[middle])) == Found::Violation {
            failing = middle;
        } else {
            lowest = middle + 1;
        }
    }
    (cuts[failing], prefix(ops, cuts[failing]))
}

/// The operations invoked by `cut`, open unless they returned by then.
fn prefix<I: Clone, O: Clone>(ops: &[Op<I, O>], cut: u64) -> Vec<Op<I, O>> {
    ops.iter()
        .filter(|op| op.call <= cut)
        .map(|op| Op { ret: op.ret.filter(|&ret| ret <= cut), ..op.clone() })
        .collect()
}
