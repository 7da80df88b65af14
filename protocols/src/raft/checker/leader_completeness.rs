//! Leader completeness (Figure 3, section 5.4): if an entry is committed in a term, it is
//! present in the logs of the leaders of all higher terms.
//!
//! Commits are kept in the order observed. For each server that leads, the checker
//! remembers its term and how many commits it has checked against its log; each inspection
//! checks only the commits observed since, and a new term starts from the first commit.
//! A leader's log only grows (leader append-only), so what was checked stays checked. An
//! entry its snapshot covers counts as held: a snapshot holds committed entries only, as
//! state machine safety checks at its last index.

use std::collections::BTreeMap;

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::raft::{Index, RaftHost, RaftServer, Role, Term};

#[derive(Debug, Default)]
pub(super) struct LeaderCompleteness {
    commits: Vec<Commit>,
    /// Per server leading now: its term and how many of `commits` it was checked against.
    leaders: BTreeMap<NodeId, (Term, usize)>,
}

#[derive(Debug)]
struct Commit {
    index: Index,
    term: Term,
    leader_term: Term,
    node: NodeId,
    at: Time,
}

impl LeaderCompleteness {
    pub(super) fn on_committed(&mut self, at: Time, node: NodeId, index: Index, term: Term, leader_term: Term) {
        self.commits.push(Commit { index, term, leader_term, node, at });
    }

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
        let term = server.current_term();
        let checked = match self.leaders.get(&id) {
            Some(&(leader_term, checked)) if leader_term == term => checked,
            _ => 0,
        };
        self.leaders.insert(id, (term, self.commits.len()));
        let earlier = self.commits[checked..].iter().filter(|commit| commit.leader_term < term);
        let Some(missing) = earlier.into_iter().find(|commit| !server.log().holds(commit.index, commit.term)) else {
            return Ok(());
        };
        Err(Violation {
            invariant: "leader-completeness",
            evidence: vec![(missing.node, missing.at), (id, at)],
            nodes: vec![missing.node, id],
            detail: format!(
                "server {} committed entry ({}, term {}) in term {} at {}, but server {id}, leader of term \
                 {term}, lacks it at {}",
                missing.node,
                missing.index,
                missing.term,
                missing.leader_term,
                ms(missing.at),
                ms(at)
            ),
        })
    }
}
