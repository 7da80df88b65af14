//! Discovery (DSN Algorithm 1, Medeiros section 3.2): a follower persists the epoch it
//! accepts, with its leader, before it answers; it refuses an older epoch, and one equal to
//! its acceptedEpoch unless it came from the same leader; a leader gives up to a follower
//! that is ahead of it.

use super::*;
use crate::node::Effect;
use crate::testing::Harness;
use crate::zab::{PeerState, ZabMessage};

const LEADER: NodeId = 2;

/// Server 0 (recovered from `records`) following server 2; returns it and its session.
fn following(records: &[ZabRecord]) -> (Harness<Zab>, u64) {
    let mut follower = Harness::<Zab>::recovered(&setup(3, CORRECT_VARIANT), 0, records, 1);
    let effects = follower.input(|server, ctx| server.start_following(ctx, LEADER));
    let session = match effects.sent_to(LEADER).as_slice() {
        [ZabMessage::FollowerInfo { session, .. }] => *session,
        other => panic!("a FollowerInfo to the leader: {other:?}"),
    };
    (follower, session)
}

#[test]
fn a_follower_persists_a_later_epoch_with_its_leader_before_it_acknowledges_it() {
    let (mut follower, session) = following(&disk(2, 1, &[txn(2, 1, 5)]));
    let effects = follower.deliver(LEADER, ZabMessage::LeaderInfo { epoch: 3, session });
    assert_eq!(
        effects.without_timers(),
        vec![
            Effect::Write(ZabRecord::AcceptedEpoch { epoch: 3, leader: LEADER }),
            Effect::Sync(1),
            Effect::send_after_sync(
                LEADER,
                ZabMessage::AckEpoch { current_epoch: 2, last_zxid: Zxid::new(2, 1), session }
            ),
        ]
    );
    assert_eq!(follower.accepted_epoch(), 3);
}

#[test]
fn a_follower_refuses_an_older_epoch_and_looks_again() {
    let (mut follower, session) = following(&disk(3, 1, &[]));
    let effects = follower.deliver(LEADER, ZabMessage::LeaderInfo { epoch: 2, session });
    assert!(
        effects.written().is_empty()
            && effects.sent_to(LEADER).iter().all(|m| matches!(m, ZabMessage::Notification(_)))
    );
    assert_eq!(follower.role(), PeerState::Looking);
}

#[test]
fn an_accepted_epoch_is_acknowledged_again_only_to_the_leader_it_came_from() {
    let (mut follower, session) = following(&disk(3, LEADER, &[]));
    let effects = follower.deliver(LEADER, ZabMessage::LeaderInfo { epoch: 3, session });
    assert!(effects.written().is_empty(), "nothing new to persist");
    assert!(matches!(effects.sent_to(LEADER).as_slice(), [ZabMessage::AckEpoch { .. }]));
    let (mut other, session) = following(&disk(3, 1, &[]));
    other.deliver(LEADER, ZabMessage::LeaderInfo { epoch: 3, session });
    assert_eq!(other.role(), PeerState::Looking, "epoch 3 was acknowledged to server 1");
}

#[test]
fn answers_to_another_session_are_ignored() {
    let (mut follower, session) = following(&disk(2, 1, &[]));
    let effects = follower.deliver(LEADER, ZabMessage::LeaderInfo { epoch: 3, session: session.wrapping_add(1) });
    assert!(effects.list.is_empty());
}

#[test]
fn a_leader_gives_up_to_a_follower_ahead_of_it_zookeeper_wait_for_epoch_ack() {
    let mut leader = Harness::<Zab>::recovered(&setup(3, CORRECT_VARIANT), LEADER, &disk(2, 0, &[txn(2, 1, 5)]), 1);
    leader.input(|server, ctx| server.start_leading(ctx));
    let effects = leader.deliver(0, ZabMessage::FollowerInfo { accepted_epoch: 2, session: 7 });
    assert_eq!(effects.written(), vec![ZabRecord::AcceptedEpoch { epoch: 3, leader: LEADER }]);
    assert_eq!(effects.sent_to(0), vec![ZabMessage::LeaderInfo { epoch: 3, session: 7 }]);
    leader.sync_all();
    leader.deliver(0, ZabMessage::AckEpoch { current_epoch: 2, last_zxid: Zxid::new(2, 2), session: 7 });
    assert_eq!(leader.role(), PeerState::Looking, "server 0 holds 2.2, which the leader lacks");
}
