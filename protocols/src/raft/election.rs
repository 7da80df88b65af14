//! Leader election (section 5.2) with the election restriction of section 5.4.1.
//!
//! A follower or candidate whose election timer fires starts an election: it increments its
//! term, votes for itself, persists both and asks every other server for its vote. A server
//! grants one vote per term, persisted before it answers, and only to a candidate whose log
//! is at least as up to date as its own. Votes from a majority make the candidate leader:
//! it stops its election timer, appends the no-op of its term (except in `commit-old-term`,
//! whose leaders, as in Figure 8, append none) and starts replicating.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::server::{Leadership, Progress, State};
use super::{Entry, Flaw, Payload, RaftHost, RaftMessage, RaftObservation, RaftServer, RequestVote, ServerTimer, Vote};
use crate::node::{NodeId, ServerContext};

impl<H: RaftHost> RaftServer<H> {
    pub(super) fn on_election_timeout(&mut self, ctx: &mut ServerContext<H>) {
        if matches!(self.state, State::Leader(_)) {
            return;
        }
        self.current_term += 1;
        self.voted_for = Some(self.id);
        self.leader = None;
        self.state = State::Candidate { votes: BTreeSet::from([self.id]) };
        self.persist_term(ctx);
        self.reset_election_timer(ctx);
        if self.majority == 1 {
            return self.become_leader(ctx);
        }
        let request = RequestVote {
            term: self.current_term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.peers() {
            Self::send_after_sync(ctx, peer, RaftMessage::RequestVote(request.clone()));
        }
    }

    pub(super) fn on_request_vote(&mut self, ctx: &mut ServerContext<H>, candidate: NodeId, request: RequestVote) {
        let newer = self.adopt_term(ctx, request.term, None);
        let granted = self.grants_vote(candidate, &request);
        let first_vote = granted && self.voted_for.is_none();
        if granted {
            self.voted_for = Some(candidate);
            self.reset_election_timer(ctx);
        }
        if newer || first_vote {
            self.persist_term(ctx);
        }
        let vote = Vote { term: self.current_term, granted };
        Self::send_after_sync(ctx, candidate, RaftMessage::RequestVoteResponse(vote));
    }

    pub(super) fn on_vote(&mut self, ctx: &mut ServerContext<H>, voter: NodeId, vote: Vote) {
        if self.adopt_term(ctx, vote.term, None) {
            return self.persist_term(ctx);
        }
        if vote.term != self.current_term || !vote.granted {
            return;
        }
        let State::Candidate { votes } = &mut self.state else { return };
        votes.insert(voter);
        if votes.len() >= self.majority {
            self.become_leader(ctx);
        }
    }

    /// Section 5.2: one vote per term, first come first served; section 5.4.1: only for a
    /// log at least as up to date as ours.
    fn grants_vote(&self, candidate: NodeId, request: &RequestVote) -> bool {
        request.term == self.current_term
            && self.voted_for.is_none_or(|voted_for| voted_for == candidate)
            && (self.flaw == Flaw::VoteWithoutLogCheck
                || self.log.is_up_to_date(request.last_log_term, request.last_log_index))
    }

    fn become_leader(&mut self, ctx: &mut ServerContext<H>) {
        Self::observe(ctx, RaftObservation::LeaderElected { term: self.current_term });
        ctx.cancel_timer(H::timer(ServerTimer::Election));
        self.leader = Some(self.id);
        // Followers are first probed just past the old log, so the no-op goes out alone (and
        // without one, the probe is a heartbeat).
        let next_index = self.log.last_index() + 1;
        let progress = Progress { next_index, match_index: 0, round_acked: 0 };
        let peers = self.peers().map(|peer| (peer, progress.clone())).collect();
        if self.opens_term_with_noop() {
            self.log.append(Entry { term: self.current_term, time: ctx.monotonic(), payload: Payload::Noop });
            self.persist_entries(ctx, next_index);
        }
        self.state = State::Leader(Leadership {
            peers,
            term_start: next_index,
            round: 0,
            requests: BTreeMap::new(),
            reads: VecDeque::new(),
        });
        self.broadcast(ctx);
        ctx.set_timer(self.heartbeat_interval(), H::timer(ServerTimer::Heartbeat));
        self.advance_commit(ctx);
    }
}
