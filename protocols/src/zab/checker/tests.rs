//! Each property's checker, quiet on what Zab allows and catching what it forbids, on
//! hand-made observations and logs. (Whole correct runs stay quiet in `zab/tests/cluster.rs`
//! and in every bundled scenario; the flawed variants are caught there too.)

use super::*;
use crate::kv::{Command, KvOperation};
use crate::node::NodeId;
use crate::testing::Cluster;
use crate::zab::{Txn, ZabClient, ZabRecord, ZabServer};

fn txn(epoch: Epoch, counter: u64) -> Txn {
    let command = Command { client: 9, sequence: counter, operation: KvOperation::Write { key: 0, value: counter } };
    Txn { zxid: Zxid::new(epoch, counter), command }
}

fn zxid(epoch: Epoch, counter: u64) -> Zxid {
    Zxid::new(epoch, counter)
}

fn invariant(result: Result<(), Violation>) -> &'static str {
    result.expect_err("a violation").invariant
}

#[test]
fn one_leader_per_epoch_and_only_it_proposes() {
    let mut check = OneLeaderPerEpoch::default();
    assert!(check.on_established(1, 2, 1).is_ok());
    assert!(check.on_established(2, 2, 1).is_ok(), "the same leader again");
    assert!(check.on_proposed(3, 2, zxid(1, 1)).is_ok());
    assert_eq!(invariant(check.on_proposed(4, 0, zxid(1, 2))), "one-leader-per-epoch");
    assert_eq!(invariant(check.on_proposed(4, 0, zxid(2, 1))), "one-leader-per-epoch", "epoch 2 was never established");
    assert_eq!(invariant(check.on_established(5, 1, 1)), "one-leader-per-epoch");
}

#[test]
fn integrity_delivered_means_broadcast_as_delivered() {
    let mut check = Integrity::default();
    check.on_proposed(1, 2, &txn(1, 1));
    assert!(check.on_delivered(2, 0, &txn(1, 1)).is_ok());
    assert_eq!(invariant(check.on_delivered(3, 0, &txn(1, 2))), "integrity");
    let mut changed = txn(1, 1);
    changed.command.sequence = 99;
    assert_eq!(invariant(check.on_delivered(3, 0, &changed)), "integrity");
}

#[test]
fn total_order_each_server_delivers_position_after_position() {
    let mut check = TotalOrder::default();
    assert!(check.on_delivered(1, 0, 1, zxid(1, 1)).is_ok());
    assert!(check.on_delivered(2, 0, 2, zxid(1, 2)).is_ok());
    assert!(check.on_delivered(3, 0, 1, zxid(1, 1)).is_ok(), "starting over after a restart");
    assert_eq!(invariant(check.on_delivered(4, 0, 3, zxid(1, 3))), "total-order", "#2 skipped");
    assert_eq!(invariant(check.on_delivered(5, 1, 2, zxid(1, 2))), "total-order", "#1 never delivered");
}

#[test]
fn agreement_every_two_servers_deliver_the_same_prefix() {
    let mut check = Agreement::default();
    assert!(check.on_delivered(1, 0, 1, zxid(1, 1)).is_ok());
    assert!(check.on_delivered(2, 1, 1, zxid(1, 1)).is_ok());
    assert!(check.on_delivered(3, 1, 2, zxid(2, 1)).is_ok());
    assert_eq!(invariant(check.on_delivered(4, 0, 2, zxid(1, 2))), "agreement");
}

#[test]
fn local_primary_order_a_leaders_transactions_in_its_order() {
    let mut check = LocalPrimaryOrder::default();
    assert!(check.on_delivered(1, 0, 1, zxid(1, 1)).is_ok());
    assert!(check.on_delivered(2, 0, 2, zxid(1, 2)).is_ok());
    assert!(check.on_delivered(3, 0, 3, zxid(2, 1)).is_ok());
    assert_eq!(invariant(check.on_delivered(4, 0, 4, zxid(2, 3))), "local-primary-order", "2.2 skipped");
    assert_eq!(invariant(check.on_delivered(5, 1, 1, zxid(1, 2))), "local-primary-order", "1.1 skipped");
}

#[test]
fn global_primary_order_earlier_epochs_first() {
    let mut check = GlobalPrimaryOrder::default();
    assert!(check.on_delivered(1, 0, 1, zxid(1, 1)).is_ok());
    assert!(check.on_delivered(2, 0, 2, zxid(2, 1)).is_ok());
    assert!(check.on_delivered(3, 1, 1, zxid(2, 1)).is_ok());
    assert_eq!(invariant(check.on_delivered(4, 0, 3, zxid(1, 2))), "global-primary-order");
}

#[test]
fn primary_integrity_a_leader_delivers_every_earlier_delivered_transaction_before_it_broadcasts() {
    let mut check = PrimaryIntegrity::default();
    assert!(check.on_delivered(1, 0, zxid(1, 1)).is_ok());
    assert!(check.is_first_proposal(2) && !check.is_first_proposal(2));
    assert!(check.on_first_proposal(2, 1, 2, &[txn(1, 1)]).is_ok());
    assert_eq!(invariant(check.on_delivered(3, 0, zxid(1, 2))), "primary-integrity", "1.2 after epoch 2 began");
    let mut late = PrimaryIntegrity::default();
    late.on_delivered(1, 0, zxid(1, 1)).unwrap();
    assert_eq!(invariant(late.on_first_proposal(2, 1, 2, &[])), "primary-integrity", "1.1 before");
}

#[test]
fn leader_completeness_an_established_leader_holds_every_earlier_commit() {
    let mut cluster = Cluster::<Zab>::new(crate::testing::setup(3, 1, crate::node::CORRECT, 50), 1);
    cluster.start_all();
    for _ in 0..20 {
        cluster.deliver_all(|_| false);
        for id in 0..3 {
            cluster.fire(id, crate::zab::ZabTimer::Finalize);
        }
    }
    let leader: &ZabServer = cluster.server(2);
    assert_eq!(leader.established_epoch(), Some(1));
    let mut check = LeaderCompleteness::default();
    check.on_committed(Commit { zxid: zxid(1, 5), node: 2, at: 1 });
    assert!(check.inspect(2, 2, Some(leader)).is_ok(), "a commit of its own epoch is not an earlier one");
    check.on_committed(Commit { zxid: zxid(0, 1), node: 0, at: 3 });
    assert_eq!(invariant(check.inspect(4, 2, Some(leader))), "leader-completeness");
    assert!(check.inspect(5, 0, cluster.servers[0].as_ref().map(|h| &h.server)).is_ok(), "a follower");
}

/// Logs for the durability checker, each with how much of it is durable.
struct Logs(Vec<(Vec<ZabRecord>, usize)>);

impl View<Zab> for Logs {
    fn servers(&self) -> u32 {
        self.0.len() as u32
    }
    fn server(&self, _: NodeId) -> Option<&ZabServer> {
        None
    }
    fn log(&self, server: NodeId) -> (&[ZabRecord], usize) {
        let (records, synced) = &self.0[server as usize];
        (records, *synced)
    }
    fn log_rewrites(&self, _: NodeId) -> u64 {
        0
    }
    fn client(&self, _: u32) -> &ZabClient {
        unreachable!("no clients")
    }
    fn clients(&self) -> u32 {
        0
    }
}

#[test]
fn committed_durability_a_commit_stays_durable_on_a_majority() {
    let mut check = CommittedDurability::new(3, 2);
    let held = vec![ZabRecord::Txn(txn(1, 1)), ZabRecord::Txn(txn(1, 2))];
    let mut logs = Logs(vec![(held.clone(), 2), (held.clone(), 1), (Vec::new(), 0)]);
    for node in 0..3 {
        check.inspect(1, node, &logs).unwrap();
    }
    assert!(check.on_committed(Commit { zxid: zxid(1, 1), node: 0, at: 2 }).is_ok());
    let unsynced = check.on_committed(Commit { zxid: zxid(1, 2), node: 0, at: 3 });
    assert_eq!(invariant(unsynced), "committed-durability", "1.2 is written but not synced on server 1");
    logs.0[1].0.push(ZabRecord::Truncate { after: Zxid::ZERO });
    logs.0[1].1 = 3;
    let dropped = check.inspect(4, 1, &logs).expect_err("server 1 truncated 1.1");
    assert_eq!(dropped.invariant, "committed-durability");
    assert!(dropped.detail.contains("server 1 dropped it"), "{}", dropped.detail);
}
