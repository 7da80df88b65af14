//! Zab's messages, with ZooKeeper's names (Medeiros section 3; ZooKeeper's `Leader` packet
//! types): Fast Leader Election's `Notification`; discovery's `FollowerInfo`, `LeaderInfo`
//! and `AckEpoch` (the paper's CEPOCH, NEWEPOCH and ACK-E); synchronization's `Diff`, `Trunc`,
//! `Snap`, `NewLeader`, its acknowledgement and `UpToDate` (NEWLEADER, ACK-LD and COMMIT-LD);
//! broadcast's `Proposal`, `Ack` and `Commit`; `Ping`; a follower's `Request` and `Sync`
//! forwarded to the leader and the leader's `SyncReply`; and the client's request and reply.
//!
//! A follower numbers each attempt to follow a leader (`session`, drawn at random), and the discovery and
//! synchronization messages of that attempt carry the number, so that neither side mistakes
//! an answer to an earlier attempt for one to this one (ZooKeeper opens a new TCP connection
//! per attempt). `AckNewLeader` counts apart from the broadcast's `Ack`, and a ping apart from
//! everything else, so that reports show the 3(N-1) messages of a write.

use std::mem::size_of;

use super::{Epoch, Txn, Zxid};
use crate::kv::{Command, KvReply, Sequence};
use crate::node::{Message, NodeId};
use crate::service::Outcome;

/// A vote of Fast Leader Election: the server proposed as leader, and the last zxid and
/// currentEpoch (ZooKeeper's peerEpoch) it had when the vote was cast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vote {
    pub leader: NodeId,
    pub zxid: Zxid,
    pub epoch: Epoch,
}

impl Vote {
    /// Whether this vote beats `other`: a later epoch, then a later zxid, then a higher id
    /// (ZooKeeper's `totalOrderPredicate`).
    pub fn beats(&self, other: &Vote) -> bool {
        (self.epoch, self.zxid, self.leader) > (other.epoch, other.zxid, other.leader)
    }
}

/// What a server is doing, as its notifications say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerState {
    Looking,
    Following,
    Leading,
}

/// A notification of Fast Leader Election: the sender's vote, its election round
/// (ZooKeeper's logicalclock) and its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Notification {
    pub vote: Vote,
    pub round: u64,
    pub state: PeerState,
}

/// A server's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZabResponse {
    /// The operation with this sequence number ended with `outcome`; the server had
    /// delivered up to `zxid`.
    Done { sequence: Sequence, outcome: Outcome<KvReply>, zxid: Zxid },
    /// This server does not serve now (it is not in broadcast, or it is behind the latest
    /// zxid the client saw): try another. An update may still take effect.
    NotServing { sequence: Sequence },
}

impl ZabResponse {
    pub fn sequence(&self) -> Sequence {
        match self {
            ZabResponse::Done { sequence, .. } | ZabResponse::NotServing { sequence } => *sequence,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZabMessage {
    Notification(Notification),
    /// A follower's acceptedEpoch (the paper's CEPOCH).
    FollowerInfo {
        accepted_epoch: Epoch,
        session: u64,
    },
    /// The epoch the leader proposes (NEWEPOCH).
    LeaderInfo {
        epoch: Epoch,
        session: u64,
    },
    /// A follower accepted the epoch: its currentEpoch and last zxid (ACK-E).
    AckEpoch {
        current_epoch: Epoch,
        last_zxid: Zxid,
        session: u64,
    },
    /// The transactions after the follower's last zxid.
    Diff {
        txns: Vec<Txn>,
        session: u64,
    },
    /// Drop the history after `after`.
    Trunc {
        after: Zxid,
        session: u64,
    },
    /// Replace the history with this one.
    Snap {
        history: Vec<Txn>,
        session: u64,
    },
    /// The history sent is the new epoch's initial history.
    NewLeader {
        epoch: Epoch,
        session: u64,
    },
    /// The follower holds the initial history durably, and its currentEpoch is `epoch`.
    AckNewLeader {
        epoch: Epoch,
        session: u64,
    },
    /// Deliver the history up to `committed` and serve.
    UpToDate {
        committed: Zxid,
        session: u64,
    },
    Proposal {
        txn: Txn,
    },
    Ack {
        zxid: Zxid,
    },
    Commit {
        zxid: Zxid,
    },
    /// The leader's ping of round `round`, or (`reply`) a follower's answer to it.
    Ping {
        epoch: Epoch,
        round: u64,
        reply: bool,
    },
    /// A follower forwards a client's write.
    Request {
        command: Command,
    },
    /// A follower forwards a client's sync.
    Sync {
        client: NodeId,
        sequence: Sequence,
    },
    /// The leader's answer to a sync: read once delivered up to `zxid`.
    SyncReply {
        client: NodeId,
        sequence: Sequence,
        zxid: Zxid,
    },
    /// A client's operation, with the latest zxid the client has seen.
    ClientRequest {
        command: Command,
        last_zxid: Zxid,
    },
    ClientReply(ZabResponse),
}

impl Message for ZabMessage {
    fn kind(&self) -> &'static str {
        match self {
            ZabMessage::Notification(_) => "Notification",
            ZabMessage::FollowerInfo { .. } => "FollowerInfo",
            ZabMessage::LeaderInfo { .. } => "LeaderInfo",
            ZabMessage::AckEpoch { .. } => "AckEpoch",
            ZabMessage::Diff { .. } => "Diff",
            ZabMessage::Trunc { .. } => "Trunc",
            ZabMessage::Snap { .. } => "Snap",
            ZabMessage::NewLeader { .. } => "NewLeader",
            ZabMessage::AckNewLeader { .. } => "AckNewLeader",
            ZabMessage::UpToDate { .. } => "UpToDate",
            ZabMessage::Proposal { .. } => "Proposal",
            ZabMessage::Ack { .. } => "Ack",
            ZabMessage::Commit { .. } => "Commit",
            ZabMessage::Ping { .. } => "Ping",
            ZabMessage::Request { .. } => "Request",
            ZabMessage::Sync { .. } => "Sync",
            ZabMessage::SyncReply { .. } => "SyncReply",
            ZabMessage::ClientRequest { .. } => "ClientRequest",
            ZabMessage::ClientReply(_) => "ClientReply",
        }
    }

    fn size_bytes(&self) -> usize {
        let txns = match self {
            ZabMessage::Diff { txns, .. } => txns.len(),
            ZabMessage::Snap { history, .. } => history.len(),
            _ => 0,
        };
        size_of::<ZabMessage>() + txns * size_of::<Txn>()
    }
}
