//! Multi-Paxos messages, named as in the papers: phase 1 (`Prepare`, `Promise`), phase 2
//! (`Accept`, `Accepted`), the refusal of either (`Nack`, PMMC's preempting `p1b`/`p2b`),
//! the leader's `Heartbeat`, the follower's `CatchUp` and the leader's `Decide` answering
//! it (PMMC's `decision`), and the client's request and reply.
//!
//! Each kind counts apart in the reports, so the steady state shows the textbook cost:
//! 2(N-1) `Accept` and `Accepted` per command, with decisions riding on the next `Accept`
//! or `Heartbeat` (`first_unchosen`) instead of messages of their own.

use std::mem::size_of;

use super::{Ballot, Entry, Slot};
use crate::kv::{Command, Response};
use crate::node::Message;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultiPaxosMessage {
    /// Phase 1a for every slot from `from` on (Paxos Made Simple section 3).
    Prepare { ballot: Ballot, from: Slot },
    /// Phase 1b: the acceptor promised `ballot`; `accepted` lists, per slot from the
    /// `Prepare`'s `from` on, the highest-ballot proposal it accepted.
    Promise { ballot: Ballot, accepted: Vec<(Slot, Ballot, Entry)> },
    /// Phase 2a for one slot; every slot below `first_unchosen` is chosen.
    Accept { ballot: Ballot, slot: Slot, entry: Entry, first_unchosen: Slot },
    /// Phase 2b: the acceptor accepted the leader's proposal for `slot` in `ballot`.
    Accepted { ballot: Ballot, slot: Slot },
    /// Refusal of a message of `ballot`: the acceptor promised the higher `promised`.
    Nack { ballot: Ballot, promised: Ballot },
    /// The leader of `ballot` is alive; every slot below `first_unchosen` is chosen.
    Heartbeat { ballot: Ballot, first_unchosen: Slot },
    /// A follower of `ballot` misses chosen slots from `from` on.
    CatchUp { ballot: Ballot, from: Slot },
    /// Chosen entries, from slot `from` on, consecutive.
    Decide { from: Slot, entries: Vec<Entry> },
    /// A client's command.
    ClientRequest(Command),
    /// A server's answer to a client.
    ClientReply(Response),
}

impl Message for MultiPaxosMessage {
    fn kind(&self) -> &'static str {
        match self {
            MultiPaxosMessage::Prepare { .. } => "Prepare",
            MultiPaxosMessage::Promise { .. } => "Promise",
            MultiPaxosMessage::Accept { .. } => "Accept",
            MultiPaxosMessage::Accepted { .. } => "Accepted",
            MultiPaxosMessage::Nack { .. } => "Nack",
            MultiPaxosMessage::Heartbeat { .. } => "Heartbeat",
            MultiPaxosMessage::CatchUp { .. } => "CatchUp",
            MultiPaxosMessage::Decide { .. } => "Decide",
            MultiPaxosMessage::ClientRequest(_) => "ClientRequest",
            MultiPaxosMessage::ClientReply(_) => "ClientReply",
        }
    }

    fn size_bytes(&self) -> usize {
        let entries = match self {
            MultiPaxosMessage::Promise { accepted, .. } => accepted.len(),
            MultiPaxosMessage::Decide { entries, .. } => entries.len(),
            _ => 0,
        };
        size_of::<MultiPaxosMessage>() + entries * size_of::<(Slot, Ballot, Entry)>()
    }
}
