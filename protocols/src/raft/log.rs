//! The replicated log (section 5.3): entries indexed from 1, each with the term in which a
//! leader created it, whose committed prefix may be replaced by a snapshot (thesis chapter
//! 5): the log then starts after the snapshot's last included entry, of which it keeps the
//! index and term for the consistency check.
//!
//! The log only grows at the end, except that a follower deletes a suffix that conflicts
//! with its leader's log, and a snapshot it installs may replace the whole log. It counts
//! those deletions, which lets the checkers re-examine only what changed; dropping a
//! compacted prefix is not one. Terms never decrease along a log, because every log is a
//! prefix of some leader's log followed by that leader's entries.

use super::{Entry, Index, StateMachine, Term};
use crate::kv::Store;

/// A server's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log<M: StateMachine = Store> {
    /// The last index and term the snapshot covers (0 and 0 without one).
    snapshot_index: Index,
    snapshot_term: Term,
    /// The entries from `snapshot_index + 1` on.
    entries: Vec<Entry<M>>,
    truncations: u64,
}

impl<M: StateMachine> Log<M> {
    /// The index of the last entry (or of the snapshot's last entry), 0 when empty.
    pub fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    /// The term of the last entry, 0 when the log is empty.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |entry| entry.term)
    }

    /// The last index the snapshot covers: entries up to it are compacted away.
    pub fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    /// The index of the first entry the log holds (past the last one when it holds none).
    pub fn first_index(&self) -> Index {
        self.snapshot_index + 1
    }

    /// The term of the entry at `index` (0 for index 0, the snapshot's for its last
    /// index), `None` past the end or inside the snapshot.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|entry| entry.term)
    }

    /// Whether the log holds the entry of `term` at `index`, in its entries or (for an
    /// index the snapshot covers, whose entries are all committed) in its snapshot.
    pub fn holds(&self, index: Index, term: Term) -> bool {
        index < self.snapshot_index || self.term_at(index) == Some(term)
    }

    /// The entry at `index`, `None` if it is compacted away or past the end.
    pub fn entry(&self, index: Index) -> Option<&Entry<M>> {
        let position = usize::try_from(index.checked_sub(self.snapshot_index + 1)?).ok()?;
        self.entries.get(position)
    }

    /// The entries from `index` (after the snapshot, at most `last_index + 1`) to the end.
    pub fn entries_from(&self, index: Index) -> &[Entry<M>] {
        assert!(index > self.snapshot_index && index <= self.last_index() + 1, "no entries from {index}");
        &self.entries[(index - self.snapshot_index - 1) as usize..]
    }

    /// Every entry after the snapshot, the one at `first_index` first.
    pub fn entries(&self) -> &[Entry<M>] {
        &self.entries
    }

    /// How many times a suffix of this log was deleted, or the log replaced by a snapshot.
    pub fn truncations(&self) -> u64 {
        self.truncations
    }

    /// Whether a log ending with `last_log_term` at `last_log_index` is at least as up to
    /// date as this one (section 5.4.1): a later last term wins; with equal last terms, the
    /// longer log does.
    pub fn is_up_to_date(&self, last_log_term: Term, last_log_index: Index) -> bool {
        (last_log_term, last_log_index) >= (self.last_term(), self.last_index())
    }

    /// Where the leader should retry after this log failed the consistency check for
    /// `prev_log_index` (section 5.3, the optimisation at its end): past the end, the last
    /// index; on a term conflict, the index before the first entry of the conflicting term
    /// (at least the snapshot's last index, which matches every leader's log).
    pub fn conflict_hint(&self, prev_log_index: Index) -> Index {
        let Some(conflicting) = self.term_at(prev_log_index) else {
            return self.last_index();
        };
        let mut index = prev_log_index;
        while index > self.snapshot_index && self.term_at(index) == Some(conflicting) {
            index -= 1;
        }
        index
    }

    pub(super) fn append(&mut self, entry: Entry<M>) {
        debug_assert!(entry.term >= self.last_term(), "terms never decrease along a log");
        self.entries.push(entry);
    }

    /// Makes the log from `from` on equal to `entries`, deleting what was there.
    pub(super) fn replace_from(&mut self, from: Index, entries: &[Entry<M>]) {
        assert!(from > self.snapshot_index && from <= self.last_index() + 1, "cannot write entries from {from}");
        if from <= self.last_index() {
            self.entries.truncate((from - self.snapshot_index - 1) as usize);
            self.truncations += 1;
        }
        self.entries.extend_from_slice(entries);
    }

    /// Adds `entries`, which follow `prev_log_index` in the leader's log, keeping entries
    /// that already match and deleting the suffix from the first conflict (section 5.3,
    /// AppendEntries steps 3 and 4). Entries the snapshot covers are skipped: they are
    /// committed, so they match. Returns the first index written, if any.
    pub(super) fn merge(&mut self, prev_log_index: Index, entries: &[Entry<M>]) -> Option<Index> {
        let covered = self.snapshot_index.saturating_sub(prev_log_index).min(entries.len() as Index);
        let (prev_log_index, entries) = (prev_log_index + covered, &entries[covered as usize..]);
        let offset = entries
            .iter()
            .enumerate()
            .position(|(offset, entry)| self.term_at(prev_log_index + 1 + offset as Index) != Some(entry.term))?;
        let first = prev_log_index + 1 + offset as Index;
        self.replace_from(first, &entries[offset..]);
        Some(first)
    }

    /// Drops the entries up to `index` (at most the last index), which a snapshot now
    /// covers (thesis 5.1).
    pub(super) fn compact(&mut self, index: Index) {
        if index <= self.snapshot_index {
            return;
        }
        let term = self.term_at(index).expect("compaction within the log");
        self.entries.drain(..(index - self.snapshot_index) as usize);
        (self.snapshot_index, self.snapshot_term) = (index, term);
    }

    /// Starts the log at a snapshot covering up to `index` of `term`: the entries after it
    /// are kept if the log holds that entry (Figure 5.3, step 6), else the whole log is
    /// discarded (step 7).
    pub(super) fn restore(&mut self, index: Index, term: Term) {
        if index >= self.snapshot_index && self.term_at(index) == Some(term) {
            return self.compact(index);
        }
        self.discard(index, term);
    }

    /// Replaces the whole log by a snapshot covering up to `index` of `term`.
    pub(super) fn discard(&mut self, index: Index, term: Term) {
        if !self.entries.is_empty() || index < self.snapshot_index {
            self.truncations += 1;
        }
        self.entries.clear();
        (self.snapshot_index, self.snapshot_term) = (index, term);
    }
}
