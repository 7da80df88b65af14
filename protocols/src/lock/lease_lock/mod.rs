//! `lease-lock`: one lock server granting leases with fencing tokens (the design of Chubby's
//! lock with sequencers, Burrows 2006 sections 2.4 and 2.8, without the replication), and
//! the protected resource.
//!
//! Server 0 is the lock server and server 1 the resource. A client asks for the lock with
//! `Acquire`; the server grants it when nobody holds it or the holder's lease has run out
//! by the server's own monotonic clock, with the next token of a counter that only grows,
//! and answers `Busy` otherwise. The lease lasts `lease_ms` from the grant by the server's
//! clock; the holder deems it over `lease_ms` less the drift allowance
//! ([`drift_allowance`](crate::lock::drift_allowance)) after it *asked*, so it stops first.
//! `Renew` extends the holder's lease by `lease_ms` from the renewal; `Release` frees it,
//! if the release comes from the holder's tenure.
//!
//! Durability (`[settings] durable`, default true): a durable server records each grant
//! (token and tenure) and syncs it before it answers, so a restarted server never hands
//! out a token twice, and treats the recorded holder as holding the lock for a full lease
//! from the restart (its lease may have been renewed just before the crash, and the clock
//! it was measured on did not survive). A server that is not durable forgets everything:
//! it grants nothing for one lease after a restart (Chubby's new master waits out the old
//! leases, section 2.8), so grants stay exclusive, but its token counter starts again
//! from 1: tokens then go backwards, which the history check reports and the resource's
//! fencing turns into refused writes.
//!
//! Variants: `no-fencing` (the resource does not check tokens: Kleppmann 2016, the paused
//! client writes after the next holder), `unlock-any` (a release frees the lock whoever
//! holds it, so a late or repeated release frees the next holder's lock: etcd issue 22082),
//! `lease-from-receipt` (the client measures its lease from when the grant arrived: a
//! grant held up in the network or by a pause outlives the server's lease).

mod server;
mod session;
#[cfg(test)]
mod tests;

pub use server::LockServer;
pub use session::LeaseSession;

use std::num::NonZeroU64;

use serde::Deserialize;

use super::{
    default_lease_ms, ClientTimer, LockChecker, LockClient, LockObservation, LockProtocol, LockService, Resource,
    ResourceMessage, ResourceRecord, Tenure, Token, LEASE_FROM_RECEIPT, MILESTONES, NO_FENCING, NO_FENCING_VARIANT,
    STALE_WRITE_REJECTED, UNLOCK_ANY,
};
use crate::node::{
    Message, Milestone, NodeId, Protocol, Server, ServerContext, Setup, SyncId, Time, Variant, CORRECT, MILLISECOND,
};

/// The lock server.
pub const LOCK_SERVER: NodeId = 0;

/// The protocol marker type.
#[derive(Debug)]
pub struct LeaseLock;

/// The settings of `lease-lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseLockSettings {
    /// How long a grant or a renewal lasts, by the server's clock.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: NonZeroU64,
    /// Whether the server records its grants durably before it answers.
    #[serde(default = "yes")]
    pub durable: bool,
}

impl Default for LeaseLockSettings {
    fn default() -> Self {
        LeaseLockSettings { lease_ms: default_lease_ms(), durable: true }
    }
}

fn yes() -> bool {
    true
}

/// What clients and servers say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LeaseMessage {
    Acquire {
        tenure: Tenure,
    },
    Granted {
        tenure: Tenure,
        token: Token,
    },
    /// Someone else holds the lock (or the server is waiting out leases after a restart).
    Busy {
        tenure: Tenure,
    },
    /// Renewal `round` of `tenure`'s lease.
    Renew {
        tenure: Tenure,
        round: u64,
    },
    Renewed {
        tenure: Tenure,
        round: u64,
    },
    /// `tenure` does not hold the lock (any more).
    NotHolder {
        tenure: Tenure,
        round: u64,
    },
    Release {
        tenure: Tenure,
    },
    Released {
        tenure: Tenure,
    },
    Resource(ResourceMessage),
}

impl Message for LeaseMessage {
    fn kind(&self) -> &'static str {
        match self {
            LeaseMessage::Acquire { .. } => "Acquire",
            LeaseMessage::Granted { .. } => "Granted",
            LeaseMessage::Busy { .. } => "Busy",
            LeaseMessage::Renew { .. } => "Renew",
            LeaseMessage::Renewed { .. } => "Renewed",
            LeaseMessage::NotHolder { .. } => "NotHolder",
            LeaseMessage::Release { .. } => "Release",
            LeaseMessage::Released { .. } => "Released",
            LeaseMessage::Resource(message) => message.kind(),
        }
    }
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseRecord {
    /// The lock server granted the lock to `tenure` with `token`.
    Granted {
        tenure: Tenure,
        token: Token,
    },
    Resource(ResourceRecord),
}

/// A server: the lock server or the resource.
#[derive(Clone, Debug)]
pub enum LeaseServer {
    Lock(LockServer),
    Resource(Resource),
}

pub type LeaseSetup = Setup<LeaseLockSettings>;

impl Protocol for LeaseLock {
    const NAME: &'static str = "lease-lock";
    const ABOUT: &'static str = "one lock server granting leases with fencing tokens, and a resource that checks \
                                 them (Chubby's sequencers, Burrows 2006; Kleppmann 2016)";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "leases measured from the request, tokens checked by the resource" },
        NO_FENCING_VARIANT,
        Variant {
            name: UNLOCK_ANY,
            about: "a release frees the lock whoever holds it, so a repeated or late release frees the next \
                    holder's lock (etcd issue 22082)",
        },
        Variant {
            name: LEASE_FROM_RECEIPT,
            about: "the client measures its lease from when the grant arrived, not from when it asked, so a \
                    delayed grant outlives the server's lease (Chubby section 2.8 measures it from the request)",
        },
    ];
    const MILESTONES: &'static [Milestone] =
        &[MILESTONES[0], MILESTONES[1], MILESTONES[2], MILESTONES[3], STALE_WRITE_REJECTED];
    const SERVERS_MIN: u32 = 2;

    type Service = LockService;
    type Settings = LeaseLockSettings;
    type Message = LeaseMessage;
    type Timer = ClientTimer;
    type Record = LeaseRecord;
    type Observation = LockObservation;
    type Server = LeaseServer;
    type Client = LockClient<LeaseLock>;
    type Checker = LockChecker;

    fn server(setup: &LeaseSetup, id: NodeId) -> LeaseServer {
        match role(setup, id) {
            Role::Lock => LeaseServer::Lock(LockServer::new(setup)),
            Role::Resource => LeaseServer::Resource(Resource::new(!setup.is(NO_FENCING))),
        }
    }

    fn recover(setup: &LeaseSetup, id: NodeId, records: &[LeaseRecord]) -> LeaseServer {
        match role(setup, id) {
            Role::Lock => LeaseServer::Lock(LockServer::recover(setup, records)),
            Role::Resource => {
                let writes = records.iter().filter_map(|record| LeaseLock::as_resource_record(record));
                LeaseServer::Resource(Resource::recover(!setup.is(NO_FENCING), writes))
            }
        }
    }

    fn client(setup: &LeaseSetup, id: NodeId) -> LockClient<LeaseLock> {
        LockClient::new(setup, id)
    }

    fn checker(setup: &LeaseSetup) -> LockChecker {
        LockChecker::new(setup)
    }

    fn milestone(observation: &LockObservation) -> Option<&'static str> {
        super::milestone(observation)
    }
}

enum Role {
    Lock,
    Resource,
}

fn role(setup: &LeaseSetup, id: NodeId) -> Role {
    assert_eq!(setup.servers, 2, "lease-lock runs one lock server and the resource: nodes = 2");
    if id == LOCK_SERVER {
        Role::Lock
    } else {
        Role::Resource
    }
}

impl LockProtocol for LeaseLock {
    type Session = LeaseSession;

    fn session(setup: &LeaseSetup, _id: NodeId) -> LeaseSession {
        LeaseSession::new(setup)
    }

    fn lease(setup: &LeaseSetup) -> Time {
        setup.settings.lease_ms.get() * MILLISECOND
    }

    fn resource_message(message: ResourceMessage) -> LeaseMessage {
        LeaseMessage::Resource(message)
    }

    fn as_resource_message(message: &LeaseMessage) -> Option<&ResourceMessage> {
        match message {
            LeaseMessage::Resource(message) => Some(message),
            _ => None,
        }
    }

    fn resource_record(record: ResourceRecord) -> LeaseRecord {
        LeaseRecord::Resource(record)
    }

    fn as_resource_record(record: &LeaseRecord) -> Option<&ResourceRecord> {
        match record {
            LeaseRecord::Resource(record) => Some(record),
            LeaseRecord::Granted { .. } => None,
        }
    }

    fn client_timer(timer: ClientTimer) -> ClientTimer {
        timer
    }

    fn as_client_timer(timer: &ClientTimer) -> Option<ClientTimer> {
        Some(*timer)
    }

    fn lock_observation(observation: LockObservation) -> LockObservation {
        observation
    }

    fn as_lock_observation(observation: &LockObservation) -> Option<&LockObservation> {
        Some(observation)
    }
}

impl Server<LeaseLock> for LeaseServer {
    fn on_start(&mut self, _ctx: &mut ServerContext<LeaseLock>) {}

    fn on_recover(&mut self, ctx: &mut ServerContext<LeaseLock>) {
        if let LeaseServer::Lock(server) = self {
            server.on_recover(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut ServerContext<LeaseLock>, from: NodeId, message: LeaseMessage) {
        match (self, message) {
            (LeaseServer::Resource(resource), LeaseMessage::Resource(ResourceMessage::Write(write))) => {
                resource.on_write(ctx, from, write);
            }
            (LeaseServer::Lock(server), message) => server.on_message(ctx, from, message),
            _ => {}
        }
    }

    fn on_timer(&mut self, _ctx: &mut ServerContext<LeaseLock>, _timer: ClientTimer) {}

    fn on_synced(&mut self, ctx: &mut ServerContext<LeaseLock>, sync: SyncId) {
        if let LeaseServer::Resource(resource) = self {
            resource.on_synced(ctx, sync);
        }
    }

    fn invariants(&self) {
        match self {
            LeaseServer::Lock(server) => server.invariants(),
            LeaseServer::Resource(resource) => resource.invariants(),
        }
    }
}
