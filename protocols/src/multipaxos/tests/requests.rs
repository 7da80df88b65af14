//! Client requests: redirects, commands and reads through the log, retries, and the
//! `local-reads` variant (PMMC sections 2.1 and 4.5; Raft thesis sections 6.2 and 6.3 for
//! the client rules the shared key-value client follows).

use super::*;

const B: Ballot = Ballot { round: 1, leader: 0 };

fn not_leader(sequence: u64, leader: Option<NodeId>) -> MultiPaxosMessage {
    MultiPaxosMessage::ClientReply(Response::NotLeader { sequence, leader })
}

fn read(sequence: u64) -> Command {
    command(sequence, Operation::Read { key: 1 })
}

/// A leader of `variant` whose slot 1 holds the client's append of 10, chosen and applied.
fn leader_with_ten(variant: &'static str) -> MultiPaxosServer {
    let mut leader = MultiPaxos::server(&setup(variant), 0);
    elect(&mut leader, vec![]);
    deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    deliver(&mut leader, 0, 1, accepted(B, 1));
    deliver(&mut leader, 0, 2, accepted(B, 1));
    leader
}

#[test]
fn follower_redirects_the_client_to_the_leader_it_follows_pmmc_2_1() {
    let mut follower = server(1);
    deliver(&mut follower, 1, 0, MultiPaxosMessage::Heartbeat { ballot: B, first_unchosen: 1 });
    let effects = deliver(&mut follower, 1, CLIENT, request(command(1, append(10))));
    assert_eq!(effects.sends, vec![(CLIENT, not_leader(1, Some(0)))]);
    assert!(effects.writes.is_empty());
}

#[test]
fn candidate_redirects_without_a_hint() {
    let mut candidate = server(1);
    fire(&mut candidate, 1, MultiPaxosTimer::Election);
    let effects = deliver(&mut candidate, 1, CLIENT, request(command(1, append(10))));
    assert_eq!(effects.sends, vec![(CLIENT, not_leader(1, None))]);
}

#[test]
fn retry_of_a_command_in_flight_waits_for_its_slot_instead_of_taking_another() {
    let mut leader = leader();
    deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    let effects = deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    assert!(effects.sends.is_empty());
    deliver(&mut leader, 0, 1, accepted(B, 1));
    let effects = deliver(&mut leader, 0, 2, accepted(B, 1));
    assert_eq!(effects.sends, vec![(CLIENT, done(1, ok_done()))], "answered once, when applied");
}

#[test]
fn retry_of_an_applied_command_is_answered_from_the_session_thesis_6_3() {
    let mut leader = leader_with_ten(CORRECT);
    let effects = deliver(&mut leader, 0, CLIENT, request(command(1, append(10))));
    assert_eq!(effects.sends, vec![(CLIENT, done(1, ok_done()))]);
    let acknowledged = MultiPaxosObservation::Acknowledged { client: CLIENT, sequence: 1, key: 1, through: 1 };
    assert_eq!(effects.observations, vec![acknowledged]);
    assert!(effects.writes.is_empty(), "no second slot");
    let effects = deliver(&mut leader, 0, CLIENT, request(command(0, append(9))));
    assert!(effects.sends.is_empty(), "a command older than the client's latest is ignored");
}

#[test]
fn read_goes_through_the_log_like_any_command_pmmc_4_5() {
    let mut leader = leader_with_ten(CORRECT);
    let effects = deliver(&mut leader, 0, CLIENT, request(read(2)));
    assert_eq!(effects.sends, to_peers(0, accept(B, 2, Entry::Command(read(2)), 2)));
    let received = MultiPaxosObservation::ReadReceived { client: CLIENT, sequence: 2, key: 1 };
    assert_eq!(effects.observations[0], received);
    deliver(&mut leader, 0, 3, accepted(B, 2));
    let effects = deliver(&mut leader, 0, 4, accepted(B, 2));
    assert_eq!(effects.sends, vec![(CLIENT, done(2, Outcome::Ok(Reply::Values(vec![10]))))]);
    let served = MultiPaxosObservation::ReadServed { client: CLIENT, sequence: 2, key: 1, through: 1 };
    assert!(effects.observations.contains(&served));
}

#[test]
fn local_reads_variant_answers_reads_from_the_leaders_store_at_once() {
    let mut leader = leader_with_ten(LOCAL_READS);
    let effects = deliver(&mut leader, 0, CLIENT, request(read(2)));
    assert_eq!(effects.sends, vec![(CLIENT, done(2, Outcome::Ok(Reply::Values(vec![10]))))], "no Accept");
    assert_eq!(
        effects.observations,
        vec![
            MultiPaxosObservation::ReadReceived { client: CLIENT, sequence: 2, key: 1 },
            MultiPaxosObservation::ReadServed { client: CLIENT, sequence: 2, key: 1, through: 1 },
        ]
    );
    let effects = deliver(&mut leader, 0, CLIENT, request(command(3, append(11))));
    assert_eq!(effects.sends.len(), 4, "updates still go through the log");
}
