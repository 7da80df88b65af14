//! The Paxos client: asks a server to propose a value and waits for the chosen one.
//!
//! It sends `Request` to one server; with no `Reply` before its timeout it tries the next
//! server, doubling the timeout up to `4 * 4 * timeout` (a slow network must not make it give
//! up before a round can finish, and a lost reply must not leave it silent for long), and
//! after `ATTEMPTS` tries it completes the operation as `Info`: its value may yet be chosen.

use super::{Paxos, PaxosMessage, PaxosTimer, RequestId};
use crate::consensus::{Chosen, Propose};
use crate::node::{Client, ClientContext, NodeId, Setup, Time};
use crate::service::{Outcome, Value};

/// Tries per operation before the client gives up on knowing its outcome.
pub const ATTEMPTS: u32 = 8;

/// How many times the per-attempt timeout doubles.
const TIMEOUT_DOUBLINGS: u32 = 2;

#[derive(Clone, Debug)]
pub struct PaxosClient {
    servers: u32,
    timeout: Time,
    /// The server to ask next.
    target: NodeId,
    request: RequestId,
    /// The value being proposed and the tries made so far.
    pending: Option<(Value, u32)>,
}

impl PaxosClient {
    pub fn new<S>(setup: &Setup<S>, id: NodeId) -> PaxosClient {
        PaxosClient {
            servers: setup.servers,
            timeout: 4 * setup.timeout,
            target: id % setup.servers,
            request: 0,
            pending: None,
        }
    }

    fn send_request(&mut self, ctx: &mut ClientContext<Paxos>, value: Value, attempt: u32) {
        ctx.send(self.target, PaxosMessage::Request { request: self.request, value });
        ctx.set_timer(self.timeout << (attempt - 1).min(TIMEOUT_DOUBLINGS), PaxosTimer::RequestTimeout);
    }
}

impl Client<Paxos> for PaxosClient {
    fn on_request(&mut self, ctx: &mut ClientContext<Paxos>, operation: Propose) {
        let Propose { value } = operation;
        self.request += 1;
        self.pending = Some((value, 1));
        self.send_request(ctx, value, 1);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<Paxos>, _from: NodeId, message: PaxosMessage) {
        let PaxosMessage::Reply { request, value } = message else { return };
        if request != self.request || self.pending.take().is_none() {
            return;
        }
        ctx.cancel_timer(PaxosTimer::RequestTimeout);
        ctx.complete(Outcome::Ok(Chosen(value)));
    }

    fn on_timer(&mut self, ctx: &mut ClientContext<Paxos>, _timer: PaxosTimer) {
        let Some((value, attempts)) = self.pending else { return };
        if attempts >= ATTEMPTS {
            self.pending = None;
            ctx.complete(Outcome::Info);
            return;
        }
        self.pending = Some((value, attempts + 1));
        self.target = (self.target + 1) % self.servers;
        self.send_request(ctx, value, attempts + 1);
    }
}
