//! The register client of the quorum store and of ABD: one operation at a time, sent to a
//! coordinator, sent again on silence, given up after a bounded number of attempts.
//!
//! Any server coordinates a read, so a read that gets no answer moves on to the next server
//! (reads are idempotent: a read carried out twice returns what one of the two saw). An
//! update is sent to the server its protocol names ([`RegisterProtocol::update_target`]:
//! the client's own server for ABD, the key's home replica for the quorum store) and sent
//! again only to that server, which remembers it ([`super::sessions`]), so it never runs
//! twice; a `Redirect` moves it to the server named. After [`ATTEMPTS`] sends without an
//! answer the client gives up: a read completes `Fail` (it had no effect), an update `Info`
//! (it may have taken effect), Jepsen's model; and each update given up moves the client's
//! later updates one server on, so that a coordinator that is down does not keep them all.
//!
//! The client reports what it saw to the checker ([`ClientEvent`]): when a read or a write
//! is invoked, what a read returned, and which writes were acknowledged, in order. That is
//! all the staleness figures need (see [`super::staleness`]).

use std::fmt;
use std::marker::PhantomData;

use crate::kv::{Command, KvOperation, KvReply, Sequence};
use crate::node::{Client, ClientContext, NodeId, Protocol, SetupOf, Time};
use crate::service::{Key, Outcome, Value};

use super::register::RegisterService;

/// Sends of one operation before the client gives up on it.
pub const ATTEMPTS: u32 = 5;

/// How long the client waits for an answer to one send, in base timeouts: long enough for
/// a coordinator's two round trips and a few of its retransmissions.
pub const ATTEMPT_TIMEOUTS: u64 = 4;

/// A server's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The request with this sequence number ended with `outcome`.
    Done { sequence: Sequence, outcome: Outcome<KvReply> },
    /// Send the request with this sequence number to `to` instead.
    Redirect { sequence: Sequence, to: NodeId },
}

/// What a register client saw, reported to the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    ReadInvoked {
        key: Key,
    },
    WriteInvoked {
        key: Key,
        value: Value,
    },
    /// A read returned `value` (`None`: the register was never written).
    ReadReturned {
        key: Key,
        value: Option<Value>,
    },
    WriteAcknowledged {
        key: Key,
        value: Value,
    },
}

impl fmt::Display for ClientEvent {
    /// `read 0 returned [5]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::ReadInvoked { key } => write!(f, "read {key} invoked"),
            ClientEvent::WriteInvoked { key, value } => write!(f, "write {key} {value} invoked"),
            ClientEvent::ReadReturned { key, value: Some(value) } => write!(f, "read {key} returned [{value}]"),
            ClientEvent::ReadReturned { key, value: None } => write!(f, "read {key} returned []"),
            ClientEvent::WriteAcknowledged { key, value } => write!(f, "write {key} {value} acknowledged"),
        }
    }
}

/// A protocol whose clients are [`RegisterClient`]s.
pub trait RegisterProtocol: Protocol<Service = RegisterService> {
    /// The message carrying a client's command to a server.
    fn request(command: Command) -> Self::Message;
    /// The answer carried by `message`, if it is one.
    fn answer(message: Self::Message) -> Option<Answer>;
    /// The client's one timer: no answer came in time.
    fn client_timer() -> Self::Timer;
    /// The observation carrying a client's event.
    fn client_event(event: ClientEvent) -> Self::Observation;
    /// The server that coordinates `client`'s update of `key`.
    fn update_target(setup: &SetupOf<Self>, client: NodeId, key: Key) -> NodeId;
}

/// The register client process.
#[derive(Debug)]
pub struct RegisterClient<P: Protocol> {
    id: NodeId,
    setup: SetupOf<P>,
    /// The server the next read goes to.
    reader: NodeId,
    /// Updates given up so far: each moves the next update one server further on.
    updates_given_up: u32,
    sequence: Sequence,
    pending: Option<Pending>,
    protocol: PhantomData<fn() -> P>,
}

/// The operation in progress.
#[derive(Clone, Debug)]
struct Pending {
    command: Command,
    target: NodeId,
    /// Sends so far, at most `ATTEMPTS`.
    attempts: u32,
}

impl<P: RegisterProtocol> RegisterClient<P> {
    pub fn new(setup: &SetupOf<P>, id: NodeId) -> Self {
        assert!(setup.servers > 0, "a register client needs servers");
        RegisterClient {
            id,
            setup: setup.clone(),
            reader: id % setup.servers,
            updates_given_up: 0,
            sequence: 0,
            pending: None,
            protocol: PhantomData,
        }
    }

    /// Whether an operation is in progress.
    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    fn attempt_timeout(&self) -> Time {
        ATTEMPT_TIMEOUTS * self.setup.timeout
    }

    fn send(&mut self, ctx: &mut ClientContext<P>) {
        let timeout = self.attempt_timeout();
        let Some(pending) = self.pending.as_mut() else { return };
        pending.attempts += 1;
        ctx.send(pending.target, P::request(pending.command.clone()));
        ctx.set_timer(timeout, P::client_timer());
    }

    fn on_answer(&mut self, ctx: &mut ClientContext<P>, answer: Answer) {
        let Some(pending) = self.pending.as_mut() else { return };
        match answer {
            Answer::Done { sequence, outcome } if sequence == pending.command.sequence => self.complete(ctx, outcome),
            Answer::Redirect { sequence, to } if sequence == pending.command.sequence => {
                pending.target = to;
                ctx.cancel_timer(P::client_timer());
                self.send_or_give_up(ctx);
            }
            _ => {} // An answer to an earlier operation.
        }
    }

    fn on_timeout(&mut self, ctx: &mut ClientContext<P>) {
        let Some(pending) = self.pending.as_mut() else { return };
        if !pending.command.operation.is_update() {
            self.reader = (self.reader + 1) % self.setup.servers;
            pending.target = self.reader;
        }
        self.send_or_give_up(ctx);
    }

    fn send_or_give_up(&mut self, ctx: &mut ClientContext<P>) {
        match &self.pending {
            Some(pending) if pending.attempts < ATTEMPTS => self.send(ctx),
            Some(pending) if pending.command.operation.is_update() => {
                self.updates_given_up += 1;
                self.complete(ctx, Outcome::Info);
            }
            Some(_) => self.complete(ctx, Outcome::Fail),
            None => {}
        }
    }

    fn complete(&mut self, ctx: &mut ClientContext<P>, outcome: Outcome<KvReply>) {
        let Some(pending) = self.pending.take() else { return };
        ctx.cancel_timer(P::client_timer());
        let event = match (&pending.command.operation, &outcome) {
            (&KvOperation::Read { key }, Outcome::Ok(KvReply::Values(values))) => {
                Some(ClientEvent::ReadReturned { key, value: values.last().copied() })
            }
            (&KvOperation::Write { key, value }, Outcome::Ok(KvReply::Done)) => {
                Some(ClientEvent::WriteAcknowledged { key, value })
            }
            _ => None,
        };
        if let Some(event) = event {
            ctx.observe(P::client_event(event));
        }
        ctx.complete(outcome);
    }
}

impl<P: RegisterProtocol> Client<P> for RegisterClient<P> {
    fn on_request(&mut self, ctx: &mut ClientContext<P>, operation: KvOperation) {
        assert!(self.pending.is_none(), "client {} was given a second operation", self.id);
        self.sequence += 1;
        let key = operation.key();
        let target = if operation.is_update() {
            (P::update_target(&self.setup, self.id, key) + self.updates_given_up) % self.setup.servers
        } else {
            self.reader
        };
        match operation {
            KvOperation::Read { key } => ctx.observe(P::client_event(ClientEvent::ReadInvoked { key })),
            KvOperation::Write { key, value } => ctx.observe(P::client_event(ClientEvent::WriteInvoked { key, value })),
            _ => {}
        }
        let command = Command { client: self.id, sequence: self.sequence, operation };
        self.pending = Some(Pending { command, target, attempts: 0 });
        self.send(ctx);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<P>, _from: NodeId, message: P::Message) {
        if let Some(answer) = P::answer(message) {
            self.on_answer(ctx, answer);
        }
    }

    fn on_timer(&mut self, ctx: &mut ClientContext<P>, _timer: P::Timer) {
        self.on_timeout(ctx);
    }

    fn invariants(&self) {
        assert!(self.reader < self.setup.servers, "client {} reads from a non-server", self.id);
        if let Some(pending) = &self.pending {
            assert!(pending.attempts <= ATTEMPTS, "client {} exceeded its attempts", self.id);
            assert_eq!(pending.command.sequence, self.sequence, "client {} lost its sequence", self.id);
        }
    }
}
