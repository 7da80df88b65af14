//! Raft as a library: what a protocol provides to run [`RaftServer`]s replicating its own
//! [`StateMachine`], and what Raft is told about the run.
//!
//! A host protocol keeps its own message, timer, record and observation types (an enum
//! with a case for Raft's, say) and tells Raft how its types carry Raft's, both ways. Its
//! `Server` implementation hands Raft's inputs to the `RaftServer` (`start`, `recover`,
//! `handle_message`, `handle_timer`, `handle_synced`, `handle_membership`, `check`), and its
//! checker can embed a [`RaftChecker`](super::RaftChecker), which reads Raft's servers,
//! records and observations back through the same conversions. The catalogued `raft`
//! protocol is the host whose types are Raft's own, replicating the kv
//! [`Store`](crate::kv::Store).

use super::{Flaw, RaftMessage, RaftObservation, RaftRecord, RaftServer, StateMachine};
use crate::node::{Protocol, SetupOf};

/// A protocol whose servers are (or contain) Raft servers replicating `Machine`.
pub trait RaftHost: Protocol {
    type Machine: StateMachine;

    /// Raft's options in this run.
    fn options(setup: &SetupOf<Self>) -> Options;

    /// The protocol's message carrying a Raft message.
    fn message(message: RaftMessage<Self::Machine>) -> Self::Message;
    /// The protocol's timer carrying a Raft server's timer.
    fn timer(timer: ServerTimer) -> Self::Timer;
    /// The protocol's durable record carrying a Raft record.
    fn record(record: RaftRecord<Self::Machine>) -> Self::Record;
    /// The protocol's observation carrying a Raft observation.
    fn observation(observation: RaftObservation<Self::Machine>) -> Self::Observation;

    /// The Raft record `record` carries, if any.
    fn as_record(record: &Self::Record) -> Option<&RaftRecord<Self::Machine>>;
    /// The Raft observation `observation` carries, if any.
    fn as_observation(observation: &Self::Observation) -> Option<&RaftObservation<Self::Machine>>;
    /// The Raft server `server` is or holds, if any.
    fn as_server(server: &Self::Server) -> Option<&RaftServer<Self>>;
}

/// A Raft server's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerTimer {
    /// Followers and candidates: no leader was heard from (section 5.2).
    Election,
    /// The leader: time to send heartbeats.
    Heartbeat,
}

/// What Raft is told about a run beyond the [`Setup`](crate::node::Setup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub(super) flaw: Flaw,
}

impl Options {
    /// Correct Raft.
    pub fn correct() -> Options {
        Options { flaw: Flaw::None }
    }
}
