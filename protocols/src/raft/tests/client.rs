//! The key-value client over Raft: routing to the leader and redirects (thesis 6.2),
//! retries with one sequence number (6.3), back-off and giving up.

use super::*;
use crate::kv::{ClientTimer, ATTEMPTS_MAX};
use crate::testing::{assert_timers, ClientHarness};

fn client() -> ClientHarness<Raft> {
    ClientHarness::new(&setup(CORRECT), CLIENT, SEED)
}

fn timer(timer: ClientTimer) -> RaftTimer {
    RaftTimer::Client(timer)
}

fn set(after: Time, client_timer: ClientTimer) -> Effect<Raft> {
    Effect::set_timer(after, timer(client_timer))
}

fn cancel(client_timer: ClientTimer) -> Effect<Raft> {
    Effect::cancel_timer(timer(client_timer))
}

/// The pause before a retry: a random quarter to half a timeout, so clients do not retry
/// in lockstep.
fn back_off() -> TimerChange<RaftTimer> {
    TimerChange::Set(timer(ClientTimer::Retry), TIMEOUT / 4..=TIMEOUT / 2)
}

fn sent(to: NodeId, sequence: u64, operation: KvOperation) -> Effect<Raft> {
    Effect::send(to, RaftMessage::ClientRequest(command(CLIENT, sequence, operation)))
}

#[test]
fn client_sends_to_its_leader_guess_and_completes_with_the_reply_thesis_6_2() {
    let mut client = client();
    let effects = client.request(append(10));
    assert_eq!(
        effects.list,
        [sent(0, 1, append(10)), set(2 * TIMEOUT, ClientTimer::Reply)],
        "client 5 of 5 servers starts at server 0"
    );
    let effects = client.deliver(0, client_reply(1, done()));
    assert_eq!(effects.list, [cancel(ClientTimer::Reply), cancel(ClientTimer::Retry), Effect::Complete(done())]);
    assert!(!client.is_busy());
}

#[test]
fn client_follows_a_not_leader_hint_at_once_thesis_6_2() {
    let mut client = client();
    client.request(append(10));
    let effects = client.deliver(0, not_leader(1, Some(3)));
    assert_eq!(
        effects.list,
        [cancel(ClientTimer::Reply), sent(3, 1, append(10)), set(2 * TIMEOUT, ClientTimer::Reply)],
        "the same sequence number, and no outcome yet"
    );
}

#[test]
fn client_backs_off_then_tries_the_next_server_without_a_hint() {
    let mut client = client();
    client.request(append(10));
    let effects = client.deliver(0, not_leader(1, None));
    assert!(effects.without_timers().is_empty());
    assert_timers(&effects, &[TimerChange::Cancel(timer(ClientTimer::Reply)), back_off()]);
    let effects = client.fire(timer(ClientTimer::Retry));
    assert_eq!(effects.sent(), [(1, RaftMessage::ClientRequest(command(CLIENT, 1, append(10))))]);
}

#[test]
fn client_retries_on_the_next_server_when_no_reply_comes() {
    let mut client = client();
    client.request(append(10));
    let effects = client.fire(timer(ClientTimer::Reply));
    assert_timers(&effects, &[back_off()]);
    assert_eq!(client.leader_guess(), 1);
}

/// Sends `operation` and lets every attempt time out; returns every effect in order.
fn time_out_every_attempt(operation: KvOperation) -> Vec<Effects<Raft>> {
    let mut client = client();
    let mut all = vec![client.request(operation)];
    while client.is_busy() {
        all.push(client.fire(timer(ClientTimer::Reply)));
        all.push(client.fire(timer(ClientTimer::Retry)));
        assert!(all.len() < 100, "the client must give up");
    }
    all
}

#[test]
fn client_gives_up_an_update_as_info_never_fail_after_bounded_attempts() {
    let all = time_out_every_attempt(append(10));
    let targets: Vec<NodeId> = all.iter().flat_map(|effects| effects.sent()).map(|(to, _)| to).collect();
    assert_eq!(targets.len(), ATTEMPTS_MAX as usize);
    assert_eq!(targets[..6], [0, 1, 2, 3, 4, 0], "round robin over the servers");
    let outcomes: Vec<Outcome<KvReply>> = all.iter().flat_map(Effects::completed).collect();
    assert_eq!(outcomes, vec![Outcome::Info]);
}

#[test]
fn client_gives_up_a_read_as_fail_since_a_read_has_no_effect() {
    let all = time_out_every_attempt(KvOperation::Read { key: 1 });
    let outcomes: Vec<Outcome<KvReply>> = all.iter().flat_map(Effects::completed).collect();
    assert_eq!(outcomes, vec![Outcome::Fail]);
}

#[test]
fn client_ignores_answers_to_an_earlier_operation() {
    let mut client = client();
    client.request(append(10));
    client.deliver(0, client_reply(1, done()));
    let cas = KvOperation::Cas { key: 1, from: 3, to: 11 };
    let effects = client.request(cas.clone());
    assert_eq!(effects.without_timers(), [sent(0, 2, cas)], "a new operation gets the next sequence");
    let effects = client.deliver(0, client_reply(1, done()));
    assert!(effects.list.is_empty());
    let effects = client.deliver(0, client_reply(2, Outcome::Ok(KvReply::CasFailed)));
    assert_eq!(
        effects.completed(),
        [Outcome::Ok(KvReply::CasFailed)],
        "a compare-and-set that found another value is an answer, not a failure"
    );
}
