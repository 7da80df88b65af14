//! A new protocol needs nothing of the simulator's files: this one, a counter served by one
//! server, lives entirely in this test with its own service (operations, replies, sequential
//! model, a workload that knows which client it serves) and its own custom history check,
//! and the simulator runs it, checks its history both ways and reports on it, on both
//! engines. In the repository a protocol adds its folder under `protocols/src/`, one line
//! to `protocols/src/lib.rs`, one line to `sim/src/catalog.rs` and its scenarios.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use protocols::history::{Call, Model};
use protocols::node::{
    Checker, Client, ClientContext, Message, Milestone, NoSettings, NodeId, Protocol, Server, ServerContext, Setup,
    Time, Variant, Violation,
};
use protocols::service::{every, HistoryCheck, Operation, Outcome, Reply, Service, Workload, WorkloadConfig};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use sim::scenario::{self, EngineKind, Scenario, Verdict};
use sim::{run, RunOptions};

/// The counter protocol. Variant `cached-reads` answers reads from the value it held at its
/// first read: stale as soon as anyone increments.
#[derive(Debug)]
struct Counter;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Op {
    Add(u64),
    Read,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Total(u64);

#[derive(Clone, Debug, Hash)]
enum Wire {
    Request(Op),
    Answer(Total),
}

impl Message for Wire {
    fn kind(&self) -> &'static str {
        match self {
            Wire::Request(_) => "Request",
            Wire::Answer(_) => "Answer",
        }
    }
}

impl Operation for Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Add(_) => "add",
            Op::Read => "read",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Add(by) => write!(f, "add {by}"),
            Op::Read => f.write_str("read"),
        }
    }
}

impl Reply for Total {}

impl fmt::Display for Total {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "total {}", self.0)
    }
}

/// The counter's sequential specification.
#[derive(Default)]
struct CounterModel;

impl Model for CounterModel {
    type Input = Op;
    type Output = Outcome<Total>;
    type State = u64;
    type Key = ();
    fn name(&self) -> &'static str {
        "counter"
    }
    fn init(&self) -> u64 {
        0
    }
    fn step(&self, state: &u64, input: &Op, output: &Outcome<Total>) -> Option<u64> {
        match (input, output) {
            (Op::Add(by), Outcome::Ok(Total(total))) => (*total == state + by).then_some(*total),
            (Op::Add(by), Outcome::Info) => Some(state + by),
            (Op::Read, Outcome::Ok(Total(total))) => (total == state).then_some(*state),
            (_, _) => Some(*state),
        }
    }
    fn key(&self, _: &Op) {}
    fn describe_key(&self, _: &()) -> Option<String> {
        None
    }
    fn describe(&self, input: &Op, output: &Outcome<Total>) -> String {
        format!("{input}: {output:?}")
    }
}

#[derive(Debug)]
struct CounterService;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Each client adds this much.
    #[serde(default = "one")]
    step: u64,
}

fn one() -> u64 {
    1
}

/// Each client alternates: it adds, then reads what it added, then adds again.
struct Alternate {
    step: u64,
    added: BTreeMap<NodeId, bool>,
}

impl Workload<CounterService> for Alternate {
    fn next(&mut self, client: NodeId, _rng: &mut ChaCha8Rng) -> Option<Op> {
        let added = self.added.entry(client).or_default();
        *added = !*added;
        Some(if *added { Op::Add(self.step) } else { Op::Read })
    }
}

impl Service for CounterService {
    const NAME: &'static str = "counter";
    const OPERATIONS: &'static [&'static str] = &["add", "read"];
    type Operation = Op;
    type Reply = Total;
    type Model = CounterModel;
    type Params = Params;
    type Workload = Alternate;
    fn workload(config: &WorkloadConfig<Params>) -> Alternate {
        Alternate { step: config.params.step, added: BTreeMap::new() }
    }
    fn history_checks() -> Vec<HistoryCheck<CounterService>> {
        vec![
            HistoryCheck::Linearizability { include: every },
            HistoryCheck::Custom { name: "reads-see-own-adds", check: reads_see_own_adds },
        ]
    }
}

/// A client that added and then read must read at least what its add returned.
fn reads_see_own_adds(history: &[Call<CounterService>]) -> Result<(), (Time, Violation)> {
    let mut seen: BTreeMap<NodeId, u64> = BTreeMap::new();
    for call in history {
        let Some(Outcome::Ok(Total(total))) = call.outcome else { continue };
        let floor = seen.entry(call.client).or_default();
        if call.operation == Op::Read && total < *floor {
            let detail = format!("client {} read {total} after its add returned {floor}", call.client);
            let evidence = vec![(call.client, call.invoked)];
            let violation = Violation { invariant: "reads-see-own-adds", nodes: vec![call.client], detail, evidence };
            return Err((call.invoked, violation));
        }
        *floor = total;
    }
    Ok(())
}

struct CounterServer {
    total: u64,
    cached: Option<u64>,
    cached_reads: bool,
}

impl Server<Counter> for CounterServer {
    fn on_start(&mut self, _ctx: &mut ServerContext<Counter>) {}
    fn on_message(&mut self, ctx: &mut ServerContext<Counter>, from: NodeId, message: Wire) {
        let Wire::Request(op) = message else { return };
        let total = match op {
            Op::Add(by) => {
                self.total += by;
                ctx.write(self.total);
                self.total
            }
            Op::Read if self.cached_reads => *self.cached.get_or_insert(self.total),
            Op::Read => self.total,
        };
        ctx.send_after_sync(from, Wire::Answer(Total(total)));
    }
    fn on_timer(&mut self, _ctx: &mut ServerContext<Counter>, _timer: ()) {}
}

struct CounterClient;

impl Client<Counter> for CounterClient {
    fn on_request(&mut self, ctx: &mut ClientContext<Counter>, operation: Op) {
        ctx.send(0, Wire::Request(operation));
    }
    fn on_message(&mut self, ctx: &mut ClientContext<Counter>, _from: NodeId, message: Wire) {
        if let Wire::Answer(total) = message {
            ctx.complete(Outcome::Ok(total));
        }
    }
    fn on_timer(&mut self, _ctx: &mut ClientContext<Counter>, _timer: ()) {}
}

struct NoChecks;

impl Checker<Counter> for NoChecks {
    fn observe(&mut self, _: Time, _: NodeId, _: &Quiet) -> Result<(), Violation> {
        Ok(())
    }
}

#[derive(Clone, Debug)]
struct Quiet;

impl fmt::Display for Quiet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("quiet")
    }
}

impl Protocol for Counter {
    const NAME: &'static str = "counter";
    const ABOUT: &'static str = "a counter on one server";
    const VARIANTS: &'static [Variant] = &[
        Variant { name: "correct", about: "reads return the current total" },
        Variant { name: "cached-reads", about: "reads return the total the server held at its first read" },
    ];
    const MILESTONES: &'static [Milestone] = &[];
    type Service = CounterService;
    type Settings = NoSettings;
    type Message = Wire;
    type Timer = ();
    type Record = u64;
    type Observation = Quiet;
    type Server = CounterServer;
    type Client = CounterClient;
    type Checker = NoChecks;
    fn server(setup: &Setup, _: NodeId) -> CounterServer {
        CounterServer { total: 0, cached: None, cached_reads: setup.is("cached-reads") }
    }
    fn recover(setup: &Setup, id: NodeId, records: &[u64]) -> CounterServer {
        CounterServer { total: records.last().copied().unwrap_or(0), ..Counter::server(setup, id) }
    }
    fn client(_: &Setup, _: NodeId) -> CounterClient {
        CounterClient
    }
    fn checker(_: &Setup) -> NoChecks {
        NoChecks
    }
    fn milestone(_: &Quiet) -> Option<&'static str> {
        None
    }
}

fn scenario(variant: &str, engine: EngineKind) -> Scenario {
    let text = format!(
        "protocol = \"counter\"\nvariant = \"{variant}\"\nnodes = 1\nduration_ms = 500\nexpect = \"ok\"\n\
         [workload]\nclients = 3\nrate = 200\nstep = 5\n[network]\nlatency = {{ distribution = \"constant\", ms = 2 }}\n"
    );
    let scenario = scenario::parse_for::<Counter>(Path::new("counter.toml"), &text).expect("a valid scenario");
    Scenario { engine, ..scenario }
}

#[test]
fn a_protocol_defined_outside_the_simulator_runs_and_is_checked_both_ways_on_each_engine() {
    for engine in
        [EngineKind::Native, EngineKind::Madsim].into_iter().filter(|&e| e == EngineKind::Native || cfg!(madsim))
    {
        let correct =
            run::run_protocol::<Counter>(&scenario("correct", engine), RunOptions { seed: 1, detailed: true });
        assert_eq!(correct.verdict, Verdict::Ok, "{engine:?}: {:?}", correct.summary.violations);
        assert_eq!(correct.summary.checks["linearizability"], "linearizable");
        assert_eq!(correct.summary.checks["reads-see-own-adds"], "passed");
        let history = &correct.record.expect("a record").history;
        assert!(history.iter().any(|row| row.value == "add 5") && history.iter().any(|row| row.f == "read"));
        let flawed =
            run::run_protocol::<Counter>(&scenario("cached-reads", engine), RunOptions { seed: 1, detailed: false });
        assert_eq!(flawed.verdict, Verdict::Violation, "{engine:?}");
        let invariants: Vec<&str> = flawed.summary.violations.iter().map(|v| v.invariant.as_str()).collect();
        assert_eq!(invariants, vec!["linearizability"], "{engine:?}");
        assert_eq!(flawed.summary.checks["reads-see-own-adds"], "failed", "the custom check sees it too");
    }
}

#[test]
fn the_service_keys_and_settings_are_checked_against_what_the_protocol_declares() {
    let bad = |extra: &str| {
        let text = format!("protocol = \"counter\"\nnodes = 1\nduration_ms = 100\nexpect = \"ok\"\n{extra}");
        scenario::parse_for::<Counter>(Path::new("counter.toml"), &text).expect_err("refused").to_string()
    };
    let unknown_key = bad("[workload]\nstride = 2\n");
    assert!(unknown_key.contains("unknown field `stride`") && unknown_key.contains("counter"), "{unknown_key}");
    let unknown_kind = bad("[workload]\nmix = { write = 1.0 }\n");
    assert!(unknown_kind.contains("allowed: add, read"), "{unknown_kind}");
    let settings = bad("[settings]\nfast = true\n");
    assert!(settings.contains("settings") && settings.contains("unknown field `fast`"), "{settings}");
}
