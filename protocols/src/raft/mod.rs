//! Raft (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm
//! (Extended Version)", 2014; Ongaro's thesis, 2014), replicating the key-value
//! [`Store`](crate::kv::Store).
//!
//! Every server is a follower, a candidate or the leader (section 5.1). Time is divided
//! into terms; a server that sees a higher term adopts it and becomes a follower, and
//! requests carrying a lower term are refused.
//!
//! - Election (section 5.2): a follower that hears from no leader for a randomised
//!   election timeout (uniform in `[timeout, 2 timeout]` of `Setup::timeout`) becomes a
//!   candidate of the next term, votes for itself and sends `RequestVote`. A server grants
//!   at most one vote per term, and only to a candidate whose log is at least as up to date
//!   as its own (last term, then last index: section 5.4.1). A majority of votes makes the
//!   candidate leader; it appends a no-op entry of its term (section 8; thesis 6.4), so that
//!   it learns which entries are committed and reads can be served, and sends heartbeats
//!   (empty `AppendEntries`) every `timeout / 3`.
//! - Replication (section 5.3): the leader appends each client command to its log and sends
//!   it in `AppendEntries` with the index and term of the entry before it. A follower
//!   accepts only if its log holds that entry (the consistency check), then deletes any
//!   conflicting suffix and appends what it lacks. The leader keeps `next_index` and
//!   `match_index` per follower, advances `next_index` as it sends (pipelining) and backs
//!   it up to the follower's hint on a refusal.
//! - Commit (section 5.4.2): the leader commits the highest index stored on a majority, but
//!   only when that entry is of its current term; earlier entries commit with it. Followers
//!   learn the commit index from `leader_commit`, which piggybacks on the next
//!   `AppendEntries` or heartbeat, so an entry costs 2(N-1) messages.
//! - Persistence (Figure 2): `currentTerm`, `votedFor` and the log are written and synced
//!   before the message that depends on them is sent; a restarted server rebuilds itself
//!   from those records alone and starts as a follower.
//! - Clients (thesis chapter 6): a server that does not lead answers `NotLeader` with the
//!   leader it knows; the leader answers a command once it applied it, and the store's
//!   sessions apply a retried command once (thesis 6.3). Reads use ReadIndex (thesis 6.4):
//!   the leader notes its commit index (at least the first index of its term, its no-op),
//!   confirms it still leads through a round of `AppendEntries` acknowledged by a majority,
//!   waits until it has applied that index and answers from its store. Reads never enter
//!   the log.
//!
//! Variants, each a mistake the paper warns about:
//! - `commit-old-term`: the leader commits an entry of an earlier term by counting replicas
//!   (Figure 8). As in Figure 8, which has no no-op, its leaders append no no-op when their
//!   term starts: the no-op would travel with the older entries a follower lacks and reach a
//!   majority with them, so the flawed rule would commit nothing the correct rule does not.
//!   Without it, a leader's first entry is a client's command, and its ReadIndex reads wait
//!   until such an entry commits (thesis 6.4).
//! - `volatile-vote`: `currentTerm` and `votedFor` are not persisted, so a restarted server
//!   can vote twice in one term and two leaders can be elected in it.
//! - `vote-without-log-check`: votes skip the up-to-date check of section 5.4.1, so a
//!   leader may lack committed entries.
//! - `stale-read`: the leader answers reads from its own store at once, so a deposed leader
//!   that has not heard of its successor serves stale values.

mod checker;
mod election;
mod log;
mod messages;
mod replication;
mod requests;
mod server;
#[cfg(test)]
mod tests;

pub use checker::RaftChecker;
pub use log::Log;
pub use messages::{AppendEntries, AppendEntriesResponse, Entry, Payload, RaftMessage, RequestVote, Vote};
pub use server::{RaftServer, Role};

use crate::kv::{ClientTimer, Command, KvClient, KvProtocol, KvService, Response};
use crate::node::{Milestone, NoSettings, NodeId, Protocol, Setup, Variant, CORRECT};

/// An election term (section 5.1); 0 before the first election.
pub type Term = u64;
/// A log index; the first entry has index 1, and index 0 stands for the empty prefix.
pub type Index = u64;

/// The most entries one `AppendEntries` carries.
pub const ENTRIES_PER_MESSAGE_MAX: usize = 32;

pub const COMMIT_OLD_TERM: &str = "commit-old-term";
pub const VOLATILE_VOTE: &str = "volatile-vote";
pub const VOTE_WITHOUT_LOG_CHECK: &str = "vote-without-log-check";
pub const STALE_READ: &str = "stale-read";

/// The protocol marker type.
#[derive(Debug)]
pub struct Raft;

/// A server's timers; clients use `Client`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftTimer {
    /// Followers and candidates: no leader was heard from (section 5.2).
    Election,
    /// The leader: time to send heartbeats.
    Heartbeat,
    Client(ClientTimer),
}

/// A record of a server's durable log: Figure 2's persistent state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftRecord {
    /// `currentTerm` and `votedFor`.
    Term { current_term: Term, voted_for: Option<NodeId> },
    /// The log from index `from` on is `entries`; entries that were there are discarded.
    Entries { from: Index, entries: Vec<Entry> },
}

/// What a server reports to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftObservation {
    /// This server won the election of `term`.
    LeaderElected { term: Term },
    /// This server, leader of `leader_term`, committed the entry of `term` at `index`. Each
    /// index is reported separately, in order.
    Committed { index: Index, term: Term, leader_term: Term },
    /// This server applied the entry of `term` at `index` to its state machine.
    Applied { index: Index, term: Term, payload: Payload },
}

impl std::fmt::Display for RaftObservation {
    /// `committed index 4 term 2 (leader of term 3)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RaftObservation::LeaderElected { term } => write!(f, "leader elected in term {term}"),
            RaftObservation::Committed { index, term, leader_term } => {
                write!(f, "committed index {index} term {term} (leader of term {leader_term})")
            }
            RaftObservation::Applied { index, term, payload: Payload::Noop } => {
                write!(f, "applied index {index} term {term}: no-op")
            }
            RaftObservation::Applied { index, term, payload: Payload::Command(command) } => {
                write!(f, "applied index {index} term {term}: {command}")
            }
        }
    }
}

impl Protocol for Raft {
    const NAME: &'static str = "raft";
    const ABOUT: &'static str =
        "Raft consensus (Ongaro and Ousterhout 2014; Ongaro's thesis) replicating a key-value store, \
         with ReadIndex reads and client sessions";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "Raft as in the extended paper, with ReadIndex reads (thesis 6.4)" },
        Variant {
            name: COMMIT_OLD_TERM,
            about: "the leader commits entries of earlier terms by counting replicas, and appends no no-op when \
                    its term starts, as in Figure 8 (section 5.4.2)",
        },
        Variant {
            name: VOLATILE_VOTE,
            about: "currentTerm and votedFor are not persisted, so a restarted server votes twice (Figure 2)",
        },
        Variant {
            name: VOTE_WITHOUT_LOG_CHECK,
            about: "votes are granted without the up-to-date log check (section 5.4.1)",
        },
        Variant {
            name: STALE_READ,
            about: "the leader serves reads from its own state without confirming it still leads (thesis 6.4)",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "leader-elected", about: "a candidate won an election" },
        Milestone { name: "entry-committed", about: "a leader committed a log entry" },
        Milestone { name: "entry-applied", about: "a server applied a committed entry to its store" },
    ];

    type Service = KvService;
    type Settings = NoSettings;
    type Message = RaftMessage;
    type Timer = RaftTimer;
    type Record = RaftRecord;
    type Observation = RaftObservation;
    type Server = RaftServer;
    type Client = KvClient<Raft>;
    type Checker = RaftChecker;

    fn server(setup: &Setup, id: NodeId) -> RaftServer {
        RaftServer::new(setup, id)
    }

    fn recover(setup: &Setup, id: NodeId, records: &[RaftRecord]) -> RaftServer {
        RaftServer::recover(setup, id, records)
    }

    fn client(setup: &Setup, id: NodeId) -> KvClient<Raft> {
        KvClient::new(setup, id)
    }

    fn checker(setup: &Setup) -> RaftChecker {
        RaftChecker::new(setup)
    }

    fn milestone(observation: &RaftObservation) -> Option<&'static str> {
        Some(match observation {
            RaftObservation::LeaderElected { .. } => "leader-elected",
            RaftObservation::Committed { .. } => "entry-committed",
            RaftObservation::Applied { .. } => "entry-applied",
        })
    }
}

impl KvProtocol for Raft {
    fn request(command: Command) -> RaftMessage {
        RaftMessage::ClientRequest(command)
    }

    fn response(message: RaftMessage) -> Option<Response> {
        match message {
            RaftMessage::ClientReply(response) => Some(response),
            _ => None,
        }
    }

    fn client_timer(timer: ClientTimer) -> RaftTimer {
        RaftTimer::Client(timer)
    }

    fn as_client_timer(timer: RaftTimer) -> Option<ClientTimer> {
        match timer {
            RaftTimer::Client(timer) => Some(timer),
            _ => None,
        }
    }
}

/// The flaw of the selected variant, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    None,
    CommitOldTerm,
    VolatileVote,
    VoteWithoutLogCheck,
    StaleRead,
}

impl Flaw {
    fn of(setup: &Setup) -> Flaw {
        match setup.variant {
            CORRECT => Flaw::None,
            COMMIT_OLD_TERM => Flaw::CommitOldTerm,
            VOLATILE_VOTE => Flaw::VolatileVote,
            VOTE_WITHOUT_LOG_CHECK => Flaw::VoteWithoutLogCheck,
            STALE_READ => Flaw::StaleRead,
            other => panic!("raft has no variant {other:?}"),
        }
    }
}
