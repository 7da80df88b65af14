//! Checking a whole history against a model: split it by key, search each key's history,
//! shrink each violation, and assemble the report.

use std::collections::BTreeMap;

use super::minimise::minimise;
use super::model::{Model, ModelOp};
use super::report::{OpSummary, Report, TimeUnit, Verdict, Violation};
use super::search::{search, Budget, Found};

/// Checks `ops` against `model`, spending at most `budget` model steps on the search and
/// as many again on shrinking violations (shared fairly among the failing keys). Instants
/// are reported in `time_unit`.
pub fn check<M: Model>(model: &M, ops: Vec<ModelOp<M>>, budget: u64, time_unit: TimeUnit) -> Report {
    let operations = ops.len();
    let partitions = partition(model, ops);
    let mut search_budget = Budget::new(budget);
    let mut failing = Vec::new();
    let mut undecided_keys = Vec::new();
    for (key, key_ops) in &partitions {
        match search(model, key_ops, &mut search_budget) {
            Found::Linearizable => {}
            Found::Unknown => undecided_keys.push(model.describe_key(key)),
            Found::Violation => failing.push((key, key_ops)),
        }
    }
    let mut shrink_budget = Budget::new(budget);
    let mut violations = Vec::new();
    for (done, (key, key_ops)) in failing.iter().enumerate() {
        // A fair share of what is left, so that every violation gets shrunk.
        let mut share = shrink_budget.part(shrink_budget.remaining() / (failing.len() - done) as u64);
        violations.push(violation(model, key, key_ops, &mut share));
        shrink_budget.charge(&share);
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
        keys: partitions.keys().filter(|key| model.describe_key(key).is_some()).count(),
        time_unit,
        budget,
        steps: search_budget.spent(),
        shrink_steps: shrink_budget.spent(),
        violations,
        undecided_keys,
    }
}

/// The history split by key, each part in the order of `ops`.
fn partition<M: Model>(model: &M, ops: Vec<ModelOp<M>>) -> BTreeMap<M::Key, Vec<ModelOp<M>>> {
    let mut partitions: BTreeMap<M::Key, Vec<_>> = BTreeMap::new();
    for op in ops {
        partitions.entry(model.key(&op.input)).or_default().push(op);
    }
    partitions
}

fn violation<M: Model>(model: &M, key: &M::Key, ops: &[ModelOp<M>], budget: &mut Budget) -> Violation {
    let witness = minimise(model, ops, budget);
    let operations = witness
        .ops
        .iter()
        .map(|op| OpSummary {
            process: op.process,
            call: op.call,
            ret: op.ret,
            operation: model.describe(&op.input, &op.output),
        })
        .collect();
    Violation {
        key: model.describe_key(key),
        key_operations: ops.len(),
        cut: witness.cut,
        operations,
        minimal: witness.minimal,
    }
}
