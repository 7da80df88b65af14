//! The ZooKeeper client (USENIX ATC 2010, section 2.3; ZooKeeper's `ClientCnxn`): one
//! operation at a time, over a session with one server at a time.
//!
//! The client starts with server `id mod servers` and sends every operation there, with the
//! latest zxid it has seen in an answer. It moves to the next server, after a random
//! back-off of a quarter to a half timeout, when the server answers `NotServing`, when no
//! answer comes within two timeouts, or at once when its connection to the server breaks; a
//! retry carries the same sequence number, so the store's sessions apply a write once. After
//! [`ATTEMPTS_MAX`] sends without an answer it gives up: a read of either kind completes
//! `Fail` (it had no effect), a write `Info` (it may still take effect: Jepsen's model).

use rand::Rng;

use super::messages::{ZabMessage, ZabResponse};
use super::{Zab, ZabSettings, ZabTimer, Zxid};
use crate::kv::{ClientTimer, Command, KvOperation, KvReply, Sequence, ATTEMPTS_MAX};
use crate::node::{Client, ClientContext, NodeId, Setup, Time};
use crate::service::Outcome;

/// A ZooKeeper client.
#[derive(Clone, Debug)]
pub struct ZabClient {
    id: NodeId,
    servers: u32,
    timeout: Time,
    /// The server of its session.
    server: NodeId,
    /// The latest zxid an answer carried: no server behind it may serve this client.
    last_zxid: Zxid,
    sequence: Sequence,
    pending: Option<Pending>,
}

/// The operation in progress.
#[derive(Clone, Debug)]
struct Pending {
    command: Command,
    attempts: u32,
}

impl ZabClient {
    pub fn new(setup: &Setup<ZabSettings>, id: NodeId) -> ZabClient {
        assert!(setup.servers > 0, "a ZooKeeper client needs servers");
        ZabClient {
            id,
            servers: setup.servers,
            timeout: setup.timeout,
            server: id % setup.servers,
            last_zxid: Zxid::ZERO,
            sequence: 0,
            pending: None,
        }
    }

    /// The server of the client's session.
    pub fn server(&self) -> NodeId {
        self.server
    }

    /// The latest zxid the client has seen.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    fn on_response(&mut self, ctx: &mut ClientContext<Zab>, from: NodeId, response: ZabResponse) {
        if from != self.server
            || self.pending.as_ref().map(|pending| pending.command.sequence) != Some(response.sequence())
        {
            return; // An answer to an earlier attempt, or from an earlier session.
        }
        match response {
            ZabResponse::Done { outcome, zxid, .. } => {
                self.last_zxid = self.last_zxid.max(zxid);
                self.complete(ctx, outcome);
            }
            ZabResponse::NotServing { .. } => {
                ctx.cancel_timer(ZabTimer::Client(ClientTimer::Reply));
                self.back_off(ctx);
            }
        }
    }

    /// Moves to the next server after a random pause, unless no attempt is left.
    fn back_off(&mut self, ctx: &mut ClientContext<Zab>) {
        self.server = (self.server + 1) % self.servers;
        if self.pending.as_ref().is_some_and(|pending| pending.attempts < ATTEMPTS_MAX) {
            let pause = ctx.rng().gen_range(self.timeout / 4..=self.timeout / 2);
            ctx.set_timer(pause.max(1), ZabTimer::Client(ClientTimer::Retry));
        } else {
            self.give_up(ctx);
        }
    }

    fn send(&mut self, ctx: &mut ClientContext<Zab>) {
        let Some(pending) = self.pending.as_mut().filter(|pending| pending.attempts < ATTEMPTS_MAX) else {
            return self.give_up(ctx);
        };
        pending.attempts += 1;
        let message = ZabMessage::ClientRequest { command: pending.command.clone(), last_zxid: self.last_zxid };
        ctx.send(self.server, message);
        ctx.set_timer(2 * self.timeout, ZabTimer::Client(ClientTimer::Reply));
    }

    /// Ends the operation without an answer: a read had no effect, a write may have.
    fn give_up(&mut self, ctx: &mut ClientContext<Zab>) {
        let Some(pending) = &self.pending else { return };
        let outcome = if pending.command.operation.is_update() { Outcome::Info } else { Outcome::Fail };
        self.complete(ctx, outcome);
    }

    fn complete(&mut self, ctx: &mut ClientContext<Zab>, outcome: Outcome<KvReply>) {
        self.pending = None;
        ctx.cancel_timer(ZabTimer::Client(ClientTimer::Reply));
        ctx.cancel_timer(ZabTimer::Client(ClientTimer::Retry));
        ctx.complete(outcome);
    }
}

impl Client<Zab> for ZabClient {
    fn on_request(&mut self, ctx: &mut ClientContext<Zab>, operation: KvOperation) {
        assert!(self.pending.is_none(), "client {} was given a second operation", self.id);
        self.sequence += 1;
        let command = Command { client: self.id, sequence: self.sequence, operation };
        self.pending = Some(Pending { command, attempts: 0 });
        self.send(ctx);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<Zab>, from: NodeId, message: ZabMessage) {
        if let ZabMessage::ClientReply(response) = message {
            self.on_response(ctx, from, response);
        }
    }

    fn on_timer(&mut self, ctx: &mut ClientContext<Zab>, timer: ZabTimer) {
        match timer {
            ZabTimer::Client(ClientTimer::Reply) if self.pending.is_some() => self.back_off(ctx),
            ZabTimer::Client(ClientTimer::Retry) if self.pending.is_some() => self.send(ctx),
            _ => {}
        }
    }

    fn on_disconnected(&mut self, ctx: &mut ClientContext<Zab>, peer: NodeId) {
        if peer == self.server && self.pending.is_some() {
            ctx.cancel_timer(ZabTimer::Client(ClientTimer::Reply));
            self.back_off(ctx);
        }
    }

    fn invariants(&self) {
        assert!(self.server < self.servers, "client {} talks to a non-server {}", self.id, self.server);
        if let Some(pending) = &self.pending {
            assert!(pending.attempts <= ATTEMPTS_MAX, "client {} exceeded its attempts", self.id);
            assert_eq!(pending.command.sequence, self.sequence, "client {} lost its sequence", self.id);
        }
    }
}
