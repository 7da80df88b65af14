//! The checker, both ways: legal runs pass, and each property's violation is caught.

use super::*;
use crate::node::{Checker as _, Violation};

type Observation = MultiPaxosObservation;

fn check(observations: &[(NodeId, Observation)]) -> Result<(), Violation> {
    let mut checker = MultiPaxos::checker(&setup(CORRECT));
    observations.iter().try_for_each(|(node, observation)| checker.observe(0, *node, observation))
}

fn accepted_by(nodes: &[NodeId], ballot: Ballot, slot: Slot, entry: &Entry) -> Vec<(NodeId, Observation)> {
    let observation = Observation::Accepted { ballot, slot, entry: entry.clone() };
    nodes.iter().map(|&node| (node, observation.clone())).collect()
}

fn executed(node: NodeId, slot: Slot, entry: &Entry) -> (NodeId, Observation) {
    (node, Observation::Executed { slot, entry: entry.clone() })
}

/// Slots 1 and 2 chosen in ballot (1, 0): the append of 10, then a no-op.
fn two_chosen_slots() -> Vec<(NodeId, Observation)> {
    let mut run = accepted_by(&[0, 1, 2], ballot(1, 0), 1, &appended(1, 10));
    run.extend(accepted_by(&[0, 3, 4], ballot(1, 0), 2, &Entry::Noop));
    run
}

#[test]
fn legal_run_passes_re_proposals_replicas_in_order_and_a_restarted_replica() {
    let mut run = two_chosen_slots();
    // A later leader re-proposes the chosen entry (PMS section 2.2 guarantees it is the same).
    run.extend(accepted_by(&[3, 4], ballot(2, 3), 1, &appended(1, 10)));
    run.push((0, Observation::Chosen { slot: 1, entry: appended(1, 10) }));
    for node in [0, 1, 2] {
        run.push(executed(node, 1, &appended(1, 10)));
        run.push(executed(node, 2, &Entry::Noop));
    }
    run.push(executed(1, 1, &appended(1, 10))); // Server 1 restarted and applies again.
    run.push((0, Observation::Acknowledged { client: CLIENT, sequence: 1, key: 1, through: 1 }));
    run.push((0, Observation::ReadReceived { client: CLIENT, sequence: 2, key: 1 }));
    run.push((0, Observation::ReadServed { client: CLIENT, sequence: 2, key: 1, through: 2 }));
    assert_eq!(check(&run), Ok(()));
}

#[test]
fn two_entries_chosen_in_one_slot_break_agreement_pms_2_1() {
    let mut run = accepted_by(&[0, 1, 2], ballot(1, 0), 1, &appended(1, 10));
    run.extend(accepted_by(&[2, 3, 4], ballot(2, 4), 1, &appended(2, 20)));
    let violation = check(&run).unwrap_err();
    assert_eq!(violation.invariant, "agreement");
    assert_eq!(violation.nodes, vec![0, 1, 2, 3, 4]);
}

#[test]
fn two_entries_accepted_in_one_slot_and_ballot_are_caught() {
    let mut run = accepted_by(&[0], ballot(1, 0), 1, &appended(1, 10));
    run.extend(accepted_by(&[1], ballot(1, 0), 1, &Entry::Noop));
    assert_eq!(check(&run).unwrap_err().invariant, "one-entry-per-ballot");
}

#[test]
fn replicas_applying_different_entries_in_one_slot_are_caught() {
    let mut run = two_chosen_slots();
    run.push(executed(0, 1, &appended(1, 10)));
    run.push(executed(1, 1, &appended(9, 90)));
    let violation = check(&run).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("identical-sequences", vec![0, 1]));
}

#[test]
fn replica_skipping_a_slot_is_caught() {
    let mut run = two_chosen_slots();
    run.push(executed(3, 2, &Entry::Noop));
    assert_eq!(check(&run).unwrap_err().invariant, "in-order-execution");
}

#[test]
fn applying_or_choosing_an_entry_that_is_not_chosen_is_caught() {
    let mut run = accepted_by(&[0, 1], ballot(1, 0), 1, &appended(1, 10));
    run.push(executed(0, 1, &appended(1, 10)));
    assert_eq!(check(&run).unwrap_err().invariant, "learned-chosen", "two of five did not choose it");
    let mut run = two_chosen_slots();
    run.push((0, Observation::Chosen { slot: 2, entry: appended(1, 10) }));
    assert_eq!(check(&run).unwrap_err().invariant, "learned-chosen");
}

#[test]
fn read_missing_an_update_acknowledged_before_it_arrived_is_stale() {
    let acknowledged = (3, Observation::Acknowledged { client: CLIENT + 1, sequence: 4, key: 1, through: 5 });
    let received = (0, Observation::ReadReceived { client: CLIENT, sequence: 2, key: 1 });
    let served = |through| (0, Observation::ReadServed { client: CLIENT, sequence: 2, key: 1, through });
    let violation = check(&[acknowledged.clone(), received.clone(), served(4)]).unwrap_err();
    assert_eq!((violation.invariant, violation.nodes), ("fresh-reads", vec![0, 3]));
    assert_eq!(check(&[acknowledged.clone(), received.clone(), served(5)]), Ok(()));
    assert_eq!(check(&[received.clone(), acknowledged.clone(), served(4)]), Ok(()), "concurrent with the update");
    let other_key = (0, Observation::ReadReceived { client: CLIENT, sequence: 2, key: 2 });
    let served_other = (0, Observation::ReadServed { client: CLIENT, sequence: 2, key: 2, through: 0 });
    assert_eq!(check(&[acknowledged, other_key, served_other]), Ok(()), "another key");
}
