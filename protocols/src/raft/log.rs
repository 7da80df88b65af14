//! The replicated log (section 5.3): entries indexed from 1, each with the term in which a
//! leader created it.
//!
//! The log only grows at the end, except that a follower deletes a suffix that conflicts
//! with its leader's log. It counts those deletions, which lets the checkers re-examine
//! only what changed. Terms never decrease along a log, because every log is a prefix of
//! some leader's log followed by that leader's entries.

use super::{Entry, Index, StateMachine, Term};
use crate::kv::Store;

/// A server's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log<M: StateMachine = Store> {
    entries: Vec<Entry<M>>,
    truncations: u64,
}

impl<M: StateMachine> Log<M> {
    /// The index of the last entry, 0 when the log is empty.
    pub fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    /// The term of the last entry, 0 when the log is empty.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |entry| entry.term)
    }

    /// The term of the entry at `index` (0 for index 0), `None` past the end.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        self.entry(index).map(|entry| entry.term)
    }

    /// The entry at `index`, `None` for index 0 or past the end.
    pub fn entry(&self, index: Index) -> Option<&Entry<M>> {
        let position = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(position)
    }

    /// The entries from `index` (at most `last_index + 1`) to the end.
    pub fn entries_from(&self, index: Index) -> &[Entry<M>] {
        assert!(index >= 1 && index <= self.last_index() + 1, "no entries from {index}");
        &self.entries[(index - 1) as usize..]
    }

    /// Every entry, the one at index 1 first.
    pub fn entries(&self) -> &[Entry<M>] {
        &self.entries
    }

    /// How many times a suffix of this log was deleted.
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
    /// index; on a term conflict, the index before the first entry of the conflicting term.
    pub fn conflict_hint(&self, prev_log_index: Index) -> Index {
        let Some(conflicting) = self.term_at(prev_log_index) else {
            return self.last_index();
        };
        let mut index = prev_log_index;
        while index > 0 && self.term_at(index) == Some(conflicting) {
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
        assert!(from >= 1 && from <= self.last_index() + 1, "cannot write entries from {from}");
        if from <= self.last_index() {
            self.entries.truncate((from - 1) as usize);
            self.truncations += 1;
        }
        self.entries.extend_from_slice(entries);
    }

    /// Adds `entries`, which follow `prev_log_index` in the leader's log, keeping entries
    /// that already match and deleting the suffix from the first conflict (section 5.3,
    /// AppendEntries steps 3 and 4). Returns the first index written, if any.
    pub(super) fn merge(&mut self, prev_log_index: Index, entries: &[Entry<M>]) -> Option<Index> {
        let offset = entries
            .iter()
            .enumerate()
            .position(|(offset, entry)| self.term_at(prev_log_index + 1 + offset as Index) != Some(entry.term))?;
        let first = prev_log_index + 1 + offset as Index;
        self.replace_from(first, &entries[offset..]);
        Some(first)
    }
}
