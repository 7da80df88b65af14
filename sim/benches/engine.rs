//! `cargo xtask bench`: the native engine's throughput in delivered messages per second on
//! a fixed 5-node workload, next to a bare event loop measured in the same process on the
//! same traffic, and their ratio (target: the engine within 3x of the bare loop); then the
//! madsim engine's throughput on the same workload, over a shorter virtual time (it is two
//! orders of magnitude slower: each message is a task, two madsim sleeps and a timer).
//!
//! Then the gap between the raw engine and real runs: seeds per second on one core for the
//! bundled scenarios in [`SCENARIOS`] (each seed run and judged as a sweep runs it, history
//! checks included), with the events per second of the same runs and the bare loop's rate
//! measured just before and after each row. Every row shows two ratios to the bare loop:
//! bare/run, the bare loop's events per second over the run's (how many times more seeds a
//! second the bare loop would go through on the same events), and seeds/s per bare M ev/s,
//! the run's seeds per second over the bare loop's millions of events per second. The
//! machine may be shared, so the ratios are the figures to compare across runs and builds,
//! not the raw rates; the second one also stays comparable when a change of the engine
//! changes the events a seed takes (a timer re-armed without a new event, say).
//!
//! The workload is a token flood: each of 5 servers starts with 64 tokens and forwards every
//! token it receives to a random peer, with latencies uniform in [1, 10] ms, so the queue
//! holds 320 messages at all times and every event is one message delivery.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::time::Instant;

use protocols::consensus::{ConsensusService, Propose};
use protocols::node::{
    Checker, Client, ClientContext, Context, Message, NoSettings, NodeId, Protocol, Server, ServerContext, Setup,
    Variant, Violation,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim::run;
use sim::scenario::{self, Scenario};
use sim::substrate::native;
use sim::world::Simulation;
use sim::RunOptions;

/// The real scenarios of the seeds/s table, one line each (paths from the repository root),
/// with the seeds each runs.
const SCENARIOS: &[(&str, u64)] = &[
    ("scenarios/raft/nemesis.toml", 200),
    ("scenarios/multipaxos/nemesis.toml", 200),
    ("scenarios/twopc/nemesis.toml", 200),
    ("scenarios/zab/nemesis.toml", 200),
    ("scenarios/lease-lock/nemesis.toml", 200),
    ("scenarios/abd/nemesis.toml", 200),
    ("scenarios/hashing/churn.toml", 200),
];
/// Messages per bare-loop measurement beside a table row.
const BARE_MESSAGES: u64 = 4_000_000;

const SERVERS: u32 = 5;
const TOKENS: u32 = 64;
const VIRTUAL_MS: u64 = 200_000;
/// The madsim engine's run is shorter, to take seconds rather than minutes.
#[cfg(madsim)]
const MADSIM_VIRTUAL_MS: u64 = 10_000;

#[derive(Debug)]
struct Flood;

#[derive(Clone, Debug, Hash)]
struct Token(u32);

impl Message for Token {
    fn kind(&self) -> &'static str {
        "Token"
    }
}

struct FloodNode;

impl Server<Flood> for FloodNode {
    fn on_start(&mut self, ctx: &mut ServerContext<Flood>) {
        for token in 0..TOKENS {
            let to = peer(ctx);
            ctx.send(to, Token(token));
        }
    }
    fn on_message(&mut self, ctx: &mut ServerContext<Flood>, _from: NodeId, message: Token) {
        let to = peer(ctx);
        ctx.send(to, message);
    }
    fn on_timer(&mut self, _ctx: &mut ServerContext<Flood>, _timer: ()) {}
}

/// The flood has no clients' operations.
struct Idle;

impl Client<Flood> for Idle {
    fn on_request(&mut self, _ctx: &mut ClientContext<Flood>, _operation: Propose) {}
    fn on_message(&mut self, _ctx: &mut ClientContext<Flood>, _from: NodeId, _message: Token) {}
    fn on_timer(&mut self, _ctx: &mut ClientContext<Flood>, _timer: ()) {}
}

fn peer(ctx: &mut Context<Flood>) -> NodeId {
    let me = ctx.id();
    let other = ctx.rng().gen_range(0..SERVERS - 1);
    if other >= me {
        other + 1
    } else {
        other
    }
}

struct NoChecks;

impl Checker<Flood> for NoChecks {
    fn observe(&mut self, _: u64, _: NodeId, _: &Quiet) -> Result<(), Violation> {
        Ok(())
    }
}

impl Protocol for Flood {
    const NAME: &'static str = "flood";
    const ABOUT: &'static str = "benchmark traffic";
    const VARIANTS: &'static [Variant] = &[Variant { name: "correct", about: "" }];
    const MILESTONES: &'static [protocols::node::Milestone] = &[];
    type Service = ConsensusService;
    type Settings = NoSettings;
    type Message = Token;
    type Timer = ();
    type Record = ();
    type Observation = Quiet;
    type Server = FloodNode;
    type Client = Idle;
    type Checker = NoChecks;
    fn server(_: &Setup, _: NodeId) -> FloodNode {
        FloodNode
    }
    fn recover(_: &Setup, _: NodeId, _: &[()]) -> FloodNode {
        FloodNode
    }
    fn client(_: &Setup, _: NodeId) -> Idle {
        Idle
    }
    fn checker(_: &Setup) -> NoChecks {
        NoChecks
    }
    fn milestone(_: &Quiet) -> Option<&'static str> {
        None
    }
}

/// The flood observes nothing.
#[derive(Clone, Debug)]
struct Quiet;

impl std::fmt::Display for Quiet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("quiet")
    }
}

/// An engine on `virtual_ms` of the flood: (messages delivered, seconds).
fn engine_run(run: fn(&Scenario, RunOptions) -> Simulation<Flood>, virtual_ms: u64) -> (u64, f64) {
    let text = format!(
        "protocol = \"flood\"\nnodes = {SERVERS}\nduration_ms = {virtual_ms}\nexpect = \"ok\"\n\
         [workload]\noperations = 1\n[limits]\ndrain_ms = 0\nmax_events = 1000000000\n\
         [network]\nlatency = {{ distribution = \"uniform\", min_ms = 1, max_ms = 10 }}\n"
    );
    let scenario = scenario::parse_for::<Flood>(Path::new("bench.toml"), &text).expect("bench scenario");
    let start = Instant::now();
    let record = run(&scenario, RunOptions { seed: 1, detailed: false });
    let seconds = start.elapsed().as_secs_f64();
    let delivered = record.recorder.messages_sent() - record.recorder.dropped - SERVERS as u64 * TOKENS as u64;
    (delivered, seconds)
}

/// Seeds/s and events/s of each of [`SCENARIOS`] on this one thread, beside the bare loop.
fn seeds_table() {
    println!();
    println!(
        "{:<28} {:>6} {:>11} {:>9} {:>11} {:>12} {:>9} {:>24}",
        "scenario (one core)",
        "seeds",
        "events/seed",
        "seeds/s",
        "M events/s",
        "bare M ev/s",
        "bare/run",
        "seeds/s per bare M ev/s"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for &(file, seeds) in SCENARIOS {
        let scenario = scenario::load(&root.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
        let before = BARE_MESSAGES as f64 / bare_loop(BARE_MESSAGES);
        let (mut events, mut unexpected) = (0, 0);
        let start = Instant::now();
        for seed in 1..=seeds {
            let result = run::run(&scenario, RunOptions { seed, detailed: false });
            events += result.record.as_ref().map_or(0, |record| record.events);
            unexpected += u64::from(!result.as_expected(&scenario));
        }
        let seconds = start.elapsed().as_secs_f64();
        let after = BARE_MESSAGES as f64 / bare_loop(BARE_MESSAGES);
        let (bare_rate, events_rate) = ((before + after) / 2.0, events as f64 / seconds);
        let mark = if unexpected > 0 { format!(" ({unexpected} seeds not as expected)") } else { String::new() };
        println!(
            "{:<28} {seeds:>6} {:>11} {:>9.0} {:>11.2} {:>12.2} {:>8.2}x {:>24.1}{mark}",
            scenario.name,
            events / seeds,
            seeds as f64 / seconds,
            events_rate / 1e6,
            bare_rate / 1e6,
            bare_rate / events_rate,
            seeds as f64 / seconds / (bare_rate / 1e6)
        );
    }
}

/// The same traffic on a bare loop: a heap of (time, seq, to) and ChaCha8 latencies.
fn bare_loop(messages: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut heap = BinaryHeap::new();
    let mut seq = 0_u64;
    for token in 0..SERVERS * TOKENS {
        seq += 1;
        heap.push(Reverse((rng.gen_range(1_000_000..10_000_000_u64), seq, token % SERVERS)));
    }
    let start = Instant::now();
    let mut checksum = 0_u64;
    for _ in 0..messages {
        let Reverse((time, _, to)) = heap.pop().expect("the flood never drains");
        let next = (to + rng.gen_range(1..SERVERS)) % SERVERS;
        seq += 1;
        checksum = checksum.wrapping_add(next as u64);
        heap.push(Reverse((time + rng.gen_range(1_000_000..10_000_000_u64), seq, next)));
    }
    let seconds = start.elapsed().as_secs_f64();
    assert!(checksum > 0);
    seconds
}

fn main() {
    let (delivered, engine_seconds) = engine_run(native::simulate::<Flood>, VIRTUAL_MS);
    let bare_seconds = bare_loop(delivered);
    let engine_rate = delivered as f64 / engine_seconds;
    let bare_rate = delivered as f64 / bare_seconds;
    println!("workload: {SERVERS} servers, {TOKENS} tokens each, {VIRTUAL_MS} virtual ms, {delivered} messages");
    println!("native engine: {:>6.2} M messages/s ({engine_seconds:.3} s)", engine_rate / 1e6);
    println!("bare loop:     {:>6.2} M messages/s ({bare_seconds:.3} s)", bare_rate / 1e6);
    println!("ratio bare/engine: {:.2}x (target: within 3x)", bare_rate / engine_rate);
    #[cfg(madsim)]
    {
        let madsim = |scenario: &Scenario, options| {
            sim::substrate::madsim::simulate::<Flood>(scenario, options).expect("madsim runs the flood")
        };
        let (delivered, seconds) = engine_run(madsim, MADSIM_VIRTUAL_MS);
        let rate = delivered as f64 / seconds;
        println!("madsim engine: {:>6.2} M messages/s ({seconds:.3} s, {MADSIM_VIRTUAL_MS} virtual ms, {delivered} messages)", rate / 1e6);
    }
    seeds_table();
}
