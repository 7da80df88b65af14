//! Leader completeness (Figure 3, section 5.4): if an entry is committed in a term, it is
//! present in the logs of the leaders of all higher terms.
//!
//! Commits are kept in the order observed. For each server that leads, the checker
//! remembers its term and how many commits it has checked against its log; after each
//! event it checks only the commits observed since, against the server that handled the
//! event and every other leader, and a new term starts from the first commit. The full form
//! checks every commit against every leader after every event.
//! A leader's log only grows (leader append-only), so what was checked stays checked. An
//! entry its snapshot covers counts as held: a snapshot holds committed entries only, as
//! state machine safety checks at its last index.

use super::ms;
use crate::node::{NodeId, Time, Violation};
use crate::raft::{Index, RaftHost, RaftServer, Role, Term};

#[derive(Debug, Default)]
pub(super) struct LeaderCompleteness {
    commits: Vec<Commit>,
    /// Per server (by id) leading now: its term and how many of `commits` it was checked
    /// against.
    leaders: Vec<Option<(Term, usize)>>,
    /// How many commits every leader was checked against when `inspect_other_leaders`
    /// last finished (the server of the event was just checked by `inspect`).
    settled: usize,
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

    /// `id` restarted: whatever it led is over.
    pub(super) fn forget(&mut self, id: NodeId) {
        if let Some(leader) = self.leaders.get_mut(id as usize) {
            *leader = None;
        }
    }

    /// `id` handled an event: if it leads, the commits observed since it was last checked
    /// must be in its log (all of them in the full form, or when it starts to lead).
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
        let term = server.current_term();
        if self.leaders.len() <= id as usize {
            self.leaders.resize(id as usize + 1, None);
        }
        let checked = match self.leaders[id as usize] {
            Some((leader_term, checked)) if leader_term == term && !full => checked,
            _ => 0,
        };
        self.leaders[id as usize] = Some((term, self.commits.len()));
        self.check(at, id, server, checked)
    }

    /// After `node`'s event, every other server known to lead (a server starts to lead only
    /// by an event of its own) against the commits observed since it was last checked;
    /// those that no longer lead (crashed) are forgotten.
    pub(super) fn inspect_other_leaders<'w, H: RaftHost>(
        &mut self,
        at: Time,
        node: NodeId,
        server: impl Fn(NodeId) -> Option<&'w RaftServer<H>>,
    ) -> Result<(), Violation> {
        let commits = self.commits.len();
        if self.settled == commits {
            return Ok(());
        }
        for id in 0..self.leaders.len() as NodeId {
            let Some((term, checked)) = self.leaders[id as usize] else { continue };
            if id == node || checked == commits {
                continue;
            }
            let Some(leader) = server(id).filter(|s| s.role() == Role::Leader && s.current_term() == term) else {
                self.leaders[id as usize] = None;
                continue;
            };
            self.leaders[id as usize] = Some((term, commits));
            self.check(at, id, leader, checked)?;
        }
        self.settled = commits;
        Ok(())
    }

    /// The commits from `from` on, of terms before `server`'s, must be in its log.
    fn check<H: RaftHost>(&self, at: Time, id: NodeId, server: &RaftServer<H>, from: usize) -> Result<(), Violation> {
        let term = server.current_term();
        let earlier = self.commits[from..].iter().filter(|commit| commit.leader_term < term);
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
