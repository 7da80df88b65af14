//! The store's figures, from the observations and the clients' and servers' counters: views
//! published, keys moved per view change, migration bytes and time (from a view's
//! publication to the last install for it; with `replicas > 1` a new backup's first copy of
//! a key counts as a migration too), redirects per operation, replication messages per
//! acknowledged update, and the max/mean load over the views.

use std::collections::BTreeMap;

use crate::hashing::placement::Placement;
use crate::hashing::view::{View, ViewNumber};
use crate::hashing::{ShardKv, ShardObservation, ShardSettings};
use crate::node::{NodeId, Setup, Time, View as WorldView, MILLISECOND};

#[derive(Debug)]
pub struct Figures {
    views: u64,
    moved: u64,
    migrations: u64,
    bytes: u64,
    /// Per view: when it was published, and when the last install for it happened.
    timing: BTreeMap<ViewNumber, (Time, Option<Time>)>,
    imbalance_first: f64,
    imbalance_max: f64,
    imbalance_last: f64,
    operations: u64,
    redirects: u64,
    latest: Option<(ViewNumber, Time)>,
    updates: u64,
    /// `Replicate` messages sent: the total, and each server's count when last seen (a
    /// server's count starts again from 0 when it recovers).
    replications: u64,
    seen: BTreeMap<NodeId, u64>,
}

impl Figures {
    pub fn new(setup: &Setup<ShardSettings>) -> Figures {
        let keys = setup.settings.keys;
        let placement = setup.settings.scheme().place(&View::initial(setup.servers).members);
        let mut loads = vec![0u64; setup.servers as usize];
        for key in 0..keys {
            loads[placement.owner(key) as usize] += 1;
        }
        let imbalance = loads.into_iter().max().unwrap_or(0) as f64 / (keys as f64 / f64::from(setup.servers));
        Figures {
            views: 0,
            moved: 0,
            migrations: 0,
            bytes: 0,
            timing: BTreeMap::new(),
            imbalance_first: imbalance,
            imbalance_max: imbalance,
            imbalance_last: imbalance,
            operations: 0,
            redirects: 0,
            latest: None,
            updates: 0,
            replications: 0,
            seen: BTreeMap::new(),
        }
    }

    pub fn observe(&mut self, at: Time, observation: &ShardObservation) {
        match *observation {
            ShardObservation::Published { view, moved, imbalance, .. } => {
                self.views += 1;
                self.moved += moved;
                self.timing.insert(view, (at, None));
                self.imbalance_max = self.imbalance_max.max(imbalance);
                self.imbalance_last = imbalance;
                self.latest = Some((view, at));
            }
            ShardObservation::Migrated { view, bytes, .. } => {
                self.migrations += 1;
                self.bytes += bytes;
                if let Some((_, last)) = self.timing.get_mut(&view) {
                    *last = Some(at);
                }
            }
            ShardObservation::Acknowledged { .. } => self.updates += 1,
            _ => {}
        }
    }

    /// The clients' counters of operations and redirects, and server `node`'s of
    /// replication messages.
    pub fn sample(&mut self, node: NodeId, world: &dyn WorldView<ShardKv>) {
        if let Some(server) = world.server(node) {
            let seen = self.seen.entry(node).or_insert(0);
            let count = server.replications;
            self.replications += if count >= *seen { count - *seen } else { count };
            *seen = count;
        }
        let (mut operations, mut redirects) = (0, 0);
        for index in 0..world.clients() {
            let client = world.client(index);
            operations += client.operations;
            redirects += client.redirects;
        }
        (self.operations, self.redirects) = (operations, redirects);
    }

    pub fn report(&self, _end: Time) -> Vec<(&'static str, f64)> {
        let durations: Vec<f64> = self
            .timing
            .values()
            .filter_map(|(published, last)| last.map(|last| (last - published) as f64 / MILLISECOND as f64))
            .collect();
        let mean = |total: f64, count: f64| if count > 0.0 { total / count } else { 0.0 };
        vec![
            ("views_published", self.views as f64),
            ("keys_moved_per_view_change", mean(self.moved as f64, self.views as f64)),
            ("migrations", self.migrations as f64),
            ("migration_bytes", self.bytes as f64),
            ("migration_ms_mean", mean(durations.iter().sum(), durations.len() as f64)),
            ("migration_ms_max", durations.iter().copied().fold(0.0, f64::max)),
            ("redirects_per_operation", mean(self.redirects as f64, self.operations as f64)),
            ("replication_messages_per_update", mean(self.replications as f64, self.updates as f64)),
            ("load_imbalance_initial", self.imbalance_first),
            ("load_imbalance_max", self.imbalance_max),
            ("load_imbalance_final", self.imbalance_last),
        ]
    }

    pub fn stuck_reason(&self) -> Option<String> {
        Some(match self.latest {
            Some((view, at)) => {
                let done = self.timing.get(&view).and_then(|(_, last)| *last).is_some();
                let state = if done { "with keys installed since" } else { "and no key installed for it yet" };
                format!("the latest view published: view {view} at {} ms, {state}", at / MILLISECOND)
            }
            None => "no view was published after view 0".to_string(),
        })
    }
}
