//! Scenario files: what one run simulates, read from TOML.
//!
//! A scenario names the protocol and variant, the cluster, the workload, the network, the
//! faults (an explicit timeline, a seeded nemesis, or both), the checks and the verdict the
//! run is expected to reach. [`load`] parses a file with serde (unknown keys are errors that
//! list the allowed ones) and then validates what serde cannot (a fault naming node 7 of 5,
//! a latency range upside down, a variant the protocol does not have); every error names
//! the file, the line and the key.

pub mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use protocols::node::{NodeId, Time, MILLISECOND};
use serde::{Deserialize, Serialize};

pub use validate::{key_path_at, locate_line, KeyPath};

use crate::catalog::Meta;

/// A scenario as written in its file (times in milliseconds).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Defaults to the file's stem.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub protocol: String,
    #[serde(default = "correct")]
    pub variant: String,
    /// Number of servers that are members from the start.
    pub nodes: u32,
    /// Server slots, members and spares: servers `nodes..max_nodes` may join during the run
    /// (protocols that support membership only). Defaults to `nodes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
    #[serde(default = "one")]
    pub seed: u64,
    /// How long the workload issues operations, in virtual milliseconds.
    pub duration_ms: u64,
    #[serde(default)]
    pub engine: EngineKind,
    pub expect: Verdict,
    /// The protocol's base timeout (elections, retries, client requests).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub workload: Workload,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub faults: Vec<Fault>,
    pub nemesis: Option<Nemesis>,
    #[serde(default)]
    pub clocks: Vec<ClockSpec>,
    /// The most any clock drifts, in parts per million, as the protocols are told
    /// (`Setup::drift_bound_ppm`); every `[[clocks]]` drift must be within it. Defaults to
    /// the largest drift the scenario configures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_bound_ppm: Option<f64>,
    #[serde(default, skip_serializing_if = "Storage::is_default")]
    pub storage: Storage,
    /// The protocol's own settings, checked against what it declares.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub settings: toml::Table,
    #[serde(default)]
    pub checks: Checks,
    #[serde(default)]
    pub limits: Limits,
    /// The failure model swarm mode must respect (default: every fault kind, any network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmLimits>,
}

/// What swarm mode may draw for a scenario whose protocol is only safe under some faults
/// (three-phase commit is not safe under partitions, pauses or unbounded delays).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SwarmLimits {
    /// The fault kinds the nemesis may draw from (left out: every kind the protocol allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<NemesisKind>>,
    /// Keep the scenario's network (latency, loss, duplication) instead of drawing one.
    #[serde(default)]
    pub keep_network: bool,
    /// Keep the scenario's workload (clients, keys, mix, the service's own keys) instead of
    /// varying it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_workload: bool,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    #[default]
    Native,
    Madsim,
}

impl EngineKind {
    /// The engine's name as a scenario and `--engine` write it.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Native => "native",
            EngineKind::Madsim => "madsim",
        }
    }

    /// The engine of that name.
    pub fn parse(name: &str) -> Option<EngineKind> {
        [EngineKind::Native, EngineKind::Madsim].into_iter().find(|engine| engine.name() == name)
    }
}

/// The outcome of a run, and what a scenario expects.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    Violation,
    Stuck,
    Error,
    /// The run did far more work than its scenario can need (`[limits] runaway_factor`):
    /// a message storm or a livelock, ended early (see `world::budget`).
    Runaway,
}

impl Verdict {
    /// Every verdict, in the order tables list them.
    pub const ALL: [Verdict; 5] = [Verdict::Ok, Verdict::Violation, Verdict::Stuck, Verdict::Error, Verdict::Runaway];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Violation => "violation",
            Verdict::Stuck => "stuck",
            Verdict::Error => "error",
            Verdict::Runaway => "runaway",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The workload: what every service's workload has, plus the service's own keys.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Workload {
    #[serde(default = "one_u32")]
    pub clients: u32,
    /// Operations per second over all clients, offered: each client has one operation in
    /// flight and waits an exponential think time with mean `clients / rate` between
    /// operations, so slow operations lower the rate reached.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// A cap on the operations of the whole run.
    pub operations: Option<u64>,
    #[serde(default = "one_u32")]
    pub keys: u32,
    /// Weights of each operation kind; empty means the service's kinds, equally.
    #[serde(default)]
    pub mix: BTreeMap<String, f64>,
    /// The service's own keys (`transaction_keys`, `no_vote`, ...), checked against it.
    #[serde(flatten)]
    pub params: toml::Table,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            clients: 1,
            rate: default_rate(),
            operations: None,
            keys: 1,
            mix: BTreeMap::new(),
            params: toml::Table::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub latency: Latency,
    /// Probability that a message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Probability that a message is delivered twice.
    #[serde(default)]
    pub duplicate: f64,
    /// Deliver each link's messages in the order they were sent (TCP-like channels).
    #[serde(default)]
    pub fifo: bool,
    /// Probability that a message sent to a server shortly before it crashed (one of the
    /// last `world::REPLAY_KEPT` sent to it) reaches it once more after it restarts: a
    /// duplicate delayed past the restart, as a network that holds copies delivers it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replay: f64,
}

impl Default for Network {
    fn default() -> Self {
        Network { latency: Latency::default(), loss: 0.0, duplicate: 0.0, fifo: false, replay: 0.0 }
    }
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// The one-way latency of a message; reordering follows from its spread.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "distribution", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Latency {
    Constant {
        ms: f64,
    },
    Uniform {
        min_ms: f64,
        max_ms: f64,
    },
    /// `min_ms` plus an exponential with mean `mean_ms`.
    Exponential {
        mean_ms: f64,
        #[serde(default)]
        min_ms: f64,
    },
    /// A log-normal with median `median_ms` and shape `sigma`.
    Lognormal {
        median_ms: f64,
        sigma: f64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant { ms: 1.0 }
    }
}

/// The durable storage of every server.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// How long a sync takes (default: no time at all).
    #[serde(default = "instant")]
    pub sync: Latency,
}

impl Default for Storage {
    fn default() -> Self {
        Storage { sync: instant() }
    }
}

impl Storage {
    fn is_default(&self) -> bool {
        *self == Storage::default()
    }
}

fn instant() -> Latency {
    Latency::Constant { ms: 0.0 }
}

/// One fault of the explicit timeline: `at_ms`, a `kind` and that kind's keys, and an
/// optional `duration_ms`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Fault {
    /// Fractions are allowed, so a shrunk run can place faults exactly.
    pub at_ms: f64,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Undo this fault after this long (heal the cut, restart, resume).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultKind {
    /// Symmetric groups; servers in no group form one more group together.
    Partition {
        groups: Vec<Vec<NodeId>>,
    },
    /// One-way: messages from `from` to `to` are lost.
    Cut {
        from: Vec<NodeId>,
        to: Vec<NodeId>,
    },
    /// Cut one server off from every other server.
    Isolate {
        node: NodeId,
    },
    /// `left` and `right` cannot talk, `bridge` talks to both.
    Bridge {
        left: Vec<NodeId>,
        right: Vec<NodeId>,
        bridge: NodeId,
    },
    /// Remove every partition and cut.
    Heal,
    Crash {
        node: NodeId,
        /// Drop the writes the node had not synced.
        #[serde(default)]
        lose_unsynced: bool,
        /// Crash the node at its first sync from `at_ms` on, instead of at `at_ms`: right
        /// after the handler that asked for it, before it finishes.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        at_sync: bool,
    },
    Restart {
        node: NodeId,
    },
    Pause {
        node: NodeId,
    },
    Resume {
        node: NodeId,
    },
    ClockJump {
        node: NodeId,
        ms: i64,
    },
    /// A spare server starts, empty, and is announced to the cluster.
    Join {
        node: NodeId,
    },
    /// A server is told to hand off and leave; it is gone once it has (or when the fault's
    /// `duration_ms` is over, 10 timeouts by default).
    Leave {
        node: NodeId,
    },
}

impl FaultKind {
    /// The kind's name as a scenario writes it.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Partition { .. } => "partition",
            FaultKind::Cut { .. } => "cut",
            FaultKind::Isolate { .. } => "isolate",
            FaultKind::Bridge { .. } => "bridge",
            FaultKind::Heal => "heal",
            FaultKind::Crash { .. } => "crash",
            FaultKind::Restart { .. } => "restart",
            FaultKind::Pause { .. } => "pause",
            FaultKind::Resume { .. } => "resume",
            FaultKind::ClockJump { .. } => "clock-jump",
            FaultKind::Join { .. } => "join",
            FaultKind::Leave { .. } => "leave",
        }
    }

    /// Whether this entry injects a fault (rather than undoing one).
    pub fn injects(&self) -> bool {
        !matches!(self, FaultKind::Heal | FaultKind::Restart { .. } | FaultKind::Resume { .. })
    }
}

/// Fault kinds the random nemesis can draw.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum NemesisKind {
    Partition,
    Cut,
    Isolate,
    Bridge,
    Crash,
    Pause,
    ClockJump,
    Join,
    Leave,
}

impl NemesisKind {
    pub const ALL: [NemesisKind; 9] = [
        NemesisKind::Partition,
        NemesisKind::Cut,
        NemesisKind::Isolate,
        NemesisKind::Bridge,
        NemesisKind::Crash,
        NemesisKind::Pause,
        NemesisKind::ClockJump,
        NemesisKind::Join,
        NemesisKind::Leave,
    ];

    /// Whether this kind changes membership (for protocols that support it only).
    pub fn is_membership(self) -> bool {
        matches!(self, NemesisKind::Join | NemesisKind::Leave)
    }

    /// The name of the faults this kind injects (as `FaultKind::name`).
    pub fn name(self) -> &'static str {
        match self {
            NemesisKind::Partition => "partition",
            NemesisKind::Cut => "cut",
            NemesisKind::Isolate => "isolate",
            NemesisKind::Bridge => "bridge",
            NemesisKind::Crash => "crash",
            NemesisKind::Pause => "pause",
            NemesisKind::ClockJump => "clock-jump",
            NemesisKind::Join => "join",
            NemesisKind::Leave => "leave",
        }
    }
}

/// A seeded random fault schedule.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Nemesis {
    pub kinds: Vec<NemesisKind>,
    /// Mean time between the starts of two faults.
    pub interval_ms: f64,
    /// Mean time a fault lasts.
    pub fault_ms: f64,
    #[serde(default)]
    pub start_ms: u64,
    /// When the nemesis stops; defaults to the scenario's `duration_ms`.
    pub end_ms: Option<u64>,
    /// Probability that a crash drops the node's unsynced writes.
    #[serde(default)]
    pub lose_unsynced: f64,
    /// How many servers may be crashed or paused at once; defaults to a minority.
    pub max_down: Option<u32>,
    /// Largest clock jump, either way.
    #[serde(default = "default_clock_jump_ms")]
    pub clock_jump_ms: u64,
    /// Whether pauses, clock jumps and isolation may strike clients too (a paused client
    /// holding a lease is the classic lock failure).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_faults: bool,
    /// Share of crashes that wait for their server's next sync and strike while it is under
    /// way (`at_sync`): a crash right after a change of durable state.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub crash_at_sync: f64,
    /// Share of faults aimed at the server that most recently reached `aim_milestone` (or
    /// any milestone), rather than at a random one: the leader just elected, the acceptor
    /// that just accepted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub aim: f64,
    /// The protocol milestone `aim` follows (default: whichever was reached last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aim_milestone: Option<String>,
    /// The milestones that crashes follow (see `crash_after`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crash_after_milestones: Vec<String>,
    /// Share of the times a server reaches one of `crash_after_milestones` that arm a crash
    /// for the next sync of a server its handler sent to (the follower just synchronized,
    /// a participant told the decision), else its own: a crash right after the durable
    /// change the milestone causes, rather than after any change. Less of a milestone
    /// reached again within a timeout (the first of a burst is the change). The crash
    /// loses unsynced writes, and the server is back within about a timeout.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub crash_after: f64,
    /// Share of the crashes after a milestone whose milestone's server (the leader, the
    /// coordinator) crashes too, as soon as `max_down` allows: a torn follower counts once
    /// the server that could repair it is gone.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub crash_pair: f64,
    /// Mean length of a pause, if not `fault_ms`: a pause longer than the election timeout
    /// lets the others move on while the paused server still believes what it believed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<f64>,
}

/// A process's clocks: its monotonic clock runs at `1 + drift_ppm / 1e6` of true time, and
/// its wall clock reads the monotonic one plus `offset_ms` (and any jumps).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    pub node: NodeId,
    #[serde(default)]
    pub offset_ms: i64,
    #[serde(default)]
    pub drift_ppm: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// Check the client history for linearizability after the run (default true; only
    /// histories of the key-value and consensus operations are checked).
    #[serde(default = "yes")]
    pub linearizability: bool,
    /// Model steps the linearizability search may take before it answers `unknown`.
    #[serde(default = "default_linearizability_budget")]
    pub linearizability_budget: u64,
    /// After the faults end, some operation must succeed within this bound or the run is
    /// `stuck`. Absent: no liveness check.
    pub liveness_ms: Option<u64>,
    /// What heals when the fault window ends: `all` (default), `majority` (faults stop for
    /// a majority core, the other servers stay cut off), or `none`.
    #[serde(default)]
    pub heal: Heal,
    /// Run the protocol's own online checker (default true); false leaves the history
    /// checks alone to judge, to see what they catch by themselves.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub online: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Heal {
    #[default]
    All,
    Majority,
    None,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Events one run may process before it ends with verdict `error`.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Virtual time after the workload stops for operations in flight to finish.
    #[serde(default = "default_drain_ms")]
    pub drain_ms: u64,
    /// The longest virtual time a scenario may ask for (its duration, its liveness window,
    /// its drain, any one fault), checked when the file is loaded.
    #[serde(default = "default_max_duration_ms")]
    pub max_duration_ms: u64,
    /// A run whose events outpace, over a window of virtual time, this many times what a
    /// fault-free run of the scenario needs ends with verdict `runaway` (0: no such limit).
    #[serde(default = "default_runaway_factor", skip_serializing_if = "is_default_runaway_factor")]
    pub runaway_factor: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: default_max_events(),
            drain_ms: default_drain_ms(),
            max_duration_ms: default_max_duration_ms(),
            runaway_factor: default_runaway_factor(),
        }
    }
}

/// A scenario file that could not be used: which file, where, and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot read the scenario: {error}"),
    })?;
    parse(path, &text)
}

/// Parses and validates scenario text; `path` names it in errors and gives the default name.
/// The protocol it names must be in the catalog.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_keyed(path, text).map_err(|(error, _)| error)
}

/// Parses and validates scenario text for protocol `P`, which need not be in the catalog
/// (a protocol defined in a test, say); the scenario must name it.
pub fn parse_for<P: protocols::node::Protocol>(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_with(path, text, |name| (name == P::NAME).then(crate::catalog::Meta::of::<P>)).map_err(|(error, _)| error)
}

/// As [`parse`], and on error also the key path the error is about (as far as it is known),
/// so that text built from several sources can point at the source line.
pub fn parse_keyed(path: &Path, text: &str) -> Result<Scenario, (ScenarioError, KeyPath)> {
    parse_with(path, text, crate::catalog::find)
}

fn parse_with(
    path: &Path,
    text: &str,
    meta: impl Fn(&str) -> Option<Meta>,
) -> Result<Scenario, (ScenarioError, KeyPath)> {
    let mut scenario: Scenario = toml::from_str(text).map_err(|error| {
        let offset = error.span().map(|span| span.start);
        let error = ScenarioError {
            file: path.to_path_buf(),
            line: offset.map(|offset| line_of(text, offset)),
            message: error.message().trim().to_string(),
        };
        let unknown = error.message.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next());
        let key = match (offset, unknown) {
            (Some(offset), Some(name)) => validate::unknown_key_path(text, offset, name),
            (Some(offset), None) => key_path_at(text, offset),
            (None, _) => KeyPath::default(),
        };
        (error, key)
    })?;
    if scenario.name.is_empty() {
        scenario.name = default_name(path);
    }
    let error = |key: KeyPath, message: String| {
        let error = ScenarioError {
            file: path.to_path_buf(),
            line: locate_line(text, &key),
            message: format!("{}: {message}", key.join(".")),
        };
        (error, key)
    };
    let Some(meta) = meta(&scenario.protocol) else {
        let key = KeyPath(vec![validate::KeyPart::Key("protocol")]);
        let known = crate::catalog::NAMES.join(", ");
        return Err(error(key, format!("unknown protocol {:?}; allowed: {known}", scenario.protocol)));
    };
    validate::check(&scenario, &meta).map_err(|problem| error(problem.key, problem.message))?;
    Ok(scenario)
}

/// Virtual time from (possibly fractional) milliseconds, to the nanosecond.
pub fn time_of(ms: f64) -> Time {
    (ms * MILLISECOND as f64).round().max(0.0) as Time
}

/// `family/stem` for `scenarios/family/stem.toml`, or just the stem.
fn default_name(path: &Path) -> String {
    let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    match path.parent().and_then(Path::file_name) {
        Some(family) if family != "scenarios" => format!("{}/{stem}", family.to_string_lossy()),
        _ => stem,
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The times of a run, computed once from its scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The workload issues operations until then.
    pub duration: Time,
    /// The explicit faults and the nemesis are over (and everything heals, unless `heal = "none"`).
    pub faults_end: Time,
    /// The liveness check's window ends (`faults_end` without a liveness check).
    pub liveness_end: Time,
    /// The run ends: the later of the workload and the liveness window, plus the drain.
    pub end: Time,
}

impl Scenario {
    /// The run's times.
    pub fn plan(&self) -> Plan {
        let duration = self.duration_ms * MILLISECOND;
        let faults_end = self.faults_end();
        let liveness_end = faults_end + self.checks.liveness_ms.unwrap_or(0) * MILLISECOND;
        let end = duration.max(liveness_end) + self.limits.drain_ms * MILLISECOND;
        Plan { duration, faults_end, liveness_end, end }
    }

    /// Server slots: the initial members and the spares that may join.
    pub fn server_slots(&self) -> u32 {
        self.max_nodes.unwrap_or(self.nodes).max(self.nodes)
    }

    /// Every process: server slots, then clients.
    pub fn processes(&self) -> u32 {
        self.server_slots() + self.workload.clients
    }

    /// The drift bound the protocols are told: the scenario's, or its largest drift.
    pub fn drift_bound_ppm(&self) -> f64 {
        self.drift_bound_ppm
            .unwrap_or_else(|| self.clocks.iter().map(|clock| clock.drift_ppm.abs()).fold(0.0, f64::max))
    }

    /// The virtual time at which the explicit faults and the nemesis are over.
    pub fn faults_end(&self) -> Time {
        let timeline = self.faults.iter().map(|fault| time_of(fault.at_ms + fault.duration_ms.unwrap_or(0.0))).max();
        let nemesis = self.nemesis.as_ref().map(|nemesis| nemesis.end_ms.unwrap_or(self.duration_ms) * MILLISECOND);
        timeline.into_iter().chain(nemesis).max().unwrap_or(0)
    }

    /// The names of the fault kinds this scenario can inject, sorted.
    pub fn fault_kinds(&self) -> Vec<&'static str> {
        let timeline = self.faults.iter().filter(|fault| fault.kind.injects()).map(|fault| fault.kind.name());
        let nemesis = self.nemesis.iter().flat_map(|nemesis| nemesis.kinds.iter().map(|kind| kind.name()));
        let mut kinds: Vec<&'static str> = timeline.chain(nemesis).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// This scenario written back as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serialises")
    }
}

impl<'de> Deserialize<'de> for Fault {
    /// By hand, because serde's `flatten` would lose `deny_unknown_fields`: the timing keys
    /// are taken out first and the rest must be exactly one `FaultKind`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Timing {
            at_ms: f64,
            duration_ms: Option<f64>,
        }
        use serde::de::Error;
        let mut table = toml::Table::deserialize(deserializer)?;
        let mut timing = toml::Table::new();
        for key in ["at_ms", "duration_ms"] {
            if let Some(value) = table.remove(key) {
                timing.insert(key.to_string(), value);
            }
        }
        let Timing { at_ms, duration_ms } =
            Timing::deserialize(toml::Value::Table(timing)).map_err(D::Error::custom)?;
        let kind = FaultKind::deserialize(toml::Value::Table(table)).map_err(D::Error::custom)?;
        Ok(Fault { at_ms, kind, duration_ms })
    }
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            linearizability: true,
            linearizability_budget: default_linearizability_budget(),
            liveness_ms: None,
            heal: Heal::default(),
            online: true,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_linearizability_budget() -> u64 {
    crate::linearizability::DEFAULT_BUDGET
}
fn correct() -> String {
    protocols::node::CORRECT.to_string()
}
fn one() -> u64 {
    1
}
fn one_u32() -> u32 {
    1
}
fn default_rate() -> f64 {
    100.0
}
fn default_timeout_ms() -> u64 {
    20
}
fn default_clock_jump_ms() -> u64 {
    100
}
fn default_max_events() -> u64 {
    20_000_000
}
fn default_drain_ms() -> u64 {
    2_000
}
fn default_max_duration_ms() -> u64 {
    validate::DEFAULT_MAX_DURATION_MS
}
fn default_runaway_factor() -> f64 {
    crate::world::budget::DEFAULT_FACTOR
}
fn is_default_runaway_factor(factor: &f64) -> bool {
    *factor == default_runaway_factor()
}
