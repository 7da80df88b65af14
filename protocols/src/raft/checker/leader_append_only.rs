//! Leader append-only (Figure 3, section 5.3): a leader never overwrites or deletes entries
//! in its log. For each server that leads, the checker remembers its term, log length and
//! truncation count; while it leads in that term, the length may only grow and the count
//! may not change.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::raft::{Index, RaftHost, RaftServer, Role, Term};

#[derive(Debug, Default)]
pub(super) struct LeaderAppendOnly {
    /// Per server leading now: its term, last index and truncations when last inspected.
    leaders: BTreeMap<NodeId, (Term, Index, u64)>,
}

impl LeaderAppendOnly {
    pub(super) fn inspect<H: RaftHost>(
        &mut self,
        at: Time,
        id: NodeId,
        server: Option<&RaftServer<H>>,
    ) -> Result<(), Violation> {
        let Some(server) = server.filter(|server| server.role() == Role::Leader) else {
            self.leaders.remove(&id);
            return Ok(());
        };
        let log = server.log();
        let now = (server.current_term(), log.last_index(), log.truncations());
        let previous = self.leaders.insert(id, now);
        let Some((term, last_index, truncations)) = previous.filter(|previous| previous.0 == now.0) else {
            return Ok(());
        };
        if now.1 >= last_index && now.2 == truncations {
            return Ok(());
        }
        Err(Violation {
            invariant: "leader-append-only",
            evidence: vec![(id, at)],
            nodes: vec![id],
            detail: format!(
                "server {id}, leader of term {term}, had {last_index} entries and deleted some by {} \
                 (it now has {})",
                ms(at),
                now.1
            ),
        })
    }
}
