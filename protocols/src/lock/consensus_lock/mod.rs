//! `consensus-lock`: a lock held as a key in a state machine replicated by Raft, with a
//! session lease and the Raft log index of the key as its fencing token, as etcd's
//! `concurrency.Mutex` (revisions as tokens) and Chubby (Burrows 2006: a lock in a
//! replicated database, sequencers, sessions kept alive by KeepAlives) do.
//!
//! Servers `0..N` run Raft ([`crate::raft`], reused as a library through
//! [`RaftHost`]: nothing of it is copied here) replicating the [`LockTable`] (see
//! `machine.rs`): the waiters' keys in revision order, each with a lease on the leader's
//! clock; the holder is the live key of the lowest revision. Server `N` is the protected
//! resource. The client's part is in `session.rs`: create a key, wait (polling) until no
//! live key is ahead of it, hold the lock with the key's revision as token, keep the key
//! alive, delete it to release.
//!
//! Raft is told about `N` servers, not `N + 1`: the host gives it a setup without the
//! resource. Its checker ([`RaftChecker`], Figure 3's properties) runs next to the lock
//! checker.
//!
//! Variants: `no-lease-recheck` (after waiting, the client takes the lock without checking
//! that its own key is alive: Jepsen's etcd 3.4.3 analysis, etcd issue 11456), and the
//! ones the lock client and resource share: `no-fencing` (Kleppmann 2016), `unlock-any`
//! (a release deletes the holder's key whoever's it is: etcd issue 22082).

mod machine;
mod session;
#[cfg(test)]
mod tests;

pub use machine::{Key, LockTable, LockTableOperation, LockTableOutput};
pub use session::ConsensusSession;

use std::num::NonZeroU64;

use serde::Deserialize;

use super::{
    default_lease_ms, ClientTimer, LockChecker, LockClient, LockObservation, LockProtocol, LockService, Resource,
    ResourceMessage, ResourceRecord, MILESTONES, NO_FENCING, NO_FENCING_VARIANT, NO_LEASE_RECHECK,
    STALE_WRITE_REJECTED, UNLOCK_ANY,
};
use crate::node::{
    Checker, Message, Milestone, NodeId, Protocol, Server, ServerContext, Setup, SyncId, Time, Variant, View,
    Violation, CORRECT, MILLISECOND,
};
use crate::raft::{Options, RaftChecker, RaftHost, RaftMessage, RaftObservation, RaftRecord, RaftServer, ServerTimer};

/// The protocol marker type.
#[derive(Debug)]
pub struct ConsensusLock;

/// The settings of `consensus-lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusLockSettings {
    /// The session lease of a key, on the leader's clock (etcd's lease TTL).
    #[serde(default = "default_lease_ms")]
    pub lease_ms: NonZeroU64,
}

impl Default for ConsensusLockSettings {
    fn default() -> Self {
        ConsensusLockSettings { lease_ms: default_lease_ms() }
    }
}

pub type ConsensusSetup = Setup<ConsensusLockSettings>;

/// The Raft servers of a run: every server but the resource.
pub fn raft_servers(setup: &ConsensusSetup) -> u32 {
    setup.servers - 1
}

/// The setup Raft is told about: the servers without the resource.
fn raft_setup(setup: &ConsensusSetup) -> ConsensusSetup {
    Setup { servers: raft_servers(setup), ..setup.clone() }
}

/// What clients and servers say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConsensusMessage {
    Raft(RaftMessage<LockTable>),
    Resource(ResourceMessage),
}

impl Message for ConsensusMessage {
    fn kind(&self) -> &'static str {
        match self {
            ConsensusMessage::Raft(message) => message.kind(),
            ConsensusMessage::Resource(message) => message.kind(),
        }
    }
}

/// Timers: a Raft server's, the lock client's, and the session's poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsensusTimer {
    Raft(ServerTimer),
    Client(ClientTimer),
    /// The session's request was not answered in time, or a waiter checks its position.
    Poll,
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsensusRecord {
    Raft(RaftRecord<LockTable>),
    Resource(ResourceRecord),
}

/// What the checkers are told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsensusObservation {
    Raft(RaftObservation<LockTable>),
    Lock(LockObservation),
}

impl std::fmt::Display for ConsensusObservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsensusObservation::Raft(observation) => observation.fmt(f),
            ConsensusObservation::Lock(observation) => observation.fmt(f),
        }
    }
}

/// A server: a Raft server of the lock table, or the resource.
#[derive(Debug)]
pub enum ConsensusServer {
    Raft(Box<RaftServer<ConsensusLock>>),
    Resource(Resource),
}

impl Protocol for ConsensusLock {
    const NAME: &'static str = "consensus-lock";
    const ABOUT: &'static str = "a lock key with a session lease in a state machine on Raft, the log index as \
                                 fencing token (etcd's concurrency.Mutex; Chubby, Burrows 2006)";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "a waiter holds the lock only while its own key is alive; tokens checked" },
        Variant {
            name: NO_LEASE_RECHECK,
            about: "after waiting for the keys ahead of it, the client takes the lock without checking its own key \
                    (its lease) is still alive (Jepsen, etcd 3.4.3, 2020; etcd issue 11456)",
        },
        NO_FENCING_VARIANT,
        Variant {
            name: UNLOCK_ANY,
            about: "a release deletes the holder's key whoever's it is, so an abandoned attempt's release deletes \
                    the next holder's lock (etcd issue 22082)",
        },
    ];
    const MILESTONES: &'static [Milestone] =
        &[MILESTONES[0], MILESTONES[1], MILESTONES[2], MILESTONES[3], STALE_WRITE_REJECTED];
    /// One Raft server and the resource.
    const SERVERS_MIN: u32 = 2;

    type Service = LockService;
    type Settings = ConsensusLockSettings;
    type Message = ConsensusMessage;
    type Timer = ConsensusTimer;
    type Record = ConsensusRecord;
    type Observation = ConsensusObservation;
    type Server = ConsensusServer;
    type Client = LockClient<ConsensusLock>;
    type Checker = ConsensusChecker;

    fn server(setup: &ConsensusSetup, id: NodeId) -> ConsensusServer {
        if id == super::resource_of(setup.servers) {
            ConsensusServer::Resource(Resource::new(!setup.is(NO_FENCING)))
        } else {
            ConsensusServer::Raft(Box::new(RaftServer::new(&raft_setup(setup), id)))
        }
    }

    fn recover(setup: &ConsensusSetup, id: NodeId, records: &[ConsensusRecord]) -> ConsensusServer {
        if id == super::resource_of(setup.servers) {
            let writes = records.iter().filter_map(ConsensusLock::as_resource_record);
            ConsensusServer::Resource(Resource::recover(!setup.is(NO_FENCING), writes))
        } else {
            let records = records.iter().filter_map(ConsensusLock::as_record);
            ConsensusServer::Raft(Box::new(RaftServer::recover(&raft_setup(setup), id, records)))
        }
    }

    fn client(setup: &ConsensusSetup, id: NodeId) -> LockClient<ConsensusLock> {
        LockClient::new(setup, id)
    }

    fn checker(setup: &ConsensusSetup) -> ConsensusChecker {
        ConsensusChecker { lock: LockChecker::new(setup), raft: RaftChecker::new(setup) }
    }

    fn milestone(observation: &ConsensusObservation) -> Option<&'static str> {
        match observation {
            ConsensusObservation::Lock(observation) => super::milestone(observation),
            ConsensusObservation::Raft(_) => None,
        }
    }
}

impl RaftHost for ConsensusLock {
    type Machine = LockTable;

    fn options(_setup: &ConsensusSetup) -> Options {
        Options::correct()
    }

    fn message(message: RaftMessage<LockTable>) -> ConsensusMessage {
        ConsensusMessage::Raft(message)
    }

    fn timer(timer: ServerTimer) -> ConsensusTimer {
        ConsensusTimer::Raft(timer)
    }

    fn record(record: RaftRecord<LockTable>) -> ConsensusRecord {
        ConsensusRecord::Raft(record)
    }

    fn observation(observation: RaftObservation<LockTable>) -> ConsensusObservation {
        ConsensusObservation::Raft(observation)
    }

    fn as_record(record: &ConsensusRecord) -> Option<&RaftRecord<LockTable>> {
        match record {
            ConsensusRecord::Raft(record) => Some(record),
            ConsensusRecord::Resource(_) => None,
        }
    }

    fn as_observation(observation: &ConsensusObservation) -> Option<&RaftObservation<LockTable>> {
        match observation {
            ConsensusObservation::Raft(observation) => Some(observation),
            ConsensusObservation::Lock(_) => None,
        }
    }

    fn as_server(server: &ConsensusServer) -> Option<&RaftServer<ConsensusLock>> {
        match server {
            ConsensusServer::Raft(server) => Some(server.as_ref()),
            ConsensusServer::Resource(_) => None,
        }
    }
}

impl LockProtocol for ConsensusLock {
    type Session = ConsensusSession;

    fn session(setup: &ConsensusSetup, id: NodeId) -> ConsensusSession {
        ConsensusSession::new(setup, id)
    }

    fn lease(setup: &ConsensusSetup) -> Time {
        setup.settings.lease_ms.get() * MILLISECOND
    }

    fn resource_message(message: ResourceMessage) -> ConsensusMessage {
        ConsensusMessage::Resource(message)
    }

    fn as_resource_message(message: &ConsensusMessage) -> Option<&ResourceMessage> {
        match message {
            ConsensusMessage::Resource(message) => Some(message),
            ConsensusMessage::Raft(_) => None,
        }
    }

    fn resource_record(record: ResourceRecord) -> ConsensusRecord {
        ConsensusRecord::Resource(record)
    }

    fn as_resource_record(record: &ConsensusRecord) -> Option<&ResourceRecord> {
        match record {
            ConsensusRecord::Resource(record) => Some(record),
            ConsensusRecord::Raft(_) => None,
        }
    }

    fn client_timer(timer: ClientTimer) -> ConsensusTimer {
        ConsensusTimer::Client(timer)
    }

    fn as_client_timer(timer: &ConsensusTimer) -> Option<ClientTimer> {
        match timer {
            ConsensusTimer::Client(timer) => Some(*timer),
            _ => None,
        }
    }

    fn lock_observation(observation: LockObservation) -> ConsensusObservation {
        ConsensusObservation::Lock(observation)
    }

    fn as_lock_observation(observation: &ConsensusObservation) -> Option<&LockObservation> {
        match observation {
            ConsensusObservation::Lock(observation) => Some(observation),
            ConsensusObservation::Raft(_) => None,
        }
    }
}

impl Server<ConsensusLock> for ConsensusServer {
    fn on_start(&mut self, ctx: &mut ServerContext<ConsensusLock>) {
        if let ConsensusServer::Raft(raft) = self {
            raft.start(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut ServerContext<ConsensusLock>, from: NodeId, message: ConsensusMessage) {
        match (self, message) {
            (ConsensusServer::Raft(raft), ConsensusMessage::Raft(message)) => raft.handle_message(ctx, from, message),
            (ConsensusServer::Resource(resource), ConsensusMessage::Resource(ResourceMessage::Write(write))) => {
                resource.on_write(ctx, from, write);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<ConsensusLock>, timer: ConsensusTimer) {
        if let (ConsensusServer::Raft(raft), ConsensusTimer::Raft(timer)) = (self, timer) {
            raft.handle_timer(ctx, timer);
        }
    }

    fn on_synced(&mut self, ctx: &mut ServerContext<ConsensusLock>, sync: SyncId) {
        match self {
            ConsensusServer::Raft(raft) => raft.handle_synced(ctx, sync),
            ConsensusServer::Resource(resource) => resource.on_synced(ctx, sync),
        }
    }

    fn invariants(&self) {
        match self {
            ConsensusServer::Raft(raft) => raft.check(),
            ConsensusServer::Resource(resource) => resource.invariants(),
        }
    }
}

/// The lock checker and Raft's, side by side.
#[derive(Debug)]
pub struct ConsensusChecker {
    lock: LockChecker,
    raft: RaftChecker<ConsensusLock>,
}

impl Checker<ConsensusLock> for ConsensusChecker {
    const INSPECTS: bool = true;

    fn observe(&mut self, at: Time, node: NodeId, observation: &ConsensusObservation) -> Result<(), Violation> {
        match observation {
            ConsensusObservation::Lock(observation) => self.lock.observe_lock(at, node, observation),
            ConsensusObservation::Raft(observation) => self.raft.observe_raft(at, node, observation),
        }
    }

    fn inspect(&mut self, at: Time, node: NodeId, world: &dyn View<ConsensusLock>) -> Result<(), Violation> {
        self.raft.inspect(at, node, world)
    }

    fn figures(&self, end: Time) -> Vec<(&'static str, f64)> {
        self.lock.lock_figures(end)
    }

    fn stuck_reason(&self, end: Time) -> Option<String> {
        let raft = self.raft.stuck_reason(end);
        match (self.lock.lock_stuck_reason(end), raft) {
            (Some(lock), Some(raft)) => Some(format!("{lock}; {raft}")),
            (lock, raft) => lock.or(raft),
        }
    }
}
