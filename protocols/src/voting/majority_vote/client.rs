//! The majority-vote client: asks one server, always the same (its id modulo the servers),
//! to propose a value, and waits for the decided one. Sending to one server keeps one
//! client's proposals with one proposer, so a scenario with one client has one proposer.
//! With no answer it asks again, with a timeout that doubles up to `4 * 4 * timeout`; after
//! [`ATTEMPTS`] tries it completes the operation as `Info`: its value may yet be decided.

use super::{MajorityVote, RequestId, VoteMessage, VoteTimer};
use crate::consensus::{Chosen, Propose};
use crate::node::{Client, ClientContext, NodeId, Setup, Time};
use crate::service::{Outcome, Value};

/// Tries per operation before the client gives up on knowing its outcome.
pub const ATTEMPTS: u32 = 8;

/// How many times the per-attempt timeout doubles.
const TIMEOUT_DOUBLINGS: u32 = 2;

#[derive(Clone, Debug)]
pub struct VoteClient {
    timeout: Time,
    /// The one server this client asks.
    server: NodeId,
    request: RequestId,
    /// The value being proposed and the tries made so far.
    pending: Option<(Value, u32)>,
}

impl VoteClient {
    pub fn new<S>(setup: &Setup<S>, id: NodeId) -> VoteClient {
        VoteClient { timeout: 4 * setup.timeout, server: id % setup.servers, request: 0, pending: None }
    }

    fn send(&mut self, ctx: &mut ClientContext<MajorityVote>, value: Value, attempt: u32) {
        self.pending = Some((value, attempt));
        ctx.send(self.server, VoteMessage::Request { request: self.request, value });
        ctx.set_timer(self.timeout << (attempt - 1).min(TIMEOUT_DOUBLINGS), VoteTimer::Client);
    }
}

impl Client<MajorityVote> for VoteClient {
    fn on_request(&mut self, ctx: &mut ClientContext<MajorityVote>, operation: Propose) {
        self.request += 1;
        self.send(ctx, operation.value, 1);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<MajorityVote>, _from: NodeId, message: VoteMessage) {
        let VoteMessage::Reply { request, value } = message else { return };
        if request != self.request || self.pending.take().is_none() {
            return;
        }
        ctx.cancel_timer(VoteTimer::Client);
        ctx.complete(Outcome::Ok(Chosen(value)));
    }

    fn on_timer(&mut self, ctx: &mut ClientContext<MajorityVote>, _timer: VoteTimer) {
        let Some((value, attempts)) = self.pending else { return };
        if attempts >= ATTEMPTS {
            self.pending = None;
            ctx.complete(Outcome::Info);
            return;
        }
        self.send(ctx, value, attempts + 1);
    }
}
