//! Blocking, measured (BHG section 7.4: a participant that voted yes cannot decide alone
//! while the coordinator is unreachable). A participant is blocked on a transaction from its
//! `Blocked` observation (it voted yes and waited past its timeout without a decision)
//! until it decides, or until the run ends. Reported as the protocol's figures:
//!
//! - `transactions_blocked`: transactions on which some participant was blocked;
//! - `transactions_blocked_at_end`: those still blocked when the run ended;
//! - `blocked_ms_total`: blocked time summed over participants and transactions;
//! - `blocked_ms_max`: the longest one participant was blocked on one transaction.

use std::collections::{BTreeMap, BTreeSet};

use crate::commit::TransactionId;
use crate::node::{NodeId, Time, MILLISECOND};

#[derive(Debug, Default)]
pub struct Blocking {
    /// Per participant and transaction, when it became blocked, while it is.
    since: BTreeMap<(NodeId, TransactionId), Time>,
    /// How long each finished block lasted.
    finished: Vec<Time>,
    transactions: BTreeSet<TransactionId>,
}

impl Blocking {
    pub fn on_blocked(&mut self, at: Time, node: NodeId, transaction: TransactionId) {
        self.since.entry((node, transaction)).or_insert(at);
        self.transactions.insert(transaction);
    }

    pub fn on_decided(&mut self, at: Time, node: NodeId, transaction: TransactionId) {
        if let Some(since) = self.since.remove(&(node, transaction)) {
            self.finished.push(at - since);
        }
    }

    /// The participants still blocked, and on what, in words.
    pub fn still_blocked(&self) -> Option<String> {
        let mut by_participant: BTreeMap<NodeId, Vec<TransactionId>> = BTreeMap::new();
        for &(node, transaction) in self.since.keys() {
            by_participant.entry(node).or_default().push(transaction);
        }
        let blocked: Vec<String> = by_participant
            .into_iter()
            .map(|(node, transactions)| format!("participant {node} on transactions {transactions:?}"))
            .collect();
        (!blocked.is_empty()).then(|| format!("blocked, having voted yes with no decision: {}", blocked.join(", ")))
    }

    pub fn figures(&self, end: Time) -> Vec<(&'static str, f64)> {
        let open = self.since.values().map(|&since| end.saturating_sub(since));
        let durations: Vec<Time> = self.finished.iter().copied().chain(open).collect();
        let at_end: BTreeSet<TransactionId> = self.since.keys().map(|&(_, transaction)| transaction).collect();
        let ms = |time: Time| time as f64 / MILLISECOND as f64;
        vec![
            ("transactions_blocked", self.transactions.len() as f64),
            ("transactions_blocked_at_end", at_end.len() as f64),
            ("blocked_ms_total", ms(durations.iter().sum())),
            ("blocked_ms_max", ms(durations.iter().copied().max().unwrap_or(0))),
        ]
    }
}
