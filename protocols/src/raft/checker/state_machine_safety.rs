//! State machine safety (Figure 3, section 5.4.3): if a server has applied a log entry at
//! an index, no other server ever applies a different entry at that index. The checker
//! also flags two different entries committed at one index, the cause of such a
//! divergence, as soon as the second commit is reported.
//!
//! With snapshots (thesis chapter 5) a state machine also moves by whole prefixes: it is
//! reset to a snapshot it installs or restarts from. A snapshot must end at the entry
//! committed at its index, and a server's state machine only moves forward while it runs:
//! it applies an index only past where it is, and installs a snapshot only if that takes it
//! no further back (a restart starts it again from its own snapshot).

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
    /// Per server, the index its state machine has reached since it last started, and when.
    through: BTreeMap<NodeId, (Index, Time)>,
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
            return self.advance(at, node, index, index, "applied the entry at");
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

    /// `node` took a snapshot, or installed one, ending with the entry of `term` at `index`.
    pub(super) fn on_snapshot(
        &mut self,
        at: Time,
        node: NodeId,
        index: Index,
        term: Term,
        installed: bool,
    ) -> Result<(), Violation> {
        if let Some(&(committed_term, first, first_at)) = self.committed.get(&index).filter(|(t, ..)| *t != term) {
            return Err(Violation {
                invariant: "state-machine-safety",
                evidence: vec![(first, first_at), (node, at)],
                nodes: vec![first, node],
                detail: format!(
                    "server {first} committed the entry of term {committed_term} at index {index} at {}, and server \
                     {node} has a snapshot ending with an entry of term {term} there at {}",
                    ms(first_at),
                    ms(at)
                ),
            });
        }
        if installed {
            return self.advance(at, node, index, index + 1, "installed a snapshot ending at");
        }
        Ok(())
    }

    /// `node` restarted with its state machine at the snapshot ending at `index`.
    pub(super) fn on_restored(&mut self, at: Time, node: NodeId, index: Index) {
        self.through.insert(node, (index, at));
    }

    /// `node`'s state machine moves to `index` by an action that needs it to be short of
    /// `before` (applying an index needs it short of that index; installing a snapshot needs
    /// it short of the index after, so that it goes no further back).
    fn advance(&mut self, at: Time, node: NodeId, index: Index, before: Index, action: &str) -> Result<(), Violation> {
        let (reached, reached_at) = self.through.get(&node).copied().unwrap_or((0, 0));
        if reached >= before {
            return Err(Violation {
                invariant: "state-machine-safety",
                evidence: vec![(node, reached_at), (node, at)],
                nodes: vec![node],
                detail: format!(
                    "server {node}'s state machine had reached index {reached} at {}, and it {action} index {index} \
                     at {} without restarting: its state went back",
                    ms(reached_at),
                    ms(at)
                ),
            });
        }
        self.through.insert(node, (index, at));
        Ok(())
    }
}
