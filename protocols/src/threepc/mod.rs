//! Three-phase commit with its termination protocol (Skeen, "Nonblocking Commit
//! Protocols", SIGMOD 1981; Skeen and Stonebraker, "A Formal Model of Crash Recovery in a
//! Distributed System", IEEE TSE 1983; Bernstein, Hadzilacos and Goodman, "Concurrency
//! Control and Recovery in Database Systems", 1987, section 7.5).
//!
//! Server 0 coordinates; the participants hold the keys (see [`crate::commit`]). Skeen's
//! nonblocking theorem says a protocol is nonblocking under site failures exactly when no
//! local state is adjacent to both commit and abort, and no noncommittable state is
//! adjacent to commit. 2PC's uncertain state is adjacent to both; 3PC puts a pre-committed
//! state between the uncertain state and commit:
//!
//! - `CanCommit`: the coordinator writes and syncs `Began`, and asks every participant,
//!   naming them all (each needs the others for the termination protocol). A participant
//!   votes as in 2PC: a no aborts at once; a yes is locked, reads what the transaction reads
//!   there and is synced (`Voted`, with the reads) first, carries the reads, and leaves it
//!   uncertain (state w).
//! - `PreCommit`: with every vote yes the coordinator syncs `PreCommitted` and tells every
//!   participant, which syncs its own `PreCommitted` (state p) and answers `Ack`. A no vote,
//!   or votes missing after `VOTE_ROUNDS` timeouts, makes the coordinator abort (`Abort`).
//! - `DoCommit`: with every ack, or after `ACK_ROUNDS` timeouts (a participant that did
//!   not ack is taken to have failed, and learns the commit when it recovers), the
//!   coordinator commits, syncs it, sends `DoCommit`, and replies to the client with the
//!   reads of the yes votes; participants commit, sync, append the transaction to the lists
//!   it writes and answer `HaveCommitted`. That is 6N messages for N participants, and the coordinator
//!   decides 4d after the request reaches it (`sim/tests/textbook_commit.rs`).
//!
//! Termination protocol (Skeen 1981's central-site termination with an elected backup;
//! BHG section 7.5). A participant in w or p that hears nothing from its coordinator for
//! `SUSPECT_ROUNDS` timeouts is blocked for the moment and suspects it, and elects as
//! backup the lowest-id participant it does not suspect; if that is itself it runs the
//! termination protocol, otherwise it waits as long again for the backup and, if that too
//! is silent, suspects it and moves on. The backup sends `StateRequest` to the other
//! participants, which answer `StateReport` with their local state (one that never heard
//! of the transaction aborts it and says so) and take the backup as their coordinator. With
//! the reports gathered (or after `REPORT_ROUNDS` timeouts, the silent ones taken to have
//! failed), the backup decides by the rules: an abort anywhere aborts; a commit anywhere
//! commits; some p commits, after moving itself and the uncertain ones to p with
//! `PreCommit` and their `Ack`; all w aborts. It then sends `DoCommit` or `Abort` to all.
//!
//! Recovery (Skeen and Stonebraker 1983). A participant restarted with a transaction
//! undecided must not take part in its termination (its state may be stale): it asks the
//! coordinator and the other participants with `DecisionRequest` until one answers. A
//! recovered coordinator that had not pre-committed aborts (no site can have committed);
//! one that had pre-committed asks the participants, since the termination protocol may
//! have gone either way.
//!
//! Model. 3PC is nonblocking under crash failures with reliable, timely links: every
//! timeout here is far longer than a message's delay and messages are re-sent each
//! timeout, so a live site is not suspected. It is not safe when a live site is taken for
//! dead: a network partition (or a long pause) that leaves pre-committed participants on
//! one side and only uncertain ones on the other makes the first side commit (the
//! coordinator after its ack timeouts) and the second abort (its backup sees only w):
//! Skeen and Stonebraker show no protocol is resilient to partitions. A scenario finds it.
//! If every participant of a transaction fails and restarts before it is decided, none may
//! terminate it: it blocks, as BHG section 7.5 notes for total failures.

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
pub struct ThreePhaseCommit;

/// Timeouts the coordinator waits for votes before it aborts.
pub const VOTE_ROUNDS: u32 = 3;
/// Timeouts the coordinator or a backup waits for acks of `PreCommit` before it commits.
pub const ACK_ROUNDS: u32 = 3;
/// Timeouts a backup waits for state reports before it decides on those it has.
pub const REPORT_ROUNDS: u32 = 3;
/// Timeouts a participant waits on its coordinator or backup before it suspects it. Longer
/// than the coordinator's and the backup's rounds together, so a live one is not suspected.
pub const SUSPECT_ROUNDS: u32 = 6;
/// Times a `DoCommit` is re-sent to participants that have not answered `HaveCommitted`.
pub const DECISION_RESENDS: u32 = 8;
/// How many times the interval between a recovering site's questions doubles.
pub const QUERY_DOUBLINGS: u32 = 3;

/// A participant's local state for a transaction, as Skeen names them: w, p, c, a.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SiteState {
    Uncertain,
    PreCommitted,
    Committed,
    Aborted,
}

impl SiteState {
    pub fn decision(self) -> Option<Decision> {
        match self {
            SiteState::Committed => Some(Decision::Commit),
            SiteState::Aborted => Some(Decision::Abort),
            SiteState::Uncertain | SiteState::PreCommitted => None,
        }
    }

    fn of(decision: Decision) -> SiteState {
        match decision {
            Decision::Commit => SiteState::Committed,
            Decision::Abort => SiteState::Aborted,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ThreePhaseMessage {
    /// A client's request, inquiry or the reply to it.
    Client(ClientMessage),
    /// Coordinator to participant: vote on your share; `participants` names them all.
    CanCommit {
        transaction: TransactionId,
        share: Share,
        participants: Vec<NodeId>,
    },
    /// A participant's vote, and for a yes what it read.
    Vote {
        transaction: TransactionId,
        yes: bool,
        reads: Reads,
    },
    /// Coordinator or backup to participant: move to pre-committed.
    PreCommit {
        transaction: TransactionId,
    },
    Ack {
        transaction: TransactionId,
    },
    /// Commit (also the answer to a `DecisionRequest`).
    DoCommit {
        transaction: TransactionId,
    },
    HaveCommitted {
        transaction: TransactionId,
    },
    /// Abort (also the answer to a `DecisionRequest`).
    Abort {
        transaction: TransactionId,
    },
    /// Backup to participant: what is your local state?
    StateRequest {
        transaction: TransactionId,
    },
    StateReport {
        transaction: TransactionId,
        state: SiteState,
    },
    /// A restarted site asks for the outcome.
    DecisionRequest {
        transaction: TransactionId,
    },
}

impl Message for ThreePhaseMessage {
    fn kind(&self) -> &'static str {
        match self {
            ThreePhaseMessage::Client(message) => message.kind(),
            ThreePhaseMessage::CanCommit { .. } => "CanCommit",
            ThreePhaseMessage::Vote { .. } => "Vote",
            ThreePhaseMessage::PreCommit { .. } => "PreCommit",
            ThreePhaseMessage::Ack { .. } => "Ack",
            ThreePhaseMessage::DoCommit { .. } => "DoCommit",
            ThreePhaseMessage::HaveCommitted { .. } => "HaveCommitted",
            ThreePhaseMessage::Abort { .. } => "Abort",
            ThreePhaseMessage::StateRequest { .. } => "StateRequest",
            ThreePhaseMessage::StateReport { .. } => "StateReport",
            ThreePhaseMessage::DecisionRequest { .. } => "DecisionRequest",
        }
    }
}

/// Named timers, one per transaction where it applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ThreePhaseTimer {
    /// Coordinator or backup: a round is late (re-send, or act on the replies in hand).
    Retry(TransactionId),
    /// Participant: its coordinator or backup has been silent too long; or, restarted, it
    /// asks again for the outcome.
    Suspect(TransactionId),
    /// Client: no reply yet.
    RequestTimeout,
}

/// The durable log of coordinator and participants; every record is synced before the
/// message it allows is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreePhaseRecord {
    /// Coordinator, before `CanCommit`.
    Began {
        transaction: TransactionId,
        participants: Vec<NodeId>,
    },
    /// Participant, before its yes vote: its locked keys, those it appends to on commit,
    /// what it read, and the other participants.
    Voted {
        transaction: TransactionId,
        keys: Vec<Key>,
        writes: Vec<Key>,
        reads: Reads,
        participants: Vec<NodeId>,
    },
    /// Coordinator before `PreCommit`, participant before `Ack`, backup before its `PreCommit`.
    PreCommitted {
        transaction: TransactionId,
    },
    Decided {
        transaction: TransactionId,
        decision: Decision,
    },
    /// Coordinator: every participant has committed.
    Ended {
        transaction: TransactionId,
    },
}

impl Protocol for ThreePhaseCommit {
    const NAME: &'static str = "threepc";
    const ABOUT: &'static str = "three-phase commit with the termination protocol (Skeen 1981; BHG section 7.5)";
    const VARIANTS: &'static [Variant] =
        &[Variant { name: CORRECT, about: "Skeen 1981 central-site 3PC, elected backup, termination protocol" }];
    const MILESTONES: &'static [Milestone] = &[
        commit::MILESTONES[0],
        commit::MILESTONES[1],
        commit::MILESTONES[2],
        commit::MILESTONES[3],
        commit::TERMINATION_STARTED,
    ];
    /// A coordinator and at least one participant.
    const SERVERS_MIN: u32 = 2;

    type Service = TransactionService;
    type Settings = NoSettings;

    type Message = ThreePhaseMessage;
    type Timer = ThreePhaseTimer;
    type Record = ThreePhaseRecord;
    type Observation = CommitObservation;
    type Server = ThreePhaseServer;
    type Client = TransactionClient<ThreePhaseCommit>;
    type Checker = AtomicityChecker;

    fn server(setup: &Setup, id: NodeId) -> ThreePhaseServer {
        ThreePhaseServer::new(setup, id, &[])
    }

    fn recover(setup: &Setup, id: NodeId, records: &[ThreePhaseRecord]) -> ThreePhaseServer {
        ThreePhaseServer::new(setup, id, records)
    }

    fn client(setup: &Setup, _id: NodeId) -> TransactionClient<ThreePhaseCommit> {
        TransactionClient::new(setup)
    }

    fn checker(setup: &Setup) -> AtomicityChecker {
        AtomicityChecker::new(setup)
    }

    fn milestone(observation: &CommitObservation) -> Option<&'static str> {
        commit::milestone(observation)
    }
}

impl CommitProtocol for ThreePhaseCommit {
    fn client_message(message: ClientMessage) -> ThreePhaseMessage {
        ThreePhaseMessage::Client(message)
    }

    fn as_client_message(message: &ThreePhaseMessage) -> Option<&ClientMessage> {
        match message {
            ThreePhaseMessage::Client(message) => Some(message),
            _ => None,
        }
    }

    fn request_timer() -> ThreePhaseTimer {
        ThreePhaseTimer::RequestTimeout
    }
}

/// One server: the coordinator (server 0) or a participant (which may become a backup).
#[derive(Clone, Debug)]
pub enum ThreePhaseServer {
    Coordinator(Coordinator),
    Participant(Participant),
}

impl ThreePhaseServer {
    /// Server `id` rebuilt from `records` (none at first boot).
    fn new(setup: &Setup, id: NodeId, records: &[ThreePhaseRecord]) -> ThreePhaseServer {
        assert!(setup.servers >= 2, "three-phase commit needs a coordinator and at least one participant");
        if id == commit::COORDINATOR {
            ThreePhaseServer::Coordinator(Coordinator::recover(setup, records))
        } else {
            ThreePhaseServer::Participant(Participant::recover(setup, id, records))
        }
    }
}

impl Server<ThreePhaseCommit> for ThreePhaseServer {
    fn on_start(&mut self, _ctx: &mut ServerContext<ThreePhaseCommit>) {}

    fn on_recover(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>) {
        match self {
            ThreePhaseServer::Coordinator(coordinator) => coordinator.on_recover(ctx),
            ThreePhaseServer::Participant(participant) => participant.on_recover(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, from: NodeId, message: ThreePhaseMessage) {
        use ThreePhaseMessage as M;
        use ThreePhaseServer::{Coordinator as C, Participant as P};
        match (self, message) {
            (C(c), M::Client(ClientMessage::Request(transaction))) => c.on_request(ctx, from, &transaction),
            (C(c), M::Vote { transaction, yes, reads }) => c.on_vote(ctx, from, transaction, yes, reads),
            (C(c), M::Ack { transaction }) => c.on_ack(ctx, from, transaction),
            (C(c), M::HaveCommitted { transaction }) => c.on_have_committed(ctx, from, transaction),
            (C(c), M::DoCommit { transaction }) => c.on_outcome(ctx, transaction, Decision::Commit),
            (C(c), M::Abort { transaction }) => c.on_outcome(ctx, transaction, Decision::Abort),
            (C(c), M::DecisionRequest { transaction }) => c.on_decision_request(ctx, from, transaction),
            (P(p), M::CanCommit { transaction, share, participants }) => {
                p.on_can_commit(ctx, transaction, share, participants)
            }
            (P(p), M::PreCommit { transaction }) => p.on_pre_commit(ctx, from, transaction),
            (P(p), M::DoCommit { transaction }) => p.on_do_commit(ctx, from, transaction),
            (P(p), M::Abort { transaction }) => p.on_abort(ctx, transaction),
            (P(p), M::StateRequest { transaction }) => p.on_state_request(ctx, from, transaction),
            (P(p), M::StateReport { transaction, state }) => p.on_state_report(ctx, from, transaction, state),
            (P(p), M::Ack { transaction }) => p.on_backup_ack(ctx, from, transaction),
            (P(p), M::DecisionRequest { transaction }) => p.on_decision_request(ctx, from, transaction),
            (P(p), M::Client(ClientMessage::Inquiry { transaction })) => p.on_inquiry(ctx, from, transaction),
            // Messages for the other role, answers nobody waits for, replies meant for clients.
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<ThreePhaseCommit>, timer: ThreePhaseTimer) {
        match (self, timer) {
            (ThreePhaseServer::Coordinator(c), ThreePhaseTimer::Retry(transaction)) => c.on_retry(ctx, transaction),
            (ThreePhaseServer::Participant(p), ThreePhaseTimer::Retry(transaction)) => {
                p.on_backup_retry(ctx, transaction)
            }
            (ThreePhaseServer::Participant(p), ThreePhaseTimer::Suspect(transaction)) => p.on_suspect(ctx, transaction),
            _ => {}
        }
    }

    fn invariants(&self) {
        match self {
            ThreePhaseServer::Coordinator(coordinator) => coordinator.invariants(),
            ThreePhaseServer::Participant(participant) => participant.invariants(),
        }
    }
}
