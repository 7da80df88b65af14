//! Exact-output handler tests of ABD (Attiya, Bar-Noy and Dolev, JACM 1995, section 3, in
//! the multi-writer form), fed one input at a time through the node contract, and a
//! hand-driven cluster for the new/old inversion that the write-back prevents.

use super::server::RETRIES_MAX;
use super::*;
use crate::kv::{KvOperation, KvReply};
use crate::node::{Effect, MILLISECOND};
use crate::service::Outcome;
use crate::testing::{self, assert_milestones, assert_timers, ClientHarness, Cluster, Harness, TimerChange};
use crate::voting::client::{ATTEMPTS, ATTEMPT_TIMEOUTS};

const SEED: u64 = 7;
const TIMEOUT: u64 = 10 * MILLISECOND;
const CLIENT: NodeId = 3;

fn setup(variant: &'static str) -> Setup {
    testing::setup(3, 2, variant, TIMEOUT)
}

fn server(variant: &'static str, id: NodeId) -> Harness<Abd> {
    let mut server = Harness::<Abd>::boot(&setup(variant), id, SEED);
    server.start();
    server
}

fn version(counter: u64, writer: NodeId) -> Version {
    Version { counter, writer }
}

fn command(sequence: u64, operation: KvOperation) -> AbdMessage {
    AbdMessage::Request(Command { client: CLIENT, sequence, operation })
}

const WRITE: KvOperation = KvOperation::Write { key: 0, value: 42 };
const READ: KvOperation = KvOperation::Read { key: 0 };

/// The operation id of the query server 0 sent first.
fn queried(effects: &crate::node::Effects<Abd>) -> OperationId {
    match effects.sent().first() {
        Some((_, AbdMessage::Query { operation, .. })) => *operation,
        other => panic!("expected a query, got {other:?}"),
    }
}

#[test]
fn a_write_first_queries_every_other_replica_and_notes_the_update_durably() {
    let mut coordinator = server(CORRECT, 0);
    let effects = coordinator.deliver(CLIENT, command(1, WRITE));
    let operation = queried(&effects);
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(AbdRecord::Took { client: CLIENT, sequence: 1 }),
            Effect::send(1, AbdMessage::Query { operation, key: 0 }),
            Effect::send(2, AbdMessage::Query { operation, key: 0 }),
        ]
    );
    assert_timers(&effects, &[TimerChange::exactly(AbdTimer::Retry(CLIENT), TIMEOUT)]);
}

#[test]
fn a_majority_of_query_acks_gives_a_higher_version_stored_here_before_the_updates_leave() {
    let mut coordinator = server(CORRECT, 0);
    let operation = queried(&coordinator.deliver(CLIENT, command(1, WRITE)));
    let ack = AbdMessage::QueryAck { operation, key: 0, version: version(4, 2), value: Some(9) };
    let effects = coordinator.deliver(2, ack);
    let stored = version(5, 0);
    let update = AbdMessage::Update { operation, key: 0, version: stored, value: Some(42) };
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(AbdRecord::Stored { key: 0, version: stored, value: Some(42) }),
            Effect::Sync(1),
            Effect::send_after_sync(1, update.clone()),
            Effect::send_after_sync(2, update),
        ],
        "the version is one above the newest of the majority (itself and node 2), written by this coordinator"
    );
    let effects = coordinator.deliver(1, AbdMessage::UpdateAck { operation });
    let done = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Done) };
    assert_eq!(effects.without_timers(), [Effect::send_after_sync(CLIENT, AbdMessage::Answer(done))]);
    assert_timers(&effects, &[TimerChange::Cancel(AbdTimer::Retry(CLIENT))]);
    assert_eq!(coordinator.coordinating(), 0);
}

#[test]
fn a_read_writes_the_newest_version_back_to_a_majority_before_it_answers_section_3() {
    let mut coordinator = server(CORRECT, 0);
    let operation = queried(&coordinator.deliver(CLIENT, command(1, READ)));
    let newest = version(3, 1);
    let effects = coordinator.deliver(1, AbdMessage::QueryAck { operation, key: 0, version: newest, value: Some(8) });
    let update = AbdMessage::Update { operation, key: 0, version: newest, value: Some(8) };
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Observe(RegisterObservation::WroteBack { key: 0, version: newest }),
            Effect::Write(AbdRecord::Stored { key: 0, version: newest, value: Some(8) }),
            Effect::Sync(1),
            Effect::send_after_sync(1, update.clone()),
            Effect::send_after_sync(2, update),
        ]
    );
    let effects = coordinator.deliver(2, AbdMessage::UpdateAck { operation });
    let answer = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Values(vec![8])) };
    assert_eq!(effects.sent(), [(CLIENT, AbdMessage::Answer(answer))]);
}

#[test]
fn no_write_back_variant_answers_a_read_after_the_query_phase() {
    let mut coordinator = server(NO_WRITE_BACK, 0);
    let operation = queried(&coordinator.deliver(CLIENT, command(1, READ)));
    let effects =
        coordinator.deliver(1, AbdMessage::QueryAck { operation, key: 0, version: version(3, 1), value: Some(8) });
    let answer = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Values(vec![8])) };
    assert_eq!(effects.without_timers(), [Effect::send_after_sync(CLIENT, AbdMessage::Answer(answer))]);
}

#[test]
fn a_replica_stores_only_a_newer_version_and_acknowledges_once_it_is_durable() {
    let mut replica = server(CORRECT, 1);
    let update = |counter, value| AbdMessage::Update { operation: 9, key: 0, version: version(counter, 2), value };
    let effects = replica.deliver(0, update(2, Some(5)));
    assert_eq!(
        effects.list,
        [
            Effect::Write(AbdRecord::Stored { key: 0, version: version(2, 2), value: Some(5) }),
            Effect::Sync(1),
            Effect::send_after_sync(0, AbdMessage::UpdateAck { operation: 9 }),
        ]
    );
    let stored = RegisterObservation::Stored { key: 0, version: version(2, 2), value: Some(5) };
    assert_eq!(replica.synced(1).list, [Effect::Observe(stored)], "the checker hears of it once it is durable");
    let effects = replica.deliver(2, update(1, Some(4)));
    assert_eq!(effects.list, [Effect::send_after_sync(2, AbdMessage::UpdateAck { operation: 9 })], "older: kept out");
    let effects = replica.deliver(0, AbdMessage::Query { operation: 3, key: 0 });
    let ack = AbdMessage::QueryAck { operation: 3, key: 0, version: version(2, 2), value: Some(5) };
    assert_eq!(effects.list, [Effect::send(0, ack)], "a query is answered from memory at once");
}

#[test]
fn a_restarted_replica_holds_what_it_acknowledged_and_a_taken_update_is_never_run_again() {
    let records = [
        AbdRecord::Stored { key: 0, version: version(2, 2), value: Some(5) },
        AbdRecord::Stored { key: 0, version: version(3, 1), value: Some(6) },
        AbdRecord::Took { client: CLIENT, sequence: 4 },
    ];
    let mut restarted = Harness::<Abd>::recovered(&setup(CORRECT), 0, &records, SEED);
    restarted.recover();
    assert_eq!(restarted.register(0), (version(3, 1), Some(6)));
    let effects = restarted.deliver(CLIENT, command(4, WRITE));
    let info = Answer::Done { sequence: 4, outcome: Outcome::Info };
    assert_eq!(effects.list, [Effect::send(CLIENT, AbdMessage::Answer(info))], "it may have taken effect");
    assert_eq!(restarted.coordinating(), 0);
}

#[test]
fn a_request_sent_again_while_it_runs_is_ignored_and_after_it_is_answered_from_memory() {
    let mut coordinator = server(CORRECT, 0);
    let operation = queried(&coordinator.deliver(CLIENT, command(1, READ)));
    assert!(coordinator.deliver(CLIENT, command(1, READ)).list.is_empty(), "it runs");
    coordinator.deliver(1, AbdMessage::QueryAck { operation, key: 0, version: Version::default(), value: None });
    coordinator.deliver(1, AbdMessage::UpdateAck { operation });
    let effects = coordinator.deliver(CLIENT, command(1, READ));
    let answer = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Values(vec![])) };
    assert_eq!(effects.list, [Effect::send(CLIENT, AbdMessage::Answer(answer))]);
}

#[test]
fn silence_sends_the_phase_again_to_the_replicas_that_did_not_reply_then_gives_up() {
    let mut coordinator = server(CORRECT, 0);
    let operation = queried(&coordinator.deliver(CLIENT, command(1, WRITE)));
    let effects = coordinator.fire(AbdTimer::Retry(CLIENT));
    assert_eq!(
        effects.sent(),
        [(1, AbdMessage::Query { operation, key: 0 }), (2, AbdMessage::Query { operation, key: 0 })]
    );
    coordinator.deliver(2, AbdMessage::QueryAck { operation, key: 0, version: Version::default(), value: None });
    let effects = coordinator.fire(AbdTimer::Retry(CLIENT));
    let update = AbdMessage::Update { operation, key: 0, version: version(1, 0), value: Some(42) };
    assert_eq!(effects.sent(), [(1, update.clone()), (2, update)], "the update phase, to both");
    for _ in 1..RETRIES_MAX {
        assert_eq!(coordinator.fire(AbdTimer::Retry(CLIENT)).sent().len(), 2);
    }
    let effects = coordinator.fire(AbdTimer::Retry(CLIENT));
    assert!(effects.list.is_empty(), "given up: {:?}", effects.list);
    assert_eq!(coordinator.coordinating(), 0);
}

#[test]
fn a_client_moves_a_read_to_the_next_server_but_sends_an_update_again_to_the_same_one() {
    let setup = setup(CORRECT);
    let mut client = ClientHarness::<Abd>::new(&setup, 4, SEED);
    let effects = client.request(READ);
    let read = Command { client: 4, sequence: 1, operation: READ };
    assert_eq!(effects.sent(), [(1, AbdMessage::Request(read.clone()))], "client 4 starts at server 4 mod 3");
    assert_eq!(effects.observed(), [RegisterObservation::Client(ClientEvent::ReadInvoked { key: 0 })]);
    assert_timers(&effects, &[TimerChange::exactly(AbdTimer::Client, ATTEMPT_TIMEOUTS * TIMEOUT)]);
    assert_eq!(client.fire(AbdTimer::Client).sent(), [(2, AbdMessage::Request(read.clone()))]);
    for _ in 2..ATTEMPTS {
        client.fire(AbdTimer::Client);
    }
    assert_eq!(client.fire(AbdTimer::Client).completed(), [Outcome::Fail], "a read that never ran");
    let effects = client.request(WRITE);
    let write = Command { client: 4, sequence: 2, operation: WRITE };
    assert_eq!(effects.sent(), [(1, AbdMessage::Request(write.clone()))]);
    assert_eq!(client.fire(AbdTimer::Client).sent(), [(1, AbdMessage::Request(write))], "the same coordinator");
    for _ in 2..ATTEMPTS {
        client.fire(AbdTimer::Client);
    }
    assert_eq!(client.fire(AbdTimer::Client).completed(), [Outcome::Info], "a write that may have taken effect");
}

#[test]
fn a_client_reports_acknowledged_writes_and_returned_reads_and_ignores_old_answers() {
    let mut client = ClientHarness::<Abd>::new(&setup(CORRECT), CLIENT, SEED);
    client.request(WRITE);
    let old = Answer::Done { sequence: 0, outcome: Outcome::Ok(KvReply::Done) };
    assert!(client.deliver(0, AbdMessage::Answer(old)).list.is_empty());
    let done = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Done) };
    let effects = client.deliver(0, AbdMessage::Answer(done));
    assert_eq!(effects.observed(), [RegisterObservation::Client(ClientEvent::WriteAcknowledged { key: 0, value: 42 })]);
    assert_eq!(effects.completed(), [Outcome::Ok(KvReply::Done)]);
    client.request(READ);
    let read = Answer::Done { sequence: 2, outcome: Outcome::Ok(KvReply::Values(vec![42])) };
    let effects = client.deliver(0, AbdMessage::Answer(read));
    let returned = ClientEvent::ReadReturned { key: 0, value: Some(42) };
    assert_eq!(effects.observed(), [RegisterObservation::Client(returned)]);
}

/// Three servers and three clients (client 3 sends to server 0, 4 to 1, 5 to 2). Client 3's
/// write has reached only server 0 when client 4 reads through server 1, which hears from
/// server 0 but not from server 2; then client 5 reads through server 2, which hears from
/// server 1 but not from server 0. What the two reads returned, in order.
fn reads_after_a_partial_write(variant: &'static str) -> Vec<Outcome<KvReply>> {
    let mut cluster = Cluster::<Abd>::new(testing::setup(3, 3, variant, TIMEOUT), SEED);
    cluster.start_all();
    cluster.request(3, WRITE);
    cluster.deliver_all(|(_, _, message)| matches!(message, AbdMessage::Update { .. }));
    assert_eq!(cluster.server(0).register(0).1, Some(42), "only the coordinator stored the write");
    cluster.request(4, READ);
    cluster.deliver_all(|(from, to, _)| [*from, *to].contains(&2));
    cluster.request(5, READ);
    cluster.deliver_all(|(from, to, _)| [*from, *to].contains(&0));
    assert_eq!(cluster.violation, None);
    cluster.outcomes.iter().filter(|(client, _)| *client != 3).map(|(_, outcome)| outcome.clone()).collect()
}

#[test]
fn the_write_back_keeps_a_later_read_from_returning_an_older_value_section_3() {
    let new = Outcome::Ok(KvReply::Values(vec![42]));
    assert_eq!(reads_after_a_partial_write(CORRECT), [new.clone(), new.clone()]);
    let old = Outcome::Ok(KvReply::Values(vec![]));
    assert_eq!(reads_after_a_partial_write(NO_WRITE_BACK), [new, old], "a new/old inversion");
}

#[test]
fn milestones_are_declared_and_each_is_marked_by_an_observation() {
    assert_milestones::<Abd>(&[
        RegisterObservation::Stored { key: 0, version: version(1, 0), value: Some(1) },
        RegisterObservation::WroteBack { key: 0, version: version(1, 0) },
        RegisterObservation::Client(ClientEvent::WriteAcknowledged { key: 0, value: 1 }),
        RegisterObservation::Client(ClientEvent::ReadReturned { key: 0, value: Some(1) }),
    ]);
}
