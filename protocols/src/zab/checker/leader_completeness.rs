//! Leader log completeness (Medeiros section 2.3, the property discovery and
//! synchronization exist for): the history of a leader that established epoch `e` holds every
//! transaction committed in an epoch before `e`, whenever it was committed.
//!
//! Commits are kept in the order known. For each server that leads an established epoch the
//! checker remembers how many commits it has checked against the leader's history; each
//! inspection checks only the commits since (a leader's history only grows while it leads).

use std::collections::BTreeMap;

use super::{ms, Commit};
use crate::node::{NodeId, Time, Violation};
use crate::zab::{Epoch, ZabServer};

#[derive(Debug, Default)]
pub(super) struct LeaderCompleteness {
    commits: Vec<Commit>,
    /// Per server leading now: its epoch and how many of `commits` it was checked against.
    leaders: BTreeMap<NodeId, (Epoch, usize)>,
}

impl LeaderCompleteness {
    pub(super) fn on_committed(&mut self, commit: Commit) {
        self.commits.push(commit);
    }

    pub(super) fn inspect(&mut self, at: Time, id: NodeId, server: Option<&ZabServer>) -> Result<(), Violation> {
        let Some((server, epoch)) = server.and_then(|server| Some((server, server.established_epoch()?))) else {
            self.leaders.remove(&id);
            return Ok(());
        };
        let checked = match self.leaders.get(&id) {
            Some(&(leader_epoch, checked)) if leader_epoch == epoch => checked,
            _ => 0,
        };
        self.leaders.insert(id, (epoch, self.commits.len()));
        let earlier = self.commits[checked..].iter().filter(|commit| commit.zxid.epoch < epoch);
        let Some(missing) = earlier.into_iter().find(|commit| server.history().position(commit.zxid).is_none()) else {
            return Ok(());
        };
        Err(Violation {
            invariant: "leader-completeness",
            nodes: vec![missing.node, id],
            evidence: vec![(missing.node, missing.at), (id, at)],
            detail: format!(
                "server {} committed {} at {}, but server {id}, leader of epoch {epoch}, lacks it at {}",
                missing.node,
                missing.zxid,
                ms(missing.at),
                ms(at)
            ),
        })
    }
}
