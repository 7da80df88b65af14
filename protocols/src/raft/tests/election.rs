//! Leader election: section 5.2, the vote restriction of section 5.4.1, and the term rules
//! of section 5.1.

use std::collections::BTreeSet;

use super::*;
use crate::testing::{assert_timer, assert_timers};

fn request_vote(term: Term, last_log_index: Index, last_log_term: Term) -> RaftMessage {
    RaftMessage::RequestVote(RequestVote { term, last_log_index, last_log_term })
}

fn vote(term: Term, granted: bool) -> RaftMessage {
    RaftMessage::RequestVoteResponse(Vote { term, granted })
}

#[test]
fn follower_starts_an_election_after_its_timeout_section_5_2() {
    let mut server = server(CORRECT, 0);
    let effects = server.fire(RaftTimer::Election);
    assert_eq!((server.role(), server.current_term(), server.voted_for()), (Role::Candidate, 1, Some(0)));
    let mut expected = vec![Effect::Write(RaftRecord::Term { current_term: 1, voted_for: Some(0) }), Effect::Sync(1)];
    expected.extend((1..SERVERS).map(|peer| Effect::send_after_sync(peer, request_vote(1, 0, 0))));
    assert_eq!(effects.without_timers(), expected, "term and vote are durable before RequestVote leaves");
    assert_timers(&effects, &[election_timer()]);
}

#[test]
fn election_timeouts_fall_in_one_to_two_timeouts_and_spread_over_that_range_section_5_2() {
    let mut draws = BTreeSet::new();
    for seed in 0..200 {
        let mut server = Harness::<Raft>::boot(&setup(CORRECT), 0, seed);
        let started = server.start();
        assert_timer(&started, &RaftTimer::Election, TIMEOUT..=2 * TIMEOUT);
        let restarted = server.fire(RaftTimer::Election);
        assert_timer(&restarted, &RaftTimer::Election, TIMEOUT..=2 * TIMEOUT);
        draws
            .extend([started.timer(&RaftTimer::Election), restarted.timer(&RaftTimer::Election)].into_iter().flatten());
    }
    assert!(draws.len() > 380, "randomised, not fixed: {} distinct timeouts of 400", draws.len());
    let (first, last) = (draws.first().copied().unwrap_or(0), draws.last().copied().unwrap_or(0));
    assert!(first < TIMEOUT + TIMEOUT / 10 && last > 2 * TIMEOUT - TIMEOUT / 10, "spread: {first}..{last}");
}

#[test]
fn servers_of_one_run_draw_different_election_timeouts_so_one_usually_wins_alone_section_5_2() {
    for seed in 0..20 {
        let timeouts: BTreeSet<Time> = (0..SERVERS)
            .filter_map(|id| Harness::<Raft>::boot(&setup(CORRECT), id, seed).start().timer(&RaftTimer::Election))
            .collect();
        assert_eq!(timeouts.len(), SERVERS as usize, "seed {seed}: every server drew its own timeout");
    }
}

#[test]
fn vote_is_persisted_before_it_is_granted_and_granted_once_per_term_section_5_2() {
    let mut server = server(CORRECT, 0);
    let effects = server.deliver(1, request_vote(1, 0, 0));
    assert_eq!(
        effects.without_timers(),
        [
            Effect::Write(RaftRecord::Term { current_term: 1, voted_for: Some(1) }),
            Effect::Sync(1),
            Effect::send_after_sync(1, vote(1, true)),
        ],
        "the vote leaves only once it is durable"
    );
    assert_timers(&effects, &[election_timer()]);

    let effects = server.deliver(2, request_vote(1, 0, 0));
    assert_eq!(effects.list, [Effect::send_after_sync(2, vote(1, false))], "nothing written, no timer reset");

    let effects = server.deliver(1, request_vote(1, 0, 0));
    assert_eq!(effects.sent(), vec![(1, vote(1, true))], "a repeated request gets the same vote");
    assert!(effects.written().is_empty(), "nothing new to persist");
}

/// Server 0 with term 2 and a log whose last entry is of term 2 at index 2, asked by
/// server 1 for its vote in term 3.
fn vote_on(variant: &'static str, last_log_index: Index, last_log_term: Term) -> (Harness<Raft>, Effects<Raft>) {
    let mut server = recovered(variant, 0, 2, None, log_of(&[1, 2]));
    let effects = server.deliver(1, request_vote(3, last_log_index, last_log_term));
    (server, effects)
}

#[test]
fn vote_refused_to_a_candidate_whose_log_is_less_up_to_date_section_5_4_1() {
    for (last_log_index, last_log_term) in [(5, 1), (1, 2)] {
        let (server, effects) = vote_on(CORRECT, last_log_index, last_log_term);
        assert_eq!(effects.sent(), vec![(1, vote(3, false))], "candidate log ({last_log_index}, {last_log_term})");
        assert_eq!(effects.written(), vec![RaftRecord::Term { current_term: 3, voted_for: None }]);
        assert_eq!(server.voted_for(), None);
    }
}

#[test]
fn vote_granted_to_a_later_last_term_or_an_equal_term_and_longer_log_section_5_4_1() {
    for (last_log_index, last_log_term) in [(1, 3), (2, 2), (3, 2)] {
        let (server, effects) = vote_on(CORRECT, last_log_index, last_log_term);
        assert_eq!(effects.sent(), vec![(1, vote(3, true))], "candidate log ({last_log_index}, {last_log_term})");
        assert_eq!(effects.written(), vec![RaftRecord::Term { current_term: 3, voted_for: Some(1) }]);
        assert_eq!(server.voted_for(), Some(1));
    }
}

#[test]
fn vote_without_log_check_variant_votes_for_a_stale_log() {
    let (_, effects) = vote_on(VOTE_WITHOUT_LOG_CHECK, 5, 1);
    assert_eq!(effects.sent(), vec![(1, vote(3, true))]);
}

#[test]
fn vote_request_of_an_earlier_term_is_refused_with_the_current_term_section_5_1() {
    let mut server = recovered(CORRECT, 0, 4, None, vec![]);
    let effects = server.deliver(1, request_vote(3, 9, 3));
    assert_eq!(effects.list, [Effect::send_after_sync(1, vote(4, false))], "nothing written, no timer reset");
}

#[test]
fn candidate_steps_down_on_higher_term_section_5_1() {
    let mut server = server(CORRECT, 0);
    server.fire(RaftTimer::Election);
    let effects = server.deliver(1, vote(2, false));
    assert_eq!((server.role(), server.current_term(), server.voted_for()), (Role::Follower, 2, None));
    assert_eq!(
        effects.list,
        [Effect::Write(RaftRecord::Term { current_term: 2, voted_for: None }), Effect::Sync(2)],
        "nothing sent, and its election timer keeps running"
    );
}

#[test]
fn candidate_becomes_follower_of_a_leader_of_its_own_term_section_5_2() {
    let mut server = server(CORRECT, 0);
    server.fire(RaftTimer::Election);
    let effects = server.deliver(3, append_entries(1, 0, 0, vec![], 0));
    assert_eq!((server.role(), server.leader(), server.current_term()), (Role::Follower, Some(3), 1));
    assert!(effects.written().is_empty(), "same term, same vote");
    assert_eq!(
        effects.sent(),
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
    let mut server = server(CORRECT, 0);
    server.fire(RaftTimer::Election);
    server.fire(RaftTimer::Election);
    assert_eq!(server.current_term(), 2, "a split vote leads to a new election in the next term");
    for voter in [1, 2, 3] {
        assert!(server.deliver(voter, vote(1, true)).sent().is_empty());
    }
    assert_eq!(server.role(), Role::Candidate);
}

#[test]
fn candidate_with_a_majority_leads_appends_a_noop_and_replicates_it_section_5_2_and_8() {
    let mut server = server(CORRECT, 0);
    server.fire(RaftTimer::Election);
    let effects = server.deliver(1, vote(1, true));
    assert!(effects.sent().is_empty() && effects.observed().is_empty(), "2 votes of 5 are not a majority");
    let effects = server.deliver(2, vote(1, true));
    assert_eq!(server.role(), Role::Leader);
    let mut expected = vec![
        Effect::Observe(RaftObservation::LeaderElected { term: 1 }),
        Effect::Write(RaftRecord::Entries { from: 1, entries: vec![noop(1)] }),
        Effect::Sync(2),
    ];
    let replicate = |peer| Effect::send(peer, append_entries(1, 0, 0, vec![noop(1)], 0));
    expected.extend((1..SERVERS).map(replicate));
    // The leader writes its no-op and replicates it in parallel (thesis 10.2.1); it counts
    // itself for it only once its own sync finishes.
    assert_eq!(effects.without_timers(), expected);
    assert_timers(&effects, &[TimerChange::Cancel(RaftTimer::Election), heartbeat_timer()]);
}

#[test]
fn commit_old_term_leader_appends_no_noop_and_probes_with_a_heartbeat_figure_8() {
    let mut server = recovered(COMMIT_OLD_TERM, 0, 1, None, log_of(&[1]));
    let effects = elect(&mut server);
    server.invariants();
    assert_eq!(effects.observed(), vec![RaftObservation::LeaderElected { term: 2 }]);
    assert!(effects.written().is_empty() && effects.syncs().is_empty(), "no entry to persist");
    let expected: Vec<_> = (1..SERVERS).map(|peer| (peer, append_entries(2, 1, 1, vec![], 0))).collect();
    assert_eq!(effects.sent(), expected);
    assert_eq!(server.log().entries(), log_of(&[1]).as_slice());
}

#[test]
#[should_panic(expected = "server 0: lost its no-op")]
fn leader_invariants_catch_a_correct_leader_without_its_noop_section_8() {
    let mut server = server(CORRECT, 0);
    elect(&mut server);
    server.log.replace_from(1, &[]);
    server.invariants();
}

#[test]
fn leader_ignores_a_stale_election_timer_section_5_2() {
    let mut server = server(CORRECT, 0);
    elect(&mut server);
    let effects = server.fire(RaftTimer::Election);
    assert!(effects.list.is_empty());
    assert_eq!((server.role(), server.current_term()), (Role::Leader, 1));
}

#[test]
fn single_server_elects_itself_and_commits_its_noop_once_it_is_durable_section_5_2() {
    let setup = Setup { servers: 1, ..setup(CORRECT) };
    let mut server = Harness::<Raft>::boot(&setup, 0, SEED);
    let effects = server.fire(RaftTimer::Election);
    assert_eq!(server.role(), Role::Leader);
    assert!(effects.sent().is_empty());
    assert_eq!(effects.observed(), [RaftObservation::LeaderElected { term: 1 }]);
    assert_eq!(effects.syncs(), [1, 2], "its term and vote, then its no-op");
    assert!(server.synced(1).observed().is_empty(), "the no-op is not durable yet");
    assert_eq!(
        server.synced(2).observed(),
        [
            RaftObservation::Committed { index: 1, term: 1, leader_term: 1 },
            RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
        ],
        "a majority of one: its own disk"
    );
}
