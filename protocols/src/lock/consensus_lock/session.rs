//! The consensus lock's part of the client: etcd's `concurrency.Mutex` over the lock
//! table, as a Raft client (one request at a time, the same sequence number for every
//! retry, redirects followed: Ongaro's thesis chapter 6).
//!
//! An attempt creates the tenure's key (`Acquire`). If no live key is ahead of it, the
//! client holds the lock, with the key's revision as its token, for the lease the key has
//! left (less the drift allowance) from when it asked. Otherwise it waits, polling its
//! position every `timeout` with `Check`, which also keeps its key's lease alive (etcd's
//! session keep-alive), until the keys ahead are gone; then it holds the lock if its own
//! key is still alive, and the attempt is refused if its key is gone (its lease ran out
//! while it waited: a long pause). A holder renews with `KeepAlive`; a release deletes its
//! key, and is acknowledged. A request not answered within three polls goes to the next
//! server with the same sequence number; a release sent again is a new request (as an
//! etcd client's retried delete is), so a stale one can take effect after the next grant.
//!
//! Variant `no-lease-recheck` (Jepsen's analysis of etcd 3.4.3, 2020; etcd issue 11456):
//! after waiting, the client takes the lock once no key is ahead, without checking that
//! its own key is still there: a waiter whose lease ran out during a pause wakes up, finds
//! the keys ahead of it gone, and holds the lock with its old revision alongside the
//! client that took it meanwhile, as etcd's `Mutex.Lock` did before the fix.

use super::{ConsensusLock, ConsensusMessage, ConsensusSetup, ConsensusTimer, LockTableOperation, LockTableOutput};
use crate::kv::Sequence;
use crate::lock::{drift_allowance, Answer, Held, Session, Tenure, NO_LEASE_RECHECK, UNLOCK_ANY};
use crate::node::{ClientContext, NodeId, Time, MILLISECOND};
use crate::raft::{RaftMessage, Reply, Request};

/// Polls without an answer before a request goes to the next server.
const RESEND_POLLS: u64 = 3;

/// What the request in flight is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// An attempt's `Acquire` or `Check`.
    Attempt(Tenure),
    Renew(Tenure),
    Release(Tenure),
    /// A release of an abandoned attempt: nobody waits for its answer.
    Abandon,
}

/// The request in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    sequence: Sequence,
    operation: LockTableOperation,
    purpose: Purpose,
    /// When it was first sent (monotonic).
    asked_at: Time,
}

/// The consensus lock's client session.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsensusSession {
    id: NodeId,
    /// The Raft servers: `0..raft_servers`.
    raft_servers: u32,
    /// The server believed to lead.
    leader: NodeId,
    ttl: Time,
    drift_bound_ppm: f64,
    poll: Time,
    recheck: bool,
    unlock_any: bool,
    sequence: Sequence,
    in_flight: Option<InFlight>,
    /// The attempt waiting behind the holder, and its key's revision.
    waiting: Option<(Tenure, u64)>,
}

impl ConsensusSession {
    pub fn new(setup: &ConsensusSetup, id: NodeId) -> ConsensusSession {
        ConsensusSession {
            id,
            raft_servers: super::raft_servers(setup),
            leader: 0,
            ttl: setup.settings.lease_ms.get() * MILLISECOND,
            drift_bound_ppm: setup.drift_bound_ppm,
            poll: setup.timeout,
            recheck: !setup.is(NO_LEASE_RECHECK),
            unlock_any: setup.is(UNLOCK_ANY),
            sequence: 0,
            in_flight: None,
            waiting: None,
        }
    }

    /// The validity of `left` of lease on the leader's clock, from when the client asked.
    fn validity(&self, left: Time) -> Time {
        left - drift_allowance(left, self.drift_bound_ppm).min(left)
    }

    /// Sends a new request (replacing the one in flight, whose answer no longer matters).
    fn ask(&mut self, ctx: &mut ClientContext<ConsensusLock>, operation: LockTableOperation, purpose: Purpose) {
        self.sequence += 1;
        let in_flight = InFlight { sequence: self.sequence, operation, purpose, asked_at: ctx.monotonic() };
        self.in_flight = Some(in_flight);
        self.send(ctx, &in_flight);
        ctx.set_timer(RESEND_POLLS * self.poll, ConsensusTimer::Poll);
    }

    fn send(&self, ctx: &mut ClientContext<ConsensusLock>, in_flight: &InFlight) {
        let request = Request { client: self.id, sequence: in_flight.sequence, operation: in_flight.operation };
        ctx.send(self.leader, ConsensusMessage::Raft(RaftMessage::ClientRequest(request)));
    }

    fn on_done(&mut self, in_flight: InFlight, output: LockTableOutput) -> Option<Answer> {
        let asked_at = in_flight.asked_at;
        match (in_flight.purpose, output) {
            (Purpose::Attempt(tenure), LockTableOutput::Position { key, ahead }) => {
                let granted = |token, left| Answer::Granted { tenure, token: Some(token), asked_at, validity: left };
                match key {
                    Some((revision, left)) if !ahead => {
                        self.waiting = None;
                        Some(granted(revision, self.validity(left)))
                    }
                    Some((revision, _)) => {
                        self.waiting = Some((tenure, revision));
                        Some(Answer::Waiting { tenure })
                    }
                    None => {
                        let waited = self.waiting.take().filter(|(waiting, _)| *waiting == tenure);
                        match waited {
                            // Flawed: nothing below its old revision, so the lock is taken
                            // on a key that is gone.
                            Some((_, revision)) if !self.recheck && !ahead => {
                                Some(granted(revision, self.validity(self.ttl)))
                            }
                            _ => Some(Answer::Refused { tenure }),
                        }
                    }
                }
            }
            (Purpose::Renew(tenure), LockTableOutput::Position { key, .. }) => Some(match key {
                Some((_, left)) => Answer::Renewed { tenure, asked_at, validity: self.validity(left) },
                None => Answer::RenewRefused { tenure },
            }),
            (Purpose::Release(tenure), LockTableOutput::Released) => Some(Answer::Released { tenure }),
            _ => None,
        }
    }
}

impl Session<ConsensusLock> for ConsensusSession {
    fn acquire(&mut self, ctx: &mut ClientContext<ConsensusLock>, tenure: Tenure) {
        self.waiting = None;
        self.ask(ctx, LockTableOperation::Acquire { tenure, ttl: self.ttl }, Purpose::Attempt(tenure));
    }

    /// Long enough to wait out a pause of the client while it is queued: a waiter whose
    /// service keeps answering never times out (each answer restarts the timeout).
    fn attempt_timeout(&self) -> Time {
        20 * self.poll
    }

    fn abandon(&mut self, ctx: &mut ClientContext<ConsensusLock>, tenure: Tenure) {
        self.waiting = None;
        self.ask(ctx, LockTableOperation::Release { tenure, any: self.unlock_any }, Purpose::Abandon);
    }

    /// A renewal already in flight is left to the poll to resend: a new one would make
    /// the answer to the old one worthless.
    fn renew(&mut self, ctx: &mut ClientContext<ConsensusLock>, held: &Held) {
        let tenure = held.tenure;
        if self.in_flight.is_some_and(|in_flight| in_flight.purpose == Purpose::Renew(tenure)) {
            return;
        }
        self.ask(ctx, LockTableOperation::KeepAlive { tenure, ttl: self.ttl }, Purpose::Renew(tenure));
    }

    fn release(&mut self, ctx: &mut ClientContext<ConsensusLock>, tenure: Tenure) -> bool {
        self.waiting = None;
        self.ask(ctx, LockTableOperation::Release { tenure, any: self.unlock_any }, Purpose::Release(tenure));
        true
    }

    fn on_message(
        &mut self,
        ctx: &mut ClientContext<ConsensusLock>,
        from: NodeId,
        message: ConsensusMessage,
    ) -> Option<Answer> {
        let ConsensusMessage::Raft(RaftMessage::ClientReply(reply)) = message else { return None };
        let in_flight = self.in_flight?;
        match reply {
            Reply::Done { sequence, output } if sequence == in_flight.sequence => {
                self.leader = from;
                self.in_flight = None;
                ctx.cancel_timer(ConsensusTimer::Poll);
                let answer = self.on_done(in_flight, output);
                if self.waiting.is_some() {
                    ctx.set_timer(self.poll, ConsensusTimer::Poll);
                }
                answer
            }
            Reply::NotLeader { sequence, leader: Some(leader) } if sequence == in_flight.sequence => {
                if leader != self.leader {
                    self.leader = leader;
                    self.send(ctx, &in_flight);
                }
                None
            }
            _ => None,
        }
    }

    /// The poll: a request not answered in time goes to the next server; a waiter with
    /// nothing in flight checks its position.
    fn on_timer(&mut self, ctx: &mut ClientContext<ConsensusLock>, timer: ConsensusTimer) -> Option<Answer> {
        if timer != ConsensusTimer::Poll {
            return None;
        }
        if let Some(in_flight) = self.in_flight {
            self.leader = (self.leader + 1) % self.raft_servers;
            self.send(ctx, &in_flight);
            ctx.set_timer(RESEND_POLLS * self.poll, ConsensusTimer::Poll);
        } else if let Some((tenure, revision)) = self.waiting {
            let check = LockTableOperation::Check { tenure, revision, ttl: self.ttl };
            self.ask(ctx, check, Purpose::Attempt(tenure));
        }
        None
    }
}
