//! Tests of what both commit protocols share: the key-to-participant mapping, the lock
//! table's vote, and the atomicity checker both ways (legal runs pass; each of AC1 to AC4,
//! as BHG section 7.3 states them, is caught), and the blocking figures.

use super::*;
use crate::node::{Checker, Time, Violation, CORRECT, MILLISECOND};
use crate::testing::{self, assert_milestones};
use crate::threepc::ThreePhaseCommit;
use crate::twopc::TwoPhaseCommit;

/// A coordinator (0) and three participants (1, 2, 3).
const SERVERS: u32 = 4;

#[test]
fn keys_map_to_participants_round_robin_skipping_the_coordinator() {
    let holders: Vec<NodeId> = (0..7).map(|key| participant_of(SERVERS, key)).collect();
    assert_eq!(holders, vec![1, 2, 3, 1, 2, 3, 1]);
    assert_eq!(participant_of(2, 9), 1, "one participant holds every key");
}

#[test]
fn shares_split_keys_reads_appends_and_vetoes_by_participant() {
    let mut transaction = Transaction::writing(9, &[0, 1, 3, 5], &[3]);
    transaction.reads = vec![1, 3];
    transaction.writes = vec![0, 3, 5];
    let split = shares(SERVERS, &transaction);
    let expected = BTreeMap::from([
        (1, Share { keys: vec![0, 3], reads: vec![3], writes: vec![0, 3], vetoes: vec![3] }),
        (2, Share { keys: vec![1], reads: vec![1], writes: vec![], vetoes: vec![] }),
        (3, Share::writing(&[5], &[])),
    ]);
    assert_eq!(split, expected);
    assert_eq!(participants(SERVERS, &[4, 3, 7]), vec![1, 2]);
}

#[test]
fn lock_table_votes_no_on_a_veto_or_a_conflict_and_locks_on_yes() {
    let mut locks = LockTable::default();
    assert!(!locks.vote(1, &Share::writing(&[0], &[0])), "a vetoed key votes no");
    assert_eq!(locks.holder(0), None, "a no vote locks nothing");
    assert!(locks.vote(2, &Share::writing(&[0, 3], &[])));
    assert!(locks.holds(2, &[0, 3]));
    assert!(!locks.vote(3, &Share::writing(&[6, 3], &[])), "key 3 is held by transaction 2");
    assert_eq!(locks.holder(6), None, "all or nothing");
    locks.release(2);
    assert!(locks.vote(3, &Share::writing(&[6, 3], &[])));
    assert_eq!(locks.holders().collect::<Vec<_>>(), vec![3]);
}

fn checker() -> AtomicityChecker {
    AtomicityChecker::new(&testing::setup(SERVERS, 1, CORRECT, MILLISECOND))
}

fn began(transaction: TransactionId, keys: &[Key], vetoes: &[Key]) -> (NodeId, CommitObservation) {
    (COORDINATOR, CommitObservation::Began { transaction, keys: keys.to_vec(), vetoes: vetoes.to_vec() })
}

fn voted(node: NodeId, transaction: TransactionId, yes: bool) -> (NodeId, CommitObservation) {
    (node, CommitObservation::Voted { transaction, yes })
}

fn decided(node: NodeId, transaction: TransactionId, decision: Decision) -> (NodeId, CommitObservation) {
    (node, CommitObservation::Decided { transaction, decision })
}

/// Feeds `run` to the checker one millisecond apart; the first violation, if any.
fn check(checker: &mut AtomicityChecker, run: &[(NodeId, CommitObservation)]) -> Result<(), Violation> {
    run.iter().enumerate().try_for_each(|(index, (node, observation))| {
        Checker::<TwoPhaseCommit>::observe(checker, index as Time * MILLISECOND, *node, observation)
    })
}

fn invariant(run: &[(NodeId, CommitObservation)]) -> &'static str {
    check(&mut checker(), run).expect_err("the run breaks atomicity").invariant
}

#[test]
fn checker_passes_a_commit_an_abort_on_a_veto_and_a_timed_out_abort() {
    let run = [
        // Transaction 1 on participants 1 and 2: both vote yes, everyone commits.
        began(1, &[0, 1], &[]),
        voted(1, 1, true),
        voted(2, 1, true),
        decided(0, 1, Decision::Commit),
        decided(1, 1, Decision::Commit),
        decided(2, 1, Decision::Commit),
        // Transaction 2: participant 3 holds a vetoed key and aborts with its no vote.
        began(2, &[1, 2], &[2]),
        voted(2, 2, true),
        voted(3, 2, false),
        decided(3, 2, Decision::Abort),
        decided(0, 2, Decision::Abort),
        // Transaction 3: every vote yes, but the coordinator timed out before the last one came.
        began(3, &[0, 1], &[]),
        voted(1, 3, true),
        (0, CommitObservation::TimedOut { transaction: 3 }),
        decided(0, 3, Decision::Abort),
        voted(2, 3, true),
        decided(1, 3, Decision::Abort),
        // A participant restarts and decides again as before.
        (1, CommitObservation::Restarted { transaction: 1 }),
        decided(1, 1, Decision::Commit),
    ];
    assert_eq!(check(&mut checker(), &run), Ok(()));
}

#[test]
fn ac1_two_processes_deciding_differently_is_caught() {
    let run = [
        began(1, &[0, 1], &[]),
        voted(1, 1, true),
        voted(2, 1, true),
        decided(0, 1, Decision::Commit),
        (2, CommitObservation::TimedOut { transaction: 1 }),
        decided(2, 1, Decision::Abort),
    ];
    assert_eq!(invariant(&run), "ac1-agreement");
}

#[test]
fn ac2_a_process_reversing_its_decision_after_a_restart_is_caught() {
    let run = [
        began(1, &[0], &[]),
        (1, CommitObservation::TimedOut { transaction: 1 }),
        decided(1, 1, Decision::Abort),
        (1, CommitObservation::Restarted { transaction: 1 }),
        voted(1, 1, true),
        decided(1, 1, Decision::Commit),
    ];
    assert_eq!(invariant(&run), "ac2-irreversibility");
}

#[test]
fn ac3_a_commit_without_every_yes_vote_is_caught() {
    let missing = [began(1, &[0, 1], &[]), voted(1, 1, true), decided(0, 1, Decision::Commit)];
    assert_eq!(invariant(&missing), "ac3-validity");
    let against = [
        began(1, &[0, 1], &[]),
        voted(1, 1, true),
        voted(2, 1, false),
        voted(2, 1, true),
        decided(0, 1, Decision::Commit),
    ];
    assert_eq!(invariant(&against), "ac3-validity");
    let unknown = [voted(1, 9, true), decided(0, 9, Decision::Commit)];
    assert_eq!(invariant(&unknown), "ac3-validity", "a transaction never begun has no participants to agree");
}

#[test]
fn ac4_an_abort_with_every_vote_yes_and_no_failure_seen_is_caught() {
    let votes_first = [began(1, &[0, 1], &[]), voted(1, 1, true), voted(2, 1, true), decided(0, 1, Decision::Abort)];
    assert_eq!(invariant(&votes_first), "ac4-non-triviality");
    let abort_first = [began(1, &[0, 1], &[]), voted(1, 1, true), decided(0, 1, Decision::Abort), voted(2, 1, true)];
    assert_eq!(invariant(&abort_first), "ac4-non-triviality");
    let failure_after_the_abort = [
        began(1, &[0, 1], &[]),
        voted(1, 1, true),
        decided(0, 1, Decision::Abort),
        (2, CommitObservation::Blocked { transaction: 1 }),
        voted(2, 1, true),
    ];
    assert_eq!(
        invariant(&failure_after_the_abort),
        "ac4-non-triviality",
        "only failures seen before the abort excuse it"
    );
}

#[test]
fn ac4_does_not_bind_a_vetoed_transaction_or_one_a_process_saw_fail() {
    let vetoed = [began(1, &[0, 1], &[1]), voted(1, 1, true), voted(2, 1, true), decided(0, 1, Decision::Abort)];
    assert_eq!(check(&mut checker(), &vetoed), Ok(()));
    for failure in [
        CommitObservation::TimedOut { transaction: 1 },
        CommitObservation::Blocked { transaction: 1 },
        CommitObservation::Restarted { transaction: 1 },
    ] {
        let run = [
            began(1, &[0, 1], &[]),
            voted(1, 1, true),
            (2, failure),
            voted(2, 1, true),
            decided(0, 1, Decision::Abort),
        ];
        assert_eq!(check(&mut checker(), &run), Ok(()));
    }
}

#[test]
fn blocking_figures_count_blocked_transactions_and_time_until_each_participant_decides() {
    let mut checker = checker();
    let ms = MILLISECOND;
    let observe = |checker: &mut AtomicityChecker, at: Time, node: NodeId, observation: CommitObservation| {
        Checker::<TwoPhaseCommit>::observe(checker, at, node, &observation).expect("legal");
    };
    observe(&mut checker, 0, 0, CommitObservation::Began { transaction: 5, keys: vec![0, 1], vetoes: vec![] });
    observe(&mut checker, 10 * ms, 1, CommitObservation::Blocked { transaction: 5 });
    observe(&mut checker, 15 * ms, 1, CommitObservation::Blocked { transaction: 5 });
    observe(&mut checker, 20 * ms, 2, CommitObservation::Blocked { transaction: 5 });
    observe(&mut checker, 30 * ms, 1, CommitObservation::Decided { transaction: 5, decision: Decision::Abort });
    observe(&mut checker, 40 * ms, 3, CommitObservation::Blocked { transaction: 6 });
    observe(&mut checker, 50 * ms, 3, CommitObservation::Decided { transaction: 6, decision: Decision::Abort });
    let figures = Checker::<TwoPhaseCommit>::figures(&checker, 100 * ms);
    assert_eq!(
        figures,
        vec![
            ("transactions_blocked", 2.0),
            ("transactions_blocked_at_end", 1.0),
            ("blocked_ms_total", 20.0 + 80.0 + 10.0),
            ("blocked_ms_max", 80.0),
        ]
    );
}

#[test]
fn milestones_name_decisions_blocks_restarts_and_terminations() {
    let decided = |decision| CommitObservation::Decided { transaction: 1, decision };
    assert_eq!(milestone(&decided(Decision::Commit)), Some("transaction-committed"));
    assert_eq!(milestone(&decided(Decision::Abort)), Some("transaction-aborted"));
    assert_eq!(milestone(&CommitObservation::Blocked { transaction: 1 }), Some("participant-blocked"));
    assert_eq!(milestone(&CommitObservation::TerminationStarted { transaction: 1 }), Some("termination-started"));
    assert_eq!(milestone(&CommitObservation::Voted { transaction: 1, yes: true }), None);
}

#[test]
fn both_protocols_declare_every_milestone_they_mark() {
    let observations = [
        CommitObservation::Began { transaction: 1, keys: vec![0], vetoes: vec![] },
        CommitObservation::Voted { transaction: 1, yes: true },
        CommitObservation::Decided { transaction: 1, decision: Decision::Commit },
        CommitObservation::Decided { transaction: 2, decision: Decision::Abort },
        CommitObservation::TimedOut { transaction: 3 },
        CommitObservation::Blocked { transaction: 3 },
        CommitObservation::Restarted { transaction: 3 },
    ];
    assert_milestones::<TwoPhaseCommit>(&observations);
    let mut three_phase = observations.to_vec();
    three_phase.push(CommitObservation::TerminationStarted { transaction: 3 });
    assert_milestones::<ThreePhaseCommit>(&three_phase);
}
