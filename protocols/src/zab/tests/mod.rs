//! Zab's tests: handlers pinned by their exact effects, phase by phase (Medeiros section 3),
//! whole clusters through the test kit, the client, and the history check on hand-made
//! histories. The checker's own tests are in `checker/tests.rs`.

mod broadcast;
mod client;
mod cluster;
mod discovery;
mod history_check;
mod synchronization;

use super::{Epoch, Txn, Zab, ZabRecord, ZabSettings, ZabTimer, Zxid};
use crate::kv::{Command, KvOperation};
use crate::node::{NodeId, Setup, Time, CORRECT, MILLISECOND};
use crate::testing::{self, Cluster};

/// The base timeout of these tests.
const T: Time = 50 * MILLISECOND;

/// `servers` servers and one client (process `servers`) of `variant`.
fn setup(servers: u32, variant: &'static str) -> Setup<ZabSettings> {
    testing::setup(servers, 1, variant, T)
}

fn write(client: NodeId, sequence: u64, key: u64, value: u64) -> Command {
    Command { client, sequence, operation: KvOperation::Write { key, value } }
}

/// A transaction of `epoch`: a write of `value` to key 0 by client 9.
fn txn(epoch: Epoch, counter: u64, value: u64) -> Txn {
    Txn { zxid: Zxid::new(epoch, counter), command: write(9, value, 0, value) }
}

/// The durable records of a server that accepted and acknowledged `epoch` (from `leader`)
/// and holds `txns`.
fn disk(epoch: Epoch, leader: NodeId, txns: &[Txn]) -> Vec<ZabRecord> {
    let mut records = vec![ZabRecord::AcceptedEpoch { epoch, leader }, ZabRecord::CurrentEpoch(epoch)];
    records.extend(txns.iter().cloned().map(ZabRecord::Txn));
    records
}

/// Delivers every message and fires every pending finalize and connect timer until nothing
/// is left to do: an election and whatever follows it, with no timeouts.
fn settle(cluster: &mut Cluster<Zab>) {
    for _ in 0..1_000 {
        cluster.deliver_all(|_| false);
        let due: Vec<(NodeId, ZabTimer)> = (0..cluster.timers.len() as NodeId)
            .flat_map(|id| cluster.timers[id as usize].iter().map(move |(timer, _)| (id, timer.clone())))
            .filter(|(_, timer)| *timer == ZabTimer::Finalize)
            .collect();
        if due.is_empty() {
            return;
        }
        for (id, timer) in due {
            cluster.fire(id, timer);
        }
    }
    panic!("the cluster never settled");
}

/// A cluster of `servers` that elected and established its first leader.
fn established(servers: u32, variant: &'static str) -> Cluster<Zab> {
    let mut cluster = Cluster::new(setup(servers, variant), 1);
    cluster.start_all();
    settle(&mut cluster);
    cluster
}

/// The correct variant.
const CORRECT_VARIANT: &str = CORRECT;
