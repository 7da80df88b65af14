//! The ABD atomic register (Attiya, Bar-Noy and Dolev, "Sharing Memory Robustly in
//! Message-Passing Systems", JACM 1995), in its multi-writer form (Lynch and Shvartsman,
//! "Robust emulation of shared memory using dynamic quorum-acknowledged broadcasts", FTCS
//! 1997), one register per key.
//!
//! Every server is a replica and, for the clients that send to it, a coordinator. Each
//! operation takes two phases, each a round trip to every replica that ends with replies
//! from a majority (the coordinator's own replica answers locally, so a fault-free operation
//! costs 4(N-1) messages besides the client's request and reply):
//!
//! - A write first sends `Query` and takes the highest version among a majority's
//!   `QueryAck`s; its own version is one higher, with the coordinator's id as the writer
//!   (the coordinator stores it in its own replica first, so two writes it coordinates
//!   never share a version). Then it sends `Update` with the new version and value, and
//!   answers once a majority acknowledged.
//! - A read sends `Query` too and takes the newest version a majority reports; before it
//!   answers, it writes that version back with `Update` to a majority (ABD section 3), so
//!   every later read finds a version at least as new: without the write-back, one read may
//!   return a new value and a later one an older value (a new/old inversion).
//!
//! Any two majorities share a replica, which gives linearizability under any delays and
//! with any minority of servers down (ABD, theorem 3.1). A replica stores a version only if
//! it is newer than the one it holds, and makes it durable before acknowledging, so a
//! restarted replica still holds what it acknowledged. Lost messages are sent again to the
//! replicas that did not reply, every timeout, a bounded number of times. A coordinator
//! notes each update it takes on durably, so a client's request sent again never runs twice
//! ([`super::sessions`]).
//!
//! Variant `no-write-back`: reads skip the second phase and answer at once, the mistake
//! ABD's write-back exists to prevent.

mod server;
#[cfg(test)]
mod tests;

pub use server::AbdServer;

use crate::kv::Command;
use crate::node::{
    Checker, Message, Milestone, NoSettings, NodeId, Protocol, Setup, Time, Variant, Violation, CORRECT,
};
use crate::service::{Key, Value};

use super::checker::{RegisterChecker, RegisterObservation};
use super::client::{Answer, ClientEvent, RegisterClient, RegisterProtocol};
use super::register::RegisterService;
use super::registers::Version;

pub const NO_WRITE_BACK: &str = "no-write-back";

/// The protocol marker type.
#[derive(Debug)]
pub struct Abd;

/// A coordinator's name for one of its operations: unique per incarnation of the
/// coordinator (a random base drawn when it starts, then counted up).
pub type OperationId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AbdMessage {
    Request(Command),
    Answer(Answer),
    /// Phase one: what version and value of `key` do you hold?
    Query {
        operation: OperationId,
        key: Key,
    },
    QueryAck {
        operation: OperationId,
        key: Key,
        version: Version,
        value: Option<Value>,
    },
    /// Phase two: store `value` at `version` unless you hold a newer version.
    Update {
        operation: OperationId,
        key: Key,
        version: Version,
        value: Option<Value>,
    },
    UpdateAck {
        operation: OperationId,
    },
}

impl Message for AbdMessage {
    fn kind(&self) -> &'static str {
        match self {
            AbdMessage::Request(_) => "Request",
            AbdMessage::Answer(_) => "Reply",
            AbdMessage::Query { .. } => "Query",
            AbdMessage::QueryAck { .. } => "QueryAck",
            AbdMessage::Update { .. } => "Update",
            AbdMessage::UpdateAck { .. } => "UpdateAck",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AbdTimer {
    /// The coordination for this client's request waits for replies: send again.
    Retry(NodeId),
    /// A client's request got no answer in time.
    Client,
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbdRecord {
    /// The replica stores `value` at `version` for `key`.
    Stored { key: Key, version: Version, value: Option<Value> },
    /// The coordinator took on this update of `client`.
    Took { client: NodeId, sequence: u64 },
}

impl Protocol for Abd {
    const NAME: &'static str = "abd";
    const ABOUT: &'static str = "the ABD atomic register, multi-writer (Attiya, Bar-Noy and Dolev, JACM 1995): \
                                  two round trips to a majority for reads and for writes";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "reads write back the newest version before answering (ABD section 3)" },
        Variant {
            name: NO_WRITE_BACK,
            about: "reads answer after the query phase without writing back: a later read may see an older value",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "value-stored", about: "a replica stored a newer version" },
        Milestone { name: "read-wrote-back", about: "a read wrote the newest version back before answering" },
        Milestone { name: "write-acknowledged", about: "a client's write was acknowledged" },
        Milestone { name: "read-returned", about: "a client's read returned" },
    ];

    type Service = RegisterService;
    type Settings = NoSettings;
    type Message = AbdMessage;
    type Timer = AbdTimer;
    type Record = AbdRecord;
    type Observation = RegisterObservation;
    type Server = AbdServer;
    type Client = RegisterClient<Abd>;
    type Checker = RegisterChecker;

    fn server(setup: &Setup, id: NodeId) -> AbdServer {
        AbdServer::new(setup, id, &[])
    }

    fn recover(setup: &Setup, id: NodeId, records: &[AbdRecord]) -> AbdServer {
        AbdServer::new(setup, id, records)
    }

    fn client(setup: &Setup, id: NodeId) -> RegisterClient<Abd> {
        RegisterClient::new(setup, id)
    }

    fn checker(_setup: &Setup) -> RegisterChecker {
        RegisterChecker::default()
    }

    fn milestone(observation: &RegisterObservation) -> Option<&'static str> {
        observation.milestone()
    }
}

impl RegisterProtocol for Abd {
    fn request(command: Command) -> AbdMessage {
        AbdMessage::Request(command)
    }

    fn answer(message: AbdMessage) -> Option<Answer> {
        match message {
            AbdMessage::Answer(answer) => Some(answer),
            _ => None,
        }
    }

    fn client_timer() -> AbdTimer {
        AbdTimer::Client
    }

    fn client_event(event: ClientEvent) -> RegisterObservation {
        RegisterObservation::Client(event)
    }

    /// Any server coordinates: the client's own.
    fn update_target(setup: &Setup, client: NodeId, _key: Key) -> NodeId {
        client % setup.servers
    }
}

impl Checker<Abd> for RegisterChecker {
    fn observe(&mut self, at: Time, node: NodeId, observation: &RegisterObservation) -> Result<(), Violation> {
        RegisterChecker::observe(self, at, node, observation)
    }

    fn figures(&self, _end: Time) -> Vec<(&'static str, f64)> {
        RegisterChecker::figures(self)
    }
}
