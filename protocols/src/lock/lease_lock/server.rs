//! The lock server of `lease-lock`: one handler per request, the lease measured on the
//! server's monotonic clock, and expiry found lazily, when the next request looks.

use super::{LeaseLock, LeaseMessage, LeaseRecord, LeaseSetup};
use crate::lock::{LockObservation, Tenure, Token, UNLOCK_ANY};
use crate::node::{NodeId, ServerContext, Time, MILLISECOND};

/// The lock server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockServer {
    lease: Time,
    durable: bool,
    unlock_any: bool,
    /// The token of the next grant.
    next_token: Token,
    holder: Option<Holder>,
    /// After a restart that forgot the holder: no grant before this (monotonic).
    closed_until: Time,
    restarted: bool,
}

/// Who holds the lock, and until when by the server's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    pub tenure: Tenure,
    pub token: Token,
    pub expires: Time,
}

impl LockServer {
    pub fn new(setup: &LeaseSetup) -> LockServer {
        LockServer {
            lease: setup.settings.lease_ms.get() * MILLISECOND,
            durable: setup.settings.durable,
            unlock_any: setup.is(UNLOCK_ANY),
            next_token: 1,
            holder: None,
            closed_until: 0,
            restarted: false,
        }
    }

    /// A server restarted from its records: the next token after the last granted, and
    /// the last grant's tenure as the holder (its lease is set when the server is up).
    pub fn recover(setup: &LeaseSetup, records: &[LeaseRecord]) -> LockServer {
        let mut server = LockServer { restarted: true, ..LockServer::new(setup) };
        for record in records {
            if let LeaseRecord::Granted { tenure, token } = *record {
                server.next_token = server.next_token.max(token + 1);
                server.holder = Some(Holder { tenure, token, expires: 0 });
            }
        }
        server
    }

    /// Who holds the lock, as the server knows it (its lease may have run out).
    pub fn holder(&self) -> Option<&Holder> {
        self.holder.as_ref()
    }

    pub fn next_token(&self) -> Token {
        self.next_token
    }

    /// Up again after a crash: whoever may hold the lock holds it for a full lease from now.
    pub fn on_recover(&mut self, ctx: &mut ServerContext<LeaseLock>) {
        let until = ctx.monotonic() + self.lease;
        match &mut self.holder {
            Some(holder) => holder.expires = until,
            None if !self.durable && self.restarted => self.closed_until = until,
            None => {}
        }
    }

    pub fn on_message(&mut self, ctx: &mut ServerContext<LeaseLock>, from: NodeId, message: LeaseMessage) {
        match message {
            LeaseMessage::Acquire { tenure } => self.on_acquire(ctx, from, tenure),
            LeaseMessage::Renew { tenure, round } => self.on_renew(ctx, from, tenure, round),
            LeaseMessage::Release { tenure } => self.on_release(ctx, from, tenure),
            _ => {}
        }
    }

    /// The holder, unless its lease ran out by now (then it is let go).
    fn current_holder(&mut self, ctx: &mut ServerContext<LeaseLock>) -> Option<Holder> {
        let holder = self.holder?;
        if ctx.monotonic() < holder.expires {
            return Some(holder);
        }
        self.holder = None;
        ctx.observe(LockObservation::Freed { tenure: holder.tenure });
        None
    }

    fn on_acquire(&mut self, ctx: &mut ServerContext<LeaseLock>, from: NodeId, tenure: Tenure) {
        let now = ctx.monotonic();
        match self.current_holder(ctx) {
            Some(holder) if holder.tenure == tenure => {
                // The same request again (the network duplicated it): the grant stands, and
                // its lease runs from now, after any asking the answer may be taken for.
                self.holder = Some(Holder { expires: now + self.lease, ..holder });
                ctx.send_after_sync(from, LeaseMessage::Granted { tenure, token: holder.token });
            }
            Some(_) => ctx.send(from, LeaseMessage::Busy { tenure }),
            None if now < self.closed_until => ctx.send(from, LeaseMessage::Busy { tenure }),
            None => self.grant(ctx, from, tenure),
        }
    }

    fn grant(&mut self, ctx: &mut ServerContext<LeaseLock>, from: NodeId, tenure: Tenure) {
        let token = self.next_token;
        self.next_token += 1;
        self.holder = Some(Holder { tenure, token, expires: ctx.monotonic() + self.lease });
        ctx.observe(LockObservation::Granted { tenure, token: Some(token) });
        if self.durable {
            ctx.write(LeaseRecord::Granted { tenure, token });
        }
        // Persistence before the answer; with nothing written it goes at once.
        ctx.send_after_sync(from, LeaseMessage::Granted { tenure, token });
    }

    fn on_renew(&mut self, ctx: &mut ServerContext<LeaseLock>, from: NodeId, tenure: Tenure, round: u64) {
        let now = ctx.monotonic();
        match self.current_holder(ctx) {
            Some(holder) if holder.tenure == tenure => {
                self.holder = Some(Holder { expires: now + self.lease, ..holder });
                ctx.send(from, LeaseMessage::Renewed { tenure, round });
            }
            _ => ctx.send(from, LeaseMessage::NotHolder { tenure, round }),
        }
    }

    fn on_release(&mut self, ctx: &mut ServerContext<LeaseLock>, from: NodeId, tenure: Tenure) {
        if let Some(holder) = self.holder.filter(|holder| self.unlock_any || holder.tenure == tenure) {
            self.holder = None;
            ctx.observe(LockObservation::Freed { tenure: holder.tenure });
        }
        ctx.send(from, LeaseMessage::Released { tenure });
    }

    pub fn invariants(&self) {
        if let Some(holder) = self.holder {
            assert!(holder.token < self.next_token, "the holder's token {} was never handed out", holder.token);
        }
    }
}
