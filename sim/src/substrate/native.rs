//! The native substrate: a single-threaded discrete-event simulator.
//!
//! One priority queue of timestamped events, ordered by (time, sequence number), so that
//! events of one instant run in the order they were scheduled. The heap holds only those
//! keys and a slot number; the events themselves (a message can be large) wait in a slab
//! of reused slots, so that sifting the heap moves 24 bytes an entry, not a whole event. Time passes by popping the
//! earliest event and handing it to the world; a message is an event at its arrival time;
//! a crash, a restart and a pause need nothing of the queue, since the world tells stale
//! timers, syncs and messages apart by generation and incarnation. The run ends when the
//! queue runs dry or the next event is past the end time.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
    queue: BinaryHeap<Key>,
    /// The events in the queue, by slot; `None` in a free slot.
    slots: Vec<Option<Event<P>>>,
    free: Vec<u32>,
    seq: u64,
}

impl<P: Protocol> Default for Native<P> {
    fn default() -> Self {
        Native { queue: BinaryHeap::new(), slots: Vec::new(), free: Vec::new(), seq: 0 }
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
        self.queue.push(Key { time, seq: self.seq, slot });
    }

    /// The earliest event and its time.
    fn pop(&mut self) -> Option<(Time, Event<P>)> {
        let Key { time, slot, .. } = self.queue.pop()?;
        self.free.push(slot);
        let event = self.slots[slot as usize].take().expect("a queued slot holds its event");
        Some((time, event))
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

/// An event's place in the queue: its time, its sequence number (unique), and its slot.
struct Key {
    time: Time,
    seq: u64,
    slot: u32,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}
