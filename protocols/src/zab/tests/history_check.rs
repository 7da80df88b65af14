//! ZooKeeper's read guarantee, checked on hand-made histories both ways: stale reads and
//! concurrent writes in either order pass; going back in time, missing one's own write, a
//! value never written, reads in two orders of the writes and a wrong list order fail.

use crate::history::Call;
use crate::kv::{KvOperation, KvReply, KvService};
use crate::node::Time;
use crate::service::Outcome;
use crate::zab::sequential_reads;

fn call(
    client: u32,
    invoked: Time,
    completed: Time,
    operation: KvOperation,
    outcome: Outcome<KvReply>,
) -> Call<KvService> {
    Call { client, invoked, completed: Some(completed), operation, outcome: Some(outcome) }
}

fn write(client: u32, at: Time, key: u64, value: u64) -> Call<KvService> {
    call(client, at, at + 5, KvOperation::Write { key, value }, Outcome::Ok(KvReply::Done))
}

fn append(client: u32, at: Time, key: u64, value: u64) -> Call<KvService> {
    call(client, at, at + 5, KvOperation::Append { key, value }, Outcome::Ok(KvReply::Done))
}

fn read(client: u32, at: Time, key: u64, seen: &[u64]) -> Call<KvService> {
    call(client, at, at + 5, KvOperation::Read { key }, Outcome::Ok(KvReply::Values(seen.to_vec())))
}

fn caught(history: &[Call<KvService>]) -> String {
    let (_, violation) = sequential_reads(history).expect_err("not sequentially consistent");
    assert_eq!(violation.invariant, "sequential-consistency");
    assert!(!violation.evidence.is_empty());
    violation.detail
}

#[test]
fn a_stale_local_read_is_allowed() {
    // Client 1 reads key 0 empty, and then [1], long after client 0 wrote 1: stale, in order.
    let history = [write(0, 10, 0, 1), read(1, 100, 0, &[]), read(1, 200, 0, &[1]), write(0, 300, 0, 2)];
    assert!(sequential_reads(&history).is_ok());
}

#[test]
fn a_client_that_reads_back_in_time_is_caught() {
    // Writes 1 then 2 (real time orders them); client 1 sees 2, then 1.
    let history = [write(0, 10, 0, 1), write(0, 20, 0, 2), read(1, 100, 0, &[2]), read(1, 110, 0, &[1])];
    caught(&history);
}

#[test]
fn a_client_that_misses_its_own_write_is_caught() {
    let history = [write(0, 10, 0, 1), write(1, 20, 0, 2), read(1, 30, 0, &[1])];
    assert!(caught(&history).contains("client 1"));
    assert!(sequential_reads(&[write(1, 20, 0, 2), read(1, 30, 0, &[])]).is_err(), "nor the empty state");
}

#[test]
fn a_value_never_written_is_caught() {
    let detail = caught(&[write(0, 10, 0, 1), read(1, 20, 0, &[7])]);
    assert!(detail.contains("no write of key 0"), "{detail}");
    let info = call(0, 10, 15, KvOperation::Write { key: 0, value: 7 }, Outcome::Info);
    assert!(sequential_reads(&[info, read(1, 20, 0, &[7])]).is_ok(), "an unknown write may have happened");
    let failed = call(0, 10, 15, KvOperation::Write { key: 0, value: 7 }, Outcome::Fail);
    assert!(sequential_reads(&[failed, read(1, 20, 0, &[7])]).is_err(), "a failed one did not");
}

#[test]
fn concurrent_writes_may_be_seen_in_either_order_but_not_in_both() {
    // Writes 1 and 2 overlap: either order is fine, if everyone sees the same one.
    let w1 = call(0, 10, 50, KvOperation::Write { key: 0, value: 1 }, Outcome::Ok(KvReply::Done));
    let w2 = call(1, 10, 50, KvOperation::Write { key: 0, value: 2 }, Outcome::Ok(KvReply::Done));
    let one_order = [w1.clone(), w2.clone(), read(2, 60, 0, &[1]), read(2, 70, 0, &[2]), read(3, 60, 0, &[2])];
    assert!(sequential_reads(&one_order).is_ok());
    let both = [w1, w2, read(2, 60, 0, &[1]), read(2, 70, 0, &[2]), read(3, 60, 0, &[2]), read(3, 70, 0, &[1])];
    caught(&both);
}

#[test]
fn two_clients_seeing_writes_to_two_keys_in_opposite_orders_are_caught_across_keys() {
    // Independent reads of independent writes (IRIW): each key alone is fine.
    let history = [
        write(0, 10, 0, 1),
        write(1, 10, 1, 2),
        read(2, 100, 0, &[1]),
        read(2, 110, 1, &[]),
        read(3, 100, 1, &[2]),
        read(3, 110, 0, &[]),
    ];
    caught(&history);
}

#[test]
fn a_list_names_the_order_of_its_appends() {
    let appends = [append(0, 10, 0, 1), append(1, 10, 0, 2)];
    let fine = [&appends[..], &[read(2, 50, 0, &[2]), read(2, 60, 0, &[2, 1])]].concat();
    assert!(sequential_reads(&fine).is_ok());
    let wrong = [&appends[..], &[read(2, 50, 0, &[2, 1]), read(3, 50, 0, &[1])]].concat();
    caught(&wrong);
}

#[test]
fn a_long_history_is_checked_in_windows() {
    // More operations than a window, with a client going back in time near the end.
    let mut history = Vec::new();
    for value in 1..=1_500_u64 {
        history.push(write(0, value * 10, 0, value));
    }
    assert!(sequential_reads(&history).is_ok());
    history.push(read(1, 16_000, 0, &[1_500]));
    history.push(read(1, 16_010, 0, &[1_499]));
    caught(&history);
}
