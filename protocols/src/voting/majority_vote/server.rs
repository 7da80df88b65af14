//! A majority-vote server: a voter, and a proposer for the clients that send to it.

use std::collections::BTreeMap;

use rand::Rng;

use super::{MajorityVote, RequestId, Round, VoteMessage, VoteObservation, VoteRecord, VoteTimer, FORGETFUL_VOTER};
use crate::node::{NodeId, Server, ServerContext, Setup};
use crate::service::Value;

/// How many times a proposer's back-off doubles after failed rounds in a row.
pub const BACKOFF_DOUBLINGS: u32 = 4;

/// What a voter keeps: the latest round it heard of and its vote in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Voter {
    pub round: Round,
    pub voted: Option<Value>,
}

/// Where the proposer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Counting the votes of its round.
    Voting,
    /// Its round failed; a new one starts when the back-off is over.
    BackingOff,
}

/// One server: voter and proposer.
#[derive(Clone, Debug)]
pub struct VoteServer {
    id: NodeId,
    setup: Setup,
    voter: Voter,
    /// The proposer's round and value (durable).
    proposal: Option<(Round, Value)>,
    /// The votes counted in the proposer's round.
    votes: BTreeMap<NodeId, Value>,
    phase: Phase,
    decided: Option<Value>,
    /// Clients waiting for the decision.
    waiting: Vec<(NodeId, RequestId)>,
    /// The highest round heard of, so that a new round is higher.
    round_seen: Round,
    failed_rounds: u32,
}

impl Server<MajorityVote> for VoteServer {
    fn on_start(&mut self, _ctx: &mut ServerContext<MajorityVote>) {}

    fn on_message(&mut self, ctx: &mut ServerContext<MajorityVote>, from: NodeId, message: VoteMessage) {
        match message {
            VoteMessage::Request { request, value } => self.on_request(ctx, from, request, value),
            VoteMessage::Propose { round, value } => {
                let answer = self.on_propose(ctx, round, value);
                ctx.send_after_sync(from, answer);
            }
            VoteMessage::Vote { round, value } => self.on_vote(ctx, from, round, value),
            VoteMessage::Newer { round, newer } => self.on_newer(ctx, round, newer),
            VoteMessage::Decide { value } => self.learn(ctx, value),
            VoteMessage::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<MajorityVote>, timer: VoteTimer) {
        if timer == VoteTimer::Retry {
            self.on_retry(ctx);
        }
    }

    fn invariants(&self) {
        if self.voter.voted.is_some() {
            assert!(self.voter.round >= 1, "a vote belongs to a round");
        }
        if let Some((round, _)) = self.proposal {
            assert!(round <= self.round_seen, "the proposer's round was seen");
        }
        if self.decided.is_some() {
            assert!(self.waiting.is_empty() && self.phase == Phase::Idle, "a decision is answered at once");
        }
    }
}

impl VoteServer {
    /// A server rebuilt from `records` (none at first boot); a forgetful voter drops its votes.
    pub fn new(setup: &Setup, id: NodeId, records: &[VoteRecord]) -> VoteServer {
        let mut voter = Voter::default();
        let mut proposal = None;
        for record in records {
            match *record {
                VoteRecord::Voted { round, value } if !setup.is(FORGETFUL_VOTER) => {
                    voter = Voter { round, voted: Some(value) };
                }
                VoteRecord::Voted { .. } => {}
                VoteRecord::Proposing { round, value } => proposal = Some((round, value)),
            }
        }
        let round_seen = voter.round.max(proposal.map_or(0, |(round, _)| round));
        VoteServer {
            id,
            setup: setup.clone(),
            voter,
            proposal,
            votes: BTreeMap::new(),
            phase: Phase::Idle,
            decided: None,
            waiting: Vec::new(),
            round_seen,
            failed_rounds: 0,
        }
    }

    /// The voter's state.
    pub fn voter(&self) -> Voter {
        self.voter
    }

    /// The value this server knows was decided, if any.
    pub fn decided(&self) -> Option<Value> {
        self.decided
    }

    fn on_request(&mut self, ctx: &mut ServerContext<MajorityVote>, client: NodeId, request: RequestId, value: Value) {
        if let Some(decided) = self.decided {
            ctx.send(client, VoteMessage::Reply { request, value: decided });
            return;
        }
        self.waiting.retain(|&(waiting, _)| waiting != client);
        self.waiting.push((client, request));
        if self.proposal.is_none() {
            let round = self.next_round();
            self.proposal = Some((round, value));
            ctx.write(VoteRecord::Proposing { round, value });
            ctx.observe(VoteObservation::Proposed { value });
        }
        if self.phase == Phase::Idle {
            self.start_round(ctx);
        }
    }

    /// Votes for its own value, then asks every other voter once that vote is durable.
    fn start_round(&mut self, ctx: &mut ServerContext<MajorityVote>) {
        let Some((round, value)) = self.proposal else { return };
        self.votes.clear();
        self.phase = Phase::Voting;
        let own = self.on_propose(ctx, round, value);
        for peer in self.peers() {
            ctx.send_after_sync(peer, VoteMessage::Propose { round, value });
        }
        let jitter = ctx.rng().gen_range(0..=self.setup.timeout);
        ctx.set_timer(self.setup.timeout + jitter, VoteTimer::Retry);
        match own {
            VoteMessage::Vote { round, value } => self.on_vote(ctx, self.id, round, value),
            VoteMessage::Newer { round, newer } => self.on_newer(ctx, round, newer),
            _ => unreachable!("a voter answers with a vote or a newer round"),
        }
    }

    /// The voter: the first value heard in a round gets its vote; a newer round starts afresh.
    fn on_propose(&mut self, ctx: &mut ServerContext<MajorityVote>, round: Round, value: Value) -> VoteMessage {
        self.round_seen = self.round_seen.max(round);
        if round < self.voter.round {
            return VoteMessage::Newer { round, newer: self.voter.round };
        }
        if round > self.voter.round {
            self.voter = Voter { round, voted: None };
        }
        let voted = match self.voter.voted {
            Some(voted) => voted,
            None => {
                self.voter.voted = Some(value);
                ctx.write(VoteRecord::Voted { round, value });
                ctx.observe(VoteObservation::Voted { round, value });
                value
            }
        };
        VoteMessage::Vote { round, value: voted }
    }

    fn on_vote(&mut self, ctx: &mut ServerContext<MajorityVote>, from: NodeId, round: Round, value: Value) {
        let Some((current, own)) = self.proposal else { return };
        if self.phase != Phase::Voting || round != current {
            return;
        }
        self.votes.insert(from, value);
        let majority = self.setup.majority();
        let count = |candidate: Value| self.votes.values().filter(|&&vote| vote == candidate).count();
        if count(own) >= majority {
            return self.decide(ctx, round, own);
        }
        if let Some(&other) = self.votes.values().find(|&&vote| count(vote) >= majority) {
            return self.learn(ctx, other);
        }
        if self.votes.len() == self.setup.servers as usize {
            self.back_off(ctx); // A split vote: every voter answered and no value has a majority.
        }
    }

    fn on_newer(&mut self, ctx: &mut ServerContext<MajorityVote>, round: Round, newer: Round) {
        self.round_seen = self.round_seen.max(newer);
        if self.phase == Phase::Voting && self.proposal.map(|(current, _)| current) == Some(round) {
            self.back_off(ctx);
        }
    }

    fn back_off(&mut self, ctx: &mut ServerContext<MajorityVote>) {
        self.phase = Phase::BackingOff;
        self.failed_rounds += 1;
        let backoff = self.setup.timeout << self.failed_rounds.min(BACKOFF_DOUBLINGS);
        let pause = ctx.rng().gen_range(0..=backoff);
        ctx.set_timer(pause, VoteTimer::Retry);
    }

    /// Asks again the voters that did not answer, or starts a new round after a failed one.
    fn on_retry(&mut self, ctx: &mut ServerContext<MajorityVote>) {
        let Some((round, value)) = self.proposal else { return };
        match self.phase {
            Phase::Idle => {}
            Phase::Voting => {
                let silent: Vec<NodeId> = self.peers().filter(|peer| !self.votes.contains_key(peer)).collect();
                for peer in silent {
                    ctx.send(peer, VoteMessage::Propose { round, value });
                }
                let jitter = ctx.rng().gen_range(0..=self.setup.timeout);
                ctx.set_timer(self.setup.timeout + jitter, VoteTimer::Retry);
            }
            Phase::BackingOff => {
                let round = self.next_round();
                self.proposal = Some((round, value));
                ctx.write(VoteRecord::Proposing { round, value });
                self.start_round(ctx);
            }
        }
    }

    fn decide(&mut self, ctx: &mut ServerContext<MajorityVote>, round: Round, value: Value) {
        let voters = self.votes.iter().filter(|(_, &vote)| vote == value).map(|(&voter, _)| voter).collect();
        ctx.observe(VoteObservation::Decided { round, value, voters });
        for peer in self.peers() {
            ctx.send(peer, VoteMessage::Decide { value });
        }
        self.settle(ctx, value);
    }

    /// Another server decided `value`.
    fn learn(&mut self, ctx: &mut ServerContext<MajorityVote>, value: Value) {
        if self.decided.is_none() {
            ctx.observe(VoteObservation::Learned { value });
            self.settle(ctx, value);
        }
    }

    fn settle(&mut self, ctx: &mut ServerContext<MajorityVote>, value: Value) {
        self.decided = Some(value);
        self.phase = Phase::Idle;
        self.failed_rounds = 0;
        ctx.cancel_timer(VoteTimer::Retry);
        for (client, request) in self.waiting.drain(..) {
            ctx.send_after_sync(client, VoteMessage::Reply { request, value });
        }
    }

    /// A round above every round heard of, this server's own vote's included.
    fn next_round(&mut self) -> Round {
        self.round_seen = self.round_seen.max(self.voter.round) + 1;
        self.round_seen
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> {
        let id = self.id;
        self.setup.server_ids().filter(move |&peer| peer != id)
    }
}
