//! The search for a linearization of one key's history: Wing and Gong's algorithm ("Testing
//! and verifying concurrent objects", 1993) with Lowe's cache of visited configurations
//! ("Testing for linearizability", 2017, section 3), as Porcupine implements it.
//!
//! The history is a doubly linked list of call and return events in time order. The
//! search walks it from the front: at a call, it tries to run that operation next on the
//! model; if the model accepts the output and the configuration (set of operations run so
//! far, model state) is new, it lifts the operation's two events out of the list and starts
//! again from the front. Meeting a return means some operation that had to run before this
//! instant could not, so the search undoes its latest choice. Lifting and relinking are
//! O(1) (Knuth's dancing links), and the cache makes the search polynomial on most
//! histories that real systems produce.
//!
//! Open operations have no return event: nothing forces them to run, so the search
//! succeeds when no return event is left. Two prunings keep them cheap, both sound because
//! an open operation constrains nothing: one whose step would leave the state as it was is
//! not run (omitting it leaves strictly more choices), and of identical open operations
//! (same input and output) the earlier invoked runs first (either can stand in for the
//! other once both are invoked).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::model::{Model, ModelOp, Op};

/// What a search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// A linearization exists.
    Linearizable,
    /// No order of the operations is consistent with both their times and the model.
    Violation,
    /// The budget ran out first.
    Unknown,
}

/// A limit on the number of model steps, shared by several searches.
#[derive(Clone, Debug)]
pub(crate) struct Budget {
    limit: u64,
    spent: u64,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Self {
        Budget { limit, spent: 0 }
    }

    /// Takes one step from the budget; false when none is left.
    fn spend(&mut self) -> bool {
        if self.spent >= self.limit {
            return false;
        }
        self.spent += 1;
        true
    }

    pub(crate) fn spent(&self) -> u64 {
        self.spent
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.limit - self.spent
    }

    /// A budget of at most `cap` steps out of this one's remainder; give the steps it
    /// spends back with [`Budget::charge`].
    pub(crate) fn part(&self, cap: u64) -> Budget {
        Budget::new(cap.min(self.remaining()))
    }

    pub(crate) fn charge(&mut self, part: &Budget) {
        self.spent += part.spent;
    }
}

/// Searches for a linearization of `ops` (one key's operations) under `model`.
pub(crate) fn search<M: Model>(model: &M, ops: &[ModelOp<M>], budget: &mut Budget) -> Found {
    let mut list = EventList::new(ops);
    let twins = earlier_twins(ops, &list);
    let mut state = model.init();
    let mut linearized = Bitset::new(ops.len());
    let mut visited: HashSet<(Bitset, M::State), BuildHasherDefault<FxHasher>> = HashSet::default();
    // The operations run so far, each with the state before it.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut cursor = list.first();
    while let Some(&Event { op, is_return }) = list.events.get(cursor) {
        if is_return {
            let Some((undone, before)) = stack.pop() else {
                return Found::Violation;
            };
            state = before;
            linearized.clear(undone);
            list.unlift(undone);
            cursor = list.next_after_call(undone);
            continue;
        }
        if !budget.spend() {
            return Found::Unknown;
        }
        let twin_waiting = twins[op].is_some_and(|twin| !linearized.contains(twin));
        if let Some(after) = useful_step(model, &ops[op], &state).filter(|_| !twin_waiting) {
            linearized.set(op);
            // Looked up by moving the set in and out, so that a hit copies nothing.
            let configuration = (std::mem::take(&mut linearized), after);
            let seen = visited.contains(&configuration);
            let after;
            (linearized, after) = configuration;
            if !seen {
                visited.insert((linearized.clone(), after.clone()));
                stack.push((op, std::mem::replace(&mut state, after)));
                list.lift(op);
                cursor = list.first();
                continue;
            }
            linearized.clear(op);
        }
        cursor = list.next[cursor];
    }
    Found::Linearizable
}

/// The state after running `op` now, unless the model rejects it or it is an open
/// operation that would change nothing.
fn useful_step<M: Model>(model: &M, op: &ModelOp<M>, state: &M::State) -> Option<M::State> {
    let after = model.step(state, &op.input, &op.output)?;
    (op.ret.is_some() || after != *state).then_some(after)
}

/// For each open operation, the open operation with the same input and output invoked
/// just before it, if any.
fn earlier_twins<I: Eq + Hash, O: Eq + Hash>(ops: &[Op<I, O>], list: &EventList) -> Vec<Option<usize>> {
    let mut twins = vec![None; ops.len()];
    // A lookup only: the result does not depend on the map's iteration order.
    let mut latest: HashMap<(&I, &O), usize> = HashMap::new();
    for event in list.events.iter().filter(|event| !event.is_return) {
        let op = &ops[event.op];
        if op.ret.is_none() {
            twins[event.op] = latest.insert((&op.input, &op.output), event.op);
        }
    }
    twins
}

/// No event: the end of the list.
const NONE: usize = usize::MAX;

#[derive(Clone, Copy, Debug)]
struct Event {
    op: usize,
    is_return: bool,
}

/// The events in time order (calls before returns at equal times, so that operations
/// touching at an instant count as concurrent), linked so that an operation's events can
/// be lifted out and put back in O(1). Index `events.len()` is the head sentinel.
struct EventList {
    events: Vec<Event>,
    next: Vec<usize>,
    prev: Vec<usize>,
    call_event: Vec<usize>,
    return_event: Vec<Option<usize>>,
}

impl EventList {
    fn new<I, O>(ops: &[Op<I, O>]) -> Self {
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (index, op) in ops.iter().enumerate() {
            order.push((op.call, false, index));
            order.extend(op.ret.map(|ret| (ret, true, index)));
        }
        order.sort_unstable();
        let events: Vec<Event> = order.iter().map(|&(_, is_return, op)| Event { op, is_return }).collect();
        let mut call_event = vec![0; ops.len()];
        let mut return_event = vec![None; ops.len()];
        for (index, event) in events.iter().enumerate() {
            if event.is_return {
                return_event[event.op] = Some(index);
            } else {
                call_event[event.op] = index;
            }
        }
        let head = events.len();
        let link = |event: usize| if event < head { event } else { NONE };
        let next = (0..=head).map(|e| if e == head { link(0) } else { link(e + 1) });
        let prev = (0..=head).map(|e| match e {
            0 => head,
            _ if e == head => NONE,
            _ => e - 1,
        });
        EventList { next: next.collect(), prev: prev.collect(), events, call_event, return_event }
    }

    fn first(&self) -> usize {
        self.next[self.events.len()]
    }

    fn next_after_call(&self, op: usize) -> usize {
        self.next[self.call_event[op]]
    }

    fn lift(&mut self, op: usize) {
        self.unlink(self.call_event[op]);
        if let Some(ret) = self.return_event[op] {
            self.unlink(ret);
        }
    }

    /// Undoes `lift(op)`; lifts must be undone in reverse order.
    fn unlift(&mut self, op: usize) {
        if let Some(ret) = self.return_event[op] {
            self.relink(ret);
        }
        self.relink(self.call_event[op]);
    }

    fn unlink(&mut self, event: usize) {
        let (before, after) = (self.prev[event], self.next[event]);
        self.next[before] = after;
        if after != NONE {
            self.prev[after] = before;
        }
    }

    fn relink(&mut self, event: usize) {
        let (before, after) = (self.prev[event], self.next[event]);
        self.next[before] = event;
        if after != NONE {
            self.prev[after] = event;
        }
    }
}

/// The set of operations run so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(len: usize) -> Self {
        Bitset(vec![0; len.div_ceil(64)])
    }

    fn set(&mut self, index: usize) {
        self.0[index / 64] |= 1 << (index % 64);
    }

    fn clear(&mut self, index: usize) {
        self.0[index / 64] &= !(1 << (index % 64));
    }

    fn contains(&self, index: usize) -> bool {
        self.0[index / 64] & (1 << (index % 64)) != 0
    }
}

/// The multiply-rotate hash of rustc's `FxHasher` with a final mix: faster than SipHash
/// on the small keys of the cache, which needs no protection from chosen collisions.
#[derive(Clone, Copy, Debug, Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        for &byte in chunks.remainder() {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    /// Mixes high bits into low ones (splitmix64's finaliser): the hash table picks
    /// buckets by the low bits, which a multiply alone leaves poorly mixed.
    fn finish(&self) -> u64 {
        let mut hash = self.0;
        hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        hash ^ (hash >> 31)
    }
}
