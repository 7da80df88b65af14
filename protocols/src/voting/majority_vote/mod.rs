//! The naive majority vote: the voting scheme as users first write it, to show what it
//! lacks and Paxos adds.
//!
//! Every server is a proposer and a voter. A proposer takes the first value a client asks it
//! to propose (durably: it proposes no other), votes for it itself, and sends `Propose` with
//! its round to every other voter. A voter votes for the first value it hears in a round
//! (durably, before it answers) and answers every proposer of that round with `Vote` naming
//! the value it voted for. A proposer that counts a majority of votes for its value decides
//! it, tells everyone (`Decide`) and answers its clients; one that counts a majority for
//! another value takes that value as decided. When every voter has answered and no value
//! has a majority (a split vote), or a voter says the round is over (`Newer`), the proposer
//! tries again in a higher round after a random back-off, and the voters, seeing a new
//! round, vote again. A proposer sends `Propose` again to voters that did not answer.
//!
//! With one proposer there is one value, so only it can be decided, whatever the faults.
//! With competing proposers, votes split, and a new round lets the voters vote again after a
//! value may already have been decided in an earlier round: a second value is decided. That
//! is the gap Paxos closes with its first phase: a proposer of a new round must first learn
//! from a majority what may have been chosen in earlier rounds, and propose that instead
//! ("Paxos Made Simple", section 2.2). A client sends to one server only (its id modulo the
//! servers), so one client means one proposer.
//!
//! Variant `forgetful-voter`: votes are not durable, so a voter that restarts votes again in
//! a round it already voted in, and two values get a majority in one round, even with two
//! proposers whose votes never split.

mod checker;
mod client;
mod server;
#[cfg(test)]
mod tests;

pub use checker::MajorityVoteChecker;
pub use client::VoteClient;
pub use server::VoteServer;

use crate::consensus::ConsensusService;
use crate::node::{Message, Milestone, NoSettings, NodeId, Protocol, Setup, Variant, CORRECT};
use crate::service::Value;

pub const FORGETFUL_VOTER: &str = "forgetful-voter";

/// The protocol marker type.
#[derive(Debug)]
pub struct MajorityVote;

/// A voting round; 1 is the first.
pub type Round = u64;

/// A client's request id: its own sequence number.
pub type RequestId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VoteMessage {
    /// Client to server: propose `value`.
    Request { request: RequestId, value: Value },
    /// Server to client: `value` was decided.
    Reply { request: RequestId, value: Value },
    /// Proposer to voters: vote for `value` in `round`.
    Propose { round: Round, value: Value },
    /// Voter to proposer: in `round` I voted for `value`.
    Vote { round: Round, value: Value },
    /// Voter to proposer: `round` is over, I am voting in round `newer`.
    Newer { round: Round, newer: Round },
    /// Proposer to everyone: `value` was decided.
    Decide { value: Value },
}

impl Message for VoteMessage {
    fn kind(&self) -> &'static str {
        match self {
            VoteMessage::Request { .. } => "Request",
            VoteMessage::Reply { .. } => "Reply",
            VoteMessage::Propose { .. } => "Propose",
            VoteMessage::Vote { .. } => "Vote",
            VoteMessage::Newer { .. } => "Newer",
            VoteMessage::Decide { .. } => "Decide",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VoteTimer {
    /// The proposer's round got no answer from some voters, or it backs off before a new round.
    Retry,
    /// A client's request got no answer in time.
    Client,
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteRecord {
    /// The voter voted for `value` in `round`.
    Voted { round: Round, value: Value },
    /// The proposer proposes `value` in `round`.
    Proposing { round: Round, value: Value },
}

/// Events reported to the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteObservation {
    /// A proposer took a client's value (validity: only these may be decided).
    Proposed { value: Value },
    /// A voter voted for `value` in `round`.
    Voted { round: Round, value: Value },
    /// A proposer decided `value`, with the votes of `voters` in `round`.
    Decided { round: Round, value: Value, voters: Vec<NodeId> },
    /// A server took `value` as decided, told by another.
    Learned { value: Value },
}

impl std::fmt::Display for VoteObservation {
    /// `decided value 7 in round 2 with the votes of [0, 2]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VoteObservation::Proposed { value } => write!(f, "proposed value {value}"),
            VoteObservation::Voted { round, value } => write!(f, "voted for value {value} in round {round}"),
            VoteObservation::Decided { round, value, voters } => {
                write!(f, "decided value {value} in round {round} with the votes of {voters:?}")
            }
            VoteObservation::Learned { value } => write!(f, "learned value {value} was decided"),
        }
    }
}

impl Protocol for MajorityVote {
    const NAME: &'static str = "majority-vote";
    const ABOUT: &'static str = "the naive majority vote: a proposer takes its value once a majority votes for it; \
                                  safe with one proposer only";
    const VARIANTS: &'static [Variant] = &[
        Variant {
            name: CORRECT,
            about: "the scheme as users write it: durable votes, a new round after a split vote (safe with one \
                    proposer; competing proposers decide two values)",
        },
        Variant {
            name: FORGETFUL_VOTER,
            about: "votes are not durable: a restarted voter votes again in a round it already voted in",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "vote-cast", about: "a voter voted" },
        Milestone { name: "value-decided", about: "a proposer gathered a majority and decided" },
    ];
    const SERVERS_MIN: u32 = 2;

    type Service = ConsensusService;
    type Settings = NoSettings;
    type Message = VoteMessage;
    type Timer = VoteTimer;
    type Record = VoteRecord;
    type Observation = VoteObservation;
    type Server = VoteServer;
    type Client = VoteClient;
    type Checker = MajorityVoteChecker;

    fn server(setup: &Setup, id: NodeId) -> VoteServer {
        VoteServer::new(setup, id, &[])
    }

    fn recover(setup: &Setup, id: NodeId, records: &[VoteRecord]) -> VoteServer {
        VoteServer::new(setup, id, records)
    }

    fn client(setup: &Setup, id: NodeId) -> VoteClient {
        VoteClient::new(setup, id)
    }

    fn checker(_setup: &Setup) -> MajorityVoteChecker {
        MajorityVoteChecker::default()
    }

    fn milestone(observation: &VoteObservation) -> Option<&'static str> {
        match observation {
            VoteObservation::Voted { .. } => Some("vote-cast"),
            VoteObservation::Decided { .. } => Some("value-decided"),
            VoteObservation::Proposed { .. } | VoteObservation::Learned { .. } => None,
        }
    }
}
