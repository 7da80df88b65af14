//! The coordinator and the replica, one input at a time.

use super::*;
use crate::kv::{KvOperation, KvReply};
use crate::node::{Effect, Server};
use crate::service::Outcome;
use crate::testing::{assert_milestones, assert_timers, TimerChange};
use crate::voting::client::ClientEvent;

const CLIENT: NodeId = 3;

fn request(sequence: u64, operation: KvOperation) -> QuorumMessage {
    QuorumMessage::Request(Command { client: CLIENT, sequence, operation })
}

const WRITE: KvOperation = KvOperation::Write { key: 0, value: 42 };
const READ: KvOperation = KvOperation::Read { key: 0 };

fn operation_of(effects: &crate::node::Effects<Quorum>) -> OperationId {
    effects
        .sent()
        .iter()
        .find_map(|(_, message)| match message {
            QuorumMessage::Peer { message: Peer::Read { operation, .. } | Peer::Write { operation, .. }, .. } => {
                Some(*operation)
            }
            _ => None,
        })
        .expect("a read or a write to a replica")
}

#[test]
fn the_home_writes_the_next_version_in_one_round_trip_to_every_other_replica() {
    let mut home = server(QuorumSettings::default(), 0);
    let effects = home.deliver(CLIENT, request(1, WRITE));
    let operation = operation_of(&effects);
    let write = peer(Peer::Write { operation, key: 0, version: version(1, 0), value: Some(42), hint: None });
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(QuorumRecord::Took { client: CLIENT, sequence: 1 }),
            Effect::Write(QuorumRecord::Stored { key: 0, version: version(1, 0), value: Some(42) }),
            Effect::Sync(1),
            Effect::send_after_sync(1, write.clone()),
            Effect::send_after_sync(2, write),
        ],
        "the home numbers the version itself and stores it before it sends it"
    );
    assert_timers(&effects, &[TimerChange::exactly(QuorumTimer::Retry(CLIENT), TIMEOUT)]);
    let effects = home.deliver(2, peer(Peer::WriteAck { operation }));
    let done = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Done) };
    assert_eq!(effects.without_timers(), [Effect::send_after_sync(CLIENT, QuorumMessage::Answer(done))], "w = 2");
}

#[test]
fn a_server_that_is_not_the_home_redirects_a_write_there() {
    let mut other = server(QuorumSettings::default(), 1);
    let effects = other.deliver(CLIENT, request(1, WRITE));
    let redirect = Answer::Redirect { sequence: 1, to: 0 };
    assert_eq!(effects.list, [Effect::send(CLIENT, QuorumMessage::Answer(redirect))], "key 0's home is server 0");
}

#[test]
fn a_read_takes_the_newest_of_a_read_quorum_and_repairs_a_stale_replica_first() {
    let mut coordinator = server(QuorumSettings::default(), 1);
    let effects = coordinator.deliver(CLIENT, request(1, READ));
    let operation = operation_of(&effects);
    assert_eq!(
        effects.sent(),
        [(0, peer(Peer::Read { operation, key: 0 })), (2, peer(Peer::Read { operation, key: 0 }))]
    );
    let ack = peer(Peer::ReadAck { operation, key: 0, version: version(3, 0), value: Some(9) });
    let effects = coordinator.deliver(0, ack);
    let repair = Peer::Write { operation, key: 0, version: version(3, 0), value: Some(9), hint: None };
    let values = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Values(vec![9])) };
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Observe(RegisterObservation::WroteBack { key: 0, version: version(3, 0) }),
            Effect::Write(QuorumRecord::Stored { key: 0, version: version(3, 0), value: Some(9) }),
            Effect::Sync(1),
            Effect::send_after_sync(2, peer(repair)),
            Effect::send_after_sync(CLIENT, QuorumMessage::Answer(values)),
        ],
        "only server 0 held the newest version: stored here too, two of three votes hold it, so the \
         answer leaves once this store is durable, and server 2 is repaired as well"
    );
}

#[test]
fn a_read_whose_newest_version_is_already_on_a_write_quorum_answers_without_repair() {
    let mut coordinator = server(QuorumSettings::default(), 1);
    let operation = operation_of(&coordinator.deliver(CLIENT, request(1, READ)));
    let ack = peer(Peer::ReadAck { operation, key: 0, version: Version::default(), value: None });
    let effects = coordinator.deliver(2, ack);
    let values = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Values(vec![])) };
    assert_eq!(effects.without_timers(), [Effect::send_after_sync(CLIENT, QuorumMessage::Answer(values))]);
}

#[test]
fn without_read_repair_a_read_answers_what_its_quorum_saw() {
    let settings = QuorumSettings { read_repair: Some(false), ..QuorumSettings::default() };
    let mut coordinator = server(settings, 1);
    let operation = operation_of(&coordinator.deliver(CLIENT, request(1, READ)));
    let ack = peer(Peer::ReadAck { operation, key: 0, version: version(3, 0), value: Some(9) });
    let values = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Values(vec![9])) };
    assert_eq!(coordinator.deliver(0, ack).sent(), [(CLIENT, QuorumMessage::Answer(values))]);
}

#[test]
fn weighted_votes_make_one_heavy_server_a_quorum_gifford_section_3() {
    let settings = QuorumSettings { votes: Some(vec![3, 1, 1]), ..QuorumSettings::default() };
    let mut heavy = server(settings.clone(), 0);
    let effects = heavy.deliver(CLIENT, request(1, WRITE));
    let done = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Done) };
    assert!(effects.sent().contains(&(CLIENT, QuorumMessage::Answer(done))), "3 of 5 votes: {:?}", effects.list);
    let mut light = server(settings, 1);
    let operation = operation_of(&light.deliver(CLIENT, request(1, READ)));
    let ack = peer(Peer::ReadAck { operation, key: 0, version: Version::default(), value: None });
    assert!(light.deliver(2, ack).sent().is_empty(), "two light servers are two votes, not three");
}

#[test]
fn a_restarted_home_reads_a_keys_newest_version_once_before_it_numbers_a_new_one() {
    let setup = setup(QuorumSettings::default());
    let records = [QuorumRecord::Stored { key: 0, version: version(2, 0), value: Some(5) }];
    let mut home = Harness::<Quorum>::recovered(&setup, 0, &records, SEED);
    home.recover();
    let effects = home.deliver(CLIENT, request(1, WRITE));
    let operation = operation_of(&effects);
    assert!(effects
        .sent()
        .iter()
        .all(|(_, message)| matches!(message, QuorumMessage::Peer { message: Peer::Read { .. }, .. })));
    let ack = peer(Peer::ReadAck { operation, key: 0, version: version(4, 1), value: Some(6) });
    let effects = home.deliver(1, ack);
    let write = Peer::Write { operation, key: 0, version: version(5, 0), value: Some(42), hint: None };
    assert!(effects.sent().contains(&(1, peer(write))), "above what server 1 reported: {:?}", effects.sent());
    home.deliver(1, peer(Peer::WriteAck { operation }));
    let effects = home.deliver(CLIENT, request(2, KvOperation::Write { key: 0, value: 43 }));
    assert!(
        effects
            .sent()
            .iter()
            .any(|(_, message)| matches!(message, QuorumMessage::Peer { message: Peer::Write { .. }, .. })),
        "the key is confirmed now: one round trip"
    );
}

#[test]
fn a_sloppy_write_leaves_a_hint_outside_the_replicas_and_counts_it_dynamo_4_6() {
    let settings = QuorumSettings { replicas: Some(2), sloppy: Some(true), ..QuorumSettings::default() };
    let mut home = server(settings.clone(), 0);
    let operation = operation_of(&home.deliver(CLIENT, request(1, WRITE)));
    let effects = home.fire(QuorumTimer::Retry(CLIENT));
    let write = |hint| peer(Peer::Write { operation, key: 0, version: version(1, 0), value: Some(42), hint });
    assert_eq!(effects.sent(), [(1, write(None)), (2, write(Some(1)))], "server 2 is outside the replicas 0 and 1");
    let effects = home.deliver(2, peer(Peer::WriteAck { operation }));
    let done = Answer::Done { sequence: 1, outcome: Outcome::Ok(KvReply::Done) };
    assert_eq!(effects.sent(), [(CLIENT, QuorumMessage::Answer(done))], "the hint counts as server 1's vote");
    let mut holder = server(settings, 2);
    let effects = holder.deliver(0, write(Some(1)));
    let hint = Hint { owner: 1, key: 0, version: version(1, 0), value: Some(42) };
    assert_eq!(holder.hints(), [hint]);
    assert_eq!(holder.register(0), (Version::default(), None), "a hint is not a replica's value");
    assert!(effects.observed().contains(&RegisterObservation::Hinted {
        key: 0,
        version: version(1, 0),
        value: Some(42),
        owner: 1
    }));
    let effects = holder.fire(QuorumTimer::Handoff);
    assert_eq!(effects.sent(), [(1, peer(Peer::Handoff { key: 0, version: version(1, 0), value: Some(42) }))]);
    let effects = holder.deliver(1, peer(Peer::HandoffAck { key: 0, version: version(1, 0) }));
    assert!(holder.hints().is_empty());
    assert_eq!(effects.written(), [QuorumRecord::HandedOff { owner: 1, key: 0, version: version(1, 0) }]);
}

#[test]
fn a_sloppy_coordinator_outside_the_replicas_hints_on_the_other_fallbacks_never_itself() {
    let settings = QuorumSettings { replicas: Some(2), sloppy: Some(true), ..QuorumSettings::default() };
    let mut coordinator = Harness::<Quorum>::boot(&setup_with(4, 0, 2, CORRECT, settings), 2, SEED);
    coordinator.start();
    let operation = operation_of(&coordinator.deliver(CLIENT, request(1, WRITE)));
    let effects = coordinator.fire(QuorumTimer::Retry(CLIENT));
    let write = |hint| peer(Peer::Write { operation, key: 0, version: version(1, 2), value: Some(42), hint });
    let sent = effects.sent();
    assert!(sent.iter().all(|(to, _)| *to != 2), "never to itself: {sent:?}");
    assert!(sent.contains(&(3, write(Some(0)))), "server 3 is the other fallback: {sent:?}");
}

#[test]
fn a_strict_quorum_only_sends_again_to_the_replicas() {
    let mut home = server(QuorumSettings { replicas: Some(2), ..QuorumSettings::default() }, 0);
    let operation = operation_of(&home.deliver(CLIENT, request(1, WRITE)));
    let effects = home.fire(QuorumTimer::Retry(CLIENT));
    let write = peer(Peer::Write { operation, key: 0, version: version(1, 0), value: Some(42), hint: None });
    assert_eq!(effects.sent(), [(1, write)]);
}

#[test]
fn a_replica_refuses_a_coordinator_with_an_older_epoch_and_sends_its_view() {
    let mut replica = server(QuorumSettings::default(), 1);
    replica.input(|server, ctx| server.on_membership(ctx, crate::node::Membership::Leaving(2)));
    let stale = peer(Peer::Write { operation: 1, key: 0, version: version(1, 0), value: Some(5), hint: None });
    let effects = replica.deliver(0, stale);
    assert_eq!(effects.sent(), [(0, QuorumMessage::View(replica.view().clone()))], "not stored, not acknowledged");
    assert_eq!(replica.register(0), (Version::default(), None));
}

#[test]
fn milestones_are_declared_and_each_is_marked_by_an_observation() {
    assert_milestones::<Quorum>(&[
        RegisterObservation::Stored { key: 0, version: version(1, 0), value: Some(1) },
        RegisterObservation::WroteBack { key: 0, version: version(1, 0) },
        RegisterObservation::Client(ClientEvent::WriteAcknowledged { key: 0, value: 1 }),
        RegisterObservation::Client(ClientEvent::ReadReturned { key: 0, value: Some(1) }),
        RegisterObservation::Hinted { key: 0, version: version(1, 0), value: Some(7), owner: 1 },
        RegisterObservation::HandedOff { key: 0, version: version(1, 0), owner: 1 },
        RegisterObservation::Filled { replicas: vec![0, 1, 3] },
        RegisterObservation::Replicas { replicas: vec![0, 1, 3] },
    ]);
}
