//! The store's messages: client requests and replies, the membership service's views, and
//! the hand-off of keys between owners.

use crate::hashing::shard::Shard;
use crate::hashing::view::{View, ViewNumber};
use crate::kv::{Command, KvReply, Sequence};
use crate::node::{Message, NodeId};
use crate::service::{Key, Outcome};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ShardMessage {
    /// A client's command, sent to the key's owner in the client's view.
    Request { command: Command, view: ViewNumber },
    /// The server's answer to the command with `sequence`.
    Reply { sequence: Sequence, answer: Answer },
    /// A spare asks to join (to any server; the coordinator acts, the others answer with
    /// their views so the spare finds the coordinator).
    Join,
    /// A leaving server asks the coordinator for a view without it.
    Leave,
    /// Views, in order, from the one after the receiver's latest (as far as the sender knows).
    Views { views: Vec<View> },
    /// The sender holds every view up to `latest`, durably.
    ViewsAck { latest: ViewNumber },
    /// The sender owns `keys` in `view` (sent with it), and asks their owner in the view
    /// before for them.
    Pull { view: View, keys: Vec<Key> },
    /// The keys' copies as their owner in view `view - 1` left them, for the owner in `view`.
    Transfer { view: ViewNumber, shards: Vec<(Key, Shard)> },
    /// The receiver's copies of `keys` for views before `view` may go: the new owner holds them.
    Release { view: ViewNumber, keys: Vec<Key> },
    /// The sender still holds copies of `keys` for views before `view`: were they installed?
    Held { view: ViewNumber, keys: Vec<Key> },
    /// The primary of `keys` in `view` to a backup: the keys' copies as they are now (a
    /// write replicated, or a new backup's first copy).
    Replicate { view: ViewNumber, shards: Vec<(Key, Shard)> },
    /// A backup holds, durably, the copies of these keys up to these positions, for `view`.
    Replicated { view: ViewNumber, keys: Vec<(Key, u64)> },
    /// A new primary whose view before lost its primary asks every server for its copies of
    /// `keys`, to take the latest (sent with the view, which the receiver adopts first).
    Gather { view: View, keys: Vec<Key> },
    /// The world removed `server` (a member of the receiver's latest view, the coordinator's
    /// too) while the receiver was down: told so by a server that heard it (replicated only).
    Departed { server: NodeId },
    /// The answer to a `Gather`: per key, the sender's latest copy, with the view it is
    /// from, or none.
    Copies { view: ViewNumber, copies: Vec<(Key, Option<(ViewNumber, Shard)>)> },
}

/// What a server tells a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The command took effect (or was refused for a key outside the store's universe); an
    /// update carries its position in its key's order of updates.
    Done { outcome: Outcome<KvReply>, position: Option<u64> },
    /// The receiver does not own the key in `view`, a newer view than the client's.
    Redirect { view: View },
    /// The receiver owns the key but does not hold it yet (or lags behind the client's
    /// view): try again shortly.
    Retry,
}

impl Message for ShardMessage {
    fn kind(&self) -> &'static str {
        match self {
            ShardMessage::Request { .. } => "Request",
            ShardMessage::Reply { answer: Answer::Done { .. }, .. } => "Reply",
            ShardMessage::Reply { answer: Answer::Redirect { .. }, .. } => "Redirect",
            ShardMessage::Reply { answer: Answer::Retry, .. } => "Retry",
            ShardMessage::Join => "Join",
            ShardMessage::Leave => "Leave",
            ShardMessage::Views { .. } => "Views",
            ShardMessage::ViewsAck { .. } => "ViewsAck",
            ShardMessage::Pull { .. } => "Pull",
            ShardMessage::Transfer { .. } => "Transfer",
            ShardMessage::Release { .. } => "Release",
            ShardMessage::Held { .. } => "Held",
            ShardMessage::Replicate { .. } => "Replicate",
            ShardMessage::Replicated { .. } => "Replicated",
            ShardMessage::Gather { .. } => "Gather",
            ShardMessage::Copies { .. } => "Copies",
            ShardMessage::Departed { .. } => "Departed",
        }
    }

    fn size_bytes(&self) -> usize {
        let view = |view: &View| 16 + 4 * view.members.len();
        16 + match self {
            ShardMessage::Views { views } => views.iter().map(view).sum(),
            ShardMessage::Pull { view: v, keys } => view(v) + 8 * keys.len(),
            ShardMessage::Transfer { shards, .. } | ShardMessage::Replicate { shards, .. } => {
                shards.iter().map(|(_, shard)| 8 + shard.size_bytes()).sum()
            }
            ShardMessage::Gather { view: v, keys } => view(v) + 8 * keys.len(),
            ShardMessage::Copies { copies, .. } => {
                copies.iter().map(|(_, copy)| 16 + copy.as_ref().map_or(0, |(_, shard)| shard.size_bytes())).sum()
            }
            ShardMessage::Replicated { keys, .. } => 16 * keys.len(),
            ShardMessage::Release { keys, .. } | ShardMessage::Held { keys, .. } => 8 * keys.len(),
            ShardMessage::Reply { answer: Answer::Redirect { view: v }, .. } => view(v),
            _ => 32,
        }
    }
}
