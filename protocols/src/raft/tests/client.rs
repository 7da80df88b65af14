//! The key-value client over Raft: routing to the leader and redirects (thesis 6.2),
//! retries with one sequence number (6.3), back-off and giving up.

use super::*;
use crate::kv::{ClientTimer, KvClient, ATTEMPTS_MAX};
use crate::node::Client as _;

fn client() -> KvClient<Raft> {
    KvClient::new(&setup(CORRECT), CLIENT)
}

fn request(client: &mut KvClient<Raft>, operation: Operation) -> Effects<Raft> {
    step(client, CLIENT, |client, ctx| client.on_request(ctx, operation))
}

fn set(after: Time, timer: ClientTimer) -> TimerCommand<RaftTimer> {
    TimerCommand::Set { after, timer: RaftTimer::Client(timer) }
}

fn cancel(timer: ClientTimer) -> TimerCommand<RaftTimer> {
    TimerCommand::Cancel { timer: RaftTimer::Client(timer) }
}

fn back_off() -> Time {
    ChaCha8Rng::seed_from_u64(SEED).gen_range(TIMEOUT / 4..=TIMEOUT / 2)
}

fn sent(sequence: u64, operation: Operation) -> RaftMessage {
    RaftMessage::ClientRequest(command(CLIENT, sequence, operation))
}

#[test]
fn client_sends_to_its_leader_guess_and_completes_with_the_reply_thesis_6_2() {
    let mut client = client();
    let effects = request(&mut client, append(10));
    assert_eq!(effects.sends, vec![(0, sent(1, append(10)))], "client 5 of 5 servers starts at server 0");
    assert_eq!(effects.timers, vec![set(2 * TIMEOUT, ClientTimer::Reply)]);
    let effects = deliver(&mut client, CLIENT, 0, client_reply(1, done()));
    assert_eq!(effects.outcomes, vec![done()]);
    assert_eq!(effects.timers, vec![cancel(ClientTimer::Reply), cancel(ClientTimer::Retry)]);
    assert!(!client.is_busy());
}

#[test]
fn client_follows_a_not_leader_hint_at_once_thesis_6_2() {
    let mut client = client();
    request(&mut client, append(10));
    let effects = deliver(&mut client, CLIENT, 0, not_leader(1, Some(3)));
    assert_eq!(effects.sends, vec![(3, sent(1, append(10)))], "same sequence number");
    assert_eq!(effects.timers, vec![cancel(ClientTimer::Reply), set(2 * TIMEOUT, ClientTimer::Reply)]);
    assert!(effects.outcomes.is_empty());
}

#[test]
fn client_backs_off_then_tries_the_next_server_without_a_hint() {
    let mut client = client();
    request(&mut client, append(10));
    let effects = deliver(&mut client, CLIENT, 0, not_leader(1, None));
    assert!(effects.sends.is_empty());
    assert_eq!(effects.timers, vec![cancel(ClientTimer::Reply), set(back_off(), ClientTimer::Retry)]);
    let effects = fire(&mut client, CLIENT, RaftTimer::Client(ClientTimer::Retry));
    assert_eq!(effects.sends, vec![(1, sent(1, append(10)))]);
}

#[test]
fn client_retries_on_the_next_server_when_no_reply_comes() {
    let mut client = client();
    request(&mut client, append(10));
    let effects = fire(&mut client, CLIENT, RaftTimer::Client(ClientTimer::Reply));
    assert_eq!(effects.timers, vec![set(back_off(), ClientTimer::Retry)]);
    assert_eq!(client.leader_guess(), 1);
}

/// Sends `operation` and lets every attempt time out; returns every effect in order.
fn time_out_every_attempt(operation: Operation) -> Vec<Effects<Raft>> {
    let mut client = client();
    let mut all = vec![request(&mut client, operation)];
    while client.is_busy() {
        all.push(fire(&mut client, CLIENT, RaftTimer::Client(ClientTimer::Reply)));
        all.push(fire(&mut client, CLIENT, RaftTimer::Client(ClientTimer::Retry)));
        assert!(all.len() < 100, "the client must give up");
    }
    all
}

#[test]
fn client_gives_up_an_update_as_info_never_fail_after_bounded_attempts() {
    let all = time_out_every_attempt(append(10));
    let targets: Vec<NodeId> = all.iter().flat_map(|effects| effects.sends.iter().map(|(to, _)| *to)).collect();
    assert_eq!(targets.len(), ATTEMPTS_MAX as usize);
    assert_eq!(targets[..6], [0, 1, 2, 3, 4, 0], "round robin over the servers");
    let outcomes: Vec<Outcome> = all.into_iter().flat_map(|effects| effects.outcomes).collect();
    assert_eq!(outcomes, vec![Outcome::Info]);
}

#[test]
fn client_gives_up_a_read_as_fail_since_a_read_has_no_effect() {
    let all = time_out_every_attempt(Operation::Read { key: 1 });
    let outcomes: Vec<Outcome> = all.into_iter().flat_map(|effects| effects.outcomes).collect();
    assert_eq!(outcomes, vec![Outcome::Fail]);
}

#[test]
fn client_ignores_answers_to_an_earlier_operation() {
    let mut client = client();
    request(&mut client, append(10));
    deliver(&mut client, CLIENT, 0, client_reply(1, done()));
    let effects = request(&mut client, append(11));
    assert_eq!(effects.sends, vec![(0, sent(2, append(11)))], "a new operation gets the next sequence");
    let effects = deliver(&mut client, CLIENT, 0, client_reply(1, done()));
    assert!(effects.outcomes.is_empty() && effects.sends.is_empty());
    let effects = deliver(&mut client, CLIENT, 0, client_reply(2, Outcome::Fail));
    assert_eq!(effects.outcomes, vec![Outcome::Fail], "a failed compare-and-set is a definite failure");
}
