//! Whole clusters through the test kit: Fast Leader Election, the epoch established, a write's
//! messages, a restarted follower joining the established leader, and synchronization by
//! TRUNC (and the DIFF that `diff-instead-of-trunc` sends instead) and SNAP.

use super::*;
use crate::kv::KvReply;
use crate::service::Outcome;
use crate::zab::{PeerState, SyncMode, ZabMessage, ZabObservation, DIFF_INSTEAD_OF_TRUNC};

const CLIENT: NodeId = 3;

#[test]
fn three_servers_elect_the_highest_id_and_establish_epoch_1_medeiros_3_1() {
    let cluster = established(3, CORRECT_VARIANT);
    let elected = (cluster.observations.iter())
        .filter(|(_, seen)| matches!(seen, ZabObservation::Elected { leader: 2, .. }))
        .count();
    assert_eq!(elected, 3, "every server elected server 2: {:?}", cluster.observations);
    assert!(cluster.observations.contains(&(2, ZabObservation::Established { epoch: 1, last: Zxid::ZERO })));
    assert_eq!(cluster.server(2).role(), PeerState::Leading);
    assert_eq!(cluster.server(2).established_epoch(), Some(1));
    for id in 0..2 {
        assert_eq!(cluster.server(id).leader(), Some(2));
        assert_eq!((cluster.server(id).accepted_epoch(), cluster.server(id).current_epoch()), (1, 1));
    }
    assert!(cluster.violation.is_none(), "{:?}", cluster.violation);
}

#[test]
fn a_write_through_a_follower_costs_a_proposal_an_ack_and_a_commit_per_follower_dsn_algorithm_3() {
    let mut cluster = established(3, CORRECT_VARIANT);
    cluster.clear_sent();
    // Client 3 talks to server 3 mod 3 = 0, a follower, which forwards the write.
    cluster.request(CLIENT, KvOperation::Write { key: 0, value: 7 });
    settle(&mut cluster);
    let counts = cluster.sent_by_kind();
    for (kind, count) in
        [("Proposal", 2), ("Ack", 2), ("Commit", 2), ("Request", 1), ("ClientRequest", 1), ("ClientReply", 1)]
    {
        assert_eq!(counts.get(kind).copied().unwrap_or(0), count, "{kind}: {counts:?}");
    }
    assert_eq!(counts.values().sum::<usize>(), 9, "nothing else: {counts:?}");
    assert_eq!(cluster.outcomes, vec![(CLIENT, Outcome::Ok(KvReply::Done))]);
    assert!((0..3).all(|id| cluster.server(id).delivered() == 1 && cluster.server(id).store().read(0) == vec![7]));
    assert!(cluster.violation.is_none(), "{:?}", cluster.violation);
}

#[test]
fn a_restarted_follower_joins_the_established_leader_without_an_election() {
    let mut cluster = established(3, CORRECT_VARIANT);
    cluster.request(CLIENT, KvOperation::Write { key: 0, value: 7 });
    settle(&mut cluster);
    cluster.crash(0);
    cluster.restart(0);
    settle(&mut cluster);
    assert_eq!(cluster.server(0).leader(), Some(2));
    assert!(cluster.server(0).is_serving(), "synchronized and serving again");
    assert_eq!(cluster.server(0).store().read(0), vec![7], "it delivered the history again");
    let established =
        cluster.observations.iter().filter(|(_, seen)| matches!(seen, ZabObservation::Established { .. }));
    assert_eq!(established.count(), 1, "no new epoch");
    assert!(cluster.violation.is_none(), "{:?}", cluster.violation);
}

/// Epoch 1 under leader 2 commits 1.1; 2 proposes 1.2, which nobody receives, and crashes;
/// 0 and 1 establish epoch 2 under 1 without 1.2; 2 restarts and joins, holding 1.2.
fn rejoin_with_an_uncommitted_proposal(variant: &'static str) -> Cluster<Zab> {
    let mut cluster = Cluster::new(testing::setup(3, 2, variant, T), 1);
    cluster.start_all();
    settle(&mut cluster);
    cluster.request(CLIENT, KvOperation::Write { key: 0, value: 7 });
    settle(&mut cluster);
    // Client 4 talks to server 4 mod 3 = 1; its write never gets anywhere but the leader.
    cluster.request(CLIENT + 1, KvOperation::Write { key: 0, value: 8 });
    cluster.deliver_all(|(_, _, message)| matches!(message, ZabMessage::Proposal { .. }));
    assert_eq!(cluster.server(2).history().last_zxid(), Zxid::new(1, 2));
    cluster.crash(2);
    cluster.fire(0, ZabTimer::LeaderSilent);
    cluster.fire(1, ZabTimer::LeaderSilent);
    settle(&mut cluster);
    assert_eq!(cluster.server(1).established_epoch(), Some(2));
    cluster.restart(2);
    settle(&mut cluster);
    cluster.request(CLIENT, KvOperation::Write { key: 0, value: 9 });
    settle(&mut cluster);
    cluster
}

#[test]
fn a_follower_with_a_proposal_the_new_leader_never_had_is_truncated_medeiros_3_3() {
    let cluster = rejoin_with_an_uncommitted_proposal(CORRECT_VARIANT);
    assert!(cluster.observations.contains(&(1, ZabObservation::Synchronized { follower: 2, how: SyncMode::Trunc })));
    let zxids: Vec<Zxid> = cluster.server(2).history().txns().iter().map(|txn| txn.zxid).collect();
    assert!(zxids.starts_with(&[Zxid::new(1, 1), Zxid::new(2, 1)]), "1.2 is gone: {zxids:?}");
    assert!(cluster.violation.is_none(), "{:?}", cluster.violation);
}

#[test]
fn diff_instead_of_trunc_keeps_the_proposal_and_delivers_it_caught() {
    let cluster = rejoin_with_an_uncommitted_proposal(DIFF_INSTEAD_OF_TRUNC);
    assert!(cluster.observations.contains(&(1, ZabObservation::Synchronized { follower: 2, how: SyncMode::Diff })));
    let violation = cluster.violation.expect("server 2 delivers 1.2, which epoch 2 never had");
    assert!(["primary-integrity", "agreement"].contains(&violation.invariant), "{violation:?}");
}

#[test]
fn a_follower_missing_more_than_diff_limit_transactions_gets_a_snap() {
    let mut setup = setup(3, CORRECT_VARIANT);
    setup.settings.diff_limit = 0;
    let mut cluster = Cluster::new(setup, 1);
    cluster.start_all();
    settle(&mut cluster);
    cluster.request(CLIENT, KvOperation::Write { key: 0, value: 7 });
    settle(&mut cluster);
    cluster.crash(0);
    cluster.disks[0].clear(); // A new disk: server 0 lacks the one transaction, more than 0.
    cluster.restart(0);
    settle(&mut cluster);
    assert!(cluster.observations.contains(&(2, ZabObservation::Synchronized { follower: 0, how: SyncMode::Snap })));
    assert_eq!(cluster.server(0).store().read(0), vec![7]);
    assert!(cluster.violation.is_none(), "{:?}", cluster.violation);
}
