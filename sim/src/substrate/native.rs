//! The native substrate: a single-threaded discrete-event simulator.
//!
//! One priority queue of timestamped events, ordered by (time, sequence number), so that
//! events of one instant run in the order they were scheduled. Time passes by popping the
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
    while let Some(Entry { time, event, .. }) = world.substrate.queue.pop() {
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
    queue: BinaryHeap<Entry<P>>,
    seq: u64,
}

impl<P: Protocol> Default for Native<P> {
    fn default() -> Self {
        Native { queue: BinaryHeap::new(), seq: 0 }
    }
}

impl<P: Protocol> Native<P> {
    fn push(&mut self, time: Time, event: Event<P>) {
        self.seq += 1;
        self.queue.push(Entry { time, seq: self.seq, event });
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

struct Entry<P: Protocol> {
    time: Time,
    seq: u64,
    event: Event<P>,
}

impl<P: Protocol> PartialEq for Entry<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<P: Protocol> Eq for Entry<P> {}
impl<P: Protocol> PartialOrd for Entry<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P: Protocol> Ord for Entry<P> {
    /// Reversed, so that the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}
