//! Raft (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm
//! (Extended Version)", 2014; Ongaro's thesis, 2014), generic over the state machine it
//! replicates; the catalogued `raft` protocol replicates the key-value
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
//!   leader it knows; the leader answers an update once it applied it, and the client
//!   sessions apply a retried update once (thesis 6.3). Queries (the store's reads) use
//!   ReadIndex (thesis 6.4): the leader notes its commit index (at least the first index of
//!   its term, its no-op), confirms it still leads through a round of `AppendEntries`
//!   acknowledged by a majority, waits until it has applied that index and answers from its
//!   state. Queries never enter the log.
//!
//! # Raft as a library
//!
//! Another protocol (a lock service on consensus, say) runs Raft with its own machine and
//! client, without copying Raft:
//!
//! - [`StateMachine`]: the replicated machine, with its `Operation` and `Output` types;
//!   `is_query` picks the read-only operations (answered through ReadIndex, never logged),
//!   `apply` applies a committed update and `query` answers a query. Both get a [`Stamp`]:
//!   the client, the log index of the update (unique and increasing: the fencing token; a
//!   query's read index), its entry's term, and the time on the monotonic clock of the
//!   leader that appended it (a query: the leader's clock when it answers), the same on
//!   every replica, so leases can be measured on the leader's clock deterministically.
//!   [`Replicated`] wraps the machine in the client sessions.
//! - [`RaftHost`]: the protocol, with its machine, Raft's [`Options`], and how its message,
//!   timer, record and observation types carry Raft's [`RaftMessage`], [`ServerTimer`],
//!   [`RaftRecord`] and [`RaftObservation`], both ways, and where its server holds the
//!   [`RaftServer`].
//! - [`RaftServer<H>`]: `new`, `recover` (from the Raft records of the durable log), and one
//!   method per input: `start` (at first boot and after `recover`), `handle_message`, `handle_timer`, `handle_synced`; `check`
//!   runs its invariants. `on_client_request` takes a [`Request`] the host received its own
//!   way. Read access: `role`, `leader` (the redirect hint), `current_term`, `log`,
//!   `commit_index`, `last_applied`, `machine`, `replicated`.
//! - Clients send `RaftMessage::ClientRequest(Request { client, sequence, operation })`, one
//!   operation at a time per client and the same sequence number for every retry; they get
//!   `ClientReply(Reply::Done { sequence, output })`, or `Reply::NotLeader { leader }`, the
//!   leader the server knows of, to retry there.
//! - [`RaftChecker<H>`]: Figure 3's properties for the host's servers; a host checker embeds
//!   it, feeding it the Raft observations (`observe_raft`) and the world (`inspect`).
//!
//! `tests/library.rs` is a small host: a ledger of fenced writes with its own client.
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
mod host;
mod kv;
mod log;
mod machine;
mod messages;
mod replication;
mod requests;
mod server;
mod snapshot;
#[cfg(test)]
mod tests;

pub use checker::RaftChecker;
pub use host::{Checks, Options, RaftHost, RaftSettings, ServerTimer, SNAPSHOT_EVERY_MAX};
pub use kv::RaftTimer;
pub use log::Log;
pub use machine::{Replicated, Reply, Request, Stamp, StateMachine};
pub use messages::{
    AppendEntries, AppendEntriesResponse, Entry, InstallSnapshot, InstallSnapshotResponse, Payload, RaftMessage,
    RequestVote, Vote,
};
pub use server::{RaftServer, Role};
pub use snapshot::Snapshot;

use crate::kv::Store;
use crate::node::{NodeId, CORRECT};

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
pub const STALE_SNAPSHOT: &str = "stale-snapshot";

/// The catalogued protocol: Raft replicating the kv [`Store`] for the shared kv client.
#[derive(Debug)]
pub struct Raft;

/// A record of a server's durable log: Figure 2's persistent state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftRecord<M: StateMachine = Store> {
    /// `currentTerm` and `votedFor`.
    Term { current_term: Term, voted_for: Option<NodeId> },
    /// The log from index `from` on is `entries`; entries that were there are discarded.
    Entries { from: Index, entries: Vec<Entry<M>> },
    /// The log starts after this snapshot, which holds the state up to its last index.
    Snapshot(Snapshot<M>),
}

/// What a server reports to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftObservation<M: StateMachine = Store> {
    /// This server won the election of `term`.
    LeaderElected { term: Term },
    /// This server, leader of `leader_term`, committed the entry of `term` at `index`. Each
    /// index is reported separately, in order.
    Committed { index: Index, term: Term, leader_term: Term },
    /// This server applied the entry of `term` at `index` to its state machine.
    Applied { index: Index, term: Term, payload: Payload<M> },
    /// This server took a snapshot of its state after the entry of `term` at `index`.
    SnapshotTaken { index: Index, term: Term },
    /// This server installed a leader's snapshot of the state after the entry of `term` at
    /// `index`: its state machine is now there.
    SnapshotInstalled { index: Index, term: Term },
    /// This server restarted: its state machine starts from its snapshot of the state after
    /// the entry of `term` at `index` (index 0: from the empty state).
    Restored { index: Index, term: Term },
}

impl<M: StateMachine> std::fmt::Display for RaftObservation<M> {
    /// `committed index 4 term 2 (leader of term 3)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RaftObservation::LeaderElected { term } => write!(f, "leader elected in term {term}"),
            RaftObservation::Committed { index, term, leader_term } => {
                write!(f, "committed index {index} term {term} (leader of term {leader_term})")
            }
            RaftObservation::Applied { index, term, payload } => {
                write!(f, "applied index {index} term {term}: {payload}")
            }
            RaftObservation::SnapshotTaken { index, term } => write!(f, "snapshot at index {index} term {term}"),
            RaftObservation::SnapshotInstalled { index, term } => {
                write!(f, "installed the leader's snapshot at index {index} term {term}")
            }
            RaftObservation::Restored { index, term } => {
                write!(f, "restarted from the snapshot at index {index} term {term}")
            }
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
    StaleSnapshot,
}

impl Flaw {
    fn of(variant: &str) -> Flaw {
        match variant {
            CORRECT => Flaw::None,
            COMMIT_OLD_TERM => Flaw::CommitOldTerm,
            VOLATILE_VOTE => Flaw::VolatileVote,
            VOTE_WITHOUT_LOG_CHECK => Flaw::VoteWithoutLogCheck,
            STALE_READ => Flaw::StaleRead,
            STALE_SNAPSHOT => Flaw::StaleSnapshot,
            other => panic!("raft has no variant {other:?}"),
        }
    }
}
