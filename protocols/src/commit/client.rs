//! The transaction client of both commit protocols.
//!
//! It sends its transaction to the coordinator as a `Request` and waits for the `Reply`:
//! commit completes the operation `Ok(Committed)` with the reads the reply carries, abort
//! completes it `Fail`. With no reply
//! before its timeout it sends the `Request` again (the coordinator treats a repeat as a
//! question about the outcome) and an `Inquiry` to every participant of the transaction,
//! since a participant that knows the decision may answer while the coordinator is down:
//! this is how a client of three-phase commit sees the termination protocol's decision,
//! and why a client of two-phase commit stays in the dark while its participants block.
//! The timeout doubles, up to four times the first, and after `ATTEMPTS` tries the client
//! completes the operation as `Info`: it never reports `Fail` unless a server told it the
//! transaction aborted.

use std::marker::PhantomData;

use super::{participants, ClientMessage, CommitProtocol, Committed, Decision, Transaction, COORDINATOR};
use crate::node::{Client, ClientContext, NodeId, Setup, Time};
use crate::service::Outcome;

/// Tries per transaction before the client gives up on knowing its outcome.
pub const ATTEMPTS: u32 = 8;

/// How many times the per-attempt timeout doubles.
const TIMEOUT_DOUBLINGS: u32 = 2;

/// The client of a commit protocol `P`.
#[derive(Debug)]
pub struct TransactionClient<P> {
    servers: u32,
    timeout: Time,
    pending: Option<Pending>,
    protocol: PhantomData<fn() -> P>,
}

/// The transaction in flight and the tries made so far.
#[derive(Clone, Debug)]
struct Pending {
    transaction: Transaction,
    attempts: u32,
}

impl<P: CommitProtocol> TransactionClient<P> {
    pub fn new<S>(setup: &Setup<S>) -> TransactionClient<P> {
        TransactionClient { servers: setup.servers, timeout: 4 * setup.timeout, pending: None, protocol: PhantomData }
    }

    fn request(pending: &Pending) -> P::Message {
        P::client_message(ClientMessage::Request(pending.transaction.clone()))
    }

    fn set_timer(&self, ctx: &mut ClientContext<P>, attempts: u32) {
        ctx.set_timer(self.timeout << (attempts - 1).min(TIMEOUT_DOUBLINGS), P::request_timer());
    }
}

impl<P: CommitProtocol> Client<P> for TransactionClient<P> {
    fn on_request(&mut self, ctx: &mut ClientContext<P>, operation: Transaction) {
        let pending = Pending { transaction: operation, attempts: 1 };
        ctx.send(COORDINATOR, Self::request(&pending));
        self.set_timer(ctx, 1);
        self.pending = Some(pending);
    }

    fn on_message(&mut self, ctx: &mut ClientContext<P>, _from: NodeId, message: P::Message) {
        let Some(ClientMessage::Reply { transaction, decision, reads }) = P::as_client_message(&message) else {
            return;
        };
        if self.pending.as_ref().is_none_or(|pending| pending.transaction.value != *transaction) {
            return;
        }
        self.pending = None;
        ctx.cancel_timer(P::request_timer());
        ctx.complete(match decision {
            Decision::Commit => Outcome::Ok(Committed { reads: reads.clone() }),
            Decision::Abort => Outcome::Fail,
        });
    }

    /// Asks the coordinator again and the participants too, or gives up as `Info`.
    fn on_timer(&mut self, ctx: &mut ClientContext<P>, _timer: P::Timer) {
        let Some(pending) = &mut self.pending else { return };
        if pending.attempts >= ATTEMPTS {
            self.pending = None;
            ctx.complete(Outcome::Info);
            return;
        }
        pending.attempts += 1;
        let (transaction, attempts) = (pending.transaction.value, pending.attempts);
        ctx.send(COORDINATOR, Self::request(pending));
        for participant in participants(self.servers, &pending.transaction.keys) {
            ctx.send(participant, P::client_message(ClientMessage::Inquiry { transaction }));
        }
        self.set_timer(ctx, attempts);
    }
}
