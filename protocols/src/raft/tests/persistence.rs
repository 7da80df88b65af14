//! Persistence and recovery (Figure 2, "Persistent state on all servers"): term, vote and
//! log are rebuilt from the synced records alone.

use super::*;

fn request_vote(term: Term) -> RaftMessage {
    RaftMessage::RequestVote(RequestVote { term, last_log_index: 0, last_log_term: 0 })
}

fn vote(term: Term, granted: bool) -> RaftMessage {
    RaftMessage::RequestVoteResponse(Vote { term, granted })
}

#[test]
fn recovery_rebuilds_term_vote_and_log_from_records_figure_2() {
    let records = [
        RaftRecord::Entries { from: 1, entries: log_of(&[1, 1, 1]) },
        RaftRecord::Term { current_term: 2, voted_for: Some(3) },
        RaftRecord::Entries { from: 3, entries: log_of(&[2, 2]) },
    ];
    let server = RaftServer::recover(&setup(CORRECT), 4, &records);
    assert_eq!((server.current_term(), server.voted_for()), (2, Some(3)));
    assert_eq!(server.log().entries(), log_of(&[1, 1, 2, 2]).as_slice());
    assert_eq!(server.log().truncations(), 1);
    assert_eq!((server.role(), server.commit_index(), server.last_applied()), (Role::Follower, 0, 0));
    assert_eq!(server.leader(), None);
}

#[test]
fn recovered_server_starts_its_election_timer() {
    let mut server = recovered(CORRECT, 0, 2, Some(1), log_of(&[1]));
    let effects = step(&mut server, 0, |server, ctx| server.on_recover(ctx));
    assert_eq!(effects.timers, vec![set_election_timer()]);
    assert!(effects.sends.is_empty() && effects.writes.is_empty());
}

/// Server 0 grants its vote in term 1 to server 1, crashes and restarts from what it
/// synced, then hears server 2 ask for its vote in term 1.
fn vote_after_restart(variant: &'static str) -> (Effects<Raft>, Effects<Raft>) {
    let setup = setup(variant);
    let mut server = RaftServer::new(&setup, 0);
    let before = deliver(&mut server, 0, 1, request_vote(1));
    assert_eq!(before.sends, vec![(1, vote(1, true))]);
    let durable = &before.writes[..before.synced.unwrap_or(0)];
    let mut restarted = RaftServer::recover(&setup, 0, durable);
    let after = deliver(&mut restarted, 0, 2, request_vote(1));
    (before, after)
}

#[test]
fn restarted_server_keeps_its_vote_and_refuses_a_second_candidate_figure_2() {
    let (before, after) = vote_after_restart(CORRECT);
    assert_eq!(before.writes, vec![RaftRecord::Term { current_term: 1, voted_for: Some(1) }]);
    assert_eq!(after.sends, vec![(2, vote(1, false))]);
}

#[test]
fn volatile_vote_variant_forgets_its_vote_and_votes_twice_in_a_term() {
    let (before, after) = vote_after_restart(VOLATILE_VOTE);
    assert!(before.writes.is_empty() && before.synced.is_none(), "the vote is never persisted");
    assert_eq!(after.sends, vec![(2, vote(1, true))]);
}

#[test]
fn volatile_vote_variant_recovers_the_term_of_its_last_entry() {
    let records = [RaftRecord::Entries { from: 1, entries: log_of(&[1, 3]) }];
    let server = RaftServer::recover(&setup(VOLATILE_VOTE), 0, &records);
    assert_eq!((server.current_term(), server.voted_for()), (3, None));
}

#[test]
fn leader_persists_its_noop_before_replicating_it_figure_2() {
    let mut server = RaftServer::new(&setup(CORRECT), 0);
    let effects = elect(&mut server);
    assert_eq!(effects.writes, vec![RaftRecord::Entries { from: 1, entries: vec![noop(1)] }]);
    assert_eq!(effects.synced, Some(effects.writes.len()));
    assert_eq!(effects.sends.len(), 4);
}
