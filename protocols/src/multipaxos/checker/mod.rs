//! The Multi-Paxos safety checker, online, from observations, one file per property.
//!
//! - Agreement (Paxos Made Simple section 2.1, per slot): no two different entries are
//!   chosen in one slot, where an entry is chosen once a majority of acceptors report
//!   accepting it in one ballot; and no two entries are accepted in one slot in one
//!   ballot. A leader's `Chosen` and a replica's `Executed` must name the chosen entry
//!   (learners learn only chosen values).
//! - Identical sequences: no two replicas apply different entries in one slot, and each
//!   replica applies slots in order, with no gap (PMMC section 2.1).
//! - Fresh reads: a read reflects every update that a server had acknowledged to its client
//!   before the read first reached a server. Reads through the log guarantee it (see
//!   `fresh_reads.rs`); the `local-reads` flaw breaks it.
//!
//! The checker sees every acceptor's acceptances, so it knows a slot is chosen before any
//! leader does, and it needs no `inspect` of the servers' state: the observations carry
//! everything the three properties need.

mod agreement;
mod fresh_reads;
mod sequences;

use agreement::Agreement;
use fresh_reads::FreshReads;
use sequences::IdenticalSequences;

use super::{Entry, MultiPaxos, MultiPaxosObservation, Slot};
use crate::node::{Checker, NodeId, Setup, Time, Violation, MILLISECOND};

/// Multi-Paxos's online checker.
#[derive(Debug)]
pub struct MultiPaxosChecker {
    agreement: Agreement,
    sequences: IdenticalSequences,
    fresh_reads: FreshReads,
}

impl MultiPaxosChecker {
    pub fn new(setup: &Setup) -> MultiPaxosChecker {
        MultiPaxosChecker {
            agreement: Agreement::new(setup.majority()),
            sequences: IdenticalSequences::default(),
            fresh_reads: FreshReads::default(),
        }
    }

    /// The entry chosen in `slot` so far, if any.
    pub fn chosen(&self, slot: Slot) -> Option<&Entry> {
        self.agreement.chosen(slot)
    }
}

impl Checker<MultiPaxos> for MultiPaxosChecker {
    fn observe(&mut self, at: Time, node: NodeId, observation: &MultiPaxosObservation) -> Result<(), Violation> {
        match observation {
            MultiPaxosObservation::LeaderElected { .. } => Ok(()),
            MultiPaxosObservation::Accepted { ballot, slot, entry } => {
                self.agreement.on_accepted(at, node, *ballot, *slot, entry)
            }
            MultiPaxosObservation::Chosen { slot, entry } => self.agreement.on_learned(at, node, *slot, entry),
            MultiPaxosObservation::Executed { slot, entry } => {
                self.sequences.on_executed(at, node, *slot, entry)?;
                self.agreement.on_learned(at, node, *slot, entry)
            }
            MultiPaxosObservation::ReadReceived { client, sequence, key } => {
                self.fresh_reads.on_read_received(*client, *sequence, *key);
                Ok(())
            }
            MultiPaxosObservation::ReadServed { client, sequence, key, through } => {
                self.fresh_reads.on_read_served(at, node, *client, *sequence, *key, *through)
            }
            MultiPaxosObservation::Acknowledged { key, through, .. } => {
                self.fresh_reads.on_acknowledged(at, node, *key, *through);
                Ok(())
            }
        }
    }
}

/// A time for a violation's text, in milliseconds.
fn ms(at: Time) -> String {
    format!("{:.3} ms", at as f64 / MILLISECOND as f64)
}
