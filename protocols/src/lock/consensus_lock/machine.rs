//! The consensus lock's replicated state machine: the lock's waiters as keys, each with a
//! session lease, in the order of their revisions (the Raft log index of the entry that
//! created them), as etcd's `concurrency.Mutex` keeps them under a lock prefix.
//!
//! The holder is the live key of the lowest revision, and its revision is its fencing
//! token: no other key gets it, later keys get larger ones, and every key below a holder is
//! gone before it holds. A key's lease runs on the clock of the leader that appended the
//! entry that set it ([`Stamp::time`], the same on every replica); a key whose lease is
//! over when an entry is applied is deleted then (etcd's lessor revokes expired leases;
//! here expiry is found when the next entry looks). When an entry of a newer term is
//! applied, every key's lease is extended to a full lease from that entry's time, as
//! etcd's lessor does when a member is promoted: the new leader's clock is not the old
//! one's, so no key expires early by it.
//!
//! Every operation is an update (nothing is answered by ReadIndex), so that a key deleted
//! once stays deleted for everyone.

use std::collections::BTreeMap;
use std::fmt;

use crate::lock::{ms, Tenure};
use crate::node::Time;
use crate::raft::{Index, Stamp, StateMachine, Term};

/// What a lock client asks of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockTableOperation {
    /// Create `tenure`'s key with a lease of `ttl` (a repeat finds it).
    Acquire { tenure: Tenure, ttl: Time },
    /// Is `tenure`'s key there, and is a live key of a revision below `revision` (the
    /// key's, as `Acquire` returned it) ahead of it? Also renews the key's lease for `ttl`:
    /// a waiter keeps its session alive as it polls (etcd's `waitDeletes` and keep-alive).
    Check { tenure: Tenure, revision: Index, ttl: Time },
    /// Renew `tenure`'s lease for `ttl` from now.
    KeepAlive { tenure: Tenure, ttl: Time },
    /// Delete `tenure`'s key; with `any` (variant `unlock-any`), delete the holder's key,
    /// whoever's it is. The flag travels with the operation because Raft builds its machine
    /// with `Default`, which knows no variant.
    Release { tenure: Tenure, any: bool },
}

impl fmt::Display for LockTableOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockTableOperation::Acquire { tenure, ttl } => write!(f, "acquire {tenure} for {}", ms(*ttl)),
            LockTableOperation::Check { tenure, revision, ttl } => {
                write!(f, "check {tenure} (revision {revision}) for {}", ms(*ttl))
            }
            LockTableOperation::KeepAlive { tenure, ttl } => write!(f, "keep {tenure} alive for {}", ms(*ttl)),
            LockTableOperation::Release { tenure, any: false } => write!(f, "release {tenure}"),
            LockTableOperation::Release { tenure, any: true } => write!(f, "release the holder's key ({tenure})"),
        }
    }
}

/// What an operation returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockTableOutput {
    /// `key`: the tenure's key (its revision and the lease it has left, on the leader's
    /// clock), or none if it is gone; `ahead`: whether a live key of a lower revision is
    /// ahead of it (of a revision below the one asked about, when it is gone).
    Position {
        key: Option<(Index, Time)>,
        ahead: bool,
    },
    Released,
}

/// One waiter's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub tenure: Tenure,
    pub ttl: Time,
    /// When its lease is over, on the clock of the leader that set it.
    pub expires: Time,
}

/// The lock's keys by revision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LockTable {
    /// The term of the latest entry applied.
    term: Term,
    keys: BTreeMap<Index, Key>,
}

impl LockTable {
    /// The keys, by revision.
    pub fn keys(&self) -> &BTreeMap<Index, Key> {
        &self.keys
    }

    /// The holder: the live key of the lowest revision (as of the latest entry applied).
    pub fn holder(&self) -> Option<(Index, &Key)> {
        self.keys.iter().next().map(|(revision, key)| (*revision, key))
    }

    fn revision_of(&self, tenure: Tenure) -> Option<Index> {
        self.keys.iter().find(|(_, key)| key.tenure == tenure).map(|(revision, _)| *revision)
    }

    /// `tenure`'s position at `now`, the keys expired by then being dead: its key, and
    /// whether a live key below its revision (or below `below`, if it has none) is ahead.
    fn position(&self, tenure: Tenure, below: Index, now: Time) -> LockTableOutput {
        let live = |key: &Key| now < key.expires;
        let own = self.keys.iter().find(|(_, key)| key.tenure == tenure && live(key));
        let below = own.map_or(below, |(&revision, _)| revision);
        let ahead = self.keys.range(..below).any(|(_, key)| live(key));
        LockTableOutput::Position { key: own.map(|(&revision, key)| (revision, key.expires - now)), ahead }
    }
}

impl StateMachine for LockTable {
    type Operation = LockTableOperation;
    type Output = LockTableOutput;

    fn is_query(_operation: &LockTableOperation) -> bool {
        false
    }

    fn apply(&mut self, stamp: &Stamp, operation: &LockTableOperation) -> LockTableOutput {
        let now = stamp.time;
        if stamp.term > self.term {
            self.term = stamp.term;
            for key in self.keys.values_mut() {
                key.expires = key.expires.max(now + key.ttl);
            }
        }
        self.keys.retain(|_, key| now < key.expires);
        match *operation {
            LockTableOperation::Acquire { tenure, ttl } => {
                if self.revision_of(tenure).is_none() {
                    self.keys.insert(stamp.index, Key { tenure, ttl, expires: now + ttl });
                }
                self.position(tenure, stamp.index, now)
            }
            LockTableOperation::Check { tenure, ttl, .. } | LockTableOperation::KeepAlive { tenure, ttl } => {
                if let Some(key) = self.keys.values_mut().find(|key| key.tenure == tenure) {
                    key.ttl = ttl;
                    key.expires = key.expires.max(now + ttl);
                }
                let below = match *operation {
                    LockTableOperation::Check { revision, .. } => revision,
                    _ => stamp.index,
                };
                self.position(tenure, below, now)
            }
            LockTableOperation::Release { tenure, any } => {
                let holder = self.holder().map(|(revision, _)| revision).filter(|_| any);
                if let Some(revision) = holder.or_else(|| self.revision_of(tenure)) {
                    self.keys.remove(&revision);
                }
                LockTableOutput::Released
            }
        }
    }

    /// Never called (no operation is a query); answers as a check would, without deleting.
    fn query(&self, stamp: &Stamp, operation: &LockTableOperation) -> LockTableOutput {
        match *operation {
            LockTableOperation::Release { .. } => LockTableOutput::Released,
            LockTableOperation::Check { tenure, revision, .. } => self.position(tenure, revision, stamp.time),
            LockTableOperation::Acquire { tenure, .. } | LockTableOperation::KeepAlive { tenure, .. } => {
                self.position(tenure, stamp.index, stamp.time)
            }
        }
    }
}
