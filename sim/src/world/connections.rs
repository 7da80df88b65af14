//! FIFO links as connections (`[network] fifo = true`): what TCP gives a protocol such as Zab,
//! the same on every substrate.
//!
//! Every pair of processes talks over one connection at a time, both ways. The world numbers
//! the messages of each direction of a connection as they are sent, and hands a message to
//! its receiver only after every earlier one of that direction: an arrival ahead of its turn
//! (a shorter latency draw, madsim's mailboxes) is held here until the ones before it arrive.
//! A connection delivers each message at most once (the network makes no duplicates on FIFO
//! links).
//!
//! A connection breaks when one of its messages is lost (the loss draw), is blocked by a
//! link fault (when it is sent, or when it arrives), or is sent to a receiver that is down,
//! and when either end crashes or leaves (if the connection carried a message: a pair that
//! never talked has no connection to break). At a break, every message still on the
//! connection, both ways, is dropped (fate `connection-broken`), and each end that is up is
//! told, once, with an `on_disconnected(peer)` input at that instant (a paused end is told
//! when it resumes). Until an end has been told, what it sends to its peer is dropped too;
//! once told, its next message to the peer opens the next connection, and the peer receives
//! that connection's messages only after it has been told of the break. So the messages a
//! process receives from a peer are, connection by connection, a prefix of what the peer
//! sent on it, in order, and the process learns of every gap before anything that follows it.

use std::collections::BTreeMap;

use protocols::node::{NodeId, Protocol};

use super::{ClientInput, Event, Life, Place, ServerInput, Substrate, World};
use crate::record::Fate;

/// Where a message travels: its connection's number and its place in its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Link {
    pub number: u32,
    pub sequence: u64,
}

/// A message held because an earlier one of its connection has not arrived yet, or because
/// its receiver has not been told that the connection before this one broke.
#[derive(Debug)]
pub struct Held<M> {
    pub sequence: u64,
    /// Its id in the recorder.
    pub id: u64,
    pub message: M,
}

/// What to do with a message that arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// It is next: deliver it (then ask `ready` for what it frees).
    Deliver,
    /// It waits here for the ones before it.
    Held,
    /// It was sent on a connection that has broken since.
    Stale,
}

/// One pair of processes, `low < high`: direction 0 is low -> high, 1 is high -> low.
#[derive(Debug)]
struct Pair<M> {
    /// The current connection (the one to open next, after a break).
    number: u32,
    /// Whether the current connection carried a message.
    used: bool,
    /// Per end (0 low, 1 high): whether it knows of the latest break (or nothing broke).
    told: [bool; 2],
    next_sent: [u64; 2],
    next_delivered: [u64; 2],
    held: [Vec<Held<M>>; 2],
}

impl<M> Default for Pair<M> {
    fn default() -> Self {
        Pair {
            number: 0,
            used: false,
            told: [true, true],
            next_sent: [0, 0],
            next_delivered: [0, 0],
            held: [Vec::new(), Vec::new()],
        }
    }
}

/// Every pair's connection, from the pair's first message on.
#[derive(Debug)]
pub struct Connections<M> {
    pairs: BTreeMap<(NodeId, NodeId), Pair<M>>,
}

/// What a break leaves to do: the held messages it dropped, and the ends to tell.
#[derive(Debug)]
pub struct Broken<M> {
    pub dropped: Vec<Held<M>>,
    /// (end, peer) for each end to tell.
    pub tell: Vec<(NodeId, NodeId)>,
}

impl<M> Connections<M> {
    pub fn new() -> Connections<M> {
        Connections { pairs: BTreeMap::new() }
    }

    /// `from` sends to `to`: the message's link, or `None` if `from` has not been told that
    /// their connection broke (the message is dropped).
    pub fn send(&mut self, from: NodeId, to: NodeId) -> Option<Link> {
        let (pair, direction) = self.pair(from, to);
        if !pair.told[direction] {
            return None;
        }
        pair.used = true;
        let sequence = pair.next_sent[direction];
        pair.next_sent[direction] += 1;
        Some(Link { number: pair.number, sequence })
    }

    /// A message from `from` on `link` reached `to`.
    pub fn arrive(&mut self, from: NodeId, to: NodeId, link: Link, id: u64, message: M) -> (Arrival, Option<M>) {
        let (pair, direction) = self.pair(from, to);
        if link.number != pair.number {
            return (Arrival::Stale, Some(message));
        }
        let receiver_told = pair.told[1 - direction];
        if receiver_told && link.sequence == pair.next_delivered[direction] {
            pair.next_delivered[direction] += 1;
            return (Arrival::Deliver, Some(message));
        }
        pair.held[direction].push(Held { sequence: link.sequence, id, message });
        (Arrival::Held, None)
    }

    /// The held message from `from` to `to` whose turn it is now, if any.
    pub fn ready(&mut self, from: NodeId, to: NodeId) -> Option<Held<M>> {
        let (pair, direction) = self.pair(from, to);
        if !pair.told[1 - direction] {
            return None;
        }
        let next = pair.next_delivered[direction];
        let position = pair.held[direction].iter().position(|held| held.sequence == next)?;
        pair.next_delivered[direction] += 1;
        Some(pair.held[direction].swap_remove(position))
    }

    /// Whether a message from `from` on `link` would still be on its connection.
    pub fn is_current(&self, from: NodeId, to: NodeId, link: Link) -> bool {
        self.pairs.get(&key(from, to)).is_some_and(|pair| pair.number == link.number)
    }

    /// The connection between `a` and `b` breaks; `up` says which processes are up (those
    /// are told; an end that is down starts afresh and needs no telling).
    pub fn break_pair(&mut self, a: NodeId, b: NodeId, up: impl Fn(NodeId) -> bool) -> Broken<M> {
        let (low, high) = key(a, b);
        let pair = self.pairs.entry((low, high)).or_default();
        let mut tell = Vec::new();
        for (end, (node, peer)) in [(low, high), (high, low)].into_iter().enumerate() {
            if !up(node) {
                pair.told[end] = true;
            } else if pair.told[end] {
                pair.told[end] = false;
                tell.push((node, peer));
            }
        }
        let dropped = pair.held.iter_mut().flat_map(std::mem::take).collect();
        pair.number += 1;
        pair.used = false;
        pair.next_sent = [0, 0];
        pair.next_delivered = [0, 0];
        Broken { dropped, tell }
    }

    /// Every used connection of `node`, which crashed or left, breaks; its peers that are up
    /// are told.
    pub fn crash(&mut self, node: NodeId, up: impl Fn(NodeId) -> bool) -> Broken<M> {
        let mut broken = Broken { dropped: Vec::new(), tell: Vec::new() };
        let peers: Vec<NodeId> = (self.pairs.keys())
            .filter_map(|&(low, high)| (low == node).then_some(high).or((high == node).then_some(low)))
            .collect();
        for peer in peers {
            let pair = self.pairs.get_mut(&key(node, peer)).expect("a known pair");
            // The crashed end starts afresh whatever happens to the connection.
            pair.told[usize::from(node > peer)] = true;
            if !pair.used && pair.held.iter().all(Vec::is_empty) {
                continue;
            }
            let mut more = self.break_pair(node, peer, |process| process != node && up(process));
            broken.dropped.append(&mut more.dropped);
            broken.tell.append(&mut more.tell);
        }
        broken
    }

    /// `node` was told that its connection to `peer` broke.
    pub fn told(&mut self, node: NodeId, peer: NodeId) {
        let (pair, direction) = self.pair(node, peer);
        pair.told[direction] = true;
    }

    fn pair(&mut self, from: NodeId, to: NodeId) -> (&mut Pair<M>, usize) {
        (self.pairs.entry(key(from, to)).or_default(), usize::from(from > to))
    }
}

impl<M> Default for Connections<M> {
    fn default() -> Self {
        Connections::new()
    }
}

/// The world's side of the connections: arrivals in turn, breaks, and telling the ends.
impl<P: Protocol, S: Substrate<P>> World<P, S> {
    /// A message that arrived on a FIFO link is handed over in its turn, held until the
    /// ones before it arrive, or dropped if its connection broke since it was sent.
    pub(super) fn arrive_on_link(&mut self, to: NodeId, from: NodeId, message: P::Message, id: u64, link: Link) {
        let Some(connections) = &mut self.connections else { return self.deliver(to, from, message, id) };
        match connections.arrive(from, to, link, id, message) {
            (Arrival::Deliver, Some(message)) => {
                self.deliver(to, from, message, id);
                self.deliver_ready(from, to);
            }
            (Arrival::Stale, _) => self.recorder.fate(id, Fate::Broken),
            _ => {}
        }
    }

    /// Delivers the held messages from `from` to `to` whose turn has come, in order.
    fn deliver_ready(&mut self, from: NodeId, to: NodeId) {
        while let Some(held) = self.connections.as_mut().and_then(|connections| connections.ready(from, to)) {
            if !self.is_up(to) {
                return;
            }
            self.deliver(to, from, held.message, held.id);
        }
    }

    pub(super) fn is_current(&self, from: NodeId, to: NodeId, link: Link) -> bool {
        self.connections.as_ref().is_some_and(|connections| connections.is_current(from, to, link))
    }

    /// The connection between `a` and `b` breaks: what was held on it is dropped, and each
    /// end that is up is told.
    pub(super) fn break_connection(&mut self, a: NodeId, b: NodeId) {
        let Some(connections) = &mut self.connections else { return };
        let processes = &self.processes;
        let broken =
            connections.break_pair(a, b, |node| matches!(processes[node as usize].life, Life::Up | Life::Leaving));
        self.settle_break(broken);
    }

    /// Every connection of `node`, which crashed or left, breaks.
    pub(super) fn break_connections_of(&mut self, node: NodeId) {
        let Some(connections) = &mut self.connections else { return };
        let processes = &self.processes;
        let broken = connections.crash(node, |peer| matches!(processes[peer as usize].life, Life::Up | Life::Leaving));
        self.settle_break(broken);
    }

    /// Drops what a break dropped and tells the ends to tell.
    fn settle_break(&mut self, broken: Broken<P::Message>) {
        for held in broken.dropped {
            self.recorder.fate(held.id, Fate::Broken);
        }
        for (node, peer) in broken.tell {
            let incarnation = self.processes[node as usize].incarnation;
            let event = Event::Disconnected { node, peer, incarnation };
            self.substrate.schedule(self.now, self.now, Place::Process(node), event);
        }
    }

    /// `node` learns that its connection to `peer` broke; what `peer` sent on the next
    /// connection, held until now, follows.
    pub(super) fn on_disconnected(&mut self, node: NodeId, peer: NodeId, incarnation: u32) {
        if self.processes[node as usize].incarnation != incarnation || !self.is_up(node) {
            return;
        }
        if let Some(connections) = &mut self.connections {
            connections.told(node, peer);
        }
        self.recorder.event(self.now, Some(node), || format!("connection to {peer} broke"));
        if self.setup.is_client(node) {
            self.recorder.trace.input(self.now, node, 7, &peer);
            self.run_client(node, ClientInput::Disconnected(peer));
        } else {
            self.dispatch(node, ServerInput::Disconnected(peer));
        }
        self.deliver_ready(peer, node);
    }
}

/// A pair's key: its lower id first.
fn key(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(_: NodeId) -> bool {
        true
    }

    #[test]
    fn an_early_arrival_waits_for_the_ones_before_it() {
        let mut links = Connections::<&str>::new();
        let (first, second, third) = (links.send(0, 1).unwrap(), links.send(0, 1).unwrap(), links.send(0, 1).unwrap());
        assert_eq!(links.arrive(0, 1, third, 3, "c"), (Arrival::Held, None));
        assert_eq!(links.arrive(0, 1, second, 2, "b"), (Arrival::Held, None));
        assert!(links.ready(0, 1).is_none(), "the first has not arrived");
        assert_eq!(links.arrive(0, 1, first, 1, "a"), (Arrival::Deliver, Some("a")));
        assert_eq!(links.ready(0, 1).map(|held| held.message), Some("b"));
        assert_eq!(links.ready(0, 1).map(|held| held.message), Some("c"));
        assert!(links.ready(0, 1).is_none());
        let back = links.send(1, 0).unwrap();
        assert_eq!(back.sequence, 0, "each direction counts its own messages");
    }

    #[test]
    fn a_break_drops_what_was_on_the_connection_and_the_sender_waits_to_be_told() {
        let mut links = Connections::<&str>::new();
        let (first, second) = (links.send(0, 1).unwrap(), links.send(0, 1).unwrap());
        assert_eq!(links.arrive(0, 1, second, 2, "b").0, Arrival::Held);
        let broken = links.break_pair(0, 1, up);
        assert_eq!(broken.dropped.iter().map(|held| held.id).collect::<Vec<_>>(), vec![2]);
        assert_eq!(broken.tell, vec![(0, 1), (1, 0)]);
        assert_eq!(links.arrive(0, 1, first, 1, "a").0, Arrival::Stale, "its connection broke");
        assert_eq!(links.send(0, 1), None, "not told yet: dropped");
        links.told(0, 1);
        let fresh = links.send(0, 1).unwrap();
        assert_eq!(fresh, Link { number: 1, sequence: 0 });
        assert_eq!(links.arrive(0, 1, fresh, 3, "c").0, Arrival::Held, "the receiver was not told yet");
        links.told(1, 0);
        assert_eq!(links.ready(0, 1).map(|held| held.message), Some("c"));
        assert!(links.break_pair(0, 1, up).tell.len() == 2, "a second break tells both again");
    }

    #[test]
    fn a_crash_breaks_only_the_connections_that_carried_something_and_tells_the_peers_that_are_up() {
        let mut links = Connections::<&str>::new();
        links.send(0, 1).unwrap();
        links.send(2, 0).unwrap();
        let broken = links.crash(0, |node| node != 2);
        assert_eq!(broken.tell, vec![(1, 0)], "server 2 is down too, and 3 never talked to 0");
        assert!(links.send(0, 1).is_some(), "the crashed end starts afresh");
        assert!(links.send(2, 0).is_some(), "so does an end that was down");
        assert!(links.send(1, 0).is_none(), "the peer that is up waits to be told");
    }
}
