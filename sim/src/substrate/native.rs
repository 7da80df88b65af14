//! The native substrate: a single-threaded discrete-event simulator.
//!
//! One priority queue of timestamped events, ordered by (time, sequence number), so that
//! events of one instant run in the order they were scheduled. The queue is a 4-ary heap
//! (half the levels of a binary heap, and a parent's four children share a cache line) of
//! those two numbers, packed into one 128-bit key, and a slot number; the events themselves
//! (a message can be large) wait in a slab of reused slots, so that sifting the heap moves
//! 32 bytes an entry, not a whole event. Time passes by popping the
//! earliest event and handing it to the world; a message is an event at its arrival time;
//! a crash, a restart and a pause need nothing of the queue, since the world tells stale
//! timers, syncs and messages apart by generation and incarnation. The run ends when the
//! queue runs dry or the next event is past the end time.

use protocols::node::{NodeId, Protocol, Time};

use crate::scenario::Scenario;
use crate::world::{Event, Place, RunOptions, Simulation, Substrate, World};

/// Runs `scenario` with protocol `P` on the native substrate.
pub fn simulate<P: Protocol>(scenario: &Scenario, options: RunOptions) -> Simulation<P> {
    let mut world = World::<P, Native<P>>::new(scenario, options, Native::default());
    world.start();
    while let Some((time, event)) = world.substrate.pop() {
        if time > world.end() {
            world.now = world.end();
            break;
        }
        if !world.step(time, event) {
            break;
        }
    }
    world.finish()
}

/// The event queue.
pub struct Native<P: Protocol> {
    queue: Heap,
    /// The events in the queue, by slot; `None` in a free slot.
    slots: Vec<Option<Event<P>>>,
    free: Vec<u32>,
    seq: u64,
}

impl<P: Protocol> Default for Native<P> {
    fn default() -> Self {
        Native { queue: Heap::default(), slots: Vec::new(), free: Vec::new(), seq: 0 }
    }
}

impl<P: Protocol> Native<P> {
    fn push(&mut self, time: Time, event: Event<P>) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        self.queue.push(Key { order: (u128::from(time) << 64) | u128::from(self.seq), slot });
    }

    /// The earliest event and its time.
    fn pop(&mut self) -> Option<(Time, Event<P>)> {
        let Key { order, slot } = self.queue.pop()?;
        self.free.push(slot);
        let event = self.slots[slot as usize].take().expect("a queued slot holds its event");
        Some(((order >> 64) as Time, event))
    }
}

impl<P: Protocol> Substrate<P> for Native<P> {
    fn boot(&mut self, node: NodeId) {
        self.push(0, Event::Start(node));
    }

    fn schedule(&mut self, _now: Time, at: Time, _place: Place, event: Event<P>) {
        self.push(at, event);
    }

    fn transmit(&mut self, _now: Time, at: Time, _from: NodeId, event: Event<P>) {
        self.push(at, event);
    }

    fn crashed(&mut self, _node: NodeId) {}

    fn restart(&mut self, now: Time, node: NodeId) {
        self.push(now, Event::Recover(node));
    }
}

/// An event's place in the queue: its time (high half) and sequence number (low half,
/// unique), and its slot.
#[derive(Clone, Copy)]
struct Key {
    order: u128,
    slot: u32,
}

/// A 4-ary min-heap of keys by `order`.
#[derive(Default)]
struct Heap {
    keys: Vec<Key>,
}

impl Heap {
    fn push(&mut self, key: Key) {
        let mut hole = self.keys.len();
        self.keys.push(key);
        while hole > 0 {
            let parent = (hole - 1) / 4;
            if self.keys[parent].order <= key.order {
                break;
            }
            self.keys[hole] = self.keys[parent];
            hole = parent;
        }
        self.keys[hole] = key;
    }

    /// The key of least order.
    fn pop(&mut self) -> Option<Key> {
        let last = self.keys.pop()?;
        let Some(&top) = self.keys.first() else { return Some(last) };
        let len = self.keys.len();
        let mut hole = 0;
        loop {
            let first = 4 * hole + 1;
            if first >= len {
                break;
            }
            let least = if first + 4 <= len {
                // Four children: a tournament the compiler turns into conditional moves, as
                // which child is least is as good as random.
                let keys = &self.keys[first..first + 4];
                let left = if keys[1].order < keys[0].order { 1 } else { 0 };
                let right = if keys[3].order < keys[2].order { 3 } else { 2 };
                first + if keys[right].order < keys[left].order { right } else { left }
            } else {
                (first + 1..len).fold(first, |least, child| {
                    if self.keys[child].order < self.keys[least].order {
                        child
                    } else {
                        least
                    }
                })
            };
            if self.keys[least].order >= last.order {
                break;
            }
            self.keys[hole] = self.keys[least];
            hole = least;
        }
        self.keys[hole] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_heap_pops_in_order_of_time_then_sequence() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut heap, mut pushed, mut popped) = (Heap::default(), Vec::new(), Vec::new());
        for seq in 0..2000u64 {
            let order = (u128::from(rng.gen_range(0..50u64)) << 64) | u128::from(seq);
            heap.push(Key { order, slot: seq as u32 });
            pushed.push(order);
            if rng.gen_bool(0.4) {
                popped.extend(heap.pop().map(|key| key.order));
            }
        }
        popped.extend(std::iter::from_fn(|| heap.pop().map(|key| key.order)));
        assert_eq!(popped.len(), pushed.len());
        // Between pops the heap gave its least key: check against a sorted replay.
        let mut replay = std::collections::BTreeSet::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut expected = Vec::new();
        for seq in 0..2000u64 {
            let order = (u128::from(rng.gen_range(0..50u64)) << 64) | u128::from(seq);
            replay.insert(order);
            if rng.gen_bool(0.4) {
                expected.extend(replay.pop_first());
            }
        }
        expected.extend(std::iter::from_fn(|| replay.pop_first()));
        assert_eq!(popped, expected);
    }
}
