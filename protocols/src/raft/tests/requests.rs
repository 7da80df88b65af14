//! Client requests at the servers (thesis chapter 6): redirects (6.2), commands applied
//! once (6.3) and ReadIndex reads (6.4).

use super::*;

fn request(sequence: u64, operation: Operation) -> RaftMessage {
    RaftMessage::ClientRequest(command(CLIENT, sequence, operation))
}

fn read(sequence: u64) -> RaftMessage {
    request(sequence, Operation::Read { key: 1 })
}

fn heartbeat_ack(term: Term, match_index: Index, round: u64) -> RaftMessage {
    let response = AppendEntriesResponse { term, success: true, match_index, round, heartbeat: true };
    RaftMessage::AppendEntriesResponse(response)
}

/// Server 0 leads term 1, and servers 1 and 2 acknowledged its no-op.
fn leader_with_committed_noop() -> RaftServer {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    elect(&mut server);
    deliver(&mut server, 0, 1, accepted(1, 1, 0));
    deliver(&mut server, 0, 2, accepted(1, 1, 0));
    assert_eq!(server.commit_index(), 1);
    server
}

#[test]
fn follower_redirects_a_client_to_the_leader_it_knows_thesis_6_2() {
    let mut server = RaftServer::new(&setup(CORRECT), 1);
    let effects = deliver(&mut server, 1, CLIENT, request(1, append(10)));
    assert_eq!(effects.sends, vec![(CLIENT, not_leader(1, None))]);
    deliver(&mut server, 1, 3, append_entries(1, 0, 0, vec![], 0));
    let effects = deliver(&mut server, 1, CLIENT, read(2));
    assert_eq!(effects.sends, vec![(CLIENT, not_leader(2, Some(3)))]);
    assert!(effects.writes.is_empty());
}

#[test]
fn leader_logs_a_command_durably_replicates_it_and_answers_once_applied_section_5_3() {
    let mut server = leader_with_committed_noop();
    let effects = deliver(&mut server, 0, CLIENT, request(1, append(10)));
    assert_eq!(effects.writes, vec![RaftRecord::Entries { from: 2, entries: vec![command_entry(1, 1, 10)] }]);
    assert_eq!(effects.synced, Some(1));
    let expected: Vec<_> =
        (1..SERVERS).map(|peer| (peer, append_entries(1, 1, 1, vec![command_entry(1, 1, 10)], 1))).collect();
    assert_eq!(effects.sends, expected);

    assert!(deliver(&mut server, 0, 1, accepted(1, 2, 0)).sends.is_empty());
    let effects = deliver(&mut server, 0, 2, accepted(1, 2, 0));
    assert_eq!(effects.sends, vec![(CLIENT, client_reply(1, done()))]);
    assert_eq!(
        effects.observations,
        vec![
            RaftObservation::Committed { index: 2, term: 1, leader_term: 1 },
            RaftObservation::Applied { index: 2, term: 1, payload: command_entry(1, 1, 10).payload },
        ]
    );
    assert_eq!(server.store().read(1), vec![10]);
}

#[test]
fn leader_answers_a_retry_of_an_applied_command_from_its_session_thesis_6_3() {
    let mut server = leader_with_committed_noop();
    deliver(&mut server, 0, CLIENT, request(1, append(10)));
    deliver(&mut server, 0, 1, accepted(1, 2, 0));
    deliver(&mut server, 0, 2, accepted(1, 2, 0));
    let effects = deliver(&mut server, 0, CLIENT, request(1, append(10)));
    assert_eq!(effects.sends, vec![(CLIENT, client_reply(1, done()))]);
    assert!(effects.writes.is_empty());
    assert_eq!(server.log().last_index(), 2, "not appended again");
}

#[test]
fn leader_waits_for_a_retried_command_already_in_its_log_thesis_6_3() {
    let mut server = leader_with_committed_noop();
    deliver(&mut server, 0, CLIENT, request(1, append(10)));
    let effects = deliver(&mut server, 0, CLIENT, request(1, append(10)));
    assert!(effects.sends.is_empty() && effects.writes.is_empty());
    assert_eq!(server.log().last_index(), 2);
    deliver(&mut server, 0, 1, accepted(1, 2, 0));
    let effects = deliver(&mut server, 0, 2, accepted(1, 2, 0));
    assert_eq!(effects.sends, vec![(CLIENT, client_reply(1, done()))], "answered once");
}

#[test]
fn leader_ignores_a_command_older_than_the_clients_latest_thesis_6_3() {
    let mut server = leader_with_committed_noop();
    deliver(&mut server, 0, CLIENT, request(2, append(20)));
    deliver(&mut server, 0, 1, accepted(1, 2, 0));
    deliver(&mut server, 0, 2, accepted(1, 2, 0));
    let effects = deliver(&mut server, 0, CLIENT, request(1, append(10)));
    assert!(effects.sends.is_empty() && effects.writes.is_empty());
}

#[test]
fn read_index_read_waits_for_a_majority_to_acknowledge_a_later_round_thesis_6_4() {
    let mut server = leader_with_committed_noop();
    let effects = deliver(&mut server, 0, CLIENT, read(1));
    let mut heartbeat = append_entries(1, 1, 1, vec![], 1);
    if let RaftMessage::AppendEntries(request) = &mut heartbeat {
        request.round = 1;
    }
    let expected: Vec<_> = (1..SERVERS).map(|peer| (peer, heartbeat.clone())).collect();
    assert_eq!(effects.sends, expected, "a read starts a round and logs nothing");
    assert!(effects.writes.is_empty());
    for earlier_round in [3, 4] {
        let effects = deliver(&mut server, 0, earlier_round, heartbeat_ack(1, 1, 0));
        assert!(effects.sends.is_empty(), "acknowledgements of a round before the read do not count");
    }
    assert!(deliver(&mut server, 0, 1, heartbeat_ack(1, 1, 1)).sends.is_empty());
    let effects = deliver(&mut server, 0, 2, heartbeat_ack(1, 1, 1));
    assert_eq!(effects.sends, vec![(CLIENT, client_reply(1, Outcome::Ok(Reply::Values(vec![]))))]);
}

#[test]
fn read_index_read_waits_for_the_noop_of_the_leaders_term_thesis_6_4() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    elect(&mut server);
    deliver(&mut server, 0, CLIENT, read(1));
    assert!(deliver(&mut server, 0, 1, accepted(1, 1, 1)).sends.is_empty());
    let effects = deliver(&mut server, 0, 2, accepted(1, 1, 1));
    assert_eq!(effects.sends, vec![(CLIENT, client_reply(1, Outcome::Ok(Reply::Values(vec![]))))]);
    assert_eq!(effects.observations.len(), 2, "answered in the input that committed and applied the no-op");
}

#[test]
fn commit_old_term_read_waits_for_the_first_entry_of_the_leaders_term_thesis_6_4() {
    let mut server = recovered(COMMIT_OLD_TERM, 0, 1, None, log_of(&[1]));
    elect(&mut server);
    deliver(&mut server, 0, 1, heartbeat_ack(2, 1, 0));
    deliver(&mut server, 0, 2, heartbeat_ack(2, 1, 0));
    assert_eq!(server.commit_index(), 1, "committed by counting");
    deliver(&mut server, 0, CLIENT, read(1));
    deliver(&mut server, 0, 1, heartbeat_ack(2, 1, 1));
    let effects = deliver(&mut server, 0, 2, heartbeat_ack(2, 1, 1));
    assert!(effects.sends.is_empty(), "leadership confirmed, but no entry of term 2 is committed");
    server.invariants();

    let writer = CLIENT + 1;
    deliver(&mut server, 0, writer, RaftMessage::ClientRequest(command(writer, 1, append(10))));
    assert_eq!(server.log().entry(2).map(|entry| entry.term), Some(2), "the term's first entry is a command");
    deliver(&mut server, 0, 1, accepted(2, 2, 1));
    let effects = deliver(&mut server, 0, 2, accepted(2, 2, 1));
    let values = Outcome::Ok(Reply::Values(vec![10]));
    assert_eq!(effects.sends, vec![(writer, client_reply(1, done())), (CLIENT, client_reply(1, values))]);
}

#[test]
fn stale_read_variant_answers_from_the_leaders_store_at_once() {
    let mut server = RaftServer::new(&setup(STALE_READ), 0);
    elect(&mut server);
    let effects = deliver(&mut server, 0, CLIENT, read(1));
    assert_eq!(effects.sends, vec![(CLIENT, client_reply(1, Outcome::Ok(Reply::Values(vec![]))))]);
}

#[test]
fn deposed_leader_redirects_the_clients_it_kept_waiting_thesis_6_2() {
    let mut server = leader_with_committed_noop();
    deliver(&mut server, 0, CLIENT, request(1, append(10)));
    deliver(&mut server, 0, CLIENT + 1, RaftMessage::ClientRequest(command(CLIENT + 1, 1, Operation::Read { key: 1 })));
    let effects = deliver(&mut server, 0, 3, append_entries(2, 2, 1, vec![], 0));
    assert_eq!((server.role(), server.leader()), (Role::Follower, Some(3)));
    assert_eq!(effects.sends[..2], [(CLIENT, not_leader(1, Some(3))), (CLIENT + 1, not_leader(1, Some(3)))]);
    assert_eq!(effects.writes, vec![RaftRecord::Term { current_term: 2, voted_for: None }]);
}
