//! The replicated key-value store that every replicated-log protocol (Raft, Multi-Paxos)
//! serves, and the client state machine they share.
//!
//! - [`Store`] is the deterministic state machine replicas apply in log order. Per key the
//!   state is a list of values, starting empty: `Read` returns it, `Write` replaces it with
//!   `[value]`, `Append` pushes a value, and `Cas` replaces `[from]` with `[to]` and
//!   answers `CasFailed` on any other state. [`KvModel`] models exactly these semantics.
//! - Commands carry the client's id and a per-client sequence number, and the store keeps
//!   one session per client with the sequence and outcome of its latest command, so a
//!   command applied twice (a retry after a lost reply) takes effect once and both
//!   applications report the same outcome (Raft thesis section 6.3, "Implementing
//!   linearizable semantics").
//! - [`KvClient`] is the client process: one operation at a time, sent to its guess of the
//!   leader, redirected by `NotLeader` hints, retried with randomised back-off and given up
//!   after a bounded number of attempts (thesis section 6.2, "Routing requests to the
//!   leader"). It works with any protocol that implements [`KvProtocol`], which converts
//!   between the protocol's own message and timer types and the client's payloads.

mod client;
mod service;
mod store;

pub use client::{ClientTimer, KvClient, KvProtocol, ATTEMPTS_MAX};
pub use service::{KvModel, KvOperation, KvParams, KvReply, KvService, KvWorkload};
pub use store::{Command, Store};

use serde::{Deserialize, Serialize};

use crate::node::NodeId;
use crate::service::Outcome;

/// A client's sequence number: one per operation, the same for every retry of it.
pub type Sequence = u64;

/// A server's answer to a client's [`Command`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Response {
    /// The command with this sequence number ended with `outcome`.
    Done { sequence: Sequence, outcome: Outcome<KvReply> },
    /// This server does not lead; `leader` is the leader it knows of, if any. The command
    /// may still take effect (a deposed leader may have put it in its log), so the client
    /// must retry rather than conclude that it failed.
    NotLeader { sequence: Sequence, leader: Option<NodeId> },
}

impl Response {
    /// The sequence number of the command answered.
    pub fn sequence(&self) -> Sequence {
        match self {
            Response::Done { sequence, .. } | Response::NotLeader { sequence, .. } => *sequence,
        }
    }
}
