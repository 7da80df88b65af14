//! A participant's lock table and its vote (the resource manager's side of the prepare).
//!
//! A participant that votes yes promises to commit if told to, so it must keep the
//! transaction's keys from anyone else until the decision: it locks them when it votes yes
//! and releases them when it learns the outcome (strict two-phase locking, BHG chapter 3).
//! Locks are no-wait: a transaction that finds one of its keys locked by another undecided
//! transaction gets a no vote at once instead of waiting, so votes never wait and no
//! deadlock can form. The locks of a prepared transaction are part of its durable prepare
//! record, so a participant that restarts takes them again.

use std::collections::BTreeMap;

use super::{Share, TransactionId};
use crate::service::Key;

/// Which undecided transaction holds each locked key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockTable {
    holders: BTreeMap<Key, TransactionId>,
}

impl LockTable {
    /// The vote on `share` of `transaction`: no if a key is vetoed or locked by another
    /// transaction; otherwise yes, with every key of the share locked for `transaction`.
    pub fn vote(&mut self, transaction: TransactionId, share: &Share) -> bool {
        share.vetoes.is_empty() && self.lock(transaction, &share.keys)
    }

    /// Locks every key in `keys` for `transaction`, or none if another transaction holds one.
    pub fn lock(&mut self, transaction: TransactionId, keys: &[Key]) -> bool {
        let free = keys.iter().all(|key| self.holders.get(key).is_none_or(|&holder| holder == transaction));
        if free {
            self.holders.extend(keys.iter().map(|&key| (key, transaction)));
        }
        free
    }

    /// Releases the keys `transaction` holds.
    pub fn release(&mut self, transaction: TransactionId) {
        self.holders.retain(|_, holder| *holder != transaction);
    }

    /// The transaction holding `key`, if any.
    pub fn holder(&self, key: Key) -> Option<TransactionId> {
        self.holders.get(&key).copied()
    }

    /// Whether `transaction` holds every key in `keys`.
    pub fn holds(&self, transaction: TransactionId, keys: &[Key]) -> bool {
        keys.iter().all(|&key| self.holder(key) == Some(transaction))
    }

    /// The transactions holding locks, without repeats.
    pub fn holders(&self) -> impl Iterator<Item = TransactionId> + '_ {
        let mut seen = std::collections::BTreeSet::new();
        self.holders.values().copied().filter(move |holder| seen.insert(*holder))
    }
}
