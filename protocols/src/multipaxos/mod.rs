//! Multi-Paxos (Lamport, "Paxos Made Simple", 2001, section 3; van Renesse and Altinbuken,
//! "Paxos Made Moderately Complex", ACM Computing Surveys 2015, abbreviated PMMC),
//! replicating the key-value [`Store`](crate::kv::Store).
//!
//! Every server is an acceptor, a replica and a potential leader, colocated in one process
//! as PMMC section 4.4 (colocation) suggests. The replicated log is a sequence of slots,
//! each decided by one instance of the Synod protocol (Paxos Made Simple section 2).
//!
//! - Ballots (PMMC section 2.2) are `(round, leader)` pairs, unique per leader. A server
//!   that hears from no leader for a randomised election timeout (uniform in
//!   `[timeout, 2 timeout]` of `Setup::timeout`) picks a round above every round it has
//!   seen and runs phase 1 once for all slots from its first unexecuted one: `Prepare`
//!   (PMMC's scout and `p1a`; Paxos Made Simple section 3, "the leader executes phase 1
//!   for infinitely many instances"). An acceptor that has promised no higher ballot
//!   promises this one durably and answers `Promise` with every proposal it has accepted
//!   from that slot on; otherwise it answers `Nack` with the ballot it promised.
//! - With promises from a majority the candidate leads (PMMC's `adopted`). It re-proposes,
//!   in its own ballot, the highest-ballot value reported for each slot (PMMC's `pmax`),
//!   fills the slots nobody reported below the highest one with no-ops (Paxos Made Simple
//!   section 3), and then proposes each client command in the next free slot: phase 2 only,
//!   `Accept` to the other acceptors and `Accepted` back (PMMC's commander, `p2a`/`p2b`).
//!   A majority of `Accepted` in the leader's ballot chooses the slot.
//! - Decisions travel piggybacked: every `Accept` and `Heartbeat` carries the leader's
//!   `first_unchosen` slot, and a follower takes as chosen every lower slot whose accepted
//!   proposal carries the same ballot (the leader proposes one value per slot per ballot,
//!   and only the chosen one once it knows a slot is chosen). A fault-free write therefore
//!   costs exactly 2(N-1) messages. A follower still missing slots asks the leader with
//!   `CatchUp`, answered with a `Decide` carrying chosen entries (PMMC's `decision`).
//! - Replicas (PMMC section 2.1) apply chosen slots strictly in slot order to the store,
//!   whose client sessions apply a retried command once (Raft thesis section 6.3). The
//!   leader answers a client when it applies the client's command; other servers answer
//!   `NotLeader` with the leader they know of.
//! - Reads go through the log like updates, so a read reflects every slot before its own
//!   (the read-only shortcut of PMMC section 4.5 needs leader leases, which this module
//!   does not model). The leader sends `Heartbeat` every `timeout / 3` to keep its
//!   followers from starting elections (PMMC section 3 on failure detection), and re-sends
//!   `Accept` for proposals still undecided after a full heartbeat interval, which repairs
//!   lost messages.
//! - A `Nack` with a higher ballot, or any message of a higher ballot, deposes a leader or
//!   candidate (PMMC's `preempted`); it retries only when its randomised election timer
//!   fires again. PMMC section 3 shows that duelling leaders can preempt each other
//!   forever and has a preempted leader wait, with a timeout that grows; here the wait is
//!   drawn at random from `ctx.rng()`, as in Raft, which breaks the symmetry just as well.
//! - Durability (PMMC section 4.3): the acceptor's promised ballot and its accepted
//!   `(ballot, entry)` per slot are written and synced before any answer that depends on
//!   them; `Protocol::recover` rebuilds the acceptor from those records alone. Replica state
//!   is volatile: a restarted server relearns the chosen slots through a new leader's phase
//!   1 or through `CatchUp`.
//!
//! Variant:
//! - `local-reads`: the leader answers reads from its own store, with no quorum check, so a
//!   deposed leader that has not heard of its successor serves stale values.

mod acceptor;
mod checker;
mod election;
mod leader;
mod messages;
mod replica;
mod requests;
mod server;
#[cfg(test)]
mod tests;

pub use acceptor::Acceptor;
pub use checker::MultiPaxosChecker;
pub use messages::MultiPaxosMessage;
pub use replica::Replica;
pub use server::{MultiPaxosServer, Role};

use serde::{Deserialize, Serialize};

use crate::kv::{ClientTimer, Command, KvClient, KvProtocol, KvService, Response, Sequence};
use crate::node::{Milestone, NoSettings, NodeId, Protocol, Setup, Variant, CORRECT};
use crate::service::Key;

/// A position in the replicated log; the first slot is 1.
pub type Slot = u64;

/// The most chosen entries one `Decide` carries.
pub const DECISIONS_PER_MESSAGE_MAX: usize = 64;

pub const LOCAL_READS: &str = "local-reads";

/// The protocol marker type.
#[derive(Debug)]
pub struct MultiPaxos;

/// A ballot (PMMC section 2.2): totally ordered, unique per leader; rounds start at 1, and
/// the default ballot (round 0) is below every real one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u64,
    pub leader: NodeId,
}

impl std::fmt::Display for Ballot {
    /// `round.leader`, as in "ballot 3.1".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.round, self.leader)
    }
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Noop => f.write_str("no-op"),
            Entry::Command(command) => write!(f, "{command}"),
        }
    }
}

/// What a slot holds: a client's command, or the no-op a new leader fills a gap with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    Noop,
    Command(Command),
}

/// A server's timers; clients use `Client`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultiPaxosTimer {
    /// Followers and candidates: no leader was heard from in time.
    Election,
    /// The leader: time to send heartbeats and re-send undecided proposals.
    Heartbeat,
    Client(ClientTimer),
}

/// A record of an acceptor's durable log (PMMC section 4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiPaxosRecord {
    /// The acceptor promised `ballot` (phase 1b).
    Promised(Ballot),
    /// The acceptor accepted `entry` in `slot` in `ballot` (phase 2b); this also promises
    /// `ballot`.
    Accepted { slot: Slot, ballot: Ballot, entry: Entry },
}

/// What a server reports to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiPaxosObservation {
    /// This server won phase 1 with `ballot`.
    LeaderElected { ballot: Ballot },
    /// This server's acceptor accepted `entry` in `slot` in `ballot`.
    Accepted { ballot: Ballot, slot: Slot, entry: Entry },
    /// This server, leading, learned from a majority that `entry` is chosen in `slot`.
    Chosen { slot: Slot, entry: Entry },
    /// This server's replica applied `entry`, chosen in `slot`, to its store.
    Executed { slot: Slot, entry: Entry },
    /// A read from `client` reached this server.
    ReadReceived { client: NodeId, sequence: Sequence, key: Key },
    /// This server read `key` for `client` from a store holding exactly the slots up to
    /// `through`: when the read was applied in slot `through + 1`, or, with `local-reads`,
    /// answered from the leader's store.
    ReadServed { client: NodeId, sequence: Sequence, key: Key, through: Slot },
    /// This server told `client` that its update of `key` took effect, in a slot no later
    /// than `through`.
    Acknowledged { client: NodeId, sequence: Sequence, key: Key, through: Slot },
}

impl std::fmt::Display for MultiPaxosObservation {
    /// `accepted ballot 2.1 slot 4: write 0 3 (process 7, request 2)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MultiPaxosObservation::LeaderElected { ballot } => write!(f, "leader elected with ballot {ballot}"),
            MultiPaxosObservation::Accepted { ballot, slot, entry } => {
                write!(f, "accepted ballot {ballot} slot {slot}: {entry}")
            }
            MultiPaxosObservation::Chosen { slot, entry } => write!(f, "chosen slot {slot}: {entry}"),
            MultiPaxosObservation::Executed { slot, entry } => write!(f, "executed slot {slot}: {entry}"),
            MultiPaxosObservation::ReadReceived { client, sequence, key } => {
                write!(f, "read of key {key} received (process {client}, request {sequence})")
            }
            MultiPaxosObservation::ReadServed { client, sequence, key, through } => {
                write!(f, "read of key {key} served through slot {through} (process {client}, request {sequence})")
            }
            MultiPaxosObservation::Acknowledged { client, sequence, key, through } => {
                write!(
                    f,
                    "update of key {key} acknowledged through slot {through} (process {client}, request {sequence})"
                )
            }
        }
    }
}

impl Protocol for MultiPaxos {
    const NAME: &'static str = "multipaxos";
    const ABOUT: &'static str = "Multi-Paxos with a stable leader (Paxos Made Simple section 3; Paxos Made \
         Moderately Complex) replicating a key-value store, reads through the log";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "Multi-Paxos with reads ordered through the log (PMMC section 4.5)" },
        Variant {
            name: LOCAL_READS,
            about: "the leader answers reads from its own store with no quorum check, so a deposed leader \
                    serves stale reads (PMMC section 4.5 without leases)",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "leader-elected", about: "a candidate won phase 1 for all slots" },
        Milestone { name: "slot-chosen", about: "the leader learned that a slot's entry is chosen" },
        Milestone { name: "read-served", about: "a read was answered" },
    ];

    type Service = KvService;
    type Settings = NoSettings;
    type Message = MultiPaxosMessage;
    type Timer = MultiPaxosTimer;
    type Record = MultiPaxosRecord;
    type Observation = MultiPaxosObservation;
    type Server = MultiPaxosServer;
    type Client = KvClient<MultiPaxos>;
    type Checker = MultiPaxosChecker;

    fn server(setup: &Setup, id: NodeId) -> MultiPaxosServer {
        MultiPaxosServer::new(setup, id, Acceptor::default())
    }

    fn recover(setup: &Setup, id: NodeId, records: &[MultiPaxosRecord]) -> MultiPaxosServer {
        MultiPaxosServer::new(setup, id, Acceptor::from_records(records))
    }

    fn client(setup: &Setup, id: NodeId) -> KvClient<MultiPaxos> {
        KvClient::new(setup, id)
    }

    fn checker(setup: &Setup) -> MultiPaxosChecker {
        MultiPaxosChecker::new(setup)
    }

    fn milestone(observation: &MultiPaxosObservation) -> Option<&'static str> {
        match observation {
            MultiPaxosObservation::LeaderElected { .. } => Some("leader-elected"),
            MultiPaxosObservation::Chosen { .. } => Some("slot-chosen"),
            MultiPaxosObservation::ReadServed { .. } => Some("read-served"),
            MultiPaxosObservation::Accepted { .. }
            | MultiPaxosObservation::Executed { .. }
            | MultiPaxosObservation::ReadReceived { .. }
            | MultiPaxosObservation::Acknowledged { .. } => None,
        }
    }
}

impl KvProtocol for MultiPaxos {
    fn request(command: Command) -> MultiPaxosMessage {
        MultiPaxosMessage::ClientRequest(command)
    }

    fn response(message: MultiPaxosMessage) -> Option<Response> {
        match message {
            MultiPaxosMessage::ClientReply(response) => Some(response),
            _ => None,
        }
    }

    fn client_timer(timer: ClientTimer) -> MultiPaxosTimer {
        MultiPaxosTimer::Client(timer)
    }

    fn as_client_timer(timer: MultiPaxosTimer) -> Option<ClientTimer> {
        match timer {
            MultiPaxosTimer::Client(timer) => Some(timer),
            _ => None,
        }
    }
}
