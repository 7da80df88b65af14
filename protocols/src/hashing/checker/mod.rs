//! The store's online checker, one file per property, with the full state of every server
//! in view after each of its inputs:
//!
//! - one owner ([`one_owner`]): at every moment at most one server serves a key (holds it as
//!   owner, its primary, and accepts writes for it), whatever views the servers are in; so
//!   under each view too. Backups hold copies but serve nothing.
//! - no lost write ([`lost_writes`]): every acknowledged update of a key has its own
//!   position in the key's history (two different updates acknowledged at one position mean
//!   the history forked), and the server that serves a key holds every update acknowledged
//!   so far, so the last acknowledged value of every key is readable, at the end as at any
//!   time.
//!
//! Reads after a migration seeing the latest acknowledged write is linearizability, which
//! the history check runs on the key-value model. The checker also measures ([`figures`]):
//! views published, keys moved per view change, migration bytes and time, redirects per
//! operation, and the load imbalance the views left.

mod figures;
mod lost_writes;
mod one_owner;

use figures::Figures;
use lost_writes::LostWrites;
use one_owner::OneOwner;

use super::{ShardKv, ShardObservation, ShardSettings};
use crate::node::{Checker, NodeId, Setup, Time, View, Violation};

#[derive(Debug)]
pub struct ShardChecker {
    one_owner: OneOwner,
    lost_writes: LostWrites,
    figures: Figures,
}

impl ShardChecker {
    pub fn new(setup: &Setup<ShardSettings>) -> ShardChecker {
        ShardChecker {
            one_owner: OneOwner::default(),
            lost_writes: LostWrites::new(setup.server_slots()),
            figures: Figures::new(setup),
        }
    }
}

impl Checker<ShardKv> for ShardChecker {
    const INSPECTS: bool = true;

    fn observe(&mut self, at: Time, node: NodeId, observation: &ShardObservation) -> Result<(), Violation> {
        self.figures.observe(at, observation);
        if let ShardObservation::Acknowledged { key, position, sequence } = *observation {
            let serving = self.one_owner.claimant(key);
            return self.lost_writes.on_acknowledged(at, node, key, position, sequence, serving);
        }
        Ok(())
    }

    fn inspect(&mut self, at: Time, node: NodeId, world: &dyn View<ShardKv>) -> Result<(), Violation> {
        self.figures.sample(node, world);
        let claims: Vec<(u64, u64, u64)> =
            world.server(node).map(|server| server.claims().collect()).unwrap_or_default();
        for &(key, view, position) in &claims {
            self.lost_writes.on_serving(at, node, key, view, position)?;
        }
        self.one_owner.inspect(at, node, &claims, world)
    }

    fn figures(&self, end: Time) -> Vec<(&'static str, f64)> {
        self.figures.report(end)
    }

    fn stuck_reason(&self, _end: Time) -> Option<String> {
        self.figures.stuck_reason()
    }
}

/// A time for a violation's text, in milliseconds.
fn ms(at: Time) -> String {
    format!("{:.3} ms", at as f64 / crate::node::MILLISECOND as f64)
}
