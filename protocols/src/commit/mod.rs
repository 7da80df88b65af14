//! What two-phase commit ([`crate::twopc`]) and three-phase commit ([`crate::threepc`])
//! share: the roles and the key-to-participant mapping, the participant's lock table and
//! vote rule, the transaction client, the observations, and the atomicity checker.
//!
//! Roles. Server 0 is the coordinator ([`COORDINATOR`]); servers `1..servers` are the
//! participants, and each key is held by exactly one of them ([`participant_of`]). A client
//! sends its transaction to the coordinator, which runs the commit protocol over the
//! participants holding the transaction's keys ([`shares`]).
//!
//! Data. Each participant keeps, per key it holds, the list of the transactions appended to
//! it ([`Store`]). A yes vote carries what the transaction read there (taken under the
//! transaction's locks, so no other transaction can change it until the decision); the
//! coordinator hands the reads of a commit to the client in its `Reply`, and a participant
//! appends the transaction's id to its keys when it learns the commit. A participant
//! rebuilds its store from its log after a crash: the appends of every transaction whose
//! commit it recorded, in the order it recorded them.
//!
//! Votes. A participant votes no if it holds a key the workload vetoed, or if the
//! transaction conflicts with another undecided transaction on a key it holds: locks are
//! taken when a participant votes yes and held until it learns the decision, and a
//! conflicting request is refused at once rather than queued (no-wait locking, so a vote
//! never waits on a lock and no deadlock can form). See [`LockTable`].
//!
//! Atomic commitment (Bernstein, Hadzilacos and Goodman, "Concurrency Control and Recovery
//! in Database Systems", 1987, section 7.3) is checked online by [`AtomicityChecker`]:
//! AC1 all processes that decide reach the same decision; AC2 no process reverses its
//! decision, across its crashes; AC3 commit only if every participant voted yes; AC4 if
//! there are no failures and every participant voted yes, the decision is commit. The
//! checker also measures blocking, the price 2PC pays for AC1 under coordinator failures
//! (BHG section 7.4): participants that voted yes and wait past their timeout.

mod checker;
mod client;
mod locks;
mod service;
mod store;
#[cfg(test)]
mod tests;

pub use checker::AtomicityChecker;
pub use client::{TransactionClient, ATTEMPTS};
pub use locks::LockTable;
pub use service::{
    transactional, Committed, Reads, Transaction, TransactionModel, TransactionParams, TransactionService,
    TransactionWorkload,
};
pub use store::Store;

use std::collections::BTreeMap;

use crate::node::{Milestone, NodeId, Protocol};
use crate::service::{Key, Value};

/// A transaction's identity: the unique value the workload drew for it.
pub type TransactionId = Value;

/// The server that coordinates every transaction.
pub const COORDINATOR: NodeId = 0;

/// The outcome of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    Commit,
    Abort,
}

/// The participant holding `key` in a cluster of `servers` servers: `1 + key % (servers - 1)`.
/// A cluster needs at least two servers (a coordinator and a participant); the protocols'
/// constructors check it.
pub fn participant_of(servers: u32, key: Key) -> NodeId {
    let participants = u64::from(servers.max(2) - 1);
    1 + (key % participants) as NodeId
}

/// A transaction's part at one participant: the keys it holds (and locks), those of them
/// it reads and appends to, and those whose holder must vote no.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Share {
    pub keys: Vec<Key>,
    pub reads: Vec<Key>,
    pub writes: Vec<Key>,
    pub vetoes: Vec<Key>,
}

impl Share {
    /// A share that appends to every one of `keys` and reads nothing.
    pub fn writing(keys: &[Key], vetoes: &[Key]) -> Share {
        Share { keys: keys.to_vec(), reads: Vec::new(), writes: keys.to_vec(), vetoes: vetoes.to_vec() }
    }
}

/// A transaction's keys, reads, appends and vetoes split by the participant holding them,
/// in id order.
pub fn shares(servers: u32, transaction: &Transaction) -> BTreeMap<NodeId, Share> {
    let mut shares: BTreeMap<NodeId, Share> = BTreeMap::new();
    for &key in &transaction.keys {
        let share = shares.entry(participant_of(servers, key)).or_default();
        share.keys.push(key);
        for (list, of) in [(&mut share.reads, &transaction.reads), (&mut share.writes, &transaction.writes)] {
            if of.contains(&key) {
                list.push(key);
            }
        }
        if transaction.vetoes.contains(&key) {
            share.vetoes.push(key);
        }
    }
    shares
}

/// The participants of a transaction on `keys`, in id order, without repeats.
pub fn participants(servers: u32, keys: &[Key]) -> Vec<NodeId> {
    let mut participants: Vec<NodeId> = keys.iter().map(|&key| participant_of(servers, key)).collect();
    participants.sort_unstable();
    participants.dedup();
    participants
}

/// What a transaction client and the servers say to each other, in both protocols.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientMessage {
    /// Client to coordinator: run this transaction. Sent again after a timeout; the
    /// coordinator handles a repeat as a request for the outcome.
    Request(Transaction),
    /// Client to the transaction's participants, after a timeout: do you know the outcome?
    Inquiry { transaction: TransactionId },
    /// A server that knows the outcome, to the client, with what a commit read (as far as
    /// that server knows it).
    Reply { transaction: TransactionId, decision: Decision, reads: Reads },
}

impl ClientMessage {
    /// The message's type, for the per-type message counts.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Request(_) => "Request",
            ClientMessage::Inquiry { .. } => "Inquiry",
            ClientMessage::Reply { .. } => "Reply",
        }
    }
}

/// A commit protocol, as its transaction client and checker see it.
pub trait CommitProtocol: Protocol<Observation = CommitObservation, Service = TransactionService> {
    /// The protocol's message carrying `message`.
    fn client_message(message: ClientMessage) -> Self::Message;
    /// The client message `message` carries, if it carries one.
    fn as_client_message(message: &Self::Message) -> Option<&ClientMessage>;
    /// The client's request timer.
    fn request_timer() -> Self::Timer;
}

/// Events reported to the atomicity checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitObservation {
    /// The coordinator began a transaction (its participants follow from `keys`).
    Began { transaction: TransactionId, keys: Vec<Key>, vetoes: Vec<Key> },
    /// A participant voted (a yes vote only once its record is durable).
    Voted { transaction: TransactionId, yes: bool },
    /// A process decided, once its decision record is written (and synced where the protocol
    /// forces it), so the decision is one it can rebuild after a crash.
    Decided { transaction: TransactionId, decision: Decision },
    /// A process acted on a timeout for the transaction: it suspects a failure.
    TimedOut { transaction: TransactionId },
    /// A participant that voted yes has waited past its timeout without a decision: it is
    /// blocked from now until it decides.
    Blocked { transaction: TransactionId },
    /// A process restarted with the transaction undecided in its log.
    Restarted { transaction: TransactionId },
    /// Three-phase commit: a participant took over as the backup coordinator and runs the
    /// termination protocol.
    TerminationStarted { transaction: TransactionId },
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Decision::Commit => "commit",
            Decision::Abort => "abort",
        })
    }
}

impl std::fmt::Display for CommitObservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitObservation::Began { transaction, keys, vetoes } => {
                write!(f, "began transaction {transaction} on keys {keys:?}")?;
                if !vetoes.is_empty() {
                    write!(f, " vetoed at {vetoes:?}")?;
                }
                Ok(())
            }
            CommitObservation::Voted { transaction, yes } => {
                write!(f, "voted {} on transaction {transaction}", if *yes { "yes" } else { "no" })
            }
            CommitObservation::Decided { transaction, decision } => write!(f, "decided {decision} for {transaction}"),
            CommitObservation::TimedOut { transaction } => write!(f, "timed out on transaction {transaction}"),
            CommitObservation::Blocked { transaction } => write!(f, "blocked on transaction {transaction}"),
            CommitObservation::Restarted { transaction } => {
                write!(f, "restarted with transaction {transaction} undecided")
            }
            CommitObservation::TerminationStarted { transaction } => {
                write!(f, "took over transaction {transaction} as backup coordinator")
            }
        }
    }
}

/// The milestones of two-phase commit; three-phase commit adds [`TERMINATION_STARTED`].
pub const MILESTONES: &[Milestone] = &[
    Milestone { name: "transaction-committed", about: "a process decided commit" },
    Milestone { name: "transaction-aborted", about: "a process decided abort" },
    Milestone { name: "participant-blocked", about: "a participant that voted yes waited past its timeout" },
    Milestone { name: "restarted-undecided", about: "a process restarted with an undecided transaction" },
];

/// Three-phase commit's own milestone.
pub const TERMINATION_STARTED: Milestone =
    Milestone { name: "termination-started", about: "a backup coordinator ran the termination protocol" };

/// The milestone an observation marks, for both protocols.
pub fn milestone(observation: &CommitObservation) -> Option<&'static str> {
    match observation {
        CommitObservation::Decided { decision: Decision::Commit, .. } => Some("transaction-committed"),
        CommitObservation::Decided { decision: Decision::Abort, .. } => Some("transaction-aborted"),
        CommitObservation::Blocked { .. } => Some("participant-blocked"),
        CommitObservation::Restarted { .. } => Some("restarted-undecided"),
        CommitObservation::TerminationStarted { .. } => Some("termination-started"),
        CommitObservation::Began { .. } | CommitObservation::Voted { .. } | CommitObservation::TimedOut { .. } => None,
    }
}
