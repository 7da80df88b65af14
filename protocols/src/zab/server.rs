//! A Zab server: its durable state (acceptedEpoch, currentEpoch, history) and volatile state,
//! the dispatch of inputs to one handler each, and what every phase shares: going back to
//! LOOKING, delivering committed transactions, and the server's own invariants.
//!
//! The handlers live by phase: `election.rs` (phase 0), `discovery.rs` (1),
//! `synchronization.rs` (2), `broadcast.rs` (3), and `requests.rs` for clients.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::messages::{Notification, PeerState, Vote, ZabMessage, ZabResponse};
use super::{Durable, Epoch, Flaw, History, Zab, ZabObservation, ZabRecord, ZabSettings, ZabTimer, Zxid};
use crate::kv::{Sequence, Store};
use crate::node::{NodeId, Server, ServerContext, Setup, SyncId, Time};
use crate::service::Key;

/// A Zab server.
#[derive(Clone, Debug)]
pub struct ZabServer {
    pub(super) id: NodeId,
    pub(super) servers: u32,
    pub(super) majority: usize,
    pub(super) timeout: Time,
    pub(super) flaw: Flaw,
    pub(super) diff_limit: usize,
    // Durable state (mirrored here; `ZabRecord`s make it durable).
    pub(super) accepted_epoch: Epoch,
    pub(super) accepted_leader: Option<NodeId>,
    pub(super) current_epoch: Epoch,
    pub(super) history: History,
    // Volatile state.
    /// How many transactions of the history are known committed, and delivered.
    pub(super) committed: usize,
    pub(super) delivered: usize,
    pub(super) store: Store,
    pub(super) state: State,
    /// The election round (ZooKeeper's logicalclock).
    pub(super) round: u64,
    /// The vote and round that ended this server's latest election: what it tells LOOKING
    /// servers while it follows or leads.
    pub(super) decided: Option<(Vote, u64)>,
    /// The latest sync that finished since this server started.
    pub(super) synced_through: SyncId,
    /// Clients waiting at this server.
    pub(super) waiting: Waiting,
}

/// A server's role, as its notifications name it.
pub type Role = PeerState;

/// The phase-specific volatile state.
#[derive(Clone, Debug)]
pub(super) enum State {
    Looking(Looking),
    Following(Following),
    Leading(Box<Leading>),
}

/// A LOOKING server's election (Medeiros, Algorithm 1).
#[derive(Clone, Debug)]
pub(super) struct Looking {
    pub(super) vote: Vote,
    /// The votes of this round, by sender (this server's own included).
    pub(super) received: BTreeMap<NodeId, Vote>,
    /// What FOLLOWING and LEADING servers said, by sender.
    pub(super) out_of_election: BTreeMap<NodeId, Notification>,
    /// Whether a majority agrees with `vote` and the server waits for a better one.
    pub(super) finalizing: bool,
}

/// A follower's attempt to follow `leader`.
#[derive(Clone, Debug)]
pub(super) struct Following {
    pub(super) leader: NodeId,
    pub(super) session: u64,
    pub(super) phase: FollowerPhase,
    /// The leader's epoch, once its `LeaderInfo` was accepted.
    pub(super) epoch: Epoch,
    /// `epoch-before-log` only: the synchronization's records, held until `NewLeader`.
    pub(super) deferred: Vec<ZabRecord>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FollowerPhase {
    /// `FollowerInfo` sent; waiting for `LeaderInfo`.
    Discovery,
    /// The epoch accepted; taking the leader's history, up to `UpToDate`.
    Synchronization,
    /// Delivering and serving.
    Broadcast,
}

/// A leader's reign.
#[derive(Clone, Debug)]
pub(super) struct Leading {
    /// The epoch, once chosen from a majority's acceptedEpochs.
    pub(super) epoch: Option<Epoch>,
    pub(super) phase: LeaderPhase,
    /// This server's currentEpoch and last zxid when it began to lead: a follower ahead of
    /// them makes it give up.
    pub(super) summary: (Epoch, Zxid),
    pub(super) learners: BTreeMap<NodeId, Learner>,
    /// When it began to lead (monotonic).
    pub(super) started: Time,
    /// The syncs that make its acceptedEpoch and currentEpoch durable.
    pub(super) accepted_sync: Option<SyncId>,
    pub(super) current_sync: Option<SyncId>,
    /// The counter of the latest zxid proposed in this epoch.
    pub(super) counter: u64,
    /// Proposals not yet committed, in zxid order: who acknowledged each, and the sync that
    /// makes the leader's own copy durable.
    pub(super) outstanding: VecDeque<Outstanding>,
    /// The latest round of pings.
    pub(super) round: u64,
    /// Syncs waiting for their proposals to commit and their round to be answered.
    pub(super) syncs: VecDeque<PendingSync>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LeaderPhase {
    Discovery,
    Synchronization,
    Broadcast,
}

/// What the leader knows of one follower.
#[derive(Clone, Debug)]
pub(super) struct Learner {
    pub(super) session: u64,
    pub(super) stage: Stage,
    /// When it was last heard from (monotonic).
    pub(super) heard: Time,
    /// The latest ping round it answered.
    pub(super) round_answered: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// `FollowerInfo` received.
    Connecting { accepted_epoch: Epoch },
    /// `AckEpoch` received.
    AckedEpoch { current_epoch: Epoch, last_zxid: Zxid },
    /// Its history and `NewLeader` sent, up to this position of the leader's history: it
    /// now gets every proposal and commit.
    Syncing { through: usize },
    /// `AckNewLeader` received.
    Synced,
}

/// A proposal waiting for a majority.
#[derive(Clone, Debug)]
pub(super) struct Outstanding {
    pub(super) zxid: Zxid,
    pub(super) acks: BTreeSet<NodeId>,
    pub(super) sync: SyncId,
}

/// A sync the leader has yet to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PendingSync {
    /// The server that forwarded it (the leader itself for its own clients).
    pub(super) server: NodeId,
    pub(super) client: NodeId,
    pub(super) sequence: Sequence,
    /// Everything up to this zxid was proposed before the sync arrived.
    pub(super) after: Zxid,
    pub(super) round: u64,
}

/// Clients waiting at a server.
#[derive(Clone, Debug, Default)]
pub(super) struct Waiting {
    /// Per client, the write (by sequence) it waits to see delivered here.
    pub(super) writes: BTreeMap<NodeId, Sequence>,
    /// Per client, the sync-read waiting for the leader's `SyncReply`.
    pub(super) syncs: BTreeMap<NodeId, (Sequence, Key)>,
    /// Sync-reads answered by the leader, waiting to deliver up to their zxid.
    pub(super) reads: Vec<(NodeId, Sequence, Key, Zxid)>,
}

impl ZabServer {
    /// A server at first boot: epochs 0, an empty history, LOOKING.
    pub fn new(setup: &Setup<ZabSettings>, id: NodeId) -> Self {
        ZabServer {
            id,
            servers: setup.servers,
            majority: setup.majority(),
            timeout: setup.timeout,
            flaw: Flaw::of(setup),
            diff_limit: setup.settings.diff_limit as usize,
            accepted_epoch: 0,
            accepted_leader: None,
            current_epoch: 0,
            history: History::default(),
            committed: 0,
            delivered: 0,
            store: Store::default(),
            state: State::Looking(Looking {
                vote: Vote { leader: id, zxid: Zxid::ZERO, epoch: 0 },
                received: BTreeMap::new(),
                out_of_election: BTreeMap::new(),
                finalizing: false,
            }),
            round: 0,
            decided: None,
            synced_through: 0,
            waiting: Waiting::default(),
        }
    }

    /// A server restarted from its durable records: epochs and history as recorded, the
    /// rest as at first boot (nothing is known committed until a leader says so).
    pub fn recover(setup: &Setup<ZabSettings>, id: NodeId, records: &[ZabRecord]) -> Self {
        let durable = Durable::replay(records);
        ZabServer {
            accepted_epoch: durable.accepted_epoch,
            accepted_leader: durable.accepted_leader,
            current_epoch: durable.current_epoch,
            history: durable.history,
            ..ZabServer::new(setup, id)
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn role(&self) -> Role {
        match self.state {
            State::Looking(_) => PeerState::Looking,
            State::Following(_) => PeerState::Following,
            State::Leading(_) => PeerState::Leading,
        }
    }

    pub fn accepted_epoch(&self) -> Epoch {
        self.accepted_epoch
    }

    pub fn current_epoch(&self) -> Epoch {
        self.current_epoch
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// How many transactions of the history this server delivered.
    pub fn delivered(&self) -> usize {
        self.delivered
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The epoch this server leads, once its majority established it.
    pub fn established_epoch(&self) -> Option<Epoch> {
        match &self.state {
            State::Leading(leading) if leading.phase == LeaderPhase::Broadcast => leading.epoch,
            _ => None,
        }
    }

    /// The leader this server follows or is, if any.
    pub fn leader(&self) -> Option<NodeId> {
        match &self.state {
            State::Looking(_) => None,
            State::Following(following) => Some(following.leader),
            State::Leading(_) => Some(self.id),
        }
    }

    /// The zxid this server has delivered up to.
    pub fn delivered_zxid(&self) -> Zxid {
        self.history.zxid_at(self.delivered)
    }

    pub(super) fn peers(&self) -> impl Iterator<Item = NodeId> {
        let id = self.id;
        (0..self.servers).filter(move |&peer| peer != id)
    }

    /// How long a follower waits for its leader, and a leader for a majority: three
    /// timeouts, well above a round trip of pings even when latency has a long tail (a crash
    /// or a partition shows much sooner, as a broken connection).
    pub(super) fn silence_limit(&self) -> Time {
        3 * self.timeout
    }

    /// Whether this server serves clients: a follower after `UpToDate`, an established leader.
    pub(super) fn is_serving(&self) -> bool {
        match &self.state {
            State::Looking(_) => false,
            State::Following(following) => following.phase == FollowerPhase::Broadcast,
            State::Leading(leading) => leading.phase == LeaderPhase::Broadcast,
        }
    }

    /// Goes (back) to LOOKING and starts an election; a follower or leader that stops
    /// serving tells its waiting clients to go elsewhere.
    pub(super) fn become_looking(&mut self, ctx: &mut ServerContext<Zab>) {
        ctx.cancel_timer(ZabTimer::LeaderSilent);
        ctx.cancel_timer(ZabTimer::Connect);
        ctx.cancel_timer(ZabTimer::Tick);
        self.turn_clients_away(ctx);
        self.start_election(ctx);
    }

    /// Delivers the committed transactions not yet delivered, in order, when this server
    /// may (a follower after `UpToDate`, an established leader), and answers the clients
    /// that wait for them.
    pub(super) fn deliver_committed(&mut self, ctx: &mut ServerContext<Zab>) {
        if !self.is_serving() {
            return;
        }
        while self.delivered < self.committed {
            let txn = self.history.txns()[self.delivered].clone();
            self.delivered += 1;
            ctx.observe(ZabObservation::Delivered { position: self.delivered, txn: txn.clone() });
            if let Some(outcome) = self.store.apply(&txn.command) {
                self.answer_write(ctx, txn.command.client, txn.command.sequence, outcome);
            }
        }
        self.serve_sync_reads(ctx);
    }

    /// Rebuilds the store from the first `position` transactions (after a `Trunc` below
    /// what was delivered, which only a flawed run does, or a `Snap`).
    pub(super) fn rewind(&mut self, position: usize) {
        if self.delivered <= position {
            return;
        }
        self.store = Store::default();
        for txn in &self.history.txns()[..position.min(self.history.len())] {
            self.store.apply(&txn.command);
        }
        self.delivered = position.min(self.history.len());
    }

    /// Tells every client waiting here to try another server.
    pub(super) fn turn_clients_away(&mut self, ctx: &mut ServerContext<Zab>) {
        let waiting = std::mem::take(&mut self.waiting);
        let sequences = waiting.writes.into_iter().chain(waiting.syncs.into_iter().map(|(c, (s, _))| (c, s)));
        let sequences = sequences.chain(waiting.reads.into_iter().map(|(client, sequence, ..)| (client, sequence)));
        for (client, sequence) in sequences {
            ctx.send(client, ZabMessage::ClientReply(ZabResponse::NotServing { sequence }));
        }
    }
}

impl Server<Zab> for ZabServer {
    fn on_start(&mut self, ctx: &mut ServerContext<Zab>) {
        self.start_election(ctx);
    }

    fn on_message(&mut self, ctx: &mut ServerContext<Zab>, from: NodeId, message: ZabMessage) {
        match message {
            ZabMessage::Notification(notification) => self.on_notification(ctx, from, notification),
            ZabMessage::FollowerInfo { accepted_epoch, session } => {
                self.on_follower_info(ctx, from, accepted_epoch, session)
            }
            ZabMessage::LeaderInfo { epoch, session } => self.on_leader_info(ctx, from, epoch, session),
            ZabMessage::AckEpoch { current_epoch, last_zxid, session } => {
                self.on_ack_epoch(ctx, from, current_epoch, last_zxid, session)
            }
            ZabMessage::Diff { txns, session } => self.on_diff(ctx, from, txns, session),
            ZabMessage::Trunc { after, session } => self.on_trunc(ctx, from, after, session),
            ZabMessage::Snap { history, session } => self.on_snap(ctx, from, history, session),
            ZabMessage::NewLeader { epoch, session } => self.on_new_leader(ctx, from, epoch, session),
            ZabMessage::AckNewLeader { epoch, session } => self.on_ack_new_leader(ctx, from, epoch, session),
            ZabMessage::UpToDate { committed, session } => self.on_up_to_date(ctx, from, committed, session),
            ZabMessage::Proposal { txn } => self.on_proposal(ctx, from, txn),
            ZabMessage::Ack { zxid } => self.on_ack(ctx, from, zxid),
            ZabMessage::Commit { zxid } => self.on_commit(ctx, from, zxid),
            ZabMessage::Ping { epoch, round, reply } => self.on_ping(ctx, from, epoch, round, reply),
            ZabMessage::Request { command } => self.on_forwarded_request(ctx, from, command),
            ZabMessage::Sync { client, sequence } => self.on_sync(ctx, from, client, sequence),
            ZabMessage::SyncReply { client, sequence, zxid } => self.on_sync_reply(ctx, from, client, sequence, zxid),
            ZabMessage::ClientRequest { command, last_zxid } => self.on_client_request(ctx, command, last_zxid),
            ZabMessage::ClientReply(_) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<Zab>, timer: ZabTimer) {
        match timer {
            ZabTimer::Election => self.on_election_timeout(ctx),
            ZabTimer::Finalize => self.on_finalize(ctx),
            ZabTimer::LeaderSilent => self.on_leader_silent(ctx),
            ZabTimer::Connect => self.on_connect_timeout(ctx),
            ZabTimer::Tick => self.on_tick(ctx),
            ZabTimer::Client(_) => {}
        }
    }

    fn on_synced(&mut self, ctx: &mut ServerContext<Zab>, sync: SyncId) {
        self.synced_through = self.synced_through.max(sync);
        self.on_leader_synced(ctx);
    }

    fn on_disconnected(&mut self, ctx: &mut ServerContext<Zab>, peer: NodeId) {
        match &mut self.state {
            State::Following(following) if following.leader == peer => self.become_looking(ctx),
            State::Leading(leading) => {
                leading.learners.remove(&peer);
            }
            _ => {}
        }
        self.forget_client(peer);
    }

    fn invariants(&self) {
        let id = self.id;
        assert!(self.delivered <= self.committed, "server {id}: delivered past what is committed");
        assert!(self.committed <= self.history.len(), "server {id}: committed past the history's end");
        assert!(self.current_epoch <= self.accepted_epoch, "server {id}: currentEpoch above acceptedEpoch");
        if let State::Leading(leading) = &self.state {
            if let Some(epoch) = leading.epoch {
                assert_eq!(epoch, self.accepted_epoch, "server {id}: leads an epoch it did not accept");
            }
            if leading.phase == LeaderPhase::Broadcast {
                assert_eq!(Some(self.current_epoch), leading.epoch, "server {id}: leads without its currentEpoch");
                let outstanding = self.history.len() - self.committed;
                assert_eq!(outstanding, leading.outstanding.len(), "server {id}: lost track of its proposals");
            }
        }
    }
}
