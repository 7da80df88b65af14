//! Log matching (Figure 3, section 5.3): if two logs contain an entry with the same index
//! and term, the logs are identical in all entries up through that index.
//!
//! The checker keeps, for every (index, term) ever seen in any log, the entry's payload
//! and the term of the entry before it. Two logs that agree on those for every entry agree
//! on whole prefixes, by induction on the index; so the property holds for every pair of
//! logs, now and at any earlier time, exactly when no log ever shows an (index, term) with
//! a different payload or predecessor. Per server the checker remembers how much of its
//! log it has seen and its truncation count, and re-examines only new entries, or the whole
//! log after a truncation or a restart (the incremental form); the full form re-examines
//! every entry of every log after every event. A compacted prefix is no longer there to compare:
//! the first entry after a snapshot is checked against the snapshot's last term.

use std::collections::BTreeMap;

use super::{ms, slot};
use crate::node::{NodeId, Time, Violation};
use crate::raft::{Index, Payload, RaftHost, RaftServer, StateMachine, Term};

#[derive(Debug, Default)]
pub(super) struct LogMatching<M: StateMachine> {
    /// By index, the first term seen there and its entry: nearly every index only ever
    /// holds one term, and a table finds it without a search.
    first: Vec<Option<(Term, Seen<M>)>>,
    /// The entries of the other terms seen at an index (logs that diverged).
    others: BTreeMap<(Index, Term), Seen<M>>,
    /// Per live server (by id): its last index and truncation count when last inspected.
    checked: Vec<Option<(Index, u64)>>,
}

/// An entry as first seen.
#[derive(Debug)]
struct Seen<M: StateMachine> {
    previous_term: Term,
    payload: Payload<M>,
    node: NodeId,
    at: Time,
}

impl<M: StateMachine> LogMatching<M> {
    /// `id` restarted: its log is read anew.
    pub(super) fn forget(&mut self, id: NodeId) {
        if let Some(checked) = self.checked.get_mut(id as usize) {
            *checked = None;
        }
    }

    /// The full form: every entry of `id`'s log.
    pub(super) fn inspect_whole_log<H: RaftHost<Machine = M>>(
        &mut self,
        at: Time,
        id: NodeId,
        server: Option<&RaftServer<H>>,
    ) -> Result<(), Violation> {
        self.forget(id);
        self.inspect(at, id, server)
    }

    pub(super) fn inspect<H: RaftHost<Machine = M>>(
        &mut self,
        at: Time,
        id: NodeId,
        server: Option<&RaftServer<H>>,
    ) -> Result<(), Violation> {
        let Some(server) = server else {
            self.forget(id);
            return Ok(());
        };
        let log = server.log();
        if self.checked.len() <= id as usize {
            self.checked.resize(id as usize + 1, None);
        }
        let first_new = match self.checked[id as usize] {
            Some((last_index, truncations)) if truncations == log.truncations() && last_index <= log.last_index() => {
                last_index + 1
            }
            _ => 1,
        };
        self.checked[id as usize] = Some((log.last_index(), log.truncations()));
        for index in first_new.max(log.first_index())..=log.last_index() {
            let (Some(entry), Some(previous_term)) = (log.entry(index), log.term_at(index - 1)) else {
                break;
            };
            self.check(at, id, index, entry.term, previous_term, &entry.payload)?;
        }
        Ok(())
    }

    fn check(
        &mut self,
        at: Time,
        id: NodeId,
        index: Index,
        term: Term,
        previous_term: Term,
        payload: &Payload<M>,
    ) -> Result<(), Violation> {
        let first = slot(&mut self.first, index as usize);
        let seen = match first {
            Some((first_term, seen)) if *first_term == term => seen,
            Some(_) => match self.others.get(&(index, term)) {
                Some(seen) => seen,
                None => {
                    let seen = Seen { previous_term, payload: payload.clone(), node: id, at };
                    self.others.insert((index, term), seen);
                    return Ok(());
                }
            },
            None => {
                *first = Some((term, Seen { previous_term, payload: payload.clone(), node: id, at }));
                return Ok(());
            }
        };
        if seen.previous_term == previous_term && seen.payload == *payload {
            return Ok(());
        }
        Err(Violation {
            invariant: "log-matching",
            evidence: vec![(seen.node, seen.at), (id, at)],
            nodes: vec![seen.node, id],
            detail: format!(
                "entry ({index}, term {term}) in server {}'s log at {} follows term {} and holds {:?}; \
                 in server {id}'s log at {} it follows term {previous_term} and holds {payload:?}",
                seen.node,
                ms(seen.at),
                seen.previous_term,
                seen.payload,
                ms(at)
            ),
        })
    }
}
