//! Log compaction with snapshots (thesis chapter 5).
//!
//! Each server snapshots independently (thesis 5.1): once it has applied `snapshot_every`
//! entries since its last snapshot, it keeps a copy of its replicated state as of its last
//! applied index, drops the log entries up to that index, and replaces its durable log, at
//! once, with its term and vote, the snapshot and the entries after it (`ctx.compact`).
//! The durable log also grows by term records while a server churns through elections
//! without applying anything, so it is rewritten the same way once it holds twice
//! `snapshot_every` records. A restarted server starts from its snapshot, not from index 0.
//!
//! A leader whose follower needs entries it has compacted away sends its snapshot instead
//! (`InstallSnapshot`, Figure 5.3, whole in one message) and continues after it. The
//! follower ignores a snapshot that covers no more than it knows is committed (as etcd's
//! raft does: such a snapshot can only be a late or duplicated copy), and otherwise
//! installs it: if its log holds the snapshot's last entry it keeps the entries after it
//! (Figure 5.3, step 6), else it discards its log (step 7), and it resets its state machine
//! to the snapshot (step 8). Either way it answers with the snapshot's last index, which
//! its log now matches. The `stale-snapshot` variant installs every snapshot it is sent and
//! always discards its log, so a late copy rolls its state machine back and takes away
//! entries it had acknowledged and committed.

use super::server::{MachineOf, State};
use super::{
    AppendEntriesResponse, Flaw, Index, InstallSnapshot, InstallSnapshotResponse, RaftHost, RaftMessage,
    RaftObservation, RaftRecord, RaftServer, Replicated, StateMachine, Term,
};
use crate::kv::Store;
use crate::node::{NodeId, ServerContext};

/// A snapshot: the replicated state after the entries up to `index` (the thesis's last
/// included index and term).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot<M: StateMachine = Store> {
    pub index: Index,
    pub term: Term,
    pub replicated: Replicated<M>,
}

impl<H: RaftHost> RaftServer<H> {
    /// After applying entries: snapshots once `snapshot_every` were applied since the last
    /// snapshot.
    pub(super) fn maybe_snapshot(&mut self, ctx: &mut ServerContext<H>) {
        if self.last_applied >= self.log.snapshot_index() + self.settings.snapshot_every {
            self.compact(ctx);
        }
    }

    /// After writing a record: rewrites the durable log once it holds more than twice
    /// `snapshot_every` records.
    pub(super) fn wrote_record(&mut self, ctx: &mut ServerContext<H>) {
        self.records += 1;
        if self.records as u64 > 2 * self.settings.snapshot_every {
            self.rewrite(ctx);
        }
    }

    /// Snapshots the state as of the last applied index (if it moved since the last
    /// snapshot) and replaces the durable log by what it must hold now.
    pub(super) fn compact(&mut self, ctx: &mut ServerContext<H>) {
        let index = self.last_applied;
        if index > self.log.snapshot_index() {
            let term = self.log.term_at(index).expect("applied entries are in the log");
            self.log.compact(index);
            self.snapshot = Some(Snapshot { index, term, replicated: self.replicated.clone() });
            Self::observe(ctx, RaftObservation::SnapshotTaken { index, term });
        }
        self.rewrite(ctx);
    }

    /// Replaces the durable log, at once and durably, with the term and vote (except in
    /// `volatile-vote`), the snapshot and the entries after it.
    pub(super) fn rewrite(&mut self, ctx: &mut ServerContext<H>) {
        let mut records = Vec::new();
        if self.flaw != Flaw::VolatileVote {
            records.push(RaftRecord::Term { current_term: self.current_term, voted_for: self.voted_for });
        }
        records.extend(self.snapshot.clone().map(RaftRecord::Snapshot));
        if !self.log.entries().is_empty() {
            records.push(RaftRecord::Entries { from: self.log.first_index(), entries: self.log.entries().to_vec() });
        }
        self.records = records.len();
        ctx.compact(records.into_iter().map(H::record).collect());
        self.durable_index = self.log.last_index();
    }

    pub(super) fn on_install_snapshot(
        &mut self,
        ctx: &mut ServerContext<H>,
        leader: NodeId,
        request: InstallSnapshot<MachineOf<H>>,
    ) {
        if request.term < self.current_term {
            // As for `AppendEntries` of an earlier term: our term deposes the sender, and
            // the answer acknowledges no round and no index.
            let response = InstallSnapshotResponse { term: self.current_term, last_index: 0, round: 0 };
            return Self::send_after_sync(ctx, leader, RaftMessage::InstallSnapshotResponse(response));
        }
        if self.adopt_term(ctx, request.term, Some(leader)) {
            self.persist_term(ctx);
        }
        self.leader = Some(leader);
        self.become_follower(ctx);
        self.reset_election_timer(ctx);
        let last_index = request.snapshot.index;
        if last_index > self.commit_index || self.flaw == Flaw::StaleSnapshot {
            self.install(ctx, request.snapshot);
        }
        let response = InstallSnapshotResponse { term: self.current_term, last_index, round: request.round };
        Self::send_after_sync(ctx, leader, RaftMessage::InstallSnapshotResponse(response));
    }

    /// Figure 5.3, steps 6 to 8 (`stale-snapshot`: always step 7).
    fn install(&mut self, ctx: &mut ServerContext<H>, snapshot: Snapshot<MachineOf<H>>) {
        let (index, term) = (snapshot.index, snapshot.term);
        if self.flaw == Flaw::StaleSnapshot {
            self.log.discard(index, term);
        } else {
            self.log.restore(index, term);
        }
        self.replicated = snapshot.replicated.clone();
        (self.commit_index, self.last_applied) = (index, index);
        self.snapshot = Some(snapshot);
        Self::observe(ctx, RaftObservation::SnapshotInstalled { index, term });
        self.rewrite(ctx);
    }

    /// The leader hears that `follower` installed (or already had) its snapshot: as an
    /// acknowledgement of `AppendEntries` up to the snapshot's last index.
    pub(super) fn on_install_snapshot_response(
        &mut self,
        ctx: &mut ServerContext<H>,
        follower: NodeId,
        response: InstallSnapshotResponse,
    ) {
        let InstallSnapshotResponse { term, last_index, round } = response;
        let acknowledgement =
            AppendEntriesResponse { term, success: last_index > 0, match_index: last_index, round, heartbeat: false };
        self.on_append_entries_response(ctx, follower, acknowledgement);
    }

    /// Sends `peer` the snapshot when it needs entries compacted away; returns whether it did.
    pub(super) fn send_snapshot_if_needed(&mut self, ctx: &mut ServerContext<H>, peer: NodeId) -> bool {
        let State::Leader(leadership) = &mut self.state else { return false };
        let Some(progress) = leadership.peers.get_mut(&peer) else { return false };
        if progress.next_index > self.log.snapshot_index() {
            return false;
        }
        let snapshot = self.snapshot.clone().expect("a compacted log has a snapshot");
        progress.next_index = snapshot.index + 1;
        let request = InstallSnapshot { term: self.current_term, snapshot, round: leadership.round };
        Self::send(ctx, peer, RaftMessage::InstallSnapshot(Box::new(request)));
        true
    }
}
