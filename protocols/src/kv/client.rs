//! The key-value client: one operation at a time, routed to the leader (Raft thesis
//! section 6.2), retried until it is answered or a bounded number of attempts is spent.
//!
//! The client sends its command to the server it believes leads (at first `id mod
//! servers`). A `NotLeader` answer naming another leader sends the command there at once;
//! one without a hint, or no answer within twice `setup.timeout` (the longest election
//! timeout, so one election fits in one attempt), moves the guess to the next
//! server and retries after a random back-off drawn from `ctx.rng()`, so that clients do
//! not retry in lockstep. Every retry carries the same sequence number, so the store's
//! session table applies the command once however often it arrives (thesis section 6.3).
//!
//! After [`ATTEMPTS_MAX`] sends without an answer the client gives up. A read has no
//! effect, so it completes `Fail`; a write, append or compare-and-set may still be in some
//! log and take effect later, so it completes `Info`, never `Fail` (Jepsen's model).

use std::marker::PhantomData;

use rand::Rng;

use super::{Command, KvOperation, KvReply, KvService, Response, Sequence};
use crate::node::{Client, ClientContext, NodeId, Protocol, Setup, Time};
use crate::service::Outcome;

/// How many times the client sends one command before it gives up.
pub const ATTEMPTS_MAX: u32 = 8;

/// A protocol whose clients are [`KvClient`]s: the conversions between its message and
/// timer types and the client's payloads.
pub trait KvProtocol: Protocol<Service = KvService> {
    /// The protocol's message carrying a client's command to a server.
    fn request(command: Command) -> Self::Message;
    /// The server's answer carried by `message`, if it is one.
    fn response(message: Self::Message) -> Option<Response>;
    /// The protocol's timer carrying a client timer.
    fn client_timer(timer: ClientTimer) -> Self::Timer;
    /// The client timer carried by `timer`, if it is one.
    fn as_client_timer(timer: Self::Timer) -> Option<ClientTimer>;
}

/// The client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientTimer {
    /// No answer came for the latest send.
    Reply,
    /// The back-off after a failed attempt is over: send again.
    Retry,
}

/// The key-value client process.
#[derive(Clone, Debug)]
pub struct KvClient<P> {
    id: NodeId,
    servers: u32,
    timeout: Time,
    /// The server the client believes leads.
    leader: NodeId,
    /// The sequence number of the latest operation.
    sequence: Sequence,
    pending: Option<Pending>,
    protocol: PhantomData<fn() -> P>,
}

/// The operation in progress.
#[derive(Clone, Debug)]
struct Pending {
    command: Command,
    /// Sends so far, at most `ATTEMPTS_MAX`.
    attempts: u32,
}

impl<P: KvProtocol> KvClient<P> {
    pub fn new<S>(setup: &Setup<S>, id: NodeId) -> Self {
        assert!(setup.servers > 0, "a key-value client needs servers");
        KvClient {
            id,
            servers: setup.servers,
            timeout: setup.timeout,
            leader: id % setup.servers,
            sequence: 0,
            pending: None,
            protocol: PhantomData,
        }
    }

    /// The server the client will send to next.
    pub fn leader_guess(&self) -> NodeId {
        self.leader
    }

    /// Whether an operation is in progress.
    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    fn on_response(&mut self, ctx: &mut ClientContext<P>, from: NodeId, response: Response) {
        if self.pending.as_ref().map(|pending| pending.command.sequence) != Some(response.sequence()) {
            return; // An answer to an earlier attempt of an operation already completed.
        }
        match response {
            Response::Done { outcome, .. } => {
                self.leader = from;
                self.complete(ctx, outcome);
            }
            Response::NotLeader { leader: Some(leader), .. } if leader != from && leader < self.servers => {
                self.leader = leader;
                ctx.cancel_timer(P::client_timer(ClientTimer::Reply));
                self.send_or_give_up(ctx);
            }
            Response::NotLeader { .. } => {
                ctx.cancel_timer(P::client_timer(ClientTimer::Reply));
                self.back_off(ctx);
            }
        }
    }

    fn on_reply_timeout(&mut self, ctx: &mut ClientContext<P>) {
        if self.pending.is_some() {
            self.back_off(ctx);
        }
    }

    fn on_retry_timeout(&mut self, ctx: &mut ClientContext<P>) {
        if self.pending.is_some() {
            self.send_or_give_up(ctx);
        }
    }

    /// Tries the next server after a random pause, unless no attempt is left.
    fn back_off(&mut self, ctx: &mut ClientContext<P>) {
        self.leader = (self.leader + 1) % self.servers;
        if self.attempts_left() {
            let pause = ctx.rng().gen_range(self.timeout / 4..=self.timeout / 2);
            ctx.set_timer(pause, P::client_timer(ClientTimer::Retry));
        } else {
            self.give_up(ctx);
        }
    }

    fn send_or_give_up(&mut self, ctx: &mut ClientContext<P>) {
        let Some(pending) = self.pending.as_mut().filter(|pending| pending.attempts < ATTEMPTS_MAX) else {
            return self.give_up(ctx);
        };
        pending.attempts += 1;
        ctx.send(self.leader, P::request(pending.command.clone()));
        ctx.set_timer(2 * self.timeout, P::client_timer(ClientTimer::Reply));
    }

    fn attempts_left(&self) -> bool {
        self.pending.as_ref().is_some_and(|pending| pending.attempts < ATTEMPTS_MAX)
    }

    /// Ends the operation without an answer: a read had no effect, an update may have.
    fn give_up(&mut self, ctx: &mut ClientContext<P>) {
        let Some(pending) = &self.pending else { return };
        let outcome = if pending.command.operation.is_update() { Outcome::Info } else { Outcome::Fail };
        self.complete(ctx, outcome);
    }

    fn complete(&mut self, ctx: &mut ClientContext<P>, outcome: Outcome<KvReply>) {
        self.pending = None;
        ctx.cancel_timer(P::client_timer(ClientTimer::Reply));
        ctx.cancel_timer(P::client_timer(ClientTimer::Retry));
        ctx.complete(outcome);
    }
}

impl<P: KvProtocol> Client<P> for KvClient<P> {
    fn on_request(&mut self, ctx: &mut ClientContext<P>, operation: KvOperation) {
        assert!(self.pending.is_none(), "client {} was given a second operation", self.id);
        self.sequence += 1;
        let command = Command { client: self.id, sequence: self.sequence, operation };
        self.pending = Some(Pending { command, attempts: 0 });
        self.send_or_give_up(ctx);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<P>, from: NodeId, message: P::Message) {
        if let Some(response) = P::response(message) {
            self.on_response(ctx, from, response);
        }
    }

    fn on_timer(&mut self, ctx: &mut ClientContext<P>, timer: P::Timer) {
        match P::as_client_timer(timer) {
            Some(ClientTimer::Reply) => self.on_reply_timeout(ctx),
            Some(ClientTimer::Retry) => self.on_retry_timeout(ctx),
            None => {}
        }
    }

    fn invariants(&self) {
        assert!(self.leader < self.servers, "client {} guesses a non-server {}", self.id, self.leader);
        if let Some(pending) = &self.pending {
            assert!(pending.attempts <= ATTEMPTS_MAX, "client {} exceeded its attempts", self.id);
            assert_eq!(pending.command.sequence, self.sequence, "client {} lost its sequence", self.id);
        }
    }
}
