//! Redlock: an instance's `SET NX PX` with expiry on its wall clock, extension and unlock by
//! value (and by anyone in `unlock-any`), persistence; the client's majority, validity and
//! unlocks (the Redis documentation's steps 1 to 5), and the textbook cost of an attempt.

use super::*;
use crate::lock::{Answer, LockOperation, Session};
use crate::node::{ClientContext, Context, Effect, Effects, CORRECT};
use crate::testing::{self, Cluster, Harness};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TIMEOUT: Time = 10 * MILLISECOND;
const TTL: Time = 50 * MILLISECOND;

fn setup(variant: &'static str, persistence: bool) -> RedlockSetup {
    let setup: RedlockSetup = testing::setup(6, 2, variant, TIMEOUT);
    setup.with_settings(RedlockSettings { persistence, ..setup.settings })
}

fn tenure(client: u32, number: u64) -> Tenure {
    Tenure { client, number }
}

fn instance(variant: &'static str, persistence: bool) -> Harness<Redlock> {
    Harness::boot(&setup(variant, persistence), 0, 1)
}

fn key(server: &Harness<Redlock>) -> Option<Key> {
    let RedlockServer::Instance(instance) = &server.server else { panic!("server 0 is an instance") };
    instance.key().copied()
}

fn lock(client: u32, number: u64) -> RedlockMessage {
    RedlockMessage::Lock { tenure: tenure(client, number), ttl: TTL }
}

#[test]
fn an_instance_sets_the_key_only_if_absent_and_expires_it_by_its_clock() {
    let mut server = instance(CORRECT, false);
    let effects = server.deliver(6, lock(0, 1));
    assert_eq!(
        effects.list,
        [
            Effect::Observe(LockObservation::Granted { tenure: tenure(0, 1), token: None }),
            Effect::send_after_sync(6, RedlockMessage::Locked { tenure: tenure(0, 1) }),
        ],
        "in memory only"
    );
    assert_eq!(server.deliver(7, lock(1, 1)).sent(), [(7, RedlockMessage::NotLocked { tenure: tenure(1, 1) })]);
    server.set_now(TTL);
    assert_eq!(server.deliver(7, lock(1, 2)).sent(), [(7, RedlockMessage::Locked { tenure: tenure(1, 2) })]);
}

#[test]
fn only_the_keys_own_value_extends_or_unlocks_it_but_unlock_any_deletes_any() {
    let mut server = instance(CORRECT, false);
    server.deliver(6, lock(0, 1));
    server.set_now(20 * MILLISECOND);
    let extend = |tenure, round| RedlockMessage::Extend { tenure, ttl: TTL, round };
    let effects = server.deliver(6, extend(tenure(0, 1), 3));
    assert_eq!(effects.sent(), [(6, RedlockMessage::Extended { tenure: tenure(0, 1), round: 3 })]);
    assert_eq!(key(&server).map(|key| key.expires), Some(20 * MILLISECOND + TTL));
    let effects = server.deliver(7, extend(tenure(1, 1), 1));
    assert_eq!(effects.sent(), [(7, RedlockMessage::NotExtended { tenure: tenure(1, 1), round: 1 })]);
    server.deliver(7, RedlockMessage::Unlock { tenure: tenure(1, 1) });
    assert!(key(&server).is_some(), "another value's unlock does nothing");
    let mut server = instance(UNLOCK_ANY, false);
    server.deliver(6, lock(0, 1));
    server.deliver(7, RedlockMessage::Unlock { tenure: tenure(1, 1) });
    assert_eq!(key(&server), None, "unlock-any deletes it");
}

#[test]
fn with_persistence_the_key_and_its_absolute_expiry_survive_a_restart() {
    let mut server = instance(CORRECT, true);
    let effects = server.deliver(6, lock(0, 1));
    let record = RedlockRecord::Set { tenure: tenure(0, 1), expires: TTL };
    assert_eq!(effects.synced_writes(), std::slice::from_ref(&record), "synced before Locked");
    let restarted = Harness::<Redlock>::recovered(&setup(CORRECT, true), 0, &[record], 1);
    assert_eq!(key(&restarted), Some(Key { tenure: tenure(0, 1), expires: TTL }));
    let forgotten = Harness::<Redlock>::recovered(&setup(CORRECT, false), 0, &[], 1);
    assert_eq!(key(&forgotten), None);
}

/// Client 0's session and a context at `now` for it.
struct Client {
    session: RedlockSession,
    rng: ChaCha8Rng,
    now: Time,
}

impl Client {
    fn new(variant: &'static str) -> Client {
        Client { session: RedlockSession::new(&setup(variant, false)), rng: ChaCha8Rng::seed_from_u64(1), now: 0 }
    }

    fn input<T>(
        &mut self,
        input: impl FnOnce(&mut RedlockSession, &mut ClientContext<Redlock>) -> T,
    ) -> (T, Effects<Redlock>) {
        let mut effects = Effects::default();
        let context = Context::new(6, self.now, self.now, &mut self.rng, &mut effects);
        let result = input(&mut self.session, &mut ClientContext::new(context));
        (result, effects)
    }

    fn answer(&mut self, from: NodeId, message: RedlockMessage) -> (Option<Answer>, Effects<Redlock>) {
        self.input(|session, ctx| session.on_message(ctx, from, message))
    }
}

fn unlocks(tenure: Tenure) -> Vec<(NodeId, RedlockMessage)> {
    (0..5).map(|instance| (instance, RedlockMessage::Unlock { tenure })).collect()
}

#[test]
fn a_majority_of_instances_is_a_lock_valid_for_the_ttl_less_the_drift_from_step_1() {
    let mut client = Client::new(CORRECT);
    let ((), effects) = client.input(|session, ctx| session.acquire(ctx, tenure(0, 1)));
    assert_eq!(effects.sent(), (0..5).map(|instance| (instance, lock(0, 1))).collect::<Vec<_>>());
    client.now = 3 * MILLISECOND;
    assert_eq!(client.answer(0, RedlockMessage::Locked { tenure: tenure(0, 1) }).0, None);
    assert_eq!(client.answer(1, RedlockMessage::NotLocked { tenure: tenure(0, 1) }).0, None);
    assert_eq!(client.answer(0, RedlockMessage::Locked { tenure: tenure(0, 1) }).0, None, "one vote each");
    assert_eq!(client.answer(2, RedlockMessage::Locked { tenure: tenure(0, 1) }).0, None);
    let (answer, _) = client.answer(3, RedlockMessage::Locked { tenure: tenure(0, 1) });
    let validity = TTL - TTL / 100 - 2 * MILLISECOND;
    assert_eq!(answer, Some(Answer::Granted { tenure: tenure(0, 1), token: None, asked_at: 0, validity }));
    let (late, effects) = client.answer(4, RedlockMessage::Locked { tenure: tenure(0, 1) });
    assert!(late.is_none() && effects.sent().is_empty(), "a late yes for the lock held stays");
}

#[test]
fn drift_added_believes_the_lock_outlives_the_keys() {
    let client = Client::new(DRIFT_ADDED);
    assert_eq!(client.session.validity(), TTL + TTL / 100 + 2 * MILLISECOND);
}

#[test]
fn a_majority_out_of_reach_unlocks_every_instance_step_5() {
    let mut client = Client::new(CORRECT);
    client.input(|session, ctx| session.acquire(ctx, tenure(0, 1)));
    client.answer(0, RedlockMessage::Locked { tenure: tenure(0, 1) });
    client.answer(1, RedlockMessage::NotLocked { tenure: tenure(0, 1) });
    client.answer(2, RedlockMessage::NotLocked { tenure: tenure(0, 1) });
    let (answer, effects) = client.answer(3, RedlockMessage::NotLocked { tenure: tenure(0, 1) });
    assert_eq!(answer, Some(Answer::Refused { tenure: tenure(0, 1) }));
    assert_eq!(effects.sent(), unlocks(tenure(0, 1)), "even those that refused or did not answer");
    let (stale, effects) = client.answer(4, RedlockMessage::Locked { tenure: tenure(0, 1) });
    assert!(stale.is_none());
    assert_eq!(effects.sent(), [(4, RedlockMessage::Unlock { tenure: tenure(0, 1) })], "a late yes is undone");
}

#[test]
fn an_extension_needs_a_majority_in_its_own_round() {
    let mut client = Client::new(CORRECT);
    let held = crate::lock::Held { tenure: tenure(0, 1), token: None, deadline: TTL };
    client.now = 20 * MILLISECOND;
    let ((), effects) = client.input(|session, ctx| session.renew(ctx, &held));
    let extend = RedlockMessage::Extend { tenure: tenure(0, 1), ttl: TTL, round: 1 };
    assert_eq!(effects.sent(), (0..5).map(|instance| (instance, extend.clone())).collect::<Vec<_>>());
    client.answer(0, RedlockMessage::Extended { tenure: tenure(0, 1), round: 1 });
    client.answer(1, RedlockMessage::Extended { tenure: tenure(0, 1), round: 0 });
    client.answer(1, RedlockMessage::Extended { tenure: tenure(0, 1), round: 1 });
    let (answer, _) = client.answer(2, RedlockMessage::Extended { tenure: tenure(0, 1), round: 1 });
    let validity = client.session.validity();
    assert_eq!(answer, Some(Answer::Renewed { tenure: tenure(0, 1), asked_at: 20 * MILLISECOND, validity }));
}

#[test]
fn an_attempt_costs_m_requests_and_m_replies_and_a_release_m_unlocks() {
    let mut cluster = Cluster::<Redlock>::new(setup(CORRECT, false), 1);
    cluster.start_all();
    cluster.request(6, LockOperation::Acquire);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind(), [("Lock", 5), ("Locked", 5)].into());
    cluster.clear_sent();
    cluster.request(6, LockOperation::Release);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind(), [("Unlock", 5)].into());
    assert_eq!(cluster.violation, None);
}
