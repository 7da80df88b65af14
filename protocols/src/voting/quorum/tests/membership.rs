//! Replica-set moves in a hand-driven cluster: {A, B, C} to {A, B, D} (Scylla issue 20458),
//! with the hand-over and without it.

use super::*;
use crate::kv::{KvOperation, KvReply};
use crate::node::Membership;
use crate::service::Outcome;
use crate::testing::Cluster;

/// Servers 0, 1, 2 and spare 3; clients 4 (reads at server 4 mod 3 = 1) and 5.
fn cluster(variant: &'static str) -> Cluster<Quorum> {
    let mut cluster = Cluster::<Quorum>::new(setup_with(3, 1, 2, variant, QuorumSettings::default()), SEED);
    for id in 0..3 {
        cluster.input(id, crate::node::Server::on_start);
    }
    cluster
}

/// Announces `change` to every server that is up, as the world does.
fn announce(cluster: &mut Cluster<Quorum>, change: Membership) {
    for id in 0..4 {
        cluster.input(id, |server, ctx| crate::node::Server::on_membership(server, ctx, change));
    }
}

/// A write of key 0 that only A and C acknowledge, D joins, C leaves; then B reads through
/// B and D. What the read returned.
fn read_after_the_move(variant: &'static str) -> Outcome<KvReply> {
    let mut cluster = cluster(variant);
    cluster.request(5, KvOperation::Write { key: 0, value: 42 });
    cluster.deliver_all(|(from, to, _)| (*from, *to) == (0, 1));
    assert_eq!(cluster.outcomes, [(5, Outcome::Ok(KvReply::Done))], "acknowledged by A and C");
    cluster.servers[3] = Some(Harness::boot(&cluster.setup, 3, SEED)); // a spare joins, empty
    cluster.input(3, crate::node::Server::on_start);
    announce(&mut cluster, Membership::Joined(3));
    announce(&mut cluster, Membership::Leaving(2));
    cluster.deliver_all(|(from, to, _)| (*from, *to) == (0, 1));
    assert!(cluster.servers[2].is_none(), "C left");
    announce(&mut cluster, Membership::Left(2));
    for id in [0, 1, 3] {
        assert_eq!(cluster.server(id).view().replicas, [0, 1, 3], "server {id} moved");
    }
    cluster.request(4, KvOperation::Read { key: 0 });
    cluster.deliver_all(|(from, to, _)| (*from, *to) == (0, 1));
    cluster.outcomes.last().expect("the read ended").1.clone()
}

#[test]
fn the_new_replica_fetches_what_a_and_c_held_before_c_leaves() {
    assert_eq!(read_after_the_move(CORRECT), Outcome::Ok(KvReply::Values(vec![42])));
}

#[test]
fn without_the_hand_over_a_read_of_b_and_d_misses_the_write_scylla_20458() {
    assert_eq!(read_after_the_move(NO_HANDOFF), Outcome::Ok(KvReply::Values(vec![])));
}
