//! Quorum replication: a register store after Gifford's weighted voting ("Weighted Voting
//! for Replicated Data", SOSP 1979), with Dynamo's options (DeCandia et al., "Dynamo:
//! Amazon's Highly Available Key-value Store", SOSP 2007, sections 4.5 to 4.7): read repair,
//! sloppy quorums and hinted handoff.
//!
//! Every key is held by the same `replicas` servers (the preference list), each with some
//! votes ([`config`]). A version is a pair (counter, writer), and each key has a home
//! replica that numbers its versions, as Dynamo's coordinator is the first node of the
//! preference list: every write of a key goes through its home (another server redirects
//! the client there), so the versions of a key follow the order its writes were taken.
//!
//! - A write: the home stores the next version in its own replica, sends `Write` to every
//!   other replica and answers once acknowledgements carry `w` votes: one round trip, 2(N-1)
//!   messages. A home that may not know a key's newest version (it restarted, or just became
//!   home) first reads it from a read quorum, once.
//! - A read: any server sends `Read` to every replica and takes the newest version among
//!   replies carrying `r` votes: 2(N-1) messages. With read repair (the default), unless the
//!   replicas known to hold that version already carry `w` votes, the coordinator writes it
//!   back to the others and answers once `w` votes hold it (blocking read repair, as
//!   Cassandra's quorum reads do). Without it, a read may return a new value and a later
//!   read an older one while a write is on its way.
//!
//! With r + w > V the read quorum meets the write quorum of every acknowledged write, so a
//! read sees it; with read repair, a read's value is on a write quorum before it is returned,
//! so later reads see it too: the single-writer case of ABD's argument, the home being the
//! one writer of its keys, linearizable under any delays and crashes of a minority. (2w > V,
//! Gifford's other condition, keeps two write quorums meeting, which is what lets a new home
//! find a key's newest version.) With r + w <= V a read can miss an acknowledged write: the
//! staleness figures count how often and by how much.
//!
//! Sloppy quorums (`sloppy = true`): a write that has not reached a write quorum within a
//! timeout sends each missing replica's copy to the next server outside the preference list,
//! as a *hint* for that replica; the hint holder acknowledges for it and hands the version
//! to the replica when it can (hinted handoff). Writes stay available on any side of a
//! partition that has enough servers, but a hint is not a replica: a read quorum of the real
//! replicas on the other side misses the write. Any server coordinates a write in sloppy
//! mode, with the versions it knows. Both make the store not linearizable.
//!
//! Membership ([`view`]): a joining server is a standby that replaces the next replica to
//! leave; the move hands the registers over before the old replica goes. Variant
//! `no-handoff` skips the hand-over (Scylla issue 20458's replica-set change).

pub mod config;
mod coordinator;
mod server;
#[cfg(test)]
mod tests;
pub mod view;

pub use config::{Config, QuorumSettings};
pub use server::{Hint, QuorumServer};
pub use view::View;

use crate::kv::Command;
use crate::node::{Checker, Message, Milestone, NodeId, Protocol, SetupOf, Time, Variant, Violation, CORRECT};
use crate::service::{Key, Value};

use super::checker::{RegisterChecker, RegisterObservation};
use super::client::{Answer, ClientEvent, RegisterClient, RegisterProtocol};
use super::register::RegisterService;
use super::registers::Version;
use view::Stamp;

pub const NO_HANDOFF: &str = "no-handoff";

/// The protocol marker type.
#[derive(Debug)]
pub struct Quorum;

/// A coordinator's name for one of its operations (see `abd::OperationId`).
pub type OperationId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QuorumMessage {
    Request(Command),
    Answer(Answer),
    /// A message between servers, stamped with the sender's view.
    Peer {
        stamp: Stamp,
        message: Peer,
    },
    /// A server's view, sent to one whose view is older.
    View(View),
}

/// What servers say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    Read {
        operation: OperationId,
        key: Key,
    },
    ReadAck {
        operation: OperationId,
        key: Key,
        version: Version,
        value: Option<Value>,
    },
    /// Store `value` at `version`; with `hint`, as a hint for that replica (sloppy quorum).
    Write {
        operation: OperationId,
        key: Key,
        version: Version,
        value: Option<Value>,
        hint: Option<NodeId>,
    },
    WriteAck {
        operation: OperationId,
    },
    /// A filler asks for every register.
    Fetch,
    FetchReply {
        registers: Vec<(Key, Version, Option<Value>)>,
    },
    /// The sender fetched every register for the move to `target`.
    Filled {
        target: Vec<NodeId>,
    },
    /// A hint reaches the replica it was for.
    Handoff {
        key: Key,
        version: Version,
        value: Option<Value>,
    },
    HandoffAck {
        key: Key,
        version: Version,
    },
}

impl Message for QuorumMessage {
    fn kind(&self) -> &'static str {
        match self {
            QuorumMessage::Request(_) => "Request",
            QuorumMessage::Answer(_) => "Reply",
            QuorumMessage::View(_) => "View",
            QuorumMessage::Peer { message, .. } => match message {
                Peer::Read { .. } => "Read",
                Peer::ReadAck { .. } => "ReadAck",
                Peer::Write { hint: None, .. } => "Write",
                Peer::Write { hint: Some(_), .. } => "HintedWrite",
                Peer::WriteAck { .. } => "WriteAck",
                Peer::Fetch => "Fetch",
                Peer::FetchReply { .. } => "FetchReply",
                Peer::Filled { .. } => "Filled",
                Peer::Handoff { .. } => "Handoff",
                Peer::HandoffAck { .. } => "HandoffAck",
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QuorumTimer {
    /// The coordination for this client's request waits: send again (or hint, if sloppy).
    Retry(NodeId),
    /// A filler waits for registers: ask again.
    Fill,
    /// Time to hand hints to their replicas.
    Handoff,
    /// A client's request got no answer in time.
    Client,
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuorumRecord {
    Stored {
        key: Key,
        version: Version,
        value: Option<Value>,
    },
    /// The coordinator took on this update of `client`.
    Took {
        client: NodeId,
        sequence: u64,
    },
    /// The server's view of the membership.
    View(View),
    /// A hint for `owner`.
    Hint {
        owner: NodeId,
        key: Key,
        version: Version,
        value: Option<Value>,
    },
    /// The hint reached its owner.
    HandedOff {
        owner: NodeId,
        key: Key,
        version: Version,
    },
}

impl Protocol for Quorum {
    const NAME: &'static str = "quorum";
    const ABOUT: &'static str = "quorum replication (Gifford 1979; Dynamo 2007): votes per replica, read and write \
                                  quorums, read repair, sloppy quorums with hinted handoff";
    const VARIANTS: &'static [Variant] = &[
        Variant {
            name: CORRECT,
            about: "as configured in [settings]; a leaving replica hands its registers to its replacement first",
        },
        Variant {
            name: NO_HANDOFF,
            about: "a replica-set change skips the hand-over: the new replica starts empty (Scylla issue 20458)",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "value-stored", about: "a replica stored a newer version" },
        Milestone { name: "read-wrote-back", about: "a read repaired replicas before answering" },
        Milestone { name: "write-acknowledged", about: "a client's write was acknowledged" },
        Milestone { name: "read-returned", about: "a client's read returned" },
        Milestone { name: "write-hinted", about: "a server outside the replicas took a hint (sloppy quorum)" },
        Milestone { name: "hint-handed-off", about: "a hint reached its replica" },
        Milestone { name: "replica-filled", about: "a new replica fetched every register" },
        Milestone { name: "replicas-changed", about: "the replica set moved" },
    ];
    const MEMBERSHIP: bool = true;

    type Service = RegisterService;
    type Settings = QuorumSettings;
    type Message = QuorumMessage;
    type Timer = QuorumTimer;
    type Record = QuorumRecord;
    type Observation = RegisterObservation;
    type Server = QuorumServer;
    type Client = RegisterClient<Quorum>;
    type Checker = RegisterChecker;

    fn server(setup: &SetupOf<Quorum>, id: NodeId) -> QuorumServer {
        QuorumServer::new(setup, id, None)
    }

    fn recover(setup: &SetupOf<Quorum>, id: NodeId, records: &[QuorumRecord]) -> QuorumServer {
        QuorumServer::new(setup, id, Some(records))
    }

    fn client(setup: &SetupOf<Quorum>, id: NodeId) -> RegisterClient<Quorum> {
        RegisterClient::new(setup, id)
    }

    fn checker(_setup: &SetupOf<Quorum>) -> RegisterChecker {
        RegisterChecker::default()
    }

    fn milestone(observation: &RegisterObservation) -> Option<&'static str> {
        observation.milestone()
    }

    fn check_settings(settings: &QuorumSettings, servers: u32, spares: u32, _keys: u32) -> Result<(), String> {
        Config::check(settings, servers, spares)
    }
}

impl RegisterProtocol for Quorum {
    fn request(command: Command) -> QuorumMessage {
        QuorumMessage::Request(command)
    }

    fn answer(message: QuorumMessage) -> Option<Answer> {
        match message {
            QuorumMessage::Answer(answer) => Some(answer),
            _ => None,
        }
    }

    fn client_timer() -> QuorumTimer {
        QuorumTimer::Client
    }

    fn client_event(event: ClientEvent) -> RegisterObservation {
        RegisterObservation::Client(event)
    }

    /// The key's home among the initial replicas (a server whose view differs redirects).
    fn update_target(setup: &SetupOf<Quorum>, _client: NodeId, key: Key) -> NodeId {
        let config = Config::new(&setup.settings, setup.servers, setup.spares);
        View::initial(&config, setup.servers).home(key)
    }
}

impl Checker<Quorum> for RegisterChecker {
    fn observe(&mut self, at: Time, node: NodeId, observation: &RegisterObservation) -> Result<(), Violation> {
        RegisterChecker::observe(self, at, node, observation)
    }

    fn figures(&self, _end: Time) -> Vec<(&'static str, f64)> {
        RegisterChecker::figures(self)
    }
}
