//! Distributed locks: three lock services that serve one lock client, one workload and one
//! protected resource, so that they can be run side by side on the same faults.
//!
//! A client acquires the lock, writes to a protected resource a few times while it believes
//! it holds the lock, renews its lease when it is close to running out, and releases it.
//! Every lock here is a lease: a holder that crashes or pauses loses the lock when its lease
//! runs out, so that the others are not blocked forever. That is also the classic failure
//! (Kleppmann, "How to do distributed locking", 2016): a client checks that it holds the
//! lock, pauses (a GC pause, a stopped VM) while its lease runs out, another client takes the
//! lock and writes, and the first wakes up and writes too. No check on the client can close
//! the window between the check and the write; only the resource can, by refusing a write
//! whose *fencing token* is older than the newest it has accepted (Burrows, "The Chubby lock
//! service for loosely-coupled distributed systems", OSDI 2006, section 2.4, "sequencers").
//!
//! The pieces, each in its own file:
//! - [`service`]: the operations (`acquire`, `write`, `release`), replies, the workload (a
//!   cycle per client: acquire, `writes` writes each after its share of `hold_ms` of work,
//!   release) and the history check that tokens are issued in acquisition order;
//! - [`client`]: the lock client shared by every design. It measures its lease on its own
//!   monotonic clock from when it *asked*, deems it over `validity` after that (the design
//!   subtracts its drift allowance), renews it when half a lease is left, checks it before
//!   each write, and carries its token to the resource. What differs per design (whom it
//!   asks and what counts as a grant) is the design's [`Session`];
//! - [`resource`]: the protected resource, the last server of every design, which records
//!   every accepted write with its token and writer, and with fencing on rejects stale tokens;
//! - [`checker`]: one file per property, judged on true time, not on the nodes' clocks:
//!   mutual exclusion of the validity the services granted, serial tenures and monotonic
//!   tokens at the resource (violations), how long two clients *believed* they held the lock
//!   at once and how long the lock stood free while clients waited (figures);
//! - the designs: [`lease_lock`] (one lock server granting leases and tokens), [`redlock`]
//!   (the Redis algorithm over independent servers) and [`consensus_lock`] (a lock key in a
//!   replicated state machine on Raft, with a session lease and the log index as token).
//!
//! Flawed variants, each named after its source (not every design has every one):
//! `no-fencing` (the resource does not check tokens: Kleppmann's paused client),
//! `unlock-any` (release deletes whatever lock is there: etcd issue 22082),
//! `lease-from-receipt` (the client measures its lease from when the grant arrived),
//! `drift-added` (Redlock's validity with the drift allowance's sign flipped) and
//! `no-lease-recheck` (the consensus lock: Jepsen's etcd 3.4.3 analysis, etcd issue 11456).

pub mod checker;
pub mod client;
pub mod consensus_lock;
pub mod lease_lock;
pub mod redlock;
pub mod resource;
pub mod service;
#[cfg(test)]
mod tests;

pub use checker::LockChecker;
pub use client::{Answer, ClientTimer, Held, LockClient, Session, ATTEMPTS};
pub use resource::{Resource, ResourceMessage, ResourceRecord, Write};
pub use service::{LockModel, LockOperation, LockParams, LockReply, LockService, LockWorkload};

use std::fmt;

use crate::node::{Milestone, NodeId, Protocol, SetupOf, Time, MILLISECOND};

/// A fencing token: a number the lock service hands out with each grant, larger for every
/// later grant (Chubby's sequencer, etcd's revision, ZooKeeper's zxid).
pub type Token = u64;

/// One attempt of one client to acquire the lock, and, if it succeeds, its tenure: the
/// client (numbered from 0, as the reports number clients) and the number of its attempt.
/// Servers use it as the lock's owner (Redis's random value, etcd's lease), the resource
/// and the checkers to tell holders apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tenure {
    pub client: u32,
    pub number: u64,
}

impl Tenure {
    /// The client's process id, in a run whose clients start at `first_client`.
    pub fn process(&self, first_client: NodeId) -> NodeId {
        first_client + self.client
    }
}

impl fmt::Display for Tenure {
    /// `1.3`: client 1's third attempt.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.client, self.number)
    }
}

pub const NO_FENCING: &str = "no-fencing";
pub const UNLOCK_ANY: &str = "unlock-any";
pub const LEASE_FROM_RECEIPT: &str = "lease-from-receipt";
pub const DRIFT_ADDED: &str = "drift-added";
pub const NO_LEASE_RECHECK: &str = "no-lease-recheck";

/// Variant `no-fencing`, as every design with tokens has it.
pub const NO_FENCING_VARIANT: crate::node::Variant = crate::node::Variant {
    name: NO_FENCING,
    about: "the resource does not check tokens, so a client paused past its lease writes after the next holder \
            (Kleppmann, \"How to do distributed locking\", 2016)",
};

/// A lock protocol, as the shared client, resource and checker see it: the conversions
/// between its own message, timer, record and observation types and theirs.
pub trait LockProtocol: Protocol<Service = LockService> {
    /// The design's part of the client: whom it asks, and what counts as a grant.
    type Session: Session<Self>;

    /// The design's session for client `id`.
    fn session(setup: &SetupOf<Self>, id: NodeId) -> Self::Session;
    /// The lease a client asks for.
    fn lease(setup: &SetupOf<Self>) -> Time;
    fn resource_message(message: ResourceMessage) -> Self::Message;
    fn as_resource_message(message: &Self::Message) -> Option<&ResourceMessage>;
    fn resource_record(record: ResourceRecord) -> Self::Record;
    fn as_resource_record(record: &Self::Record) -> Option<&ResourceRecord>;
    fn client_timer(timer: ClientTimer) -> Self::Timer;
    fn as_client_timer(timer: &Self::Timer) -> Option<ClientTimer>;
    fn lock_observation(observation: LockObservation) -> Self::Observation;
    fn as_lock_observation(observation: &Self::Observation) -> Option<&LockObservation>;
}

/// The protected resource: the last server of every lock design.
pub fn resource_of(servers: u32) -> NodeId {
    servers - 1
}

/// What clients, servers and the resource report to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockObservation {
    /// A client began to acquire the lock.
    Waiting,
    /// A client acquired the lock: by its own clock it holds it for `valid_for` from now.
    Acquired { tenure: Tenure, token: Option<Token>, valid_for: Time },
    /// A client renewed its lease: it holds the lock for `valid_for` from now.
    Renewed { tenure: Tenure, valid_for: Time },
    /// A client released the lock (it stops believing it holds it as it sends the release).
    Released { tenure: Tenure },
    /// A client's own clock says its lease ran out before it released the lock.
    LeaseRanOut { tenure: Tenure },
    /// A client learned it no longer holds the lock (a renewal or a write was refused).
    Lost { tenure: Tenure },
    /// A client's acquire ended without the lock.
    GaveUp,
    /// The resource accepted a write, durably.
    WriteAccepted { write: Write },
    /// The resource's fencing refused a write: its token is older than `newest`.
    WriteRejected { write: Write, newest: Token },
    /// A lock server (or one Redlock instance, or the consensus lock's state machine)
    /// granted the lock to `tenure`.
    Granted { tenure: Tenure, token: Option<Token> },
    /// A lock server let `tenure`'s lease go: it ran out, or was released.
    Freed { tenure: Tenure },
}

impl fmt::Display for LockObservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockObservation::Waiting => f.write_str("waiting for the lock"),
            LockObservation::Acquired { tenure, token, valid_for } => {
                write!(f, "acquired the lock: tenure {tenure}{}, valid for {}", token_words(*token), ms(*valid_for))
            }
            LockObservation::Renewed { tenure, valid_for } => {
                write!(f, "renewed tenure {tenure}: valid for {}", ms(*valid_for))
            }
            LockObservation::Released { tenure } => write!(f, "released tenure {tenure}"),
            LockObservation::LeaseRanOut { tenure } => write!(f, "the lease of tenure {tenure} ran out"),
            LockObservation::Lost { tenure } => write!(f, "lost tenure {tenure}"),
            LockObservation::GaveUp => f.write_str("gave up acquiring the lock"),
            LockObservation::WriteAccepted { write } => write!(f, "accepted {write}"),
            LockObservation::WriteRejected { write, newest } => {
                write!(f, "rejected {write}: token {newest} was accepted before")
            }
            LockObservation::Granted { tenure, token } => {
                write!(f, "granted the lock to tenure {tenure}{}", token_words(*token))
            }
            LockObservation::Freed { tenure } => write!(f, "freed the lock of tenure {tenure}"),
        }
    }
}

fn token_words(token: Option<Token>) -> String {
    token.map_or_else(String::new, |token| format!(" token {token}"))
}

/// A duration for events and violations: `49.980 ms`.
pub(crate) fn ms(time: Time) -> String {
    format!("{:.3} ms", time as f64 / MILLISECOND as f64)
}

/// The milestones every design shares; a design adds `STALE_WRITE_REJECTED` when it hands
/// out tokens.
pub const MILESTONES: &[Milestone] = &[
    Milestone { name: "lock-acquired", about: "a client acquired the lock" },
    Milestone { name: "lease-renewed", about: "a client renewed its lease" },
    Milestone { name: "lease-ran-out", about: "a holder's own clock said its lease ran out before it released" },
    Milestone { name: "write-accepted", about: "the resource accepted a write" },
];

/// The milestone of designs with fencing tokens.
pub const STALE_WRITE_REJECTED: Milestone =
    Milestone { name: "stale-write-rejected", about: "the resource refused a write with an older token" };

/// The milestone a lock observation marks, if any.
pub fn milestone(observation: &LockObservation) -> Option<&'static str> {
    match observation {
        LockObservation::Acquired { .. } => Some("lock-acquired"),
        LockObservation::Renewed { .. } => Some("lease-renewed"),
        LockObservation::LeaseRanOut { .. } => Some("lease-ran-out"),
        LockObservation::WriteAccepted { .. } => Some("write-accepted"),
        LockObservation::WriteRejected { .. } => Some("stale-write-rejected"),
        _ => None,
    }
}

/// The lease clients ask for unless a scenario's `[settings] lease_ms` says otherwise.
pub(crate) fn default_lease_ms() -> std::num::NonZeroU64 {
    std::num::NonZeroU64::new(50).expect("not zero")
}

/// What a lease of `lease` measured on one clock is worth on another, both drifting by at
/// most `drift_bound_ppm` either way: a client that measures `lease - allowance` from when
/// it asked stops before a server that measured `lease` from when it granted. A duration
/// `d` on a clock of rate `1 + δ` lasts `d / (1 + δ)` of true time, so the client's
/// `v / (1 - ρ)` must not exceed the server's `lease / (1 + ρ)`: `v = lease (1 - 2ρ)` will do.
pub fn drift_allowance(lease: Time, drift_bound_ppm: f64) -> Time {
    (lease as f64 * 2.0 * drift_bound_ppm / 1e6).ceil() as Time
}
