//! ZooKeeper's promise for reads, checked on a run's client history: there is one order of
//! the writes, consistent with real time (the writes are linearizable, which the
//! linearizability check confirms), such that each client's reads, local or after a sync,
//! see a growing prefix of it that holds every write the client made before (FIFO client
//! order), and no read returns a value that was never written. That is sequential
//! consistency (Lamport 1979) with the writes in their one order; a stale read is allowed,
//! going back in time is not.
//!
//! The general search of sequential consistency (`sim`'s `checkers::sequential`) tries orders
//! of every operation and gives up on histories of a few hundred operations with stale reads.
//! This check instead builds the constraints as a graph and looks for a cycle, as memory-model
//! checkers and Jepsen's Elle do (Adya's dependency graphs). Values are unique, so a read's
//! state names the write that made it (its last value), and a list names the order of its
//! appends. The nodes are the writes that took effect (or may have, and were seen) and the
//! reads that returned; an edge `a -> b` says `a` comes before `b` in every order that
//! explains the history:
//! - each client's operations in its order (an operation whose outcome is unknown may take
//!   effect late, so nothing of the client's waits for it);
//! - a write before every write invoked after it completed (real time);
//! - the write a read saw before the read; the appends of a list in order, and an append that
//!   starts a list before every other write of its key; the write of `from` before a
//!   compare-and-set that swapped it;
//! - a read before every write of its key that comes after the one it saw, and, for a read
//!   of the empty initial state, every write of its key;
//! - and, derived until nothing changes: a write of a key that comes before a read of that key
//!   comes before the write the read saw.
//!
//! A cycle means no order explains the history. Every edge holds in every order that does,
//! so the check never rejects a history that keeps the promise; it may miss a violation that
//! only an order of writes it cannot pin down would show. Reachability is kept as bitsets,
//! computed in topological order; histories longer than [`WINDOW`] operations are checked in
//! overlapping windows of that many (every window's edges hold in the whole history).

use std::collections::{BTreeMap, BTreeSet};

use crate::history::Call;
use crate::kv::{KvOperation, KvReply, KvService};
use crate::node::{NodeId, Time, Violation};
use crate::service::{Key, Outcome, Value};

/// The check's name in summaries.
pub const SEQUENTIAL_READS: &str = "sequential-consistency";

/// The most operations checked at once.
pub const WINDOW: usize = 1_200;

/// The most rounds of derivation per window.
const ROUNDS_MAX: usize = 32;

/// Checks `history` (see the module comment).
pub fn sequential_reads(history: &[Call<KvService>]) -> Result<(), (Time, Violation)> {
    let ops = operations(history)?;
    if ops.len() <= WINDOW {
        return Graph::new(&ops).check();
    }
    let mut start = 0;
    while start < ops.len() {
        let window: Vec<Op> = ops[start..(start + WINDOW).min(ops.len())].to_vec();
        Graph::new(&window).check()?;
        if start + WINDOW >= ops.len() {
            break;
        }
        start += WINDOW / 2;
    }
    Ok(())
}

/// One operation the check reads.
#[derive(Clone, Debug)]
struct Op {
    client: NodeId,
    invoked: Time,
    /// `None` when its outcome is unknown.
    completed: Option<Time>,
    key: Key,
    kind: Kind,
    /// How it reads in a violation.
    text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// A write that took effect (or may have, and was seen) and made the key's state end
    /// with `value`; a compare-and-set also names the value it replaced.
    Write { value: Value, append: bool, replaced: Option<Value> },
    /// A read that returned the state ending with `seen` (`None`: empty), listing `list`.
    Read { seen: Option<Value>, list: Vec<Value> },
}

/// The operations of `history` the check reads, in invocation order, or the first read that
/// returned a value never written.
fn operations(history: &[Call<KvService>]) -> Result<Vec<Op>, (Time, Violation)> {
    let seen_values = seen_values(history);
    let mut ops = Vec::new();
    for call in history {
        let kind = match (&call.operation, call.outcome()) {
            (_, Outcome::Fail) | (_, Outcome::Ok(KvReply::CasFailed)) => continue,
            (op, Outcome::Ok(KvReply::Values(list))) if op.read_key().is_some() => {
                Some(Kind::Read { seen: list.last().copied(), list: list.clone() })
            }
            (op, _) if op.read_key().is_some() => continue,
            (KvOperation::Write { value, .. }, outcome) => write(*value, false, None, outcome, &seen_values),
            (KvOperation::Append { value, .. }, outcome) => write(*value, true, None, outcome, &seen_values),
            (KvOperation::Cas { from, to, .. }, outcome) => write(*to, false, Some(*from), outcome, &seen_values),
            _ => continue,
        };
        let Some(kind) = kind else { continue };
        let completed = call.outcome().is_definite().then_some(call.completed).flatten();
        let text =
            format!("client {} at {}: {} -> {}", call.client, ms(call.invoked), call.operation, outcome_text(call));
        ops.push(Op { client: call.client, invoked: call.invoked, completed, key: call.operation.key(), kind, text });
    }
    ops.sort_by_key(|op| (op.invoked, op.client));
    check_values(&ops)?;
    Ok(ops)
}

/// Every value some read returned, and every value a compare-and-set swapped that took
/// effect (it answered so, or its own value was seen): those writes happened.
fn seen_values(history: &[Call<KvService>]) -> BTreeSet<&Value> {
    let mut seen = BTreeSet::new();
    for call in history {
        if let (op, Outcome::Ok(KvReply::Values(values))) = (&call.operation, call.outcome()) {
            if op.read_key().is_some() {
                seen.extend(values);
            }
        }
    }
    loop {
        let before = seen.len();
        for call in history {
            if let KvOperation::Cas { from, to, .. } = &call.operation {
                let swapped = matches!(call.outcome(), Outcome::Ok(KvReply::Done));
                if swapped || (matches!(call.outcome(), Outcome::Info) && seen.contains(to)) {
                    seen.insert(from);
                }
            }
        }
        if seen.len() == before {
            return seen;
        }
    }
}

/// A write's kind, unless its outcome is unknown and nothing saw it (then it may never have
/// happened, and nothing depends on it).
fn write(
    value: Value,
    append: bool,
    replaced: Option<Value>,
    outcome: &Outcome<KvReply>,
    seen: &BTreeSet<&Value>,
) -> Option<Kind> {
    (outcome.is_definite() || seen.contains(&value)).then_some(Kind::Write { value, append, replaced })
}

/// Every value a read returned was written to its key, by an append unless it starts the
/// list; every value a compare-and-set swapped was written to its key.
fn check_values(ops: &[Op]) -> Result<(), (Time, Violation)> {
    let writes: BTreeMap<Value, (Key, bool)> = (ops.iter())
        .filter_map(|op| match op.kind {
            Kind::Write { value, append, .. } => Some((value, (op.key, append))),
            _ => None,
        })
        .collect();
    for op in ops {
        let (values, what): (Vec<Value>, &str) = match &op.kind {
            Kind::Read { list, .. } => (list.clone(), "returned"),
            Kind::Write { replaced: Some(from), .. } => (vec![*from], "swapped"),
            Kind::Write { .. } => continue,
        };
        for (index, value) in values.iter().enumerate() {
            let fits = match writes.get(value) {
                Some(&(key, append)) => key == op.key && (index == 0 || append),
                None => false,
            };
            if !fits {
                let detail = format!("{}: it {what} {value}, which no write of key {} made so", op.text, op.key);
                return Err(violation(op.invoked, vec![op], detail));
            }
        }
    }
    Ok(())
}

/// The constraint graph of a window of operations.
struct Graph<'a> {
    ops: &'a [Op],
    /// Nodes: the operations, then one per write completion time (the real-time chain).
    edges: Vec<BTreeSet<usize>>,
    /// Per key, its writes and its reads (indices into `ops`).
    writes: BTreeMap<Key, Vec<usize>>,
    reads: BTreeMap<Key, Vec<usize>>,
    /// The write that made each value.
    producer: BTreeMap<Value, usize>,
}

impl<'a> Graph<'a> {
    fn new(ops: &'a [Op]) -> Graph<'a> {
        let mut graph = Graph {
            ops,
            edges: Vec::new(),
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            producer: BTreeMap::new(),
        };
        for (index, op) in ops.iter().enumerate() {
            match op.kind {
                Kind::Write { value, .. } => {
                    graph.writes.entry(op.key).or_default().push(index);
                    graph.producer.insert(value, index);
                }
                Kind::Read { .. } => graph.reads.entry(op.key).or_default().push(index),
            }
        }
        graph.edges = vec![BTreeSet::new(); ops.len()];
        graph.add_client_order();
        graph.add_real_time();
        graph.add_reads_and_lists();
        graph
    }

    fn add_client_order(&mut self) {
        let mut last: BTreeMap<NodeId, usize> = BTreeMap::new();
        for (index, op) in self.ops.iter().enumerate() {
            if let Some(&before) = last.get(&op.client) {
                self.edges[before].insert(index);
            }
            if op.completed.is_some() {
                last.insert(op.client, index);
            }
        }
    }

    /// Write `a` before write `b` when `a` completed before `b` was invoked, through a chain
    /// of one node per completion time (linear in the writes, not quadratic).
    fn add_real_time(&mut self) {
        let mut completions: Vec<(Time, usize)> = (self.ops.iter().enumerate())
            .filter(|(_, op)| matches!(op.kind, Kind::Write { .. }))
            .filter_map(|(index, op)| op.completed.map(|at| (at, index)))
            .collect();
        completions.sort_unstable();
        let first = self.edges.len();
        self.edges.extend((0..completions.len()).map(|_| BTreeSet::new()));
        for (position, &(_, write)) in completions.iter().enumerate() {
            self.edges[write].insert(first + position);
            if position + 1 < completions.len() {
                self.edges[first + position].insert(first + position + 1);
            }
        }
        for (index, op) in self.ops.iter().enumerate() {
            if !matches!(op.kind, Kind::Write { .. }) {
                continue;
            }
            // The last completion strictly before this invocation.
            let before = completions.partition_point(|&(at, _)| at < op.invoked);
            if before > 0 {
                self.edges[first + before - 1].insert(index);
            }
        }
    }

    fn add_reads_and_lists(&mut self) {
        for (index, op) in self.ops.iter().enumerate() {
            match &op.kind {
                Kind::Read { seen: Some(value), list } => {
                    if let Some(&producer) = self.producer.get(value) {
                        self.edges[producer].insert(index);
                    }
                    // An append that starts a list found the key empty: it was the key's first.
                    if let Some(&first) = self.producer.get(&list[0]).filter(|&&first| self.is_append(first)) {
                        for &write in self.writes.get(&op.key).into_iter().flatten().filter(|&&write| write != first) {
                            self.edges[first].insert(write);
                        }
                    }
                    for pair in list.windows(2) {
                        if let (Some(&a), Some(&b)) = (self.producer.get(&pair[0]), self.producer.get(&pair[1])) {
                            self.edges[a].insert(b);
                        }
                    }
                }
                Kind::Read { seen: None, .. } => {
                    for &write in self.writes.get(&op.key).into_iter().flatten() {
                        self.edges[index].insert(write);
                    }
                }
                Kind::Write { replaced: Some(from), .. } => {
                    if let Some(&producer) = self.producer.get(from) {
                        self.edges[producer].insert(index);
                    }
                }
                Kind::Write { .. } => {}
            }
        }
    }

    fn is_append(&self, index: usize) -> bool {
        matches!(self.ops[index].kind, Kind::Write { append: true, .. })
    }

    /// Derives edges until nothing changes, then looks for a cycle.
    fn check(mut self) -> Result<(), (Time, Violation)> {
        for _ in 0..ROUNDS_MAX {
            let reach = match self.reachability() {
                Ok(reach) => reach,
                Err(cycle) => return Err(self.cycle_violation(&cycle)),
            };
            if !self.derive(&reach) {
                return Ok(());
            }
        }
        self.reachability().map(drop).map_err(|cycle| self.cycle_violation(&cycle))
    }

    /// Adds what reachability implies; whether anything was new.
    fn derive(&mut self, reach: &[Bits]) -> bool {
        let mut added = false;
        for (key, reads) in &self.reads {
            let writes = self.writes.get(key).map(Vec::as_slice).unwrap_or_default();
            for &read in reads {
                let Kind::Read { seen: Some(value), .. } = self.ops[read].kind else { continue };
                let Some(&producer) = self.producer.get(&value) else { continue };
                for &write in writes {
                    if write == producer {
                        continue;
                    }
                    // A write before the read precedes the write it saw.
                    if reach[write].get(read) && !reach[write].get(producer) {
                        added |= self.edges[write].insert(producer);
                    }
                    // A write after the one it saw comes after the read.
                    if reach[producer].get(write) && !reach[read].get(write) {
                        added |= self.edges[read].insert(write);
                    }
                }
            }
        }
        added
    }

    /// Every node's reachable set, or a cycle (as nodes in order) if there is one.
    fn reachability(&self) -> Result<Vec<Bits>, Vec<usize>> {
        let order = self.topological_order()?;
        let nodes = self.edges.len();
        let mut reach = vec![Bits::new(nodes); nodes];
        for &node in order.iter().rev() {
            let mut bits = Bits::new(nodes);
            for &next in &self.edges[node] {
                bits.set(next);
                bits.union(&reach[next]);
            }
            reach[node] = bits;
        }
        Ok(reach)
    }

    /// Kahn's algorithm; on a cycle, the cycle.
    fn topological_order(&self) -> Result<Vec<usize>, Vec<usize>> {
        let nodes = self.edges.len();
        let mut incoming = vec![0_usize; nodes];
        for targets in &self.edges {
            for &target in targets {
                incoming[target] += 1;
            }
        }
        let mut ready: Vec<usize> = (0..nodes).filter(|&node| incoming[node] == 0).collect();
        let mut order = Vec::with_capacity(nodes);
        while let Some(node) = ready.pop() {
            order.push(node);
            for &target in &self.edges[node] {
                incoming[target] -= 1;
                if incoming[target] == 0 {
                    ready.push(target);
                }
            }
        }
        if order.len() == nodes {
            return Ok(order);
        }
        Err(self.find_cycle(&incoming))
    }

    /// A cycle among the nodes Kahn's algorithm could not order (each has a predecessor
    /// among them, so walking predecessors back must repeat).
    fn find_cycle(&self, incoming: &[usize]) -> Vec<usize> {
        let stuck: BTreeSet<usize> = (0..incoming.len()).filter(|&node| incoming[node] > 0).collect();
        let mut next_of = BTreeMap::new();
        for &node in &stuck {
            if let Some(&next) = self.edges[node].iter().find(|next| stuck.contains(next)) {
                next_of.insert(node, next);
            }
        }
        let start = *stuck.iter().next().expect("a cycle has nodes");
        let mut path = vec![start];
        let mut position: BTreeMap<usize, usize> = [(start, 0)].into_iter().collect();
        let mut node = start;
        while let Some(&next) = next_of.get(&node) {
            if let Some(&at) = position.get(&next) {
                return path[at..].to_vec();
            }
            position.insert(next, path.len());
            path.push(next);
            node = next;
        }
        path
    }

    fn cycle_violation(&self, cycle: &[usize]) -> (Time, Violation) {
        let ops: Vec<&Op> = cycle.iter().filter_map(|&node| self.ops.get(node)).collect();
        let at = ops.iter().map(|op| op.invoked).max().unwrap_or(0);
        let listed: Vec<&str> = ops.iter().take(8).map(|op| op.text.as_str()).collect();
        let detail = format!(
            "no one order of the writes lets every client's reads see a growing prefix of it: these operations \
             must each come before the next, and the last before the first: {}",
            listed.join("; ")
        );
        violation(at, ops, detail)
    }
}

fn violation(at: Time, ops: Vec<&Op>, detail: String) -> (Time, Violation) {
    let mut nodes: Vec<NodeId> = ops.iter().map(|op| op.client).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let evidence = ops.iter().map(|op| (op.client, op.invoked)).collect();
    (at, Violation { invariant: SEQUENTIAL_READS, nodes, detail, evidence })
}

fn outcome_text(call: &Call<KvService>) -> String {
    match call.outcome() {
        Outcome::Ok(reply) => reply.to_string(),
        Outcome::Fail => "fail".to_string(),
        Outcome::Info => "unknown".to_string(),
    }
}

fn ms(at: Time) -> String {
    format!("{:.3} ms", at as f64 / crate::node::MILLISECOND as f64)
}

/// A fixed-size set of node indices.
#[derive(Clone, Debug)]
struct Bits {
    words: Vec<u64>,
}

impl Bits {
    fn new(size: usize) -> Bits {
        Bits { words: vec![0; size.div_ceil(64)] }
    }

    fn set(&mut self, index: usize) {
        self.words[index / 64] |= 1 << (index % 64);
    }

    fn get(&self, index: usize) -> bool {
        self.words[index / 64] & (1 << (index % 64)) != 0
    }

    fn union(&mut self, other: &Bits) {
        for (word, more) in self.words.iter_mut().zip(&other.words) {
            *word |= more;
        }
    }
}
