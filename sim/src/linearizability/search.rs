//! The search for a linearization of one key's history: Wing and Gong's depth-first search
//! ("Testing and verifying concurrent objects", 1993) with Lowe's cache of visited
//! configurations ("Testing for linearizability", 2017, section 3), as Porcupine and
//! Knossos implement it, made cheaper in four ways.
//!
//! The history is a doubly linked list of the call and return events of its completed
//! operations, in time order. A configuration is the set of operations linearized so far
//! and the model state they lead to. From a configuration, the candidates are the calls
//! before the first return event still in the list (an operation whose return is passed
//! must already be linearized); the search tries them in list order, then the open
//! operations invoked before that return. Linearizing one lifts its events out of the list
//! (Knuth's dancing links, O(1) each way) and starts over from the front; meeting the
//! return event with no candidate left undoes the latest choice. Each configuration is
//! explored at most once: the cache remembers every one visited.
//!
//! 1. States are numbered once ([`Interner`]), and the transitions asked lately (state,
//!    class of equal operations) are remembered ([`Memo`]), after Knossos's memoised
//!    models: the cache then hashes and compares numbers, never states, and the model does
//!    not run again on the questions the search keeps asking.
//! 2. The cache key holds only what can differ ("definitely linearized" operations are
//!    dropped from it): every completed operation invoked before the first unlinearized
//!    one (the front) is linearized, and a linearized one after the front was invoked
//!    before the front returned. So the key is the state, the front, and a window of bits
//!    from the front to the last operation invoked before the front's return: a few words
//!    however long the history, where a full bit set per configuration made memory grow
//!    with the square of the history (a sequential history of 200k operations took 5 GB).
//! 3. Open operations (Jepsen's `:info`) constrain nothing, so a configuration that used a
//!    subset of the open operations of another, with the same state and completed
//!    operations, can do everything the other can: the other is pruned (dominance). Open
//!    operations are tried after the completed candidates, so the configurations that use
//!    fewer of them are the ones met first. Of equal open operations (same input and
//!    output) only the earliest invoked unused one is a candidate, and an open operation
//!    that would leave the state as it is never runs: both only remove choices that
//!    another choice covers.
//! 4. Every allocation is counted against a memory limit ([`Meter`]), and the search is
//!    resumable: it runs for a number of steps and pauses, so that the caller can share
//!    steps and memory between keys deterministically and stop at the first violation.
//!
//! A step is one attempt to linearize a candidate.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::model::{Model, ModelOp};
use super::table::{self, FxHasher, Inserted, Interner, Memo, Meter, WordSets, REJECTED};

/// What a search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// A linearization exists.
    Linearizable,
    /// No order of the operations is consistent with both their times and the model.
    Violation,
    /// The step budget ran out first.
    OutOfSteps,
    /// The memory limit was reached first.
    OutOfMemory,
}

/// Open operations of one class (equal input and output), in call order; the first
/// `used` of them are linearized.
#[derive(Debug)]
struct OpenClass {
    ops: Vec<u32>,
    used: u32,
}

/// Where the scan of a configuration is: at an event of the list, at skipping the
/// operation invoked at an event, or at an open class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    Event(usize),
    Skip(usize),
    Open(u32),
}

/// A choice made: the operation linearized, the state before it, and where the scan of
/// the configuration before it resumes.
#[derive(Clone, Copy, Debug)]
struct Frame {
    op: u32,
    before: u32,
    resume: Position,
    first_return: usize,
}

/// One key's search, resumable.
pub(crate) struct Search<'a, M: Model> {
    model: &'a M,
    ops: &'a [ModelOp<M>],
    list: EventList,
    /// Per operation: its rank among completed operations in call order, or `NO_RANK`.
    done_rank: Vec<u32>,
    /// Per completed rank: one past the last rank invoked before that operation returns.
    window_end: Vec<u32>,
    /// Per operation: its class, and for open ones their class among `open`.
    class: Vec<u32>,
    /// An operation of each class, to step the model with.
    class_op: Vec<u32>,
    open_class: Vec<u32>,
    /// Per open operation: its bit in `open_bits`.
    open_bit: Vec<u32>,
    open: Vec<OpenClass>,
    /// Per operation: whether it may also be skipped (left out within its interval); empty
    /// when none may.
    skippable: Vec<bool>,
    meter: Meter,
    states: Interner<M::State>,
    memo: Memo,
    cache: WordSets,
    /// Per configuration in `cache` with open operations: the newest of its open sets.
    dominance: OpenSets,
    done_bits: Bits,
    open_bits: Bits,
    front: u32,
    returns_left: usize,
    state: u32,
    frames: Vec<Frame>,
    position: Position,
    first_return: usize,
    /// The latest first return event of any configuration visited.
    furthest: Option<usize>,
    /// The states of the configurations that reached `furthest` (a few of them).
    furthest_states: Vec<u32>,
    /// Whether more states than those reached it.
    furthest_more: bool,
    key: Vec<u64>,
    steps: u64,
    found: Option<Found>,
}

const NO_RANK: u32 = u32::MAX;
/// States a violation's explanation lists at most.
pub(crate) const STUCK_STATES: usize = 8;
/// Open sets compared against each new configuration at most (newest first).
const DOMINANCE_CHECKS: usize = 32;

impl<'a, M: Model> Search<'a, M> {
    /// A search of `ops` whose tables may take `memory` bytes (changed by [`Search::run`]).
    pub(crate) fn new(model: &'a M, ops: &'a [ModelOp<M>], memory: usize) -> Self {
        let mut list = EventList::new(ops);
        let mut done_rank = vec![NO_RANK; ops.len()];
        let mut window_end = Vec::new();
        let mut calls_seen = 0u32;
        for event in &list.events {
            let op = &ops[event.op];
            match (event.is_return, op.ret.is_some()) {
                (false, true) => {
                    done_rank[event.op] = calls_seen;
                    calls_seen += 1;
                }
                (true, _) => window_end.push((done_rank[event.op], calls_seen)),
                (false, false) => {}
            }
        }
        window_end.sort_unstable();
        let window_end: Vec<u32> = window_end.into_iter().map(|(_, end)| end).collect();
        let (class, class_op) = classes(ops);
        let mut open: Vec<OpenClass> = Vec::new();
        let mut open_class = vec![NO_RANK; ops.len()];
        let mut open_bit = vec![NO_RANK; ops.len()];
        let mut open_of_class: HashMap<u32, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
        let mut open_count = 0;
        let open_ops: Vec<usize> =
            list.events.iter().filter(|event| !event.is_return && ops[event.op].ret.is_none()).map(|e| e.op).collect();
        for op in open_ops {
            let index = *open_of_class.entry(class[op]).or_insert_with(|| {
                open.push(OpenClass { ops: Vec::new(), used: 0 });
                open.len() as u32 - 1
            });
            open[index as usize].ops.push(op as u32);
            open_class[op] = index;
            open_bit[op] = open_count;
            open_count += 1;
            list.unlink(list.call_event[op]);
        }
        let returns_left = window_end.len();
        let mut search = Search {
            model,
            ops,
            done_rank,
            window_end,
            class,
            class_op,
            open_class,
            open_bit,
            open,
            skippable: Vec::new(),
            meter: Meter { used: 0, limit: memory },
            states: Interner::new(),
            memo: Memo::new(ops.len() * 2),
            cache: WordSets::default(),
            dominance: OpenSets::default(),
            done_bits: Bits::new(returns_left),
            open_bits: Bits::new(open_count as usize),
            front: 0,
            returns_left,
            state: 0,
            frames: Vec::new(),
            position: Position::Event(list.first()),
            first_return: NONE,
            furthest: None,
            furthest_states: Vec::new(),
            furthest_more: false,
            key: Vec::new(),
            steps: 0,
            found: None,
            list,
        };
        search.meter.used = search.fixed_bytes();
        let init = search.model.init();
        let heap = search.model.heap_size(&init);
        if search.meter.used > memory || search.states.intern(init, heap, &mut search.meter).is_none() {
            search.found = Some(Found::OutOfMemory);
        } else if search.returns_left == 0 {
            search.found = Some(Found::Linearizable);
        }
        search
    }

    /// Lets the completed operations marked in `skippable` also be left out: each may take
    /// effect within its interval, or not at all (`minimise.rs` relaxes operations so).
    pub(crate) fn with_skippable(mut self, skippable: Vec<bool>) -> Self {
        self.skippable = skippable;
        self
    }

    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Bytes the search holds.
    pub(crate) fn bytes(&self) -> usize {
        self.meter.used
    }

    /// Runs until the search has taken `steps` steps in all or is decided, holding at most
    /// `memory` bytes; `None` if it paused undecided.
    pub(crate) fn run(&mut self, steps: u64, memory: usize) -> Option<Found> {
        self.meter.limit = memory;
        while self.found.is_none() {
            if self.steps >= steps {
                return None;
            }
            self.advance();
        }
        self.found
    }

    /// After a violation: the instant of the latest return that some configuration reached
    /// with every operation that returned before it linearized. No configuration linearizes
    /// that operation too, and the search visited every one that matters, so the history up
    /// to that instant is already not linearizable (`minimise.rs` starts there).
    pub(crate) fn furthest_return(&self) -> Option<u64> {
        let event = self.list.events.get(self.furthest?)?;
        self.ops[event.op].ret
    }

    /// After a violation: the operation whose return no configuration got past, and the
    /// states of the configurations that reached it (every operation that returned before
    /// it linearized), at most [`STUCK_STATES`] of them, and whether there were more.
    pub(crate) fn stuck(&self) -> Option<(usize, Vec<&M::State>, bool)> {
        let event = self.list.events.get(self.furthest?)?;
        let states = self.furthest_states.iter().map(|&state| self.states.get(state)).collect();
        Some((event.op, states, self.furthest_more))
    }

    /// Notes that a configuration's first return is `event`.
    fn reached(&mut self, event: usize) {
        if self.furthest.is_none_or(|furthest| event > furthest) {
            self.furthest = Some(event);
            self.furthest_states.clear();
            self.furthest_more = false;
        }
        if self.furthest != Some(event) || self.furthest_states.contains(&self.state) {
            return;
        }
        if self.furthest_states.len() < STUCK_STATES {
            self.furthest_states.push(self.state);
        } else {
            self.furthest_more = true;
        }
    }

    /// The operations linearized so far, in order (all of them once linearizable).
    pub(crate) fn linearization(&self) -> Vec<usize> {
        self.frames.iter().map(|frame| frame.op as usize).collect()
    }

    /// One step: scans to the next candidate and tries it, undoing choices on the way.
    fn advance(&mut self) {
        loop {
            let candidate = match self.position {
                Position::Event(event) => match self.list.events.get(event) {
                    Some(&Event { is_return: true, .. }) | None => {
                        self.first_return = event;
                        self.reached(event);
                        self.position = Position::Open(0);
                        continue;
                    }
                    Some(&Event { op, .. }) if self.skippable.get(op).copied().unwrap_or(false) => {
                        (op as u32, false, Position::Skip(event))
                    }
                    Some(&Event { op, .. }) => (op as u32, false, Position::Event(self.list.next[event])),
                },
                Position::Skip(event) => {
                    (self.list.events[event].op as u32, true, Position::Event(self.list.next[event]))
                }
                Position::Open(class) => match self.open.get(class as usize) {
                    None => {
                        if self.backtrack() {
                            continue;
                        }
                        return;
                    }
                    Some(open) => {
                        let head = open.ops.get(open.used as usize).copied();
                        let invoked = head.is_some_and(|op| self.list.call_event[op as usize] < self.first_return);
                        match head {
                            Some(op) if invoked => (op, false, Position::Open(class + 1)),
                            _ => {
                                self.position = Position::Open(class + 1);
                                continue;
                            }
                        }
                    }
                },
            };
            self.steps += 1;
            let (op, skip, resume) = candidate;
            self.try_op(op, skip, resume);
            return;
        }
    }

    /// Tries to linearize `op` now (or to leave it out, if `skip`); `resume` is where this
    /// configuration's scan goes on.
    fn try_op(&mut self, op: u32, skip: bool, resume: Position) {
        self.position = resume;
        let next = if skip { Some(self.state) } else { self.transition(self.class[op as usize]) };
        let Some(next) = next else { return };
        let is_open = self.ops[op as usize].ret.is_none();
        if next == REJECTED || (is_open && next == self.state) {
            return;
        }
        self.mark(op, true);
        if self.returns_left == 0 {
            self.frames.push(Frame { op, before: self.state, resume, first_return: self.first_return });
            self.found = Some(Found::Linearizable);
            return;
        }
        match self.visit(next) {
            Visit::New => {}
            Visit::Seen => {
                self.mark(op, false);
                return;
            }
            Visit::Full => {
                self.found = Some(Found::OutOfMemory);
                return;
            }
        }
        if !table::push(
            &mut self.frames,
            Frame { op, before: self.state, resume, first_return: self.first_return },
            &mut self.meter,
        ) {
            self.found = Some(Found::OutOfMemory);
            return;
        }
        self.state = next;
        if !is_open {
            self.list.lift(op as usize);
        }
        self.position = Position::Event(self.list.first());
    }

    /// Undoes the latest choice; false when there is none (a violation) or memory ran out.
    fn backtrack(&mut self) -> bool {
        let Some(frame) = self.frames.pop() else {
            self.found = Some(Found::Violation);
            return false;
        };
        self.mark(frame.op, false);
        if self.ops[frame.op as usize].ret.is_some() {
            self.list.unlift(frame.op as usize);
        }
        self.state = frame.before;
        self.position = frame.resume;
        self.first_return = frame.first_return;
        true
    }

    /// The state after an operation of `class` runs from the current state (`REJECTED` if
    /// the model rejects it); `None` if memory ran out.
    fn transition(&mut self, class: u32) -> Option<u32> {
        if let Some(next) = self.memo.find(self.state, class) {
            return Some(next);
        }
        let op = &self.ops[self.class_op[class as usize] as usize];
        let before = self.states.get(self.state);
        let next = match self.model.step(before, &op.input, &op.output) {
            // A read leaves the state as it is: no need to look it up.
            Some(after) if after == *before => Some(self.state),
            Some(after) => {
                let heap = self.model.heap_size(&after);
                self.states.intern(after, heap, &mut self.meter)
            }
            None => Some(REJECTED),
        };
        match next {
            Some(next) => {
                self.memo.insert(self.state, class, next);
                Some(next)
            }
            None => {
                self.found = Some(Found::OutOfMemory);
                None
            }
        }
    }

    /// Marks `op` linearized or not.
    fn mark(&mut self, op: u32, linearized: bool) {
        let rank = self.done_rank[op as usize];
        if rank != NO_RANK {
            if linearized {
                self.done_bits.set(rank as usize);
                self.returns_left -= 1;
                if rank == self.front {
                    self.front = self.done_bits.next_clear(rank as usize) as u32;
                }
            } else {
                self.done_bits.clear(rank as usize);
                self.returns_left += 1;
                self.front = self.front.min(rank);
            }
            return;
        }
        let class = &mut self.open[self.open_class[op as usize] as usize];
        let bit = self.open_bit[op as usize] as usize;
        if linearized {
            class.used += 1;
            self.open_bits.set(bit);
        } else {
            class.used -= 1;
            self.open_bits.clear(bit);
        }
    }

    /// Records the configuration (the current linearized sets, state `state`), unless it,
    /// or one that dominates it, was visited.
    fn visit(&mut self, state: u32) -> Visit {
        self.key.clear();
        self.key.push(u64::from(state) << 32 | u64::from(self.front));
        let end = self.window_end[self.front as usize] as usize;
        self.done_bits.extract(self.front as usize + 1, end, &mut self.key);
        let id = match self.cache.insert(&self.key, &mut self.meter) {
            Inserted::Full => return Visit::Full,
            Inserted::Present(_) if self.open.is_empty() => return Visit::Seen,
            Inserted::Present(id) | Inserted::New(id) => id,
        };
        if self.open.is_empty() {
            return Visit::New;
        }
        let open = self.open_bits.trimmed();
        if self.dominance.dominated(id, open) {
            return Visit::Seen;
        }
        if self.dominance.insert(id, open, &mut self.meter) {
            Visit::New
        } else {
            Visit::Full
        }
    }

    /// What `new` allocated that does not grow.
    fn fixed_bytes(&self) -> usize {
        let ops = self.ops.len();
        let words = self.done_bits.0.len() + self.open_bits.0.len();
        let tables = self.list.bytes() + self.memo.bytes();
        tables + ops * 4 * 5 + self.window_end.len() * 4 + self.class_op.len() * 4 + words * 8
    }
}

enum Visit {
    New,
    Seen,
    Full,
}

/// The classes of equal operations (input and output), numbered in order of appearance,
/// and one operation of each.
fn classes<I: Eq + std::hash::Hash, O: Eq + std::hash::Hash>(ops: &[super::model::Op<I, O>]) -> (Vec<u32>, Vec<u32>) {
    // A lookup only: the numbering follows the operations, not the map's order.
    let mut numbers: HashMap<(&I, &O), u32, BuildHasherDefault<FxHasher>> = HashMap::default();
    let mut class_op = Vec::new();
    let class = ops
        .iter()
        .enumerate()
        .map(|(index, op)| {
            *numbers.entry((&op.input, &op.output)).or_insert_with(|| {
                class_op.push(index as u32);
                class_op.len() as u32 - 1
            })
        })
        .collect();
    (class, class_op)
}

/// For each configuration with open operations, the open sets it was visited with, as
/// linked lists (newest first) in one arena.
#[derive(Debug, Default)]
struct OpenSets {
    /// Per configuration id: the newest entry plus one (0: none).
    heads: Vec<u32>,
    /// Per entry: the next older entry plus one, and where its words start.
    next: Vec<u32>,
    starts: Vec<u32>,
    words: Vec<u64>,
}

impl OpenSets {
    fn entry(&self, entry: usize) -> &[u64] {
        let end = self.starts.get(entry + 1).map_or(self.words.len(), |&end| end as usize);
        &self.words[self.starts[entry] as usize..end]
    }

    /// Whether configuration `id` was visited with a subset of `open`.
    fn dominated(&self, id: u32, open: &[u64]) -> bool {
        let mut entry = self.heads.get(id as usize).copied().unwrap_or(0);
        for _ in 0..DOMINANCE_CHECKS {
            let Some(index) = entry.checked_sub(1) else { return false };
            let used = self.entry(index as usize);
            let subset = used.len() <= open.len() && used.iter().zip(open).all(|(used, open)| used & !open == 0);
            if subset {
                return true;
            }
            entry = self.next[index as usize];
        }
        false
    }

    fn insert(&mut self, id: u32, open: &[u64], meter: &mut Meter) -> bool {
        while self.heads.len() <= id as usize {
            if !table::push(&mut self.heads, 0, meter) {
                return false;
            }
        }
        let entry = self.next.len() as u32;
        let fits = u32::try_from(self.words.len() + open.len()).is_ok();
        if !fits
            || !table::grow(&mut self.words, open.len(), meter)
            || !table::push(&mut self.next, self.heads[id as usize], meter)
            || !table::push(&mut self.starts, self.words.len() as u32, meter)
        {
            return false;
        }
        self.words.extend_from_slice(open);
        self.heads[id as usize] = entry + 1;
        true
    }
}

/// A fixed-size bit set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Bits(vec![0; len.div_ceil(64) + 1])
    }

    fn set(&mut self, index: usize) {
        self.0[index / 64] |= 1 << (index % 64);
    }

    fn clear(&mut self, index: usize) {
        self.0[index / 64] &= !(1 << (index % 64));
    }

    /// The first clear bit at or after `from`.
    fn next_clear(&self, from: usize) -> usize {
        let mut word = from / 64;
        let mut bits = !self.0[word] & (u64::MAX << (from % 64));
        while bits == 0 {
            word += 1;
            bits = !self.0.get(word).copied().unwrap_or(0);
        }
        word * 64 + bits.trailing_zeros() as usize
    }

    /// Appends bits `from..to` to `out`, 64 to a word.
    fn extract(&self, from: usize, to: usize, out: &mut Vec<u64>) {
        let mut at = from;
        while at < to {
            let (word, shift) = (at / 64, at % 64);
            let mut bits = self.0[word] >> shift;
            if shift != 0 {
                bits |= self.0.get(word + 1).copied().unwrap_or(0) << (64 - shift);
            }
            let len = (to - at).min(64);
            if len < 64 {
                bits &= (1 << len) - 1;
            }
            out.push(bits);
            at += 64;
        }
    }

    /// The words up to the last one with a bit set.
    fn trimmed(&self) -> &[u64] {
        let len = self.0.iter().rposition(|&word| word != 0).map_or(0, |last| last + 1);
        &self.0[..len]
    }
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
    fn new<I, O>(ops: &[super::model::Op<I, O>]) -> Self {
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

    fn bytes(&self) -> usize {
        self.events.len() * (std::mem::size_of::<Event>() + 16) + self.call_event.len() * 24
    }

    fn first(&self) -> usize {
        self.next[self.events.len()]
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
