//! Client requests at the servers (thesis chapter 6): redirects (6.2), commands applied
//! once (6.3) and ReadIndex reads (6.4).

use super::*;

fn request(sequence: u64, operation: KvOperation) -> RaftMessage {
    RaftMessage::ClientRequest(command(CLIENT, sequence, operation))
}

fn read(sequence: u64) -> RaftMessage {
    request(sequence, KvOperation::Read { key: 1 })
}

fn heartbeat_ack(term: Term, match_index: Index, round: u64) -> RaftMessage {
    let response = AppendEntriesResponse { term, success: true, match_index, round, heartbeat: true };
    RaftMessage::AppendEntriesResponse(response)
}

/// Server 0 leads term 1 (its no-op durable, after syncs 1 and 2), and servers 1 and 2
/// acknowledged its no-op.
fn leader_with_committed_noop() -> Harness<Raft> {
    let mut server = server(CORRECT, 0);
    elect(&mut server);
    server.sync_all();
    server.deliver(1, accepted(1, 1, 0));
    server.deliver(2, accepted(1, 1, 0));
    assert_eq!(server.commit_index(), 1);
    server
}

#[test]
fn follower_redirects_a_client_to_the_leader_it_knows_thesis_6_2() {
    let mut server = server(CORRECT, 1);
    let effects = server.deliver(CLIENT, request(1, append(10)));
    assert_eq!(effects.sent(), vec![(CLIENT, not_leader(1, None))]);
    server.deliver(3, append_entries(1, 0, 0, vec![], 0));
    let effects = server.deliver(CLIENT, read(2));
    assert_eq!(effects.sent(), vec![(CLIENT, not_leader(2, Some(3)))]);
    assert!(effects.written().is_empty());
}

#[test]
fn leader_logs_a_command_durably_replicates_it_and_answers_once_applied_section_5_3() {
    let mut server = leader_with_committed_noop();
    let effects = server.deliver(CLIENT, request(1, append(10)));
    let mut expected =
        vec![Effect::Write(RaftRecord::Entries { from: 2, entries: vec![command_entry(1, 1, 10)] }), Effect::Sync(3)];
    let replicate = |peer| Effect::send(peer, append_entries(1, 1, 1, vec![command_entry(1, 1, 10)], 1));
    expected.extend((1..SERVERS).map(replicate));
    assert_eq!(effects.list, expected);

    assert!(server.sync_all().list.is_empty(), "its own durable copy is 1 of 5");
    assert!(server.deliver(1, accepted(1, 2, 0)).sent().is_empty());
    let effects = server.deliver(2, accepted(1, 2, 0));
    assert_eq!(effects.sent(), vec![(CLIENT, client_reply(1, done()))]);
    assert_eq!(
        effects.observed(),
        vec![
            RaftObservation::Committed { index: 2, term: 1, leader_term: 1 },
            RaftObservation::Applied { index: 2, term: 1, payload: command_entry(1, 1, 10).payload },
        ]
    );
    assert_eq!(server.machine().read(1), vec![10]);
}

#[test]
fn leader_answers_a_retry_of_an_applied_command_from_its_session_thesis_6_3() {
    let mut server = leader_with_committed_noop();
    server.deliver(CLIENT, request(1, append(10)));
    server.sync_all();
    server.deliver(1, accepted(1, 2, 0));
    server.deliver(2, accepted(1, 2, 0));
    let effects = server.deliver(CLIENT, request(1, append(10)));
    assert_eq!(effects.sent(), vec![(CLIENT, client_reply(1, done()))]);
    assert!(effects.written().is_empty());
    assert_eq!(server.log().last_index(), 2, "not appended again");
}

#[test]
fn leader_waits_for_a_retried_command_already_in_its_log_thesis_6_3() {
    let mut server = leader_with_committed_noop();
    server.deliver(CLIENT, request(1, append(10)));
    let effects = server.deliver(CLIENT, request(1, append(10)));
    assert!(effects.sent().is_empty() && effects.written().is_empty());
    assert_eq!(server.log().last_index(), 2);
    server.sync_all();
    server.deliver(1, accepted(1, 2, 0));
    let effects = server.deliver(2, accepted(1, 2, 0));
    assert_eq!(effects.sent(), vec![(CLIENT, client_reply(1, done()))], "answered once");
}

#[test]
fn leader_ignores_a_command_older_than_the_clients_latest_thesis_6_3() {
    let mut server = leader_with_committed_noop();
    server.deliver(CLIENT, request(2, append(20)));
    server.sync_all();
    server.deliver(1, accepted(1, 2, 0));
    server.deliver(2, accepted(1, 2, 0));
    let effects = server.deliver(CLIENT, request(1, append(10)));
    assert!(effects.sent().is_empty() && effects.written().is_empty());
}

#[test]
fn read_index_read_waits_for_a_majority_to_acknowledge_a_later_round_thesis_6_4() {
    let mut server = leader_with_committed_noop();
    let effects = server.deliver(CLIENT, read(1));
    let mut heartbeat = append_entries(1, 1, 1, vec![], 1);
    if let RaftMessage::AppendEntries(request) = &mut heartbeat {
        request.round = 1;
    }
    let expected: Vec<_> = (1..SERVERS).map(|peer| (peer, heartbeat.clone())).collect();
    assert_eq!(effects.sent(), expected, "a read starts a round and logs nothing");
    assert!(effects.written().is_empty());
    for earlier_round in [3, 4] {
        let effects = server.deliver(earlier_round, heartbeat_ack(1, 1, 0));
        assert!(effects.sent().is_empty(), "acknowledgements of a round before the read do not count");
    }
    assert!(server.deliver(1, heartbeat_ack(1, 1, 1)).sent().is_empty());
    let effects = server.deliver(2, heartbeat_ack(1, 1, 1));
    assert_eq!(effects.sent(), vec![(CLIENT, client_reply(1, Outcome::Ok(KvReply::Values(vec![]))))]);
}

#[test]
fn read_index_read_waits_for_the_noop_of_the_leaders_term_thesis_6_4() {
    let mut server = server(CORRECT, 0);
    elect(&mut server);
    server.sync_all();
    server.deliver(CLIENT, read(1));
    assert!(server.deliver(1, accepted(1, 1, 1)).sent().is_empty());
    let effects = server.deliver(2, accepted(1, 1, 1));
    assert_eq!(effects.sent(), vec![(CLIENT, client_reply(1, Outcome::Ok(KvReply::Values(vec![]))))]);
    assert_eq!(effects.observed().len(), 2, "answered in the input that committed and applied the no-op");
}

#[test]
fn commit_old_term_read_waits_for_the_first_entry_of_the_leaders_term_thesis_6_4() {
    let mut server = recovered(COMMIT_OLD_TERM, 0, 1, None, log_of(&[1]));
    elect(&mut server);
    server.deliver(1, heartbeat_ack(2, 1, 0));
    server.deliver(2, heartbeat_ack(2, 1, 0));
    assert_eq!(server.commit_index(), 1, "committed by counting");
    server.deliver(CLIENT, read(1));
    server.deliver(1, heartbeat_ack(2, 1, 1));
    let effects = server.deliver(2, heartbeat_ack(2, 1, 1));
    assert!(effects.sent().is_empty(), "leadership confirmed, but no entry of term 2 is committed");
    server.invariants();

    let writer = CLIENT + 1;
    server.deliver(writer, RaftMessage::ClientRequest(command(writer, 1, append(10))));
    assert_eq!(server.log().entry(2).map(|entry| entry.term), Some(2), "the term's first entry is a command");
    server.sync_all();
    server.deliver(1, accepted(2, 2, 1));
    let effects = server.deliver(2, accepted(2, 2, 1));
    let values = Outcome::Ok(KvReply::Values(vec![10]));
    assert_eq!(effects.sent(), vec![(writer, client_reply(1, done())), (CLIENT, client_reply(1, values))]);
}

#[test]
fn stale_read_variant_answers_from_the_leaders_store_at_once() {
    let mut server = server(STALE_READ, 0);
    elect(&mut server);
    let effects = server.deliver(CLIENT, read(1));
    assert_eq!(effects.sent(), vec![(CLIENT, client_reply(1, Outcome::Ok(KvReply::Values(vec![]))))]);
}

#[test]
fn deposed_leader_redirects_the_clients_it_kept_waiting_thesis_6_2() {
    let mut server = leader_with_committed_noop();
    server.deliver(CLIENT, request(1, append(10)));
    server.deliver(CLIENT + 1, RaftMessage::ClientRequest(command(CLIENT + 1, 1, KvOperation::Read { key: 1 })));
    let effects = server.deliver(3, append_entries(2, 2, 1, vec![], 0));
    assert_eq!((server.role(), server.leader()), (Role::Follower, Some(3)));
    assert_eq!(effects.sent()[..2], [(CLIENT, not_leader(1, Some(3))), (CLIENT + 1, not_leader(1, Some(3)))]);
    assert_eq!(effects.written(), vec![RaftRecord::Term { current_term: 2, voted_for: None }]);
}
