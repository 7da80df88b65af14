//! Client requests: redirects, commands and reads through the log, retries, and the
//! `local-reads` variant (PMMC sections 2.1 and 4.5; Raft thesis sections 6.2 and 6.3 for
//! the client rules the shared key-value client follows).

use super::*;

const B: Ballot = Ballot { round: 1, leader: 0 };

fn not_leader(sequence: u64, leader: Option<NodeId>) -> MultiPaxosMessage {
    MultiPaxosMessage::ClientReply(Response::NotLeader { sequence, leader })
}

fn read(sequence: u64) -> Command {
    command(sequence, KvOperation::Read { key: 1 })
}

/// A leader of `variant` whose slot 1 holds the client's append of 10, chosen and applied.
fn leader_with_ten(variant: &'static str) -> Harness<MultiPaxos> {
    let mut leader = Harness::boot(&setup(variant), 0, SEED);
    elect(&mut leader, vec![]);
    leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    leader.deliver(1, accepted(B, 1));
    leader.deliver(2, accepted(B, 1));
    leader
}

#[test]
fn follower_redirects_the_client_to_the_leader_it_follows_pmmc_2_1() {
    let mut follower = server(1);
    follower.deliver(0, MultiPaxosMessage::Heartbeat { ballot: B, first_unchosen: 1 });
    let effects = follower.deliver(CLIENT, request(command(1, append(10))));
    assert_eq!(effects.sent(), vec![(CLIENT, not_leader(1, Some(0)))]);
    assert!(effects.written().is_empty());
}

#[test]
fn candidate_redirects_without_a_hint() {
    let mut candidate = server(1);
    candidate.fire(MultiPaxosTimer::Election);
    let effects = candidate.deliver(CLIENT, request(command(1, append(10))));
    assert_eq!(effects.sent(), vec![(CLIENT, not_leader(1, None))]);
}

#[test]
fn retry_of_a_command_in_flight_waits_for_its_slot_instead_of_taking_another() {
    let mut leader = leader();
    leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    let effects = leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    assert!(effects.sent().is_empty());
    leader.deliver(1, accepted(B, 1));
    let effects = leader.deliver(2, accepted(B, 1));
    assert_eq!(effects.sent(), vec![(CLIENT, done(1, ok_done()))], "answered once, when applied");
}

#[test]
fn retry_of_an_applied_command_is_answered_from_the_session_thesis_6_3() {
    let mut leader = leader_with_ten(CORRECT);
    let effects = leader.deliver(CLIENT, request(command(1, append(10))));
    leader.sync_all(); // its own acceptance counts once durable
    assert_eq!(effects.sent(), vec![(CLIENT, done(1, ok_done()))]);
    let acknowledged = MultiPaxosObservation::Acknowledged { client: CLIENT, sequence: 1, key: 1, through: 1 };
    assert_eq!(effects.observed(), vec![acknowledged]);
    assert!(effects.written().is_empty(), "no second slot");
    let effects = leader.deliver(CLIENT, request(command(0, append(9))));
    leader.sync_all(); // its own acceptance counts once durable
    assert!(effects.sent().is_empty(), "a command older than the client's latest is ignored");
}

#[test]
fn read_goes_through_the_log_like_any_command_pmmc_4_5() {
    let mut leader = leader_with_ten(CORRECT);
    let effects = leader.deliver(CLIENT, request(read(2)));
    leader.sync_all(); // its own acceptance counts once durable
    assert_eq!(effects.sent(), to_peers(0, accept(B, 2, Entry::Command(read(2)), 2)));
    let received = MultiPaxosObservation::ReadReceived { client: CLIENT, sequence: 2, key: 1 };
    assert_eq!(effects.observed()[0], received);
    leader.deliver(3, accepted(B, 2));
    let effects = leader.deliver(4, accepted(B, 2));
    assert_eq!(effects.sent(), vec![(CLIENT, done(2, Outcome::Ok(KvReply::Values(vec![10]))))]);
    let served = MultiPaxosObservation::ReadServed { client: CLIENT, sequence: 2, key: 1, through: 1 };
    assert!(effects.observed().contains(&served));
}

#[test]
fn local_reads_variant_answers_reads_from_the_leaders_store_at_once() {
    let mut leader = leader_with_ten(LOCAL_READS);
    let effects = leader.deliver(CLIENT, request(read(2)));
    leader.sync_all(); // its own acceptance counts once durable
    assert_eq!(effects.sent(), vec![(CLIENT, done(2, Outcome::Ok(KvReply::Values(vec![10]))))], "no Accept");
    assert_eq!(
        effects.observed(),
        vec![
            MultiPaxosObservation::ReadReceived { client: CLIENT, sequence: 2, key: 1 },
            MultiPaxosObservation::ReadServed { client: CLIENT, sequence: 2, key: 1, through: 1 },
        ]
    );
    let effects = leader.deliver(CLIENT, request(command(3, append(11))));
    leader.sync_all(); // its own acceptance counts once durable
    assert_eq!(effects.sent().len(), 4, "updates still go through the log");
}
