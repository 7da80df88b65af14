//! The Paxos safety checker ("Paxos Made Simple", section 2.1): agreement (at most one
//! value is chosen), validity (a chosen value was proposed), and learners learn only a
//! chosen value.
//!
//! The checker sees every acceptor's `Accepted` observation, so it knows a value is chosen
//! the moment a majority of acceptors has accepted it in one ballot, before any learner
//! hears of it: a simulator's view that no real deployment has.

use std::collections::{BTreeMap, BTreeSet};

use super::{Ballot, Paxos, PaxosObservation};
use crate::node::{Checker, NodeId, Setup, Time, Violation};
use crate::service::Value;

#[derive(Debug)]
pub struct PaxosChecker {
    majority: usize,
    proposed: BTreeSet<Value>,
    /// Per ballot: the value accepted in it and the acceptors that accepted it, with when.
    accepted: BTreeMap<Ballot, (Value, BTreeMap<NodeId, Time>)>,
    /// The first value chosen, with its ballot and the acceptors that chose it, with when.
    chosen: Option<(Ballot, Value, BTreeMap<NodeId, Time>)>,
}

impl PaxosChecker {
    pub fn new<S>(setup: &Setup<S>) -> PaxosChecker {
        PaxosChecker { majority: setup.majority(), proposed: BTreeSet::new(), accepted: BTreeMap::new(), chosen: None }
    }

    /// The value chosen so far, if any.
    pub fn chosen(&self) -> Option<Value> {
        self.chosen.as_ref().map(|&(_, value, _)| value)
    }

    fn on_accepted(&mut self, at: Time, node: NodeId, ballot: Ballot, value: Value) -> Result<(), Violation> {
        let (ballot_value, acceptors) = self.accepted.entry(ballot).or_insert_with(|| (value, BTreeMap::new()));
        if *ballot_value != value {
            return Err(Violation {
                invariant: "one-value-per-ballot",
                evidence: acceptors.iter().map(|(&node, &at)| (node, at)).chain([(node, at)]).collect(),
                nodes: vec![node, ballot.proposer],
                detail: format!(
                    "acceptor {node} accepted value {value} in ballot {ballot}, which already carries value {ballot_value}"
                ),
            });
        }
        acceptors.insert(node, at);
        if acceptors.len() < self.majority {
            return Ok(());
        }
        let acceptors = acceptors.clone();
        self.on_chosen(ballot, value, acceptors)
    }

    fn on_chosen(&mut self, ballot: Ballot, value: Value, acceptors: BTreeMap<NodeId, Time>) -> Result<(), Violation> {
        if !self.proposed.contains(&value) {
            return Err(Violation {
                invariant: "validity",
                evidence: acceptors.iter().map(|(&node, &at)| (node, at)).collect(),
                nodes: acceptors.into_keys().collect(),
                detail: format!("value {value} was chosen in ballot {ballot} but no client proposed it"),
            });
        }
        match &self.chosen {
            None => {
                self.chosen = Some((ballot, value, acceptors));
                Ok(())
            }
            Some((_, first, _)) if *first == value => Ok(()),
            Some((first_ballot, first, first_acceptors)) => {
                let both = || first_acceptors.iter().chain(acceptors.iter());
                let nodes: BTreeSet<NodeId> = both().map(|(&node, _)| node).collect();
                let (first_by, then_by): (BTreeSet<_>, BTreeSet<_>) =
                    (first_acceptors.keys().collect(), acceptors.keys().collect());
                Err(Violation {
                    invariant: "agreement",
                    evidence: both().map(|(&node, &at)| (node, at)).collect(),
                    nodes: nodes.into_iter().collect(),
                    detail: format!(
                        "value {first} was chosen in ballot {first_ballot} by acceptors {first_by:?}, \
                         then value {value} in ballot {ballot} by acceptors {then_by:?}"
                    ),
                })
            }
        }
    }

    fn on_learned(&self, at: Time, node: NodeId, value: Value) -> Result<(), Violation> {
        match self.chosen() {
            Some(chosen) if chosen == value => Ok(()),
            chosen => Err(Violation {
                invariant: "learned-chosen",
                evidence: vec![(node, at)],
                nodes: vec![node],
                detail: format!("learner {node} learned value {value}, but the chosen value is {chosen:?}"),
            }),
        }
    }
}

impl Checker<Paxos> for PaxosChecker {
    fn observe(&mut self, at: Time, node: NodeId, observation: &PaxosObservation) -> Result<(), Violation> {
        match *observation {
            PaxosObservation::Proposed { value } => {
                self.proposed.insert(value);
                Ok(())
            }
            PaxosObservation::Accepted { ballot, value } => self.on_accepted(at, node, ballot, value),
            PaxosObservation::Learned { value } => self.on_learned(at, node, value),
        }
    }
}
