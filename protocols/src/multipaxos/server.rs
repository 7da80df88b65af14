//! A Multi-Paxos server: acceptor, replica and potential leader in one process (PMMC
//! section 4.4, colocation). This file holds the server's state, the one `match` that
//! dispatches each input to its handler, what every role shares (following a leader,
//! stepping down, timers) and the server's own invariants.
//!
//! The handlers live by role: `acceptor.rs` (phases 1b and 2b), `election.rs` (phase 1a
//! and its outcome), `leader.rs` (phase 2a, heartbeats, catch-up), `replica.rs` (learning
//! and applying chosen slots) and `requests.rs` (clients).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::Rng;

use super::{Acceptor, Ballot, Entry, MultiPaxos, MultiPaxosMessage, MultiPaxosTimer, Replica, Slot, LOCAL_READS};
use crate::kv::{Response, Sequence};
use crate::node::{NodeId, Server, ServerContext, Setup, SyncId, Time};

/// A Multi-Paxos server.
#[derive(Clone, Debug)]
pub struct MultiPaxosServer {
    pub(super) id: NodeId,
    pub(super) servers: u32,
    pub(super) majority: usize,
    pub(super) timeout: Time,
    pub(super) local_reads: bool,
    /// Durable: rebuilt from the records after a crash.
    pub(super) acceptor: Acceptor,
    /// Volatile: a restarted server learns the chosen slots again.
    pub(super) replica: Replica,
    /// The highest round seen in any ballot, so that this server's next one is higher.
    pub(super) round_seen: u64,
    pub(super) state: State,
    /// The leader this server follows, if it knows one: the hint for redirected clients.
    pub(super) leader: Option<NodeId>,
    /// The leader's own acceptances whose record is not durable yet: each counts towards a
    /// majority only once its sync finishes (persistence before acknowledging, even to itself).
    pub(super) own_accepts: VecDeque<(SyncId, Ballot, Slot)>,
}

/// A server's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    /// Running phase 1 (PMMC's scout).
    Candidate,
    /// Phase 1 won: proposing in phase 2 (PMMC's active leader).
    Leader,
}

/// The role with the volatile state only it has.
#[derive(Clone, Debug)]
pub(super) enum State {
    Follower,
    Candidate(Election),
    Leader(Leadership),
}

/// Phase 1 in progress.
#[derive(Clone, Debug)]
pub(super) struct Election {
    pub(super) ballot: Ballot,
    /// The first slot phase 1 covers: every earlier one is chosen and known here.
    pub(super) from: Slot,
    pub(super) promises: BTreeSet<NodeId>,
    /// Per slot, the highest-ballot proposal the promises reported (PMMC's `pmax`).
    pub(super) reported: BTreeMap<Slot, (Ballot, Entry)>,
}

/// A leader's volatile state.
#[derive(Clone, Debug)]
pub(super) struct Leadership {
    pub(super) ballot: Ballot,
    /// The slot the next client command goes to.
    pub(super) next_slot: Slot,
    /// Proposals not yet chosen, by slot (PMMC's commanders).
    pub(super) proposals: BTreeMap<Slot, Proposal>,
    /// Per client, the sequence number of the command it waits for.
    pub(super) requests: BTreeMap<NodeId, Sequence>,
}

/// One slot's phase 2 in progress.
#[derive(Clone, Debug)]
pub(super) struct Proposal {
    pub(super) entry: Entry,
    /// The acceptors that accepted it in the leader's ballot, this server included.
    pub(super) accepts: BTreeSet<NodeId>,
    /// Whether a heartbeat tick passed since it was proposed: then it is sent again.
    pub(super) stale: bool,
}

impl MultiPaxosServer {
    /// A server with this acceptor state (fresh, or rebuilt from records), as a follower.
    pub fn new(setup: &Setup, id: NodeId, acceptor: Acceptor) -> MultiPaxosServer {
        MultiPaxosServer {
            id,
            servers: setup.servers,
            majority: setup.majority(),
            timeout: setup.timeout,
            local_reads: setup.is(LOCAL_READS),
            round_seen: acceptor.promised().round,
            acceptor,
            replica: Replica::default(),
            state: State::Follower,
            leader: None,
            own_accepts: VecDeque::new(),
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn role(&self) -> Role {
        match self.state {
            State::Follower => Role::Follower,
            State::Candidate(_) => Role::Candidate,
            State::Leader(_) => Role::Leader,
        }
    }

    /// The ballot this server runs phase 1 or 2 with, if it is a candidate or the leader.
    pub fn ballot(&self) -> Option<Ballot> {
        match &self.state {
            State::Follower => None,
            State::Candidate(election) => Some(election.ballot),
            State::Leader(leadership) => Some(leadership.ballot),
        }
    }

    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }

    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The leader this server knows of.
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

    pub(super) fn reset_election_timer(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        let after = ctx.rng().gen_range(self.timeout..=2 * self.timeout);
        ctx.set_timer(after.max(1), MultiPaxosTimer::Election);
    }

    pub(super) fn note_round(&mut self, ballot: Ballot) {
        self.round_seen = self.round_seen.max(ballot.round);
    }

    /// A message from the leader of `ballot`, at least the promised ballot: a candidate or
    /// leader of a lower ballot steps down, and the election timer starts again.
    pub(super) fn follow(&mut self, ctx: &mut ServerContext<MultiPaxos>, ballot: Ballot) {
        self.leader = Some(ballot.leader);
        if self.ballot().is_some_and(|own| own < ballot) {
            self.step_down(ctx);
        }
        self.reset_election_timer(ctx);
    }

    /// Becomes a follower (PMMC's `preempted`); the caller restarts the election timer. A
    /// leader redirects the clients it kept waiting: their commands may still be chosen,
    /// so they must retry, not give up.
    pub(super) fn step_down(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        match std::mem::replace(&mut self.state, State::Follower) {
            State::Follower | State::Candidate(_) => {}
            State::Leader(leadership) => {
                ctx.cancel_timer(MultiPaxosTimer::Heartbeat);
                for (client, sequence) in leadership.requests {
                    let response = Response::NotLeader { sequence, leader: self.leader };
                    ctx.send(client, MultiPaxosMessage::ClientReply(response));
                }
            }
        }
    }
}

impl Server<MultiPaxos> for MultiPaxosServer {
    fn on_start(&mut self, ctx: &mut ServerContext<MultiPaxos>) {
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut ServerContext<MultiPaxos>, from: NodeId, message: MultiPaxosMessage) {
        match message {
            MultiPaxosMessage::Prepare { ballot, from: slot } => self.on_prepare(ctx, from, ballot, slot),
            MultiPaxosMessage::Promise { ballot, accepted } => self.on_promise(ctx, from, ballot, accepted),
            MultiPaxosMessage::Accept { ballot, slot, entry, first_unchosen } => {
                self.on_accept(ctx, from, ballot, slot, entry, first_unchosen)
            }
            MultiPaxosMessage::Accepted { ballot, slot } => self.on_accepted(ctx, from, ballot, slot),
            MultiPaxosMessage::Nack { ballot, promised } => self.on_nack(ctx, ballot, promised),
            MultiPaxosMessage::Heartbeat { ballot, first_unchosen } => {
                self.on_heartbeat(ctx, from, ballot, first_unchosen)
            }
            MultiPaxosMessage::CatchUp { ballot, from: slot } => self.on_catch_up(ctx, from, ballot, slot),
            MultiPaxosMessage::Decide { from: slot, entries } => self.on_decide(ctx, slot, entries),
            MultiPaxosMessage::ClientRequest(command) => self.on_client_request(ctx, command),
            MultiPaxosMessage::ClientReply(_) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<MultiPaxos>, timer: MultiPaxosTimer) {
        match timer {
            MultiPaxosTimer::Election => self.on_election_timeout(ctx),
            MultiPaxosTimer::Heartbeat => self.on_heartbeat_timeout(ctx),
            MultiPaxosTimer::Client(_) => {}
        }
    }

    fn on_synced(&mut self, ctx: &mut ServerContext<MultiPaxos>, sync: SyncId) {
        while let Some(&(_, ballot, slot)) = self.own_accepts.front().filter(|&&(pending, ..)| pending <= sync) {
            self.own_accepts.pop_front();
            self.on_accepted(ctx, self.id, ballot, slot);
        }
    }

    fn invariants(&self) {
        let id = self.id;
        self.acceptor.check(id);
        self.replica.check(id);
        assert!(self.round_seen >= self.acceptor.promised().round, "server {id}: forgot a round it promised");
        match &self.state {
            State::Follower => {}
            State::Candidate(election) => {
                assert_eq!(election.ballot.leader, id, "server {id}: runs phase 1 with another's ballot");
                assert_eq!(self.acceptor.promised(), election.ballot, "server {id}: candidate promised another");
                assert!(election.promises.len() < self.majority, "server {id}: candidate with a majority");
            }
            State::Leader(leadership) => self.leader_invariants(leadership),
        }
    }
}

impl MultiPaxosServer {
    fn leader_invariants(&self, leadership: &Leadership) {
        let id = self.id;
        assert_eq!(leadership.ballot.leader, id, "server {id}: leads with another's ballot");
        assert_eq!(self.acceptor.promised(), leadership.ballot, "server {id}: leader promised a higher ballot");
        assert_eq!(self.leader, Some(id), "server {id}: leader that does not know it leads");
        if let Some((&last, _)) = leadership.proposals.last_key_value() {
            assert!(last < leadership.next_slot, "server {id}: proposal in slot {last} past the next slot");
        }
        for (slot, proposal) in &leadership.proposals {
            assert!(proposal.accepts.len() < self.majority, "server {id}: slot {slot} chosen but still proposed");
        }
    }
}
