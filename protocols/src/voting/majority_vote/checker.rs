//! The majority vote's checker: agreement (no two servers decide different values) and
//! validity (a decided value was proposed), the safety properties of consensus ("Paxos Made
//! Simple", section 2.1).
//!
//! A decision is what a proposer observes when it counts a majority of votes, every one of
//! them durable (voters answer after their vote is on disk, and a proposer's own vote is on
//! disk before it asks anyone), so two decisions of different values are two majorities that
//! really voted for different values: in different rounds (competing proposers) or in one
//! round by a voter that forgot its vote.

use std::collections::BTreeSet;

use super::{MajorityVote, Round, VoteObservation};
use crate::node::{Checker, NodeId, Time, Violation};
use crate::service::Value;

#[derive(Clone, Debug, Default)]
pub struct MajorityVoteChecker {
    proposed: BTreeSet<Value>,
    /// The first decision: value, round (`None` if learned), voters, node and time.
    decided: Option<Decision>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Decision {
    value: Value,
    round: Option<Round>,
    voters: Vec<NodeId>,
    node: NodeId,
    at: Time,
}

impl MajorityVoteChecker {
    /// The value decided so far, if any.
    pub fn decided(&self) -> Option<Value> {
        self.decided.as_ref().map(|decision| decision.value)
    }

    fn on_decision(&mut self, decision: Decision) -> Result<(), Violation> {
        if !self.proposed.contains(&decision.value) {
            return Err(Violation {
                invariant: "validity",
                nodes: vec![decision.node],
                detail: format!(
                    "node {} decided value {}, which no proposer took from a client",
                    decision.node, decision.value
                ),
                evidence: vec![(decision.node, decision.at)],
            });
        }
        let Some(first) = &self.decided else {
            self.decided = Some(decision);
            return Ok(());
        };
        if first.value == decision.value {
            return Ok(());
        }
        let mut nodes: Vec<NodeId> = first.voters.iter().chain(&decision.voters).copied().collect();
        nodes.extend([first.node, decision.node]);
        nodes.sort_unstable();
        nodes.dedup();
        Err(Violation {
            invariant: "agreement",
            nodes,
            detail: format!("{}, then {}", describe(first), describe(&decision)),
            evidence: vec![(first.node, first.at), (decision.node, decision.at)],
        })
    }
}

/// `node 0 decided value 3 in round 1 with the votes of [0, 2]`.
fn describe(decision: &Decision) -> String {
    match decision.round {
        Some(round) => format!(
            "node {} decided value {} in round {round} with the votes of {:?}",
            decision.node, decision.value, decision.voters
        ),
        None => format!("node {} learned value {}", decision.node, decision.value),
    }
}

impl Checker<MajorityVote> for MajorityVoteChecker {
    fn observe(&mut self, at: Time, node: NodeId, observation: &VoteObservation) -> Result<(), Violation> {
        match observation {
            VoteObservation::Proposed { value } => {
                self.proposed.insert(*value);
                Ok(())
            }
            VoteObservation::Voted { .. } => Ok(()),
            VoteObservation::Decided { round, value, voters } => {
                let decision = Decision { value: *value, round: Some(*round), voters: voters.clone(), node, at };
                self.on_decision(decision)
            }
            VoteObservation::Learned { value } => {
                self.on_decision(Decision { value: *value, round: None, voters: Vec::new(), node, at })
            }
        }
    }
}
