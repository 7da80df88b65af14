//! A Raft server: Figure 2's state, the dispatch of inputs to one handler each, and what
//! every role shares: adopting a newer term, persisting, applying committed entries, and
//! the server's own invariants.
//!
//! The handlers live by topic: `election.rs` (section 5.2), `replication.rs` (sections 5.3
//! and 5.4.2) and `requests.rs` (clients and ReadIndex, thesis chapter 6).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::Rng;

use super::{
    Flaw, Index, Log, Payload, Raft, RaftHost, RaftMessage, RaftObservation, RaftRecord, RaftSettings, Replicated,
    Reply, Request, ServerTimer, Snapshot, Stamp, Term,
};
use crate::kv::Sequence;
use crate::node::{NodeId, ServerContext, SetupOf, SyncId, Time};

/// The replicated machine of host `H`.
pub(super) type MachineOf<H> = <H as RaftHost>::Machine;
/// The operations of host `H`'s machine.
pub(super) type OperationOf<H> = <MachineOf<H> as super::StateMachine>::Operation;
/// The outputs of host `H`'s machine.
pub(super) type OutputOf<H> = <MachineOf<H> as super::StateMachine>::Output;

/// A Raft server of host protocol `H` (the catalogued `raft` by default).
#[derive(Debug)]
pub struct RaftServer<H: RaftHost = Raft> {
    pub(super) id: NodeId,
    pub(super) servers: u32,
    pub(super) majority: usize,
    pub(super) timeout: Time,
    pub(super) flaw: Flaw,
    pub(super) settings: RaftSettings,
    // Persistent state (Figure 2), synced before any message that depends on it.
    pub(super) current_term: Term,
    pub(super) voted_for: Option<NodeId>,
    pub(super) log: Log<MachineOf<H>>,
    /// The latest snapshot, which covers the log up to its first entry (thesis chapter 5).
    pub(super) snapshot: Option<Snapshot<MachineOf<H>>>,
    /// How many records the durable log holds (written since its last rewrite included).
    pub(super) records: usize,
    // Volatile state.
    /// The last index of the log known to be durable here, and the syncs still running with
    /// the last index each covers: a leader counts itself towards a majority only for
    /// entries it has made durable (persistence before acknowledging, even to itself).
    pub(super) durable_index: Index,
    pub(super) syncs: VecDeque<(SyncId, Index)>,
    pub(super) commit_index: Index,
    pub(super) last_applied: Index,
    pub(super) replicated: Replicated<MachineOf<H>>,
    pub(super) state: State<H>,
    /// The leader of the current term, when known: the hint for redirected clients.
    pub(super) leader: Option<NodeId>,
    /// Built by `recover` and not started yet: `start` reports where the state machine
    /// starts from.
    pub(super) recovered: bool,
}

/// A server's role (section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

/// The role with the volatile state that only it has.
#[derive(Debug)]
pub(super) enum State<H: RaftHost> {
    Follower,
    Candidate { votes: BTreeSet<NodeId> },
    Leader(Leadership<H>),
}

/// Volatile state on leaders (Figure 2), reinitialised after each election.
#[derive(Debug)]
pub(super) struct Leadership<H: RaftHost> {
    pub(super) peers: BTreeMap<NodeId, Progress>,
    /// The first index of this term: its no-op, or, in `commit-old-term`, which appends
    /// none, where its first command goes.
    pub(super) term_start: Index,
    /// The latest round of `AppendEntries`; a read waits for a majority to acknowledge it.
    pub(super) round: u64,
    /// Per client, the sequence number of the command it waits for.
    pub(super) requests: BTreeMap<NodeId, Sequence>,
    /// Queries waiting for their round and read index, oldest first.
    pub(super) reads: VecDeque<PendingRead<H>>,
}

/// What the leader knows of one follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Progress {
    pub(super) next_index: Index,
    pub(super) match_index: Index,
    /// The latest round this follower acknowledged.
    pub(super) round_acked: u64,
}

/// A query waiting to be served (thesis 6.4).
#[derive(Debug)]
pub(super) struct PendingRead<H: RaftHost> {
    pub(super) request: Request<OperationOf<H>>,
    pub(super) read_index: Index,
    pub(super) round: u64,
}

impl<H: RaftHost> RaftServer<H> {
    /// A server at first boot: a follower of term 0 with an empty log.
    pub fn new(setup: &SetupOf<H>, id: NodeId) -> Self {
        let options = H::options(setup);
        RaftServer {
            id,
            servers: setup.servers,
            majority: setup.majority(),
            timeout: setup.timeout,
            flaw: options.flaw,
            settings: options.settings,
            current_term: 0,
            voted_for: None,
            log: Log::default(),
            snapshot: None,
            records: 0,
            durable_index: 0,
            syncs: VecDeque::new(),
            commit_index: 0,
            last_applied: 0,
            replicated: Replicated::default(),
            state: State::Follower,
            leader: None,
            recovered: false,
        }
    }

    /// A server restarted from its durable records: term, vote, snapshot and log as
    /// recorded, the rest as at first boot; the state machine starts from the snapshot and
    /// catches up as entries commit again.
    pub fn recover<'r>(
        setup: &SetupOf<H>,
        id: NodeId,
        records: impl IntoIterator<Item = &'r RaftRecord<MachineOf<H>>>,
    ) -> Self {
        let mut server = RaftServer::new(setup, id);
        for record in records {
            server.records += 1;
            match record {
                RaftRecord::Term { current_term, voted_for } => {
                    server.current_term = *current_term;
                    server.voted_for = *voted_for;
                }
                RaftRecord::Entries { from, entries } => server.log.replace_from(*from, entries),
                RaftRecord::Snapshot(snapshot) => {
                    server.log.discard(snapshot.index, snapshot.term);
                    server.replicated = snapshot.replicated.clone();
                    (server.commit_index, server.last_applied) = (snapshot.index, snapshot.index);
                    server.snapshot = Some(snapshot.clone());
                }
            }
        }
        if server.log.last_term() > server.current_term {
            // Only without term records (`volatile-vote`): the log shows the term reached.
            server.current_term = server.log.last_term();
            server.voted_for = None;
        }
        server.durable_index = server.log.last_index();
        server.recovered = true;
        server
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn role(&self) -> Role {
        match self.state {
            State::Follower => Role::Follower,
            State::Candidate { .. } => Role::Candidate,
            State::Leader(_) => Role::Leader,
        }
    }

    pub fn current_term(&self) -> Term {
        self.current_term
    }

    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }

    pub fn log(&self) -> &Log<MachineOf<H>> {
        &self.log
    }

    pub fn commit_index(&self) -> Index {
        self.commit_index
    }

    pub fn last_applied(&self) -> Index {
        self.last_applied
    }

    /// The replicated state: the machine and the client sessions.
    pub fn replicated(&self) -> &Replicated<MachineOf<H>> {
        &self.replicated
    }

    /// The replicated machine.
    pub fn machine(&self) -> &MachineOf<H> {
        self.replicated.machine()
    }

    /// The leader of the current term, when known.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    pub(super) fn peers(&self) -> impl Iterator<Item = NodeId> {
        let id = self.id;
        (0..self.servers).filter(move |&peer| peer != id)
    }

    pub(super) fn heartbeat_interval(&self) -> Time {
        (self.timeout / 3).max(1)
    }

    /// Whether a new leader appends a no-op of its term (section 8; not in `commit-old-term`,
    /// which follows Figure 8).
    pub(super) fn opens_term_with_noop(&self) -> bool {
        self.flaw != Flaw::CommitOldTerm
    }

    pub(super) fn reset_election_timer(&mut self, ctx: &mut ServerContext<H>) {
        let after = ctx.rng().gen_range(self.timeout..=2 * self.timeout);
        ctx.set_timer(after.max(1), H::timer(ServerTimer::Election));
    }

    /// Sends a Raft message.
    pub(super) fn send(ctx: &mut ServerContext<H>, to: NodeId, message: RaftMessage<MachineOf<H>>) {
        ctx.send(to, H::message(message));
    }

    /// Sends a Raft message once every record written so far is durable.
    pub(super) fn send_after_sync(ctx: &mut ServerContext<H>, to: NodeId, message: RaftMessage<MachineOf<H>>) {
        ctx.send_after_sync(to, H::message(message));
    }

    /// Reports a Raft observation.
    pub(super) fn observe(ctx: &mut ServerContext<H>, observation: RaftObservation<MachineOf<H>>) {
        ctx.observe(H::observation(observation));
    }

    /// Writes `currentTerm` and `votedFor` and syncs them, except in `volatile-vote`.
    pub(super) fn persist_term(&mut self, ctx: &mut ServerContext<H>) {
        if self.flaw == Flaw::VolatileVote {
            return;
        }
        ctx.write(H::record(RaftRecord::Term { current_term: self.current_term, voted_for: self.voted_for }));
        ctx.sync();
        self.wrote_record(ctx);
    }

    /// Writes the log from `from` on and syncs it; the entries count as durable here once
    /// the sync is done (`on_synced`).
    pub(super) fn persist_entries(&mut self, ctx: &mut ServerContext<H>, from: Index) {
        let entries = self.log.entries_from(from).to_vec();
        ctx.write(H::record(RaftRecord::Entries { from, entries }));
        let sync = ctx.sync();
        self.durable_index = self.durable_index.min(from - 1);
        self.syncs.push_back((sync, self.log.last_index()));
        self.wrote_record(ctx);
    }

    /// Figure 2, rules for all servers: a term newer than ours is adopted, with no vote
    /// cast in it yet, and makes this server a follower of `leader` (if the message came
    /// from that term's leader). Returns whether the term was newer; the caller persists it
    /// before answering.
    pub(super) fn adopt_term(&mut self, ctx: &mut ServerContext<H>, term: Term, leader: Option<NodeId>) -> bool {
        if term <= self.current_term {
            return false;
        }
        self.current_term = term;
        self.voted_for = None;
        self.leader = leader;
        self.become_follower(ctx);
        true
    }

    /// Becomes a follower; a leader that steps down redirects the clients it kept waiting.
    pub(super) fn become_follower(&mut self, ctx: &mut ServerContext<H>) {
        let State::Leader(leadership) = std::mem::replace(&mut self.state, State::Follower) else {
            return;
        };
        ctx.cancel_timer(H::timer(ServerTimer::Heartbeat));
        self.reset_election_timer(ctx);
        let waiting = leadership
            .requests
            .into_iter()
            .chain(leadership.reads.into_iter().map(|read| (read.request.client, read.request.sequence)));
        for (client, sequence) in waiting {
            let reply = Reply::NotLeader { sequence, leader: self.leader };
            Self::send(ctx, client, RaftMessage::ClientReply(reply));
        }
    }

    /// Applies the entries up to the commit index, in order, and answers the clients that
    /// wait for them (Figure 2: "If commitIndex > lastApplied ...").
    pub(super) fn apply_committed(&mut self, ctx: &mut ServerContext<H>) {
        while self.last_applied < self.commit_index {
            self.last_applied += 1;
            let index = self.last_applied;
            let entry = self.log.entry(index).cloned().expect("commit_index <= last log index");
            Self::observe(ctx, RaftObservation::Applied { index, term: entry.term, payload: entry.payload.clone() });
            if let Payload::Command(request) = entry.payload {
                let stamp = Stamp { client: request.client, index, term: entry.term, time: entry.time };
                if let Some(output) = self.replicated.apply(&stamp, &request) {
                    self.answer_waiting_client(ctx, request.client, request.sequence, output);
                }
            }
        }
        self.maybe_snapshot(ctx);
        self.serve_reads(ctx);
    }

    /// First boot, joining the cluster, or a restart after `recover`: the election timer
    /// starts, and a restarted server reports the snapshot its state machine starts from.
    pub fn start(&mut self, ctx: &mut ServerContext<H>) {
        if std::mem::take(&mut self.recovered) {
            let index = self.log.snapshot_index();
            let term = self.log.term_at(index).unwrap_or(0);
            Self::observe(ctx, RaftObservation::Restored { index, term });
        }
        self.reset_election_timer(ctx);
    }

    /// A message from a peer or a client.
    pub fn handle_message(&mut self, ctx: &mut ServerContext<H>, from: NodeId, message: RaftMessage<MachineOf<H>>) {
        match message {
            RaftMessage::RequestVote(request) => self.on_request_vote(ctx, from, request),
            RaftMessage::RequestVoteResponse(vote) => self.on_vote(ctx, from, vote),
            RaftMessage::AppendEntries(request) => self.on_append_entries(ctx, from, request),
            RaftMessage::AppendEntriesResponse(response) => self.on_append_entries_response(ctx, from, response),
            RaftMessage::InstallSnapshot(request) => self.on_install_snapshot(ctx, from, *request),
            RaftMessage::InstallSnapshotResponse(response) => self.on_install_snapshot_response(ctx, from, response),
            RaftMessage::ClientRequest(request) => self.on_client_request(ctx, request),
            RaftMessage::ClientReply(_) => {}
        }
    }

    /// One of the server's timers fired.
    pub fn handle_timer(&mut self, ctx: &mut ServerContext<H>, timer: ServerTimer) {
        match timer {
            ServerTimer::Election => self.on_election_timeout(ctx),
            ServerTimer::Heartbeat => self.on_heartbeat_timeout(ctx),
        }
    }

    /// Every sync up to `sync` finished.
    pub fn handle_synced(&mut self, ctx: &mut ServerContext<H>, sync: SyncId) {
        while let Some(&(_, index)) = self.syncs.front().filter(|&&(pending, _)| pending <= sync) {
            self.durable_index = self.durable_index.max(index).min(self.log.last_index());
            self.syncs.pop_front();
        }
        self.advance_commit(ctx);
    }

    /// The server's own invariants; panics when one does not hold.
    pub fn check(&self) {
        let id = self.id;
        assert!(self.last_applied <= self.commit_index, "server {id}: applied past the commit index");
        assert!(self.commit_index <= self.log.last_index(), "server {id}: committed past the log's end");
        assert!(self.durable_index <= self.log.last_index(), "server {id}: durable past the log's end");
        assert!(self.log.last_term() <= self.current_term, "server {id}: log entry from a future term");
        let snapshot_index = self.snapshot.as_ref().map_or(0, |snapshot| snapshot.index);
        assert_eq!(self.log.snapshot_index(), snapshot_index, "server {id}: log and snapshot disagree");
        assert!(snapshot_index <= self.last_applied, "server {id}: snapshot of entries not applied");
        match &self.state {
            State::Follower => {}
            State::Candidate { votes } => {
                assert_eq!(self.voted_for, Some(id), "server {id}: candidate that did not vote for itself");
                assert!(votes.len() < self.majority, "server {id}: candidate with a majority of votes");
            }
            State::Leader(leadership) => self.leader_invariants(leadership),
        }
    }
}

impl<H: RaftHost> RaftServer<H> {
    fn leader_invariants(&self, leadership: &Leadership<H>) {
        let id = self.id;
        assert_eq!(self.leader, Some(id), "server {id}: leader that does not know it leads");
        assert_eq!(self.voted_for, Some(id), "server {id}: leader that did not vote for itself");
        let (term, start) = (self.current_term, leadership.term_start);
        // Where its term starts is checked until a snapshot covers it.
        if start > self.log.snapshot_index() {
            assert!(
                self.log.term_at(start - 1).is_some_and(|before| before < term),
                "server {id}: term {term} starts at {start}, not right after the entries of earlier terms"
            );
            match self.log.term_at(start) {
                Some(first) => assert_eq!(first, term, "server {id}: term {term} starts with an entry of term {first}"),
                None => assert!(!self.opens_term_with_noop(), "server {id}: lost its no-op"),
            }
        }
        for (peer, progress) in &leadership.peers {
            assert!(
                progress.match_index < progress.next_index && progress.next_index <= self.log.last_index() + 1,
                "server {id}: progress of {peer} out of range: {progress:?}"
            );
            assert!(progress.round_acked <= leadership.round, "server {id}: {peer} acked a future round");
        }
    }
}
