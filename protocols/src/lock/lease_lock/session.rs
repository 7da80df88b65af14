//! The lease lock's part of the client: one request to the lock server per attempt.
//!
//! An attempt sends `Acquire`; `Granted` is a grant valid for the lease less the drift
//! allowance from when it was asked, `Busy` a refusal. An attempt the server does not
//! answer in time may still have been granted, so the session releases it. Renewals are
//! numbered, and only an answer to the latest round counts, measured from when that round
//! was asked.

use super::{LeaseLock, LeaseMessage, LeaseSetup, LOCK_SERVER};
use crate::lock::{drift_allowance, Answer, Held, Session, Tenure};
use crate::node::{ClientContext, NodeId, Time, MILLISECOND};

/// The lease lock's client session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSession {
    /// The validity of a grant, from when it was asked.
    validity: Time,
    attempt_timeout: Time,
    /// The attempt in flight and when it was asked.
    asking: Option<(Tenure, Time)>,
    /// The latest renewal round and when it was asked.
    round: u64,
    renew_asked: Time,
}

impl LeaseSession {
    pub fn new(setup: &LeaseSetup) -> LeaseSession {
        let lease = setup.settings.lease_ms.get() * MILLISECOND;
        LeaseSession {
            validity: lease - drift_allowance(lease, setup.drift_bound_ppm).min(lease),
            attempt_timeout: 2 * setup.timeout,
            asking: None,
            round: 0,
            renew_asked: 0,
        }
    }

    /// The validity of a grant, from when it was asked.
    pub fn validity(&self) -> Time {
        self.validity
    }
}

impl Session<LeaseLock> for LeaseSession {
    fn acquire(&mut self, ctx: &mut ClientContext<LeaseLock>, tenure: Tenure) {
        self.asking = Some((tenure, ctx.monotonic()));
        ctx.send(LOCK_SERVER, LeaseMessage::Acquire { tenure });
    }

    fn attempt_timeout(&self) -> Time {
        self.attempt_timeout
    }

    fn abandon(&mut self, ctx: &mut ClientContext<LeaseLock>, tenure: Tenure) {
        self.asking = None;
        ctx.send(LOCK_SERVER, LeaseMessage::Release { tenure });
    }

    fn renew(&mut self, ctx: &mut ClientContext<LeaseLock>, held: &Held) {
        self.round += 1;
        self.renew_asked = ctx.monotonic();
        ctx.send(LOCK_SERVER, LeaseMessage::Renew { tenure: held.tenure, round: self.round });
    }

    fn release(&mut self, ctx: &mut ClientContext<LeaseLock>, tenure: Tenure) -> bool {
        ctx.send(LOCK_SERVER, LeaseMessage::Release { tenure });
        true
    }

    fn on_message(
        &mut self,
        _ctx: &mut ClientContext<LeaseLock>,
        _from: NodeId,
        message: LeaseMessage,
    ) -> Option<Answer> {
        let validity = self.validity;
        match message {
            LeaseMessage::Granted { tenure, token } => {
                // A grant of an attempt no longer in flight is still a grant: the client
                // releases it. It was asked no later than now, so measure from the attempt
                // that asked it if that is the one in flight.
                let asked_at = match self.asking {
                    Some((asking, asked_at)) if asking == tenure => asked_at,
                    _ => 0,
                };
                Some(Answer::Granted { tenure, token: Some(token), asked_at, validity })
            }
            LeaseMessage::Busy { tenure } => Some(Answer::Refused { tenure }),
            LeaseMessage::Renewed { tenure, round } if round == self.round => {
                Some(Answer::Renewed { tenure, asked_at: self.renew_asked, validity })
            }
            LeaseMessage::NotHolder { tenure, round } if round == self.round => Some(Answer::RenewRefused { tenure }),
            LeaseMessage::Released { tenure } => Some(Answer::Released { tenure }),
            _ => None,
        }
    }
}
