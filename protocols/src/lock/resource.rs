//! The protected resource: a storage server that clients write to while they believe they
//! hold the lock, the last server of every lock design.
//!
//! Every write carries its writer's tenure and, where the design hands out tokens, its
//! fencing token. With fencing on, the resource refuses a write whose token is older than
//! the newest token it has accepted (Kleppmann 2016, "Making the lock safe with fencing";
//! Chubby's sequencers, Burrows 2006 section 2.4), and answers `Rejected`; a write without a
//! token cannot be fenced and is accepted. Variant `no-fencing` accepts every write.
//!
//! An accepted write is recorded in the resource's durable log, with its token and writer,
//! and counts as accepted, for the checkers and for its writer, once that record is durable
//! (persistence before the acknowledgment); a restarted resource rebuilds the newest token
//! it accepted from its log.

use std::collections::VecDeque;
use std::fmt;

use super::{LockObservation, LockProtocol, Tenure, Token};
use crate::node::{NodeId, ServerContext, SyncId};
use crate::service::Value;

/// A write to the resource, as it travels and as it is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Write {
    pub tenure: Tenure,
    /// The writer's fencing token, if its design hands them out.
    pub token: Option<Token>,
    pub value: Value,
}

impl fmt::Display for Write {
    /// `write 17 of tenure 5.3 with token 4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "write {} of tenure {}", self.value, self.tenure)?;
        if let Some(token) = self.token {
            write!(f, " with token {token}")?;
        }
        Ok(())
    }
}

/// What clients and the resource say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResourceMessage {
    Write(Write),
    /// The write of `value` is accepted and durable.
    Accepted {
        value: Value,
    },
    /// The write of `value` was refused: the resource accepted token `newest` before.
    Rejected {
        value: Value,
        newest: Token,
    },
}

impl ResourceMessage {
    /// The message's type, for the per-type message counts.
    pub fn kind(&self) -> &'static str {
        match self {
            ResourceMessage::Write(_) => "Write",
            ResourceMessage::Accepted { .. } => "WriteAccepted",
            ResourceMessage::Rejected { .. } => "WriteRejected",
        }
    }
}

/// A record of the resource's durable log: a write it accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceRecord {
    pub write: Write,
}

/// The protected resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    fencing: bool,
    /// The newest token accepted, durable or not yet.
    newest: Option<Token>,
    /// Accepted writes waiting for their sync.
    syncing: VecDeque<(SyncId, Write)>,
    /// Writes accepted durably since the resource (re)started.
    accepted: u64,
}

impl Resource {
    /// A resource at first boot; `fencing` says whether it checks tokens.
    pub fn new(fencing: bool) -> Resource {
        Resource { fencing, newest: None, syncing: VecDeque::new(), accepted: 0 }
    }

    /// A resource restarted from the writes it recorded.
    pub fn recover<'a>(fencing: bool, records: impl IntoIterator<Item = &'a ResourceRecord>) -> Resource {
        let newest = records.into_iter().filter_map(|record| record.write.token).max();
        Resource { newest, ..Resource::new(fencing) }
    }

    /// The newest token accepted.
    pub fn newest(&self) -> Option<Token> {
        self.newest
    }

    /// Writes accepted durably since the resource (re)started.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// A write arrives from `from`.
    pub fn on_write<P: LockProtocol>(&mut self, ctx: &mut ServerContext<P>, from: NodeId, write: Write) {
        if let (true, Some(token), Some(newest)) = (self.fencing, write.token, self.newest) {
            if token < newest {
                ctx.observe(P::lock_observation(LockObservation::WriteRejected { write, newest }));
                let rejected = ResourceMessage::Rejected { value: write.value, newest };
                return ctx.send(from, P::resource_message(rejected));
            }
        }
        self.newest = self.newest.max(write.token);
        ctx.write(P::resource_record(ResourceRecord { write }));
        let sync = ctx.sync();
        self.syncing.push_back((sync, write));
        ctx.send_after_sync(from, P::resource_message(ResourceMessage::Accepted { value: write.value }));
    }

    /// The writes covered by syncs up to `sync` are durable: they count as accepted.
    pub fn on_synced<P: LockProtocol>(&mut self, ctx: &mut ServerContext<P>, sync: SyncId) {
        while let Some(&(_, write)) = self.syncing.front().filter(|(pending, _)| *pending <= sync) {
            self.syncing.pop_front();
            self.accepted += 1;
            ctx.observe(P::lock_observation(LockObservation::WriteAccepted { write }));
        }
    }

    /// Its own invariants: tokens accepted never exceed the newest it knows.
    pub fn invariants(&self) {
        for (_, write) in &self.syncing {
            assert!(write.token <= self.newest, "the resource accepted token {:?} past {:?}", write.token, self.newest);
        }
    }
}
