//! No lost write: the updates of a key form one history, and the server that serves a key
//! holds all of it that was acknowledged. Each acknowledged update carries its position in
//! its key's history (its copy's count of updates once it applied); two different updates
//! acknowledged at one position mean the history forked, one branch of which is lost. And a
//! server that serves a key from a copy whose position is behind the latest acknowledged
//! one has lost the updates in between.

use std::collections::BTreeMap;

use super::ms;
use crate::hashing::view::ViewNumber;
use crate::kv::Sequence;
use crate::node::{NodeId, Time, Violation};
use crate::service::Key;

#[derive(Debug, Default)]
pub struct LostWrites {
    /// Server slots: client `c` is process `slots + c`.
    slots: NodeId,
    /// Per key and position, the update acknowledged there: its client, sequence and when.
    acknowledged: BTreeMap<(Key, u64), (NodeId, Sequence, Time)>,
    /// Per key, the latest position acknowledged, with its client and time.
    latest: BTreeMap<Key, (u64, NodeId, Time)>,
}

impl LostWrites {
    pub fn new(slots: NodeId) -> LostWrites {
        LostWrites { slots, ..LostWrites::default() }
    }

    /// Client `client`'s update `sequence` of `key` was acknowledged at `position`;
    /// `serving` is the server that serves the key now and its copy's position.
    pub fn on_acknowledged(
        &mut self,
        at: Time,
        client: NodeId,
        key: Key,
        position: u64,
        sequence: Sequence,
        serving: Option<(NodeId, u64)>,
    ) -> Result<(), Violation> {
        match self.acknowledged.get(&(key, position)) {
            Some(&(other, other_sequence, when)) if (other, other_sequence) != (client, sequence) => {
                let detail = format!(
                    "two updates of key {key} were acknowledged at position {position}: update {other_sequence} of \
                     client {} at {} and update {sequence} of client {} at {}; the key's history forked and one \
                     branch is lost",
                    other - self.slots,
                    ms(when),
                    client - self.slots,
                    ms(at)
                );
                return Err(Violation {
                    invariant: "lost-writes",
                    nodes: vec![other, client],
                    detail,
                    evidence: vec![(other, when), (client, at)],
                });
            }
            _ => {}
        }
        self.acknowledged.insert((key, position), (client, sequence, at));
        let latest = self.latest.entry(key).or_insert((0, client, at));
        if position > latest.0 {
            *latest = (position, client, at);
        }
        match serving {
            Some((server, held)) if held < position => Err(self.behind(at, server, key, held, (position, client, at))),
            _ => Ok(()),
        }
    }

    /// `server` serves `key` in `view` from a copy at `position`.
    pub fn on_serving(
        &self,
        at: Time,
        server: NodeId,
        key: Key,
        _view: ViewNumber,
        position: u64,
    ) -> Result<(), Violation> {
        match self.latest.get(&key) {
            Some(&latest) if latest.0 > position => Err(self.behind(at, server, key, position, latest)),
            _ => Ok(()),
        }
    }

    fn behind(
        &self,
        at: Time,
        server: NodeId,
        key: Key,
        held: u64,
        (position, client, when): (u64, NodeId, Time),
    ) -> Violation {
        let detail = format!(
            "server {server} serves key {key} at {} from a copy with {held} updates, but client {} had update \
             {position} of it acknowledged at {}: acknowledged writes were lost",
            ms(at),
            client - self.slots,
            ms(when)
        );
        Violation {
            invariant: "lost-writes",
            nodes: vec![server, client],
            detail,
            evidence: vec![(client, when), (server, at)],
        }
    }
}
