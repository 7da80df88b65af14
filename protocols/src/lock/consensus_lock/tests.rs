//! The consensus lock: the lock table (revisions as tokens, the holder the lowest live key,
//! leases on the leader's clock, extended when a new term starts, releases of one's own
//! key only but in `unlock-any`), the session (waiting, rechecking its own key, and not in
//! `no-lease-recheck`), and a whole cycle through Raft.

use super::*;
use crate::lock::{Answer, LockOperation, LockReply, Session as _, Tenure, Write};
use crate::node::{ClientContext, Effects, CORRECT};
use crate::raft::{Reply, Request, Stamp, StateMachine as _};
use crate::service::Outcome;
use crate::testing::{self, ClientHarness, Cluster};

const TIMEOUT: Time = 10 * MILLISECOND;
const TTL: Time = 50 * MILLISECOND;
/// Three Raft servers, the resource, then the clients.
const RESOURCE: NodeId = 3;
const CLIENT: NodeId = 4;

fn setup(variant: &'static str) -> ConsensusSetup {
    testing::setup(4, 3, variant, TIMEOUT)
}

fn tenure(client: u32, number: u64) -> Tenure {
    Tenure { client, number }
}

fn stamp(index: u64, term: u64, time: Time) -> Stamp {
    Stamp { client: CLIENT, index, term, time }
}

fn position(key: Option<(u64, Time)>, ahead: bool) -> LockTableOutput {
    LockTableOutput::Position { key, ahead }
}

fn acquire(client: u32) -> LockTableOperation {
    LockTableOperation::Acquire { tenure: tenure(client, 1), ttl: TTL }
}

fn check(client: u32, revision: u64) -> LockTableOperation {
    LockTableOperation::Check { tenure: tenure(client, 1), revision, ttl: TTL }
}

#[test]
fn the_holder_is_the_lowest_live_key_and_its_revision_is_its_token() {
    let mut table = LockTable::default();
    assert_eq!(table.apply(&stamp(2, 1, 0), &acquire(0)), position(Some((2, TTL)), false));
    assert_eq!(table.apply(&stamp(3, 1, 1_000), &acquire(1)), position(Some((3, TTL)), true), "queued");
    assert_eq!(table.apply(&stamp(4, 1, 2_000), &acquire(1)), position(Some((3, TTL - 1_000)), true), "a repeat");
    let release = LockTableOperation::Release { tenure: tenure(0, 1), any: false };
    assert_eq!(table.apply(&stamp(5, 1, 3_000), &release), LockTableOutput::Released);
    assert_eq!(table.apply(&stamp(6, 1, 4_000), &check(1, 3)), position(Some((3, TTL)), false), "renewed as it checks");
    assert_eq!(table.holder().map(|(revision, key)| (revision, key.tenure)), Some((3, tenure(1, 1))));
}

#[test]
fn a_key_whose_lease_ran_out_is_deleted_and_its_waiter_told_so() {
    let mut table = LockTable::default();
    table.apply(&stamp(2, 1, 0), &acquire(0));
    table.apply(&stamp(3, 1, 0), &acquire(1));
    // Client 0 keeps its key alive; client 1 is paused and does not.
    let keep = LockTableOperation::KeepAlive { tenure: tenure(0, 1), ttl: TTL };
    assert_eq!(table.apply(&stamp(4, 1, 40 * MILLISECOND), &keep), position(Some((2, TTL)), false));
    table.apply(&stamp(5, 1, 60 * MILLISECOND), &acquire(2));
    assert_eq!(table.keys().keys().copied().collect::<Vec<_>>(), [2, 5], "client 1's key expired at 50 ms");
    assert_eq!(table.apply(&stamp(6, 1, 61 * MILLISECOND), &check(1, 3)), position(None, true), "gone");
    assert_eq!(table.apply(&stamp(7, 1, 61 * MILLISECOND), &check(1, 2)), position(None, false), "none below 2");
    let expired = LockTableOperation::KeepAlive { tenure: tenure(1, 1), ttl: TTL };
    assert_eq!(table.apply(&stamp(8, 1, 62 * MILLISECOND), &expired), position(None, true));
}

#[test]
fn a_new_term_extends_every_lease_from_its_first_entry() {
    let mut table = LockTable::default();
    table.apply(&stamp(2, 1, 0), &acquire(0));
    // The new leader's clock reads 45 ms where the old one's would read more: the key lives
    // a full lease from the new term's first entry.
    let later = stamp(9, 2, 45 * MILLISECOND);
    assert_eq!(table.apply(&later, &acquire(1)), position(Some((9, TTL)), true));
    assert_eq!(table.keys()[&2].expires, 45 * MILLISECOND + TTL);
    assert_eq!(table.apply(&stamp(10, 2, 60 * MILLISECOND), &check(1, 9)), position(Some((9, TTL)), true));
}

#[test]
fn a_release_deletes_only_its_own_key_but_in_unlock_any_the_holders() {
    for (any, left) in [(false, vec![2]), (true, vec![3])] {
        let mut table = LockTable::default();
        table.apply(&stamp(2, 1, 0), &acquire(0));
        table.apply(&stamp(3, 1, 0), &acquire(1));
        let stale = LockTableOperation::Release { tenure: tenure(1, 1), any };
        table.apply(&stamp(4, 1, 0), &stale);
        let keys: Vec<_> = table.keys().keys().copied().collect();
        // unlock-any: client 1's release (of its own waiting key) deleted client 0's lock.
        assert_eq!(keys, if any { vec![3] } else { left }, "any = {any}");
    }
}

/// A client whose acquire is in flight, its request answered by `output` from leader 0.
fn answered(variant: &'static str, output: LockTableOutput) -> (ClientHarness<ConsensusLock>, Effects<ConsensusLock>) {
    let mut client = ClientHarness::<ConsensusLock>::new(&setup(variant), CLIENT, 1);
    let effects = client.request(LockOperation::Acquire);
    let request = Request { client: CLIENT, sequence: 1, operation: acquire(0) };
    assert_eq!(effects.sent(), [(0, ConsensusMessage::Raft(RaftMessage::ClientRequest(request)))]);
    client.set_now(5 * MILLISECOND);
    let reply = ConsensusMessage::Raft(RaftMessage::ClientReply(Reply::Done { sequence: 1, output }));
    let effects = client.deliver(0, reply);
    (client, effects)
}

fn reply(sequence: u64, output: LockTableOutput) -> ConsensusMessage {
    ConsensusMessage::Raft(RaftMessage::ClientReply(Reply::Done { sequence, output }))
}

#[test]
fn a_client_with_no_key_ahead_holds_the_lock_measured_from_when_it_asked() {
    let (client, effects) = answered(CORRECT, position(Some((7, TTL)), false));
    assert_eq!(effects.completed(), [Outcome::Ok(LockReply::Acquired { token: Some(7) })]);
    let allowance = crate::lock::drift_allowance(TTL, setup(CORRECT).drift_bound_ppm);
    assert_eq!(client.client.holding().map(|held| held.deadline), Some(TTL - allowance), "from time 0");
}

#[test]
fn a_waiter_polls_and_holds_once_the_keys_ahead_are_gone_if_its_own_key_is_alive() {
    let (mut client, effects) = answered(CORRECT, position(Some((7, TTL)), true));
    assert!(effects.completed().is_empty(), "waiting");
    assert!(effects.timer(&ConsensusTimer::Poll).is_some());
    assert!(effects.timer(&ConsensusTimer::Client(ClientTimer::Attempt)).is_some(), "the attempt's timeout restarts");
    client.set_now(15 * MILLISECOND);
    let effects = client.fire(ConsensusTimer::Poll);
    let request = Request { client: CLIENT, sequence: 2, operation: check(0, 7) };
    assert_eq!(effects.sent(), [(0, ConsensusMessage::Raft(RaftMessage::ClientRequest(request)))]);
    let effects = client.deliver(0, reply(2, position(Some((7, 30 * MILLISECOND)), false)));
    assert_eq!(effects.completed(), [Outcome::Ok(LockReply::Acquired { token: Some(7) })]);
}

#[test]
fn a_waiter_whose_key_is_gone_is_refused_but_in_no_lease_recheck_takes_the_lock() {
    for (variant, acquired) in [(CORRECT, false), (NO_LEASE_RECHECK, true)] {
        let (mut client, _) = answered(variant, position(Some((7, TTL)), true));
        client.set_now(200 * MILLISECOND); // A pause past the key's lease.
        client.fire(ConsensusTimer::Poll);
        let effects = client.deliver(0, reply(2, position(None, false)));
        let completed = effects.completed();
        if acquired {
            assert_eq!(completed, [Outcome::Ok(LockReply::Acquired { token: Some(7) })], "{variant}");
        } else {
            assert!(completed.is_empty() && client.client.holding().is_none(), "{variant}: backs off and retries");
            assert!(effects.timer(&ConsensusTimer::Client(ClientTimer::Backoff)).is_some());
        }
    }
}

#[test]
fn an_unanswered_request_goes_to_the_next_server_and_a_redirect_to_the_leader() {
    let mut client = ClientHarness::<ConsensusLock>::new(&setup(CORRECT), CLIENT, 1);
    client.request(LockOperation::Acquire);
    let effects = client.fire(ConsensusTimer::Poll);
    let request = Request { client: CLIENT, sequence: 1, operation: acquire(0) };
    let message = ConsensusMessage::Raft(RaftMessage::ClientRequest(request));
    assert_eq!(effects.sent(), [(1, message.clone())], "the same sequence number, the next server");
    let redirect = Reply::NotLeader { sequence: 1, leader: Some(2) };
    let effects = client.deliver(1, ConsensusMessage::Raft(RaftMessage::ClientReply(redirect)));
    assert_eq!(effects.sent(), [(2, message)]);
}

#[test]
fn the_session_says_nothing_of_a_reply_to_an_older_request() {
    let mut client = ClientHarness::<ConsensusLock>::new(&setup(CORRECT), CLIENT, 1);
    client.request(LockOperation::Acquire);
    let answer = client.input(|client, ctx: &mut ClientContext<ConsensusLock>| {
        let mut session = client.session().clone();
        assert_eq!(session.on_message(ctx, 0, reply(0, position(Some((2, TTL)), false))), None);
        assert!(matches!(
            session.on_message(ctx, 0, reply(1, position(Some((2, TTL)), false))),
            Some(Answer::Granted { .. })
        ));
    });
    assert!(answer.completed().is_empty());
}

#[test]
fn a_cycle_through_raft_gets_the_log_index_as_token_and_writes_with_it() {
    let mut cluster = Cluster::<ConsensusLock>::new(setup(CORRECT), 1);
    cluster.start_all();
    cluster.fire(0, ConsensusTimer::Raft(ServerTimer::Election));
    cluster.deliver_all(|_| false);
    cluster.request(CLIENT, LockOperation::Acquire);
    cluster.deliver_all(|_| false);
    cluster.request(CLIENT, LockOperation::Write { value: 7, work: MILLISECOND });
    cluster.fire(CLIENT, ConsensusTimer::Client(ClientTimer::Work));
    cluster.deliver_all(|_| false);
    cluster.request(CLIENT, LockOperation::Release);
    cluster.deliver_all(|_| false);
    let outcomes: Vec<_> = cluster.outcomes.iter().map(|(_, outcome)| outcome.clone()).collect();
    let acquired = Outcome::Ok(LockReply::Acquired { token: Some(2) });
    assert_eq!(
        outcomes,
        [acquired, Outcome::Ok(LockReply::Written), Outcome::Ok(LockReply::Released)],
        "after the no-op"
    );
    let write = Write { tenure: tenure(0, 1), token: Some(2), value: 7 };
    assert!(cluster
        .observations
        .contains(&(RESOURCE, ConsensusObservation::Lock(LockObservation::WriteAccepted { write }))));
    let ConsensusServer::Raft(leader) = cluster.server(0) else { panic!("server 0 runs Raft") };
    assert!(leader.machine().keys().is_empty(), "released");
    assert_eq!(cluster.violation, None);
}
