//! Raft as a library: what a protocol provides to run [`RaftServer`]s replicating its own
//! [`StateMachine`], and what Raft is told about the run.
//!
//! A host protocol keeps its own message, timer, record and observation types (an enum
//! with a case for Raft's, say) and tells Raft how its types carry Raft's, both ways. Its
//! `Server` implementation hands Raft's inputs to the `RaftServer` (`start`, `recover`,
//! `handle_message`, `handle_timer`, `handle_synced`, `check`; the default `on_recover`,
//! which calls `on_start`, suits it), and its checker can embed a
//! [`RaftChecker`](super::RaftChecker), which reads Raft's servers, records and
//! observations back through the same conversions. The catalogued `raft` protocol is the
//! host whose types are Raft's own, replicating the kv
//! [`Store`](crate::kv::Store).

use serde::Deserialize;

use super::{Flaw, RaftMessage, RaftObservation, RaftRecord, RaftServer, StateMachine};
use crate::node::{Protocol, SetupOf};

/// A protocol whose servers are (or contain) Raft servers replicating `Machine`.
pub trait RaftHost: Protocol {
    type Machine: StateMachine;

    /// Raft's options in this run.
    fn options(setup: &SetupOf<Self>) -> Options;

    /// The protocol's message carrying a Raft message.
    fn message(message: RaftMessage<Self::Machine>) -> Self::Message;
    /// The protocol's timer carrying a Raft server's timer.
    fn timer(timer: ServerTimer) -> Self::Timer;
    /// The protocol's durable record carrying a Raft record.
    fn record(record: RaftRecord<Self::Machine>) -> Self::Record;
    /// The protocol's observation carrying a Raft observation.
    fn observation(observation: RaftObservation<Self::Machine>) -> Self::Observation;

    /// The Raft record `record` carries, if any.
    fn as_record(record: &Self::Record) -> Option<&RaftRecord<Self::Machine>>;
    /// The Raft observation `observation` carries, if any.
    fn as_observation(observation: &Self::Observation) -> Option<&RaftObservation<Self::Machine>>;
    /// The Raft server `server` is or holds, if any.
    fn as_server(server: &Self::Server) -> Option<&RaftServer<Self>>;
}

/// A Raft server's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerTimer {
    /// Followers and candidates: no leader was heard from (section 5.2).
    Election,
    /// The leader: time to send heartbeats.
    Heartbeat,
}

/// What Raft is told about a run beyond the [`Setup`](crate::node::Setup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub(super) flaw: Flaw,
    pub(super) settings: RaftSettings,
}

impl Options {
    /// Correct Raft with the default settings.
    pub fn correct() -> Options {
        Options::new(RaftSettings::default())
    }

    /// Correct Raft with these settings.
    pub fn new(settings: RaftSettings) -> Options {
        Options { flaw: Flaw::None, settings }
    }
}

/// The most `snapshot_every` may be.
pub const SNAPSHOT_EVERY_MAX: u64 = 1_000_000;

/// Raft's settings: a scenario's `[settings]` for the catalogued protocol, and what a host
/// passes in its [`Options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "SettingsTable")]
pub struct RaftSettings {
    /// A server takes a snapshot of its state machine and compacts its log once it has
    /// applied this many entries since its last snapshot (thesis 5.1.3), and rewrites its
    /// durable log once it holds twice as many records.
    pub snapshot_every: u64,
    /// How the checker reads the logs after each event.
    pub checks: Checks,
}

/// How [`RaftChecker`](super::RaftChecker) reads the servers after each event (`[settings]
/// checks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checks {
    /// Only what the event changed: the new entries of the server that handled it, and the
    /// commits observed since each leader was last checked.
    #[default]
    Incremental,
    /// Every server's whole log and every commit, after every event: the properties as
    /// stated, without the bookkeeping, to test the incremental form against.
    Full,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings { snapshot_every: 64, checks: Checks::Incremental }
    }
}

/// `[settings]` as written, checked into [`RaftSettings`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsTable {
    #[serde(default = "default_snapshot_every")]
    snapshot_every: u64,
    #[serde(default)]
    checks: Checks,
}

fn default_snapshot_every() -> u64 {
    RaftSettings::default().snapshot_every
}

impl TryFrom<SettingsTable> for RaftSettings {
    type Error = String;

    fn try_from(table: SettingsTable) -> Result<RaftSettings, String> {
        match table.snapshot_every {
            1..=SNAPSHOT_EVERY_MAX => Ok(RaftSettings { snapshot_every: table.snapshot_every, checks: table.checks }),
            other => Err(format!("snapshot_every must be from 1 to {SNAPSHOT_EVERY_MAX} entries, not {other}")),
        }
    }
}
