//! What Raft replicates: a deterministic state machine of the user's choosing
//! ([`StateMachine`]), behind the client sessions of thesis section 6.3 ([`Replicated`]).
//!
//! Raft itself never looks inside an operation. A client sends a [`Request`] (its id, a
//! per-client sequence number and the operation); the leader logs an update and applies it
//! once committed, or answers a query through ReadIndex without logging it; the client
//! gets a [`Reply`]. Every application of an update comes with its [`Stamp`]: the log
//! index it was committed at (unique and increasing along the log: a fencing token), the
//! term of its entry, and the time on the monotonic clock of the leader that appended it
//! (the same on every replica, so a machine can measure leases with it deterministically).

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::hash::Hash;

use super::{Index, Term};
use crate::kv::Sequence;
use crate::node::{NodeId, Time};

/// A deterministic state machine replicated by Raft: every replica applies the same updates
/// in the same order, so it must depend on nothing but its state, the operation and the
/// stamp.
pub trait StateMachine: Clone + Debug + Default + Eq + Hash + 'static {
    /// What a client asks of the machine.
    type Operation: Clone + Debug + Eq + Hash + Display + 'static;
    /// What an operation returns to its client.
    type Output: Clone + Debug + Eq + Hash + 'static;

    /// Whether `operation` only reads: the leader answers it through ReadIndex (thesis
    /// 6.4) with [`StateMachine::query`], and it never enters the log.
    fn is_query(operation: &Self::Operation) -> bool;

    /// Applies an update committed at `stamp.index`. Called once per committed update on
    /// every replica, in log order (a replica restored from a snapshot starts after it).
    fn apply(&mut self, stamp: &Stamp, operation: &Self::Operation) -> Self::Output;

    /// Answers a query on the leader from the state after `stamp.index`, the read index;
    /// `stamp.time` is the leader's monotonic clock when it answers.
    fn query(&self, stamp: &Stamp, operation: &Self::Operation) -> Self::Output;
}

/// Where and when an operation takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The client that asked.
    pub client: NodeId,
    /// An update's log index (a fencing token: no other update gets it, later ones get
    /// more); a query's read index.
    pub index: Index,
    /// The term of the update's entry; the leader's term for a query.
    pub term: Term,
    /// The monotonic clock of the leader that appended the update, when it did; for a query,
    /// the leader's clock when it answers. Monotonic clocks of different servers drift apart
    /// by at most `Setup::drift_bound_ppm`, so times of different leaders compare within it.
    pub time: Time,
}

/// A client's operation, as it travels to the leader and sits in the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request<O> {
    pub client: NodeId,
    /// One per operation of the client, the same for every retry of it.
    pub sequence: Sequence,
    pub operation: O,
}

impl<O: Display> Display for Request<O> {
    /// `write 0 3 (process 7, request 2)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (process {}, request {})", self.operation, self.client, self.sequence)
    }
}

/// A server's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reply<O> {
    /// The request with this sequence number returned `output`.
    Done { sequence: Sequence, output: O },
    /// This server does not lead; `leader` is the leader it knows of (thesis 6.2). The
    /// request may still take effect (a deposed leader may have logged it): retry it.
    NotLeader { sequence: Sequence, leader: Option<NodeId> },
}

/// The replicated state: the machine and, per client, the latest update applied and its
/// output, so that an update retried after a lost reply takes effect once and both
/// attempts get the same output (thesis 6.3). One session per client suffices because a
/// client has one operation outstanding at a time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replicated<M: StateMachine> {
    machine: M,
    sessions: BTreeMap<NodeId, Session<M::Output>>,
}

impl<M: StateMachine> Default for Replicated<M> {
    fn default() -> Self {
        Replicated { machine: M::default(), sessions: BTreeMap::new() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Session<O> {
    sequence: Sequence,
    output: O,
}

impl<M: StateMachine> Replicated<M> {
    /// Applies `request` once: its output, the remembered output when the same update was
    /// applied before, or `None` for an update older than its client's latest, which has no
    /// effect and needs no answer.
    pub fn apply(&mut self, stamp: &Stamp, request: &Request<M::Operation>) -> Option<M::Output> {
        if let Some(session) = self.sessions.get(&request.client) {
            if request.sequence < session.sequence {
                return None;
            }
            if request.sequence == session.sequence {
                return Some(session.output.clone());
            }
        }
        let output = self.machine.apply(stamp, &request.operation);
        let session = Session { sequence: request.sequence, output: output.clone() };
        self.sessions.insert(request.client, session);
        Some(output)
    }

    /// The sequence number and output of the latest update applied for `client`.
    pub fn session(&self, client: NodeId) -> Option<(Sequence, &M::Output)> {
        self.sessions.get(&client).map(|session| (session.sequence, &session.output))
    }

    pub fn machine(&self) -> &M {
        &self.machine
    }
}
