//! Sequential consistency of a run's client history (Lamport, "How to Make a Multiprocessor
//! Computer That Correctly Executes Multiprocess Programs", 1979): is there one order of all
//! the operations, keeping each client's operations in the order it issued them, in which
//! the service's model gives every recorded output? Unlike linearizability, the order need
//! not respect real time, so a read may return a stale value as long as every client sees
//! the writes in one order (what ZooKeeper promises its local reads).
//!
//! Sequential consistency is not local (a history can be sequentially consistent on each key
//! and not on the whole), so the search runs on the whole store: its state is the model's
//! state of every key touched. It is a depth-first search over how far each client has got,
//! trying first the client whose next operation was invoked earliest (real time is a good
//! first guess), with a cache of visited (progress, state) configurations and a step budget,
//! after which it answers `unknown`. A failed operation did not happen and is left out; an
//! `info` one may take effect at its place in its client's order, or never.

use std::collections::{BTreeMap, HashSet};

use protocols::history::{Call, Model, ModelOp};
use protocols::node::{Time, Violation};
use protocols::service::Service;

use super::Conclusion;

/// Checks the calls `include` keeps.
pub fn check<S: Service>(history: &[Call<S>], include: fn(&S::Operation) -> bool, budget: u64) -> Conclusion {
    let model = S::Model::default();
    let mut clients: BTreeMap<u64, Vec<ModelOp<S::Model>>> = BTreeMap::new();
    for op in history.iter().filter(|call| include(&call.operation)).filter_map(Call::as_op) {
        clients.entry(op.process).or_default().push(op);
    }
    let clients: Vec<Vec<ModelOp<S::Model>>> = clients
        .into_values()
        .map(|mut ops| {
            ops.sort_by_key(|op| op.call);
            ops
        })
        .collect();
    let mut search = Search {
        model: &model,
        clients: &clients,
        visited: HashSet::new(),
        steps: 0,
        budget,
        deepest: (0, Vec::new()),
    };
    let start = vec![0; clients.len()];
    match search.run(&start, &BTreeMap::new()) {
        Some(true) => Conclusion::passed("sequentially-consistent"),
        None => Conclusion::passed(format!("unknown after {} steps", search.steps)),
        Some(false) => {
            let (placed, stuck) = search.deepest;
            let stuck_ops: Vec<&ModelOp<S::Model>> =
                stuck.iter().map(|&(client, index)| &clients[client][index]).collect();
            let at = stuck_ops.iter().map(|op| op.call).min().unwrap_or(0) as Time;
            let listed: Vec<String> = stuck_ops
                .iter()
                .map(|op| format!("client {} at {} ns: {}", op.process, op.call, model.describe(&op.input, &op.output)))
                .collect();
            let violation = Violation {
                invariant: "sequential-consistency",
                evidence: stuck_ops.iter().map(|op| (op.process as u32, op.call as Time)).collect(),
                nodes: stuck_ops.iter().map(|op| op.process as u32).collect(),
                detail: format!(
                    "no order of the operations that keeps each client's own order explains what they were told: \
                     with {placed} operations ordered, none of the clients' next operations can come next: {}",
                    listed.join("; ")
                ),
            };
            Conclusion::failed("not-sequentially-consistent", at, violation)
        }
    }
}

/// The state of every key touched so far.
type Store<M> = BTreeMap<<M as Model>::Key, <M as Model>::State>;
/// A configuration the search visited: how far each client got, and the store.
type Configuration<M> = (Vec<usize>, Vec<(<M as Model>::Key, <M as Model>::State)>);

struct Search<'a, M: Model> {
    model: &'a M,
    clients: &'a [Vec<ModelOp<M>>],
    visited: HashSet<Configuration<M>>,
    steps: u64,
    budget: u64,
    /// The most operations ordered at once, and the clients' next operations at that point.
    deepest: (usize, Vec<(usize, usize)>),
}

impl<M: Model> Search<'_, M> {
    /// Whether the rest can be ordered from `progress` and `store`; `None` if the budget ran out.
    fn run(&mut self, progress: &[usize], store: &Store<M>) -> Option<bool> {
        let next: Vec<(usize, usize)> = (0..self.clients.len())
            .filter(|&client| progress[client] < self.clients[client].len())
            .map(|client| (client, progress[client]))
            .collect();
        if next.is_empty() {
            return Some(true);
        }
        let key = (progress.to_vec(), store.iter().map(|(k, s)| (k.clone(), s.clone())).collect());
        if !self.visited.insert(key) {
            return Some(false);
        }
        let placed: usize = progress.iter().sum();
        if placed >= self.deepest.0 {
            self.deepest = (placed, next.clone());
        }
        let mut order = next;
        order.sort_by_key(|&(client, index)| self.clients[client][index].call);
        for (client, index) in order {
            self.steps += 1;
            if self.steps > self.budget {
                return None;
            }
            let op = &self.clients[client][index];
            let mut advanced = progress.to_vec();
            advanced[client] += 1;
            if op.ret.is_none() && self.run(&advanced, store)? {
                return Some(true); // An open operation that never took effect.
            }
            let key = self.model.key(&op.input);
            let before = store.get(&key).cloned().unwrap_or_else(|| self.model.init());
            let Some(after) = self.model.step(&before, &op.input, &op.output) else { continue };
            let mut next_store = store.clone();
            next_store.insert(key, after);
            if self.run(&advanced, &next_store)? {
                return Some(true);
            }
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocols::kv::{KvOperation, KvReply, KvService};
    use protocols::service::{every, Outcome};

    fn kv(
        client: u32,
        invoked: Time,
        completed: Time,
        operation: KvOperation,
        outcome: Outcome<KvReply>,
    ) -> Call<KvService> {
        Call { client, invoked, completed: Some(completed), operation, outcome: Some(outcome) }
    }

    fn write(client: u32, at: Time, key: u64, value: u64) -> Call<KvService> {
        kv(client, at, at + 1, KvOperation::Write { key, value }, Outcome::Ok(KvReply::Done))
    }

    fn read(client: u32, at: Time, key: u64, seen: &[u64]) -> Call<KvService> {
        kv(client, at, at + 1, KvOperation::Read { key }, Outcome::Ok(KvReply::Values(seen.to_vec())))
    }

    #[test]
    fn a_stale_read_is_sequentially_consistent_but_going_back_in_time_is_not() {
        // Client 1 reads key 0 empty after client 0 wrote it: stale, but fine in some order.
        let stale = vec![write(0, 10, 0, 1), read(1, 20, 0, &[])];
        assert_eq!(check(&stale, every, 1_000).name, "sequentially-consistent");
        // Seeing the write and then not seeing it is no order at all.
        let back = vec![write(0, 10, 0, 1), read(1, 20, 0, &[1]), read(1, 30, 0, &[])];
        let conclusion = check(&back, every, 1_000);
        assert_eq!(conclusion.name, "not-sequentially-consistent");
        let (_, violation) = conclusion.violation.expect("a violation");
        assert_eq!(violation.invariant, "sequential-consistency");
    }

    #[test]
    fn two_clients_that_see_two_writes_in_opposite_orders_are_caught_across_keys() {
        // The IRIW shape: each key alone is fine, the two together are not.
        let history = vec![
            write(0, 10, 0, 1),
            write(1, 10, 1, 2),
            read(2, 20, 0, &[1]),
            read(2, 30, 1, &[]),
            read(3, 20, 1, &[2]),
            read(3, 30, 0, &[]),
        ];
        assert_eq!(check(&history, every, 10_000).name, "not-sequentially-consistent");
        let fine = vec![write(0, 10, 0, 1), write(1, 10, 1, 2), read(2, 20, 0, &[1]), read(2, 30, 1, &[2])];
        assert_eq!(check(&fine, every, 10_000).name, "sequentially-consistent");
    }

    #[test]
    fn an_open_write_may_take_effect_or_not_and_the_budget_gives_unknown() {
        let open = Call { completed: None, outcome: Some(Outcome::Info), ..write(0, 10, 0, 1) };
        assert_eq!(check(&[open.clone(), read(1, 20, 0, &[1])], every, 1_000).name, "sequentially-consistent");
        assert_eq!(check(&[open, read(1, 20, 0, &[])], every, 1_000).name, "sequentially-consistent");
        let many: Vec<_> =
            (0..12).map(|client| write(client, 10, 0, u64::from(client))).chain([read(20, 50, 0, &[99])]).collect();
        assert!(check(&many, every, 50).name.starts_with("unknown after"), "a tiny budget cannot decide");
    }
}
