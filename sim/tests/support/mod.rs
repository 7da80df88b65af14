//! A probe protocol that reports what the world did to it, shared by the world tests
//! (`world.rs`, once per substrate) and the cross-check of the engines (`engines.rs`). It
//! lives here, in the tests, with a service of its own: a protocol needs nothing of the
//! simulator's files.

#![allow(dead_code)] // each test file uses its own part of the kit

use std::fmt;
use std::path::Path;

use protocols::history::Model;
use protocols::node::{
    Checker, Client, ClientContext, Membership, Message, Milestone, NodeId, Protocol, Server, ServerContext, Setup,
    Time, Variant, Violation, MILLISECOND,
};
use protocols::service::{HistoryCheck, Operation, Outcome, Reply, Service, Workload, WorkloadConfig};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use sim::record::Fate;
use sim::scenario::{self, EngineKind, Scenario};
use sim::world::Simulation;
use sim::{run, RunOptions};

/// Server 0 answers each `Ping(v)` with `Pong` carrying its two clocks, writes one record per
/// ping, and makes pings with even values durable before it answers them (`send_after_sync`);
/// in a cluster of 3 servers, a ping of 13 makes it panic. A server told to leave leaves at
/// once. Clients ping server 0. With `[settings] burst = n`, server 1 also sends server 0 `n`
/// numbered `Burst` messages every 10 ms, which server 0 reports (`Seen::Received`); every
/// server reports the connections it is told broke (`Seen::Disconnected`).
#[derive(Debug)]
pub struct Probe;

#[derive(Clone, Debug, Hash)]
#[allow(clippy::enum_variant_names)] // `Ping::Ping` names the probe's request, as before `Burst` came
pub enum Ping {
    Ping(u64),
    Pong { monotonic: Time, wall: Time },
    Burst(u64),
}

impl Message for Ping {
    fn kind(&self) -> &'static str {
        match self {
            Ping::Ping(_) => "Ping",
            Ping::Pong { .. } => "Pong",
            Ping::Burst(_) => "Burst",
        }
    }
}

/// What the probe reports.
#[derive(Clone, Debug)]
pub enum Seen {
    /// A restarted server recovered this many records.
    Recovered(usize),
    Membership(Membership),
    /// Server 0 received burst message `value`.
    Received(u64),
    /// The connection to this process broke.
    Disconnected(NodeId),
    /// The server stored its `n`th ping, of this value (with `observe_writes`).
    Stored {
        n: u64,
        value: u64,
    },
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seen::Recovered(records) => write!(f, "{records}"),
            Seen::Membership(change) => write!(f, "{change:?}"),
            Seen::Received(value) => write!(f, "received {value}"),
            Seen::Disconnected(peer) => write!(f, "disconnected from {peer}"),
            Seen::Stored { n, value } => write!(f, "stored {n}: {value}"),
        }
    }
}

/// The probe's settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSettings {
    /// `Burst` messages server 1 sends server 0 every 10 ms.
    #[serde(default)]
    pub burst: u32,
    /// Each server numbers the pings it stores and reports each number, starting a sync
    /// before the report for the even pings.
    #[serde(default)]
    pub observe_writes: bool,
    /// With `observe_writes`, the even pings' reports wait for their sync
    /// (`observe_after_sync`).
    #[serde(default)]
    pub observe_durable: bool,
}

pub struct ProbeServer {
    records: usize,
    servers: u32,
    id: NodeId,
    burst: u32,
    /// The next burst message's number.
    next: u64,
    observe_writes: bool,
    observe_durable: bool,
    /// Pings stored so far (with `observe_writes`).
    stored: u64,
}

impl ProbeServer {
    fn new(setup: &Setup<ProbeSettings>, id: NodeId, records: usize) -> ProbeServer {
        ProbeServer {
            records,
            servers: setup.servers,
            id,
            burst: setup.settings.burst,
            next: 0,
            observe_writes: setup.settings.observe_writes,
            observe_durable: setup.settings.observe_durable,
            stored: 0,
        }
    }
}

impl Server<Probe> for ProbeServer {
    fn on_start(&mut self, ctx: &mut ServerContext<Probe>) {
        if self.id == 1 && self.burst > 0 {
            ctx.set_timer(10 * MILLISECOND, ());
        }
    }
    fn on_recover(&mut self, ctx: &mut ServerContext<Probe>) {
        ctx.observe(Seen::Recovered(self.records));
        self.on_start(ctx);
    }
    fn on_message(&mut self, ctx: &mut ServerContext<Probe>, from: NodeId, message: Ping) {
        if let Ping::Burst(value) = message {
            return ctx.observe(Seen::Received(value));
        }
        let Ping::Ping(value) = message else { return };
        assert!(self.servers != 3 || value != 13, "the probe panics on 13");
        ctx.write(value);
        if self.observe_writes {
            self.stored += 1;
            let stored = Seen::Stored { n: self.stored, value };
            if value % 2 == 0 {
                ctx.sync();
            }
            if value % 2 == 0 && self.observe_durable {
                ctx.observe_after_sync(stored);
            } else {
                ctx.observe(stored);
            }
        }
        let pong = Ping::Pong { monotonic: ctx.monotonic(), wall: ctx.wall() };
        if value % 2 == 0 {
            ctx.send_after_sync(from, pong);
        } else {
            ctx.send(from, pong);
        }
    }
    fn on_timer(&mut self, ctx: &mut ServerContext<Probe>, _timer: ()) {
        for _ in 0..self.burst {
            self.next += 1;
            ctx.send(0, Ping::Burst(self.next));
        }
        ctx.set_timer(10 * MILLISECOND, ());
    }
    fn on_disconnected(&mut self, ctx: &mut ServerContext<Probe>, peer: NodeId) {
        ctx.observe(Seen::Disconnected(peer));
    }
    fn on_membership(&mut self, ctx: &mut ServerContext<Probe>, change: Membership) {
        ctx.observe(Seen::Membership(change));
        if change == Membership::Leaving(self.id) {
            ctx.leave();
        }
    }
}

/// Completes its operation with the first `Pong` (a duplicate may follow).
pub struct ProbeClient {
    waiting: bool,
}

impl Client<Probe> for ProbeClient {
    fn on_request(&mut self, ctx: &mut ClientContext<Probe>, operation: Ask) {
        self.waiting = true;
        ctx.send(0, Ping::Ping(operation.0));
    }
    fn on_message(&mut self, ctx: &mut ClientContext<Probe>, _from: NodeId, message: Ping) {
        if let (Ping::Pong { monotonic, wall }, true) = (message, self.waiting) {
            self.waiting = false;
            ctx.complete(Outcome::Ok(Clocks { monotonic, wall }));
        }
    }
    fn on_timer(&mut self, _ctx: &mut ClientContext<Probe>, _timer: ()) {}
}

pub struct NoChecks;

impl Checker<Probe> for NoChecks {
    fn observe(&mut self, _: Time, _: NodeId, _: &Seen) -> Result<(), Violation> {
        Ok(())
    }
}

impl Protocol for Probe {
    const NAME: &'static str = "probe";
    const ABOUT: &'static str = "the world tests' probe";
    const VARIANTS: &'static [Variant] = &[Variant { name: "correct", about: "" }];
    const MILESTONES: &'static [Milestone] = &[Milestone { name: "recovered", about: "a server restarted" }];
    const MEMBERSHIP: bool = true;
    type Service = PingService;
    type Settings = ProbeSettings;
    type Message = Ping;
    type Timer = ();
    type Record = u64;
    type Observation = Seen;
    type Server = ProbeServer;
    type Client = ProbeClient;
    type Checker = NoChecks;
    fn server(setup: &Setup<ProbeSettings>, id: NodeId) -> ProbeServer {
        ProbeServer::new(setup, id, 0)
    }
    fn recover(setup: &Setup<ProbeSettings>, id: NodeId, records: &[u64]) -> ProbeServer {
        ProbeServer::new(setup, id, records.len())
    }
    fn client(_: &Setup<ProbeSettings>, _: NodeId) -> ProbeClient {
        ProbeClient { waiting: false }
    }
    fn checker(_: &Setup<ProbeSettings>) -> NoChecks {
        NoChecks
    }
    fn milestone(observation: &Seen) -> Option<&'static str> {
        matches!(observation, Seen::Recovered(_)).then_some("recovered")
    }
}

/// The probe's service: ask with a unique number, be told the server's clocks.
#[derive(Debug)]
pub struct PingService;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ask(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Clocks {
    pub monotonic: Time,
    pub wall: Time,
}

impl Operation for Ask {
    fn kind(&self) -> &'static str {
        "ask"
    }
}

impl fmt::Display for Ask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ask {}", self.0)
    }
}

impl Reply for Clocks {}

impl fmt::Display for Clocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "monotonic {} wall {}", self.monotonic, self.wall)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

pub struct Counter(u64);

impl Workload<PingService> for Counter {
    fn next(&mut self, _client: NodeId, _rng: &mut ChaCha8Rng) -> Option<Ask> {
        self.0 += 1;
        Some(Ask(self.0))
    }
}

/// Any clock readings are possible.
#[derive(Default)]
pub struct AnyClocks;

impl Model for AnyClocks {
    type Input = Ask;
    type Output = Outcome<Clocks>;
    type State = ();
    type Key = ();
    fn name(&self) -> &'static str {
        "any-clocks"
    }
    fn init(&self) {}
    fn step(&self, _: &(), _: &Ask, _: &Outcome<Clocks>) -> Option<()> {
        Some(())
    }
    fn key(&self, _: &Ask) {}
    fn describe_key(&self, _: &()) -> Option<String> {
        None
    }
    fn describe(&self, input: &Ask, output: &Outcome<Clocks>) -> String {
        format!("{input}: {output:?}")
    }
}

impl Service for PingService {
    const NAME: &'static str = "ping";
    const OPERATIONS: &'static [&'static str] = &["ask"];
    type Operation = Ask;
    type Reply = Clocks;
    type Model = AnyClocks;
    type Params = NoParams;
    type Workload = Counter;
    fn workload(_: &WorkloadConfig<NoParams>) -> Counter {
        Counter(0)
    }
    fn history_checks() -> Vec<HistoryCheck<PingService>> {
        Vec::new()
    }
}

/// Two servers and one client.
pub const PROBE: &str = "protocol = \"probe\"\nnodes = 2\nduration_ms = 1000\nexpect = \"ok\"\n";

/// The probe's links: constant 2 ms (madsim's floor, so no rounding). It opens the
/// `[network]` table, which an extra may add to before its own tables.
pub const NETWORK: &str = "[network]\nlatency = { distribution = \"constant\", ms = 2 }\n";

/// The probe scenario with `extra` appended to its `[network]` table (so that an extra may
/// start with network keys), on `engine`.
pub fn probe_scenario(engine: EngineKind, extra: &str) -> Scenario {
    probe_text(engine, &format!("{PROBE}{NETWORK}{extra}"))
}

/// The probe scenario of this text, on `engine`.
pub fn probe_text(engine: EngineKind, text: &str) -> Scenario {
    let scenario = scenario::parse_for::<Probe>(Path::new("probe.toml"), text).expect("a valid scenario");
    Scenario { engine, ..scenario }
}

/// The probe run with `extra` on `engine`.
pub fn probe_run(engine: EngineKind, extra: &str, seed: u64) -> Simulation<Probe> {
    let scenario = probe_scenario(engine, extra);
    let simulation = run::simulate::<Probe>(&scenario, RunOptions { seed, detailed: true });
    simulation.expect("the probe does not panic").expect("the engine runs the probe")
}

/// Runs with a crash of server 0 at 500 ms; returns how many records it recovered with, how
/// many pings it received before the crash, and how many of those were synced.
pub fn crash_run(engine: EngineKind, lose_unsynced: bool, seed: u64) -> (usize, usize, usize) {
    let extra = format!(
        "[workload]\nrate = 200\n[[faults]]\nat_ms = 500\nkind = \"crash\"\nnode = 0\n\
         lose_unsynced = {lose_unsynced}\nduration_ms = 10\n"
    );
    let simulation = probe_run(engine, &extra, seed);
    let recorder = &simulation.recorder;
    let recovered = recorder.events.iter().find_map(|event| event.what.parse().ok());
    // One client, one ping per operation: the pings delivered before the crash are those of
    // the first operations.
    let crashed_at = recorder.faults[0].start;
    let received = (recorder.messages.iter())
        .filter(|message| message.kind == "Ping" && matches!(message.fate, Fate::Delivered(at) if at <= crashed_at))
        .count();
    let pings: Vec<u64> = simulation.history[..received].iter().map(|call| call.operation.0).collect();
    let last_synced = pings.iter().rposition(|value| value % 2 == 0).map_or(0, |index| index + 1);
    (recovered.expect("the restarted server reports its records"), pings.len(), last_synced)
}

/// The engines of this build: native, and madsim when the build has it.
pub fn engines() -> Vec<EngineKind> {
    if cfg!(madsim) {
        vec![EngineKind::Native, EngineKind::Madsim]
    } else {
        vec![EngineKind::Native]
    }
}
