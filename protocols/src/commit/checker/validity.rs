//! AC3 and AC4 (BHG section 7.3): the commit decision can only be reached if every
//! participant voted yes; and if there are no failures and every participant voted yes,
//! the decision is commit.
//!
//! A transaction's participants follow from the keys in the coordinator's `Began`
//! observation, through the same mapping the protocols use. AC3 is checked at every commit
//! decision: each participant must have voted, and voted yes only.
//!
//! AC4 needs "no failures", which a checker that only sees observations must read from
//! what the processes saw: an abort decision violates AC4 when, at the moment it was
//! reached, the transaction had no vetoed key, and no process had yet reported a timeout,
//! a block or a restart for it (`TimedOut`, `Blocked`, `Restarted`), while every
//! participant votes yes (the votes may arrive after the abort). A lost message, a crash,
//! a partition or a pause that touches the transaction makes some process time out or
//! restart before a correct protocol may abort it, so the property binds exactly the
//! transactions that ran without a failure any process could see. A no vote from a lock
//! conflict is a no vote, and leaves AC4 nothing to demand.

use std::collections::{BTreeMap, BTreeSet};

use crate::commit::{participants, Decision, TransactionId};
use crate::node::{NodeId, Time, Violation};
use crate::service::Key;

#[derive(Debug)]
pub struct Validity {
    servers: u32,
    transactions: BTreeMap<TransactionId, Votes>,
}

/// What the checker knows of one transaction's votes.
#[derive(Debug, Default)]
struct Votes {
    /// From the coordinator's `Began`; `None` until then.
    participants: Option<Vec<NodeId>>,
    vetoed: bool,
    yes: BTreeSet<NodeId>,
    no: BTreeSet<NodeId>,
    /// Some process reported a timeout, a block or a restart for it.
    failure_seen: bool,
    /// The first process that decided abort while no failure had been seen.
    abort_without_failure: Option<NodeId>,
}

impl Votes {
    fn all_yes(&self) -> bool {
        self.participants.as_ref().is_some_and(|all| all.iter().all(|p| self.yes.contains(p))) && self.no.is_empty()
    }
}

impl Validity {
    pub fn new(servers: u32) -> Validity {
        Validity { servers, transactions: BTreeMap::new() }
    }

    pub fn on_began(&mut self, transaction: TransactionId, keys: &[Key], vetoes: &[Key]) {
        let votes = self.transactions.entry(transaction).or_default();
        votes.participants = Some(participants(self.servers, keys));
        votes.vetoed = !vetoes.is_empty();
    }

    pub fn on_voted(&mut self, at: Time, node: NodeId, transaction: TransactionId, yes: bool) -> Result<(), Violation> {
        let votes = self.transactions.entry(transaction).or_default();
        if yes {
            votes.yes.insert(node);
        } else {
            votes.no.insert(node);
        }
        non_triviality(at, node, transaction, votes)
    }

    pub fn on_failure(&mut self, transaction: TransactionId) {
        self.transactions.entry(transaction).or_default().failure_seen = true;
    }

    pub fn on_decided(
        &mut self,
        at: Time,
        node: NodeId,
        transaction: TransactionId,
        decision: Decision,
    ) -> Result<(), Violation> {
        let votes = self.transactions.entry(transaction).or_default();
        match decision {
            Decision::Commit => validity(at, node, transaction, votes),
            Decision::Abort => {
                if !votes.failure_seen && votes.abort_without_failure.is_none() {
                    votes.abort_without_failure = Some(node);
                }
                non_triviality(at, node, transaction, votes)
            }
        }
    }
}

/// AC3 at a commit decision by `node`.
fn validity(at: Time, node: NodeId, transaction: TransactionId, votes: &Votes) -> Result<(), Violation> {
    if votes.all_yes() {
        return Ok(());
    }
    let missing: Vec<NodeId> = match &votes.participants {
        Some(all) => all.iter().copied().filter(|p| !votes.yes.contains(p) || votes.no.contains(p)).collect(),
        None => Vec::new(),
    };
    Err(Violation {
        invariant: "ac3-validity",
        evidence: vec![(node, at)],
        nodes: std::iter::once(node).chain(missing.iter().copied()).collect(),
        detail: format!(
            "node {node} decided commit for transaction {transaction} (participants {:?}), but participants {missing:?} \
             did not vote yes (yes from {:?}, no from {:?})",
            votes.participants, votes.yes, votes.no
        ),
    })
}

/// AC4, once an abort without a seen failure and all the yes votes are both known (the
/// latter of the two is `node`'s input at `at`).
fn non_triviality(at: Time, node_now: NodeId, transaction: TransactionId, votes: &Votes) -> Result<(), Violation> {
    let Some(node) = votes.abort_without_failure else { return Ok(()) };
    if votes.vetoed || !votes.all_yes() {
        return Ok(());
    }
    Err(Violation {
        invariant: "ac4-non-triviality",
        evidence: vec![(node_now, at)],
        nodes: std::iter::once(node).chain(votes.yes.iter().copied()).collect(),
        detail: format!(
            "node {node} decided abort for transaction {transaction}, which has no veto and yes votes from every \
             participant {:?}, while no process had reported a timeout, a block or a restart for it",
            votes.yes
        ),
    })
}
