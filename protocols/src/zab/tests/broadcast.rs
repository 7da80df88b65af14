//! Broadcast at the follower (DSN Algorithm 3, Medeiros section 3.4): a proposal of its
//! leader's epoch is logged and acknowledged once durable; a commit delivers in order; a
//! proposal from anyone else is ignored, except in `accept-old-epoch`.

use super::*;
use crate::node::Effect;
use crate::testing::Harness;
use crate::zab::{ZabMessage, ZabObservation, ACCEPT_OLD_EPOCH};

const LEADER: NodeId = 2;
const OLD_LEADER: NodeId = 1;

/// Server 0 serving in epoch 2 under server 2, with `[1.1]` delivered.
fn broadcasting(variant: &'static str) -> Harness<Zab> {
    let mut follower = Harness::<Zab>::recovered(&setup(3, variant), 0, &disk(1, 1, &[txn(1, 1, 5)]), 1);
    let effects = follower.input(|server, ctx| server.start_following(ctx, LEADER));
    let Some(ZabMessage::FollowerInfo { session, .. }) = effects.sent_to(LEADER).pop() else { panic!("FollowerInfo") };
    follower.deliver(LEADER, ZabMessage::LeaderInfo { epoch: 2, session });
    follower.deliver(LEADER, ZabMessage::Diff { txns: Vec::new(), session });
    follower.deliver(LEADER, ZabMessage::NewLeader { epoch: 2, session });
    follower.deliver(LEADER, ZabMessage::UpToDate { committed: Zxid::new(1, 1), session });
    follower.sync_all();
    assert_eq!(follower.delivered(), 1);
    follower
}

#[test]
fn a_proposal_is_acknowledged_once_durable_and_delivered_at_its_commit() {
    let mut follower = broadcasting(CORRECT_VARIANT);
    let effects = follower.deliver(LEADER, ZabMessage::Proposal { txn: txn(2, 1, 6) });
    assert_eq!(
        effects.without_timers(),
        vec![
            Effect::Write(ZabRecord::Txn(txn(2, 1, 6))),
            Effect::Sync(3),
            Effect::send_after_sync(LEADER, ZabMessage::Ack { zxid: Zxid::new(2, 1) }),
        ]
    );
    let effects = follower.deliver(LEADER, ZabMessage::Commit { zxid: Zxid::new(2, 1) });
    assert_eq!(effects.observed(), vec![ZabObservation::Delivered { position: 2, txn: txn(2, 1, 6) }]);
    assert_eq!(follower.store().read(0), vec![6]);
}

#[test]
fn a_proposal_from_a_leader_of_an_older_epoch_is_ignored_but_taken_in_accept_old_epoch() {
    let mut follower = broadcasting(CORRECT_VARIANT);
    let old = ZabMessage::Proposal { txn: txn(1, 2, 7) };
    assert!(follower.deliver(OLD_LEADER, old.clone()).list.is_empty());
    assert!(follower.deliver(OLD_LEADER, ZabMessage::Commit { zxid: Zxid::new(1, 2) }).list.is_empty());
    let mut flawed = broadcasting(ACCEPT_OLD_EPOCH);
    let effects = flawed.deliver(OLD_LEADER, old);
    assert_eq!(effects.sent_to(OLD_LEADER), vec![ZabMessage::Ack { zxid: Zxid::new(1, 2) }]);
    let effects = flawed.deliver(OLD_LEADER, ZabMessage::Commit { zxid: Zxid::new(1, 2) });
    assert_eq!(effects.observed(), vec![ZabObservation::Delivered { position: 2, txn: txn(1, 2, 7) }]);
}
