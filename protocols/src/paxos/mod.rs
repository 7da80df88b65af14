//! Single-decree Paxos (Lamport, "Paxos Made Simple", 2001).
//!
//! Every server plays the three roles of section 2: proposer, acceptor and learner.
//!
//! - Phase 1 (section 2.2): a proposer with a client's value picks a ballot higher than any
//!   it has seen, unique to it (`Ballot { round, proposer }`), and sends `Prepare` to every
//!   acceptor. An acceptor that has promised no higher ballot promises this one: it makes
//!   the promise durable and answers `Promise` with the highest-ballot proposal it has
//!   accepted, if any; otherwise it answers `Nack` with the ballot it promised.
//! - Phase 2: with promises from a majority, the proposer sends `Accept` with the value of
//!   the highest-ballot proposal reported in those promises, or its own value if none was.
//!   An acceptor accepts unless it promised a higher ballot, makes that durable, and
//!   answers `Accepted`.
//! - Learning (section 2.3): once a majority accepted, the value is chosen; the proposer
//!   tells the other learners with `Learn` and answers its clients.
//!
//! Competing proposers may duel; after a `Nack` or a timeout a proposer retries with a
//! higher ballot after a randomised back-off that doubles with each failed round (up to
//! `BACKOFF_DOUBLINGS` times), so that proposers whose rounds take longer than the base
//! timeout still drift apart: a liveness measure, never a safety one.
//! An acceptor's `Promised` and `Accepted` records are durable before it answers (its
//! answers go out with `send_after_sync`), so a restarted acceptor keeps its promises
//! (section 2.2, last paragraph). A learner's
//! knowledge is volatile: a restarted server learns the value again by running a round.
//!
//! Variants:
//! - `acceptor-forgets`: a restarted acceptor ignores its log, so a crash can let a second
//!   value be chosen.
//! - `ignore-accepted`: phase 2 proposes the proposer's own value even when a promise
//!   reported an accepted one, which breaks the rule that makes agreement hold.

mod checker;
mod client;
#[cfg(test)]
mod tests;

pub use checker::PaxosChecker;
pub use client::PaxosClient;

use std::collections::BTreeSet;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::consensus::ConsensusService;
use crate::node::{Message, Milestone, NoSettings, NodeId, Protocol, Server, ServerContext, Setup, Variant, CORRECT};
use crate::service::Value;

/// The protocol marker type.
#[derive(Debug)]
pub struct Paxos;

/// A proposal number: totally ordered, unique per proposer (rounds start at 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u64,
    pub proposer: NodeId,
}

impl std::fmt::Display for Ballot {
    /// `round.proposer`, as in "ballot 3.1".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.round, self.proposer)
    }
}

/// A client's request id: the client's own sequence number.
pub type RequestId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosMessage {
    /// Client to proposer: propose `value`.
    Request {
        request: RequestId,
        value: Value,
    },
    /// Proposer to client: `value` was chosen.
    Reply {
        request: RequestId,
        value: Value,
    },
    Prepare {
        ballot: Ballot,
    },
    Promise {
        ballot: Ballot,
        accepted: Option<(Ballot, Value)>,
    },
    Accept {
        ballot: Ballot,
        value: Value,
    },
    Accepted {
        ballot: Ballot,
        value: Value,
    },
    /// Refusal of a `Prepare` or `Accept` for `ballot`: the acceptor promised `promised`.
    Nack {
        ballot: Ballot,
        promised: Ballot,
    },
    /// Proposer to learners: `value` was chosen.
    Learn {
        value: Value,
    },
}

impl Message for PaxosMessage {
    fn kind(&self) -> &'static str {
        match self {
            PaxosMessage::Request { .. } => "Request",
            PaxosMessage::Reply { .. } => "Reply",
            PaxosMessage::Prepare { .. } => "Prepare",
            PaxosMessage::Promise { .. } => "Promise",
            PaxosMessage::Accept { .. } => "Accept",
            PaxosMessage::Accepted { .. } => "Accepted",
            PaxosMessage::Nack { .. } => "Nack",
            PaxosMessage::Learn { .. } => "Learn",
        }
    }
}

/// Timers of a Paxos process.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosTimer {
    /// The proposer's round did not finish in time, or it backs off after a `Nack`.
    Retry,
    /// The client heard nothing back for its request.
    RequestTimeout,
}

/// The acceptor's durable log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaxosRecord {
    Promised(Ballot),
    Accepted(Ballot, Value),
}

/// Events reported to the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaxosObservation {
    /// A proposer received a client's value (validity: only these may be chosen).
    Proposed { value: Value },
    /// An acceptor accepted `value` in `ballot`.
    Accepted { ballot: Ballot, value: Value },
    /// A learner learned that `value` was chosen.
    Learned { value: Value },
}

impl std::fmt::Display for PaxosObservation {
    /// `accepted ballot 1.2 value 7`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaxosObservation::Proposed { value } => write!(f, "proposed value {value}"),
            PaxosObservation::Accepted { ballot, value } => write!(f, "accepted ballot {ballot} value {value}"),
            PaxosObservation::Learned { value } => write!(f, "learned value {value}"),
        }
    }
}

/// How many times a proposer's back-off doubles after failed rounds in a row.
/// Bounded so that, once the faults heal, a proposer retries within a few hundred base
/// timeouts at worst.
pub const BACKOFF_DOUBLINGS: u32 = 4;

pub const ACCEPTOR_FORGETS: &str = "acceptor-forgets";
pub const IGNORE_ACCEPTED: &str = "ignore-accepted";

impl Protocol for Paxos {
    const NAME: &'static str = "paxos";
    const ABOUT: &'static str = "single-decree Paxos (Lamport, Paxos Made Simple)";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: CORRECT, about: "Paxos Made Simple, section 2" },
        Variant {
            name: ACCEPTOR_FORGETS,
            about: "acceptor state is not durable: a restarted acceptor forgets its promise and accepted value",
        },
        Variant {
            name: IGNORE_ACCEPTED,
            about: "phase 2 proposes the proposer's own value, ignoring values reported in promises",
        },
    ];
    const MILESTONES: &'static [Milestone] = &[
        Milestone { name: "value-accepted", about: "an acceptor accepted a value" },
        Milestone { name: "value-learned", about: "a learner learned the chosen value" },
    ];

    type Service = ConsensusService;
    type Settings = NoSettings;
    type Message = PaxosMessage;
    type Timer = PaxosTimer;
    type Record = PaxosRecord;
    type Observation = PaxosObservation;
    type Server = PaxosServer;
    type Client = PaxosClient;
    type Checker = PaxosChecker;

    fn server(setup: &Setup, id: NodeId) -> PaxosServer {
        PaxosServer::new(setup, id, Acceptor::default())
    }

    fn recover(setup: &Setup, id: NodeId, records: &[PaxosRecord]) -> PaxosServer {
        let acceptor = if setup.is(ACCEPTOR_FORGETS) { Acceptor::default() } else { Acceptor::from_records(records) };
        PaxosServer::new(setup, id, acceptor)
    }

    fn client(setup: &Setup, id: NodeId) -> PaxosClient {
        PaxosClient::new(setup, id)
    }

    fn checker(setup: &Setup) -> PaxosChecker {
        PaxosChecker::new(setup)
    }

    fn milestone(observation: &PaxosObservation) -> Option<&'static str> {
        match observation {
            PaxosObservation::Accepted { .. } => Some("value-accepted"),
            PaxosObservation::Learned { .. } => Some("value-learned"),
            PaxosObservation::Proposed { .. } => None,
        }
    }
}

/// The acceptor's durable state (section 2.2): the highest ballot promised and the
/// highest-ballot proposal accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acceptor {
    pub promised: Ballot,
    pub accepted: Option<(Ballot, Value)>,
}

impl Acceptor {
    /// Rebuilds the state by replaying the log.
    pub fn from_records(records: &[PaxosRecord]) -> Acceptor {
        let mut acceptor = Acceptor::default();
        for record in records {
            match *record {
                PaxosRecord::Promised(ballot) => acceptor.promised = acceptor.promised.max(ballot),
                PaxosRecord::Accepted(ballot, value) => {
                    acceptor.promised = acceptor.promised.max(ballot);
                    acceptor.accepted = Some((ballot, value));
                }
            }
        }
        acceptor
    }
}

/// Where the proposer is in its current round.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Phase 1: promises gathered so far, and the highest-ballot accepted proposal they report.
    Preparing {
        promises: BTreeSet<NodeId>,
        highest: Option<(Ballot, Value)>,
    },
    /// Phase 2: the value proposed and the acceptors that accepted it.
    Accepting {
        value: Value,
        accepts: BTreeSet<NodeId>,
    },
}

/// One server: proposer, acceptor and learner.
#[derive(Clone, Debug)]
pub struct PaxosServer {
    id: NodeId,
    setup: Setup,
    acceptor: Acceptor,
    /// The proposer's current ballot.
    ballot: Ballot,
    /// The highest round seen in any ballot, so the next one is higher.
    round_seen: u64,
    phase: Phase,
    /// The value this proposer will propose if no accepted value is reported.
    proposal: Option<Value>,
    /// Clients waiting for the decision.
    waiting: Vec<(NodeId, RequestId)>,
    learned: Option<Value>,
    /// Rounds failed in a row (timed out or refused), which lengthen the back-off.
    failed_rounds: u32,
}

impl Server<Paxos> for PaxosServer {
    fn on_start(&mut self, _ctx: &mut ServerContext<Paxos>) {}

    fn on_message(&mut self, ctx: &mut ServerContext<Paxos>, from: NodeId, message: PaxosMessage) {
        match message {
            PaxosMessage::Request { request, value } => self.on_request(ctx, from, request, value),
            PaxosMessage::Prepare { ballot } => {
                let answer = self.on_prepare(ctx, ballot);
                ctx.send_after_sync(from, answer);
            }
            PaxosMessage::Promise { ballot, accepted } => self.on_promise(ctx, from, ballot, accepted),
            PaxosMessage::Accept { ballot, value } => {
                let answer = self.on_accept(ctx, ballot, value);
                ctx.send_after_sync(from, answer);
            }
            PaxosMessage::Accepted { ballot, value } => self.on_accepted(ctx, from, ballot, value),
            PaxosMessage::Nack { ballot, promised } => self.on_nack(ctx, ballot, promised),
            PaxosMessage::Learn { value } => self.learn(ctx, value),
            PaxosMessage::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ServerContext<Paxos>, timer: PaxosTimer) {
        match timer {
            PaxosTimer::Retry => self.on_retry(ctx),
            PaxosTimer::RequestTimeout => {}
        }
    }

    fn invariants(&self) {
        assert_eq!(self.ballot.proposer, self.id, "ballots are unique per proposer");
        assert!(self.round_seen >= self.ballot.round);
        if let Some((accepted, _)) = self.acceptor.accepted {
            assert!(accepted <= self.acceptor.promised, "accepted a ballot above the promise");
        }
        if self.learned.is_some() {
            assert!(self.waiting.is_empty(), "a learned value is answered at once");
        }
    }
}

impl PaxosServer {
    fn new(setup: &Setup, id: NodeId, acceptor: Acceptor) -> PaxosServer {
        let round_seen = acceptor.promised.round;
        PaxosServer {
            id,
            setup: setup.clone(),
            acceptor,
            ballot: Ballot { round: 0, proposer: id },
            round_seen,
            phase: Phase::Idle,
            proposal: None,
            waiting: Vec::new(),
            learned: None,
            failed_rounds: 0,
        }
    }

    /// The acceptor's state, for the checkers and tests.
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }

    /// The value this server learned, if any.
    pub fn learned(&self) -> Option<Value> {
        self.learned
    }

    fn on_request(&mut self, ctx: &mut ServerContext<Paxos>, client: NodeId, request: RequestId, value: Value) {
        if let Some(chosen) = self.learned {
            ctx.send(client, PaxosMessage::Reply { request, value: chosen });
            return;
        }
        ctx.observe(PaxosObservation::Proposed { value });
        self.waiting.retain(|&(waiting, _)| waiting != client);
        self.waiting.push((client, request));
        self.proposal.get_or_insert(value);
        if self.phase == Phase::Idle {
            self.start_phase1(ctx);
        }
    }

    /// Phase 1a: a fresh ballot, `Prepare` to every acceptor (this one answers locally).
    fn start_phase1(&mut self, ctx: &mut ServerContext<Paxos>) {
        self.round_seen += 1;
        self.ballot = Ballot { round: self.round_seen, proposer: self.id };
        self.phase = Phase::Preparing { promises: BTreeSet::new(), highest: None };
        let ballot = self.ballot;
        for peer in self.peers() {
            ctx.send(peer, PaxosMessage::Prepare { ballot });
        }
        self.set_retry_timer(ctx, self.setup.timeout);
        if let PaxosMessage::Promise { ballot, accepted } = self.on_prepare(ctx, ballot) {
            self.on_promise(ctx, self.id, ballot, accepted);
        }
    }

    /// Phase 1b at the acceptor.
    fn on_prepare(&mut self, ctx: &mut ServerContext<Paxos>, ballot: Ballot) -> PaxosMessage {
        self.note_round(ballot);
        if ballot < self.acceptor.promised {
            return PaxosMessage::Nack { ballot, promised: self.acceptor.promised };
        }
        if ballot > self.acceptor.promised {
            self.acceptor.promised = ballot;
            ctx.write(PaxosRecord::Promised(ballot));
            ctx.sync();
        }
        PaxosMessage::Promise { ballot, accepted: self.acceptor.accepted }
    }

    fn on_promise(
        &mut self,
        ctx: &mut ServerContext<Paxos>,
        from: NodeId,
        ballot: Ballot,
        accepted: Option<(Ballot, Value)>,
    ) {
        let Phase::Preparing { promises, highest } = &mut self.phase else { return };
        if ballot != self.ballot {
            return;
        }
        promises.insert(from);
        if accepted.map(|(b, _)| b) > highest.map(|(b, _)| b) {
            *highest = accepted;
        }
        if promises.len() >= self.setup.majority() {
            let reported = highest.map(|(_, value)| value);
            self.start_phase2(ctx, reported);
        }
    }

    /// Phase 2a: propose the highest accepted value reported, or our own.
    fn start_phase2(&mut self, ctx: &mut ServerContext<Paxos>, reported: Option<Value>) {
        let own = self.proposal.expect("a proposer only runs a round for a client's value");
        let value = match reported {
            Some(value) if !self.setup.is(IGNORE_ACCEPTED) => value,
            _ => own,
        };
        self.phase = Phase::Accepting { value, accepts: BTreeSet::new() };
        let ballot = self.ballot;
        for peer in self.peers() {
            ctx.send(peer, PaxosMessage::Accept { ballot, value });
        }
        if let PaxosMessage::Accepted { ballot, value } = self.on_accept(ctx, ballot, value) {
            self.on_accepted(ctx, self.id, ballot, value);
        }
    }

    /// Phase 2b at the acceptor.
    fn on_accept(&mut self, ctx: &mut ServerContext<Paxos>, ballot: Ballot, value: Value) -> PaxosMessage {
        self.note_round(ballot);
        if ballot < self.acceptor.promised {
            return PaxosMessage::Nack { ballot, promised: self.acceptor.promised };
        }
        if self.acceptor.accepted != Some((ballot, value)) {
            self.acceptor.promised = ballot;
            self.acceptor.accepted = Some((ballot, value));
            ctx.write(PaxosRecord::Accepted(ballot, value));
            ctx.sync();
            ctx.observe_after_sync(PaxosObservation::Accepted { ballot, value });
        }
        PaxosMessage::Accepted { ballot, value }
    }

    fn on_accepted(&mut self, ctx: &mut ServerContext<Paxos>, from: NodeId, ballot: Ballot, value: Value) {
        let Phase::Accepting { accepts, .. } = &mut self.phase else { return };
        if ballot != self.ballot {
            return;
        }
        accepts.insert(from);
        if accepts.len() >= self.setup.majority() {
            for peer in self.peers() {
                ctx.send_after_sync(peer, PaxosMessage::Learn { value });
            }
            self.learn(ctx, value);
        }
    }

    fn on_nack(&mut self, ctx: &mut ServerContext<Paxos>, ballot: Ballot, promised: Ballot) {
        self.note_round(promised);
        if ballot != self.ballot || self.phase == Phase::Idle {
            return;
        }
        self.phase = Phase::Idle;
        self.failed_rounds += 1;
        let backoff = ctx.rng().gen_range(0..=self.backoff());
        self.set_retry_timer(ctx, backoff);
    }

    fn on_retry(&mut self, ctx: &mut ServerContext<Paxos>) {
        if self.phase != Phase::Idle {
            self.failed_rounds += 1;
        }
        if self.learned.is_none() && !self.waiting.is_empty() {
            self.start_phase1(ctx);
        } else {
            self.phase = Phase::Idle;
        }
    }

    /// Section 2.3: the value is chosen; answer every waiting client.
    fn learn(&mut self, ctx: &mut ServerContext<Paxos>, value: Value) {
        if self.learned.is_none() {
            ctx.observe(PaxosObservation::Learned { value });
        }
        self.learned = Some(value);
        self.phase = Phase::Idle;
        self.failed_rounds = 0;
        ctx.cancel_timer(PaxosTimer::Retry);
        for (client, request) in self.waiting.drain(..) {
            ctx.send_after_sync(client, PaxosMessage::Reply { request, value });
        }
    }

    /// A round timeout with a random part, so that duelling proposers drift apart.
    fn set_retry_timer(&mut self, ctx: &mut ServerContext<Paxos>, base: u64) {
        let jitter = ctx.rng().gen_range(0..=self.backoff());
        ctx.set_timer(base + jitter, PaxosTimer::Retry);
    }

    /// The base timeout, doubled for each round failed in a row (up to a bound).
    fn backoff(&self) -> u64 {
        self.setup.timeout << self.failed_rounds.min(BACKOFF_DOUBLINGS)
    }

    fn note_round(&mut self, ballot: Ballot) {
        self.round_seen = self.round_seen.max(ballot.round);
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> {
        let id = self.id;
        self.setup.server_ids().filter(move |&peer| peer != id)
    }
}
