//! The lock client every design shares: acquiring with retries, holding a lease measured on
//! the client's own clock, renewing it, writing to the resource under it, and releasing it.
//! What differs per design, whom to ask and what counts as a grant, is its [`Session`].
//!
//! - Acquire. Each attempt gets a fresh [`Tenure`] (so a late answer to an old attempt is
//!   never mistaken for the current one) and the session asks the service. A grant comes
//!   with the time the client *asked* (its monotonic clock) and the validity the design
//!   allows from then: the client deems the lease over at `asked + validity`, which is
//!   before any server that measured the lease from the moment it granted lets it go
//!   (Chubby, Burrows 2006 section 2.8: the client's lease timeout is conservative). A grant
//!   already over when it arrives is no grant (Redlock's step 3): the client releases it.
//!   A refused attempt is retried after a random back-off in `[timeout / 2, timeout]`, up
//!   to [`ATTEMPTS`] attempts, after which the acquire fails; an attempt the service does
//!   not answer in time counts as refused, and the session releases what it may have got.
//! - Hold. A `LeaseEnd` timer fires when the client's clock reaches the deadline: the
//!   client stops believing it holds the lock. When half a lease is left the client renews
//!   (as Chubby's KeepAlives and etcd's lease keep-alives do), again every `timeout` until a
//!   renewal succeeds or the lease runs out; a renewal measured from when it was asked moves
//!   the deadline. A renewal the service refuses, or a write the resource refuses, means the
//!   lock is lost.
//! - Write. On a `write` the client checks its lease by its own clock (failing the write if
//!   it is over), then works for the operation's `work`, then sends the write with its
//!   token, without checking again: the window between check and use that Kleppmann's
//!   paused client falls into, and that only fencing at the resource closes.
//! - Release. The client stops believing it holds the lock and the session sends the
//!   release; where the design acknowledges releases, the client resends a release that is
//!   not acknowledged in time, up to three sends, then completes `Info`.
//!
//! Variant `lease-from-receipt` measures every lease from when its grant or renewal arrived,
//! not from when the client asked: a grant delayed in the network, or held while the client
//! was paused, then seems to last longer than the server's lease.

use std::fmt::Debug;

use rand::Rng;

use super::{
    LockObservation, LockOperation, LockProtocol, LockReply, ResourceMessage, Tenure, Token, Write, LEASE_FROM_RECEIPT,
};
use crate::node::{Client, ClientContext, NodeId, SetupOf, Time};
use crate::service::Outcome;

/// Attempts per acquire before the client gives up.
pub const ATTEMPTS: u32 = 16;
/// Sends of one release before the client gives up on its acknowledgment.
pub const RELEASE_SENDS: u32 = 3;

/// The client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientTimer {
    /// The service did not answer the attempt in progress.
    Attempt,
    /// The back-off after a refused attempt is over.
    Backoff,
    /// The client's own clock says its lease is over.
    LeaseEnd,
    /// Time to renew the lease.
    Renew,
    /// The work before a write is done: send it.
    Work,
    /// The resource did not answer the write.
    Write,
    /// The service did not acknowledge the release.
    Release,
}

/// The lock as its holder sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub tenure: Tenure,
    pub token: Option<Token>,
    /// When the lease is over, on the client's monotonic clock.
    pub deadline: Time,
}

/// What a session's message means to the lock client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The service granted `tenure`, asked at `asked_at` (monotonic): the lease is valid
    /// for `validity` from then, by the design's reckoning.
    Granted { tenure: Tenure, token: Option<Token>, asked_at: Time, validity: Time },
    /// The attempt for `tenure` failed (the lock is taken, or no majority granted it).
    Refused { tenure: Tenure },
    /// The attempt for `tenure` is queued behind the holder and still alive: the service is
    /// answering, so the attempt's timeout starts again.
    Waiting { tenure: Tenure },
    /// The service renewed `tenure`'s lease, asked at `asked_at`, for `validity` from then.
    Renewed { tenure: Tenure, asked_at: Time, validity: Time },
    /// The service no longer holds the lock for `tenure`.
    RenewRefused { tenure: Tenure },
    /// The service acknowledged the release of `tenure`.
    Released { tenure: Tenure },
}

/// The design's part of the client.
pub trait Session<P: LockProtocol>: Debug {
    /// Starts an attempt to acquire the lock for `tenure`.
    fn acquire(&mut self, ctx: &mut ClientContext<P>, tenure: Tenure);
    /// How long the client waits for an attempt's outcome before it counts as refused.
    fn attempt_timeout(&self) -> Time;
    /// The attempt for `tenure` got no outcome in time: let go of what it may have got.
    fn abandon(&mut self, ctx: &mut ClientContext<P>, tenure: Tenure);
    /// Asks the service to renew `held`'s lease.
    fn renew(&mut self, ctx: &mut ClientContext<P>, held: &Held);
    /// Releases `tenure`; returns whether the service acknowledges releases.
    fn release(&mut self, ctx: &mut ClientContext<P>, tenure: Tenure) -> bool;
    /// A message from the service, and what it means, if anything yet.
    fn on_message(&mut self, ctx: &mut ClientContext<P>, from: NodeId, message: P::Message) -> Option<Answer>;
    /// A timer of the design's own (not a [`ClientTimer`]), and what it means, if anything.
    fn on_timer(&mut self, _ctx: &mut ClientContext<P>, _timer: P::Timer) -> Option<Answer> {
        None
    }
}

/// The lock client process.
#[derive(Debug)]
pub struct LockClient<P: LockProtocol> {
    id: NodeId,
    /// This client's number among the clients, from 0.
    index: u32,
    timeout: Time,
    lease: Time,
    resource: NodeId,
    from_receipt: bool,
    session: P::Session,
    /// Attempts made so far: the number of the latest tenure.
    attempts: u64,
    holding: Option<Held>,
    operation: Option<Pending>,
}

/// The operation in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// Acquiring: the latest attempt's tenure, attempts so far for this operation, and
    /// whether that attempt still waits for its outcome (or the client backs off).
    Acquire { tenure: Tenure, attempts: u32, in_flight: bool },
    /// Working before the write (`sent` false) or waiting for the resource's answer.
    Write { write: Write, sent: bool },
    /// Waiting for the release's acknowledgment.
    Release { tenure: Tenure, sends: u32 },
}

impl<P: LockProtocol> LockClient<P> {
    pub fn new(setup: &SetupOf<P>, id: NodeId) -> LockClient<P> {
        LockClient {
            id,
            index: id - setup.server_slots(),
            timeout: setup.timeout,
            lease: P::lease(setup),
            resource: super::resource_of(setup.servers),
            from_receipt: setup.is(LEASE_FROM_RECEIPT),
            session: P::session(setup, id),
            attempts: 0,
            holding: None,
            operation: None,
        }
    }

    /// The lock as this client sees it.
    pub fn holding(&self) -> Option<&Held> {
        self.holding.as_ref()
    }

    pub fn session(&self) -> &P::Session {
        &self.session
    }

    fn observe(ctx: &mut ClientContext<P>, observation: LockObservation) {
        ctx.observe(P::lock_observation(observation));
    }

    fn set_timer(ctx: &mut ClientContext<P>, after: Time, timer: ClientTimer) {
        ctx.set_timer(after.max(1), P::client_timer(timer));
    }

    fn cancel_timer(ctx: &mut ClientContext<P>, timer: ClientTimer) {
        ctx.cancel_timer(P::client_timer(timer));
    }

    fn complete(&mut self, ctx: &mut ClientContext<P>, outcome: Outcome<LockReply>) {
        self.operation = None;
        ctx.complete(outcome);
    }

    fn start_attempt(&mut self, ctx: &mut ClientContext<P>, attempts: u32) {
        self.attempts += 1;
        let tenure = Tenure { client: self.index, number: self.attempts };
        self.operation = Some(Pending::Acquire { tenure, attempts, in_flight: true });
        self.session.acquire(ctx, tenure);
        Self::set_timer(ctx, self.session.attempt_timeout(), ClientTimer::Attempt);
    }

    /// The attempt in flight failed: back off and retry, or give up.
    fn refused(&mut self, ctx: &mut ClientContext<P>) {
        let Some(Pending::Acquire { tenure, attempts, .. }) = self.operation else { return };
        Self::cancel_timer(ctx, ClientTimer::Attempt);
        if attempts >= ATTEMPTS {
            Self::observe(ctx, LockObservation::GaveUp);
            return self.complete(ctx, Outcome::Fail);
        }
        self.operation = Some(Pending::Acquire { tenure, attempts, in_flight: false });
        let pause = ctx.rng().gen_range(self.timeout / 2..=self.timeout);
        Self::set_timer(ctx, pause, ClientTimer::Backoff);
    }

    /// The deadline of a lease valid for `validity` from `asked_at` (or, flawed, from now).
    fn deadline(&self, ctx: &ClientContext<P>, asked_at: Time, validity: Time) -> Time {
        let base = if self.from_receipt { ctx.monotonic() } else { asked_at };
        base + validity
    }

    fn on_granted(&mut self, ctx: &mut ClientContext<P>, tenure: Tenure, token: Option<Token>, deadline: Time) {
        let current =
            matches!(self.operation, Some(Pending::Acquire { tenure: t, in_flight: true, .. }) if t == tenure);
        if self.holding.is_some_and(|held| held.tenure == tenure) {
            return; // A repeated grant of the lock it holds.
        }
        if !current || deadline <= ctx.monotonic() {
            // A grant for an attempt given up, or one already over when it arrives.
            self.session.release(ctx, tenure);
            if current {
                self.refused(ctx);
            }
            return;
        }
        Self::cancel_timer(ctx, ClientTimer::Attempt);
        let held = Held { tenure, token, deadline };
        self.holding = Some(held);
        let valid_for = deadline - ctx.monotonic();
        Self::observe(ctx, LockObservation::Acquired { tenure, token, valid_for });
        self.schedule(ctx, held);
        self.complete(ctx, Outcome::Ok(LockReply::Acquired { token }));
    }

    /// Sets the lease's end and its next renewal, at half a lease before the end.
    fn schedule(&self, ctx: &mut ClientContext<P>, held: Held) {
        let left = held.deadline.saturating_sub(ctx.monotonic());
        Self::set_timer(ctx, left, ClientTimer::LeaseEnd);
        Self::set_timer(ctx, left.saturating_sub(self.lease / 2), ClientTimer::Renew);
    }

    fn on_renewed(&mut self, ctx: &mut ClientContext<P>, tenure: Tenure, deadline: Time) {
        let Some(held) = self.holding.as_mut().filter(|held| held.tenure == tenure) else { return };
        if deadline <= held.deadline || deadline <= ctx.monotonic() {
            return; // No longer than the lease held, or over already (the answer came late).
        }
        held.deadline = deadline;
        let held = *held;
        let valid_for = deadline - ctx.monotonic();
        Self::observe(ctx, LockObservation::Renewed { tenure, valid_for });
        self.schedule(ctx, held);
    }

    /// The client stops believing it holds the lock, and says why.
    fn let_go(&mut self, ctx: &mut ClientContext<P>, why: fn(Tenure) -> LockObservation) {
        let Some(held) = self.holding.take() else { return };
        Self::cancel_timer(ctx, ClientTimer::LeaseEnd);
        Self::cancel_timer(ctx, ClientTimer::Renew);
        Self::observe(ctx, why(held.tenure));
    }

    fn on_answer(&mut self, ctx: &mut ClientContext<P>, answer: Answer) {
        match answer {
            Answer::Granted { tenure, token, asked_at, validity } => {
                let deadline = self.deadline(ctx, asked_at, validity);
                self.on_granted(ctx, tenure, token, deadline);
            }
            Answer::Refused { tenure } => {
                if matches!(self.operation, Some(Pending::Acquire { tenure: t, in_flight: true, .. }) if t == tenure) {
                    self.refused(ctx);
                }
            }
            Answer::Waiting { tenure } => {
                if matches!(self.operation, Some(Pending::Acquire { tenure: t, in_flight: true, .. }) if t == tenure) {
                    Self::set_timer(ctx, self.session.attempt_timeout(), ClientTimer::Attempt);
                }
            }
            Answer::Renewed { tenure, asked_at, validity } => {
                let deadline = self.deadline(ctx, asked_at, validity);
                self.on_renewed(ctx, tenure, deadline);
            }
            Answer::RenewRefused { tenure } => {
                if self.holding.is_some_and(|held| held.tenure == tenure) {
                    self.let_go(ctx, |tenure| LockObservation::Lost { tenure });
                }
            }
            Answer::Released { tenure } => {
                if matches!(self.operation, Some(Pending::Release { tenure: t, .. }) if t == tenure) {
                    Self::cancel_timer(ctx, ClientTimer::Release);
                    self.complete(ctx, Outcome::Ok(LockReply::Released));
                }
            }
        }
    }

    fn on_resource(&mut self, ctx: &mut ClientContext<P>, message: &ResourceMessage) {
        let Some(Pending::Write { write, sent: true }) = self.operation else { return };
        match *message {
            ResourceMessage::Accepted { value } if value == write.value => {
                Self::cancel_timer(ctx, ClientTimer::Write);
                self.complete(ctx, Outcome::Ok(LockReply::Written));
            }
            ResourceMessage::Rejected { value, .. } if value == write.value => {
                Self::cancel_timer(ctx, ClientTimer::Write);
                if self.holding.is_some_and(|held| held.tenure == write.tenure) {
                    self.let_go(ctx, |tenure| LockObservation::Lost { tenure });
                }
                self.complete(ctx, Outcome::Fail);
            }
            _ => {}
        }
    }

    fn on_write_request(&mut self, ctx: &mut ClientContext<P>, value: u64, work: Time) {
        match self.holding {
            Some(held) if ctx.monotonic() < held.deadline => {
                let write = Write { tenure: held.tenure, token: held.token, value };
                self.operation = Some(Pending::Write { write, sent: false });
                Self::set_timer(ctx, work, ClientTimer::Work);
            }
            _ => {
                // The lease is over by the client's clock, whether or not its timer fired.
                self.let_go(ctx, |tenure| LockObservation::LeaseRanOut { tenure });
                ctx.complete(Outcome::Fail);
            }
        }
    }

    fn on_release_request(&mut self, ctx: &mut ClientContext<P>) {
        let Some(held) = self.holding else { return ctx.complete(Outcome::Fail) };
        self.let_go(ctx, |tenure| LockObservation::Released { tenure });
        if self.session.release(ctx, held.tenure) {
            self.operation = Some(Pending::Release { tenure: held.tenure, sends: 1 });
            Self::set_timer(ctx, 2 * self.timeout, ClientTimer::Release);
        } else {
            ctx.complete(Outcome::Ok(LockReply::Released));
        }
    }

    fn on_client_timer(&mut self, ctx: &mut ClientContext<P>, timer: ClientTimer) {
        match (timer, self.operation) {
            (ClientTimer::Attempt, Some(Pending::Acquire { tenure, in_flight: true, .. })) => {
                self.session.abandon(ctx, tenure);
                self.refused(ctx);
            }
            (ClientTimer::Backoff, Some(Pending::Acquire { attempts, in_flight: false, .. })) => {
                self.start_attempt(ctx, attempts + 1);
            }
            (ClientTimer::LeaseEnd, _) => self.let_go(ctx, |tenure| LockObservation::LeaseRanOut { tenure }),
            (ClientTimer::Renew, _) => {
                if let Some(held) = self.holding {
                    self.session.renew(ctx, &held);
                    Self::set_timer(ctx, self.timeout, ClientTimer::Renew);
                }
            }
            (ClientTimer::Work, Some(Pending::Write { write, sent: false })) => {
                ctx.send(self.resource, P::resource_message(ResourceMessage::Write(write)));
                self.operation = Some(Pending::Write { write, sent: true });
                Self::set_timer(ctx, 4 * self.timeout, ClientTimer::Write);
            }
            (ClientTimer::Write, Some(Pending::Write { sent: true, .. })) => self.complete(ctx, Outcome::Info),
            (ClientTimer::Release, Some(Pending::Release { tenure, sends })) => {
                if sends >= RELEASE_SENDS {
                    return self.complete(ctx, Outcome::Info);
                }
                self.session.release(ctx, tenure);
                self.operation = Some(Pending::Release { tenure, sends: sends + 1 });
                Self::set_timer(ctx, 2 * self.timeout, ClientTimer::Release);
            }
            _ => {}
        }
    }
}

impl<P: LockProtocol> Client<P> for LockClient<P> {
    fn on_request(&mut self, ctx: &mut ClientContext<P>, operation: LockOperation) {
        assert!(self.operation.is_none(), "client {} was given a second operation", self.id);
        match operation {
            LockOperation::Acquire => {
                assert!(self.holding.is_none(), "client {} asked to acquire the lock it holds", self.id);
                Self::observe(ctx, LockObservation::Waiting);
                self.start_attempt(ctx, 1);
            }
            LockOperation::Write { value, work } => self.on_write_request(ctx, value, work),
            LockOperation::Release => self.on_release_request(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut ClientContext<P>, from: NodeId, message: P::Message) {
        if let Some(resource) = P::as_resource_message(&message) {
            let resource = resource.clone();
            return self.on_resource(ctx, &resource);
        }
        if let Some(answer) = self.session.on_message(ctx, from, message) {
            self.on_answer(ctx, answer);
        }
    }

    fn on_timer(&mut self, ctx: &mut ClientContext<P>, timer: P::Timer) {
        if let Some(timer) = P::as_client_timer(&timer) {
            self.on_client_timer(ctx, timer);
        } else if let Some(answer) = self.session.on_timer(ctx, timer) {
            self.on_answer(ctx, answer);
        }
    }

    fn invariants(&self) {
        let id = self.id;
        if let Some(Pending::Acquire { tenure, .. }) = self.operation {
            assert!(self.holding.is_none(), "client {id} acquires while it holds the lock");
            assert_eq!((tenure.client, tenure.number), (self.index, self.attempts), "client {id} lost its attempt");
        }
        if let Some(held) = self.holding {
            assert_eq!(held.tenure.client, self.index, "client {id} holds another client's tenure");
        }
    }
}
