//! State machine safety (Figure 3, section 5.4.3): if a server has applied a log entry at
//! an index, no other server ever applies a different entry at that index. The checker
//! also flags two different entries committed at one index, the cause of such a
//! divergence, as soon as the second commit is reported.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::raft::{Index, Payload, StateMachine, Term};

#[derive(Debug, Default)]
pub(super) struct StateMachineSafety<M: StateMachine> {
    /// Per index, the first entry committed there: its term, by whom, when.
    committed: BTreeMap<Index, (Term, NodeId, Time)>,
    /// Per index, the first entry applied there: its term and payload, by whom, when.
    applied: BTreeMap<Index, (Term, Payload<M>, NodeId, Time)>,
}

impl<M: StateMachine> StateMachineSafety<M> {
    pub(super) fn on_committed(&mut self, at: Time, node: NodeId, index: Index, term: Term) -> Result<(), Violation> {
        let (first_term, first, first_at) = *self.committed.entry(index).or_insert((term, node, at));
        if first_term == term {
            return Ok(());
        }
        Err(Violation {
            invariant: "state-machine-safety",
            evidence: vec![(first, first_at), (node, at)],
            nodes: vec![first, node],
            detail: format!(
                "server {first} committed the entry of term {first_term} at index {index} at {}, and server \
                 {node} committed the entry of term {term} there at {}",
                ms(first_at),
                ms(at)
            ),
        })
    }

    pub(super) fn on_applied(
        &mut self,
        at: Time,
        node: NodeId,
        index: Index,
        term: Term,
        payload: &Payload<M>,
    ) -> Result<(), Violation> {
        let (first_term, first_payload, first, first_at) =
            self.applied.entry(index).or_insert_with(|| (term, payload.clone(), node, at));
        if *first_term == term && first_payload == payload {
            return Ok(());
        }
        Err(Violation {
            invariant: "state-machine-safety",
            evidence: vec![(*first, *first_at), (node, at)],
            nodes: vec![*first, node],
            detail: format!(
                "server {first} applied ({index}, term {first_term}, {first_payload:?}) at {}, and server {node} \
                 applied ({index}, term {term}, {payload:?}) at {}",
                ms(*first_at),
                ms(at)
            ),
        })
    }
}
