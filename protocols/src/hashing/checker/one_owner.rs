//! One owner: at every moment at most one server serves each key. After each input of a
//! server, its claims (the keys it holds as owner, with their view) are compared with the
//! last known claimant of each key; an earlier claimant that still claims the key (it is up
//! and holds it as owner) is a second owner.

use std::collections::BTreeMap;

use super::ms;
use crate::hashing::view::ViewNumber;
use crate::hashing::ShardKv;
use crate::node::{NodeId, Time, View, Violation};
use crate::service::Key;

#[derive(Debug, Default)]
pub struct OneOwner {
    /// Per key, the server last seen serving it: since when, in which view, at which position.
    claimants: BTreeMap<Key, Claim>,
}

#[derive(Clone, Copy, Debug)]
struct Claim {
    server: NodeId,
    since: Time,
    view: ViewNumber,
    position: u64,
}

impl OneOwner {
    /// The server last seen serving `key`, and the position of its copy.
    pub fn claimant(&self, key: Key) -> Option<(NodeId, u64)> {
        self.claimants.get(&key).map(|claim| (claim.server, claim.position))
    }

    pub fn inspect(
        &mut self,
        at: Time,
        node: NodeId,
        claims: &[(Key, ViewNumber, u64)],
        world: &dyn View<ShardKv>,
    ) -> Result<(), Violation> {
        self.claimants.retain(|key, claim| claim.server != node || claims.iter().any(|(k, _, _)| k == key));
        for &(key, view, position) in claims {
            let since = match self.claimants.get(&key) {
                Some(claim) if claim.server == node => claim.since,
                Some(claim) => {
                    let still = world.server(claim.server).and_then(|server| server.claim(key));
                    if let Some((other_view, _)) = still {
                        return Err(two_owners(at, node, view, key, *claim, other_view, world));
                    }
                    at
                }
                None => at,
            };
            self.claimants.insert(key, Claim { server: node, since, view, position });
        }
        Ok(())
    }
}

fn two_owners(
    at: Time,
    node: NodeId,
    view: ViewNumber,
    key: Key,
    earlier: Claim,
    earlier_view: ViewNumber,
    world: &dyn View<ShardKv>,
) -> Violation {
    let print = |server: NodeId, view: ViewNumber| {
        let fingerprint = world
            .server(server)
            .and_then(|s| s.views().get(view as usize).map(|v| format!(" #{:08x}", v.fingerprint())))
            .unwrap_or_default();
        format!("server {server} (view {view}{fingerprint})")
    };
    let detail = format!(
        "{} and {} both serve key {key} at {}: {} has served it since {} (from view {})",
        print(earlier.server, earlier_view),
        print(node, view),
        ms(at),
        earlier.server,
        ms(earlier.since),
        earlier.view
    );
    Violation {
        invariant: "one-owner",
        nodes: vec![earlier.server, node],
        detail,
        evidence: vec![(earlier.server, earlier.since), (node, at)],
    }
}
