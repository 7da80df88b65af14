//! Servers and clients wired together through the kit's hand-driven network, with the
//! checker watching every observation: enough to pin the textbook cost of a write, to
//! replay a leader change that must recover the log, and to show the `local-reads` stale
//! read, without the engine.

use std::collections::BTreeMap;

use super::*;
use crate::testing::Cluster;

fn cluster(variant: &'static str) -> Cluster<MultiPaxos> {
    Cluster::new(setup(variant), SEED)
}

/// Server 0 times out and wins phase 1 with every promise delivered.
fn elect_0(variant: &'static str) -> Cluster<MultiPaxos> {
    let mut cluster = cluster(variant);
    cluster.fire(0, MultiPaxosTimer::Election);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.server(0).role(), Role::Leader);
    cluster
}

fn store_of(cluster: &Cluster<MultiPaxos>, id: NodeId) -> Vec<u64> {
    cluster.server(id).replica().store().read(1)
}

#[test]
fn fault_free_write_costs_two_messages_per_peer_with_heartbeats_apart_pms_3() {
    let mut cluster = elect_0(CORRECT);
    assert_eq!(cluster.sent_by_kind(), BTreeMap::from([("Prepare", 4), ("Promise", 4), ("Heartbeat", 4)]));
    for value in [10, 11, 12] {
        cluster.clear_sent();
        cluster.request(CLIENT, append(value));
        cluster.deliver_all(|_| false);
        let expected = BTreeMap::from([("ClientRequest", 1), ("Accept", 4), ("Accepted", 4), ("ClientReply", 1)]);
        assert_eq!(cluster.sent_by_kind(), expected, "2(N-1) between the servers, no phase 1");
    }
    assert_eq!(cluster.outcomes, vec![(CLIENT, ok_done()); 3]);
    assert_eq!(store_of(&cluster, 1), vec![10, 11], "slot 3's decision waits for the next message");
    cluster.clear_sent();
    cluster.fire(0, MultiPaxosTimer::Heartbeat);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind(), BTreeMap::from([("Heartbeat", 4)]));
    for id in 1..SERVERS {
        assert_eq!(store_of(&cluster, id), vec![10, 11, 12], "the heartbeat carried the decision");
    }
    assert_eq!(cluster.violation, None);
}

/// Leader 0 proposes slot 1 (reaching nobody) and slot 2 (reaching 1 and 2, so it is
/// chosen, though nobody learns it), then crashes; server 3 takes over with 1, 2 and 4.
fn leader_crash_with_a_gap() -> Cluster<MultiPaxos> {
    let mut cluster = elect_0(CORRECT);
    cluster.deliver((CLIENT, 0, request(command(1, append(10)))));
    cluster.network.clear();
    let second = Command { client: CLIENT + 1, sequence: 1, operation: append(20) };
    cluster.deliver((CLIENT + 1, 0, request(second)));
    cluster.deliver_all(|(from, to, _)| *from == 0 && ![1, 2].contains(to) || *to == 0);
    cluster.crash(0);
    cluster.fire(3, MultiPaxosTimer::Election);
    cluster.deliver_all(|_| false);
    cluster
}

#[test]
fn new_leader_recovers_a_chosen_slot_and_fills_the_gap_before_it_with_a_noop_pms_3() {
    let cluster = leader_crash_with_a_gap();
    assert_eq!(cluster.violation, None);
    assert_eq!(cluster.server(3).role(), Role::Leader);
    let slot_2 = Entry::Command(Command { client: CLIENT + 1, sequence: 1, operation: append(20) });
    assert_eq!(cluster.checker.chosen(1), Some(&Entry::Noop));
    assert_eq!(cluster.checker.chosen(2), Some(&slot_2));
    assert_eq!(cluster.server(3).replica().first_unexecuted(), 3);
    assert_eq!(store_of(&cluster, 3), vec![20], "the append of 10 was never chosen");
}

#[test]
fn restarted_server_with_an_empty_disk_relearns_the_log_through_catch_up() {
    let mut cluster = leader_crash_with_a_gap();
    cluster.crash(1);
    cluster.disks[1].clear();
    cluster.restart(1);
    cluster.clear_sent();
    cluster.fire(3, MultiPaxosTimer::Heartbeat);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind().get("CatchUp"), Some(&1));
    assert_eq!(cluster.server(1).replica().first_unexecuted(), 3);
    assert_eq!(store_of(&cluster, 1), vec![20]);
    assert_eq!(cluster.violation, None);
}

/// Server 0 leads and applies the client's append of 10, then is cut off; server 3 leads
/// the rest and applies an append of 11; then the client's read reaches server 0.
fn read_at_a_deposed_leader(variant: &'static str) -> Cluster<MultiPaxos> {
    let mut cluster = elect_0(variant);
    cluster.request(CLIENT, append(10));
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.outcomes, vec![(CLIENT, ok_done())]);
    let majority = [1, 2, 3, 4];
    cluster.fire(3, MultiPaxosTimer::Election);
    cluster.deliver_within(&majority);
    cluster.deliver((CLIENT, 3, request(command(2, append(11)))));
    cluster.deliver_within(&majority);
    assert_eq!(cluster.sent_to(CLIENT).last(), Some(&done(2, ok_done())));
    cluster.clear_sent();
    cluster.deliver((CLIENT, 0, request(command(3, KvOperation::Read { key: 1 }))));
    cluster.deliver_within(&majority);
    cluster
}

#[test]
fn deposed_leader_serves_no_read_when_reads_go_through_the_log_pmmc_4_5() {
    let cluster = read_at_a_deposed_leader(CORRECT);
    assert_eq!(cluster.server(0).role(), Role::Leader, "server 0 has not heard of its successor");
    assert_eq!(cluster.sent_to(CLIENT), vec![], "its proposal of the read cannot be chosen");
    assert_eq!(cluster.violation, None);
}

#[test]
fn local_reads_variant_serves_a_stale_read_at_a_deposed_leader() {
    let cluster = read_at_a_deposed_leader(LOCAL_READS);
    let stale = done(3, Outcome::Ok(KvReply::Values(vec![10])));
    assert_eq!(cluster.sent_to(CLIENT), vec![stale], "11 is missing");
    let violation = cluster.violation.expect("the checker flags the stale read");
    assert_eq!((violation.invariant, violation.nodes), ("fresh-reads", vec![0, 3]));
}
