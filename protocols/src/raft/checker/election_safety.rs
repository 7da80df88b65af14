//! Election safety (Figure 3, section 5.2): at most one leader can be elected in a term.
//! Each `LeaderElected` is compared with the first election seen for its term.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::raft::Term;

#[derive(Debug, Default)]
pub(super) struct ElectionSafety {
    /// Per term, the first server elected and when.
    leaders: BTreeMap<Term, (NodeId, Time)>,
}

impl ElectionSafety {
    /// The latest leader elected: term, server and when.
    pub(super) fn latest(&self) -> Option<(Term, NodeId, Time)> {
        self.leaders.iter().next_back().map(|(&term, &(node, at))| (term, node, at))
    }

    pub(super) fn on_leader_elected(&mut self, at: Time, node: NodeId, term: Term) -> Result<(), Violation> {
        match self.leaders.get(&term) {
            Some(&(first, first_at)) if first != node => Err(Violation {
                invariant: "election-safety",
                evidence: vec![(first, first_at), (node, at)],
                nodes: vec![first, node],
                detail: format!(
                    "server {first} was elected leader of term {term} at {}, and server {node} was too at {}",
                    ms(first_at),
                    ms(at)
                ),
            }),
            Some(_) => Ok(()),
            None => {
                self.leaders.insert(term, (node, at));
                Ok(())
            }
        }
    }
}
