//! Serializability of a run's transactions, from the client history alone, in the manner of
//! Jepsen's Elle (Kingsbury and Alvaro, "Elle: Inferring Isolation Anomalies from
//! Experimental Observations", VLDB 2020) on Adya's dependency graphs (Adya, "Weak
//! Consistency", PhD thesis, MIT, 1999).
//!
//! Each key holds a list; a transaction reads some lists and appends its own unique value to
//! others, and its reads see the store before its own appends. Because every read returns a
//! whole list, the reads reveal each key's version order: all reads of a key must be
//! prefixes of the longest one. From that order the check infers, between transactions
//! that took effect (committed, or of unknown outcome but seen by a read):
//! - write-write (ww): `T1` appended the element right before `T2`'s;
//! - write-read (wr): `T2` read a list whose last element `T1` appended;
//! - read-write (rw, an anti-dependency): `T1` read a list that `T2`'s append extends, or
//!   that lacks the append of a transaction known to have committed;
//! - real time: `T1` completed before `T2` was invoked.
//!
//! A serializable history has a serial order that respects ww, wr and rw; a cycle of them
//! (G0 of ww alone, G1c with wr, G-single with one rw, G2 with more) names the transactions
//! that cannot be ordered. A cycle that needs real-time edges as well makes the history not
//! strictly serializable (`-realtime`). Anomalies that need no cycle are reported too: a read
//! of a value no transaction appended to that key (garbage), of an aborted transaction's
//! append (G1a), a list holding a value twice, and two reads of a key that are not prefixes
//! of one another (incompatible orders). A lost lock or a torn commit shows as one of these.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use protocols::history::Call;
use protocols::node::{NodeId, Time, Violation, MILLISECOND};
use protocols::service::{Key, Outcome, Service, Transactional, Value};

use super::Conclusion;

/// Checks the transactions of `history`, described by `describe`; clients are processes
/// from `first_client` on.
pub fn check<S: Service>(
    history: &[Call<S>],
    describe: fn(&S::Operation, &Outcome<S::Reply>) -> Transactional,
    first_client: u32,
) -> Conclusion {
    let transactions: Vec<Transaction> = history
        .iter()
        .map(|call| Transaction {
            client: call.client,
            invoked: call.invoked,
            completed: call.completed.filter(|_| call.outcome().is_definite()),
            status: match call.outcome() {
                Outcome::Ok(_) => Status::Committed,
                Outcome::Fail => Status::Aborted,
                Outcome::Info => Status::Unknown,
            },
            ops: describe(&call.operation, call.outcome()),
        })
        .collect();
    match analyse(&transactions) {
        None => Conclusion::passed("serializable"),
        Some(anomaly) => {
            let (at, violation) = anomaly.violation(&transactions, first_client);
            Conclusion::failed(anomaly.name(), at, violation)
        }
    }
}

/// What became of a transaction, as far as its client knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Committed,
    Aborted,
    Unknown,
}

/// One transaction of the history.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub client: NodeId,
    pub invoked: Time,
    /// When the client learned the outcome, for a definite one.
    pub completed: Option<Time>,
    pub status: Status,
    pub ops: Transactional,
}

/// Why an edge runs from one transaction to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edge {
    WriteWrite(Key),
    WriteRead(Key),
    ReadWrite(Key),
    RealTime,
}

impl Edge {
    fn words(self) -> String {
        match self {
            Edge::WriteWrite(key) => format!("ww on key {key}"),
            Edge::WriteRead(key) => format!("wr on key {key}"),
            Edge::ReadWrite(key) => format!("rw on key {key}"),
            Edge::RealTime => "real time".to_string(),
        }
    }
}

/// What the check found: a cycle of transactions (by index) with the edge out of each, or
/// an anomaly in one read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anomaly {
    Cycle(Vec<(usize, Edge)>),
    /// The transaction read `value` in `key`, which no transaction appended there.
    Garbage {
        reader: usize,
        key: Key,
        value: Value,
    },
    /// The transaction read the append of `writer`, which aborted.
    AbortedRead {
        reader: usize,
        writer: usize,
        key: Key,
    },
    /// The transaction read `value` twice in one list.
    Duplicate {
        reader: usize,
        key: Key,
        value: Value,
    },
    /// Two reads of `key` that are not prefixes of one another.
    Incompatible {
        first: usize,
        second: usize,
        key: Key,
    },
}

impl Anomaly {
    /// Adya's and Elle's name for it.
    pub fn name(&self) -> String {
        match self {
            Anomaly::Cycle(cycle) => {
                let anti = cycle.iter().filter(|(_, edge)| matches!(edge, Edge::ReadWrite(_))).count();
                let reads = cycle.iter().any(|(_, edge)| matches!(edge, Edge::WriteRead(_)));
                let base = match anti {
                    0 if reads => "G1c",
                    0 => "G0",
                    1 => "G-single",
                    _ => "G2",
                };
                let realtime = cycle.iter().any(|(_, edge)| *edge == Edge::RealTime);
                if realtime {
                    format!("{base}-realtime")
                } else {
                    base.to_string()
                }
            }
            Anomaly::Garbage { .. } => "garbage-read".to_string(),
            Anomaly::AbortedRead { .. } => "G1a".to_string(),
            Anomaly::Duplicate { .. } => "duplicate-elements".to_string(),
            Anomaly::Incompatible { .. } => "incompatible-order".to_string(),
        }
    }

    /// The transactions it names.
    fn transactions(&self) -> Vec<usize> {
        match self {
            Anomaly::Cycle(cycle) => cycle.iter().map(|&(transaction, _)| transaction).collect(),
            Anomaly::Garbage { reader, .. } | Anomaly::Duplicate { reader, .. } => vec![*reader],
            Anomaly::AbortedRead { reader, writer, .. } => vec![*writer, *reader],
            Anomaly::Incompatible { first, second, .. } => vec![*first, *second],
        }
    }

    /// The violation, at the moment the last transaction it names is over.
    fn violation(&self, transactions: &[Transaction], first_client: u32) -> (Time, Violation) {
        let named = self.transactions();
        let who = |index: usize| {
            let transaction = &transactions[index];
            let client = transaction.client.saturating_sub(first_client);
            let when = match transaction.completed {
                Some(completed) => format!("{} to {}", ms(transaction.invoked), ms(completed)),
                None => format!("from {}, outcome unknown", ms(transaction.invoked)),
            };
            format!("transaction {} (client {client}, {when})", label(&transaction.ops, index))
        };
        let detail = match self {
            Anomaly::Cycle(cycle) => {
                let steps: Vec<String> =
                    cycle.iter().map(|&(index, edge)| format!("{} -{}->", who(index), edge.words())).collect();
                format!(
                    "{}: {} {}; no serial order{} can hold them",
                    self.name(),
                    steps.join(" "),
                    who(cycle[0].0),
                    if self.name().ends_with("realtime") { " that respects real time" } else { "" }
                )
            }
            Anomaly::Garbage { reader, key, value } => {
                format!("{} read {value} in key {key}, which no transaction appended there", who(*reader))
            }
            Anomaly::AbortedRead { reader, writer, key } => {
                format!("{} read in key {key} the append of {}, which aborted", who(*reader), who(*writer))
            }
            Anomaly::Duplicate { reader, key, value } => {
                format!("{} read {value} twice in the list of key {key}", who(*reader))
            }
            Anomaly::Incompatible { first, second, key } => format!(
                "{} and {} read lists of key {key} that are not prefixes of one another: no order of the \
                 appends gives both",
                who(*first),
                who(*second)
            ),
        };
        let times = |index: usize| transactions[index].completed.unwrap_or(transactions[index].invoked);
        let at = named.iter().map(|&index| times(index)).max().unwrap_or(0);
        let mut nodes: Vec<NodeId> = named.iter().map(|&index| transactions[index].client).collect();
        nodes.dedup();
        let evidence = named.iter().map(|&index| (transactions[index].client, transactions[index].invoked)).collect();
        (at, Violation { invariant: "serializability", nodes, detail, evidence })
    }
}

/// A transaction's value (the one it appends, if it appends), or its place in the history.
fn label(ops: &Transactional, index: usize) -> String {
    ops.appends.first().map_or_else(|| format!("#{index}"), |(_, value)| value.to_string())
}

fn ms(time: Time) -> String {
    format!("{:.3} ms", time as f64 / MILLISECOND as f64)
}

/// The first anomaly of `transactions`, if any: one in a read first, then a cycle of data
/// dependencies, then a cycle that needs real time.
pub fn analyse(transactions: &[Transaction]) -> Option<Anomaly> {
    let graph = match Graph::of(transactions) {
        Ok(graph) => graph,
        Err(anomaly) => return Some(anomaly),
    };
    graph.cycle(false).or_else(|| graph.cycle(true)).map(Anomaly::Cycle)
}

/// The dependency graph: adjacency lists with the edge kind, data edges and real-time edges
/// apart.
struct Graph {
    data: Vec<Vec<(usize, Edge)>>,
    realtime: Vec<Vec<(usize, Edge)>>,
}

impl Graph {
    /// The graph of the transactions, or the anomaly that one read shows by itself.
    fn of(transactions: &[Transaction]) -> Result<Graph, Anomaly> {
        let n = transactions.len();
        // Who appended each value to each key.
        let mut writers: BTreeMap<(Key, Value), usize> = BTreeMap::new();
        for (index, transaction) in transactions.iter().enumerate() {
            for &(key, value) in &transaction.ops.appends {
                writers.entry((key, value)).or_insert(index);
            }
        }
        let committed_reads = |index: usize| {
            let transaction = &transactions[index];
            let reads = if transaction.status == Status::Committed { &transaction.ops.reads[..] } else { &[] };
            reads.iter()
        };
        // Check each read on its own; note which appends were seen.
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        for reader in 0..n {
            for (key, list) in committed_reads(reader) {
                let mut values = BTreeSet::new();
                for &value in list {
                    let Some(&writer) = writers.get(&(*key, value)) else {
                        return Err(Anomaly::Garbage { reader, key: *key, value });
                    };
                    if !values.insert(value) {
                        return Err(Anomaly::Duplicate { reader, key: *key, value });
                    }
                    if transactions[writer].status == Status::Aborted {
                        return Err(Anomaly::AbortedRead { reader, writer, key: *key });
                    }
                    seen.insert(writer);
                }
            }
        }
        // Transactions that took effect: committed, or unknown and seen.
        let effective: Vec<bool> = (0..n)
            .map(|index| match transactions[index].status {
                Status::Committed => true,
                Status::Unknown => seen.contains(&index),
                Status::Aborted => false,
            })
            .collect();
        // Each key's version order: its longest read, of which every other read is a prefix.
        let mut reads_of: BTreeMap<Key, Vec<(usize, &[Value])>> = BTreeMap::new();
        for reader in 0..n {
            for (key, list) in committed_reads(reader) {
                reads_of.entry(*key).or_default().push((reader, list.as_slice()));
            }
        }
        let mut data: Vec<BTreeSet<(usize, Edge)>> = vec![BTreeSet::new(); n];
        let mut add = |from: usize, to: usize, edge: Edge| {
            if from != to {
                data[from].insert((to, edge));
            }
        };
        let mut appenders: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for (index, transaction) in transactions.iter().enumerate().filter(|&(index, _)| effective[index]) {
            for &(key, _) in &transaction.ops.appends {
                appenders.entry(key).or_default().push(index);
            }
        }
        let keys: BTreeSet<Key> = reads_of.keys().chain(appenders.keys()).copied().collect();
        for key in keys {
            let reads = reads_of.get(&key).map_or(&[][..], Vec::as_slice);
            let &(longest_reader, order) = reads.iter().max_by_key(|(_, list)| list.len()).unwrap_or(&(0, &[]));
            for &(reader, list) in reads {
                if order[..list.len()] != *list {
                    return Err(Anomaly::Incompatible { first: longest_reader, second: reader, key });
                }
            }
            let writer = |value: &Value| writers[&(key, *value)];
            for pair in order.windows(2) {
                add(writer(&pair[0]), writer(&pair[1]), Edge::WriteWrite(key));
            }
            for &(reader, list) in reads {
                if let Some(last) = list.last() {
                    add(writer(last), reader, Edge::WriteRead(key));
                }
                if let Some(next) = order.get(list.len()) {
                    add(reader, writer(next), Edge::ReadWrite(key));
                }
            }
            // Appends that took effect but no read saw: after every read of the key, and
            // after the last append seen.
            let observed: BTreeSet<usize> = order.iter().map(writer).collect();
            for &unseen in appenders.get(&key).into_iter().flatten().filter(|index| !observed.contains(index)) {
                for &(reader, _) in reads {
                    add(reader, unseen, Edge::ReadWrite(key));
                }
                if let Some(last) = order.last() {
                    add(writer(last), unseen, Edge::WriteWrite(key));
                }
            }
        }
        let realtime = realtime_edges(transactions, &effective);
        Ok(Graph { data: data.into_iter().map(|edges| edges.into_iter().collect()).collect(), realtime })
    }

    /// A shortest cycle through the first strongly connected component that has one, with
    /// or without the real-time edges.
    fn cycle(&self, with_realtime: bool) -> Option<Vec<(usize, Edge)>> {
        let edges = |node: usize| {
            let realtime = if with_realtime { &self.realtime[node][..] } else { &[] };
            self.data[node].iter().chain(realtime.iter()).copied()
        };
        let components = strongly_connected(self.data.len(), &edges);
        let component = components.iter().find(|component| component.len() > 1)?;
        let members: BTreeSet<usize> = component.iter().copied().collect();
        // The shortest cycle through each member, the shortest of them (ties: lowest index).
        members.iter().filter_map(|&start| shortest_cycle(start, &members, &edges)).min_by_key(Vec::len)
    }
}

/// Real-time order among the transactions that took effect, as a transitive reduction of
/// sorts (Elle's realtime graph): each transaction gets an edge from every transaction on
/// the frontier when it is invoked, those that completed with no later-completed
/// transaction after them.
fn realtime_edges(transactions: &[Transaction], effective: &[bool]) -> Vec<Vec<(usize, Edge)>> {
    // (time, 0 for an invocation and 1 for a completion, index): at one instant,
    // invocations first, so that equal instants count as concurrent.
    let mut moments: Vec<(Time, u8, usize)> = Vec::new();
    for (index, transaction) in transactions.iter().enumerate().filter(|&(index, _)| effective[index]) {
        moments.push((transaction.invoked, 0, index));
        if let Some(completed) = transaction.completed {
            moments.push((completed, 1, index));
        }
    }
    moments.sort_unstable();
    let mut edges = vec![Vec::new(); transactions.len()];
    let mut frontier: BTreeSet<usize> = BTreeSet::new();
    let mut before: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (_, completion, index) in moments {
        if completion == 0 {
            for &earlier in &frontier {
                edges[earlier].push((index, Edge::RealTime));
            }
            before.insert(index, frontier.clone());
        } else {
            for earlier in before.remove(&index).unwrap_or_default() {
                frontier.remove(&earlier);
            }
            frontier.insert(index);
        }
    }
    edges
}

/// Tarjan's strongly connected components, iteratively; components in the order found.
fn strongly_connected<I: Iterator<Item = (usize, Edge)>>(n: usize, edges: &impl Fn(usize) -> I) -> Vec<Vec<usize>> {
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, its successors, how many of them are done)
        let mut work: Vec<(usize, Vec<usize>, usize)> = Vec::new();
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        work.push((root, edges(root).map(|(to, _)| to).collect(), 0));
        while let Some((node, successors, done)) = work.last_mut() {
            let node = *node;
            if let Some(&to) = successors.get(*done) {
                *done += 1;
                if index[to] == usize::MAX {
                    index[to] = next;
                    low[to] = next;
                    next += 1;
                    stack.push(to);
                    on_stack[to] = true;
                    work.push((to, edges(to).map(|(to, _)| to).collect(), 0));
                } else if on_stack[to] {
                    low[node] = low[node].min(index[to]);
                }
                continue;
            }
            work.pop();
            if let Some((parent, ..)) = work.last() {
                low[*parent] = low[*parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                component.sort_unstable();
                components.push(component);
            }
        }
    }
    components
}

/// The shortest cycle from `start` back to it within `members` (breadth first), as
/// (transaction, edge out of it) steps.
fn shortest_cycle<I: Iterator<Item = (usize, Edge)>>(
    start: usize,
    members: &BTreeSet<usize>,
    edges: &impl Fn(usize) -> I,
) -> Option<Vec<(usize, Edge)>> {
    let mut came_from: BTreeMap<usize, (usize, Edge)> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for (to, edge) in edges(node) {
            if !members.contains(&to) {
                continue;
            }
            if to == start {
                let mut steps = vec![(node, edge)];
                let mut at = node;
                while at != start {
                    let (previous, edge) = came_from[&at];
                    steps.push((previous, edge));
                    at = previous;
                }
                steps.reverse();
                return Some(steps);
            }
            if to != start && !came_from.contains_key(&to) {
                came_from.insert(to, (node, edge));
                queue.push_back(to);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction of client `client` from `invoked` to `completed` ms.
    fn txn(
        client: NodeId,
        invoked: u64,
        completed: u64,
        reads: &[(Key, &[Value])],
        appends: &[(Key, Value)],
    ) -> Transaction {
        Transaction {
            client,
            invoked: invoked * MILLISECOND,
            completed: Some(completed * MILLISECOND),
            status: Status::Committed,
            ops: Transactional {
                reads: reads.iter().map(|&(key, list)| (key, list.to_vec())).collect(),
                appends: appends.to_vec(),
            },
        }
    }

    fn with(status: Status, mut transaction: Transaction) -> Transaction {
        transaction.status = status;
        if status == Status::Unknown {
            transaction.completed = None;
        }
        transaction
    }

    fn name(transactions: &[Transaction]) -> Option<String> {
        analyse(transactions).map(|anomaly| anomaly.name())
    }

    #[test]
    fn a_serial_history_with_concurrent_readers_passes() {
        let history = [
            txn(10, 0, 5, &[(1, &[])], &[(1, 1), (2, 1)]),
            txn(11, 6, 9, &[(1, &[1]), (2, &[1])], &[(2, 2)]),
            // Concurrent with the second: it may be ordered before it.
            txn(12, 7, 12, &[(2, &[1, 2])], &[(1, 3)]),
            txn(10, 13, 20, &[(1, &[1, 3]), (2, &[1, 2])], &[]),
        ];
        assert_eq!(name(&history), None);
    }

    #[test]
    fn read_skew_is_a_g_single_cycle_naming_both_transactions() {
        // T2 appends to keys 1 and 2; T3 sees its append on key 2 but not on key 1.
        let history = [
            txn(10, 0, 5, &[], &[(1, 1), (2, 1)]),
            txn(11, 10, 20, &[], &[(1, 2), (2, 2)]),
            txn(12, 10, 20, &[(1, &[1]), (2, &[1, 2])], &[]),
        ];
        let anomaly = analyse(&history).expect("not serializable");
        assert_eq!(anomaly.name(), "G-single");
        let (at, violation) = anomaly.violation(&history, 10);
        assert_eq!(at, 20 * MILLISECOND);
        assert!(
            violation.detail.contains("transaction 2 (client 1") && violation.detail.contains("client 2"),
            "{}",
            violation.detail
        );
        assert!(
            violation.detail.contains("rw on key 1") && violation.detail.contains("wr on key 2"),
            "{}",
            violation.detail
        );
    }

    #[test]
    fn two_writers_in_opposite_orders_on_two_keys_are_a_write_cycle() {
        let history = [
            txn(10, 0, 10, &[], &[(1, 1), (2, 1)]),
            txn(11, 0, 10, &[], &[(1, 2), (2, 2)]),
            txn(12, 20, 30, &[(1, &[1, 2]), (2, &[2, 1])], &[]),
        ];
        assert_eq!(name(&history).as_deref(), Some("G0"));
    }

    #[test]
    fn a_lost_append_shows_against_real_time_only() {
        // Transaction 1 committed before transaction 2 began, yet 2 does not see its append:
        // serializable (2 before 1), but not strictly.
        let history = [txn(10, 0, 5, &[], &[(1, 1)]), txn(11, 10, 15, &[(1, &[])], &[])];
        assert_eq!(name(&history).as_deref(), Some("G-single-realtime"));
        let concurrent = [txn(10, 0, 12, &[], &[(1, 1)]), txn(11, 10, 15, &[(1, &[])], &[])];
        assert_eq!(name(&concurrent), None);
    }

    #[test]
    fn anomalies_in_single_reads_are_named() {
        let garbage = [txn(10, 0, 5, &[(1, &[7])], &[])];
        assert_eq!(name(&garbage).as_deref(), Some("garbage-read"));
        let aborted = [with(Status::Aborted, txn(10, 0, 5, &[], &[(1, 1)])), txn(11, 6, 9, &[(1, &[1])], &[])];
        assert_eq!(name(&aborted).as_deref(), Some("G1a"));
        let twice = [txn(10, 0, 5, &[], &[(1, 1)]), txn(11, 6, 9, &[(1, &[1, 1])], &[])];
        assert_eq!(name(&twice).as_deref(), Some("duplicate-elements"));
        let diverging = [
            txn(10, 0, 5, &[], &[(1, 1)]),
            txn(11, 0, 5, &[], &[(1, 2)]),
            txn(12, 6, 9, &[(1, &[1])], &[]),
            txn(13, 6, 9, &[(1, &[2])], &[]),
        ];
        assert_eq!(name(&diverging).as_deref(), Some("incompatible-order"));
    }

    #[test]
    fn an_unknown_transaction_counts_once_a_read_saw_it() {
        // Unseen, it may never have happened; seen, its other append must be there too.
        let unseen = [with(Status::Unknown, txn(10, 0, 5, &[], &[(1, 1), (2, 1)])), txn(11, 10, 15, &[(2, &[])], &[])];
        assert_eq!(name(&unseen), None);
        let seen_half = [
            with(Status::Unknown, txn(10, 0, 5, &[], &[(1, 1), (2, 1)])),
            txn(11, 10, 15, &[(1, &[1]), (2, &[])], &[]),
        ];
        assert_eq!(name(&seen_half).as_deref(), Some("G-single"));
    }
}
