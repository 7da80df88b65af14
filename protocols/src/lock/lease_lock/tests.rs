//! The lock server of `lease-lock`: grants with growing tokens recorded before the answer,
//! leases on the server's clock, renewals and releases by the holder's tenure only (and by
//! anyone in `unlock-any`), and what a restart keeps (Chubby, Burrows 2006 sections 2.4,
//! 2.8); and a whole cycle through a cluster.

use super::*;
use crate::lock::{LockOperation, LockReply, Write};
use crate::node::{Effect, CORRECT};
use crate::service::Outcome;
use crate::testing::{self, Cluster, Harness};

const TIMEOUT: Time = 10 * MILLISECOND;
const LEASE: Time = 50 * MILLISECOND;

fn setup(variant: &'static str, durable: bool) -> LeaseSetup {
    let setup: LeaseSetup = testing::setup(2, 2, variant, TIMEOUT);
    setup.with_settings(LeaseLockSettings { durable, ..setup.settings })
}

fn tenure(client: u32, number: u64) -> Tenure {
    Tenure { client, number }
}

fn lock_server(variant: &'static str) -> Harness<LeaseLock> {
    Harness::boot(&setup(variant, true), LOCK_SERVER, 1)
}

fn state(server: &Harness<LeaseLock>) -> &LockServer {
    let LeaseServer::Lock(state) = &server.server else { panic!("server 0 is the lock server") };
    state
}

fn acquire(client: u32, number: u64) -> LeaseMessage {
    LeaseMessage::Acquire { tenure: tenure(client, number) }
}

#[test]
fn a_grant_is_recorded_and_synced_before_it_is_answered_with_the_next_token() {
    let mut server = lock_server(CORRECT);
    let effects = server.deliver(2, acquire(0, 1));
    assert_eq!(
        effects.list,
        [
            Effect::Observe(LockObservation::Granted { tenure: tenure(0, 1), token: Some(1) }),
            Effect::Write(LeaseRecord::Granted { tenure: tenure(0, 1), token: 1 }),
            Effect::Sync(1),
            Effect::send_after_sync(2, LeaseMessage::Granted { tenure: tenure(0, 1), token: 1 }),
        ]
    );
    assert_eq!(server.deliver(3, acquire(1, 1)).sent(), [(3, LeaseMessage::Busy { tenure: tenure(1, 1) })]);
    server.set_now(LEASE);
    let effects = server.deliver(3, acquire(1, 2));
    assert_eq!(effects.sent(), [(3, LeaseMessage::Granted { tenure: tenure(1, 2), token: 2 })], "the lease ran out");
    assert_eq!(effects.observed()[0], LockObservation::Freed { tenure: tenure(0, 1) });
}

#[test]
fn a_repeated_acquire_gets_the_same_grant_again_with_its_lease_from_now() {
    let mut server = lock_server(CORRECT);
    server.deliver(2, acquire(0, 1));
    server.set_now(40 * MILLISECOND);
    let effects = server.deliver(2, acquire(0, 1));
    assert_eq!(effects.sent(), [(2, LeaseMessage::Granted { tenure: tenure(0, 1), token: 1 })]);
    assert!(effects.written().is_empty(), "no second grant");
    assert_eq!(state(&server).holder().map(|holder| holder.expires), Some(40 * MILLISECOND + LEASE));
}

#[test]
fn only_the_holder_renews_and_a_renewal_runs_a_lease_from_when_it_arrives() {
    let mut server = lock_server(CORRECT);
    server.deliver(2, acquire(0, 1));
    server.set_now(30 * MILLISECOND);
    let effects = server.deliver(2, LeaseMessage::Renew { tenure: tenure(0, 1), round: 4 });
    assert_eq!(effects.sent(), [(2, LeaseMessage::Renewed { tenure: tenure(0, 1), round: 4 })]);
    server.set_now(70 * MILLISECOND);
    assert_eq!(server.deliver(3, acquire(1, 1)).sent(), [(3, LeaseMessage::Busy { tenure: tenure(1, 1) })]);
    let effects = server.deliver(3, LeaseMessage::Renew { tenure: tenure(1, 1), round: 1 });
    assert_eq!(effects.sent(), [(3, LeaseMessage::NotHolder { tenure: tenure(1, 1), round: 1 })]);
    server.set_now(80 * MILLISECOND);
    let effects = server.deliver(2, LeaseMessage::Renew { tenure: tenure(0, 1), round: 5 });
    assert_eq!(effects.sent(), [(2, LeaseMessage::NotHolder { tenure: tenure(0, 1), round: 5 })], "it ran out");
}

#[test]
fn a_release_frees_only_its_own_tenure_but_in_unlock_any_whatever_holds_it_etcd_22082() {
    for (variant, freed) in [(CORRECT, false), (UNLOCK_ANY, true)] {
        let mut server = lock_server(variant);
        server.deliver(2, acquire(0, 1));
        server.deliver(2, LeaseMessage::Release { tenure: tenure(0, 1) });
        server.deliver(3, acquire(1, 1));
        let stale = server.deliver(2, LeaseMessage::Release { tenure: tenure(0, 1) });
        assert_eq!(stale.sent(), [(2, LeaseMessage::Released { tenure: tenure(0, 1) })], "{variant}");
        assert_eq!(state(&server).holder().is_none(), freed, "{variant}: the stale release");
    }
}

#[test]
fn a_durable_server_restarts_with_its_counter_and_the_holder_for_a_full_lease() {
    let records = [
        LeaseRecord::Granted { tenure: tenure(0, 1), token: 1 },
        LeaseRecord::Granted { tenure: tenure(1, 3), token: 2 },
    ];
    let mut server = Harness::<LeaseLock>::recovered(&setup(CORRECT, true), LOCK_SERVER, &records, 1);
    server.set_now(500 * MILLISECOND);
    server.recover();
    assert_eq!(state(&server).holder().map(|holder| holder.expires), Some(500 * MILLISECOND + LEASE));
    assert_eq!(server.deliver(2, acquire(0, 9)).sent(), [(2, LeaseMessage::Busy { tenure: tenure(0, 9) })]);
    let renewed = server.deliver(3, LeaseMessage::Renew { tenure: tenure(1, 3), round: 1 });
    assert_eq!(renewed.sent(), [(3, LeaseMessage::Renewed { tenure: tenure(1, 3), round: 1 })]);
    server.set_now(600 * MILLISECOND);
    let granted = server.deliver(2, acquire(0, 10));
    assert_eq!(granted.sent(), [(2, LeaseMessage::Granted { tenure: tenure(0, 10), token: 3 })], "no token twice");
}

#[test]
fn a_server_that_keeps_nothing_grants_nothing_for_a_lease_and_counts_tokens_from_one_again() {
    let volatile = setup(CORRECT, false);
    let mut server = Harness::<LeaseLock>::boot(&volatile, LOCK_SERVER, 1);
    let effects = server.deliver(2, acquire(0, 1));
    assert!(effects.written().is_empty() && effects.syncs().is_empty(), "nothing durable");
    let mut server = Harness::<LeaseLock>::recovered(&volatile, LOCK_SERVER, &[], 1);
    server.set_now(500 * MILLISECOND);
    server.recover();
    assert_eq!(server.deliver(2, acquire(0, 2)).sent(), [(2, LeaseMessage::Busy { tenure: tenure(0, 2) })]);
    server.set_now(500 * MILLISECOND + LEASE);
    let effects = server.deliver(2, acquire(0, 3));
    assert_eq!(effects.sent(), [(2, LeaseMessage::Granted { tenure: tenure(0, 3), token: 1 })], "token 1 again");
}

#[test]
fn a_cycle_costs_two_messages_to_acquire_two_per_write_and_two_to_release() {
    let mut cluster = Cluster::<LeaseLock>::new(setup(CORRECT, true), 1);
    cluster.start_all();
    cluster.request(2, LockOperation::Acquire);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind(), [("Acquire", 1), ("Granted", 1)].into());
    cluster.clear_sent();
    cluster.request(2, LockOperation::Write { value: 7, work: MILLISECOND });
    cluster.fire(2, ClientTimer::Work);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind(), [("Write", 1), ("WriteAccepted", 1)].into());
    cluster.clear_sent();
    cluster.request(2, LockOperation::Release);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind(), [("Release", 1), ("Released", 1)].into());
    let outcomes: Vec<_> = cluster.outcomes.iter().map(|(_, outcome)| outcome.clone()).collect();
    let acquired = Outcome::Ok(LockReply::Acquired { token: Some(1) });
    assert_eq!(outcomes, [acquired, Outcome::Ok(LockReply::Written), Outcome::Ok(LockReply::Released)]);
    let write = Write { tenure: tenure(0, 1), token: Some(1), value: 7 };
    assert!(cluster.observations.contains(&(1, LockObservation::WriteAccepted { write })));
    assert_eq!(cluster.violation, None);
}
