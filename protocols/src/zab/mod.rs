//! Zab, ZooKeeper's atomic broadcast (Junqueira, Reed and Serafini, "Zab: High-performance
//! broadcast for primary-backup systems", DSN 2011, abbreviated DSN; Medeiros, "ZooKeeper's
//! atomic broadcast protocol: Theory and practice", 2012, which describes what ZooKeeper
//! really runs), serving the replicated key-value [`Store`](crate::kv::Store) with
//! ZooKeeper's client semantics.
//!
//! Servers talk over FIFO links (`Protocol::FIFO_LINKS`: the world's connections, which
//! deliver in order and tell both ends when a loss, a partition or a crash breaks one), as
//! ZooKeeper's TCP connections do. A transaction's id is its zxid, `(epoch, counter)`. The
//! four phases carry ZooKeeper's message names (Medeiros section 3):
//!
//! - Phase 0, leader election (`election.rs`): Fast Leader Election. A LOOKING server votes
//!   for itself with its `(currentEpoch, last zxid, id)` and sends `Notification`s; it adopts
//!   any better vote it hears in its round, and once a majority of its round agrees on its
//!   vote (and no better vote arrives for a short while) it follows that server, or leads if
//!   it is the one. A server that hears a majority of FOLLOWING and LEADING servers agree on
//!   a leader that says it leads joins it at once.
//! - Phase 1, discovery (`discovery.rs`, DSN Algorithm 1): a follower sends `FollowerInfo`
//!   with its acceptedEpoch; once a majority (the leader included) has, the leader proposes
//!   an epoch above every acceptedEpoch it heard (`LeaderInfo`). A follower accepts an epoch
//!   above its own acceptedEpoch, persists it (with the leader it came from: it acknowledges
//!   each epoch to one leader only) before answering `AckEpoch` with its currentEpoch and
//!   last zxid. A leader that hears of a follower ahead of it gives up (ZooKeeper's
//!   "follower is ahead of the leader").
//! - Phase 2, synchronization (`synchronization.rs`, DSN Algorithm 2): once a majority has
//!   acknowledged the epoch, the leader persists it as its currentEpoch and brings each
//!   follower to its history, chosen from the follower's last zxid as ZooKeeper's
//!   `LearnerHandler.syncFollower` does: `Diff` (the transactions it lacks), `Trunc` (drop
//!   what follows the last zxid the two share, then a `Diff`), or `Snap` (the whole history,
//!   when more than `diff_limit` transactions are missing); then `NewLeader`. The follower
//!   makes the history durable and then its currentEpoch, and acknowledges (`AckNewLeader`);
//!   with a majority of acknowledgements the epoch is established, the leader's whole history
//!   is committed, and `UpToDate` tells each follower to deliver it and serve.
//! - Phase 3, broadcast (`broadcast.rs`, DSN Algorithm 3): the leader gives each write the
//!   next zxid, logs it and sends `Proposal`; a follower logs and syncs it before `Ack`; a
//!   majority of durable copies (the leader's own once its sync is done) commits it, in zxid
//!   order, and `Commit` tells the followers: 3(N-1) messages per write. The leader sends
//!   `Ping` every `timeout / 2`, followers answer, and a leader that has not heard from a
//!   majority for three timeouts gives up; a follower that has not heard from its leader for
//!   three timeouts, or whose connection to it broke, looks for a new one. A follower that
//!   joins an established leader goes through discovery and synchronization with it.
//!
//! Clients (`client.rs`, `requests.rs`) follow ZooKeeper's semantics (Hunt et al.,
//! "ZooKeeper: Wait-free coordination for Internet-scale systems", USENIX ATC 2010, section
//! 2.3): a client talks to one server at a time and moves to the next when it does not
//! answer, its connection breaks or it does not serve. Writes go through the leader and are
//! linearizable; a server answers its client once it has delivered the write. Reads are
//! served by the client's server from its own store, so they are only sequentially
//! consistent (possibly stale). A `sync-read` is a sync followed by a read: the server asks
//! the leader, which answers once everything it proposed before is committed and a majority
//! has answered a round of pings sent after the sync arrived (so it still led), and the server
//! reads once it has delivered that far: linearizable. Every answer carries the zxid the
//! server had delivered, and a client never reads from a server behind the latest zxid it
//! saw (ZooKeeper refuses such a session), so each client's operations take effect in its
//! issue order. The history checks are ZooKeeper's promise (`history_check.rs`):
//! linearizability of the writes and sync-reads, and sequential consistency of everything.
//!
//! Persistence: acceptedEpoch and currentEpoch are durable records, proposals are logged and
//! synced before they are acknowledged (`send_after_sync`), and a restarted server rebuilds
//! its epochs and history from its durable records alone (its store is rebuilt as it delivers
//! again). Variants, each a bug from ZooKeeper's record:
//! - `newleader-ack-before-sync` (ZOOKEEPER-3911): a follower acknowledges `NewLeader` before
//!   the transactions its leader's `Diff` sent are durable, so the leader commits them with a
//!   copy that a crash can still lose.
//! - `epoch-before-log` (ZOOKEEPER-4643): a follower persists its new currentEpoch before the
//!   transactions of its synchronization; a crash in between leaves it with a high epoch and a
//!   short log, which wins the next election and truncates committed transactions elsewhere.
//! - `diff-instead-of-trunc`: the leader sends a follower that has a proposal it never had a
//!   `Diff` instead of a `Trunc`, so the follower keeps the proposal and later delivers it.
//! - `accept-old-epoch`: a follower takes a `Proposal` and a `Commit` from any server, even a
//!   leader of an older epoch after it acknowledged a newer one.
//! - `snap-in-memory` (ZOOKEEPER-3642): a follower loads a `Snap` in memory and does not
//!   persist it before it acknowledges `NewLeader`; if the leader dies in between, the
//!   follower may lead with a history its disk does not hold.

mod broadcast;
mod checker;
mod client;
mod discovery;
mod election;
mod history;
mod history_check;
mod messages;
mod requests;
mod server;
mod synchronization;
#[cfg(test)]
mod tests;

pub use checker::ZabChecker;
pub use client::ZabClient;
pub use history::{Durable, History};
pub use history_check::{sequential_reads, SEQUENTIAL_READS};
pub use messages::{Notification, PeerState, Vote, ZabMessage, ZabResponse};
pub use server::{Role, ZabServer};

use std::fmt;

use serde::Deserialize;

use crate::kv::{ClientTimer, Command, KvOperation, KvService};
use crate::node::{Milestone, NodeId, Protocol, Setup, Variant, CORRECT};
use crate::service::HistoryCheck;

/// An epoch: the number of a leader's reign; 0 before the first.
pub type Epoch = u64;

/// A transaction id: the epoch of the leader that proposed it and a counter within it
/// (ZooKeeper packs both into one 64-bit zxid). Ordered by epoch, then counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Zxid {
    pub epoch: Epoch,
    pub counter: u64,
}

impl Zxid {
    /// The zxid of the empty history.
    pub const ZERO: Zxid = Zxid { epoch: 0, counter: 0 };

    pub fn new(epoch: Epoch, counter: u64) -> Zxid {
        Zxid { epoch, counter }
    }
}

impl fmt::Display for Zxid {
    /// `3.7`: epoch 3, counter 7.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epoch, self.counter)
    }
}

/// A transaction: a client's write and its zxid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Txn {
    pub zxid: Zxid,
    pub command: Command,
}

impl fmt::Display for Txn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.zxid, self.command)
    }
}

/// Zab's `[settings]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZabSettings {
    /// The most transactions a `Diff` carries: a follower missing more gets a `Snap`
    /// (ZooKeeper's `snapshotSizeFactor` plays this part). 0 sends every follower a `Snap`.
    pub diff_limit: u32,
}

impl Default for ZabSettings {
    fn default() -> Self {
        ZabSettings { diff_limit: 64 }
    }
}

pub const NEWLEADER_ACK_BEFORE_SYNC: &str = "newleader-ack-before-sync";
pub const EPOCH_BEFORE_LOG: &str = "epoch-before-log";
pub const DIFF_INSTEAD_OF_TRUNC: &str = "diff-instead-of-trunc";
pub const ACCEPT_OLD_EPOCH: &str = "accept-old-epoch";
pub const SNAP_IN_MEMORY: &str = "snap-in-memory";

/// The protocol marker type.
#[derive(Debug)]
pub struct Zab;

/// A server's and a client's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZabTimer {
    /// LOOKING: send the notifications again.
    Election,
    /// LOOKING: a majority agrees with this server's vote; decide unless a better one comes.
    Finalize,
    /// A follower: its leader has been silent too long.
    LeaderSilent,
    /// A follower in discovery: send `FollowerInfo` again (the leader may not have been
    /// leading yet when the last one arrived).
    Connect,
    /// The leader: ping the followers and check that a majority still answers.
    Tick,
    Client(ClientTimer),
}

/// A record of a server's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZabRecord {
    /// acceptedEpoch, and the leader whose `LeaderInfo` proposed it.
    AcceptedEpoch { epoch: Epoch, leader: NodeId },
    /// currentEpoch: the epoch whose `NewLeader` this server acknowledged.
    CurrentEpoch(Epoch),
    /// A transaction appended to the history.
    Txn(Txn),
    /// The history after this zxid is dropped (`Trunc`).
    Truncate { after: Zxid },
    /// The history is replaced by this one (`Snap`).
    Snapshot(Vec<Txn>),
}

/// What a server reports to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZabObservation {
    /// Fast Leader Election ended: this server follows (or is) `leader`.
    Elected { leader: NodeId, round: u64 },
    /// This server, leader of `epoch`, has a majority's `AckNewLeader`: the epoch is
    /// established and its whole history, up to `last`, is committed.
    Established { epoch: Epoch, last: Zxid },
    /// The leader brought a follower to its history this way.
    Synchronized { follower: NodeId, how: SyncMode },
    /// The leader of the transaction's epoch proposed it.
    Proposed { txn: Txn },
    /// The leader committed this zxid, and with it every earlier one.
    Committed { zxid: Zxid },
    /// This server delivered the transaction at `position` of its history (from 1; a server
    /// that restarted, or loaded a `Snap`, delivers again from 1).
    Delivered { position: usize, txn: Txn },
}

/// How a leader synchronized a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncMode {
    Diff,
    Trunc,
    Snap,
}

impl fmt::Display for ZabObservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZabObservation::Elected { leader, round } => write!(f, "elected server {leader} in round {round}"),
            ZabObservation::Established { epoch, last } => write!(f, "established epoch {epoch} (history to {last})"),
            ZabObservation::Synchronized { follower, how } => write!(f, "synchronized server {follower} by {how:?}"),
            ZabObservation::Proposed { txn } => write!(f, "proposed {txn}"),
            ZabObservation::Committed { zxid } => write!(f, "committed {zxid}"),
            ZabObservation::Delivered { position, txn } => write!(f, "delivered #{position} {txn}"),
        }
    }
}

impl Protocol for Zab {
    const NAME: &'static str = "zab";
    const ABOUT: &'static str =
        "Zab, ZooKeeper's atomic broadcast (Junqueira, Reed and Serafini 2011; Medeiros 2012), replicating a \
         key-value store with ZooKeeper's client semantics: linearizable writes, local reads, sync";
    const VARIANTS: &'static [Variant] = &[
        Variant {
            name: CORRECT,
            about: "Zab as ZooKeeper runs it: Fast Leader Election, discovery, DIFF/TRUNC/SNAP synchronization, \
                    broadcast",
        },
        Variant {
            name: NEWLEADER_ACK_BEFORE_SYNC,
            about: "ZOOKEEPER-3911: a follower acknowledges NEWLEADER before the DIFF transactions are durable, so \
                    the leader commits them with a copy a crash can lose",
        },
        Variant {
            name: EPOCH_BEFORE_LOG,
            about: "ZOOKEEPER-4643: a follower persists currentEpoch before the transactions of its \
                    synchronization; a crash in between lets a high epoch with a short log win and TRUNC committed \
                    transactions",
        },
        Variant {
            name: DIFF_INSTEAD_OF_TRUNC,
            about: "the leader sends a DIFF where a TRUNC is due, so a follower keeps a proposal the new leader never \
                    had and later delivers it",
        },
        Variant {
            name: ACCEPT_OLD_EPOCH,
            about: "a follower accepts PROPOSAL and COMMIT from a leader of an older epoch after acknowledging a \
                    newer one",
        },
        Variant {
            name: SNAP_IN_MEMORY,
            about: "ZOOKEEPER-3642: a follower loads a SNAP in memory only; if the leader dies before NEWLEADER, \
                    the follower can lead with a history its disk does not hold",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "leader-elected", about: "Fast Leader Election ended" },
        Milestone { name: "epoch-established", about: "a leader had a majority's NEWLEADER acknowledgements" },
        Milestone { name: "diff-sync", about: "a leader synchronized a follower with DIFF" },
        Milestone { name: "trunc-sync", about: "a leader synchronized a follower with TRUNC" },
        Milestone { name: "snap-sync", about: "a leader synchronized a follower with SNAP" },
        Milestone { name: "proposed", about: "a leader proposed a transaction" },
        Milestone { name: "committed", about: "a leader committed a transaction" },
        Milestone { name: "delivered", about: "a server delivered a transaction to its store" },
    ];
    const SERVERS_MIN: u32 = 1;
    const FIFO_LINKS: bool = true;

    type Service = KvService;
    type Settings = ZabSettings;
    type Message = ZabMessage;
    type Timer = ZabTimer;
    type Record = ZabRecord;
    type Observation = ZabObservation;
    type Server = ZabServer;
    type Client = ZabClient;
    type Checker = ZabChecker;

    fn server(setup: &Setup<ZabSettings>, id: NodeId) -> ZabServer {
        ZabServer::new(setup, id)
    }

    fn recover(setup: &Setup<ZabSettings>, id: NodeId, records: &[ZabRecord]) -> ZabServer {
        ZabServer::recover(setup, id, records)
    }

    fn client(setup: &Setup<ZabSettings>, id: NodeId) -> ZabClient {
        ZabClient::new(setup, id)
    }

    fn checker(setup: &Setup<ZabSettings>) -> ZabChecker {
        ZabChecker::new(setup)
    }

    fn milestone(observation: &ZabObservation) -> Option<&'static str> {
        Some(match observation {
            ZabObservation::Elected { .. } => "leader-elected",
            ZabObservation::Established { .. } => "epoch-established",
            ZabObservation::Synchronized { how: SyncMode::Diff, .. } => "diff-sync",
            ZabObservation::Synchronized { how: SyncMode::Trunc, .. } => "trunc-sync",
            ZabObservation::Synchronized { how: SyncMode::Snap, .. } => "snap-sync",
            ZabObservation::Proposed { .. } => "proposed",
            ZabObservation::Committed { .. } => "committed",
            ZabObservation::Delivered { .. } => "delivered",
        })
    }

    /// ZooKeeper's promise: writes and sync-reads are linearizable; every operation,
    /// plain reads included, is sequentially consistent, with each client's reads seeing a
    /// growing prefix of the one order of writes.
    fn history_checks() -> Vec<HistoryCheck<KvService>> {
        vec![
            HistoryCheck::Linearizability { include: is_linearizable },
            HistoryCheck::Custom { name: SEQUENTIAL_READS, check: sequential_reads },
        ]
    }
}

/// Whether ZooKeeper promises `operation` linearizability: everything but a plain read.
fn is_linearizable(operation: &KvOperation) -> bool {
    !matches!(operation, KvOperation::Read { .. })
}

/// The flaw of the selected variant, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    None,
    NewleaderAckBeforeSync,
    EpochBeforeLog,
    DiffInsteadOfTrunc,
    AcceptOldEpoch,
    SnapInMemory,
}

impl Flaw {
    fn of<S>(setup: &Setup<S>) -> Flaw {
        match setup.variant {
            CORRECT => Flaw::None,
            NEWLEADER_ACK_BEFORE_SYNC => Flaw::NewleaderAckBeforeSync,
            EPOCH_BEFORE_LOG => Flaw::EpochBeforeLog,
            DIFF_INSTEAD_OF_TRUNC => Flaw::DiffInsteadOfTrunc,
            ACCEPT_OLD_EPOCH => Flaw::AcceptOldEpoch,
            SNAP_IN_MEMORY => Flaw::SnapInMemory,
            other => panic!("zab has no variant {other:?}"),
        }
    }
}
