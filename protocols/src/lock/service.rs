//! The lock service every lock design offers: its operations, replies, workload and the
//! history check of its tokens.
//!
//! The workload is a cycle per client, which is what a lock is for: `acquire`, then
//! `writes` writes to the protected resource, each after `hold_ms / writes` of work, then
//! `release`. A client that fails to acquire tries again; a write that fails (the client's
//! own clock says its lease is over, or the resource refused its token) means the lock is
//! lost, and the client starts over with `acquire`. The scenario's `mix` plays no part: the
//! cycle is the workload. The operations carry no key: there is one lock and one resource.
//!
//! The model is the fencing-token contract as clients see it: tokens grow in the order of
//! acquisition, so an acquisition that began after another completed must get a larger
//! token (Chubby's sequencers, etcd's revisions). Checked as linearizability of the
//! acquisitions against [`LockModel`]: a lock server that forgets its counter when it
//! restarts, or a client that takes a lock its session no longer owns, fails it. Designs
//! without tokens (Redlock) pass it trivially.

use std::collections::BTreeMap;
use std::fmt;

use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::{ms, Token};
use crate::history::Model;
use crate::node::{NodeId, Time, MILLISECOND};
use crate::service::{HistoryCheck, Operation, Outcome, Reply, Service, Value, Workload, WorkloadConfig};

/// What the application asks of its lock client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockOperation {
    /// Acquire the lock.
    Acquire,
    /// Check the lease, work for `work`, then write `value` to the resource with the token.
    Write { value: Value, work: Time },
    /// Release the lock.
    Release,
}

/// What a successful operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockReply {
    /// The lock is held, with this token (none for designs without tokens).
    Acquired { token: Option<Token> },
    /// The resource accepted the write.
    Written,
    /// The lock was released.
    Released,
}

impl Operation for LockOperation {
    fn kind(&self) -> &'static str {
        match self {
            LockOperation::Acquire => "acquire",
            LockOperation::Write { .. } => "write",
            LockOperation::Release => "release",
        }
    }
}

impl fmt::Display for LockOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockOperation::Acquire => f.write_str("acquire"),
            LockOperation::Write { value, work } => write!(f, "write {value} after {} of work", ms(*work)),
            LockOperation::Release => f.write_str("release"),
        }
    }
}

impl Reply for LockReply {}

impl fmt::Display for LockReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockReply::Acquired { token: Some(token) } => write!(f, "acquired with token {token}"),
            LockReply::Acquired { token: None } => f.write_str("acquired"),
            LockReply::Written => f.write_str("written"),
            LockReply::Released => f.write_str("released"),
        }
    }
}

/// The lock service.
#[derive(Debug)]
pub struct LockService;

impl Service for LockService {
    const NAME: &'static str = "locks";
    const OPERATIONS: &'static [&'static str] = &["acquire", "write", "release"];
    type Operation = LockOperation;
    type Reply = LockReply;
    type Model = LockModel;
    type Params = LockParams;
    type Workload = LockWorkload;

    fn workload(config: &WorkloadConfig<LockParams>) -> LockWorkload {
        LockWorkload { params: config.params.clone(), next_value: 0, phases: BTreeMap::new() }
    }

    fn check_params(params: &LockParams, _keys: u32) -> Result<(), String> {
        if params.writes == 0 || params.writes > WRITES_MAX {
            return Err(format!("writes = {}: each tenure writes from 1 to {WRITES_MAX} times", params.writes));
        }
        if params.hold_ms > HOLD_MS_MAX {
            return Err(format!("hold_ms = {}: at most {HOLD_MS_MAX}", params.hold_ms));
        }
        Ok(())
    }

    fn history_checks() -> Vec<HistoryCheck<LockService>> {
        vec![HistoryCheck::Linearizability { include: is_acquire }]
    }
}

/// The most writes one tenure makes.
pub const WRITES_MAX: u32 = 1_000;
/// The longest a client works while holding the lock.
pub const HOLD_MS_MAX: u64 = 3_600_000;

fn is_acquire(operation: &LockOperation) -> bool {
    *operation == LockOperation::Acquire
}

/// The lock workload's own `[workload]` keys.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockParams {
    /// Writes per tenure.
    #[serde(default = "default_writes")]
    pub writes: u32,
    /// How long a client works while it holds the lock, split evenly before its writes
    /// (between its check of the lease and the write it then sends).
    #[serde(default = "default_hold_ms")]
    pub hold_ms: u64,
}

impl Default for LockParams {
    fn default() -> Self {
        LockParams { writes: default_writes(), hold_ms: default_hold_ms() }
    }
}

fn default_writes() -> u32 {
    3
}

fn default_hold_ms() -> u64 {
    15
}

/// Where a client is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Holding { written: u32 },
}

/// The cycle of every client: acquire, write `writes` times, release.
#[derive(Clone, Debug)]
pub struct LockWorkload {
    params: LockParams,
    next_value: Value,
    phases: BTreeMap<NodeId, Phase>,
}

impl Workload<LockService> for LockWorkload {
    fn next(&mut self, client: NodeId, _rng: &mut ChaCha8Rng) -> Option<LockOperation> {
        Some(match self.phases.get(&client).copied().unwrap_or(Phase::Idle) {
            Phase::Idle => LockOperation::Acquire,
            Phase::Holding { written } if written < self.params.writes => {
                self.next_value += 1;
                let work = self.params.hold_ms * MILLISECOND / u64::from(self.params.writes);
                LockOperation::Write { value: self.next_value, work }
            }
            Phase::Holding { .. } => LockOperation::Release,
        })
    }

    fn completed(&mut self, client: NodeId, operation: &LockOperation, outcome: &Outcome<LockReply>) {
        let phase = self.phases.entry(client).or_insert(Phase::Idle);
        *phase = match (operation, outcome, *phase) {
            (LockOperation::Acquire, Outcome::Ok(_), _) => Phase::Holding { written: 0 },
            // The client could not learn whether its write landed; it holds on.
            (LockOperation::Write { .. }, Outcome::Ok(_) | Outcome::Info, Phase::Holding { written }) => {
                Phase::Holding { written: written + 1 }
            }
            // A refused write means the lock is lost; a failed or unknown acquire, and every
            // release, leave the client without it.
            _ => Phase::Idle,
        };
    }
}

/// The fencing-token contract: every acquisition that returns a token returns one larger
/// than every token returned before it. The state is the newest token returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockModel;

impl Model for LockModel {
    type Input = LockOperation;
    type Output = Outcome<LockReply>;
    type State = Option<Token>;
    type Key = ();

    fn name(&self) -> &'static str {
        "fencing-tokens"
    }

    fn init(&self) -> Option<Token> {
        None
    }

    fn step(
        &self,
        state: &Option<Token>,
        _input: &LockOperation,
        output: &Outcome<LockReply>,
    ) -> Option<Option<Token>> {
        match output {
            Outcome::Ok(LockReply::Acquired { token: Some(token) }) => {
                state.is_none_or(|newest| *token > newest).then_some(Some(*token))
            }
            _ => Some(*state),
        }
    }

    fn key(&self, _input: &LockOperation) {}

    fn describe_key(&self, _key: &()) -> Option<String> {
        None
    }

    fn describe(&self, input: &LockOperation, output: &Outcome<LockReply>) -> String {
        match output {
            Outcome::Ok(reply) => format!("{input}: {reply}"),
            other => format!("{input}: {}", other.name()),
        }
    }
}
