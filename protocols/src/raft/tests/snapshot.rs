//! Log compaction (thesis chapter 5): servers snapshot their state machine and compact
//! their durable log, leaders send `InstallSnapshot` to followers that need compacted
//! entries, followers install, keep or ignore a snapshot as Figure 5.3 and etcd's raft say,
//! and restarts start from the snapshot.

use serde::Deserialize as _;

use super::*;
use crate::node::{Checker as _, Violation};

/// Raft's settings with a snapshot every `snapshot_every` applied entries.
fn compacting(variant: &'static str, snapshot_every: u64) -> Setup<RaftSettings> {
    Setup { settings: RaftSettings { snapshot_every, ..RaftSettings::default() }, ..setup(variant) }
}

/// The replicated store after client 5's appends of `values`, as a snapshot holds it.
fn store_after(values: &[u64]) -> Replicated<Store> {
    let mut replicated = Replicated::default();
    for (sequence, &value) in (1..).zip(values) {
        let stamp = Stamp { client: CLIENT, index: sequence + 1, term: 1, time: 0 };
        replicated.apply(&stamp, &command(CLIENT, sequence, append(value)));
    }
    replicated
}

fn snapshot(index: Index, term: Term, values: &[u64]) -> Snapshot {
    Snapshot { index, term, replicated: store_after(values) }
}

fn install(term: Term, snapshot: Snapshot) -> RaftMessage {
    RaftMessage::InstallSnapshot(Box::new(InstallSnapshot { term, snapshot, round: 0 }))
}

fn installed(term: Term, last_index: Index) -> RaftMessage {
    RaftMessage::InstallSnapshotResponse(InstallSnapshotResponse { term, last_index, round: 0 })
}

/// Server 0 leads term 1 with a snapshot every 2 entries; its no-op and client 5's append
/// of 10 commit on servers 1 and 2. Returns the effects of the commit of the append.
fn leader_after_two_entries() -> (Harness<Raft>, Effects<Raft>) {
    let mut server = Harness::<Raft>::boot(&compacting(CORRECT, 2), 0, SEED);
    elect(&mut server);
    server.sync_all();
    server.deliver(1, accepted(1, 1, 0));
    server.deliver(2, accepted(1, 1, 0));
    server.deliver(CLIENT, RaftMessage::ClientRequest(command(CLIENT, 1, append(10))));
    server.sync_all();
    server.deliver(1, accepted(1, 2, 0));
    let effects = server.deliver(2, accepted(1, 2, 0));
    (server, effects)
}

#[test]
fn server_snapshots_after_snapshot_every_entries_and_compacts_its_durable_log_thesis_5_1() {
    let (server, effects) = leader_after_two_entries();
    let expected_snapshot = Snapshot { index: 2, term: 1, replicated: server.replicated().clone() };
    assert_eq!(server.machine().read(1), vec![10]);
    assert_eq!(
        effects.without_timers()[2..],
        [
            Effect::send(CLIENT, client_reply(1, done())),
            Effect::Observe(RaftObservation::SnapshotTaken { index: 2, term: 1 }),
            Effect::Compact(vec![
                RaftRecord::Term { current_term: 1, voted_for: Some(0) },
                RaftRecord::Snapshot(expected_snapshot),
            ]),
        ],
        "after the commit and the application: the snapshot replaces the whole durable log"
    );
    assert_eq!((server.log().snapshot_index(), server.log().last_index()), (2, 2));
    assert!(server.log().entries().is_empty());
}

#[test]
fn leader_sends_its_snapshot_to_a_follower_that_needs_compacted_entries_figure_5_3() {
    let (mut server, _) = leader_after_two_entries();
    let effects = server.deliver(3, refused(1, 0));
    let snapshot = Snapshot { index: 2, term: 1, replicated: server.replicated().clone() };
    assert_eq!(effects.sent(), vec![(3, install(1, snapshot))], "index 1 is compacted away");
    let effects = server.deliver(3, installed(1, 2));
    assert!(effects.sent().is_empty(), "the follower is up to date");
    let effects = server.fire(RaftTimer::Heartbeat);
    assert_eq!(effects.sent_to(3), vec![append_entries(1, 2, 1, vec![], 2)], "it continues after the snapshot");
}

#[test]
fn follower_installs_a_snapshot_its_log_lacks_discarding_the_log_figure_5_3() {
    let mut server = recovered(CORRECT, 1, 1, None, log_of(&[1, 1]));
    let effects = server.deliver(0, install(2, snapshot(3, 2, &[10])));
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(RaftRecord::Term { current_term: 2, voted_for: None }),
            Effect::Sync(1),
            Effect::Observe(RaftObservation::SnapshotInstalled { index: 3, term: 2 }),
            Effect::Compact(vec![
                RaftRecord::Term { current_term: 2, voted_for: None },
                RaftRecord::Snapshot(snapshot(3, 2, &[10])),
            ]),
            Effect::send_after_sync(0, installed(2, 3)),
        ]
    );
    assert_eq!((server.log().snapshot_index(), server.log().last_index(), server.log().truncations()), (3, 3, 1));
    assert_eq!((server.commit_index(), server.last_applied()), (3, 3));
    assert_eq!(server.machine().read(1), vec![10], "its state machine is the snapshot's");
}

#[test]
fn follower_keeps_the_entries_after_a_snapshot_its_log_holds_figure_5_3_step_6() {
    let mut server = recovered(CORRECT, 1, 2, None, log_of(&[1, 1, 1, 2]));
    let effects = server.deliver(0, install(2, snapshot(2, 1, &[10])));
    assert_eq!(server.log().entries(), log_of(&[1, 2]).as_slice(), "indexes 3 and 4 are kept");
    assert_eq!((server.log().first_index(), server.log().truncations()), (3, 0));
    let records = vec![
        RaftRecord::Term { current_term: 2, voted_for: None },
        RaftRecord::Snapshot(snapshot(2, 1, &[10])),
        RaftRecord::Entries { from: 3, entries: log_of(&[1, 2]) },
    ];
    assert!(effects.list.contains(&Effect::Compact(records)));
    assert_eq!(effects.sent(), vec![(0, installed(2, 2))]);
}

/// A follower with the entries 1 to 3 committed hears of a snapshot ending at index 2.
fn late_snapshot(variant: &'static str) -> (Harness<Raft>, Effects<Raft>, Vec<RaftObservation>) {
    let mut server = Harness::<Raft>::boot(&setup(variant), 1, SEED);
    let first = server.deliver(0, append_entries(1, 0, 0, log_of(&[1, 1, 1]), 3));
    let effects = server.deliver(0, install(1, snapshot(2, 1, &[])));
    let observed = first.observed().into_iter().chain(effects.observed()).collect();
    (server, effects, observed)
}

#[test]
fn follower_ignores_a_snapshot_that_covers_no_more_than_it_committed_etcd_restore() {
    let (server, effects, _) = late_snapshot(CORRECT);
    assert_eq!(effects.without_timers(), [Effect::send_after_sync(0, installed(1, 2))], "nothing installed");
    assert_eq!((server.commit_index(), server.log().last_index(), server.log().snapshot_index()), (3, 3, 0));
}

#[test]
fn stale_snapshot_variant_rolls_its_state_machine_back_and_the_checker_sees_it() {
    let (server, _, observed) = late_snapshot(STALE_SNAPSHOT);
    assert_eq!((server.commit_index(), server.log().last_index()), (2, 2), "index 3 is gone");
    let mut checker: RaftChecker = RaftChecker::new(&setup(STALE_SNAPSHOT));
    let mut result = Ok(());
    for (at, observation) in (0..).zip(&observed) {
        result = result.and_then(|()| checker.observe(at, 1, observation));
    }
    let violation: Violation = result.expect_err("the state machine went from index 3 back to 2");
    assert_eq!((violation.invariant, violation.nodes), ("state-machine-safety", vec![1]));
}

#[test]
fn restarted_server_starts_from_its_snapshot_thesis_5() {
    let records = [
        RaftRecord::Term { current_term: 2, voted_for: None },
        RaftRecord::Snapshot(snapshot(3, 2, &[10, 11])),
        RaftRecord::Entries { from: 4, entries: log_of(&[2]) },
    ];
    let mut server = Harness::<Raft>::recovered(&setup(CORRECT), 1, &records, SEED);
    assert_eq!((server.commit_index(), server.last_applied(), server.log().first_index()), (3, 3, 4));
    assert_eq!(server.machine().read(1), vec![10, 11]);
    assert_eq!(server.recover().observed(), [RaftObservation::Restored { index: 3, term: 2 }]);
    let effects = server.deliver(0, append_entries(3, 1, 1, log_of(&[1, 2, 2]), 4));
    assert_eq!(server.log().entries(), log_of(&[2]).as_slice(), "what the snapshot covers matches: index 4 is kept");
    assert_eq!(effects.sent(), vec![(0, accepted(3, 4, 0))]);
    assert_eq!(server.commit_index(), 4);
}

#[test]
fn durable_log_is_rewritten_once_it_holds_twice_snapshot_every_records() {
    let mut server = Harness::<Raft>::boot(&compacting(CORRECT, 2), 3, SEED);
    for _ in 0..4 {
        let effects = server.fire(RaftTimer::Election);
        assert!(!effects.list.iter().any(|effect| matches!(effect, Effect::Compact(_))), "four term records");
    }
    let effects = server.fire(RaftTimer::Election);
    let rewritten = Effect::Compact(vec![RaftRecord::Term { current_term: 5, voted_for: Some(3) }]);
    assert!(effects.list.contains(&rewritten), "the fifth is one too many: {:?}", effects.list);
}

#[test]
fn snapshot_every_is_checked_when_the_settings_are_read() {
    let read = |snapshot_every: u64| {
        let table = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            [("snapshot_every", snapshot_every)].into_iter(),
        );
        RaftSettings::deserialize(table).map_err(|error| error.to_string())
    };
    assert_eq!(read(8), Ok(RaftSettings { snapshot_every: 8, ..RaftSettings::default() }));
    assert_eq!(read(0), Err(format!("snapshot_every must be from 1 to {SNAPSHOT_EVERY_MAX} entries, not 0")));
}

#[test]
fn checker_flags_a_snapshot_that_ends_with_another_entry_than_the_committed_one() {
    let mut checker: RaftChecker = RaftChecker::new(&setup(CORRECT));
    let committed = RaftObservation::Committed { index: 4, term: 2, leader_term: 2 };
    assert_eq!(checker.observe(0, 0, &committed), Ok(()));
    let taken = RaftObservation::SnapshotTaken { index: 4, term: 3 };
    let violation = checker.observe(1, 2, &taken).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("state-machine-safety", vec![0, 2]));
}

#[test]
fn checker_accepts_a_restart_from_an_earlier_snapshot_and_compacted_logs() {
    let mut checker: RaftChecker = RaftChecker::new(&setup(CORRECT));
    let observations = [
        RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
        RaftObservation::Applied { index: 2, term: 1, payload: Payload::Noop },
        RaftObservation::SnapshotTaken { index: 2, term: 1 },
        RaftObservation::Applied { index: 3, term: 1, payload: Payload::Noop },
        RaftObservation::Restored { index: 2, term: 1 },
        RaftObservation::Applied { index: 3, term: 1, payload: Payload::Noop },
    ];
    for (at, observation) in (0..).zip(&observations) {
        assert_eq!(checker.observe(at, 1, observation), Ok(()), "{observation}");
    }
    let records = [RaftRecord::Snapshot(snapshot(2, 1, &[])), RaftRecord::Entries { from: 3, entries: log_of(&[1]) }];
    let compacted = Harness::<Raft>::recovered(&setup(CORRECT), 1, &records, SEED);
    let full = recovered(CORRECT, 0, 1, None, log_of(&[1, 1, 1]));
    assert_eq!(checker.inspect(9, 1, &testing::view(&[Some(full), Some(compacted)])), Ok(()));
}
