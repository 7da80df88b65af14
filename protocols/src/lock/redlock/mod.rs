//! `redlock`: the Redis algorithm for a lock over `M` independent Redis servers that share
//! nothing (the Redis documentation, "Distributed Locks with Redis"), and the protected
//! resource. Servers `0..M` are the Redis instances (`M` is `nodes - 1`; the documentation
//! suggests 5) and server `M` is the resource.
//!
//! The client (see `session.rs`) takes the time, asks every instance to set the lock's key
//! to its tenure if the key is absent, with an expiry of the TTL (`SET key tenure NX PX
//! ttl`), and waits for the answers. It holds the lock if a majority set the key and the
//! time elapsed is below the validity: `TTL - elapsed - drift`, with Redis's drift allowance
//! of `TTL / 100 + 2 ms`. Otherwise it unlocks every instance and retries after a random
//! delay. It extends the lock the same way (on a majority, within the validity), and
//! unlocks every instance with a delete that only removes its own tenure (Redis's Lua
//! script); unlocks are not acknowledged, so a release is `M` messages.
//!
//! An instance (see `server.rs`) keeps the key in memory with its expiry on its *wall*
//! clock, as Redis does, and lets it go lazily: an expired key is absent to the next
//! command. With `[settings] persistence = true` (Redis's AOF with `appendfsync always`)
//! it records every change and syncs it before it answers; without it, a restarted
//! instance has forgotten the key.
//!
//! Redlock hands out no fencing token: its tenures are random values, not numbers that grow,
//! so the resource cannot refuse a stale writer (Kleppmann 2016). Its known weaknesses are
//! scenarios rather than variants, each a double grant: a clock jump on one instance
//! expires a key early, an instance restarted without persistence forgets it, and a client
//! that pauses past its validity writes after the next holder. Variants: `drift-added`
//! (validity = TTL - (elapsed - drift): the allowance's sign flipped, so a client believes
//! its lock outlives the keys), `unlock-any` (the unlock deletes whatever key is there,
//! not only its own: the reason the documentation's unlock script compares the value),
//! `lease-from-receipt` (the validity is measured from the majority's arrival, without
//! subtracting the time it took: the documentation's step 3 skipped).

mod server;
mod session;
#[cfg(test)]
mod tests;

pub use server::{Instance, Key};
pub use session::RedlockSession;

use std::num::NonZeroU64;

use serde::Deserialize;

use super::{
    default_lease_ms, ClientTimer, LockChecker, LockClient, LockObservation, LockProtocol, LockService, Resource,
    ResourceMessage, ResourceRecord, Tenure, DRIFT_ADDED, LEASE_FROM_RECEIPT, MILESTONES, UNLOCK_ANY,
};
use crate::node::{
    Message, Milestone, NodeId, Protocol, Server, ServerContext, Setup, SyncId, Time, Variant, CORRECT, MILLISECOND,
};

/// The protocol marker type.
#[derive(Debug)]
pub struct Redlock;

/// The settings of `redlock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedlockSettings {
    /// The keys' time to live, the `PX` of `SET`.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: NonZeroU64,
    /// Whether instances record every change and sync it before they answer.
    #[serde(default)]
    pub persistence: bool,
}

impl Default for RedlockSettings {
    fn default() -> Self {
        RedlockSettings { lease_ms: default_lease_ms(), persistence: false }
    }
}

pub type RedlockSetup = Setup<RedlockSettings>;

/// What clients and instances say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RedlockMessage {
    /// `SET lock tenure NX PX ttl`.
    Lock {
        tenure: Tenure,
        ttl: Time,
    },
    Locked {
        tenure: Tenure,
    },
    NotLocked {
        tenure: Tenure,
    },
    /// Extend the key's time to live to `ttl` if it holds `tenure` (round `round`).
    Extend {
        tenure: Tenure,
        ttl: Time,
        round: u64,
    },
    Extended {
        tenure: Tenure,
        round: u64,
    },
    NotExtended {
        tenure: Tenure,
        round: u64,
    },
    /// Delete the key if it holds `tenure` (the documentation's unlock script).
    Unlock {
        tenure: Tenure,
    },
    Resource(ResourceMessage),
}

impl Message for RedlockMessage {
    fn kind(&self) -> &'static str {
        match self {
            RedlockMessage::Lock { .. } => "Lock",
            RedlockMessage::Locked { .. } => "Locked",
            RedlockMessage::NotLocked { .. } => "NotLocked",
            RedlockMessage::Extend { .. } => "Extend",
            RedlockMessage::Extended { .. } => "Extended",
            RedlockMessage::NotExtended { .. } => "NotExtended",
            RedlockMessage::Unlock { .. } => "Unlock",
            RedlockMessage::Resource(message) => message.kind(),
        }
    }
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedlockRecord {
    /// The key holds `tenure` until `expires` on the instance's wall clock.
    Set {
        tenure: Tenure,
        expires: Time,
    },
    /// The key was deleted.
    Deleted,
    Resource(ResourceRecord),
}

/// A server: a Redis instance or the resource.
#[derive(Clone, Debug)]
pub enum RedlockServer {
    Instance(Instance),
    Resource(Resource),
}

/// The Redis instances of a run: every server but the last.
pub fn instances(servers: u32) -> u32 {
    servers - 1
}

impl Protocol for Redlock {
    const NAME: &'static str = "redlock";
    const ABOUT: &'static str = "the Redlock algorithm over independent Redis servers (the Redis documentation), \
                                 with keys expiring on the servers' wall clocks and no fencing tokens";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "Redlock as the Redis documentation gives it" },
        Variant {
            name: DRIFT_ADDED,
            about: "validity = TTL - (elapsed - drift): the drift allowance's sign flipped, as in a Redlock client \
                    library, so the client's lock outlives the keys",
        },
        Variant {
            name: UNLOCK_ANY,
            about: "the unlock deletes the key whatever it holds, not only the client's own value (the reason the \
                    documentation's unlock script compares it)",
        },
        Variant {
            name: LEASE_FROM_RECEIPT,
            about: "the validity is measured from when the majority's answers arrived, without subtracting the \
                    time they took (the documentation's step 3 skipped)",
        },
    ];
    const MILESTONES: &'static [Milestone] = MILESTONES;
    const SERVERS_MIN: u32 = 2;

    type Service = LockService;
    type Settings = RedlockSettings;
    type Message = RedlockMessage;
    type Timer = ClientTimer;
    type Record = RedlockRecord;
    type Observation = LockObservation;
    type Server = RedlockServer;
    type Client = LockClient<Redlock>;
    type Checker = LockChecker;

    fn server(setup: &RedlockSetup, id: NodeId) -> RedlockServer {
        if id < instances(setup.servers) {
            RedlockServer::Instance(Instance::new(setup))
        } else {
            RedlockServer::Resource(Resource::new(true))
        }
    }

    fn recover(setup: &RedlockSetup, id: NodeId, records: &[RedlockRecord]) -> RedlockServer {
        if id < instances(setup.servers) {
            RedlockServer::Instance(Instance::recover(setup, records))
        } else {
            let writes = records.iter().filter_map(|record| Redlock::as_resource_record(record));
            RedlockServer::Resource(Resource::recover(true, writes))
        }
    }

    fn client(setup: &RedlockSetup, id: NodeId) -> LockClient<Redlock> {
        LockClient::new(setup, id)
    }

    fn checker(setup: &RedlockSetup) -> LockChecker {
        LockChecker::new(setup)
    }

    fn milestone(observation: &LockObservation) -> Option<&'static str> {
        super::milestone(observation)
    }
}

impl LockProtocol for Redlock {
    type Session = RedlockSession;

    fn session(setup: &RedlockSetup, _id: NodeId) -> RedlockSession {
        RedlockSession::new(setup)
    }

    fn lease(setup: &RedlockSetup) -> Time {
        setup.settings.lease_ms.get() * MILLISECOND
    }

    fn resource_message(message: ResourceMessage) -> RedlockMessage {
        RedlockMessage::Resource(message)
    }

    fn as_resource_message(message: &RedlockMessage) -> Option<&ResourceMessage> {
        match message {
            RedlockMessage::Resource(message) => Some(message),
            _ => None,
        }
    }

    fn resource_record(record: ResourceRecord) -> RedlockRecord {
        RedlockRecord::Resource(record)
    }

    fn as_resource_record(record: &RedlockRecord) -> Option<&ResourceRecord> {
        match record {
            RedlockRecord::Resource(record) => Some(record),
            _ => None,
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

impl Server<Redlock> for RedlockServer {
    fn on_start(&mut self, _ctx: &mut ServerContext<Redlock>) {}

    fn on_message(&mut self, ctx: &mut ServerContext<Redlock>, from: NodeId, message: RedlockMessage) {
        match (self, message) {
            (RedlockServer::Resource(resource), RedlockMessage::Resource(ResourceMessage::Write(write))) => {
                resource.on_write(ctx, from, write);
            }
            (RedlockServer::Instance(instance), message) => instance.on_message(ctx, from, message),
            _ => {}
        }
    }

    fn on_timer(&mut self, _ctx: &mut ServerContext<Redlock>, _timer: ClientTimer) {}

    fn on_synced(&mut self, ctx: &mut ServerContext<Redlock>, sync: SyncId) {
        if let RedlockServer::Resource(resource) = self {
            resource.on_synced(ctx, sync);
        }
    }

    fn invariants(&self) {
        if let RedlockServer::Resource(resource) = self {
            resource.invariants();
        }
    }
}
