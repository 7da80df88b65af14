//! Log replication and commitment: the consistency check and conflict truncation of
//! section 5.3 and the commit rule of section 5.4.2.

use super::*;
use crate::testing::assert_timers;

fn response(term: Term, success: bool, match_index: Index, heartbeat: bool) -> RaftMessage {
    RaftMessage::AppendEntriesResponse(AppendEntriesResponse { term, success, match_index, round: 0, heartbeat })
}

#[test]
fn follower_appends_entries_and_persists_them_before_acknowledging_section_5_3() {
    let mut server = server(CORRECT, 1);
    let entries = vec![noop(1), command_entry(1, 1, 10)];
    let effects = server.deliver(0, append_entries(1, 0, 0, entries.clone(), 0));
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(RaftRecord::Term { current_term: 1, voted_for: None }),
            Effect::Sync(1),
            Effect::Write(RaftRecord::Entries { from: 1, entries: entries.clone() }),
            Effect::Sync(2),
            Effect::send_after_sync(0, response(1, true, 2, false)),
        ],
        "the acknowledgement leaves only once both are durable"
    );
    assert_timers(&effects, &[election_timer()]);
    assert_eq!(server.log().entries(), entries.as_slice());
    assert_eq!(server.leader(), Some(0));
}

#[test]
fn follower_refuses_entries_when_its_log_lacks_the_previous_entry_section_5_3() {
    let mut server = recovered(CORRECT, 1, 1, None, log_of(&[1]));
    let effects = server.deliver(0, append_entries(1, 3, 1, vec![noop(1)], 0));
    assert_eq!(effects.sent(), vec![(0, response(1, false, 1, false))], "hint: its last index");
    assert!(effects.written().is_empty() && effects.syncs().is_empty());
    assert_eq!(server.log().last_index(), 1);
}

#[test]
fn follower_refuses_a_previous_entry_of_another_term_and_hints_before_that_term_section_5_3() {
    let mut server = recovered(CORRECT, 1, 2, None, log_of(&[1, 2, 2]));
    let effects = server.deliver(0, append_entries(3, 3, 3, vec![noop(3)], 0));
    assert_eq!(effects.written(), vec![RaftRecord::Term { current_term: 3, voted_for: None }]);
    assert_eq!(effects.sent(), vec![(0, response(3, false, 1, false))], "skips the whole term-2 run");
    assert_eq!(server.log().entries(), log_of(&[1, 2, 2]).as_slice());
}

#[test]
fn follower_deletes_a_conflicting_suffix_and_appends_the_leaders_entries_section_5_3() {
    let mut server = recovered(CORRECT, 1, 2, None, log_of(&[1, 1, 2, 2]));
    let effects = server.deliver(0, append_entries(3, 2, 1, vec![noop(3)], 0));
    assert_eq!(server.log().entries(), log_of(&[1, 1, 3]).as_slice());
    assert_eq!(server.log().truncations(), 1);
    assert_eq!(
        effects.written(),
        vec![
            RaftRecord::Term { current_term: 3, voted_for: None },
            RaftRecord::Entries { from: 3, entries: vec![noop(3)] },
        ]
    );
    assert_eq!(effects.syncs(), [1, 2], "term, then entries, both before the answer");
    assert_eq!(effects.sent(), vec![(0, response(3, true, 3, false))]);
}

#[test]
fn follower_keeps_its_matching_suffix_on_a_late_append_entries_section_5_3() {
    let mut server = recovered(CORRECT, 1, 1, None, log_of(&[1, 1, 1]));
    let effects = server.deliver(0, append_entries(1, 0, 0, vec![noop(1)], 0));
    assert_eq!(server.log().last_index(), 3, "entries after the matching ones are kept");
    assert_eq!(server.log().truncations(), 0);
    assert!(effects.written().is_empty() && effects.syncs().is_empty());
    assert_eq!(effects.sent(), vec![(0, response(1, true, 1, false))]);
}

#[test]
fn follower_refuses_a_deposed_leader_and_keeps_its_timer_section_5_1() {
    let mut server = recovered(CORRECT, 1, 2, None, vec![]);
    let effects = server.deliver(0, append_entries(1, 0, 0, vec![noop(1)], 0));
    assert_eq!(effects.list, [Effect::send_after_sync(0, response(2, false, 0, false))], "no write, no timer reset");
    assert_eq!((server.leader(), server.log().last_index()), (None, 0));
}

#[test]
fn refusal_of_an_earlier_terms_request_acknowledges_no_read_round_section_5_1_thesis_6_4() {
    let mut server = recovered(CORRECT, 1, 3, None, log_of(&[1, 2]));
    let request =
        AppendEntries { term: 2, prev_log_index: 2, prev_log_term: 2, entries: vec![], leader_commit: 0, round: 9 };
    let effects = server.deliver(0, RaftMessage::AppendEntries(request));
    let refusal = AppendEntriesResponse { term: 3, success: false, match_index: 2, round: 0, heartbeat: true };
    assert_eq!(
        effects.sent(),
        vec![(0, RaftMessage::AppendEntriesResponse(refusal))],
        "server 0 may lead term 3 by now: round 9 of term 2 must not count as one of its rounds"
    );
}

#[test]
fn follower_commits_up_to_leader_commit_but_not_past_the_last_new_entry_section_5_3() {
    let mut server = recovered(CORRECT, 1, 1, None, log_of(&[1, 1, 1, 1]));
    let effects = server.deliver(0, append_entries(1, 1, 1, vec![noop(1)], 4));
    assert_eq!((server.commit_index(), server.last_applied()), (2, 2));
    assert_eq!(
        effects.observed(),
        vec![
            RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
            RaftObservation::Applied { index: 2, term: 1, payload: Payload::Noop },
        ]
    );
    let effects = server.deliver(0, append_entries(1, 4, 1, vec![], 4));
    assert_eq!(server.commit_index(), 4, "a heartbeat carries the commit index");
    assert_eq!(effects.sent(), vec![(0, response(1, true, 4, true))]);
}

#[test]
fn leader_commits_an_entry_of_its_term_stored_on_a_majority_section_5_4_2() {
    let mut server = server(CORRECT, 0);
    elect(&mut server);
    assert!(server.sync_all().observed().is_empty(), "its own durable copy is 1 of 5");
    let effects = server.deliver(1, accepted(1, 1, 0));
    assert!(effects.observed().is_empty(), "2 copies of 5 are not a majority");
    let effects = server.deliver(2, accepted(1, 1, 0));
    assert_eq!(
        effects.observed(),
        vec![
            RaftObservation::Committed { index: 1, term: 1, leader_term: 1 },
            RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
        ]
    );
    assert_eq!(server.commit_index(), 1);
    assert!(effects.sent().is_empty(), "the commit index waits for the next message");
}

/// Server 0, with entries of terms 1 and 2, becomes leader of term 4 (its syncs finish),
/// and servers 1 and 2 report that they store index 2: a majority, counting itself.
fn old_term_entry_on_a_majority(variant: &'static str) -> (Harness<Raft>, Effects<Raft>) {
    let mut server = recovered(variant, 0, 3, None, log_of(&[1, 2]));
    elect(&mut server);
    server.sync_all();
    assert_eq!(server.current_term(), 4);
    server.deliver(1, accepted(4, 2, 0));
    let effects = server.deliver(2, accepted(4, 2, 0));
    (server, effects)
}

#[test]
fn leader_never_commits_an_earlier_terms_entry_by_counting_replicas_section_5_4_2() {
    let (mut server, effects) = old_term_entry_on_a_majority(CORRECT);
    assert_eq!(server.log().last_index(), 3, "the no-op of term 4");
    assert!(effects.observed().is_empty());
    assert_eq!(server.commit_index(), 0);
    server.deliver(1, accepted(4, 3, 0));
    let effects = server.deliver(2, accepted(4, 3, 0));
    let committed: Vec<_> = (1..=3)
        .map(|index| RaftObservation::Committed { index, term: [1, 2, 4][index as usize - 1], leader_term: 4 })
        .collect();
    assert_eq!(effects.observed()[..3], committed, "the term-4 entry commits the earlier ones");
    assert_eq!(server.commit_index(), 3);
}

#[test]
fn commit_old_term_variant_commits_an_earlier_terms_entry_figure_8() {
    let (server, effects) = old_term_entry_on_a_majority(COMMIT_OLD_TERM);
    assert_eq!(server.log().last_index(), 2, "no no-op: the entry of term 2 is the last one");
    assert_eq!(
        effects.observed(),
        [
            RaftObservation::Committed { index: 1, term: 1, leader_term: 4 },
            RaftObservation::Committed { index: 2, term: 2, leader_term: 4 },
            RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
            RaftObservation::Applied { index: 2, term: 2, payload: Payload::Noop },
        ]
    );
    assert_eq!(server.commit_index(), 2);
}

#[test]
fn leader_backs_up_next_index_after_a_refusal_and_resends_section_5_3() {
    let mut server = recovered(CORRECT, 0, 1, None, log_of(&[1, 1, 1]));
    let effects = elect(&mut server);
    assert_eq!(effects.sent_to(1), vec![append_entries(2, 3, 1, vec![noop(2)], 0)]);
    let effects = server.deliver(1, refused(2, 1));
    let entries = vec![noop(1), noop(1), noop(2)];
    assert_eq!(effects.sent(), vec![(1, append_entries(2, 1, 1, entries, 0))]);
    let effects = server.deliver(1, refused(2, 4));
    assert!(effects.sent().is_empty(), "a refusal that moves nothing back resends nothing");
}

#[test]
fn leader_sends_at_most_the_message_limit_and_continues_on_acknowledgement() {
    let mut server = recovered(CORRECT, 0, 1, None, log_of(&[1; 40]));
    elect(&mut server);
    let effects = server.deliver(1, refused(2, 0));
    let sent = effects.sent();
    let [(1, RaftMessage::AppendEntries(first))] = sent.as_slice() else { panic!("{effects:?}") };
    assert_eq!((first.prev_log_index, first.entries.len()), (0, ENTRIES_PER_MESSAGE_MAX));
    let effects = server.deliver(1, accepted(2, 32, 0));
    let sent = effects.sent();
    let [(1, RaftMessage::AppendEntries(rest))] = sent.as_slice() else { panic!("{effects:?}") };
    assert_eq!((rest.prev_log_index, rest.entries.len()), (32, 9));
}

#[test]
fn leader_steps_down_when_a_response_carries_a_higher_term_section_5_1() {
    let mut server = server(CORRECT, 0);
    elect(&mut server);
    let effects = server.deliver(1, refused(5, 0));
    assert_eq!((server.role(), server.current_term(), server.leader()), (Role::Follower, 5, None));
    assert_eq!(effects.written(), vec![RaftRecord::Term { current_term: 5, voted_for: None }]);
    assert_timers(&effects, &[TimerChange::Cancel(RaftTimer::Heartbeat), election_timer()]);
}

#[test]
fn leader_sends_heartbeats_that_carry_the_commit_index_section_5_2() {
    let mut server = server(CORRECT, 0);
    elect(&mut server);
    server.sync_all();
    server.deliver(1, accepted(1, 1, 0));
    server.deliver(2, accepted(1, 1, 0));
    assert_eq!(server.commit_index(), 1);
    let effects = server.fire(RaftTimer::Heartbeat);
    let expected: Vec<_> = (1..SERVERS).map(|peer| (peer, append_entries(1, 1, 1, vec![], 1))).collect();
    assert_eq!(effects.sent(), expected);
    assert_timers(&effects, &[heartbeat_timer()]);
}

#[test]
fn message_kinds_count_heartbeats_apart_from_entries() {
    use crate::node::Message as _;
    assert_eq!(append_entries(1, 0, 0, vec![], 0).kind(), "Heartbeat");
    assert_eq!(append_entries(1, 0, 0, vec![noop(1)], 0).kind(), "AppendEntries");
    assert_eq!(response(1, true, 0, true).kind(), "HeartbeatResponse");
    assert_eq!(response(1, true, 1, false).kind(), "AppendEntriesResponse");
    let vote: RaftMessage = RaftMessage::RequestVoteResponse(Vote { term: 1, granted: true });
    assert_eq!(vote.kind(), "RequestVoteResponse");
}

#[test]
fn quorum_value_is_the_majority_th_largest() {
    use super::super::replication::quorum_value;
    assert_eq!(quorum_value([5, 5, 3, 1, 0].into_iter(), 3), 3);
    assert_eq!(quorum_value([0, 7, 2, 7, 7].into_iter(), 3), 7);
    assert_eq!(quorum_value([4, 9, 1].into_iter(), 2), 4);
    assert_eq!(quorum_value([4].into_iter(), 2), 0, "fewer values than a majority");
    assert_eq!(quorum_value((1..=20).rev(), 11), 10, "more values than fit on the stack: sorted");
}
