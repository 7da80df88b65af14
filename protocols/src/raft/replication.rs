//! Log replication (section 5.3) and the commit rule (section 5.4.2).
//!
//! The leader sends each follower the entries from its `next_index` (at most
//! `ENTRIES_PER_MESSAGE_MAX` of them) after the entry at `next_index - 1`, whose term the
//! follower must hold at that index: the consistency check, which by induction keeps every
//! follower's log a prefix of the leader's. It advances `next_index` past what it sent
//! without waiting (pipelining); a refusal moves it back to the follower's hint and the
//! leader sends again, unless the hint is below what the follower already acknowledged (a
//! late or duplicated refusal, which etcd's raft ignores too). A heartbeat is the same message with no entries, so it also repairs
//! a follower that lost an entry.
//!
//! Persistence before acknowledging: a follower answers only once what it wrote is durable
//! (`send_after_sync`), and the leader counts itself only for entries durable on its own
//! disk (`durable_index`), as etcd's raft does with its own appends.
//!
//! The leader commits the highest index that a majority stores (itself included) only if
//! the entry there is of its current term; entries of earlier terms are committed by that
//! one, never by counting their own replicas (Figure 8). Followers take the commit index
//! from `leader_commit`, but never beyond the last entry the message proved they share
//! with the leader.

use super::server::{MachineOf, State};
use super::{
    AppendEntries, AppendEntriesResponse, Flaw, Index, RaftHost, RaftMessage, RaftObservation, RaftServer, ServerTimer,
    ENTRIES_PER_MESSAGE_MAX,
};
use crate::node::{NodeId, ServerContext};

impl<H: RaftHost> RaftServer<H> {
    pub(super) fn on_heartbeat_timeout(&mut self, ctx: &mut ServerContext<H>) {
        if !matches!(self.state, State::Leader(_)) {
            return;
        }
        self.broadcast(ctx);
        ctx.set_timer(self.heartbeat_interval(), H::timer(ServerTimer::Heartbeat));
    }

    pub(super) fn on_append_entries(
        &mut self,
        ctx: &mut ServerContext<H>,
        leader: NodeId,
        request: AppendEntries<MachineOf<H>>,
    ) {
        if request.term < self.current_term {
            return self.refuse_earlier_term(ctx, leader, &request);
        }
        if self.adopt_term(ctx, request.term, Some(leader)) {
            self.persist_term(ctx);
        }
        self.leader = Some(leader);
        self.become_follower(ctx);
        self.reset_election_timer(ctx);
        if !self.log.holds(request.prev_log_index, request.prev_log_term) {
            let hint = self.log.conflict_hint(request.prev_log_index);
            return self.respond(ctx, leader, &request, false, hint);
        }
        if let Some(first_written) = self.log.merge(request.prev_log_index, &request.entries) {
            self.persist_entries(ctx, first_written);
            self.forget_overwritten_commits(first_written);
        }
        let last_new_index = request.prev_log_index + request.entries.len() as Index;
        if request.leader_commit > self.commit_index {
            self.commit_index = self.commit_index.max(request.leader_commit.min(last_new_index));
            self.apply_committed(ctx);
        }
        self.respond(ctx, leader, &request, true, last_new_index);
    }

    pub(super) fn on_append_entries_response(
        &mut self,
        ctx: &mut ServerContext<H>,
        follower: NodeId,
        response: AppendEntriesResponse,
    ) {
        if self.adopt_term(ctx, response.term, None) {
            return self.persist_term(ctx);
        }
        let last_index = self.log.last_index();
        let State::Leader(leadership) = &mut self.state else { return };
        let Some(progress) = leadership.peers.get_mut(&follower) else { return };
        if response.term != self.current_term {
            return;
        }
        progress.round_acked = progress.round_acked.max(response.round);
        if response.success {
            // Capped at our log: only a second leader of this term (a flawed variant) could
            // make a follower report more.
            let matched = progress.match_index;
            progress.match_index = progress.match_index.max(response.match_index.min(last_index));
            progress.next_index = progress.next_index.max(progress.match_index + 1);
            let behind = progress.next_index <= last_index;
            // Nothing else the commit index depends on changes with an acknowledgement.
            if progress.match_index > matched {
                self.advance_commit(ctx);
            }
            if behind {
                self.replicate(ctx, follower);
            }
        } else if response.match_index >= progress.match_index {
            // A hint below what the follower acknowledged is a late copy of an earlier
            // refusal (as etcd's raft ignores a rejection at or below `Match`): resending
            // for it would start another stream of entries beside the one under way.
            let next_index = response.match_index + 1;
            if next_index < progress.next_index {
                progress.next_index = next_index;
                self.replicate(ctx, follower);
            }
        }
        self.serve_reads(ctx);
    }

    /// Sends `AppendEntries` to every follower.
    pub(super) fn broadcast(&mut self, ctx: &mut ServerContext<H>) {
        for peer in self.peers() {
            self.replicate(ctx, peer);
        }
    }

    /// Sends `peer` the entries from its `next_index` (none: a heartbeat), and advances
    /// `next_index` past them; or the snapshot, if the log no longer holds them.
    pub(super) fn replicate(&mut self, ctx: &mut ServerContext<H>, peer: NodeId) {
        if self.send_snapshot_if_needed(ctx, peer) {
            return;
        }
        let State::Leader(leadership) = &mut self.state else { return };
        let Some(progress) = leadership.peers.get_mut(&peer) else { return };
        let prev_log_index = progress.next_index - 1;
        let prev_log_term = self.log.term_at(prev_log_index).expect("next_index <= last log index + 1");
        let pending = self.log.entries_from(progress.next_index);
        let entries = pending[..pending.len().min(ENTRIES_PER_MESSAGE_MAX)].to_vec();
        progress.next_index += entries.len() as Index;
        let request = AppendEntries {
            term: self.current_term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.commit_index,
            round: leadership.round,
        };
        Self::send(ctx, peer, RaftMessage::AppendEntries(request));
    }

    /// Section 5.4.2: commits the highest index stored on a majority if its entry is of the
    /// current term (`commit-old-term` skips that condition), reporting each new index.
    pub(super) fn advance_commit(&mut self, ctx: &mut ServerContext<H>) {
        let State::Leader(leadership) = &self.state else { return };
        let matched = leadership.peers.values().map(|progress| progress.match_index);
        let majority_index = quorum_value(matched.chain([self.durable_index]), self.majority);
        if majority_index <= self.commit_index {
            return;
        }
        if self.flaw != Flaw::CommitOldTerm && self.log.term_at(majority_index) != Some(self.current_term) {
            return;
        }
        for index in self.commit_index + 1..=majority_index {
            let term = self.log.term_at(index).expect("majority_index <= last log index");
            Self::observe(ctx, RaftObservation::Committed { index, term, leader_term: self.current_term });
        }
        self.commit_index = majority_index;
        self.apply_committed(ctx);
    }

    fn respond(
        &self,
        ctx: &mut ServerContext<H>,
        leader: NodeId,
        request: &AppendEntries<MachineOf<H>>,
        success: bool,
        match_index: Index,
    ) {
        let response = AppendEntriesResponse {
            term: self.current_term,
            success,
            match_index,
            round: request.round,
            heartbeat: request.entries.is_empty(),
        };
        Self::send_after_sync(ctx, leader, RaftMessage::AppendEntriesResponse(response));
    }

    /// Section 5.1: a request of an earlier term is refused with our term, which deposes
    /// its sender. The sender may since lead our term, so the refusal acknowledges no round
    /// (it must not confirm a ReadIndex read) and hints at our last index, which backs
    /// nothing up that a leader of our term has sent.
    fn refuse_earlier_term(&self, ctx: &mut ServerContext<H>, leader: NodeId, request: &AppendEntries<MachineOf<H>>) {
        let response = AppendEntriesResponse {
            term: self.current_term,
            success: false,
            match_index: self.log.last_index(),
            round: 0,
            heartbeat: request.entries.is_empty(),
        };
        Self::send_after_sync(ctx, leader, RaftMessage::AppendEntriesResponse(response));
    }

    /// A correct leader never makes a follower delete a committed entry. Under a flawed
    /// variant one may: the follower then lowers its commit index and applies the new
    /// entries, so the state machine safety checker sees the divergence it causes.
    fn forget_overwritten_commits(&mut self, first_written: Index) {
        if first_written <= self.commit_index {
            self.commit_index = first_written - 1;
            self.last_applied = self.last_applied.min(self.commit_index);
        }
    }
}

/// The largest value that at least `majority` of `values` reach (the `majority`-th largest),
/// 0 if there are fewer. It runs on most acknowledgements, so the values of a cluster of up
/// to 16 servers are copied to the stack and compared all against all, without branches
/// (which value is the answer is as good as random); larger clusters are sorted.
pub(super) fn quorum_value(values: impl Iterator<Item = u64>, majority: usize) -> u64 {
    const ON_STACK: usize = 16;
    let (mut stack, mut len, mut heap) = ([0; ON_STACK], 0, Vec::new());
    for value in values {
        match stack.get_mut(len) {
            Some(slot) => *slot = value,
            None => heap.push(value),
        }
        len += 1;
    }
    if len <= ON_STACK {
        let values = &stack[..len];
        let reached_by = |value: u64| values.iter().map(|&other| usize::from(other >= value)).sum::<usize>();
        return values.iter().map(|&value| if reached_by(value) >= majority { value } else { 0 }).max().unwrap_or(0);
    }
    heap.extend_from_slice(&stack);
    heap.sort_unstable_by(|a, b| b.cmp(a));
    majority.checked_sub(1).and_then(|at| heap.get(at)).copied().unwrap_or(0)
}
