//! Leader append-only (Figure 3, section 5.3): a leader never overwrites or deletes entries
//! in its log.
//!
//! Incremental form: for each server that leads, the checker remembers its term, log
//! length and truncation count; while it leads in that term, the length may only grow and
//! the count may not change. Full form: it remembers the (index, term) of every entry the
//! leader's log held, and checks that each of them is still there (or compacted into its
//! snapshot, which is no deletion) after every event.

use super::{ms, slot};
use crate::node::{NodeId, Time, Violation};
use crate::raft::{Index, RaftHost, RaftServer, Role, Term};

/// A leader's term and the (index, term) of every entry its log held.
type TermLog = (Term, Vec<(Index, Term)>);

#[derive(Debug, Default)]
pub(super) struct LeaderAppendOnly {
    /// Per server (by id) leading now: its term, last index and truncations when last
    /// inspected. A table, not a map: every event of a follower clears its entry.
    leaders: Vec<Option<(Term, Index, u64)>>,
    /// Full form: per server leading now, its term and its log's (index, term) pairs.
    logs: Vec<Option<TermLog>>,
}

impl LeaderAppendOnly {
    /// `id` restarted: whatever it led is over.
    pub(super) fn forget(&mut self, id: NodeId) {
        if let Some(leader) = self.leaders.get_mut(id as usize) {
            *leader = None;
        }
        if let Some(log) = self.logs.get_mut(id as usize) {
            *log = None;
        }
    }

    /// `id` handled an event (or, in the full form, some server did).
    pub(super) fn inspect<H: RaftHost>(
        &mut self,
        at: Time,
        id: NodeId,
        server: Option<&RaftServer<H>>,
        full: bool,
    ) -> Result<(), Violation> {
        let Some(server) = server.filter(|server| server.role() == Role::Leader) else {
            self.forget(id);
            return Ok(());
        };
        match full {
            false => self.check_length(at, id, server),
            true => self.check_whole_log(at, id, server),
        }
    }

    /// The incremental form: the log's length and truncation count.
    fn check_length<H: RaftHost>(&mut self, at: Time, id: NodeId, server: &RaftServer<H>) -> Result<(), Violation> {
        let log = server.log();
        let now = (server.current_term(), log.last_index(), log.truncations());
        let previous = slot(&mut self.leaders, id as usize).replace(now);
        let Some((term, last_index, truncations)) = previous.filter(|previous| previous.0 == now.0) else {
            return Ok(());
        };
        if now.1 >= last_index && now.2 == truncations {
            return Ok(());
        }
        Err(violation(at, id, term, last_index, now.1))
    }

    /// The full form: the whole log, compared with the whole log at the last event.
    fn check_whole_log<H: RaftHost>(&mut self, at: Time, id: NodeId, server: &RaftServer<H>) -> Result<(), Violation> {
        let (term, log) = (server.current_term(), server.log());
        let entries: Vec<(Index, Term)> =
            (log.first_index()..=log.last_index()).filter_map(|index| Some((index, log.term_at(index)?))).collect();
        let Some((_, previous)) =
            slot(&mut self.logs, id as usize).replace((term, entries)).filter(|(previous, _)| *previous == term)
        else {
            return Ok(());
        };
        if previous.iter().all(|&(index, entry_term)| log.holds(index, entry_term)) {
            return Ok(());
        }
        let last_index = previous.last().map_or(0, |&(index, _)| index);
        Err(violation(at, id, term, last_index, log.last_index()))
    }
}

fn violation(at: Time, id: NodeId, term: Term, last_index: Index, now: Index) -> Violation {
    Violation {
        invariant: "leader-append-only",
        evidence: vec![(id, at)],
        nodes: vec![id],
        detail: format!(
            "server {id}, leader of term {term}, had {last_index} entries and deleted some by {} (it now has \
             {now})",
            ms(at)
        ),
    }
}
