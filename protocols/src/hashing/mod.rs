//! Consistent hashing: placement schemes, and a sharded key-value store whose servers join
//! and leave during a run (Karger et al., STOC 1997; Thaler and Ravishankar, 1998; Lamping
//! and Veach, 2014; Mirrokni, Thorup and Zadimoghaddam, SODA 2018; Eisenbud et al., NSDI
//! 2016).
//!
//! - [`hash`]: a stable 64-bit hash, the same on every build.
//! - [`placement`]: the schemes as pure code behind one trait, [`placement::Placement`].
//! - The `shardkv` protocol: servers own the keys of a fixed universe (`keys`, the
//!   `[settings]` key) by the scheme of the scenario's `[settings] scheme`, with replication
//!   factor `r` (`[settings] replicas`, 1 by default, at most the initial servers): a key's
//!   owners in a view are `owners(key, r)`, the first its primary, which alone serves it and
//!   hands it on between views, the others backups ([`replica`]). The primary answers an
//!   update or a read only once every backup of its view holds the key's copy up to it;
//!   after a view change it sends the new backups their copies, and older copies are kept
//!   until every owner of a later view holds the key; a new primary whose predecessor the
//!   world removed gathers the latest copy from the servers left. So with `r >= 2` a key
//!   survives the removal of `r - 1` of its owners; with `r = 1` its one copy is durable on
//!   its owner and moves with it, and a server removed before it handed off takes its
//!   keys' acknowledged writes with it. The membership service is a role of one server at
//!   a time ([`membership`]) that publishes numbered views ([`view`]); servers hand keys
//!   over between views ([`server`]); clients cache a view and are redirected with a newer
//!   one ([`client`]). Every server serves the key-value store's operations
//!   ([`crate::kv::KvService`]) on its keys, so the history is checked for linearizability
//!   with the store's model; the online checker ([`checker`]) adds one owner (primary) per
//!   key at every moment and no lost acknowledged write.
//!
//! Variants, each a mistake of real systems:
//! - `stale-view-writes`: an old owner answers the new owner's pull with a snapshot but
//!   goes on serving the key until the membership service tells it of the new view, so two
//!   servers accept writes for one key (as when two Redis Cluster masters claimed one slot
//!   range after a partition).
//! - `switch-before-transfer`: a new owner serves a key as soon as its view says so, before
//!   the key's copy has arrived: reads miss acknowledged writes (as in a published bug of
//!   the Anna key-value store's migration).
//! - `drop-during-migration`: writes that reach the old owner while it hands a key off are
//!   applied there, to a copy that is never sent, and acknowledged: they are lost.
//!
//! Each flaw is in the primary's hand-off, so replication does not hide it: the old
//! primary acknowledges dropped writes without its backups, a stale primary still claims a
//! key another serves, and an early primary's empty copy is what its backups get
//! (`drop-during-migration-replicated.toml` runs that flaw with two copies per key).
//!
//! The placement flaws, concatenated ring labels (`label-collision`, Uber's ringpop) and
//! `hash mod N` (`naive-modulo`), are placements, not store bugs: the property tests and
//! the `faultline hashing` page show them, and `scheme = "modulo"` runs the store on the
//! latter to show its movement cost.

pub mod checker;
pub mod client;
pub mod hash;
pub mod membership;
pub mod messages;
pub mod placement;
pub mod replica;
pub mod server;
pub mod shard;
#[cfg(test)]
mod tests;
pub mod view;

use std::fmt;

use serde::Deserialize;

pub use checker::ShardChecker;
pub use client::ShardClient;
pub use messages::{Answer, ShardMessage};
pub use server::{KeyState, ShardServer};
pub use shard::Shard;
pub use view::{View, ViewNumber};

use crate::kv::{Command, KvService, Sequence};
use crate::node::{Milestone, NodeId, Protocol, Setup, Variant, CORRECT};
use crate::service::Key;
use placement::{Labels, Scheme};

pub const STALE_VIEW_WRITES: &str = "stale-view-writes";
pub const SWITCH_BEFORE_TRANSFER: &str = "switch-before-transfer";
pub const DROP_DURING_MIGRATION: &str = "drop-during-migration";

/// The most keys a store's universe may have.
pub const KEYS_MAX: u64 = 4096;

/// The largest replication factor.
pub const REPLICAS_MAX: u32 = 7;

/// The protocol marker type.
#[derive(Debug)]
pub struct ShardKv;

/// The store's `[settings]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawSettings")]
pub struct ShardSettings {
    pub scheme: SchemeName,
    pub virtual_nodes: u32,
    pub epsilon: f64,
    pub table_size: u64,
    /// The key universe `0..keys`: it must cover the workload's keys (a command for another
    /// key is refused).
    pub keys: u64,
    /// The replication factor `r`: how many servers hold each key (the primary and `r - 1`
    /// backups), 1 to the initial servers.
    pub replicas: u32,
}

/// The placement a store uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemeName {
    #[default]
    Ring,
    Rendezvous,
    Jump,
    Bounded,
    Maglev,
    Modulo,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawSettings {
    scheme: SchemeName,
    virtual_nodes: u32,
    epsilon: f64,
    table_size: u64,
    keys: u64,
    replicas: u32,
}

impl Default for RawSettings {
    fn default() -> Self {
        let ShardSettings { scheme, virtual_nodes, epsilon, table_size, keys, replicas } = ShardSettings::default();
        RawSettings { scheme, virtual_nodes, epsilon, table_size, keys, replicas }
    }
}

impl TryFrom<RawSettings> for ShardSettings {
    type Error = String;
    fn try_from(raw: RawSettings) -> Result<ShardSettings, String> {
        let RawSettings { scheme, virtual_nodes, epsilon, table_size, keys, replicas } = raw;
        if keys == 0 || keys > KEYS_MAX {
            return Err(format!("keys is {keys}; allowed: 1 to {KEYS_MAX}"));
        }
        if replicas == 0 || replicas > REPLICAS_MAX {
            return Err(format!(
                "replicas is {replicas}; allowed: 1 to {REPLICAS_MAX} (and at most the initial servers)"
            ));
        }
        let settings = ShardSettings { scheme, virtual_nodes, epsilon, table_size, keys, replicas };
        settings.scheme().check()?;
        Ok(settings)
    }
}

impl Default for ShardSettings {
    fn default() -> Self {
        ShardSettings {
            scheme: SchemeName::Ring,
            virtual_nodes: 64,
            epsilon: 0.25,
            table_size: 1021,
            keys: 16,
            replicas: 1,
        }
    }
}

impl ShardSettings {
    /// The placement scheme these settings describe.
    pub fn scheme(&self) -> Scheme {
        match self.scheme {
            SchemeName::Ring => Scheme::Ring { virtual_nodes: self.virtual_nodes, labels: Labels::Hashed },
            SchemeName::Rendezvous => Scheme::Rendezvous,
            SchemeName::Jump => Scheme::Jump,
            SchemeName::Bounded => {
                Scheme::Bounded { virtual_nodes: self.virtual_nodes, epsilon: self.epsilon, keys: self.keys }
            }
            SchemeName::Maglev => Scheme::Maglev { table_size: self.table_size },
            SchemeName::Modulo => Scheme::Modulo,
        }
    }
}

/// A server's timers, and a client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShardTimer {
    /// A server's periodic work: pulls, views, joins and leaves retried.
    Tick,
    /// A client heard no answer.
    Reply,
    /// A client's back-off is over.
    Retry,
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardRecord {
    View(View),
    Gone(NodeId),
    /// A key's state after it moved through a view, or got its copy.
    Key {
        key: Key,
        state: KeyState,
    },
    /// A copy frozen at the end of `view`, kept until released.
    Frozen {
        key: Key,
        view: ViewNumber,
        shard: Shard,
    },
    /// Frozen copies of `key` from views before `view` were released.
    Released {
        key: Key,
        view: ViewNumber,
    },
    /// An update applied to the key's copy.
    Applied {
        key: Key,
        command: Command,
    },
    /// The server was told to leave.
    Leaving,
    /// A backup's copy of `key`, from the primary of `view`.
    Replica {
        key: Key,
        view: ViewNumber,
        shard: Shard,
    },
}

/// One change of membership, as a published view records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Join(NodeId),
    Leave(NodeId),
    /// A member the world removed before it could hand off.
    Gone(NodeId),
}

/// What servers and clients report to the checkers.
#[derive(Clone, Debug, PartialEq)]
pub enum ShardObservation {
    /// A server adopted a view.
    Adopted { view: ViewNumber, fingerprint: u32 },
    /// The coordinator published a view: the change, the keys whose owner it changed, and
    /// the max/mean keys per member it leaves.
    Published { view: ViewNumber, fingerprint: u32, change: Change, moved: u64, imbalance: f64 },
    /// A new owner installed `keys` copies from `from` for `view`.
    Migrated { view: ViewNumber, from: NodeId, keys: u32, bytes: u64 },
    /// A client's update was acknowledged at this position of its key's history.
    Acknowledged { key: Key, position: u64, sequence: Sequence },
    /// A client was redirected to a newer view.
    Redirected { key: Key, view: ViewNumber },
}

impl fmt::Display for ShardObservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardObservation::Adopted { view, fingerprint } => write!(f, "adopted view {view} #{fingerprint:08x}"),
            ShardObservation::Published { view, fingerprint, change, moved, imbalance } => {
                let change = match change {
                    Change::Join(node) => format!("server {node} joins"),
                    Change::Leave(node) => format!("server {node} leaves"),
                    Change::Gone(node) => format!("server {node} is gone"),
                };
                write!(
                    f,
                    "published view {view} #{fingerprint:08x}: {change}, {moved} keys move, max/mean {imbalance:.2}"
                )
            }
            ShardObservation::Migrated { view, from, keys, bytes } => {
                write!(f, "installed {keys} keys from server {from} for view {view} ({bytes} bytes)")
            }
            ShardObservation::Acknowledged { key, position, sequence } => {
                write!(f, "update {sequence} of key {key} acknowledged at position {position}")
            }
            ShardObservation::Redirected { key, view } => write!(f, "redirected for key {key} to view {view}"),
        }
    }
}

impl Protocol for ShardKv {
    const NAME: &'static str = "shardkv";
    const ABOUT: &'static str = "a key-value store sharded by consistent hashing (ring, rendezvous, jump, bounded \
                                 loads, Maglev or modulo), with numbered views, hand-offs and redirects";
    const VARIANTS: &'static [Variant] = &[
        Variant {
            name: CORRECT,
            about: "old owners freeze a key before they hand it over; new owners serve it once it arrived",
        },
        Variant {
            name: STALE_VIEW_WRITES,
            about: "an old owner hands a key over but serves it until it hears of the new view: two owners",
        },
        Variant {
            name: SWITCH_BEFORE_TRANSFER,
            about: "a new owner serves a key before its copy arrived: reads miss acknowledged writes",
        },
        Variant {
            name: DROP_DURING_MIGRATION,
            about: "writes reaching the old owner during the hand-off are applied to a copy never sent: lost",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "view-published", about: "the membership service published a view" },
        Milestone { name: "keys-migrated", about: "a new owner installed keys handed over" },
        Milestone { name: "update-acknowledged", about: "a client's update was acknowledged" },
        Milestone { name: "client-redirected", about: "a client with a stale view was redirected" },
    ];
    const MEMBERSHIP: bool = true;

    type Service = KvService;
    type Settings = ShardSettings;
    type Message = ShardMessage;
    type Timer = ShardTimer;
    type Record = ShardRecord;
    type Observation = ShardObservation;
    type Server = ShardServer;
    type Client = ShardClient;
    type Checker = ShardChecker;

    fn server(setup: &Setup<ShardSettings>, id: NodeId) -> ShardServer {
        ShardServer::new(setup, id)
    }

    fn recover(setup: &Setup<ShardSettings>, id: NodeId, records: &[ShardRecord]) -> ShardServer {
        ShardServer::recover(setup, id, records)
    }

    fn client(setup: &Setup<ShardSettings>, id: NodeId) -> ShardClient {
        ShardClient::new(setup, id)
    }

    fn checker(setup: &Setup<ShardSettings>) -> ShardChecker {
        ShardChecker::new(setup)
    }

    fn check_settings(settings: &ShardSettings, servers: u32, _spares: u32, keys: u32) -> Result<(), String> {
        if settings.replicas > servers {
            return Err(format!("replicas is {}; allowed: 1 to {servers} (the initial servers)", settings.replicas));
        }
        if u64::from(keys) > settings.keys {
            // The store refuses a command on a key outside its universe, so such a workload
            // fails operations by the scenario's own mistake and reads as a system stuck.
            return Err(format!(
                "keys is {}, fewer than the workload's {keys} keys; allowed: {keys} to {KEYS_MAX} (the store must \
                 hold every key the workload uses)",
                settings.keys
            ));
        }
        Ok(())
    }

    fn milestone(observation: &ShardObservation) -> Option<&'static str> {
        match observation {
            ShardObservation::Published { .. } => Some("view-published"),
            ShardObservation::Migrated { .. } => Some("keys-migrated"),
            ShardObservation::Acknowledged { .. } => Some("update-acknowledged"),
            ShardObservation::Redirected { .. } => Some("client-redirected"),
            ShardObservation::Adopted { .. } => None,
        }
    }
}

/// The flaw of the selected variant, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    None,
    StaleViewWrites,
    SwitchBeforeTransfer,
    DropDuringMigration,
}

impl Flaw {
    pub fn of(variant: &str) -> Flaw {
        match variant {
            CORRECT => Flaw::None,
            STALE_VIEW_WRITES => Flaw::StaleViewWrites,
            SWITCH_BEFORE_TRANSFER => Flaw::SwitchBeforeTransfer,
            DROP_DURING_MIGRATION => Flaw::DropDuringMigration,
            other => panic!("shardkv has no variant {other:?}"),
        }
    }
}
