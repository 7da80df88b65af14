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

use super::{ms, slot};
use crate::node::{NodeId, Time, Violation};
use crate::raft::{Index, Payload, StateMachine, Term};

/// The first entry applied at an index: its term and payload, by whom, when.
type Applied<M> = (Term, Payload<M>, NodeId, Time);

#[derive(Debug, Default)]
pub(super) struct StateMachineSafety<M: StateMachine> {
    /// Per index, the first entry committed there: its term, by whom, when. Tables by
    /// index and by server rather than maps: every server commits and applies every index,
    /// so each is looked up once a server, in order.
    committed: Vec<Option<(Term, NodeId, Time)>>,
    /// Per index, the first entry applied there: its term and payload, by whom, when.
    applied: Vec<Option<Applied<M>>>,
    /// Per server, the index its state machine has reached since it last started, and when.
    through: Vec<(Index, Time)>,
}

impl<M: StateMachine> StateMachineSafety<M> {
    pub(super) fn on_committed(&mut self, at: Time, node: NodeId, index: Index, term: Term) -> Result<(), Violation> {
        let (first_term, first, first_at) = *slot(&mut self.committed, index as usize).get_or_insert((term, node, at));
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
            slot(&mut self.applied, index as usize).get_or_insert_with(|| (term, payload.clone(), node, at));
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
        if let Some((committed_term, first, first_at)) =
            self.committed.get(index as usize).copied().flatten().filter(|(t, ..)| *t != term)
        {
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
        *self.reached(node) = (index, at);
    }

    /// `node`'s state machine moves to `index` by an action that needs it to be short of
    /// `before` (applying an index needs it short of that index; installing a snapshot needs
    /// it short of the index after, so that it goes no further back).
    fn advance(&mut self, at: Time, node: NodeId, index: Index, before: Index, action: &str) -> Result<(), Violation> {
        let (reached, reached_at) = *self.reached(node);
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
        *self.reached(node) = (index, at);
        Ok(())
    }

    /// Where `node`'s state machine is, and since when (index 0 at time 0 at first).
    fn reached(&mut self, node: NodeId) -> &mut (Index, Time) {
        if self.through.len() <= node as usize {
            self.through.resize(node as usize + 1, (0, 0));
        }
        &mut self.through[node as usize]
    }
}
