//! Servers and clients wired together through the kit's hand-driven network, with the
//! checker watching every input: enough to pin the textbook message cost and to replay the
//! paper's Figure 8 and a double vote step by step, without the simulation engine.

use std::collections::BTreeMap;

use super::*;
use crate::testing::Cluster;

#[test]
fn fault_free_entry_costs_two_messages_per_follower_heartbeats_apart_section_5_3() {
    let mut cluster = Cluster::<Raft>::new(setup(CORRECT), SEED);
    cluster.fire(0, RaftTimer::Election);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.server(0).commit_index(), 1, "the no-op committed");
    cluster.clear_sent();
    cluster.request(CLIENT, append(10));
    cluster.deliver_all(|_| false);
    let expected =
        BTreeMap::from([("ClientRequest", 1), ("AppendEntries", 4), ("AppendEntriesResponse", 4), ("ClientReply", 1)]);
    assert_eq!(cluster.sent_by_kind(), expected, "2(N-1) messages between the servers for the entry");
    assert_eq!(cluster.outcomes, vec![(CLIENT, done())]);

    cluster.clear_sent();
    cluster.fire(0, RaftTimer::Heartbeat);
    cluster.deliver_all(|_| false);
    assert_eq!(cluster.sent_by_kind(), BTreeMap::from([("Heartbeat", 4), ("HeartbeatResponse", 4)]));
    for id in 1..5 {
        assert_eq!(cluster.server(id).machine().read(1), vec![10], "the heartbeat carried the commit index");
    }
    assert_eq!(cluster.violation, None);
}

/// Figure 8, with servers S1 to S5 as 0 to 4, from its state after (b): S1 led term 2 and
/// replicated the entry at index 2 to S2 only; S5 won term 3 with the votes of S3, S4 and
/// its own and wrote a different entry at index 2 that reached nobody. (c) S5 is down; S1
/// restarts and wins term 4 with S2 and S3 (on its second try: S3 voted for S5 in term 3),
/// brings S3 up to date, so that the entry of term 2 is on a majority, logs a client's
/// command and crashes before sending it. (d) S5 restarts and runs for term 4 (refused by S2
/// and S3, who voted in it), then term 5. Returns S1's commit index when it crashed, and the
/// cluster after that second election.
fn figure_8(variant: &'static str) -> (Index, Cluster<Raft>) {
    let term = |current_term, voted_for| RaftRecord::Term { current_term, voted_for };
    let entries = |terms: &[Term]| RaftRecord::Entries { from: 1, entries: log_of(terms) };
    let disks = vec![
        vec![term(2, Some(0)), entries(&[1, 2])],
        vec![term(2, Some(0)), entries(&[1, 2])],
        vec![term(3, Some(4)), entries(&[1])],
        vec![term(3, Some(4)), entries(&[1])],
        vec![term(3, Some(4)), entries(&[1, 3])],
    ];
    let mut cluster = Cluster::<Raft>::from_disks(setup(variant), SEED, disks);
    for _ in 0..2 {
        cluster.fire(0, RaftTimer::Election);
        cluster.deliver_within(&[0, 1, 2]);
    }
    assert_eq!((cluster.server(0).role(), cluster.server(0).current_term()), (Role::Leader, 4));
    cluster.deliver((CLIENT, 0, RaftMessage::ClientRequest(command(CLIENT, 1, append(10)))));
    let commit_index = cluster.server(0).commit_index();
    cluster.crash(0);
    for _ in 0..2 {
        cluster.fire(4, RaftTimer::Election);
        cluster.deliver_within(&[1, 2, 3, 4]);
    }
    (commit_index, cluster)
}

#[test]
fn figure_8_leader_commits_the_old_entry_only_with_one_of_its_term_section_5_4_2() {
    let (commit_index, cluster) = figure_8(CORRECT);
    assert_eq!(commit_index, 3, "the no-op of term 4 went to S3 with the entry of term 2, and committed it");
    let terms: Vec<Term> = cluster.server(2).log().entries().iter().map(|entry| entry.term).collect();
    assert_eq!(terms, [1, 2, 4], "S3 holds the entry of term 2, then S1's no-op of term 4");
    assert_eq!((cluster.server(4).role(), cluster.server(4).current_term()), (Role::Candidate, 5), "Figure 8 (e)");
    assert_eq!(cluster.violation, None);
}

#[test]
fn figure_8_commit_old_term_commits_by_counting_and_loses_the_entry() {
    let (commit_index, cluster) = figure_8(COMMIT_OLD_TERM);
    assert_eq!(commit_index, 2, "the entry of term 2 committed by counting its replicas");
    assert_eq!((cluster.server(4).role(), cluster.server(4).current_term()), (Role::Leader, 5), "Figure 8 (d)");
    let violation = cluster.violation.expect("the checker flags the lost entry");
    assert_eq!((violation.invariant, violation.nodes), ("leader-completeness", vec![0, 4]));
}

/// Server 0 wins term 1 with votes from 1 and 2, and no entry gets out; server 1 crashes
/// and restarts from its disk; server 3 then asks 1 and 4 for their votes in term 1.
fn double_vote(variant: &'static str) -> Cluster<Raft> {
    let mut cluster = Cluster::<Raft>::new(setup(variant), SEED);
    cluster.fire(0, RaftTimer::Election);
    cluster.deliver_all(|(from, to, message)| {
        [3, 4].contains(to) || [3, 4].contains(from) || matches!(message, RaftMessage::AppendEntries(_))
    });
    assert_eq!(cluster.server(0).role(), Role::Leader);
    cluster.crash(1);
    cluster.restart(1);
    cluster.fire(3, RaftTimer::Election);
    cluster.deliver_within(&[1, 3, 4]);
    cluster
}

#[test]
fn restarted_voter_remembers_its_vote_so_one_leader_per_term_section_5_2() {
    let cluster = double_vote(CORRECT);
    assert_eq!(cluster.violation, None);
    assert_eq!(cluster.server(3).role(), Role::Candidate);
}

#[test]
fn volatile_vote_elects_two_leaders_in_one_term() {
    let cluster = double_vote(VOLATILE_VOTE);
    let violation = cluster.violation.expect("the checker flags the second leader");
    assert_eq!((violation.invariant, violation.nodes), ("election-safety", vec![0, 3]));
}
