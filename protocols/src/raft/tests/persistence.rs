//! Persistence and recovery (Figure 2, "Persistent state on all servers"): term, vote and
//! log are rebuilt from the synced records alone.

use super::*;
use crate::testing::assert_timers;

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
    let server: RaftServer = RaftServer::recover(&setup(CORRECT), 4, &records);
    assert_eq!((server.current_term(), server.voted_for()), (2, Some(3)));
    assert_eq!(server.log().entries(), log_of(&[1, 1, 2, 2]).as_slice());
    assert_eq!(server.log().truncations(), 1);
    assert_eq!((server.role(), server.commit_index(), server.last_applied()), (Role::Follower, 0, 0));
    assert_eq!(server.leader(), None);
}

#[test]
fn recovered_server_starts_its_election_timer() {
    let mut server = recovered(CORRECT, 0, 2, Some(1), log_of(&[1]));
    let effects = server.recover();
    assert_timers(&effects, &[election_timer()]);
    let restored = Effect::Observe(RaftObservation::Restored { index: 0, term: 0 });
    assert_eq!(effects.without_timers(), [restored], "nothing sent, nothing written; no snapshot to start from");
}

/// Server 0 grants its vote in term 1 to server 1, crashes and restarts from what it
/// synced, then hears server 2 ask for its vote in term 1.
fn vote_after_restart(variant: &'static str) -> (Effects<Raft>, Effects<Raft>) {
    let setup = setup(variant);
    let mut server = Harness::<Raft>::boot(&setup, 0, SEED);
    let before = server.deliver(1, request_vote(1));
    assert_eq!(before.sent(), vec![(1, vote(1, true))]);
    let mut restarted = Harness::<Raft>::recovered(&setup, 0, &before.synced_writes(), SEED);
    let after = restarted.deliver(2, request_vote(1));
    (before, after)
}

#[test]
fn restarted_server_keeps_its_vote_and_refuses_a_second_candidate_figure_2() {
    let (before, after) = vote_after_restart(CORRECT);
    assert_eq!(before.written(), vec![RaftRecord::Term { current_term: 1, voted_for: Some(1) }]);
    assert_eq!(after.sent(), vec![(2, vote(1, false))]);
}

#[test]
fn volatile_vote_variant_forgets_its_vote_and_votes_twice_in_a_term() {
    let (before, after) = vote_after_restart(VOLATILE_VOTE);
    assert!(before.written().is_empty() && before.syncs().is_empty(), "the vote is never persisted");
    assert_eq!(after.sent(), vec![(2, vote(1, true))]);
}

#[test]
fn volatile_vote_variant_recovers_the_term_of_its_last_entry() {
    let records = [RaftRecord::Entries { from: 1, entries: log_of(&[1, 3]) }];
    let server: RaftServer = RaftServer::recover(&setup(VOLATILE_VOTE), 0, &records);
    assert_eq!((server.current_term(), server.voted_for()), (3, None));
}

#[test]
fn leader_counts_itself_for_its_noop_only_once_its_own_sync_finished_figure_2() {
    let mut server = server(CORRECT, 0);
    let effects = elect(&mut server);
    assert_eq!(effects.written(), vec![RaftRecord::Entries { from: 1, entries: vec![noop(1)] }]);
    assert_eq!(effects.sent().len(), 4, "replicated while its own write is under way");
    let sync = effects.syncs()[0];
    server.deliver(1, accepted(1, 1, 0));
    let effects = server.deliver(2, accepted(1, 1, 0));
    assert!(effects.observed().is_empty(), "two followers hold it, but the leader's own copy is not durable yet");
    assert_eq!(server.commit_index(), 0);
    let effects = server.synced(sync);
    assert_eq!(
        effects.observed(),
        [
            RaftObservation::Committed { index: 1, term: 1, leader_term: 1 },
            RaftObservation::Applied { index: 1, term: 1, payload: Payload::Noop },
        ],
        "its own durable copy makes three of five"
    );
}
