//! Synchronization at the follower (DSN Algorithm 2, Medeiros section 3.3): the order in
//! which it makes its leader's history and its new currentEpoch durable before it
//! acknowledges `NewLeader`, and how each variant from ZooKeeper's bug record gets that
//! order wrong.

use super::*;
use crate::node::Effect;
use crate::testing::Harness;
use crate::zab::{Flaw, ZabMessage, EPOCH_BEFORE_LOG, NEWLEADER_ACK_BEFORE_SYNC, SNAP_IN_MEMORY};

const LEADER: NodeId = 2;

/// Server 0 (history `[1.1]`, epoch 1) that accepted epoch 2 from server 2: it waits for its
/// synchronization. Returns it and the session.
fn synchronizing(variant: &'static str) -> (Harness<Zab>, u64) {
    let mut follower = Harness::<Zab>::recovered(&setup(3, variant), 0, &disk(1, 1, &[txn(1, 1, 5)]), 1);
    let effects = follower.input(|server, ctx| server.start_following(ctx, LEADER));
    let Some(ZabMessage::FollowerInfo { session, .. }) = effects.sent_to(LEADER).pop() else { panic!("FollowerInfo") };
    follower.deliver(LEADER, ZabMessage::LeaderInfo { epoch: 2, session });
    follower.sync_all();
    assert_eq!(follower.flaw == Flaw::None, variant == CORRECT_VARIANT);
    (follower, session)
}

fn diff() -> Vec<Txn> {
    vec![txn(1, 2, 6), txn(1, 3, 7)]
}

#[test]
fn the_history_is_made_durable_before_the_new_epoch_and_the_acknowledgement_waits_for_both() {
    let (mut follower, session) = synchronizing(CORRECT_VARIANT);
    let effects = follower.deliver(LEADER, ZabMessage::Diff { txns: diff(), session });
    assert_eq!(effects.written(), diff().into_iter().map(ZabRecord::Txn).collect::<Vec<_>>());
    let effects = follower.deliver(LEADER, ZabMessage::NewLeader { epoch: 2, session });
    assert_eq!(
        effects.without_timers(),
        vec![
            Effect::Write(ZabRecord::CurrentEpoch(2)),
            Effect::Sync(2),
            Effect::send_after_sync(LEADER, ZabMessage::AckNewLeader { epoch: 2, session }),
        ],
        "one sync covers the transactions and then the epoch: a torn log keeps a prefix"
    );
    assert_eq!(follower.history().len(), 3);
}

#[test]
fn newleader_ack_before_sync_acknowledges_before_the_diff_is_durable_zookeeper_3911() {
    let (mut follower, session) = synchronizing(NEWLEADER_ACK_BEFORE_SYNC);
    follower.deliver(LEADER, ZabMessage::Diff { txns: diff(), session });
    let effects = follower.deliver(LEADER, ZabMessage::NewLeader { epoch: 2, session });
    assert_eq!(
        effects.without_timers(),
        vec![
            Effect::Write(ZabRecord::CurrentEpoch(2)),
            Effect::Sync(2),
            Effect::send(LEADER, ZabMessage::AckNewLeader { epoch: 2, session }),
        ]
    );
}

#[test]
fn epoch_before_log_persists_the_epoch_before_the_transactions_zookeeper_4643() {
    let (mut follower, session) = synchronizing(EPOCH_BEFORE_LOG);
    let effects = follower.deliver(LEADER, ZabMessage::Diff { txns: diff(), session });
    assert!(effects.written().is_empty(), "held in memory until NEWLEADER");
    let effects = follower.deliver(LEADER, ZabMessage::NewLeader { epoch: 2, session });
    let mut expected = vec![Effect::Write(ZabRecord::CurrentEpoch(2)), Effect::Sync(2)];
    expected.extend(diff().into_iter().map(|txn| Effect::Write(ZabRecord::Txn(txn))));
    expected.extend([Effect::Sync(3), Effect::send_after_sync(LEADER, ZabMessage::AckNewLeader { epoch: 2, session })]);
    assert_eq!(effects.without_timers(), expected, "a crash between the syncs keeps epoch 2 and loses 1.2, 1.3");
}

#[test]
fn a_snap_is_persisted_before_the_acknowledgement_but_not_in_snap_in_memory_zookeeper_3642() {
    let history = vec![txn(1, 1, 5), txn(1, 2, 6)];
    let (mut follower, session) = synchronizing(CORRECT_VARIANT);
    let effects = follower.deliver(LEADER, ZabMessage::Snap { history: history.clone(), session });
    assert_eq!(effects.written(), vec![ZabRecord::Snapshot(history.clone())]);
    let (mut flawed, session) = synchronizing(SNAP_IN_MEMORY);
    let effects = flawed.deliver(LEADER, ZabMessage::Snap { history: history.clone(), session });
    assert!(effects.written().is_empty(), "only in memory");
    assert_eq!(flawed.history().txns(), history.as_slice());
}

#[test]
fn a_trunc_drops_what_follows_its_zxid_and_up_to_date_delivers_the_committed_history() {
    let (mut follower, session) = synchronizing(CORRECT_VARIANT);
    follower.deliver(LEADER, ZabMessage::Trunc { after: Zxid::ZERO, session });
    assert!(follower.history().is_empty());
    follower.deliver(LEADER, ZabMessage::Diff { txns: vec![txn(1, 1, 5), txn(2, 1, 8)], session });
    follower.deliver(LEADER, ZabMessage::NewLeader { epoch: 2, session });
    let effects = follower.deliver(LEADER, ZabMessage::UpToDate { committed: Zxid::new(1, 1), session });
    assert_eq!(effects.observed().len(), 1, "delivers 1.1 only: {:?}", effects.observed());
    assert_eq!(follower.delivered(), 1);
}
