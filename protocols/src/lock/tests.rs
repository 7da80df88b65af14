//! The parts every lock design shares, tested through the lease lock: the lock client
//! (leases measured from the request, renewal, the check before the work and none after,
//! release), the resource's fencing, the workload's cycle and the model of the tokens, and
//! the checkers, each both ways: passing what is correct, catching what is not.

use super::lease_lock::{LeaseLock, LeaseMessage, LeaseRecord, LeaseServer, LeaseSetup, LOCK_SERVER};
use super::*;
use crate::history::Model;
use crate::node::{Checker, Effect, Violation, CORRECT};
use crate::service::{Mix, Outcome, Service, Workload as _, WorkloadConfig};
use crate::testing::{self, assert_milestones, assert_timer, ClientHarness, Harness};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TIMEOUT: Time = 10 * MILLISECOND;
const LEASE: Time = 50 * MILLISECOND;
/// The first client's process id (two servers).
const CLIENT: NodeId = 2;
const RESOURCE: NodeId = 1;

fn setup(variant: &'static str) -> LeaseSetup {
    testing::setup(2, 3, variant, TIMEOUT)
}

fn tenure(client: u32, number: u64) -> Tenure {
    Tenure { client, number }
}

fn client(variant: &'static str) -> ClientHarness<LeaseLock> {
    ClientHarness::new(&setup(variant), CLIENT, 1)
}

/// Client 0 acquired tenure 0.1 with token 7, asked at time 0 and granted at `granted_at`.
fn holding(variant: &'static str, granted_at: Time) -> ClientHarness<LeaseLock> {
    let mut client = client(variant);
    client.request(LockOperation::Acquire);
    client.set_now(granted_at);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Granted { tenure: tenure(0, 1), token: 7 });
    assert_eq!(effects.completed(), [Outcome::Ok(LockReply::Acquired { token: Some(7) })]);
    client
}

#[test]
fn client_asks_the_lock_server_with_a_fresh_tenure_per_attempt() {
    let mut client = client(CORRECT);
    let effects = client.request(LockOperation::Acquire);
    assert_eq!(effects.observed(), [LockObservation::Waiting]);
    assert_eq!(effects.sent(), [(LOCK_SERVER, LeaseMessage::Acquire { tenure: tenure(0, 1) })]);
    assert_timer(&effects, &ClientTimer::Attempt, 2 * TIMEOUT..=2 * TIMEOUT);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Busy { tenure: tenure(0, 1) });
    assert_timer(&effects, &ClientTimer::Backoff, TIMEOUT / 2..=TIMEOUT);
    let effects = client.fire(ClientTimer::Backoff);
    assert_eq!(effects.sent(), [(LOCK_SERVER, LeaseMessage::Acquire { tenure: tenure(0, 2) })]);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Busy { tenure: tenure(0, 1) });
    assert!(effects.list.is_empty(), "an answer to an earlier attempt counts for nothing: {:?}", effects.list);
}

#[test]
fn a_lease_is_measured_from_when_the_client_asked_chubby_2_8() {
    let client = holding(CORRECT, 4 * MILLISECOND);
    assert_eq!(client.holding().map(|held| held.deadline), Some(LEASE), "asked at 0, not granted at 4 ms");
    let client = holding(LEASE_FROM_RECEIPT, 4 * MILLISECOND);
    assert_eq!(client.holding().map(|held| held.deadline), Some(4 * MILLISECOND + LEASE), "flawed: from receipt");
}

#[test]
fn a_grant_sets_the_lease_end_and_a_renewal_at_half_a_lease_before_it() {
    let mut client = client(CORRECT);
    client.request(LockOperation::Acquire);
    client.set_now(4 * MILLISECOND);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Granted { tenure: tenure(0, 1), token: 7 });
    let valid_for = LEASE - 4 * MILLISECOND;
    assert_eq!(effects.observed(), [LockObservation::Acquired { tenure: tenure(0, 1), token: Some(7), valid_for }]);
    assert_timer(&effects, &ClientTimer::LeaseEnd, valid_for..=valid_for);
    assert_timer(&effects, &ClientTimer::Renew, valid_for - LEASE / 2..=valid_for - LEASE / 2);
    assert!(effects.cancels(&ClientTimer::Attempt));
}

#[test]
fn a_grant_that_is_over_when_it_arrives_is_released_and_retried() {
    let mut client = client(CORRECT);
    client.request(LockOperation::Acquire);
    client.set_now(LEASE);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Granted { tenure: tenure(0, 1), token: 7 });
    assert_eq!(effects.sent(), [(LOCK_SERVER, LeaseMessage::Release { tenure: tenure(0, 1) })]);
    assert!(effects.completed().is_empty() && client.holding().is_none());
    assert_timer(&effects, &ClientTimer::Backoff, TIMEOUT / 2..=TIMEOUT);
}

#[test]
fn an_unanswered_attempt_is_released_and_after_the_last_one_the_acquire_fails() {
    let mut client = client(CORRECT);
    client.request(LockOperation::Acquire);
    for attempt in 1..ATTEMPTS {
        let effects = client.fire(ClientTimer::Attempt);
        let released = LeaseMessage::Release { tenure: tenure(0, u64::from(attempt)) };
        assert_eq!(effects.sent(), [(LOCK_SERVER, released)], "it may have been granted");
        client.fire(ClientTimer::Backoff);
    }
    let effects = client.fire(ClientTimer::Attempt);
    assert_eq!(effects.completed(), [Outcome::Fail]);
    assert_eq!(effects.observed(), [LockObservation::GaveUp]);
    let late = client.deliver(LOCK_SERVER, LeaseMessage::Granted { tenure: tenure(0, 16), token: 9 });
    assert_eq!(late.sent(), [(LOCK_SERVER, LeaseMessage::Release { tenure: tenure(0, 16) })], "a late grant");
}

#[test]
fn a_write_checks_the_lease_then_works_then_sends_without_checking_again() {
    let mut client = holding(CORRECT, MILLISECOND);
    client.set_now(10 * MILLISECOND);
    let effects = client.request(LockOperation::Write { value: 5, work: 8 * MILLISECOND });
    assert!(effects.sent().is_empty());
    assert_timer(&effects, &ClientTimer::Work, 8 * MILLISECOND..=8 * MILLISECOND);
    // A pause: the work ends long after the lease did. The write goes anyway.
    client.set_now(3 * LEASE);
    let effects = client.fire(ClientTimer::Work);
    let write = Write { tenure: tenure(0, 1), token: Some(7), value: 5 };
    assert_eq!(effects.sent(), [(RESOURCE, LeaseMessage::Resource(ResourceMessage::Write(write)))]);
    let effects = client.deliver(RESOURCE, LeaseMessage::Resource(ResourceMessage::Accepted { value: 5 }));
    assert_eq!(effects.completed(), [Outcome::Ok(LockReply::Written)]);
}

#[test]
fn a_write_after_the_lease_is_over_fails_without_being_sent() {
    let mut client = holding(CORRECT, MILLISECOND);
    client.set_now(LEASE);
    let effects = client.request(LockOperation::Write { value: 5, work: MILLISECOND });
    assert_eq!(effects.completed(), [Outcome::Fail]);
    assert!(effects.sent().is_empty());
    assert_eq!(effects.observed(), [LockObservation::LeaseRanOut { tenure: tenure(0, 1) }]);
}

#[test]
fn a_refused_write_means_the_lock_is_lost() {
    let mut client = holding(CORRECT, MILLISECOND);
    client.request(LockOperation::Write { value: 5, work: MILLISECOND });
    client.fire(ClientTimer::Work);
    let effects = client.deliver(RESOURCE, LeaseMessage::Resource(ResourceMessage::Rejected { value: 5, newest: 8 }));
    assert_eq!(effects.completed(), [Outcome::Fail]);
    assert_eq!(effects.observed(), [LockObservation::Lost { tenure: tenure(0, 1) }]);
    assert!(client.holding().is_none());
}

#[test]
fn a_renewal_moves_the_deadline_by_a_lease_from_when_it_was_asked_and_a_late_one_does_not() {
    let mut client = holding(CORRECT, MILLISECOND);
    client.set_now(30 * MILLISECOND);
    let effects = client.fire(ClientTimer::Renew);
    assert_eq!(effects.sent(), [(LOCK_SERVER, LeaseMessage::Renew { tenure: tenure(0, 1), round: 1 })]);
    assert_timer(&effects, &ClientTimer::Renew, TIMEOUT..=TIMEOUT);
    client.set_now(33 * MILLISECOND);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Renewed { tenure: tenure(0, 1), round: 1 });
    assert_eq!(client.holding().map(|held| held.deadline), Some(30 * MILLISECOND + LEASE));
    let valid_for = 30 * MILLISECOND + LEASE - 33 * MILLISECOND;
    assert_eq!(effects.observed(), [LockObservation::Renewed { tenure: tenure(0, 1), valid_for }]);
    // A renewal asked before a pause and answered after the lease it gives is over.
    client.fire(ClientTimer::Renew);
    client.set_now(4 * LEASE);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Renewed { tenure: tenure(0, 1), round: 2 });
    assert!(effects.observed().is_empty(), "no renewal into the past: {:?}", effects.list);
    let effects = client.fire(ClientTimer::LeaseEnd);
    assert_eq!(effects.observed(), [LockObservation::LeaseRanOut { tenure: tenure(0, 1) }]);
}

#[test]
fn a_refused_renewal_means_the_lock_is_lost() {
    let mut client = holding(CORRECT, MILLISECOND);
    client.fire(ClientTimer::Renew);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::NotHolder { tenure: tenure(0, 1), round: 1 });
    assert_eq!(effects.observed(), [LockObservation::Lost { tenure: tenure(0, 1) }]);
    assert!(effects.cancels(&ClientTimer::LeaseEnd) && effects.cancels(&ClientTimer::Renew));
}

#[test]
fn release_stops_the_belief_at_once_and_is_resent_until_acknowledged() {
    let mut client = holding(CORRECT, MILLISECOND);
    let effects = client.request(LockOperation::Release);
    assert_eq!(effects.observed(), [LockObservation::Released { tenure: tenure(0, 1) }]);
    assert_eq!(effects.sent(), [(LOCK_SERVER, LeaseMessage::Release { tenure: tenure(0, 1) })]);
    assert!(client.holding().is_none());
    for _ in 1..client::RELEASE_SENDS {
        let effects = client.fire(ClientTimer::Release);
        assert_eq!(effects.sent(), [(LOCK_SERVER, LeaseMessage::Release { tenure: tenure(0, 1) })]);
    }
    assert_eq!(client.fire(ClientTimer::Release).completed(), [Outcome::Info]);
    let mut client = holding(CORRECT, MILLISECOND);
    client.request(LockOperation::Release);
    let effects = client.deliver(LOCK_SERVER, LeaseMessage::Released { tenure: tenure(0, 1) });
    assert_eq!(effects.completed(), [Outcome::Ok(LockReply::Released)]);
    assert_eq!(client.request(LockOperation::Release).completed(), [Outcome::Fail], "nothing held");
}

fn resource(variant: &'static str) -> Harness<LeaseLock> {
    Harness::boot(&setup(variant), RESOURCE, 1)
}

fn write(client: u32, token: Token, value: u64) -> LeaseMessage {
    LeaseMessage::Resource(ResourceMessage::Write(Write { tenure: tenure(client, 1), token: Some(token), value }))
}

#[test]
fn the_resource_records_a_write_and_counts_it_accepted_once_durable() {
    let mut resource = resource(CORRECT);
    let effects = resource.deliver(CLIENT, write(0, 7, 5));
    let accepted = Write { tenure: tenure(0, 1), token: Some(7), value: 5 };
    assert_eq!(
        effects.list,
        [
            Effect::Write(LeaseRecord::Resource(ResourceRecord { write: accepted })),
            Effect::Sync(1),
            Effect::send_after_sync(CLIENT, LeaseMessage::Resource(ResourceMessage::Accepted { value: 5 })),
        ]
    );
    let effects = resource.synced(1);
    assert_eq!(effects.observed(), [LockObservation::WriteAccepted { write: accepted }]);
}

#[test]
fn the_resource_refuses_an_older_token_and_accepts_the_same_or_newer_kleppmann_2016() {
    let mut fenced = resource(CORRECT);
    fenced.deliver(CLIENT, write(0, 7, 5));
    let stale = fenced.deliver(CLIENT + 1, write(1, 6, 6));
    let rejected = LeaseMessage::Resource(ResourceMessage::Rejected { value: 6, newest: 7 });
    assert_eq!(stale.sent(), [(CLIENT + 1, rejected)]);
    assert!(stale.written().is_empty());
    assert_eq!(fenced.deliver(CLIENT, write(0, 7, 7)).written().len(), 1);
    assert_eq!(fenced.deliver(CLIENT, write(0, 9, 8)).written().len(), 1);
    let mut unfenced = resource(NO_FENCING);
    unfenced.deliver(CLIENT, write(0, 7, 5));
    assert_eq!(unfenced.deliver(CLIENT + 1, write(1, 6, 6)).written().len(), 1, "no-fencing accepts it");
}

#[test]
fn a_restarted_resource_remembers_the_newest_token_it_recorded() {
    let records = [7, 9, 8].map(|token| {
        LeaseRecord::Resource(ResourceRecord { write: Write { tenure: tenure(0, 1), token: Some(token), value: 1 } })
    });
    let mut resource = Harness::<LeaseLock>::recovered(&setup(CORRECT), RESOURCE, &records, 1);
    let LeaseServer::Resource(state) = &resource.server else { panic!("server 1 is the resource") };
    assert_eq!(state.newest(), Some(9));
    assert!(resource.deliver(CLIENT, write(0, 8, 2)).written().is_empty(), "8 is older than 9");
}

fn workload(writes: u32) -> LockWorkload {
    let params = LockParams { writes, hold_ms: 30 };
    let config = WorkloadConfig { clients: 2, first_client: CLIENT, keys: 1, mix: Mix::default(), params };
    LockService::workload(&config)
}

#[test]
fn the_workload_cycles_acquire_writes_release_and_starts_over_when_the_lock_is_lost() {
    let mut workload = workload(2);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut next = |workload: &mut LockWorkload, outcome: Outcome<LockReply>| {
        let operation = workload.next(CLIENT, &mut rng).expect("a cycle never ends");
        workload.completed(CLIENT, &operation, &outcome);
        operation
    };
    let acquired = Outcome::Ok(LockReply::Acquired { token: Some(1) });
    assert_eq!(next(&mut workload, Outcome::Fail), LockOperation::Acquire);
    assert_eq!(next(&mut workload, acquired.clone()), LockOperation::Acquire);
    assert_eq!(
        next(&mut workload, Outcome::Ok(LockReply::Written)),
        LockOperation::Write { value: 1, work: 15 * MILLISECOND }
    );
    assert_eq!(next(&mut workload, Outcome::Info), LockOperation::Write { value: 2, work: 15 * MILLISECOND });
    assert_eq!(next(&mut workload, Outcome::Ok(LockReply::Released)), LockOperation::Release);
    assert_eq!(next(&mut workload, acquired), LockOperation::Acquire);
    assert_eq!(next(&mut workload, Outcome::Fail), LockOperation::Write { value: 3, work: 15 * MILLISECOND });
    assert_eq!(next(&mut workload, Outcome::Fail), LockOperation::Acquire, "a refused write lost the lock");
    assert_eq!(workload.next(CLIENT + 1, &mut rng), Some(LockOperation::Acquire), "each client its own cycle");
}

#[test]
fn the_workload_keys_are_checked() {
    let check = |writes, hold_ms| LockService::check_params(&LockParams { writes, hold_ms }, 1);
    assert!(check(3, 15).is_ok());
    assert!(check(0, 15).is_err_and(|error| error.contains("writes = 0")));
    assert!(check(3, service::HOLD_MS_MAX + 1).is_err_and(|error| error.contains("hold_ms")));
}

#[test]
fn the_token_model_wants_every_token_larger_than_the_ones_before() {
    let model = LockModel;
    let acquired = |token| Outcome::Ok(LockReply::Acquired { token: Some(token) });
    let state = model.step(&model.init(), &LockOperation::Acquire, &acquired(3)).expect("the first token");
    assert_eq!(model.step(&state, &LockOperation::Acquire, &acquired(2)), None, "a token went back");
    assert_eq!(model.step(&state, &LockOperation::Acquire, &acquired(3)), None, "a token handed out twice");
    assert_eq!(model.step(&state, &LockOperation::Acquire, &acquired(4)), Some(Some(4)));
    let untokened = Outcome::Ok(LockReply::Acquired { token: None });
    assert_eq!(model.step(&state, &LockOperation::Acquire, &untokened), Some(state), "Redlock has none");
    assert_eq!(model.step(&state, &LockOperation::Acquire, &Outcome::Info), Some(state));
}

/// The checker of a run with `drift_bound_ppm`, fed observations at true times.
struct Feed {
    checker: LockChecker,
}

impl Feed {
    fn new(drift_bound_ppm: f64) -> Feed {
        let setup = LeaseSetup { drift_bound_ppm, ..setup(CORRECT) };
        Feed { checker: LockChecker::new(&setup) }
    }

    fn at(&mut self, at_ms: u64, node: NodeId, observation: LockObservation) -> Result<(), Violation> {
        Checker::<LeaseLock>::observe(&mut self.checker, at_ms * MILLISECOND, node, &observation)
    }

    fn acquired(&mut self, at_ms: u64, tenure: Tenure, token: Token, valid_ms: u64) -> Result<(), Violation> {
        let observation = LockObservation::Acquired { tenure, token: Some(token), valid_for: valid_ms * MILLISECOND };
        self.at(at_ms, tenure.process(CLIENT), observation)
    }

    fn accepted(&mut self, at_ms: u64, tenure: Tenure, token: Token) -> Result<(), Violation> {
        let write = Write { tenure, token: Some(token), value: at_ms };
        self.at(at_ms, RESOURCE, LockObservation::WriteAccepted { write })
    }

    fn figure(&self, end_ms: u64, name: &str) -> f64 {
        let figures = Checker::<LeaseLock>::figures(&self.checker, end_ms * MILLISECOND);
        figures.iter().find(|(figure, _)| *figure == name).map(|&(_, value)| value).expect("a figure")
    }
}

#[test]
fn mutual_exclusion_passes_tenures_one_after_another_and_catches_a_double_grant() {
    let mut feed = Feed::new(0.0);
    feed.acquired(10, tenure(0, 1), 1, 50).expect("the first");
    feed.acquired(60, tenure(1, 1), 2, 50).expect("the first lease ran out at 60 ms");
    feed.at(70, CLIENT + 1, LockObservation::Released { tenure: tenure(1, 1) }).expect("released");
    feed.acquired(70, tenure(0, 2), 3, 50).expect("released at 70 ms");
    let violation = feed.acquired(119, tenure(1, 2), 4, 50).expect_err("0.2 is valid until 120 ms");
    assert_eq!(violation.invariant, "mutual-exclusion");
    assert_eq!(violation.nodes, [CLIENT, CLIENT + 1]);
    assert_eq!(violation.evidence, [(CLIENT, 70 * MILLISECOND), (CLIENT + 1, 119 * MILLISECOND)]);
    assert!(violation.detail.contains("granted twice"), "{}", violation.detail);
}

#[test]
fn mutual_exclusion_measures_a_lease_by_the_drift_bound_and_sees_renewals() {
    // 50 ms on a clock up to 10% fast may last 45.45 ms of true time only.
    let mut feed = Feed::new(100_000.0);
    feed.acquired(0, tenure(0, 1), 1, 50).expect("the first");
    feed.acquired(46, tenure(1, 1), 2, 50).expect("0.1 may have run out by 46 ms");
    let mut feed = Feed::new(0.0);
    feed.acquired(0, tenure(0, 1), 1, 50).expect("the first");
    feed.at(40, CLIENT, LockObservation::Renewed { tenure: tenure(0, 1), valid_for: 50 * MILLISECOND }).expect("");
    let violation = feed.acquired(60, tenure(1, 1), 2, 50).expect_err("renewed until 90 ms");
    assert!(violation.detail.contains("90.000 ms") || violation.detail.contains("89.999"), "{}", violation.detail);
}

#[test]
fn serial_tenures_allow_a_late_write_before_the_next_holders_and_catch_one_after() {
    let mut feed = Feed::new(0.0);
    feed.acquired(0, tenure(0, 1), 1, 50).expect("");
    feed.accepted(10, tenure(0, 1), 1).expect("");
    feed.acquired(60, tenure(1, 1), 2, 50).expect("");
    feed.accepted(61, tenure(0, 1), 1).expect("late, but the next holder has not written yet");
    feed.accepted(70, tenure(1, 1), 2).expect("the next holder writes");
    let violation = feed.accepted(80, tenure(0, 1), 1).expect_err("the writes interleave");
    assert_eq!(violation.invariant, "serial-tenures");
    assert_eq!(violation.nodes, [CLIENT, CLIENT + 1, RESOURCE]);
}

#[test]
fn monotonic_tokens_catch_a_token_that_goes_back_at_the_resource() {
    let mut feed = Feed::new(0.0);
    // Tokens out of the tenures' order: a server that forgot its counter.
    feed.acquired(0, tenure(0, 1), 5, 10).expect("");
    feed.accepted(5, tenure(0, 1), 5).expect("");
    feed.acquired(20, tenure(1, 1), 1, 10).expect("");
    let violation = feed.accepted(25, tenure(1, 1), 1).expect_err("1 after 5");
    assert_eq!(violation.invariant, "monotonic-tokens");
    let mut feed = Feed::new(0.0);
    feed.acquired(0, tenure(0, 1), 5, 10).expect("");
    feed.accepted(5, tenure(0, 1), 5).expect("");
    feed.accepted(6, tenure(0, 1), 5).expect("the same token again");
}

#[test]
fn beliefs_overlap_while_a_paused_holder_sleeps_and_availability_counts_the_free_waits() {
    let mut feed = Feed::new(0.0);
    feed.at(0, CLIENT, LockObservation::Waiting).expect("");
    feed.acquired(5, tenure(0, 1), 1, 50).expect("");
    feed.at(20, CLIENT + 1, LockObservation::Waiting).expect("");
    // Client 0 pauses at 30 ms: its lease runs out at 55 ms, but it only sees it at 200 ms.
    feed.acquired(100, tenure(1, 1), 2, 50).expect("the lease is over, the belief is not");
    feed.at(200, CLIENT, LockObservation::LeaseRanOut { tenure: tenure(0, 1) }).expect("");
    assert_eq!(feed.figure(300, "belief_overlaps"), 1.0);
    assert_eq!(feed.figure(300, "belief_overlap_ms"), 100.0);
    // Waits: [0, 5) and [20, 100); the lock was valid over [5, 55) only (less the microsecond
    // the checker allows for whole-nanosecond clocks).
    assert_eq!(feed.figure(300, "waiting_ms"), 85.0);
    assert_eq!(feed.figure(300, "unavailable_ms"), 5.0 + 45.0 + 0.001);
    assert_eq!(feed.figure(300, "acquisitions"), 2.0);
}

#[test]
fn milestones_are_declared_and_reachable() {
    let write = Write { tenure: tenure(0, 1), token: Some(1), value: 1 };
    let observations = [
        LockObservation::Acquired { tenure: tenure(0, 1), token: Some(1), valid_for: LEASE },
        LockObservation::Renewed { tenure: tenure(0, 1), valid_for: LEASE },
        LockObservation::LeaseRanOut { tenure: tenure(0, 1) },
        LockObservation::WriteAccepted { write },
        LockObservation::WriteRejected { write, newest: 2 },
    ];
    assert_milestones::<LeaseLock>(&observations);
    assert_milestones::<redlock::Redlock>(&observations[..4]);
}

#[test]
fn observations_read_as_the_reports_write_them() {
    let observation = LockObservation::Acquired { tenure: tenure(1, 3), token: Some(4), valid_for: 49_980_000 };
    assert_eq!(observation.to_string(), "acquired the lock: tenure 1.3 token 4, valid for 49.980 ms");
    let write = Write { tenure: tenure(1, 3), token: None, value: 17 };
    assert_eq!(LockObservation::WriteAccepted { write }.to_string(), "accepted write 17 of tenure 1.3");
}

#[test]
fn the_drift_allowance_keeps_the_clients_lease_inside_the_servers() {
    assert_eq!(drift_allowance(LEASE, 0.0), 0);
    assert_eq!(drift_allowance(LEASE, 200.0), 20_000, "2 rho L");
    // A client clock 1% slow measuring L (1 - 2 rho) lasts less than a server clock 1% fast measuring L.
    let (rho, lease) = (0.01, LEASE as f64);
    let client = (lease - drift_allowance(LEASE, rho * 1e6) as f64) / (1.0 - rho);
    assert!(client <= lease / (1.0 + rho), "{client} > {}", lease / (1.0 + rho));
}
