//! Redlock's part of the client: the documentation's steps, one per line.
//!
//! 1. Take the time (the client's monotonic clock).
//! 2. Ask every instance to set the key, in parallel (the documentation goes one by one
//!    with a short timeout each); the attempt's timeout is the scenario's `timeout`.
//! 3. On a majority of `Locked`, the lock is held for `TTL - elapsed - drift`, with
//!    `drift = TTL / 100 + 2 ms`: measured from step 1, that is `TTL - drift` from when the
//!    client asked, and the shared client checks that it is not over yet.
//! 4. That is its validity.
//! 5. If no majority can be reached (too many refusals, or the attempt timed out), unlock
//!    every instance, even those that did not answer.
//!
//! An extension runs the same way, in numbered rounds. A `Locked` for an attempt that is
//! over is unlocked at once on the instance that sent it, unless it is the tenure held.

use std::collections::BTreeSet;

use super::{instances, Redlock, RedlockMessage, RedlockSetup};
use crate::lock::{Answer, Held, Session, Tenure, DRIFT_ADDED};
use crate::node::{ClientContext, NodeId, Time, MILLISECOND};

/// Redis's drift allowance: 1% of the TTL, plus 2 ms for the resolution of the clocks.
pub fn drift(ttl: Time) -> Time {
    ttl / 100 + 2 * MILLISECOND
}

/// Redlock's client session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedlockSession {
    instances: u32,
    quorum: usize,
    ttl: Time,
    /// A grant's validity from when it was asked.
    validity: Time,
    attempt_timeout: Time,
    attempt: Option<Round>,
    renewal: Option<Round>,
    rounds: u64,
    /// The tenure last granted.
    granted: Option<Tenure>,
}

/// One round of requests to every instance, and their answers so far.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Round {
    tenure: Tenure,
    number: u64,
    asked_at: Time,
    yes: BTreeSet<NodeId>,
    no: BTreeSet<NodeId>,
}

/// What one answer did to a round.
enum Count {
    Majority,
    Impossible,
    Open,
}

impl Round {
    fn new(tenure: Tenure, number: u64, asked_at: Time) -> Round {
        Round { tenure, number, asked_at, yes: BTreeSet::new(), no: BTreeSet::new() }
    }

    /// Counts an instance's first answer.
    fn count(&mut self, from: NodeId, yes: bool, quorum: usize, instances: u32) -> Count {
        if !self.yes.contains(&from) && !self.no.contains(&from) {
            if yes {
                self.yes.insert(from);
            } else {
                self.no.insert(from);
            }
        }
        if self.yes.len() >= quorum {
            Count::Majority
        } else if self.no.len() > instances as usize - quorum {
            Count::Impossible
        } else {
            Count::Open
        }
    }
}

impl RedlockSession {
    pub fn new(setup: &RedlockSetup) -> RedlockSession {
        let instances = instances(setup.servers);
        let ttl = setup.settings.lease_ms.get() * MILLISECOND;
        let validity = if setup.is(DRIFT_ADDED) { ttl + drift(ttl) } else { ttl.saturating_sub(drift(ttl)) };
        RedlockSession {
            instances,
            quorum: instances as usize / 2 + 1,
            ttl,
            validity,
            attempt_timeout: setup.timeout,
            attempt: None,
            renewal: None,
            rounds: 0,
            granted: None,
        }
    }

    /// A grant's validity from when it was asked.
    pub fn validity(&self) -> Time {
        self.validity
    }

    fn unlock_all(&self, ctx: &mut ClientContext<Redlock>, tenure: Tenure) {
        for instance in 0..self.instances {
            ctx.send(instance, RedlockMessage::Unlock { tenure });
        }
    }

    fn on_lock_answer(
        &mut self,
        ctx: &mut ClientContext<Redlock>,
        from: NodeId,
        tenure: Tenure,
        yes: bool,
    ) -> Option<Answer> {
        let Some(attempt) = self.attempt.as_mut().filter(|attempt| attempt.tenure == tenure) else {
            if yes && self.granted != Some(tenure) {
                ctx.send(from, RedlockMessage::Unlock { tenure });
            }
            return None;
        };
        match attempt.count(from, yes, self.quorum, self.instances) {
            Count::Majority => {
                let asked_at = attempt.asked_at;
                self.attempt = None;
                self.granted = Some(tenure);
                Some(Answer::Granted { tenure, token: None, asked_at, validity: self.validity })
            }
            Count::Impossible => {
                self.attempt = None;
                self.unlock_all(ctx, tenure);
                Some(Answer::Refused { tenure })
            }
            Count::Open => None,
        }
    }

    fn on_extend_answer(&mut self, from: NodeId, tenure: Tenure, round: u64, yes: bool) -> Option<Answer> {
        let renewal = self.renewal.as_mut().filter(|renewal| renewal.tenure == tenure && renewal.number == round)?;
        match renewal.count(from, yes, self.quorum, self.instances) {
            Count::Majority => {
                let asked_at = renewal.asked_at;
                self.renewal = None;
                Some(Answer::Renewed { tenure, asked_at, validity: self.validity })
            }
            Count::Impossible => {
                self.renewal = None;
                Some(Answer::RenewRefused { tenure })
            }
            Count::Open => None,
        }
    }
}

impl Session<Redlock> for RedlockSession {
    fn acquire(&mut self, ctx: &mut ClientContext<Redlock>, tenure: Tenure) {
        self.rounds += 1;
        self.attempt = Some(Round::new(tenure, self.rounds, ctx.monotonic()));
        for instance in 0..self.instances {
            ctx.send(instance, RedlockMessage::Lock { tenure, ttl: self.ttl });
        }
    }

    fn attempt_timeout(&self) -> Time {
        self.attempt_timeout
    }

    fn abandon(&mut self, ctx: &mut ClientContext<Redlock>, tenure: Tenure) {
        self.attempt = None;
        self.unlock_all(ctx, tenure);
    }

    fn renew(&mut self, ctx: &mut ClientContext<Redlock>, held: &Held) {
        self.rounds += 1;
        self.renewal = Some(Round::new(held.tenure, self.rounds, ctx.monotonic()));
        for instance in 0..self.instances {
            ctx.send(instance, RedlockMessage::Extend { tenure: held.tenure, ttl: self.ttl, round: self.rounds });
        }
    }

    fn release(&mut self, ctx: &mut ClientContext<Redlock>, tenure: Tenure) -> bool {
        if self.granted == Some(tenure) {
            self.granted = None;
            self.renewal = None;
        }
        self.unlock_all(ctx, tenure);
        false
    }

    fn on_message(
        &mut self,
        ctx: &mut ClientContext<Redlock>,
        from: NodeId,
        message: RedlockMessage,
    ) -> Option<Answer> {
        match message {
            RedlockMessage::Locked { tenure } => self.on_lock_answer(ctx, from, tenure, true),
            RedlockMessage::NotLocked { tenure } => self.on_lock_answer(ctx, from, tenure, false),
            RedlockMessage::Extended { tenure, round } => self.on_extend_answer(from, tenure, round, true),
            RedlockMessage::NotExtended { tenure, round } => self.on_extend_answer(from, tenure, round, false),
            _ => None,
        }
    }
}
