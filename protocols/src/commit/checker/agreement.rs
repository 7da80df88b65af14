//! AC1 and AC2 (BHG section 7.3): all processes that reach a decision reach the same one,
//! and a process cannot reverse its decision after it has reached one.
//!
//! The first decision of each transaction is remembered with the process and time that
//! reached it; any later decision of that transaction must match it (AC1). Every process's
//! own decisions are remembered across its crashes, so a process that decides again after a
//! restart (from its log, or after asking) must decide as before (AC2): a lost or misread
//! decision record shows up here as a reversal.

use std::collections::BTreeMap;

use super::ms;
use crate::commit::{Decision, TransactionId};
use crate::node::{NodeId, Time, Violation};

#[derive(Debug, Default)]
pub struct Agreement {
    /// Per transaction, the first decision, who reached it and when.
    first: BTreeMap<TransactionId, (Decision, NodeId, Time)>,
    /// Per process and transaction, the decision it reached and when.
    own: BTreeMap<(NodeId, TransactionId), (Decision, Time)>,
}

impl Agreement {
    pub fn on_decided(
        &mut self,
        at: Time,
        node: NodeId,
        transaction: TransactionId,
        decision: Decision,
    ) -> Result<(), Violation> {
        if let Some(&(before, before_at)) = self.own.get(&(node, transaction)) {
            if before != decision {
                return Err(Violation {
                    invariant: "ac2-irreversibility",
                    evidence: vec![(node, before_at), (node, at)],
                    nodes: vec![node],
                    detail: format!(
                        "node {node} decided {before:?} for transaction {transaction}, then {decision:?} at {}",
                        ms(at)
                    ),
                });
            }
        }
        self.own.insert((node, transaction), (decision, at));
        let &mut (first, first_node, first_at) = self.first.entry(transaction).or_insert((decision, node, at));
        if first == decision {
            return Ok(());
        }
        Err(Violation {
            invariant: "ac1-agreement",
            evidence: vec![(first_node, first_at), (node, at)],
            nodes: vec![first_node, node],
            detail: format!(
                "transaction {transaction}: node {first_node} decided {first:?} at {}, node {node} decided {decision:?} at {}",
                ms(first_at),
                ms(at)
            ),
        })
    }
}
