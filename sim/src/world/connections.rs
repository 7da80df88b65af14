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

use protocols::node::NodeId;

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
