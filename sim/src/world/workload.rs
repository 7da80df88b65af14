//! When each client invokes its next operation; the service's workload says which.
//!
//! Clients are closed-loop processes in Jepsen's sense: each has at most one operation in
//! flight, and waits an exponential think time (mean `clients / rate`) between the end of
//! one operation and the start of the next. No operation starts at or after the end of the
//! workload's time, or past the scenario's operation cap.

use std::collections::BTreeMap;

use protocols::node::{NodeId, Time, MILLISECOND};
use protocols::service::{Mix, Outcome, Service, Workload as _, WorkloadConfig};
use rand_chacha::ChaCha8Rng;

use super::network::exponential;
use crate::scenario;

pub struct Clients<S: Service> {
    rng: ChaCha8Rng,
    workload: S::Workload,
    mean_think_ms: f64,
    /// No invocation at or after this time.
    end: Time,
    remaining: Option<u64>,
    first_client: NodeId,
    /// Per client, the index in the history of its operation in flight.
    in_flight: Vec<Option<usize>>,
}

impl<S: Service> Clients<S> {
    pub fn new(
        config: &scenario::Workload,
        params: S::Params,
        first_client: NodeId,
        end: Time,
        rng: ChaCha8Rng,
    ) -> Self {
        let weights: BTreeMap<&'static str, f64> =
            S::OPERATIONS.iter().filter_map(|&kind| config.mix.get(kind).map(|&weight| (kind, weight))).collect();
        let workload = S::workload(&WorkloadConfig {
            clients: config.clients,
            first_client,
            keys: config.keys,
            mix: Mix::new(&weights, S::OPERATIONS),
            params,
        });
        Clients {
            rng,
            workload,
            mean_think_ms: f64::from(config.clients) * 1_000.0 / config.rate,
            end,
            remaining: config.operations,
            first_client,
            in_flight: vec![None; config.clients as usize],
        }
    }

    /// The wait before a client's next operation.
    pub fn think_time(&mut self) -> Time {
        (exponential(&mut self.rng, self.mean_think_ms) * MILLISECOND as f64) as Time
    }

    /// The next operation of `client` at `now`, or `None` when it has nothing more to do.
    pub fn next(&mut self, client: NodeId, now: Time) -> Option<S::Operation> {
        if now >= self.end || self.remaining == Some(0) {
            return None;
        }
        let operation = self.workload.next(client, &mut self.rng)?;
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
        }
        Some(operation)
    }

    /// Notes that `client`'s operation is entry `index` of the history.
    pub fn started(&mut self, client: NodeId, index: usize) {
        self.in_flight[(client - self.first_client) as usize] = Some(index);
    }

    /// The history index of `client`'s operation in flight, taken off it.
    pub fn take(&mut self, client: NodeId) -> Option<usize> {
        self.in_flight[(client - self.first_client) as usize].take()
    }

    pub fn completed(&mut self, client: NodeId, operation: &S::Operation, outcome: &Outcome<S::Reply>) {
        self.workload.completed(client, operation, outcome);
    }
}
