//! Two-phase commit with presumed abort (Bernstein, Hadzilacos and Goodman, "Concurrency
//! Control and Recovery in Database Systems", 1987, section 7.4; Gray and Reuter,
//! "Transaction Processing: Concepts and Techniques", 1993, chapters 10 and 12, for the
//! log records and the presumed-abort optimisation, which follows Mohan, Lindsay and
//! Obermarck, "Transaction Management in the R* Distributed Database Management System",
//! TODS 1986, section 3).
//!
//! Server 0 coordinates; the participants hold the keys (see [`crate::commit`]).
//!
//! - Phase 1 (voting). The coordinator gets a client's `Request`, writes and syncs a
//!   `Began` record naming the participants (BHG's start-2PC record, so that a recovered
//!   coordinator knows every transaction a participant may be prepared for), and sends each
//!   participant a `Prepare` with its keys and vetoes. A participant votes no if a key is
//!   vetoed or locked by another undecided transaction, and then aborts, forcing the abort
//!   before the no vote leaves (a Prepare carries the participant's whole share, so a late
//!   copy of it after a restart that lost an unforced abort would be answered yes). To vote
//!   yes it locks its keys, reads the lists the transaction reads, writes and syncs a
//!   `Prepared` record with both (the forced log write before the yes vote), and sends
//!   `Vote { yes }` with what it read: from then on it is uncertain and may not decide
//!   alone.
//! - Phase 2 (decision). With every vote yes the coordinator decides commit; with a no vote,
//!   or no votes within `VOTE_ROUNDS` timeouts (re-sending `Prepare` to the silent ones at
//!   each), it decides abort. It writes the `Decided` record, syncs it before sending a
//!   commit (the forced write before the decision), and sends `Decision` to the
//!   participants and `Reply`, with what the participants read, to the waiting clients. A
//!   participant writes the decision (syncing a commit), appends the transaction to the
//!   lists it writes, releases its locks and acknowledges a commit with `Ack`; the
//!   coordinator re-sends a commit to the participants that have not acknowledged it, and
//!   once all have, writes `Ended` (not synced).
//! - Presumed abort: aborts (but a participant's no vote) are neither forced nor
//!   acknowledged, and a coordinator asked
//!   about a transaction it has no decision for answers abort. A recovered coordinator
//!   aborts every transaction it began without a decision record, re-sends its
//!   unacknowledged commits, and answers from its log.
//! - Blocking (BHG section 7.4, "timeout actions"). A participant that voted yes and has
//!   heard nothing after `UNCERTAIN_ROUNDS` timeouts is blocked: it sends the coordinator a
//!   `DecisionRequest` and keeps asking, with a growing interval, until the decision comes.
//!   It must not decide alone, so while the coordinator is down its transaction and its
//!   locks wait; the checker measures it (`transactions_blocked`, `blocked_ms_*`). A
//!   restarted participant rebuilds its prepared transactions and their locks from its
//!   `Prepared` records and asks at once.
//!
//! Fault-free with one transaction over N participants it sends 4N messages (`Prepare`,
//! `Vote`, `Decision`, `Ack`, N of each) and the coordinator decides 2d after the request
//! reaches it, so the client sees 4d (`sim/tests/textbook_commit.rs`).
//!
//! Variant `unilateral-abort`: a participant that voted yes and times out waiting for the
//! decision aborts on its own, which breaks AC1 whenever the coordinator decided commit
//! (BHG section 7.4: once it has voted yes, a participant cannot decide unilaterally).

mod coordinator;
mod participant;
#[cfg(test)]
mod tests;

pub use coordinator::Coordinator;
pub use participant::Participant;

use crate::commit::{
    self, AtomicityChecker, ClientMessage, CommitObservation, CommitProtocol, Decision, Reads, Share,
    TransactionClient, TransactionId, TransactionService,
};
use crate::node::{Message, Milestone, NoSettings, NodeId, Protocol, Server, ServerContext, Setup, Variant, CORRECT};
use crate::service::Key;

/// The protocol marker type.
#[derive(Debug)]
pub struct TwoPhaseCommit;

pub const UNILATERAL_ABORT: &str = "unilateral-abort";

/// Timeouts the coordinator waits for votes before it aborts.
pub const VOTE_ROUNDS: u32 = 3;
/// Timeouts a participant waits for the decision after voting yes before it is blocked.
pub const UNCERTAIN_ROUNDS: u32 = 4;
/// Times the coordinator re-sends an unacknowledged commit; after that the participants
/// that missed it learn it by asking.
pub const DECISION_RESENDS: u32 = 8;
/// How many times the interval between a blocked participant's questions doubles.
pub const QUERY_DOUBLINGS: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TwoPhaseMessage {
    /// A client's request, inquiry or the reply to it.
    Client(ClientMessage),
    /// Coordinator to participant: vote on your share of the transaction.
    Prepare { transaction: TransactionId, share: Share },
    /// A participant's vote, and for a yes what it read.
    Vote { transaction: TransactionId, yes: bool, reads: Reads },
    /// Coordinator to participant: the outcome (also the answer to a `DecisionRequest`).
    Decision { transaction: TransactionId, decision: Decision },
    /// Participant to coordinator: the commit is recorded.
    Ack { transaction: TransactionId },
    /// A blocked participant asks the coordinator for the outcome.
    DecisionRequest { transaction: TransactionId },
}

impl Message for TwoPhaseMessage {
    fn kind(&self) -> &'static str {
        match self {
            TwoPhaseMessage::Client(message) => message.kind(),
            TwoPhaseMessage::Prepare { .. } => "Prepare",
            TwoPhaseMessage::Vote { .. } => "Vote",
            TwoPhaseMessage::Decision { .. } => "Decision",
            TwoPhaseMessage::Ack { .. } => "Ack",
            TwoPhaseMessage::DecisionRequest { .. } => "DecisionRequest",
        }
    }
}

/// Named timers, one per transaction where it applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TwoPhaseTimer {
    /// Coordinator: votes are late (re-send `Prepare`, or abort), or a commit is not yet
    /// acknowledged (re-send it).
    Retry(TransactionId),
    /// Participant: it voted yes and has no decision yet.
    Uncertain(TransactionId),
    /// Client: no reply yet.
    RequestTimeout,
}

/// The durable log of coordinator and participants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TwoPhaseRecord {
    /// Coordinator, synced before the first `Prepare`.
    Began { transaction: TransactionId, participants: Vec<NodeId> },
    /// Participant, synced before its yes vote: the keys it locked, those it appends to on
    /// commit, and what it read.
    Prepared { transaction: TransactionId, keys: Vec<Key>, writes: Vec<Key>, reads: Reads },
    /// Coordinator or participant: synced for a commit and for a participant's no vote, not
    /// for another abort (presumed abort).
    Decided { transaction: TransactionId, decision: Decision },
    /// Coordinator: every participant acknowledged the commit; not synced.
    Ended { transaction: TransactionId },
}

impl Protocol for TwoPhaseCommit {
    const NAME: &'static str = "twopc";
    const ABOUT: &'static str = "two-phase commit with presumed abort (Bernstein, Hadzilacos and Goodman, section 7.4)";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "BHG section 7.4 with forced log writes and presumed abort" },
        Variant {
            name: UNILATERAL_ABORT,
            about: "a participant that voted yes aborts on its own when the decision is late, breaking AC1",
        },
    ];
    const MILESTONES: &'static [Milestone] = commit::MILESTONES;
    /// A coordinator and at least one participant.
    const SERVERS_MIN: u32 = 2;

    type Service = TransactionService;
    type Settings = NoSettings;

    type Message = TwoPhaseMessage;
    type Timer = TwoPhaseTimer;
    type Record = TwoPhaseRecord;
    type Observation = CommitObservation;
    type Server = TwoPhaseServer;
    type Client = TransactionClient<TwoPhaseCommit>;
    type Checker = AtomicityChecker;

    fn server(setup: &Setup, id: NodeId) -> TwoPhaseServer {
        TwoPhaseServer::new(setup, id, &[])
    }

    fn recover(setup: &Setup, id: NodeId, records: &[TwoPhaseRecord]) -> TwoPhaseServer {
        TwoPhaseServer::new(setup, id, records)
    }

    fn client(setup: &Setup, _id: NodeId) -> TransactionClient<TwoPhaseCommit> {
        TransactionClient::new(setup)
    }

    fn checker(setup: &Setup) -> AtomicityChecker {
        AtomicityChecker::new(setup)
    }

    fn milestone(observation: &CommitObservation) -> Option<&'static str> {
        commit::milestone(observation)
    }
}

impl CommitProtocol for TwoPhaseCommit {
    fn client_message(message: ClientMessage) -> TwoPhaseMessage {
        TwoPhaseMessage::Client(message)
    }

    fn as_client_message(message: &TwoPhaseMessage) -> Option<&ClientMessage> {
        match message {
            TwoPhaseMessage::Client(message) => Some(message),
            _ => None,
        }
    }

    fn request_timer() -> TwoPhaseTimer {
        TwoPhaseTimer::RequestTimeout
    }
}

/// One server: the coordinator (server 0) or a participant.
#[derive(Clone, Debug)]
pub enum TwoPhaseServer {
    Coordinator(Coordinator),
    Participant(Participant),
}

impl TwoPhaseServer {
    /// Server `id` rebuilt from `records` (none at first boot).
    fn new(setup: &Setup, id: NodeId, records: &[TwoPhaseRecord]) -> TwoPhaseServer {
        assert!(setup.servers >= 2, "two-phase commit needs a coordinator and at least one participant");
        if id == commit::COORDINATOR {
            TwoPhaseServer::Coordinator(Coordinator::recover(setup, records))
        } else {
            TwoPhaseServer::Participant(Participant::recover(setup, id, records))
        }
    }
}

impl Server<TwoPhaseCommit> for TwoPhaseServer {
    fn on_start(&mut self, _ctx: &mut ServerContext<TwoPhaseCommit>) {}

    fn on_recover(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>) {
        match self {
            TwoPhaseServer::Coordinator(coordinator) => coordinator.on_recover(ctx),
            TwoPhaseServer::Participant(participant) => participant.on_recover(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, from: NodeId, message: TwoPhaseMessage) {
        use TwoPhaseMessage as M;
        match (self, message) {
            (TwoPhaseServer::Coordinator(c), M::Client(ClientMessage::Request(transaction))) => {
                c.on_request(ctx, from, &transaction)
            }
            (TwoPhaseServer::Coordinator(c), M::Vote { transaction, yes, reads }) => {
                c.on_vote(ctx, from, transaction, yes, reads)
            }
            (TwoPhaseServer::Coordinator(c), M::Ack { transaction }) => c.on_ack(ctx, from, transaction),
            (TwoPhaseServer::Coordinator(c), M::DecisionRequest { transaction }) => {
                c.on_decision_request(ctx, from, transaction)
            }
            (TwoPhaseServer::Participant(p), M::Prepare { transaction, share }) => {
                p.on_prepare(ctx, transaction, share)
            }
            (TwoPhaseServer::Participant(p), M::Decision { transaction, decision }) => {
                p.on_decision(ctx, transaction, decision)
            }
            (TwoPhaseServer::Participant(p), M::Client(ClientMessage::Inquiry { transaction })) => {
                p.on_inquiry(ctx, from, transaction)
            }
            // Messages for the other role, and replies meant for clients.
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<TwoPhaseCommit>, timer: TwoPhaseTimer) {
        match (self, timer) {
            (TwoPhaseServer::Coordinator(c), TwoPhaseTimer::Retry(transaction)) => c.on_retry(ctx, transaction),
            (TwoPhaseServer::Participant(p), TwoPhaseTimer::Uncertain(transaction)) => p.on_uncertain(ctx, transaction),
            _ => {}
        }
    }

    fn invariants(&self) {
        match self {
            TwoPhaseServer::Coordinator(coordinator) => coordinator.invariants(),
            TwoPhaseServer::Participant(participant) => participant.invariants(),
        }
    }
}
