//! Raft's messages, named as in the paper's Figure 2: the `RequestVote` and
//! `AppendEntries` RPCs and their responses, plus the client's request and reply (thesis
//! chapter 6), generic over the replicated [`StateMachine`] (the kv [`Store`] by default).
//! The sender's id travels with every message, so the paper's `candidateId` and `leaderId`
//! fields are left out.
//!
//! `AppendEntries` without entries is a heartbeat, and its kind says so, so that reports
//! count heartbeats apart from the 2(N-1) messages each entry costs. `round` numbers the
//! leader's rounds of `AppendEntries` in its term; a response echoes it, so the leader
//! knows which round a follower acknowledged, which is how a ReadIndex read confirms that
//! the leader still leads (thesis 6.4, LogCabin's heartbeat epochs).

use std::mem::size_of;

use super::{Index, Reply, Request, Snapshot, StateMachine, Term};
use crate::kv::Store;
use crate::node::{Message, Time};

/// A log entry: a client's update, or the no-op a leader appends when its term starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry<M: StateMachine = Store> {
    /// The term of the leader that created the entry.
    pub term: Term,
    /// The creating leader's monotonic clock when it appended the entry.
    pub time: Time,
    pub payload: Payload<M>,
}

/// What an entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Payload<M: StateMachine = Store> {
    /// Nothing: the entry a new leader commits to learn the commit index (section 8).
    Noop,
    Command(Request<M::Operation>),
}

impl<M: StateMachine> std::fmt::Display for Payload<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Payload::Noop => f.write_str("no-op"),
            Payload::Command(request) => write!(f, "{request}"),
        }
    }
}

/// A candidate asks for a vote (section 5.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestVote {
    pub term: Term,
    pub last_log_index: Index,
    pub last_log_term: Term,
}

/// The answer to `RequestVote` (the paper's RequestVote results).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Vote {
    pub term: Term,
    pub granted: bool,
}

/// The leader replicates entries and asserts its leadership (sections 5.2 and 5.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendEntries<M: StateMachine = Store> {
    pub term: Term,
    pub prev_log_index: Index,
    pub prev_log_term: Term,
    pub entries: Vec<Entry<M>>,
    pub leader_commit: Index,
    /// The leader's round when it sent this (for ReadIndex).
    pub round: u64,
}

/// The answer to `AppendEntries` (the paper's AppendEntries results).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendEntriesResponse {
    pub term: Term,
    pub success: bool,
    /// On success, the index up to which the follower's log matches the leader's; on a
    /// refusal, the index after which the leader should retry.
    pub match_index: Index,
    /// The round of the request answered.
    pub round: u64,
    /// Whether the request answered was a heartbeat (carried no entries).
    pub heartbeat: bool,
}

/// The leader sends a follower that lags behind its log's first entry its latest snapshot
/// (thesis Figure 5.3), whole: one message, so no `offset` and `done`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstallSnapshot<M: StateMachine = Store> {
    pub term: Term,
    pub snapshot: Snapshot<M>,
    /// The leader's round when it sent this (for ReadIndex).
    pub round: u64,
}

/// The answer to `InstallSnapshot`: the follower's log now matches the leader's up to
/// `last_index`, the snapshot's last index (the thesis's answer carries the term alone).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstallSnapshotResponse {
    pub term: Term,
    pub last_index: Index,
    /// The round of the request answered.
    pub round: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftMessage<M: StateMachine = Store> {
    RequestVote(RequestVote),
    RequestVoteResponse(Vote),
    AppendEntries(AppendEntries<M>),
    AppendEntriesResponse(AppendEntriesResponse),
    /// Boxed: a snapshot holds a whole state machine, and every message of the run would
    /// otherwise be as large as this rare one (an event on the queue is moved several times).
    InstallSnapshot(Box<InstallSnapshot<M>>),
    InstallSnapshotResponse(InstallSnapshotResponse),
    /// A client's operation (thesis chapter 6).
    ClientRequest(Request<M::Operation>),
    /// A server's answer to a client.
    ClientReply(Reply<M::Output>),
}

impl<M: StateMachine> Message for RaftMessage<M> {
    fn kind(&self) -> &'static str {
        match self {
            RaftMessage::RequestVote(_) => "RequestVote",
            RaftMessage::RequestVoteResponse(_) => "RequestVoteResponse",
            RaftMessage::AppendEntries(request) if request.entries.is_empty() => "Heartbeat",
            RaftMessage::AppendEntries(_) => "AppendEntries",
            RaftMessage::AppendEntriesResponse(response) if response.heartbeat => "HeartbeatResponse",
            RaftMessage::AppendEntriesResponse(_) => "AppendEntriesResponse",
            RaftMessage::InstallSnapshot(_) => "InstallSnapshot",
            RaftMessage::InstallSnapshotResponse(_) => "InstallSnapshotResponse",
            RaftMessage::ClientRequest(_) => "ClientRequest",
            RaftMessage::ClientReply(_) => "ClientReply",
        }
    }

    fn size_bytes(&self) -> usize {
        let held = match self {
            RaftMessage::AppendEntries(request) => request.entries.len() * size_of::<Entry<M>>(),
            RaftMessage::InstallSnapshot(_) => size_of::<InstallSnapshot<M>>(),
            _ => 0,
        };
        size_of::<Self>() + held
    }
}
