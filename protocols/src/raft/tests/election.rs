//! Leader election: section 5.2, the vote restriction of section 5.4.1, and the term rules
//! of section 5.1.

use super::*;

fn request_vote(term: Term, last_log_index: Index, last_log_term: Term) -> RaftMessage {
    RaftMessage::RequestVote(RequestVote { term, last_log_index, last_log_term })
}

fn vote(term: Term, granted: bool) -> RaftMessage {
    RaftMessage::RequestVoteResponse(Vote { term, granted })
}

#[test]
fn follower_starts_an_election_after_its_timeout_section_5_2() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    let effects = fire(&mut server, 0, RaftTimer::Election);
    assert_eq!((server.role(), server.current_term(), server.voted_for()), (Role::Candidate, 1, Some(0)));
    assert_eq!(effects.writes, vec![RaftRecord::Term { current_term: 1, voted_for: Some(0) }]);
    assert_eq!(effects.synced, Some(1));
    assert_eq!(effects.timers, vec![set_election_timer()]);
    let expected: Vec<_> = (1..SERVERS).map(|peer| (peer, request_vote(1, 0, 0))).collect();
    assert_eq!(effects.sends, expected);
    assert!(effects.observations.is_empty() && effects.outcomes.is_empty());
}

#[test]
fn election_timeout_is_uniform_between_one_and_two_timeouts_section_5_2() {
    assert!((TIMEOUT..=2 * TIMEOUT).contains(&election_after()));
    let draws: std::collections::BTreeSet<Time> =
        (0..20).map(|seed| ChaCha8Rng::seed_from_u64(seed).gen_range(TIMEOUT..=2 * TIMEOUT)).collect();
    assert!(draws.len() > 10, "timeouts are randomised: {draws:?}");
}

#[test]
fn vote_is_persisted_before_it_is_granted_and_granted_once_per_term_section_5_2() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    let effects = deliver(&mut server, 0, 1, request_vote(1, 0, 0));
    assert_eq!(effects.writes, vec![RaftRecord::Term { current_term: 1, voted_for: Some(1) }]);
    assert_eq!(effects.synced, Some(1), "synced in the same input that sends the vote");
    assert_eq!(effects.sends, vec![(1, vote(1, true))]);
    assert_eq!(effects.timers, vec![set_election_timer()]);

    let effects = deliver(&mut server, 0, 2, request_vote(1, 0, 0));
    assert_eq!(effects.sends, vec![(2, vote(1, false))]);
    assert!(effects.writes.is_empty() && effects.synced.is_none() && effects.timers.is_empty());

    let effects = deliver(&mut server, 0, 1, request_vote(1, 0, 0));
    assert_eq!(effects.sends, vec![(1, vote(1, true))], "a repeated request gets the same vote");
    assert!(effects.writes.is_empty(), "nothing new to persist");
}

/// Server 0 with term 2 and a log whose last entry is of term 2 at index 2, asked by
/// server 1 for its vote in term 3.
fn vote_on(variant: &'static str, last_log_index: Index, last_log_term: Term) -> (RaftServer, Effects<Raft>) {
    let mut server = recovered(variant, 0, 2, None, log_of(&[1, 2]));
    let effects = deliver(&mut server, 0, 1, request_vote(3, last_log_index, last_log_term));
    (server, effects)
}

#[test]
fn vote_refused_to_a_candidate_whose_log_is_less_up_to_date_section_5_4_1() {
    for (last_log_index, last_log_term) in [(5, 1), (1, 2)] {
        let (server, effects) = vote_on(CORRECT, last_log_index, last_log_term);
        assert_eq!(effects.sends, vec![(1, vote(3, false))], "candidate log ({last_log_index}, {last_log_term})");
        assert_eq!(effects.writes, vec![RaftRecord::Term { current_term: 3, voted_for: None }]);
        assert_eq!(server.voted_for(), None);
    }
}

#[test]
fn vote_granted_to_a_later_last_term_or_an_equal_term_and_longer_log_section_5_4_1() {
    for (last_log_index, last_log_term) in [(1, 3), (2, 2), (3, 2)] {
        let (server, effects) = vote_on(CORRECT, last_log_index, last_log_term);
        assert_eq!(effects.sends, vec![(1, vote(3, true))], "candidate log ({last_log_index}, {last_log_term})");
        assert_eq!(effects.writes, vec![RaftRecord::Term { current_term: 3, voted_for: Some(1) }]);
        assert_eq!(server.voted_for(), Some(1));
    }
}

#[test]
fn vote_without_log_check_variant_votes_for_a_stale_log() {
    let (_, effects) = vote_on(VOTE_WITHOUT_LOG_CHECK, 5, 1);
    assert_eq!(effects.sends, vec![(1, vote(3, true))]);
}

#[test]
fn vote_request_of_an_earlier_term_is_refused_with_the_current_term_section_5_1() {
    let mut server = recovered(CORRECT, 0, 4, None, vec![]);
    let effects = deliver(&mut server, 0, 1, request_vote(3, 9, 3));
    assert_eq!(effects.sends, vec![(1, vote(4, false))]);
    assert!(effects.writes.is_empty() && effects.timers.is_empty());
}

#[test]
fn candidate_steps_down_on_higher_term_section_5_1() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    fire(&mut server, 0, RaftTimer::Election);
    let effects = deliver(&mut server, 0, 1, vote(2, false));
    assert_eq!((server.role(), server.current_term(), server.voted_for()), (Role::Follower, 2, None));
    assert_eq!(effects.writes, vec![RaftRecord::Term { current_term: 2, voted_for: None }]);
    assert_eq!(effects.synced, Some(1));
    assert!(effects.sends.is_empty() && effects.timers.is_empty(), "its election timer keeps running");
}

#[test]
fn candidate_becomes_follower_of_a_leader_of_its_own_term_section_5_2() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    fire(&mut server, 0, RaftTimer::Election);
    let effects = deliver(&mut server, 0, 3, append_entries(1, 0, 0, vec![], 0));
    assert_eq!((server.role(), server.leader(), server.current_term()), (Role::Follower, Some(3), 1));
    assert!(effects.writes.is_empty(), "same term, same vote");
    assert_eq!(
        effects.sends,
        vec![(
            3,
            RaftMessage::AppendEntriesResponse(AppendEntriesResponse {
                term: 1,
                success: true,
                match_index: 0,
                round: 0,
                heartbeat: true,
            })
        )]
    );
}

#[test]
fn candidate_ignores_votes_of_earlier_terms_section_5_2() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    fire(&mut server, 0, RaftTimer::Election);
    fire(&mut server, 0, RaftTimer::Election);
    assert_eq!(server.current_term(), 2, "a split vote leads to a new election in the next term");
    for voter in [1, 2, 3] {
        assert!(deliver(&mut server, 0, voter, vote(1, true)).sends.is_empty());
    }
    assert_eq!(server.role(), Role::Candidate);
}

#[test]
fn candidate_with_a_majority_leads_appends_a_noop_and_replicates_it_section_5_2_and_8() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    fire(&mut server, 0, RaftTimer::Election);
    let effects = deliver(&mut server, 0, 1, vote(1, true));
    assert!(effects.sends.is_empty() && effects.observations.is_empty(), "2 votes of 5 are not a majority");
    let effects = deliver(&mut server, 0, 2, vote(1, true));
    assert_eq!(server.role(), Role::Leader);
    assert_eq!(effects.observations, vec![RaftObservation::LeaderElected { term: 1 }]);
    assert_eq!(effects.writes, vec![RaftRecord::Entries { from: 1, entries: vec![noop(1)] }]);
    assert_eq!(effects.synced, Some(1));
    let expected: Vec<_> = (1..SERVERS).map(|peer| (peer, append_entries(1, 0, 0, vec![noop(1)], 0))).collect();
    assert_eq!(effects.sends, expected);
    assert_eq!(
        effects.timers,
        vec![
            TimerCommand::Cancel { timer: RaftTimer::Election },
            TimerCommand::Set { after: TIMEOUT / 3, timer: RaftTimer::Heartbeat },
        ]
    );
}

#[test]
fn commit_old_term_leader_appends_no_noop_and_probes_with_a_heartbeat_figure_8() {
    let mut server = recovered(COMMIT_OLD_TERM, 0, 1, None, log_of(&[1]));
    let effects = elect(&mut server);
    server.invariants();
    assert_eq!(effects.observations, vec![RaftObservation::LeaderElected { term: 2 }]);
    assert!(effects.writes.is_empty() && effects.synced.is_none(), "no entry to persist");
    let expected: Vec<_> = (1..SERVERS).map(|peer| (peer, append_entries(2, 1, 1, vec![], 0))).collect();
    assert_eq!(effects.sends, expected);
    assert_eq!(server.log().entries(), log_of(&[1]).as_slice());
}

#[test]
#[should_panic(expected = "server 0: lost its no-op")]
fn leader_invariants_catch_a_correct_leader_without_its_noop_section_8() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    elect(&mut server);
    server.log.replace_from(1, &[]);
    server.invariants();
}

#[test]
fn leader_ignores_a_stale_election_timer_section_5_2() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    elect(&mut server);
    let effects = fire(&mut server, 0, RaftTimer::Election);
    assert!(effects.sends.is_empty() && effects.writes.is_empty() && effects.timers.is_empty());
    assert_eq!((server.role(), server.current_term()), (Role::Leader, 1));
}

#[test]
fn single_server_elects_itself_and_commits_its_noop_section_5_2() {
    let setup = Setup { servers: 1, ..setup(CORRECT) };
    let mut server = RaftServer::new(&setup, 0);
    let effects = fire(&mut server, 0, RaftTimer::Election);
    assert_eq!(server.role(), Role::Leader);
    assert!(effects.sends.is_empty());
    assert_eq!(
        effects.observations,
        vec![
            RaftObservation::LeaderElected { term: 1 },
            RaftObservation::Committed { index: 1, term: 1, leader_term: 1 },
            RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
        ]
    );
}
